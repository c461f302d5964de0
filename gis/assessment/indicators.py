"""考核评价 indicators: what each grid did in a period, scored with a configurable rubric.

:func:`assess` computes, for every live grid (or one grid) and a period (``2026``, ``2026-11``,
any form of :func:`gis.patrol.rules.parse_period`):

Patrols (from :func:`gis.patrol.service.patrol_report`, same rules and attribution)
    ``patrol_required``/``patrol_done``/``patrol_rate``: slots of the grid level's frequency rule
    owned by the period and those with a counted patrol (3 of 4 weeks → 0.75); ``patrol_count``
    and ``patrol_km``: counted patrols started in the period by the grid's post holders (or
    filed under the grid) and their length along rivers; ``volunteer_*``: the part of those by
    志愿者/协管员 (holders of a ``volunteer`` or ``assistant`` post of the grid), shown separately.
River length patrolled
    ``river_length_m``: length of the reaches inside the grid's boundary; ``river_patrolled_m``:
    the part of it any patrol of the period (without blocking flags) went along.
Incidents (reported in the period; a grid counts the cases first routed to it or to a grid
below it, from the audit log, so a case escalated upwards still counts where it was found)
    ``incidents_found``; ``incidents_accepted``: those taken up (受理) at ``now`` (an accept or a
    transfer step), what 问题发现 counts by default (rubric ``discovery_counts``); ``accept_due``
    (cases accepted or rejected, or whose accept deadline has
    passed at ``now``) and ``accepted_on_time``; ``close_due`` (cases not rejected that were
    resolved or transferred, or whose close deadline has passed) and ``closed_on_time``;
    ``overdue``: cases that missed a deadline (late, or still open past it at ``now``);
    ``escalated``: cases with a 上报上级 step; ``volunteer_incidents``: reported by volunteers.
    Deadlines are the incident's own (:mod:`gis.incidents.deadlines`); an approved 延期 is part of
    the close deadline (a case closed, or still open, within the extended deadline is not overdue;
    the latest approved ``new_due_at`` counts even if the stored deadline was counted again).
Coverage (盲区检查 of the grid's level, :func:`gis.checks.report.check_store`)
    ``coverage_rate`` = (river claimed by the grid alone) / (river claimed + blind-spot stretches
    whose nearest grid it is); ``coverage_findings``: those blind spots and the double claims it
    takes part in (界河段 excluded). Stretches shorter than ``RIVERGRID_MIN_GAP_M`` (微小缝隙,
    微小重叠) are neither, and cost nothing; nor does a river outside the check's area (outside the
    township at village level, outside the top grid at the top level): see :mod:`gis.checks.report`.
Vertical completeness (:func:`gis.checks.vertical.check_vertical`, today's posts)
    ``vertical_errors``/``vertical_warnings``: findings about the grid or its posts.
Signboard
    ``signboard``: True/False from ``gis.disclosure.signboard.signboard_status(session, grid_id)`` when that
    module exists; ``None`` (未知, not scored) otherwise.

Scores: :class:`Rubric` (defaults sum to 100, like county rubrics in use: 巡河 20, 巡查覆盖 10,
问题发现 10, 及时受理 10, 事件处置 15, 横向到边 15, 纵向到底 15, 公示牌 5). An item whose
indicator does not apply (nothing required, nothing due, unknown) is left out and the score is
given out of the remaining weight; ``score`` is that total on a 100-point scale. Sibling grids
(same parent) are ranked by ``score`` (1, 2, 2, 4 on ties).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, overload

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis import clock
from gis.assessment.rubric import DEFAULT_RUBRIC, ITEMS, Rubric, ratio, score_indicators
from gis.auth import Scope
from gis.checks.findings import Finding
from gis.checks.report import check_store
from gis.checks.vertical import check_vertical
from gis.errors import NotFoundError, ValidationError
from gis.geometry.crs import metric_crs_for
from gis.geometry.linref import substring
from gis.model import LOCAL_TZ, GridLevel, GridRole, IncidentStatus
from gis.patrol.rules import PatrolRule, Period, parse_period
from gis.patrol.service import patrol_report
from gis.store.queries import live_grids
from gis.store.schema import (
    AuditEntry,
    DeadlineExtension,
    GridRoleAssignment,
    Incident,
    PatrolTrack,
    Reach,
    User,
    not_deleted,
)
from gis.store.tree import GridTree

__all__ = [
    "DEFAULT_RUBRIC",
    "ITEMS",
    "Assessment",
    "GridAssessment",
    "Rubric",
    "assess",
    "monthly_trend",
    "score_indicators",
]

VOLUNTEER_ROLES = frozenset({GridRole.ASSISTANT.value, GridRole("volunteer").value})
"""Posts whose holders are 志愿者/协管员: their figures are shown separately."""


@dataclass
class GridAssessment:
    """Indicators, points and rank of one grid in one period."""

    grid_id: int
    grid: str
    level: str
    parent_id: int | None
    parent: str | None
    indicators: dict[str, Any]
    scores: dict[str, float | None] = field(default_factory=dict)
    total: float = 0.0
    max_total: float = 0.0
    score: float | None = None
    rank: int | None = None
    siblings: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "grid_id": self.grid_id,
            "grid": self.grid,
            "level": self.level,
            "level_label": GridLevel(self.level).label,
            "parent_id": self.parent_id,
            "parent": self.parent,
            "indicators": self.indicators,
            "scores": self.scores,
            "total": self.total,
            "max_total": self.max_total,
            "score": self.score,
            "rank": self.rank,
            "siblings": self.siblings,
        }


INDICATOR_LABELS: dict[str, str] = {
    "patrol_required": "应巡次数",
    "patrol_done": "达标次数",
    "patrol_rate": "巡河完成率",
    "patrol_count": "有效巡河次数",
    "patrol_km": "沿河巡查里程（公里）",
    "volunteer_patrol_count": "其中志愿者/协管员巡河次数",
    "volunteer_patrol_km": "其中志愿者/协管员里程（公里）",
    "river_length_m": "网格内河道长度（米）",
    "river_patrolled_m": "已巡查河道（米）",
    "river_patrolled_share": "河道巡查覆盖率",
    "incidents_found": "发现问题（件）",
    "incidents_accepted": "其中已受理（件）",
    "volunteer_incidents": "其中志愿者/协管员上报（件）",
    "accept_due": "应受理（件）",
    "accepted_on_time": "按时受理（件）",
    "accept_rate": "按时受理率",
    "close_due": "应办结（件）",
    "closed_on_time": "按时办结（件）",
    "close_rate": "按时办结率",
    "overdue": "超期（件）",
    "escalated": "上报上级（件）",
    "coverage_rate": "网格覆盖率",
    "coverage_count": "盲区/重复覆盖（处）",
    "vertical_errors": "纵向到底问题",
    "vertical_warnings": "纵向到底提示",
    "signboard": "公示牌",
}
"""Indicator key → Chinese column header (tables, Excel)."""

RATE_KEYS = ("patrol_rate", "river_patrolled_share", "accept_rate", "close_rate", "coverage_rate")
COUNT_KEYS = (
    "patrol_required",
    "patrol_done",
    "patrol_count",
    "patrol_km",
    "volunteer_patrol_count",
    "volunteer_patrol_km",
    "river_length_m",
    "river_patrolled_m",
    "incidents_found",
    "incidents_accepted",
    "volunteer_incidents",
    "accept_due",
    "accepted_on_time",
    "close_due",
    "closed_on_time",
    "overdue",
    "escalated",
    "coverage_count",
    "vertical_errors",
    "vertical_warnings",
)


def signboard_label(value: bool | None) -> str:
    return "未知" if value is None else ("最新" if value else "需更新")


@dataclass
class Assessment:
    """The assessment of a period: one :class:`GridAssessment` per grid, ordered by level then id."""

    period: Period
    rubric: Rubric
    grids: list[GridAssessment]
    as_of: datetime
    warnings: list[str] = field(default_factory=list)

    def get(self, grid_id: int) -> GridAssessment:
        for g in self.grids:
            if g.grid_id == grid_id:
                return g
        raise NotFoundError(f"考核结果中没有编号为 {grid_id} 的网格", f"no grid {grid_id} in the assessment")

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``python -m gis assess --json``."""
        return {
            "period": self.period.to_dict(),
            "as_of": self.as_of.isoformat(),
            "rubric": self.rubric.to_dict(),
            "rubric_items": self.rubric.items(),
            "grids": [g.to_dict() for g in self.grids],
            "warnings": self.warnings,
        }

    def table(self, level: str | None = None) -> pd.DataFrame:
        """One row per grid (of ``level``), Chinese headers: indicators, points per item, score, rank."""
        rows = []
        for g in self.grids:
            if level is not None and g.level != level:
                continue
            ind = g.indicators
            row: dict[str, Any] = {
                "网格": g.grid,
                "层级": GridLevel(g.level).label,
                "上级网格": g.parent or "",
                "百分制得分": g.score,
                "同级排名": f"{g.rank}/{g.siblings}" if g.rank is not None else "",
                "得分": g.total,
                "满分": g.max_total,
            }
            for key in (*COUNT_KEYS, *RATE_KEYS, "signboard"):
                if key in ("patrol_required", "patrol_done", "river_length_m", "river_patrolled_m"):
                    continue
                value = ind.get(key)
                row[INDICATOR_LABELS[key]] = signboard_label(value) if key == "signboard" else value
            for item in self.rubric.items():
                row[f"{item['label']}（{item['weight']:g}分）"] = g.scores.get(item["code"])
            rows.append(row)
        return pd.DataFrame(rows)

    def text(self) -> str:
        p = self.period
        lines = [f"考核评价 {p.label}（截至 {self.as_of.astimezone(LOCAL_TZ).strftime('%Y-%m-%d %H:%M')}）"]
        for g in self.grids:
            ind = g.indicators
            rate = "不考核" if ind["patrol_rate"] is None else f"{ind['patrol_rate']:.0%}"
            score = "—" if g.score is None else f"{g.score:.1f}"
            lines.append(
                f"[{GridLevel(g.level).label}] {g.grid}：得分 {score}（{g.total:g}/{g.max_total:g}），"
                f"同级第 {g.rank}/{g.siblings} 名；巡河完成率 {rate}，有效巡河 {ind['patrol_count']} 次 "
                f"{ind['patrol_km']:.2f} 公里，发现问题 {ind['incidents_found']} 件（已受理 "
                f"{ind['incidents_accepted']} 件），超期 {ind['overdue']} 件，"
                f"公示牌{signboard_label(ind['signboard'])}"
            )
        lines += [f"提示：{w}" for w in self.warnings]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Indicators
# ---------------------------------------------------------------------------------------------


@dataclass
class _Static:
    """Findings that do not depend on the period (checked once, shared by months)."""

    coverage: dict[int, tuple[float | None, list[str]]]
    vertical: dict[int, list[Finding]]
    signboard: dict[int, bool | None]
    warnings: list[str]


def _signboard_status(session: Session, grid_ids: Sequence[int]) -> tuple[dict[int, bool | None], list[str]]:
    try:
        # Imported when called: the hook is optional (absent → status unknown) and tests replace it in sys.modules.
        from gis.disclosure.signboard import signboard_status  # noqa: PLC0415 — optional hook, swapped by tests
    except ImportError:
        return {g: None for g in grid_ids}, ["公示牌模块尚未提供，公示牌是否最新记为“未知”，不计分"]
    out: dict[int, bool | None] = {}
    for g in grid_ids:
        status: object = signboard_status(session, g)  # a mapping, an object with up_to_date, or a bool
        if isinstance(status, Mapping):
            status = status.get("up_to_date")
        else:
            status = getattr(status, "up_to_date", status)
        out[g] = None if status is None else bool(status)
    return out, []


def _static(session: Session, grids: Sequence[Any]) -> _Static:
    warnings: list[str] = []
    coverage: dict[int, tuple[float | None, list[str]]] = {}
    for level in {g.level for g in grids}:
        try:
            report = check_store(session, level=level)
        except ValidationError as exc:
            warnings.append(f"{GridLevel(level).label}无法检查覆盖：{exc.message_zh}")
            continue
        cov = report.coverage
        by_grid = (
            cov.by_grid().set_index("grid_id")
            if len(cov.by_grid())
            else pd.DataFrame(columns=["claimed_m", "shared_m"])
        )
        uncovered = cov.uncovered()
        overlaps = [o for o in cov.overlaps() if not o["on_boundary"]]
        names = report.reach_names
        for g in grids:
            if g.level != level:
                continue
            claimed = float(by_grid["claimed_m"].get(g.id, 0.0))
            shared = float(by_grid["shared_m"].get(g.id, 0.0))
            mine_u = [u for u in uncovered if u["nearest_grid_id"] == g.id]
            mine_o = [o for o in overlaps if g.id in o["grid_ids"]]
            gap = sum(u["length_m"] for u in mine_u)
            rate = (claimed - shared) / (claimed + gap) if claimed + gap > 0 else None
            notes = [
                f"{names.get(u['reach_id'], u['reach_id'])} {u['station']} 共 {u['length_m']:,.0f} 米未被网格覆盖（盲"
                "区）"
                ""
                for u in mine_u
            ]
            notes += [
                f"{names.get(o['reach_id'], o['reach_id'])} {o['station']} 共 {o['length_m']:,.0f} 米重复覆盖"
                for o in mine_o
            ]
            coverage[g.id] = (rate, notes)
    assignment_grid = dict(session.execute(select(GridRoleAssignment.id, GridRoleAssignment.grid_id)).all())
    vertical: dict[int, list[Finding]] = {}
    for f in check_vertical(session):
        if f.rule in ("post_held_by_departed", "person_outside_branch"):
            gid = assignment_grid.get(f.object_id) if f.level is not None else None
        elif f.rule in ("reach_without_chief", "object_without_responsible"):
            gid = None  # reaches and objects are not in the grids' rubric (yet)
        else:
            gid = f.object_id
        if gid is not None:
            vertical.setdefault(gid, []).append(f)
    signboard, notes = _signboard_status(session, [g.id for g in grids])
    return _Static(coverage, vertical, signboard, warnings + notes)


def _original_grids(session: Session) -> dict[int, int | None]:
    """Incident id → the grid it was first routed to (from the audit log's insert entries)."""
    rows = session.execute(
        select(AuditEntry.row_id, AuditEntry.after)
        .where(AuditEntry.table_name == "incidents", AuditEntry.action == "insert")
        .order_by(AuditEntry.id)
    ).all()
    out: dict[int, int | None] = {}
    for row_id, after in rows:
        if row_id is not None and row_id not in out and isinstance(after, dict):
            out[row_id] = after.get("grid_id")
    return out


@overload
def _utc(t: datetime) -> datetime: ...
@overload
def _utc(t: datetime | None) -> datetime | None: ...
def _utc(t: datetime | None) -> datetime | None:
    """``t`` in UTC (naive = Beijing time); ``None`` stays ``None``."""
    if t is None:
        return None
    return t.replace(tzinfo=LOCAL_TZ).astimezone(UTC) if t.tzinfo is None else t.astimezone(UTC)


def _incident_figures(
    incidents: Sequence[Incident],
    now: datetime,
    volunteer_names: set[str],
    extended: Mapping[int, datetime] | None = None,
) -> dict[str, Any]:
    found = len(incidents)
    accept_due = accepted = close_due = closed = overdue = escalated = volunteer = taken = 0
    for inc in incidents:
        events = sorted(inc.events, key=lambda e: _utc(e.at))
        taken += any(e.action in ("accept", "transfer") and _utc(e.at) <= now for e in events)
        decided = next((_utc(e.at) for e in events if e.action in ("accept", "reject")), None)
        finished = next((_utc(e.at) for e in events if e.action in ("resolve", "transfer")), None)
        a_due, c_due = _utc(inc.accept_due_at), _utc(inc.close_due_at)
        granted = _utc((extended or {}).get(inc.id))  # an approved 延期 (issue 17) is not overdue
        if granted is not None and (c_due is None or granted > c_due):
            c_due = granted
        late = False
        if decided is not None or (a_due is not None and a_due < now):
            accept_due += 1
            if decided is not None and (a_due is None or decided <= a_due):
                accepted += 1
            else:
                late = True
        rejected = inc.status == IncidentStatus.REJECTED.value
        if not rejected and (finished is not None or (c_due is not None and c_due < now)):
            close_due += 1
            if finished is not None and (c_due is None or finished <= c_due):
                closed += 1
            else:
                late = True
        overdue += late
        escalated += any(e.action == "escalate" for e in events)
        volunteer += inc.source == "volunteer" or inc.reporter in volunteer_names
    return {
        "incidents_found": found,
        "incidents_accepted": taken,
        "volunteer_incidents": volunteer,
        "accept_due": accept_due,
        "accepted_on_time": accepted,
        "accept_rate": ratio(accepted, accept_due),
        "close_due": close_due,
        "closed_on_time": closed,
        "close_rate": ratio(closed, close_due),
        "overdue": overdue,
        "escalated": escalated,
    }


def _post_current(a: Any, period: Period) -> bool:
    return not ((a.valid_from and a.valid_from >= period.end) or (a.valid_to and a.valid_to < period.start))


def assess(
    session: Session,
    period: str | Period,
    *,
    grid_id: int | None = None,
    rubric: Rubric = DEFAULT_RUBRIC,
    rules: Mapping[str, PatrolRule] | None = None,
    now: datetime | None = None,
    _static_part: _Static | None = None,
) -> Assessment:
    """Indicators, points and sibling rank of every live grid (or only ``grid_id``) in ``period``.

    Parameters
    ----------
    session : Session
        An open store session (read only).
    period : str or Period
        ``2026``, ``2026-11``, … (:func:`gis.patrol.rules.parse_period`).
    grid_id : int, optional
        Only this grid in the result (its rank is still among all its siblings).
    rubric : Rubric
        Weights and deductions (default :data:`DEFAULT_RUBRIC`).
    rules : mapping level → PatrolRule, optional
        Patrol frequency rules (default :data:`gis.patrol.rules.DEFAULT_RULES`).
    now : datetime, optional
        Moment at which deadlines are judged (default: the clock; naive = Beijing time).
    """
    period = parse_period(period) if isinstance(period, str) else period
    now_utc = _utc(now) or clock.now()
    grids = live_grids(session)
    if grid_id is not None and grid_id not in {g.id for g in grids}:
        raise NotFoundError(f"没有编号为 {grid_id} 的网格", f"no live grid {grid_id}")
    static = _static_part or _static(session, grids)
    report = patrol_report(session, period, rules=rules)
    by_id = {g.id: g for g in grids}
    grid_tree = GridTree.of(grids)

    def subtree(gid: int) -> set[int]:
        return set(grid_tree.subtree(gid))

    posts = {g.id: [a for a in g.roles if _post_current(a, period)] for g in grids}
    holders = {gid: {a.person.name for a in ps} for gid, ps in posts.items()}
    volunteers = {gid: {a.person.name for a in ps if a.role in VOLUNTEER_ROLES} for gid, ps in posts.items()}
    # an incident's reporter is a person's name, or the user name / display name of their account
    accounts: dict[int, set[str]] = {}
    for person_id, username, display in session.execute(
        select(User.person_id, User.username, User.display_name).where(User.person_id.is_not(None))
    ).all():
        if person_id is not None:  # always, by the query: narrows the type
            accounts.setdefault(person_id, set()).update(x for x in (username, display) if x)
    reporters = {
        gid: volunteers[gid].union(*(accounts.get(a.person_id, set()) for a in ps if a.role in VOLUNTEER_ROLES))
        for gid, ps in posts.items()
    }
    compliance = {row["grid_id"]: row for row in report.grids}

    # Patrols started in the period, attributed like patrol_report does (filed grid or post holder).
    track_grid = dict(session.execute(select(PatrolTrack.id, PatrolTrack.grid_id)).all())
    in_period = []
    for t in report.tracks:
        start = pd.Timestamp(t["start"]).tz_convert("UTC").tz_localize(None).to_datetime64() if t["start"] else None
        if start is not None and period.contains(start):
            in_period.append({**t, "grid_id": track_grid.get(t["track_id"])})

    # River inside each grid, and the part of it patrolled in the period.
    reach_rows = session.scalars(select(Reach).where(not_deleted(Reach)).order_by(Reach.id)).all()
    reach_gdf = gpd.GeoDataFrame(
        {"id": [r.id for r in reach_rows]}, geometry=[r.geom for r in reach_rows], crs="EPSG:4326"
    )
    drawn = [g for g in grids if g.geom is not None and not g.geom.is_empty]
    river_in: dict[int, tuple[float, float]] = {}
    if len(reach_gdf) and drawn:
        crs = metric_crs_for(reach_gdf)
        reach_m = dict(zip(reach_gdf["id"], reach_gdf.to_crs(crs).geometry))
        grid_m = dict(zip([g.id for g in drawn], gpd.GeoSeries([g.geom for g in drawn], crs="EPSG:4326").to_crs(crs)))
        patrolled: dict[int, BaseGeometry] = {}
        for c in report.coverage:
            line = reach_m.get(c["reach_id"])
            if line is None:
                continue
            cuts, pos, pieces = [(s["from_m"], s["to_m"]) for s in c["never_patrolled"]], 0.0, []
            for a, b in [*cuts, (c["length_m"], c["length_m"])]:
                if a > pos:
                    pieces.append(substring(line, pos, a))
                pos = max(pos, b)
            patrolled[c["reach_id"]] = shapely.union_all(pieces) if pieces else shapely.LineString()
        tree = shapely.STRtree(list(reach_m.values()))
        rids = list(reach_m)
        for gid, poly in grid_m.items():
            total = done = 0.0
            for k in tree.query(poly, predicate="intersects"):
                rid = rids[k]
                total += shapely.intersection(reach_m[rid], poly).length
                done += shapely.intersection(patrolled.get(rid, shapely.LineString()), poly).length
            river_in[gid] = (total, done)

    incidents = session.scalars(
        select(Incident)
        .options(selectinload(Incident.events))
        .where(
            Incident.reported_at >= period.start_utc.astype(datetime).replace(tzinfo=UTC),
            Incident.reported_at < period.end_utc.astype(datetime).replace(tzinfo=UTC),
        )
    ).all()
    first_grid = _original_grids(session)
    extended: dict[int, datetime] = {}
    approved = select(DeadlineExtension.incident_id, DeadlineExtension.new_due_at).where(
        DeadlineExtension.status == "approved", DeadlineExtension.new_due_at.is_not(None)
    )
    for incident_id, new_due in session.execute(approved):
        due = _utc(new_due)
        if due is not None and (incident_id not in extended or due > extended[incident_id]):
            extended[incident_id] = due

    results = []
    for g in grids:
        row = compliance.get(g.id, {})
        mine = [t for t in in_period if t["grid_id"] == g.id or (t["person"] and t["person"] in holders[g.id])]
        counted = [t for t in mine if t["counted"]]
        vol = [t for t in counted if t["person"] in volunteers[g.id]]
        total_m, done_m = river_in.get(g.id, (0.0, 0.0))
        area = subtree(g.id)
        cases = [i for i in incidents if first_grid.get(i.id, i.grid_id) in area]
        rate, cov_notes = static.coverage.get(g.id, (None, []))
        vfind = static.vertical.get(g.id, [])
        ind: dict[str, Any] = {
            "patrol_required": row.get("required", 0),
            "patrol_done": row.get("done", 0),
            "patrol_rate": row.get("rate"),
            "patrol_count": len(counted),
            "patrols_uploaded": len(mine),
            "patrol_km": round(sum(t["river_length_m"] for t in counted) / 1000, 3),
            "volunteer_patrol_count": len(vol),
            "volunteer_patrol_km": round(sum(t["river_length_m"] for t in vol) / 1000, 3),
            "river_length_m": round(total_m, 1),
            "river_patrolled_m": round(done_m, 1),
            "river_patrolled_share": round(done_m / total_m, 4) if total_m > 0 else None,
            **_incident_figures(cases, now_utc, reporters[g.id], extended),
            "coverage_rate": None if rate is None else round(rate, 4),
            "coverage_count": len(cov_notes),
            "coverage_findings": cov_notes,
            "vertical_errors": sum(f.severity == "error" for f in vfind),
            "vertical_warnings": sum(f.severity != "error" for f in vfind),
            "vertical_findings": [f.message for f in vfind],
            "signboard": static.signboard.get(g.id),
        }
        for key in ("accept_rate", "close_rate"):
            if ind[key] is not None:
                ind[key] = round(ind[key], 4)
        scores = score_indicators(ind, rubric)
        got = [v for v in scores.values() if v is not None]
        max_total = float(sum(rubric.weights[k] for k, v in scores.items() if v is not None))
        total = round(sum(got), 2)
        parent = by_id.get(g.parent_id) if g.parent_id is not None else None
        results.append(
            GridAssessment(
                grid_id=g.id,
                grid=g.name,
                level=g.level,
                parent_id=g.parent_id,
                parent=parent.name if parent else None,
                indicators=ind,
                scores=scores,
                total=total,
                max_total=max_total,
                score=round(total / max_total * 100, 2) if max_total > 0 else None,
            )
        )
    _rank(results)
    if grid_id is not None:
        results = [r for r in results if r.grid_id == grid_id]
    return Assessment(
        period=period, rubric=rubric, grids=results, as_of=now_utc, warnings=[*static.warnings, *report.warnings]
    )


def _rank(results: Sequence[GridAssessment]) -> None:
    """Competition ranking (1, 2, 2, 4) of siblings by score, unscored last."""
    groups: dict[Any, list[GridAssessment]] = {}
    for r in results:
        groups.setdefault((r.parent_id, r.level), []).append(r)
    for members in groups.values():
        scores = [-1.0 if m.score is None else m.score for m in members]
        for m, s in zip(members, scores):
            m.rank = 1 + sum(other > s for other in scores)
            m.siblings = len(members)


def monthly_trend(
    session: Session,
    year: int | str,
    *,
    grid_ids: Sequence[int] | None = None,
    rubric: Rubric = DEFAULT_RUBRIC,
    rules: Mapping[str, PatrolRule] | None = None,
    now: datetime | None = None,
    months: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Score and main indicators of each grid per month of ``year``: columns ``month`` (2026-01),
    ``grid_id``, ``grid``, ``score``, ``patrol_rate``, ``patrol_count``, ``patrol_km``,
    ``incidents_found``, ``overdue``. Months after ``now`` are left out."""
    y = int(str(year).strip()) if str(year).strip().isdigit() else None
    if y is None:
        raise ValidationError(f"年份“{year}”无效，应为四位数字，如 2026", f"invalid year {year!r}")
    now_utc = _utc(now) or clock.now()
    static = _static(session, live_grids(session))
    rows = []
    for m in months or range(1, 13):
        p = parse_period(f"{y}-{m:02d}")
        if p.start_utc.astype(datetime).replace(tzinfo=UTC) > now_utc:
            break
        a = assess(session, p, rubric=rubric, rules=rules, now=now_utc, _static_part=static)
        for g in a.grids:
            if grid_ids is not None and g.grid_id not in grid_ids:
                continue
            i = g.indicators
            rows.append(
                {
                    "month": p.label,
                    "grid_id": g.grid_id,
                    "grid": g.grid,
                    "score": g.score,
                    "patrol_rate": i["patrol_rate"],
                    "patrol_count": i["patrol_count"],
                    "patrol_km": i["patrol_km"],
                    "incidents_found": i["incidents_found"],
                    "overdue": i["overdue"],
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "month",
            "grid_id",
            "grid",
            "score",
            "patrol_rate",
            "patrol_count",
            "patrol_km",
            "incidents_found",
            "overdue",
        ],
    )


def limit_assessment(
    result: Assessment, rows: list[dict[str, Any]], scope: Scope
) -> tuple[Assessment, list[dict[str, Any]]]:
    """An :class:`gis.assessment.indicators.Assessment` and its roll-up rows (:func:`gis.assessment.evaluations.rollup`)
    with only the grids of ``scope`` (ranks stay those among all siblings)."""
    if scope.everything:
        return result, rows
    return (
        replace(result, grids=[g for g in result.grids if scope.covers(g.grid_id)]),
        [r for r in rows if scope.covers(r["grid_id"])],
    )

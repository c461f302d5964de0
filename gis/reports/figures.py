"""The figures of a grid's periodic report (信息报送), taken from the functions behind the command line.

=====================  ==========================================================================
section                source (the same function as the command)
=====================  ==========================================================================
``patrol``             :func:`gis.patrol.service.patrol_report` (``gis patrol-report``): the rows of
                       the grid and every live grid below it (应巡/达标/完成率), the rows of the
                       persons holding a post in those grids during the period, and the tracks
                       started in the period that the assessment attributes to them (filed under
                       one of those grids, or by one of those post holders)
``cases``              :func:`gis.incidents.lists.list_incidents` and ``incident_dict``
                       (``gis incident list``) on the cases of the grid and the grids below it:
                       reported in the period; closed in the period (``closed_at``); overdue at the
                       report's moment (``--overdue --now``); and the same three counts by category
``coverage``           the coverage and vertical-completeness indicators of
                       :func:`gis.assessment.indicators.assess`, which takes them from
                       :func:`gis.checks.report.check_store` (``gis check``) at the grid's level:
                       coverage rate, blind spots and double claims, river inside the grid and the
                       part patrolled in the period
``assessment``         :func:`gis.assessment.indicators.assess` (``gis assess --grid``) of the period:
                       score, points, rank among siblings; for a yearly report also the year's
                       evaluations (:func:`gis.assessment.evaluations.rollup`: 自评, 上级评价, final)
=====================  ==========================================================================

"The report's moment" (``as_of``) is the end of the period, or now while the period is running:
deadlines are judged then (``assess --now``, ``incident list --now``), so a report built after
the month gives the month as it ended. A report's figures are the grid's own whoever builds it:
the builder's data scope (:mod:`gis.store.scope`) decides which grids they may report on, and the
figures are then computed over the whole store, as the command line's operator sees them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis import clock
from gis.assessment.evaluations import rollup
from gis.assessment.indicators import INDICATOR_LABELS, assess
from gis.errors import NotFoundError, PermissionDenied
from gis.incidents.lists import incident_dict, list_incidents
from gis.model import LOCAL_TZ, Category, GridLevel
from gis.patrol.service import patrol_report
from gis.reports.periods import ReportPeriod, report_period
from gis.store.schema import Grid, GridRoleAssignment, PatrolTrack
from gis.store.scope import grid_and_below, scope_of

__all__ = ["SCHEMA", "build_figures", "report_grid"]

SCHEMA = 1
"""Version of the figures' JSON layout (stored with every edition and sent upstream)."""

COVERAGE_KEYS = (
    "coverage_rate",
    "coverage_count",
    "coverage_findings",
    "river_length_m",
    "river_patrolled_m",
    "river_patrolled_share",
    "vertical_errors",
    "vertical_warnings",
    "vertical_findings",
)


def report_grid(session: Session, grid_id: int) -> Grid:
    """The live grid ``grid_id``, if the session's actor may report on it (its data scope).

    Raises
    ------
    NotFoundError
        No live grid ``grid_id``.
    PermissionDenied
        The grid is outside the actor's data scope.
    """
    grid = session.get(Grid, grid_id)
    if grid is None or grid.deleted_at is not None:
        raise NotFoundError(f"没有编号为 {grid_id} 的网格", f"no live grid {grid_id!r}")
    if not scope_of(session).covers(grid.id):
        raise PermissionDenied(f"网格“{grid.name}”不在您的数据权限内", f"grid {grid.id} outside the actor's scope")
    return grid


@contextmanager
def _whole_store(session: Session) -> Iterator[None]:
    """Compute as the command line's operator (no actor: the whole store), then restore the actor."""
    actor = session.info.pop("actor", None)
    try:
        yield
    finally:
        if actor is not None:
            session.info["actor"] = actor


def _as_of(period: ReportPeriod, now: datetime | None) -> datetime:
    moment = now if now is not None else clock.now()
    moment = moment.replace(tzinfo=LOCAL_TZ) if moment.tzinfo is None else moment
    return min(moment.astimezone(UTC), period.end_utc)


def _holders(session: Session, grids: list[int], period: ReportPeriod) -> set[str]:
    """Names of the persons holding a post in ``grids`` at some time in the period."""
    p = period.period
    rows = session.scalars(select(GridRoleAssignment).where(GridRoleAssignment.grid_id.in_(grids))).all()
    return {
        a.person.name
        for a in rows
        if not ((a.valid_from and a.valid_from >= p.end) or (a.valid_to and a.valid_to < p.start))
    }


def _patrol(session: Session, grid: Grid, live: list[int], period: ReportPeriod) -> dict[str, Any]:
    report = patrol_report(session, period.period)
    holders = _holders(session, live, period)
    track_grid = dict(session.execute(select(PatrolTrack.id, PatrolTrack.grid_id)).all())
    order = {gid: k for k, gid in enumerate(live)}
    grid_rows = sorted((r for r in report.grids if r["grid_id"] in order), key=lambda r: order[r["grid_id"]])
    tracks = []
    for t in report.tracks:
        start = pd.Timestamp(t["start"]).tz_convert("UTC").tz_localize(None).to_datetime64() if t["start"] else None
        if start is None or not period.period.contains(start):
            continue
        if track_grid.get(t["track_id"]) in order or (t["person"] and t["person"] in holders):
            tracks.append(
                {
                    "track_id": t["track_id"],
                    "name": t["name"],
                    "person": t["person"],
                    "grid": t["grid"],
                    "start_local": t["start_local"],
                    "duration_s": t["duration_s"],
                    "length_m": t["length_m"],
                    "river_length_m": t["river_length_m"],
                    "counted": t["counted"],
                    "not_counted_because": t["not_counted_because"],
                }
            )
    counted = [t for t in tracks if t["counted"]]
    return {
        "grids": grid_rows,
        "persons": [r for r in report.persons if r["person"] in holders],
        "tracks": tracks,
        "track_count": len(tracks),
        "counted_count": len(counted),
        "length_m": round(sum(t["length_m"] or 0.0 for t in tracks), 1),
        "counted_river_length_m": round(sum(t["river_length_m"] or 0.0 for t in counted), 1),
        "warnings": list(report.warnings),
    }


def _case_row(d: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "code", "title", "category", "category_label", "status", "status_label", "reported_at", "closed_at")
    return {
        **{k: d[k] for k in keys},
        "grid": d["grid"]["name"] if d["grid"] else None,
        "overdue": d["deadline"]["overdue"],
        "deadline_label": d["deadline"]["label"],
    }


def _cases(session: Session, area: list[int], period: ReportPeriod, as_of: datetime) -> dict[str, Any]:
    reported = [
        incident_dict(i, now=as_of)
        for i in list_incidents(session, grid_id=area, since=period.start_utc, until=period.end_utc, now=as_of)
    ]
    closed = [
        incident_dict(i, now=as_of)
        for i in list_incidents(session, grid_id=area, now=as_of)
        if i.closed_at is not None and period.start_utc <= _utc(i.closed_at) < period.end_utc
    ]
    overdue = [incident_dict(i, now=as_of) for i in list_incidents(session, grid_id=area, overdue=True, now=as_of)]
    by_category = []
    for cat in Category:
        row = {
            "category": cat.value,
            "category_label": cat.label,
            "reported": sum(d["category"] == cat.value for d in reported),
            "closed": sum(d["category"] == cat.value for d in closed),
            "overdue": sum(d["category"] == cat.value for d in overdue),
        }
        if row["reported"] or row["closed"] or row["overdue"]:
            by_category.append(row)
    return {
        "reported": len(reported),
        "closed": len(closed),
        "overdue": len(overdue),
        "by_category": by_category,
        "reported_list": [_case_row(d) for d in reported],
        "closed_list": [_case_row(d) for d in closed],
        "overdue_list": [_case_row(d) for d in overdue],
    }


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _assessment(session: Session, grid: Grid, period: ReportPeriod, as_of: datetime) -> dict[str, Any]:
    result = assess(session, period.period, grid_id=grid.id, now=as_of)
    g = result.get(grid.id)
    ind = g.indicators
    out: dict[str, Any] = {
        "score": g.score,
        "total": g.total,
        "max_total": g.max_total,
        "rank": g.rank,
        "siblings": g.siblings,
        "items": [
            {"code": i["code"], "label": i["label"], "weight": i["weight"], "points": g.scores.get(i["code"])}
            for i in result.rubric.items()
        ],
        "indicators": {
            k: ind.get(k)
            for k in (
                "patrol_required",
                "patrol_done",
                "patrol_rate",
                "patrol_count",
                "patrol_km",
                "incidents_found",
                "incidents_accepted",
                "accept_rate",
                "close_rate",
                "overdue",
                "escalated",
                "signboard",
            )
        },
        "indicator_labels": {k: INDICATOR_LABELS[k] for k in INDICATOR_LABELS},
        "evaluation": None,
        "warnings": list(result.warnings),
    }
    if period.kind == "year":
        row = next(r for r in rollup(session, period.period.start.year, result) if r["grid_id"] == grid.id)
        out["evaluation"] = {
            k: row[k]
            for k in (
                "self_total",
                "self_edition",
                "upper_total",
                "upper_edition",
                "final",
                "final_source",
                "final_source_label",
            )
        }
    coverage = {k: ind.get(k) for k in COVERAGE_KEYS}
    return {"assessment": out, "coverage": coverage}


def build_figures(
    session: Session, grid_id: int, period: str | ReportPeriod, *, now: datetime | None = None
) -> dict[str, Any]:
    """The figures of grid ``grid_id``'s report for ``period`` (``2026-11``, ``2026-Q4``, ``2026``).

    ``now`` (default the clock) is when the report is built; deadlines are judged at the end of
    the period or at ``now`` if earlier. Read only.

    Raises
    ------
    NotFoundError, PermissionDenied
        See :func:`report_grid`.
    ValidationError
        Not a report period.
    """
    rp = report_period(period) if isinstance(period, str) else period
    grid = report_grid(session, grid_id)
    built = now if now is not None else clock.now()
    as_of = _as_of(rp, built)
    with _whole_store(session):
        area = grid_and_below(session, grid.id)
        live_ids = set(session.scalars(select(Grid.id).where(Grid.id.in_(area), Grid.deleted_at.is_(None))))
        live = [grid.id, *sorted(g for g in live_ids if g != grid.id)]
        parent = session.get(Grid, grid.parent_id) if grid.parent_id is not None else None
        figures: dict[str, Any] = {
            "schema": SCHEMA,
            "grid": {
                "id": grid.id,
                "name": grid.name,
                "level": grid.level,
                "level_label": GridLevel(grid.level).label,
                "parent_id": grid.parent_id,
                "parent": parent.name if parent is not None else None,
            },
            "period": rp.to_dict(),
            "as_of": as_of.isoformat(),
            "as_of_local": as_of.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"),
            "built_at": _utc(built).isoformat(),
            "grids": live,
            "patrol": _patrol(session, grid, live, rp),
            "cases": _cases(session, area, rp, as_of),
            **_assessment(session, grid, rp, as_of),
        }
    return figures

"""Yearly evaluations (考核评价): each grid's self-evaluation, the upper grid's evaluation of each
lower grid, and the results rolled up level by level.

Forms
    An evaluation gives points per rubric item (:data:`gis.assessment.indicators.ITEMS`, each between 0 and
    the item's weight) and a text. ``self`` (自评) is filled by the grid's own staff, ``upper``
    (上级评价) by the staff of a grid above it (its parent records itself as the evaluator).
    Administrators, and staff accounts without a home grid, may fill either.
Editions and locking
    The rows of one (grid, year, kind) are numbered editions. :func:`save_evaluation` writes the
    newest edition while it is a draft; once submitted (:func:`submit_evaluation` or
    ``submit=True``) it is locked — the store's flush rules refuse any change or deletion — and a
    change needs :func:`new_edition` with a reason, which starts edition n+1 as a draft copy.
    Every write runs as the session's actor, needs ``assessment.write`` and is audited.
Roll-up
    :func:`rollup` gives, per grid, the system score of :func:`gis.assessment.indicators.assess`, the newest
    *submitted* self and upper totals, the final result (upper evaluation, else self-evaluation,
    else system score, with its source) and the mean final result of its lower grids.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gis import clock
from gis.assessment.indicators import DEFAULT_RUBRIC, Assessment, Rubric
from gis.auth import require
from gis.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from gis.model import GridLevel, UserRole
from gis.store import scope
from gis.store.schema import Evaluation, Grid

__all__ = [
    "KINDS",
    "STATUS_LABELS",
    "editions",
    "home_grid",
    "latest",
    "new_edition",
    "rollup",
    "save_evaluation",
    "submit_evaluation",
]

KINDS = {"self": "自评", "upper": "上级评价"}
STATUS_LABELS = {"draft": "草稿", "submitted": "已提交（已锁定）"}
MAX_COMMENT = 4000
FINAL_SOURCES = {"upper": "上级评价", "self": "自评", "system": "系统评分"}


def home_grid(session: Session, actor: Any) -> int | None:
    """The grid of the actor's account (``None``: no home grid, or not signed in)."""
    return scope.home_grid(session, actor)


def _year(year: Any) -> int:
    text = str(year).strip()
    if not (text.isdigit() and len(text) == 4 and 2000 <= int(text) <= 2100):
        raise ValidationError(f"考核年度“{text}”无效，应为四位年份，如 2026", f"invalid year {year!r}")
    return int(text)


def _kind(kind: str) -> str:
    for code, label in KINDS.items():
        if str(kind).strip() in (code, label):
            return code
    raise ValidationError(f"评价类型“{kind}”无效，可选：自评、上级评价", f"unknown evaluation kind {kind!r}")


def _grid(session: Session, grid_id: int) -> Grid:
    grid = session.get(Grid, grid_id)
    if grid is None or grid.deleted_at is not None:
        raise NotFoundError(f"没有编号为 {grid_id} 的网格", f"no live grid {grid_id}")
    return grid


def _check_scope(session: Session, grid: Grid, kind: str) -> None:
    actor = require(session.info.get("actor"), "assessment.write")
    if actor.role is UserRole.ADMIN:
        return
    home = scope.home_grid(session, actor)
    if home is None:
        return
    line = scope.grid_line(session, grid.id)
    if kind == "self" and home != grid.id:
        raise PermissionDenied(
            f"“{grid.name}”的自评须由本网格的工作人员填写",
            f"{actor.username} (grid {home}) may not self-evaluate grid {grid.id}",
        )
    if kind == "upper" and home not in line[1:]:
        raise PermissionDenied(
            f"对“{grid.name}”的评价须由其上级网格的工作人员填写",
            f"{actor.username} (grid {home}) is not above grid {grid.id}",
        )


def _scores(scores: Mapping[str, Any], rubric: Rubric) -> dict[str, float]:
    items = {i["code"]: i for i in rubric.items()}
    out: dict[str, float] = {}
    for code, value in scores.items():
        if code not in items:
            raise ValidationError(
                f"未知的考核项“{code}”，可用：{'、'.join(i['label'] for i in items.values())}",
                f"unknown rubric item {code!r}",
            )
        item = items[code]
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValidationError(
                f"“{item['label']}”的得分应为数字，收到“{value}”", f"non-numeric score {value!r}"
            ) from None
        if not math.isfinite(v) or v < 0 or v > item["weight"]:
            raise ValidationError(
                f"“{item['label']}”的得分应在 0 到 {item['weight']:g} 分之间，收到 {v:g}",
                f"score {v} out of range for {code}",
            )
        out[code] = round(v, 2)
    return out


def editions(session: Session, grid_id: int, year: Any, kind: str) -> list[Evaluation]:
    """Every edition of the (grid, year, kind) evaluation, oldest first."""
    return list(
        session.scalars(
            select(Evaluation)
            .where(Evaluation.grid_id == grid_id, Evaluation.year == _year(year), Evaluation.kind == _kind(kind))
            .order_by(Evaluation.edition)
        )
    )


def latest(session: Session, grid_id: int, year: Any, kind: str, *, submitted_only: bool = False) -> Evaluation | None:
    """The newest edition (or the newest submitted one), or None."""
    rows = [e for e in editions(session, grid_id, year, kind) if not submitted_only or e.status == "submitted"]
    return rows[-1] if rows else None


def _flush(session: Session, ev: Evaluation) -> Evaluation:
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError("该评价已被他人修改，请刷新后重试", f"stale evaluation: {exc}") from exc
    return ev


def save_evaluation(
    session: Session,
    grid_id: int,
    year: Any,
    kind: str,
    scores: Mapping[str, Any],
    comment: str = "",
    *,
    submit: bool = False,
    expected_version: int | None = None,
    rubric: Rubric = DEFAULT_RUBRIC,
) -> Evaluation:
    """Write the newest draft edition of a grid's evaluation (creating edition 1), optionally submitting it.

    Raises
    ------
    ValidationError
        Bad year, kind, item or points; an upper evaluation of a top grid; the newest edition is
        already submitted (locked: start a :func:`new_edition`).
    PermissionDenied
        The actor lacks ``assessment.write`` or the grid is outside its scope.
    ConflictError
        The draft changed since ``expected_version``.
    """
    y, k = _year(year), _kind(kind)
    grid = _grid(session, grid_id)
    _check_scope(session, grid, k)
    if k == "upper" and grid.parent_id is None:
        raise ValidationError(f"“{grid.name}”没有上级网格，不能进行上级评价", f"grid {grid.id} has no parent")
    text = str(comment or "").strip()
    if len(text) > MAX_COMMENT:
        raise ValidationError(f"评价说明最多 {MAX_COMMENT} 字", "comment too long")
    clean = _scores(scores, rubric)
    ev = latest(session, grid.id, y, k)
    actor = session.info["actor"]
    if ev is not None and ev.status == "submitted":
        raise ValidationError(
            f"“{grid.name}”{y} 年度{KINDS[k]}第 {ev.edition} 版已提交并锁定；如需更改请新建版本并说明原因",
            f"evaluation {ev.id} is submitted and locked",
        )
    if ev is None:
        ev = Evaluation(
            grid_id=grid.id,
            year=y,
            kind=k,
            edition=1,
            author=actor.username,
            evaluator_grid_id=grid.parent_id if k == "upper" else None,
        )
        session.add(ev)
    elif expected_version is not None and ev.version != expected_version:
        raise ConflictError(
            f"该评价已被他人修改（版本 {ev.version}，您看到的是版本 {expected_version}），请刷新后重试",
            f"evaluation {ev.id} is at version {ev.version}, expected {expected_version}",
        )
    ev.scores = clean
    ev.total = round(sum(clean.values()), 2)
    ev.comment = text
    ev.author = actor.username
    if submit:
        _mark_submitted(ev, actor.username, rubric)
    return _flush(session, ev)


def _mark_submitted(ev: Evaluation, username: str, rubric: Rubric) -> None:
    missing = [i["label"] for i in rubric.items() if i["code"] not in (ev.scores or {})]
    if missing:
        raise ValidationError(f"提交前请为每一项打分，尚缺：{'、'.join(missing)}", f"missing scores {missing}")
    ev.status = "submitted"
    ev.submitted_at = clock.now()
    ev.submitted_by = username


def submit_evaluation(
    session: Session, evaluation_id: int, *, expected_version: int | None = None, rubric: Rubric = DEFAULT_RUBRIC
) -> Evaluation:
    """Submit (and so lock) a draft edition; every rubric item must have points."""
    ev = session.get(Evaluation, evaluation_id)
    if ev is None:
        raise NotFoundError(f"没有编号为 {evaluation_id} 的评价", f"no evaluation {evaluation_id}")
    _check_scope(session, _grid(session, ev.grid_id), ev.kind)
    if ev.status == "submitted":
        raise ValidationError(f"第 {ev.edition} 版评价已提交，不能重复提交", f"evaluation {ev.id} already submitted")
    if expected_version is not None and ev.version != expected_version:
        raise ConflictError("该评价已被他人修改，请刷新后重试", f"evaluation {ev.id} changed")
    _mark_submitted(ev, session.info["actor"].username, rubric)
    return _flush(session, ev)


def new_edition(session: Session, grid_id: int, year: Any, kind: str, change_reason: str) -> Evaluation:
    """Start edition n+1 (a draft copy of the submitted edition n) to change a locked evaluation."""
    y, k = _year(year), _kind(kind)
    grid = _grid(session, grid_id)
    _check_scope(session, grid, k)
    reason = str(change_reason or "").strip()
    if not reason:
        raise ValidationError("新建版本须说明更改原因", "a new edition needs a change reason")
    if len(reason) > MAX_COMMENT:
        raise ValidationError(f"更改原因最多 {MAX_COMMENT} 字", "reason too long")
    prev = latest(session, grid.id, y, k)
    if prev is None:
        raise ValidationError(f"“{grid.name}”{y} 年度还没有{KINDS[k]}，直接填写即可", "nothing to revise")
    if prev.status != "submitted":
        raise ValidationError(f"第 {prev.edition} 版尚未提交，可直接修改，无需新建版本", "newest edition is a draft")
    ev = Evaluation(
        grid_id=grid.id,
        year=y,
        kind=k,
        edition=prev.edition + 1,
        evaluator_grid_id=prev.evaluator_grid_id,
        scores=dict(prev.scores or {}),
        total=prev.total,
        comment=prev.comment,
        change_reason=reason,
        author=session.info["actor"].username,
    )
    session.add(ev)
    return _flush(session, ev)


def evaluation_dict(ev: Evaluation) -> dict[str, Any]:
    return {
        "id": ev.id,
        "grid_id": ev.grid_id,
        "year": ev.year,
        "kind": ev.kind,
        "kind_label": KINDS[ev.kind],
        "edition": ev.edition,
        "evaluator_grid_id": ev.evaluator_grid_id,
        "scores": dict(ev.scores or {}),
        "total": ev.total,
        "comment": ev.comment,
        "change_reason": ev.change_reason,
        "status": ev.status,
        "status_label": STATUS_LABELS.get(ev.status, ev.status),
        "author": ev.author,
        "submitted_at": ev.submitted_at.isoformat() if ev.submitted_at else None,
        "submitted_by": ev.submitted_by,
        "version": ev.version,
    }


def rollup(session: Session, year: Any, assessment: Assessment) -> list[dict[str, Any]]:
    """Per grid of ``assessment`` (normally of the same year): system score, submitted self and upper
    totals, final result and its source, and the mean final result of its lower grids."""
    y = _year(year)
    rows = list(
        session.scalars(
            select(Evaluation)
            .where(Evaluation.year == y, Evaluation.status == "submitted")
            .order_by(Evaluation.edition)
        )
    )
    newest: dict[tuple[int, str], Evaluation] = {}
    for ev in rows:
        newest[(ev.grid_id, ev.kind)] = ev
    out: list[dict[str, Any]] = []
    for g in assessment.grids:
        s, u = newest.get((g.grid_id, "self")), newest.get((g.grid_id, "upper"))
        final: float | None
        if u is not None:
            final, source = u.total, "upper"
        elif s is not None:
            final, source = s.total, "self"
        else:
            final, source = g.score, "system"
        out.append(
            {
                "grid_id": g.grid_id,
                "grid": g.grid,
                "level": g.level,
                "parent_id": g.parent_id,
                "parent": g.parent,
                "system_score": g.score,
                "rank": g.rank,
                "siblings": g.siblings,
                "self_total": None if s is None else s.total,
                "self_edition": None if s is None else s.edition,
                "upper_total": None if u is None else u.total,
                "upper_edition": None if u is None else u.edition,
                "final": final,
                "final_source": source,
                "final_source_label": FINAL_SOURCES[source],
            }
        )
    by_parent: dict[int, list[float]] = {}
    for r in out:
        if r["parent_id"] is not None and r["final"] is not None:
            by_parent.setdefault(r["parent_id"], []).append(r["final"])
    for r in out:
        kids = by_parent.get(r["grid_id"])
        r["lower_mean"] = round(sum(kids) / len(kids), 2) if kids else None
        r["lower_count"] = len(kids or [])
    order = {lv.value: lv.rank for lv in GridLevel}
    return sorted(out, key=lambda r: (order.get(r["level"], 9), r["grid_id"]))

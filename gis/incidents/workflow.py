"""Incidents (事件处置): report, routing to grid, reach and persons, workflow, deadlines.

Report
    :func:`report_incident` validates the input (Chinese messages), routes the point with
    :class:`gis.grids.chain.ResponsibilityIndex` (village grid covering it, nearest reach
    within ``tolerance_m``, the chain of persons), computes the deadlines and records the 上报
    event. A point in no village grid (盲区) goes to the nearest village grid, with a warning
    in the routing and ``【盲区】`` in the report event's note; :func:`blind_spot_incidents`
    counts such incidents as coverage problems.

Workflow
    :data:`ACTIONS` is the explicit state machine (see :func:`transitions_table`)::

        accept         上报 reported      → 受理 accepted              own grid
        reject         上报 reported      → 不予受理 rejected (reason)  own grid
        assign         受理 accepted      → 交办 assigned (grid/person) upper grid
        start          交办 assigned      → 处置中 in_progress          own grid
        resolve        处置中 in_progress → 办结 resolved (result)      own grid
        submit_review  办结 resolved      → 审核 review                 own grid
        archive        审核 review        → 归档 archived  (通过)       upper grid
        return         审核 review        → 处置中 in_progress (退回重办, reason)  upper grid
        escalate       any open state     → unchanged, grid → upper grid (上报上级, reason)  own grid
        urge           any open state     → unchanged (催办/督办)       upper grid
        transfer       any open state     → 转执法/移送司法 transferred (closed here, reason)  upper grid

    :func:`move` runs one action: the session's actor must hold ``incident.handle`` and the
    grid scope of the action (see :func:`can_move`); every transition is one
    :class:`~gis.store.schema.IncidentEvent` (who = the actor's user name, when, from, to, note
    naming the photos) with its photos as :class:`~gis.store.schema.Attachment` rows (files
    checked and stored by :mod:`gis.incidents.attachments`) and, through the audited session, audit entries with the
    incident row before and after. Optimistic locking: ``expected_version`` and the incident's
    ``version`` column (:class:`~gis.errors.ConflictError`).

Deadlines
    :class:`DeadlinePolicy` per severity, optionally per category (defaults: accept within
    1 working day, close within 10 working days, 20 for 较大, urgent in hours: accept 2 h, close
    24 h), counted with a :class:`gis.incidents.workdays.WorkCalendar` (default
    :data:`gis.incidents.workdays.DEFAULT_CALENDAR`: official schedules, then the local schedule file,
    then estimates). Both deadlines are counted from the report. The accept deadline applies
    while 上报; the close deadline while 受理/交办/处置中 (办结 meets it; 审核 waits on the
    upper grid). :func:`deadline_status` gives overdue and due-soon flags.

    A case whose working days were counted, even in part, on an estimated year (no official or
    local schedule yet) has ``deadline_estimated`` set and its deadlines are shown with
    “（估算）”. :func:`recompute_open_deadlines` counts the deadlines of open cases again once a
    schedule arrives (or the local schedule file changes), through the audited session.

Roles
    Reporters (巡查员, 工作人员, 管理员: ``incident.report``) report; grid staff
    (``incident.handle``) accept and handle the cases of their grid and the grids below it;
    upper grids (a grid above the case's grid, or a township/county grid for a case in its own
    area) assign, urge, review and transfer; leaders read everything and move nothing; admins
    (and staff accounts without a home grid) may do every transition.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shapely.geometry import Point
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from gis import clock
from gis.incidents.attachments import AttachmentStore, attach, check_uploads
from gis.auth import Actor, require
from gis.geometry.crs import check_lonlat_range
from gis.grids.jurisdiction import check_near
from gis.errors import (
    ConflictError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
    checked_text,
)
from gis.model import (
    Category,
    GridLevel,
    IncidentSource,
    IncidentStatus,
    Severity,
    UserRole,
)
from gis.store.scope import grid_and_below, grid_line, home_grid, scope_of
from gis.store.codes import next_incident_code
from gis.store.schema import (
    Grid,
    Incident,
    IncidentEvent,
    PatrolTrack,
    Person,
    SupervisedObject,
)
from gis.incidents.workdays import DEFAULT_CALENDAR, LOCAL_TZ, WorkCalendar

__all__ = [
    "ACTIONS",
    "ACTION_LABELS",
    "DEFAULT_POLICY",
    "Action",
    "DeadlineChange",
    "DeadlinePolicy",
    "DeadlineRule",
    "DeadlineStatus",
    "Deadlines",
    "IllegalTransition",
    "Routing",
    "Span",
    "allowed_actions",
    "blind_spot_incidents",
    "can_move",
    "deadline_status",
    "get_incident",
    "grid_and_below",
    "resolved_by",
    "visible_incident",
    "incident_dict",
    "list_incidents",
    "move",
    "recompute_open_deadlines",
    "report_incident",
    "resolve_action",
    "route",
    "transitions_table",
]

ESTIMATED_MARK = "（估算）"
"""Shown after a deadline counted on an estimated calendar year."""

BLIND_SPOT_MARK = "【盲区】"
"""Written at the start of the report event's note when the point lies in no village grid."""

MAX_TEXT = 2000


class IllegalTransition(ValidationError):
    """An action is not allowed in the incident's current state (or lacks a required note)."""


S = IncidentStatus
OPEN_STATES = frozenset(s for s in IncidentStatus if s.is_open)


# =============================================================================================
# The state machine
# =============================================================================================


@dataclass(frozen=True)
class Action:
    """One workflow action.

    Attributes
    ----------
    code
        Stored in ``IncidentEvent.action``.
    label
        Chinese name.
    sources
        States the action may start from.
    target
        State after the action; None keeps the state (``urge``, ``escalate``).
    scope
        ``own``: the actor's grid is the case's grid or above it; ``upper``: the actor's grid is
        above the case's grid (or is the case's township/county grid itself).
    note_required
        What must be written in the note (Chinese), or ``""`` when a note is optional.
    """

    code: str
    label: str
    sources: frozenset[IncidentStatus]
    target: IncidentStatus | None
    scope: str
    note_required: str = ""


ACTIONS: dict[str, Action] = {
    a.code: a
    for a in (
        Action("accept", "受理", frozenset({S.REPORTED}), S.ACCEPTED, "own"),
        Action("reject", "不予受理", frozenset({S.REPORTED}), S.REJECTED, "own", "不予受理的理由"),
        Action("assign", "交办", frozenset({S.ACCEPTED}), S.ASSIGNED, "upper"),
        Action("start", "开始处置", frozenset({S.ASSIGNED}), S.IN_PROGRESS, "own"),
        Action("resolve", "办结", frozenset({S.IN_PROGRESS}), S.RESOLVED, "own", "办理结果"),
        Action("submit_review", "提交审核", frozenset({S.RESOLVED}), S.REVIEW, "own"),
        Action("archive", "审核通过（归档）", frozenset({S.REVIEW}), S.ARCHIVED, "upper"),
        Action("return", "退回重办", frozenset({S.REVIEW}), S.IN_PROGRESS, "upper", "退回的理由"),
        Action("escalate", "上报上级", OPEN_STATES, None, "own", "上报上级的原因"),
        Action("urge", "督办", OPEN_STATES, None, "upper"),
        Action("transfer", "转执法/移送司法", OPEN_STATES, S.TRANSFERRED, "upper", "移送的机关和理由"),
    )
}
"""The workflow actions by code (``report`` is not a move: see :func:`report_incident`)."""

ACTION_LABELS: dict[str, str] = {"report": "上报", **{a.code: a.label for a in ACTIONS.values()}}
"""Chinese names of every ``IncidentEvent.action`` written here."""

_ALIASES: dict[str, str] = {
    "approve": "archive", "通过": "archive", "审核通过": "archive", "归档": "archive",
    "退回": "return", "重办": "return", "退回重办": "return",
    "催办": "urge", "督办": "urge",
    "转执法": "transfer", "移送司法": "transfer", "移送执法": "transfer", "移送": "transfer",
    "上报上级": "escalate", "开始处置": "start", "处置": "start", "提交审核": "submit_review",
}


def allowed_actions(status: str | IncidentStatus) -> list[Action]:
    """The actions allowed in ``status`` (in :data:`ACTIONS` order)."""
    st = IncidentStatus(status)
    return [a for a in ACTIONS.values() if st in a.sources]


def transitions_table() -> list[dict[str, str]]:
    """Every (state, action) pair allowed, with the resulting state, as display rows."""
    rows = []
    for st in IncidentStatus:
        for a in allowed_actions(st):
            to = a.target or st
            rows.append({"from": st.value, "from_label": st.label, "action": a.code, "action_label": a.label,
                         "to": to.value, "to_label": to.label, "scope": a.scope, "note_required": a.note_required})
    return rows


def _refuse(st: IncidentStatus, what: str) -> IllegalTransition:
    allowed = allowed_actions(st)
    if not allowed:
        return IllegalTransition(
            f"事件当前状态为“{st.label}”，已经结束，不能再“{what}”",
            f"incident is {st.value} (closed); {what!r} not allowed",
        )
    names = "、".join(f"{a.label}（{a.code}）" for a in allowed)
    return IllegalTransition(
        f"事件当前状态为“{st.label}”，不能“{what}”；当前可执行的操作：{names}",
        f"{what!r} not allowed from {st.value}; allowed: {[a.code for a in allowed]}",
    )


def resolve_action(text: str, status: str | IncidentStatus) -> Action:
    """The action meant by ``text`` for an incident in ``status``.

    ``text`` may be an action code (``accept``), its Chinese name or an alias (``受理``,
    ``通过``, ``退回``, ``督办``), or a target state (``in_progress``, ``处置中``, ``归档``):
    a state means the allowed action that leads there from ``status`` (``in_progress`` from
    交办 is ``start``, from 审核 ``return``).

    Raises
    ------
    IllegalTransition
        The action or state is unknown, or not reachable from ``status``.
    """
    st = IncidentStatus(status)
    key = str(text).strip()
    code = _ALIASES.get(key, key)
    if code in ACTIONS:
        action = ACTIONS[code]
        if st not in action.sources:
            raise _refuse(st, action.label)
        return action
    for action in ACTIONS.values():
        if key == action.label:
            if st not in action.sources:
                raise _refuse(st, action.label)
            return action
    target = next((s for s in IncidentStatus if key in (s.value, s.label)), None)
    if target is None:
        known = "、".join(a.code for a in ACTIONS.values())
        raise IllegalTransition(f"无法识别的操作或状态“{key}”，可用操作：{known}", f"unknown action or state {key!r}")
    leading = [a for a in allowed_actions(st) if a.target is target]
    if not leading:
        raise _refuse(st, f"转为{target.label}")
    return leading[0]


# =============================================================================================
# Deadlines
# =============================================================================================


@dataclass(frozen=True)
class Span:
    """A time allowance: ``working_days`` (counted by the calendar) or clock ``hours``."""

    working_days: int = 0
    hours: float = 0.0

    def __post_init__(self) -> None:
        if (self.working_days > 0) == (self.hours > 0) or self.working_days < 0 or self.hours < 0:
            raise ValidationError("期限应为若干工作日或若干小时（二者取一，且大于 0）",
                                  f"give working_days or hours (> 0), got {self}")

    @property
    def label(self) -> str:
        return f"{self.working_days} 个工作日" if self.working_days else f"{self.hours:g} 小时"

    def after(self, start: datetime, calendar: WorkCalendar) -> datetime:
        """The moment this span after ``start``."""
        if self.working_days:
            return calendar.add_working_days(start, self.working_days)
        return start + timedelta(hours=self.hours)


@dataclass(frozen=True)
class DeadlineRule:
    """Deadlines of one kind of case: ``accept`` and ``close`` from the report; ``soon`` is how
    close to a deadline a case counts as due soon."""

    accept: Span
    close: Span
    soon: Span = Span(working_days=1)


@dataclass(frozen=True)
class Deadlines:
    """The deadlines of one case; ``estimated`` when a working day counted for them lies in an
    estimated year (see :mod:`gis.incidents.workdays`)."""

    accept_due_at: datetime
    close_due_at: datetime
    estimated: bool = False


@dataclass(frozen=True)
class DeadlinePolicy:
    """Deadlines per severity, overridden per category or per (category, severity).

    Parameters
    ----------
    by_severity
        Severity code → rule; every severity needs one.
    by_category
        Category code, or ``(category, severity)`` codes → rule; more specific wins.
    calendar
        Working-day calendar (default :data:`gis.incidents.workdays.DEFAULT_CALENDAR`: official schedules,
        the local schedule file, estimates).
    """

    by_severity: Mapping[str, DeadlineRule] = field(default_factory=lambda: {
        Severity.NORMAL.value: DeadlineRule(Span(working_days=1), Span(working_days=10)),
        Severity.MAJOR.value: DeadlineRule(Span(working_days=1), Span(working_days=20)),
        Severity.URGENT.value: DeadlineRule(Span(hours=2), Span(hours=24), Span(hours=2)),
    })
    by_category: Mapping[Any, DeadlineRule] = field(default_factory=dict)
    calendar: WorkCalendar = DEFAULT_CALENDAR

    def rule(self, category: str, severity: str) -> DeadlineRule:
        """The rule for a case of ``category`` and ``severity`` (codes)."""
        for key in ((category, severity), category):
            if key in self.by_category:
                return self.by_category[key]
        try:
            return self.by_severity[severity]
        except KeyError:
            raise ValidationError(f"未设置“{severity}”级别事件的办理期限", f"no deadline rule for {severity!r}") from None

    def deadlines(self, category: str, severity: str, reported_at: datetime) -> tuple[datetime, datetime]:
        """``(accept_due_at, close_due_at)`` of a case reported at ``reported_at``."""
        d = self.compute(category, severity, reported_at)
        return d.accept_due_at, d.close_due_at

    def compute(self, category: str, severity: str, reported_at: datetime) -> Deadlines:
        """The deadlines of a case reported at ``reported_at`` and whether they are estimated
        (a working day counted from the report to either deadline lies in an estimated year;
        deadlines in hours count no working day)."""
        r = self.rule(category, severity)
        cal = self.calendar
        accept, close = r.accept.after(reported_at, cal), r.close.after(reported_at, cal)
        estimated = any(span.working_days and cal.estimated_between(reported_at, due)
                        for span, due in ((r.accept, accept), (r.close, close)))
        return Deadlines(accept, close, estimated)


DEFAULT_POLICY = DeadlinePolicy()
"""Accept within 1 working day, close within 10 (一般) or 20 (较大) working days; 紧急: accept
in 2 hours, close in 24 hours; due soon = within 1 working day (紧急: 2 hours)."""


@dataclass(frozen=True)
class DeadlineStatus:
    """Where a case stands against its current deadline.

    ``kind`` is ``accept`` (while 上报), ``close`` (受理/交办/处置中) or None (办结, 审核 and
    closed cases); ``due_at`` is that deadline (UTC) or None; ``estimated`` when it was counted
    on an estimated calendar year (its label then says 估算).
    """

    kind: str | None
    due_at: datetime | None
    overdue: bool
    due_soon: bool
    overdue_hours: float = 0.0
    estimated: bool = False

    @property
    def label(self) -> str:
        """``办结期限 2026-12-04 15:00``, ``已超期（受理期限 …）``, ``即将到期（…）``; a
        deadline counted on an estimated year ends with ``（估算）``."""
        if self.kind is None or self.due_at is None:
            return ""
        what = "受理" if self.kind == "accept" else "办结"
        when = self.due_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        mark = ESTIMATED_MARK if self.estimated else ""
        if self.overdue:
            return f"已超期（{what}期限 {when}）{mark}"
        return f"即将到期（{what}期限 {when}）{mark}" if self.due_soon else f"{what}期限 {when}{mark}"


def _aware(moment: datetime | None, what: str = "时间") -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # a wall clock in Beijing time
        moment = moment.replace(tzinfo=LOCAL_TZ)
    return moment.astimezone(UTC)


def _now(now: datetime | None) -> datetime:
    return _aware(now) or clock.now()


def running_deadline(status: str | IncidentStatus, accept_due_at: datetime | None,
                     close_due_at: datetime | None) -> tuple[str | None, datetime | None]:
    """The deadline that runs in ``status``: ``("accept", accept_due_at)`` while 上报,
    ``("close", close_due_at)`` while 受理/交办/处置中, ``(None, None)`` once 办结 (the review
    has no deadline here) and for closed cases. The one rule for "overdue" everywhere."""
    st = IncidentStatus(status)
    if st is S.REPORTED:
        return "accept", accept_due_at
    if st in (S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS):
        return "close", close_due_at
    return None, None


def is_overdue(status: str | IncidentStatus, accept_due_at: datetime | None, close_due_at: datetime | None,
               now: datetime) -> bool:
    """Whether the deadline running in ``status`` has passed at ``now`` (see :func:`running_deadline`)."""
    _, due = running_deadline(status, accept_due_at, close_due_at)
    due = _aware(due)
    return due is not None and _now(now) > due


def deadline_status(incident: Incident, *, now: datetime | None = None,
                    policy: DeadlinePolicy = DEFAULT_POLICY) -> DeadlineStatus:
    """The current deadline of ``incident`` at ``now`` (default: the clock), overdue or due soon."""
    now = _now(now)
    kind, due = running_deadline(incident.status, incident.accept_due_at, incident.close_due_at)
    if kind is None:
        return DeadlineStatus(None, None, False, False)
    if due is None:
        return DeadlineStatus(kind, None, False, False)
    due = _aware(due)
    assert due is not None
    estimated = bool(incident.deadline_estimated)
    if now > due:
        return DeadlineStatus(kind, due, True, False, (now - due).total_seconds() / 3600, estimated)
    try:
        soon = policy.rule(incident.category, incident.severity).soon
    except ValidationError:
        soon = Span(working_days=1)
    return DeadlineStatus(kind, due, False, due <= soon.after(now, policy.calendar), estimated=estimated)


@dataclass(frozen=True)
class DeadlineChange:
    """An open case whose deadlines :func:`recompute_open_deadlines` changed."""

    incident_id: int
    code: str
    before: Deadlines
    after: Deadlines

    def to_dict(self) -> dict[str, Any]:
        def side(d: Deadlines) -> dict[str, Any]:
            return {"accept_due_at": _iso(d.accept_due_at), "close_due_at": _iso(d.close_due_at),
                    "estimated": d.estimated}

        return {"id": self.incident_id, "code": self.code, "before": side(self.before), "after": side(self.after)}

    def text(self) -> str:
        """``SJ-2026-016：办结期限 2027-01-04 23:59（估算）→ 2027-01-05 23:59``."""
        def when(moment: datetime, estimated: bool) -> str:
            return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") + (ESTIMATED_MARK if estimated else "")

        parts = []
        for what, a, b in (("受理", self.before.accept_due_at, self.after.accept_due_at),
                           ("办结", self.before.close_due_at, self.after.close_due_at)):
            old, new = when(a, self.before.estimated), when(b, self.after.estimated)
            if old != new:
                parts.append(f"{what}期限 {old} → {new}")
        return f"{self.code}：" + "；".join(parts)


def recompute_open_deadlines(session: Session, *, policy: DeadlinePolicy = DEFAULT_POLICY) -> list[DeadlineChange]:
    """Count the deadlines of open cases again with the current calendar.

    Cases counted on an estimated year (``deadline_estimated``) and cases counted over a year
    the local schedule file lists (whose schedule may have been added or corrected) are counted
    again with ``policy``; those whose deadlines or estimate flag change are updated through the
    session, so each change is an audit entry with the row before and after. Closed cases
    (不予受理, 归档, 转执法) and cases without stored deadlines are left alone; running it
    twice changes nothing the second time. Cheap enough for every app start: the database
    returns only the flagged cases and those due from the December before the first local year.

    Parameters
    ----------
    session : Session
        An audited store session whose actor holds ``incident.handle``.
    policy : DeadlinePolicy
        Deadline rules and calendar (default: :data:`DEFAULT_POLICY`).

    Returns
    -------
    list of DeadlineChange
        The cases changed, by id.

    Raises
    ------
    PermissionDenied
        The actor lacks ``incident.handle``.
    ValidationError
        The local schedule file is broken (Chinese message naming the file).
    ConflictError
        A case changed at the same time (from the session, on commit).
    """
    require(_actor(session), "incident.handle")
    cal = policy.calendar
    flagged: ColumnElement[bool] = Incident.deadline_estimated.is_(True)
    since = cal.revisable_from()
    if since is not None:
        start = datetime.combine(since, datetime.min.time(), tzinfo=LOCAL_TZ).astimezone(UTC)
        flagged = or_(flagged, Incident.accept_due_at >= start, Incident.close_due_at >= start)
    query = select(Incident).where(
        Incident.status.in_([st.value for st in OPEN_STATES]), Incident.accept_due_at.is_not(None),
        Incident.close_due_at.is_not(None), flagged,
    ).order_by(Incident.id)
    changes: list[DeadlineChange] = []
    for inc in session.scalars(query):
        reported, accept, close = (_aware(t) for t in (inc.reported_at, inc.accept_due_at, inc.close_due_at))
        if reported is None or accept is None or close is None:
            continue
        before = Deadlines(accept, close, bool(inc.deadline_estimated))
        if not before.estimated and not any(cal.revisable_between(reported, due)
                                            for due in (before.accept_due_at, before.close_due_at)):
            continue
        try:
            after = policy.compute(inc.category, inc.severity, reported)
        except ValidationError:  # no rule for this kind of case: its deadlines were not ours
            continue
        if after == before:
            continue
        inc.accept_due_at, inc.close_due_at = after.accept_due_at, after.close_due_at
        inc.deadline_estimated = after.estimated
        changes.append(DeadlineChange(inc.id, inc.code, before, after))
    if changes:
        try:
            session.flush()
        except StaleDataError as exc:
            raise ConflictError("事件在重算期限时被他人修改，请稍后重试", f"stale incident: {exc}") from exc
    return changes


# =============================================================================================
# Routing
# =============================================================================================


@dataclass
class Routing:
    """Where a reported point goes: grid, reach, persons and warnings (Chinese).

    ``grid_id``/``grid_name`` is the village grid covering the point (the first by id when the
    point lies in two), or for a blind spot the nearest village grid (``blind_spot`` True); the
    lowest covering grid of another level when the store has no village grids.
    """

    grid_id: int | None
    grid_name: str
    reach_id: int | None
    reach_name: str
    reach_distance_m: float | None
    station: str
    persons: list[str]
    chain: list[dict[str, Any]]
    grids: list[dict[str, Any]]
    warnings: list[str]
    blind_spot: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "grid": {"id": self.grid_id, "name": self.grid_name} if self.grid_id is not None else None,
            "reach": ({"id": self.reach_id, "name": self.reach_name, "distance_m": self.reach_distance_m,
                       "station": self.station} if self.reach_id is not None else None),
            "persons": list(self.persons), "chain": list(self.chain), "grids": list(self.grids),
            "warnings": list(self.warnings), "blind_spot": self.blind_spot,
        }

    def note(self) -> str:
        """One Chinese line for the report event."""
        parts = [BLIND_SPOT_MARK] if self.blind_spot else []
        parts.append(f"网格：{self.grid_name or '无'}")
        if self.reach_id is not None:
            parts.append(f"河段：{self.reach_name}（距 {self.reach_distance_m:,.0f} 米，桩号 {self.station}）")
        if self.persons:
            parts.append("责任人：" + "、".join(dict.fromkeys(self.persons)))
        parts.extend(f"提示：{w}" for w in self.warnings)
        return "；".join(parts)


def route(session_or_index: Any, lon: float, lat: float, *, tolerance_m: float = 50.0) -> Routing:
    """Route a point (WGS84 decimal degrees) to its grid, nearest reach within ``tolerance_m``
    metres and the chain of persons (:class:`gis.grids.chain.ResponsibilityIndex`)."""
    from gis.grids.chain import ResponsibilityIndex

    index = session_or_index
    if not isinstance(index, ResponsibilityIndex):
        index = ResponsibilityIndex.from_session(index, today=clock.today())
    chain = index.lookup(lon, lat, tolerance_m=tolerance_m)
    warnings = list(chain.warnings)
    target = None
    if chain.blind_spot and chain.nearest_grid is not None:
        target = chain.nearest_grid
        warnings.insert(0, f"该点不在任何村级网格内（盲区，按网格覆盖问题登记），已派往最近的网格“{target.name}”")
    elif chain.grids:
        lowest = max(GridLevel(g.level).rank for g in chain.grids)
        target = next(g for g in chain.grids if GridLevel(g.level).rank == lowest)
    else:
        warnings.insert(0, "该点不在任何网格内，也找不到最近的网格，请手动指定网格")
    links = list(chain.chain)
    if chain.blind_spot and target is not None:
        # the nearest village grid's own posts join the chain after the river chiefs
        extra = list(getattr(index, "_grid_links", {}).get(target.id, []))
        at = sum(1 for link in links if link.step == "reach")
        links[at:at] = extra
    reach = chain.reach
    return Routing(
        grid_id=None if target is None else int(target.id), grid_name="" if target is None else target.name,
        reach_id=None if reach is None else int(reach.id), reach_name="" if reach is None else reach.name,
        reach_distance_m=None if reach is None else round(reach.distance_m, 1),
        station="" if reach is None else reach.station,
        persons=[link.person for link in links if link.person], chain=[link.to_dict() for link in links],
        grids=[g.to_dict() for g in chain.grids], warnings=warnings, blind_spot=chain.blind_spot,
    )


# =============================================================================================
# Report
# =============================================================================================


def _actor(session: Session) -> Actor | None:
    return session.info.get("actor")


def _text(value: Any, what: str, *, required: bool = False, max_len: int = MAX_TEXT) -> str:
    return checked_text(value, what, required=required, max_len=max_len)


def report_incident(
    session: Session,
    *,
    lon: float,
    lat: float,
    category: str,
    description: str,
    severity: str = "normal",
    source: str = "patrol",
    reporter: str | None = None,
    reporter_contact: str | None = None,
    reported_at: datetime | None = None,
    title: str | None = None,
    object_id: int | None = None,
    track_id: int | None = None,
    photos: Sequence[str] | None = None,
    tolerance_m: float = 50.0,
    index: Any = None,
    policy: DeadlinePolicy = DEFAULT_POLICY,
    files: AttachmentStore | None = None,
    allow_far: bool = False,
) -> Incident:
    """Report an incident at a point and route it (上报).

    Parameters
    ----------
    session : Session
        An open store session whose actor holds ``incident.report``.
    lon, lat : float
        WGS84 longitude and latitude, decimal degrees.
    category, severity, source : str
        Codes or Chinese labels (:class:`~gis.model.Category`, :class:`~gis.model.Severity`,
        :class:`~gis.model.IncidentSource`).
    description : str
        What was found (required).
    reporter : str, optional
        Name of the reporter (default: the actor's display name).
    reporter_contact : str, optional
        The reporter's phone or other contact (a resident's, say): kept out of the audit log and
        shown only on request, each reading logged (:func:`gis.incidents.contact.reveal_reporter_contact`).
    reported_at : datetime, optional
        When it was found (default now); a naive time is Beijing time.
    title : str, optional
        Default: the start of the description.
    object_id, track_id : int, optional
        A related supervised object or patrol track (must exist).
    photos : sequence, optional
        Photos: file paths, ``(name, bytes)`` pairs or uploaded files (see
        :func:`gis.incidents.attachments.to_upload`). Each is checked (size, a real image) before anything
        is written, stored under the data folder by its SHA-256 with a thumbnail, recorded as an
        :class:`~gis.store.schema.Attachment` of the report event and named in its note.
    tolerance_m : float
        Search radius for the nearest reach, metres.
    index : ResponsibilityIndex, optional
        A prebuilt index (default: built from ``session``).
    policy : DeadlinePolicy
        Deadline rules.
    files : AttachmentStore, optional
        Where photos go (default ``<RIVERGRID_DATA_DIR>/attachments``).
    allow_far : bool
        Accept a point farther than ``RIVERGRID_MAX_DISTANCE_KM`` from the top-level grid (the
        reporter confirmed it; see :mod:`gis.grids.jurisdiction`).

    Returns
    -------
    Incident
        Flushed (it has its ``id`` and ``code``); ``incident.routing`` holds the
        :class:`Routing` (set on this object only, not stored).

    Raises
    ------
    PermissionDenied, ValidationError, CoordinateRangeError, NotFoundError
    TooFarError
        The point lies farther than ``RIVERGRID_MAX_DISTANCE_KM`` from the top-level grid and
        ``allow_far`` is not set.
    """
    actor = require(_actor(session), "incident.report")
    try:
        lon_f, lat_f = float(lon), float(lat)
    except (TypeError, ValueError):
        raise ValidationError(f"经纬度应为数字：经度 {lon!r}，纬度 {lat!r}", "lon/lat must be numbers") from None
    if not (math.isfinite(lon_f) and math.isfinite(lat_f)):
        raise ValidationError(f"经纬度应为有限的数字：经度 {lon_f}，纬度 {lat_f}", "lon/lat must be finite")
    check_lonlat_range((lon_f, lat_f, lon_f, lat_f))
    check_near(session, [Point(lon_f, lat_f)], labels=["事件位置"], allow_far=allow_far,
               hint="如确属本辖区请勾选“仍然上报”（命令行加 --allow-far）")
    cat = Category.from_any(category)
    sev = Severity.from_any(severity)
    src = IncidentSource.from_any(source)
    desc = _text(description, "事件描述", required=True)
    title_text = _text(title, "事件标题", max_len=200) or (desc[:30] + ("…" if len(desc) > 30 else ""))
    reporter_text = _text(reporter, "上报人", max_len=100) or actor.display_name or actor.username
    contact_text = _text(reporter_contact, "上报人联系方式", max_len=100)
    at = _aware(reported_at) or clock.now()
    checked = check_uploads(photos)
    if object_id is not None and session.get(SupervisedObject, object_id) is None:
        raise NotFoundError(f"没有编号为 {object_id} 的监管对象", f"no supervised object {object_id}")
    if track_id is not None and session.get(PatrolTrack, track_id) is None:
        raise NotFoundError(f"没有编号为 {track_id} 的巡河轨迹", f"no patrol track {track_id}")

    routing = route(index if index is not None else session, lon_f, lat_f, tolerance_m=tolerance_m)
    due = policy.compute(cat.value, sev.value, at)
    note = routing.note()
    if checked:
        note += "；附件：" + "、".join(p.name for p in checked)
    incident = Incident(
        code=next_incident_code(session, at), title=title_text, category=cat.value, severity=sev.value,
        status=S.REPORTED.value, description=desc, source=src.value, reporter=reporter_text,
        reporter_contact=contact_text, reported_at=at,
        grid_id=routing.grid_id, reach_id=routing.reach_id, object_id=object_id, track_id=track_id,
        accept_due_at=due.accept_due_at, close_due_at=due.close_due_at, deadline_estimated=due.estimated,
        geom=Point(lon_f, lat_f),
    )
    event = IncidentEvent(action="report", from_status=None, to_status=S.REPORTED.value, at=at,
                          by=actor.username, note=note)
    incident.events = [event]
    session.add(incident)
    session.flush()
    attach(session, checked, incident_id=incident.id, event_id=event.id, by=actor.username, at=at, files=files)
    incident.routing = routing  # type: ignore[attr-defined]
    return incident


# =============================================================================================
# Moves
# =============================================================================================


def visible_incident(session: Session, incident_id: int | str) -> Incident:
    """The incident ``incident_id`` if the session's actor may see it (:mod:`gis.store.scope`);
    NotFoundError otherwise, with the same message as for a case that does not exist."""
    inc = get_incident(session, incident_id)
    if not scope_of(session).covers(inc.grid_id):
        raise NotFoundError(f"没有编号为 {incident_id} 的事件", f"incident {incident_id!r} outside the actor's grids")
    return inc


def get_incident(session: Session, incident_id: int | str) -> Incident:
    """The incident with id ``incident_id`` (or code ``SJ-2026-001``), whoever may see it (for the
    workflow, which checks the actor's grid itself; pages show :func:`visible_incident`)."""
    inc = None
    if isinstance(incident_id, int) or str(incident_id).isdigit():
        inc = session.get(Incident, int(incident_id))
    else:
        inc = session.scalar(select(Incident).where(Incident.code == str(incident_id).strip()))
    if inc is None:
        raise NotFoundError(f"没有编号为 {incident_id} 的事件", f"no incident {incident_id!r}")
    return inc


def _in_scope(session: Session, actor: Actor, action: Action, grid_id: int | None) -> bool:
    if actor.role is UserRole.ADMIN or actor.installer:
        return True
    home = home_grid(session, actor)
    if home is None or grid_id is None:
        return True
    line = grid_line(session, grid_id)
    if action.scope == "own":
        return home in line
    if home in line[1:]:
        return True
    grid = session.get(Grid, grid_id)
    return home == grid_id and grid is not None and grid.level != GridLevel.VILLAGE.value


def can_move(session: Session, actor: Actor | None, incident: Incident, action: str | Action) -> bool:
    """True when ``actor`` may run ``action`` on ``incident`` now (state, role, grid scope and
    separation of duties)."""
    a = action if isinstance(action, Action) else ACTIONS.get(_ALIASES.get(action, action))
    if a is None or actor is None or not actor.can("incident.handle"):
        return False
    return (IncidentStatus(incident.status) in a.sources and _in_scope(session, actor, a, incident.grid_id)
            and not _own_resolution(actor, a, incident))


REVIEW_ACTIONS = frozenset({"archive", "return"})
"""审核: approving or returning what someone resolved (办结). Never by the one who resolved it."""


def resolved_by(incident: Incident) -> str | None:
    """User name of whoever marked the case 办结 last (None if it never was)."""
    resolutions = [e for e in incident.events if e.action == "resolve"]
    return max(resolutions, key=lambda e: (e.at, e.id or 0)).by if resolutions else None


def _own_resolution(actor: Actor, action: Action, incident: Incident) -> bool:
    return action.code in REVIEW_ACTIONS and resolved_by(incident) == actor.username


def _check_separation(actor: Actor, action: Action, incident: Incident) -> None:
    if _own_resolution(actor, action, incident):
        raise PermissionDenied(
            f"事件 {incident.code} 是您本人办结的，不能由您本人“{action.label}”；请由上级网格的其他人员审核",
            f"{actor.username} resolved incident {incident.id} and may not {action.code} it",
        )


def _check_scope(session: Session, actor: Actor, action: Action, incident: Incident) -> None:
    if _in_scope(session, actor, action, incident.grid_id):
        return
    grid = session.get(Grid, incident.grid_id) if incident.grid_id is not None else None
    name = grid.name if grid is not None else "未知网格"
    who = "本网格或上级网格" if action.scope == "own" else "上级网格"
    raise PermissionDenied(
        f"“{action.label}”须由{who}的工作人员办理，事件 {incident.code} 属于“{name}”，不在您的网格范围内",
        f"{actor.username} may not {action.code} incidents of grid {incident.grid_id}",
    )


def _live_grid(session: Session, grid_id: int) -> Grid:
    grid = session.get(Grid, grid_id)
    if grid is None or grid.deleted_at is not None:
        raise NotFoundError(f"没有编号为 {grid_id} 的网格", f"no live grid {grid_id}")
    return grid


def move(
    session: Session,
    incident_id: int | str,
    action: str,
    *,
    note: str = "",
    to_grid_id: int | None = None,
    to_person_id: int | None = None,
    expected_version: int | None = None,
    attachments: Sequence[Any] | None = None,
    at: datetime | None = None,
    files: AttachmentStore | None = None,
) -> Incident:
    """Run one workflow action on an incident.

    Parameters
    ----------
    session : Session
        An open store session; its actor is who acts.
    incident_id : int or str
        Id or code.
    action : str
        An action code, Chinese name or alias, or a target state (see :func:`resolve_action`).
    note : str
        The note; required for reject (reason), resolve (result), return, escalate, transfer.
    to_grid_id, to_person_id : int, optional
        For ``assign``: the grid (the case's grid or one below the actor's grid) and/or the
        person the case goes to; for ``escalate``: an upper grid (default: the parent grid).
    expected_version : int, optional
        The ``version`` the caller read; a different current version raises ConflictError.
    attachments : sequence, optional
        Photos, as for :func:`report_incident`: checked first, stored by hash, recorded as
        :class:`~gis.store.schema.Attachment` rows of this transition and named in its note.
    at : datetime, optional
        Time of the action (default now; a naive time is Beijing time).
    files : AttachmentStore, optional
        Where photos go (default ``<RIVERGRID_DATA_DIR>/attachments``).

    Raises
    ------
    IllegalTransition
        The action is not allowed in the current state, or a required note is missing.
    PermissionDenied
        The actor lacks ``incident.handle`` or the case is outside the actor's grid scope.
    ConflictError
        The incident was changed since ``expected_version`` (or concurrently).
    NotFoundError
        No such incident, grid or person.
    """
    actor = require(_actor(session), "incident.handle")
    incident = get_incident(session, incident_id)
    if expected_version is not None and incident.version != expected_version:
        raise ConflictError(
            f"事件 {incident.code} 已被他人修改（版本 {incident.version}，您看到的是版本 {expected_version}），请刷新后重试",
            f"incident {incident.id} is at version {incident.version}, expected {expected_version}",
        )
    st = IncidentStatus(incident.status)
    act = resolve_action(action, st)
    _check_scope(session, actor, act, incident)
    _check_separation(actor, act, incident)
    text = _text(note, "说明")
    if act.note_required and not text:
        raise IllegalTransition(f"“{act.label}”必须填写{act.note_required}", f"{act.code} requires a note")
    checked = check_uploads(attachments)
    when = _aware(at) or clock.now()
    extra: list[str] = []

    if act.code == "assign":
        if to_grid_id is None and to_person_id is None:
            raise ValidationError("交办须指定网格或责任人", "assign needs to_grid_id or to_person_id")
        if to_grid_id is not None:
            grid = _live_grid(session, to_grid_id)
            home = home_grid(session, actor) if actor.role is not UserRole.ADMIN else None
            if home is not None and home not in grid_line(session, grid.id):
                raise PermissionDenied(f"只能交办给本网格或下级网格，“{grid.name}”不在您的网格范围内",
                                       f"grid {grid.id} outside {actor.username}'s grids")
            incident.grid_id = grid.id
            extra.append(f"交办网格：{grid.name}")
        if to_person_id is not None:
            person = session.get(Person, to_person_id)
            if person is None:
                raise NotFoundError(f"没有编号为 {to_person_id} 的人员", f"no person {to_person_id}")
            extra.append(f"责任人：{person.name}")
    elif act.code == "escalate":
        line = grid_line(session, incident.grid_id)
        if to_grid_id is None:
            if len(line) < 2:
                raise IllegalTransition("事件所在网格已是最高一级（或未指定网格），无法上报上级",
                                        "no upper grid to escalate to")
            to_grid_id = line[1]
        elif to_grid_id not in line[1:]:
            raise ValidationError("上报上级只能报给事件所在网格的上级网格", f"grid {to_grid_id} is not above the case's grid")
        grid = _live_grid(session, to_grid_id)
        incident.grid_id = grid.id
        extra.append(f"上报至：{grid.name}")
    elif to_grid_id is not None or to_person_id is not None:
        raise ValidationError(f"“{act.label}”不能指定网格或责任人", f"{act.code} takes no grid or person")

    target = act.target or st
    if target in (S.ARCHIVED, S.REJECTED, S.TRANSFERRED):
        incident.closed_at = when
    incident.status = target.value
    names = [p.name for p in checked]
    full = "；".join([*extra, *([text] if text else []), *(["附件：" + "、".join(names)] if names else [])])
    event = IncidentEvent(incident=incident, action=act.code, from_status=st.value, to_status=target.value,
                          at=when, by=actor.username, note=full)
    session.add(event)
    code = incident.code
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError(f"事件 {code} 已被他人修改，请刷新后重试", f"stale incident: {exc}") from exc
    attach(session, checked, incident_id=incident.id, event_id=event.id, by=actor.username, at=when, files=files)
    return incident


# =============================================================================================
# Lists
# =============================================================================================


def list_incidents(
    session: Session,
    *,
    status: str | Iterable[str] | None = None,
    category: str | Iterable[str] | None = None,
    grid_id: int | Iterable[int] | None = None,
    overdue: bool | None = None,
    due_soon: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
    policy: DeadlinePolicy = DEFAULT_POLICY,
) -> list[Incident]:
    """Incidents by reporting time (newest first), filtered.

    Only the cases the session's actor may see (:func:`gis.store.scope.scope_of`: an account bound to a
    grid sees its grid and those below). ``status``, ``category`` and ``grid_id`` take one value
    or several (codes or Chinese labels); ``since`` (inclusive) and ``until`` (exclusive) bound
    the reporting time (a naive time is Beijing time); ``overdue``/``due_soon`` are judged at
    ``now``.
    """
    query = select(Incident).options(selectinload(Incident.grid), selectinload(Incident.reach)).order_by(
        Incident.reported_at.desc(), Incident.id.desc())
    visible = scope_of(session).where(Incident.grid_id)
    if visible is not None:
        query = query.where(visible)
    if status is not None:
        states = [status] if isinstance(status, str) else list(status)
        query = query.where(Incident.status.in_([IncidentStatus.from_any(s).value for s in states]))
    if category is not None:
        cats = [category] if isinstance(category, str) else list(category)
        query = query.where(Incident.category.in_([Category.from_any(c).value for c in cats]))
    if grid_id is not None:
        ids = [grid_id] if isinstance(grid_id, int) else list(grid_id)
        query = query.where(Incident.grid_id.in_(ids))
    if since is not None:
        query = query.where(Incident.reported_at >= _aware(since))
    if until is not None:
        query = query.where(Incident.reported_at < _aware(until))
    rows = list(session.scalars(query))
    if overdue is None and due_soon is None:
        return rows
    t = _now(now)
    out = []
    for inc in rows:
        d = deadline_status(inc, now=t, policy=policy)
        if (overdue is None or d.overdue == overdue) and (due_soon is None or d.due_soon == due_soon):
            out.append(inc)
    return out


def blind_spot_incidents(session: Session, *, index: Any = None) -> list[Incident]:
    """Incidents whose point lies in no village grid now (coverage problems, 盲区), by id."""
    from gis.grids.chain import ResponsibilityIndex

    index = index or ResponsibilityIndex.from_session(session)
    rows = session.scalars(select(Incident).order_by(Incident.id)).all()
    return [inc for inc in rows if index.lookup(inc.geom.x, inc.geom.y, tolerance_m=0).blind_spot]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(LOCAL_TZ).isoformat()


def incident_dict(incident: Incident, *, now: datetime | None = None,
                  policy: DeadlinePolicy = DEFAULT_POLICY) -> dict[str, Any]:
    """JSON-friendly summary (times in Beijing time, ISO 8601)."""
    d = deadline_status(incident, now=now, policy=policy)
    st = IncidentStatus(incident.status)
    return {
        "id": incident.id, "code": incident.code, "title": incident.title,
        "category": incident.category, "category_label": Category(incident.category).label,
        "severity": incident.severity, "severity_label": Severity(incident.severity).label,
        "status": st.value, "status_label": st.label, "source": incident.source,
        "reporter": incident.reporter, "reported_at": _iso(incident.reported_at),
        "grid": None if incident.grid is None else {"id": incident.grid.id, "name": incident.grid.name},
        "reach": None if incident.reach is None else {"id": incident.reach.id, "name": incident.reach.name},
        "lon": incident.geom.x, "lat": incident.geom.y,
        "accept_due_at": _iso(incident.accept_due_at), "close_due_at": _iso(incident.close_due_at),
        "deadline_estimated": bool(incident.deadline_estimated),
        "closed_at": _iso(incident.closed_at), "version": incident.version,
        "deadline": {"kind": d.kind, "due_at": _iso(d.due_at), "overdue": d.overdue, "due_soon": d.due_soon,
                     "overdue_hours": round(d.overdue_hours, 1), "estimated": d.estimated, "label": d.label},
        "allowed_actions": [a.code for a in allowed_actions(st)],
    }

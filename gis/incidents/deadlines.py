"""Incident deadlines (期限): the policy, a case's running deadline and its status, recounting.

:class:`DeadlinePolicy` per severity, optionally per category (defaults: accept within 1 working
day, close within 10 working days, 20 for 较大, urgent in hours: accept 2 h, close 24 h), counted
with a :class:`gis.incidents.workdays.WorkCalendar` (default
:data:`gis.incidents.workdays.DEFAULT_CALENDAR`: official schedules, then the local schedule file,
then estimates). Both deadlines are counted from the report. The accept deadline applies while
上报; the close deadline while 受理/交办/处置中 (办结 meets it; 审核 waits on the upper grid).
:func:`deadline_status` gives overdue and due-soon flags.

A case whose working days were counted, even in part, on an estimated year (no official or local
schedule yet) has ``deadline_estimated`` set and its deadlines are shown with “（估算）”.
:func:`recompute_open_deadlines` counts the deadlines of open cases again once a schedule arrives
(or the local schedule file changes), through the audited session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gis import clock
from gis.auth import require
from gis.errors import ConflictError, ValidationError
from gis.incidents.states import OPEN_STATES, S
from gis.incidents.workdays import DEFAULT_CALENDAR, WorkCalendar
from gis.model import LOCAL_TZ, IncidentStatus, Severity
from gis.store.schema import DeadlineExtension, Incident

__all__ = [
    "DEFAULT_POLICY",
    "ESTIMATED_MARK",
    "DeadlineChange",
    "DeadlinePolicy",
    "DeadlineRule",
    "DeadlineStatus",
    "Deadlines",
    "Span",
    "as_utc",
    "deadline_status",
    "is_overdue",
    "local_iso",
    "moment_or_now",
    "recompute_open_deadlines",
    "running_deadline",
]

ESTIMATED_MARK = "（估算）"
"""Shown after a deadline counted on an estimated calendar year."""


@dataclass(frozen=True)
class Span:
    """A time allowance: ``working_days`` (counted by the calendar) or clock ``hours``."""

    working_days: int = 0
    hours: float = 0.0

    def __post_init__(self) -> None:
        if (self.working_days > 0) == (self.hours > 0) or self.working_days < 0 or self.hours < 0:
            raise ValidationError(
                "期限应为若干工作日或若干小时（二者取一，且大于 0）", f"give working_days or hours (> 0), got {self}"
            )

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

    by_severity: Mapping[str, DeadlineRule] = field(
        default_factory=lambda: {
            Severity.NORMAL.value: DeadlineRule(Span(working_days=1), Span(working_days=10)),
            Severity.MAJOR.value: DeadlineRule(Span(working_days=1), Span(working_days=20)),
            Severity.URGENT.value: DeadlineRule(Span(hours=2), Span(hours=24), Span(hours=2)),
        }
    )
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
            raise ValidationError(
                f"未设置“{severity}”级别事件的办理期限", f"no deadline rule for {severity!r}"
            ) from None

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
        estimated = any(
            span.working_days and cal.estimated_between(reported_at, due)
            for span, due in ((r.accept, accept), (r.close, close))
        )
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


def as_utc(moment: datetime | None, what: str = "时间") -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # a wall clock in Beijing time
        moment = moment.replace(tzinfo=LOCAL_TZ)
    return moment.astimezone(UTC)


def moment_or_now(now: datetime | None) -> datetime:
    return as_utc(now) or clock.now()


def running_deadline(
    status: str | IncidentStatus, accept_due_at: datetime | None, close_due_at: datetime | None
) -> tuple[str | None, datetime | None]:
    """The deadline that runs in ``status``: ``("accept", accept_due_at)`` while 上报,
    ``("close", close_due_at)`` while 受理/交办/处置中, ``(None, None)`` once 办结 (the review
    has no deadline here) and for closed cases. The one rule for "overdue" everywhere."""
    st = IncidentStatus(status)
    if st is S.REPORTED:
        return "accept", accept_due_at
    if st in (S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS):
        return "close", close_due_at
    return None, None


def is_overdue(
    status: str | IncidentStatus, accept_due_at: datetime | None, close_due_at: datetime | None, now: datetime
) -> bool:
    """Whether the deadline running in ``status`` has passed at ``now`` (see :func:`running_deadline`)."""
    _, due = running_deadline(status, accept_due_at, close_due_at)
    due = as_utc(due)
    return due is not None and moment_or_now(now) > due


def deadline_status(
    incident: Incident, *, now: datetime | None = None, policy: DeadlinePolicy = DEFAULT_POLICY
) -> DeadlineStatus:
    """The current deadline of ``incident`` at ``now`` (default: the clock), overdue or due soon."""
    now = moment_or_now(now)
    kind, due = running_deadline(incident.status, incident.accept_due_at, incident.close_due_at)
    if kind is None:
        return DeadlineStatus(None, None, False, False)
    if due is None:
        return DeadlineStatus(kind, None, False, False)
    due = as_utc(due)
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
            return {
                "accept_due_at": local_iso(d.accept_due_at),
                "close_due_at": local_iso(d.close_due_at),
                "estimated": d.estimated,
            }

        return {"id": self.incident_id, "code": self.code, "before": side(self.before), "after": side(self.after)}

    def text(self) -> str:
        """``SJ-2026-016：办结期限 2027-01-04 23:59（估算）→ 2027-01-05 23:59``."""

        def when(moment: datetime, estimated: bool) -> str:
            return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") + (ESTIMATED_MARK if estimated else "")

        parts = []
        for what, a, b in (
            ("受理", self.before.accept_due_at, self.after.accept_due_at),
            ("办结", self.before.close_due_at, self.after.close_due_at),
        ):
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
    require(session.info.get("actor"), "incident.handle")
    cal = policy.calendar
    flagged: ColumnElement[bool] = Incident.deadline_estimated.is_(True)
    since = cal.revisable_from()
    if since is not None:
        start = datetime.combine(since, datetime.min.time(), tzinfo=LOCAL_TZ).astimezone(UTC)
        flagged = or_(flagged, Incident.accept_due_at >= start, Incident.close_due_at >= start)
    query = (
        select(Incident)
        .where(
            Incident.status.in_([st.value for st in OPEN_STATES]),
            Incident.accept_due_at.is_not(None),
            Incident.close_due_at.is_not(None),
            flagged,
        )
        .order_by(Incident.id)
    )
    changes: list[DeadlineChange] = []
    extensions: dict[int, list[int]] = {}
    approved = select(DeadlineExtension.incident_id, DeadlineExtension.days).where(
        DeadlineExtension.status == "approved"
    )
    for incident_id, days in session.execute(approved):
        extensions.setdefault(incident_id, []).append(int(days))
    for inc in session.scalars(query):
        reported, accept, close = (as_utc(t) for t in (inc.reported_at, inc.accept_due_at, inc.close_due_at))
        if reported is None or accept is None or close is None:
            continue
        before = Deadlines(accept, close, bool(inc.deadline_estimated))
        if not before.estimated and not any(
            cal.revisable_between(reported, due) for due in (before.accept_due_at, before.close_due_at)
        ):
            continue
        try:
            after = policy.compute(inc.category, inc.severity, reported)
        except ValidationError:  # no rule for this kind of case: its deadlines were not ours
            continue
        extended = sum(extensions.get(inc.id, ()))
        if extended:  # approved 延期 (issue 17) are part of the close deadline: counted again too
            close_after = cal.add_working_days(after.close_due_at, extended)
            after = Deadlines(
                after.accept_due_at,
                close_after,
                after.estimated or cal.estimated_between(after.close_due_at, close_after),
            )
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


def local_iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(LOCAL_TZ).isoformat()

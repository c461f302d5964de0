"""The 待办 inbox of one account (session-bound): what waits for it, from the store as it is now.

:func:`inbox` gathers, for one active account:

* cases waiting for its action — the next step of each open case of its grids
  (:data:`gis.inbox.core.NEXT_STEP`), when the step waits on its grid (:func:`gis.inbox.core.waiting_grid`)
  and the account may do it (:func:`gis.incidents.workflow.can_move`, the 事件处置 page's check);
  pending 延期 requests its grid decides; for a department account (成员单位) its unanswered
  协办 sub-tasks and the 移交/移送 records still missing a 回执 or a 处理结果;
* cases of its grids overdue or due within one working day that wait on someone else
  (:func:`gis.incidents.deadlines.deadline_status`, the rule of ``incident list --due-soon``), for
  staff, administrators and leaders, to follow up or 督办;
* the year's evaluations (自评 of its grid, 上级评价 of the grids directly below) not submitted yet
  (:mod:`gis.assessment.evaluations`);
* the current patrol slot (this week, this month…) its person has not patrolled yet, from
  :func:`gis.patrol.service.patrol_report` (the figures of ``gis patrol-report``).

The account's grids are its data scope (:func:`gis.store.scope.scope_of`). Nothing is stored: an
item is gone as soon as the work is done. :func:`count_for` is the number for the sidebar.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis import clock
from gis.assessment.evaluations import KINDS as EVALUATION_KINDS
from gis.assessment.evaluations import latest
from gis.auth import PERMISSIONS, Actor
from gis.errors import NotFoundError, PermissionDenied
from gis.inbox.core import (
    CaseRow,
    Item,
    action_of,
    case_action_item,
    case_deadline_item,
    cotask_item,
    evaluation_item,
    extension_item,
    patrol_item,
    report_item,
    sort_items,
    transfer_item,
    waiting_grid,
)
from gis.incidents.deadlines import DEFAULT_POLICY, DeadlinePolicy, as_utc, deadline_status
from gis.incidents.states import ACTIONS, OPEN_STATES
from gis.incidents.workflow import REVIEW_ACTIONS, can_move, check_scope, resolved_by
from gis.model import LOCAL_TZ, IncidentStatus, UserRole
from gis.patrol.rules import Period, rule_for, slot_of
from gis.patrol.service import patrol_report
from gis.reports.editions import due_reports
from gis.store.schema import (
    CoTask,
    DeadlineExtension,
    Grid,
    GridRoleAssignment,
    Incident,
    Person,
    TransferRecord,
    User,
)
from gis.store.scope import Scope, scope_of
from gis.store.tree import GridTree

__all__ = ["Inbox", "count_for", "inbox"]

FOLLOW_UP_ROLES = frozenset({UserRole.STAFF, UserRole.ADMIN, UserRole.LEADER})
"""Roles told about the overdue and due-soon cases of their grids that wait on someone else."""


@dataclass(frozen=True)
class Inbox:
    """The items of one account at ``now``, sorted (:func:`gis.inbox.core.sort_items`)."""

    username: str
    display_name: str
    now: datetime
    items: list[Item]

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def overdue(self) -> int:
        return sum(i.overdue for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.username,
            "display_name": self.display_name,
            "now": self.now.astimezone(LOCAL_TZ).isoformat(),
            "count": self.count,
            "overdue": self.overdue,
            "items": [i.to_dict() for i in self.items],
        }

    def text(self) -> str:
        head = f"{self.display_name or self.username} 的待办：共 {self.count} 项" + (
            f"，其中已超期 {self.overdue} 项" if self.overdue else ""
        )
        if not self.items:
            return head + "\n（没有待办事项）"
        return "\n".join([head, *(f"  {n}. {i.text()}" for n, i in enumerate(self.items, 1))])


# ---------------------------------------------------------------------------------------------
# The account
# ---------------------------------------------------------------------------------------------


def _account(session: Session, user: str | Actor) -> tuple[Actor, User]:
    name = (user.username if isinstance(user, Actor) else str(user)).strip()
    row = session.scalar(select(User).where(User.username == name))
    if row is None or not row.active:
        raise NotFoundError(f"用户“{name}”不存在或已停用", f"no active user {name!r}")
    viewer: Actor | None = session.info.get("actor")
    if viewer is not None and not viewer.installer and viewer.username != row.username:
        if viewer.role is not UserRole.ADMIN:
            raise PermissionDenied("只能查看本人的待办", f"{viewer.username} may not read the inbox of {row.username}")
    return Actor(row.username, UserRole(row.role), row.display_name, row.id), row


class _Grids:
    """The grid tree, names and levels, and the case handlers bound to each grid (read once)."""

    def __init__(self, session: Session) -> None:
        self.tree = GridTree.load(session, include_deleted=True)
        rows = session.execute(select(Grid.id, Grid.name, Grid.level)).all()
        self.name = {gid: name for gid, name, _ in rows}
        self.level = {gid: level for gid, _, level in rows}
        roles = [r.value for r in PERMISSIONS["incident.handle"]]
        self.handlers: dict[int, set[str]] = {}
        for username, grid_id in session.execute(
            select(User.username, User.grid_id).where(User.active.is_(True), User.role.in_(roles))
        ):
            if grid_id is not None:
                self.handlers.setdefault(grid_id, set()).add(username)

    def line(self, grid_id: int | None) -> tuple[int, ...]:
        return tuple(self.tree.line(grid_id) or ([grid_id] if grid_id is not None else []))

    def waits_on(self, grid_id: int | None) -> str:
        return "未绑定网格的管理员" if grid_id is None else f"“{self.name.get(grid_id, grid_id)}”"


def _case_row(inc: Incident, grids: _Grids, now: datetime, policy: DeadlinePolicy) -> CaseRow:
    d = deadline_status(inc, now=now, policy=policy)
    status = IncidentStatus(inc.status)
    return CaseRow(
        id=inc.id,
        code=inc.code,
        title=inc.title,
        status=status,
        grid_id=inc.grid_id,
        grid_name=grids.name.get(inc.grid_id, "") if inc.grid_id is not None else "",
        line=grids.line(inc.grid_id),
        due_at=d.due_at,
        overdue=d.overdue,
        due_soon=d.due_soon,
        deadline_label=d.label,
        resolver=resolved_by(inc) if status is IncidentStatus.REVIEW else None,
    )


# ---------------------------------------------------------------------------------------------
# Gathering
# ---------------------------------------------------------------------------------------------


def _case_items(
    session: Session, actor: Actor, home: int | None, scope: Scope, grids: _Grids, now: datetime, policy: DeadlinePolicy
) -> list[Item]:
    query = (
        select(Incident)
        .where(Incident.status.in_([s.value for s in OPEN_STATES]))
        .options(selectinload(Incident.events))
        .order_by(Incident.id)
    )
    visible = scope.where_case(Incident.id, Incident.grid_id)
    if visible is not None:
        query = query.where(visible)
    handles = actor.can("incident.handle")
    follows = actor.role in FOLLOW_UP_ROLES
    out: list[Item] = []
    for inc in session.scalars(query):
        case = _case_row(inc, grids, now, policy)
        action = action_of(case.status)
        if action is None:
            continue
        excluded = {case.resolver} if action.code in REVIEW_ACTIONS and case.resolver else set()
        grid = waiting_grid(action, case.line, grids.level, grids.handlers, excluded=excluded)
        if handles and grid == home and can_move(session, actor, inc, action):
            out.append(case_action_item(case, action))
        elif follows and (case.overdue or case.due_soon):
            out.append(case_deadline_item(case, grids.waits_on(grid)))
    return out


def _extension_items(
    session: Session, actor: Actor, home: int | None, scope: Scope, grids: _Grids, now: datetime, policy: DeadlinePolicy
) -> list[Item]:
    if not actor.can("incident.handle"):
        return []
    query = (
        select(DeadlineExtension, Incident)
        .join(Incident, Incident.id == DeadlineExtension.incident_id)
        .where(DeadlineExtension.status == "pending")
        .order_by(DeadlineExtension.id)
    )
    visible = scope.where_case(Incident.id, Incident.grid_id)
    if visible is not None:
        query = query.where(visible)
    out = []
    decide = ACTIONS["archive"]  # decided by the upper grid (gis.incidents.cooperation.decide_extension)
    for ext, inc in session.execute(query).all():
        case = _case_row(inc, grids, now, policy)
        grid = waiting_grid(decide, case.line, grids.level, grids.handlers, excluded={ext.requested_by})
        if grid != home or ext.requested_by == actor.username:
            continue
        try:
            check_scope(session, actor, inc, "archive")
        except PermissionDenied:
            continue
        out.append(extension_item(case, ext.id, ext.days, ext.requested_by, ext.reason))
    return out


def _department_items(
    session: Session, actor: Actor, account: User, grids: _Grids, now: datetime, policy: DeadlinePolicy
) -> list[Item]:
    if actor.role is not UserRole.DEPARTMENT or account.department_id is None:
        return []
    out = []
    tasks = session.execute(
        select(CoTask, Incident)
        .join(Incident, Incident.id == CoTask.incident_id)
        .where(CoTask.department_id == account.department_id, CoTask.answered_at.is_(None))
        .order_by(CoTask.id)
    ).all()
    for task, inc in tasks:
        case = _case_row(inc, grids, now, policy)
        out.append(cotask_item(case, task.id, task.department.name, as_utc(task.due_at), now, task.request))
    transfers = session.execute(
        select(TransferRecord, Incident)
        .join(Incident, Incident.id == TransferRecord.incident_id)
        .where(TransferRecord.department_id == account.department_id, TransferRecord.outcome == "")
        .order_by(TransferRecord.id)
    ).all()
    for rec, inc in transfers:
        case = _case_row(inc, grids, now, policy)
        out.append(transfer_item(case, rec.id, rec.receiver, receipt=rec.receipt_on is None))
    return out


def _outside_transfer_items(
    session: Session, actor: Actor, home: int | None, scope: Scope, grids: _Grids, now: datetime, policy: DeadlinePolicy
) -> list[Item]:
    """Transfers to a body without an account here (no department): the grid that transferred
    records the 回执 and the result when they arrive."""
    if not actor.can("incident.cooperate") or actor.role is UserRole.DEPARTMENT:
        return []
    query = (
        select(TransferRecord, Incident)
        .join(Incident, Incident.id == TransferRecord.incident_id)
        .where(TransferRecord.department_id.is_(None), TransferRecord.outcome == "")
        .order_by(TransferRecord.id)
    )
    visible = scope.where_case(Incident.id, Incident.grid_id)
    if visible is not None:
        query = query.where(visible)
    out = []
    for rec, inc in session.execute(query).all():
        case = _case_row(inc, grids, now, policy)
        if waiting_grid(ACTIONS["transfer"], case.line, grids.level, grids.handlers) != home:
            continue
        try:
            check_scope(session, actor, inc, "transfer")
        except PermissionDenied:
            continue
        out.append(transfer_item(case, rec.id, rec.receiver, receipt=rec.receipt_on is None))
    return out


def _evaluation_items(session: Session, actor: Actor, home: int | None, grids: _Grids, now: datetime) -> list[Item]:
    if home is None or not actor.can("assessment.write"):
        return []
    year = now.astimezone(LOCAL_TZ).year
    live = {
        gid: parent for gid, parent in session.execute(select(Grid.id, Grid.parent_id).where(Grid.deleted_at.is_(None)))
    }
    if home not in live:
        return []
    forms = [(home, "self")] + [(gid, "upper") for gid, parent in sorted(live.items()) if parent == home]
    out = []
    for y in (year, year - 1):
        for gid, kind in forms:
            ev = latest(session, gid, y, kind)
            if ev is not None and ev.status == "submitted":
                continue
            if ev is None and y != year:  # an earlier year: only a draft left unsubmitted
                continue
            draft = None if ev is None else ev.edition
            name = grids.name.get(gid, str(gid))
            out.append(evaluation_item(gid, name, y, kind, draft_edition=draft, kind_label=EVALUATION_KINDS[kind]))
    return out


def _report_items(session: Session, actor: Actor, home: int | None, grids: _Grids, now: datetime) -> list[Item]:
    """The periodic reports the account's grid still owes (those its account submits)."""
    if home is None or not actor.can("report.submit") or home not in grids.name:
        return []
    return [
        report_item(
            home,
            grids.name[home],
            due["period"],
            datetime.fromisoformat(due["due_at"]) - timedelta(seconds=1),  # shown as the last day's 23:59
            overdue=due["status"] == "overdue",
        )
        for due in due_reports(session, home, now=now)
    ]


def _patrol_items(session: Session, account: User, grids: _Grids, now: datetime) -> list[Item]:
    if account.person_id is None:
        return []
    person = session.get(Person, account.person_id)
    if person is None:
        return []
    today = now.astimezone(LOCAL_TZ).date()
    posts = session.scalars(select(GridRoleAssignment).where(GridRoleAssignment.person_id == person.id)).all()
    grid_ids = sorted(
        {
            a.grid_id
            for a in posts
            if not (a.valid_from and a.valid_from > today) and not (a.valid_to and a.valid_to < today)
        }
    )
    if not grid_ids:
        return []
    scope = Scope(frozenset(grid_ids))  # the person's grids: their posts, their tracks
    week, month = slot_of("week", today), slot_of("month", today)
    period = Period(f"{week.label}+{month.label}", min(week.start, month.start), max(week.end, month.end))
    report = patrol_report(session, period, scope=scope)
    row = next((r for r in report.persons if r["person"] == person.name), None)
    if row is None or row["frequency"] is None:
        return []
    slot = slot_of(row["frequency"], today)
    if slot.label not in (week.label, month.label):  # a quarter, a year…: its own report
        report = patrol_report(session, slot, scope=scope)
        row = next((r for r in report.persons if r["person"] == person.name), None)
        if row is None or row["frequency"] is None:
            return []
    if slot.label not in row["missing_slots"]:
        return []
    rule = rule_for(row["level"], report.rules)
    per_slot = rule.per_slot if rule is not None else 1
    due = datetime.combine(slot.end, time(), LOCAL_TZ) - timedelta(seconds=1)
    names = "、".join(grids.name.get(g, str(g)) for g in grid_ids)
    return [patrol_item(person.name, row["frequency"], slot.label, per_slot, due, names)]


def inbox(
    session: Session, user: str | Actor, *, now: datetime | None = None, policy: DeadlinePolicy = DEFAULT_POLICY
) -> Inbox:
    """The 待办 of ``user`` (a user name or an :class:`~gis.auth.Actor`) at ``now`` (default: the clock).

    Parameters
    ----------
    session : Session
        An open store session (read only). Its actor, if any, must be ``user`` or an
        administrator; a session without an actor (the command line's operator) may read any.
    user : str or Actor
        The account.
    now : datetime, optional
        The moment deadlines are judged at (a naive time is Beijing time).

    Raises
    ------
    NotFoundError
        No active account of that name.
    PermissionDenied
        The session's actor is another account and not an administrator.
    """
    t = as_utc(now) or clock.now()
    actor, account = _account(session, user)
    grids = _Grids(session)
    home = account.grid_id
    scope = scope_of(session, actor)
    items: list[Item] = []
    items += _case_items(session, actor, home, scope, grids, t, policy)
    items += _extension_items(session, actor, home, scope, grids, t, policy)
    items += _department_items(session, actor, account, grids, t, policy)
    items += _outside_transfer_items(session, actor, home, scope, grids, t, policy)
    items += _evaluation_items(session, actor, home, grids, t)
    items += _report_items(session, actor, home, grids, t)
    items += _patrol_items(session, account, grids, t)
    return Inbox(account.username, account.display_name, t, sort_items(_unique(items)))


def _unique(items: Iterable[Item]) -> list[Item]:
    seen: dict[str, Item] = {}
    for item in items:
        seen.setdefault(item.key, item)
    return list(seen.values())


def count_for(session: Session, user: str | Actor, *, now: datetime | None = None) -> int:
    """The number of items in ``user``'s inbox (for the sidebar: reads rows and the period's
    tracks, builds no map)."""
    return inbox(session, user, now=now).count

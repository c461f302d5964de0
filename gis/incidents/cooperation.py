"""Joint handling of a case (issue 17): 协办 sub-tasks, 移交/移送 receipts and outcomes, 延期.

协办
    :func:`send_cotasks`: the case's grid (or an upper grid) sends an open case to one or more
    member departments (:mod:`gis.incidents.departments`), each as a sub-task with its own deadline
    in working days (the holiday calendar of :mod:`gis.incidents.workdays`). The department answers
    once (:func:`answer_cotask`: a note, optional photos). The case cannot be archived (审核通过)
    while a sub-task is unanswered (:func:`gis.incidents.workflow.move` names the department).
移交/移送
    The transfer action (转执法/移送司法) records the receiving body and the date
    (:class:`~gis.store.schema.TransferRecord`, written by :func:`gis.incidents.workflow.move`);
    :func:`record_receipt` and :func:`record_outcome` add its 回执 and its outcome later.
延期
    :func:`request_extension`: the handler (case's grid) asks for a number of working days with a
    reason while the close deadline runs; :func:`decide_extension`: the upper grid (not the one who
    asked) approves, moving the close deadline by exactly that many working days on the holiday
    calendar, or refuses, leaving it. An approved extension is part of the deadline: a case closed
    within it is on time in the assessment, and recounting deadlines keeps it
    (:func:`gis.incidents.deadlines.recompute_open_deadlines`).

Every step is an :class:`~gis.store.schema.IncidentEvent` of the case (its history, with the
state unchanged) and every row goes through the audited session (修改记录).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gis import clock
from gis.auth import Actor, require
from gis.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError, checked_text
from gis.incidents.attachments import AttachmentStore, attach, check_uploads
from gis.incidents.deadlines import DEFAULT_POLICY, DeadlinePolicy, as_utc
from gis.incidents.departments import department_of, get_department
from gis.incidents.states import MAX_TEXT, OPEN_STATES, IllegalTransition
from gis.incidents.workflow import check_scope, get_incident, visible_incident
from gis.model import LOCAL_TZ, IncidentStatus, UserRole
from gis.store.schema import CoTask, DeadlineExtension, Department, Incident, IncidentEvent, TransferRecord

__all__ = [
    "CLOSE_RUNNING",
    "EXTENSION_STATES",
    "MAX_EXTENSION_DAYS",
    "CoTaskInfo",
    "ExtensionInfo",
    "TransferInfo",
    "answer_cotask",
    "cotasks_of",
    "decide_extension",
    "extensions_of",
    "record_outcome",
    "record_receipt",
    "request_extension",
    "send_cotasks",
    "transfers_of",
]

EXTENSION_STATES = {"pending": "待审批", "approved": "已批准", "refused": "未批准"}
"""States of a 延期 request: code → Chinese name."""

MAX_EXTENSION_DAYS = 60
"""The most working days one request may ask for."""

MAX_COTASK_DAYS = 60
"""The longest 协办 deadline, in working days."""

CLOSE_RUNNING = frozenset({IncidentStatus.ACCEPTED, IncidentStatus.ASSIGNED, IncidentStatus.IN_PROGRESS})
"""States in which the close deadline runs (the ones a 延期 can be asked in)."""


def _local(moment: datetime | None) -> str:
    utc = as_utc(moment)
    return "" if utc is None else utc.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class CoTaskInfo:
    """One 协办 sub-task for display."""

    id: int
    incident_id: int
    department_id: int
    department: str
    request: str
    due_at: datetime | None
    due_text: str
    created_at: datetime
    created_by: str
    answered: bool
    answer: str
    answered_at: datetime | None
    answered_by: str
    overdue: bool

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("due_at", "created_at", "answered_at"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out


@dataclass(frozen=True)
class TransferInfo:
    """One 移交/移送 record for display."""

    id: int
    incident_id: int
    receiver: str
    department_id: int | None
    sent_on: date
    sent_by: str
    receipt_on: date | None
    receipt_note: str
    outcome: str
    outcome_on: date | None

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("sent_on", "receipt_on", "outcome_on"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out


@dataclass(frozen=True)
class ExtensionInfo:
    """One 延期 request for display."""

    id: int
    incident_id: int
    days: int
    reason: str
    status: str
    status_label: str
    requested_at: datetime
    requested_by: str
    decided_at: datetime | None
    decided_by: str
    decision_note: str
    old_due_text: str
    new_due_text: str

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("requested_at", "decided_at"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _actor(session: Session, permission: str) -> Actor:
    return require(session.info.get("actor"), permission)


def _event(session: Session, incident: Incident, action: str, actor: Actor, when: datetime, note: str) -> IncidentEvent:
    """A history step that keeps the case's state (added by id, so the case row is not touched)."""
    event = IncidentEvent(
        incident_id=incident.id,
        action=action,
        from_status=incident.status,
        to_status=incident.status,
        at=when,
        by=actor.username,
        note=note,
    )
    session.add(event)
    return event


def _flush(session: Session, what: str) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError(f"{what}已被他人修改，请刷新后重试", f"stale row: {exc}") from exc


def _days(value: Any, what: str, most: int) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{what}应为整数个工作日", f"{what}: not an integer: {value!r}") from None
    if days < 1 or days > most:
        raise ValidationError(f"{what}应在 1 到 {most} 个工作日之间", f"{what} out of range: {days}")
    return days


def _open_case(incident: Incident, what: str) -> IncidentStatus:
    st = IncidentStatus(incident.status)
    if st not in OPEN_STATES:
        raise IllegalTransition(
            f"事件 {incident.code} 当前状态为“{st.label}”，已经结束，不能{what}",
            f"incident {incident.id} is {st.value}; {what} refused",
        )
    return st


def _as_date(value: date | str | None, what: str) -> date:
    if value is None:
        return clock.now().astimezone(LOCAL_TZ).date()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(f"{what}“{value}”不是有效日期（应为 YYYY-MM-DD）", f"bad date {value!r}") from None


# ---------------------------------------------------------------------------------------------
# 协办
# ---------------------------------------------------------------------------------------------


def send_cotasks(
    session: Session,
    incident_id: int | str,
    departments: Iterable[int | str],
    *,
    days: int,
    request: str = "",
    at: datetime | None = None,
    policy: DeadlinePolicy = DEFAULT_POLICY,
) -> list[CoTask]:
    """Send an open case to member departments for 协办, each as a sub-task due ``days`` working
    days from now on the holiday calendar.

    The actor needs ``incident.handle`` and the case's grid (or one above it). A department that
    already has an unanswered sub-task of this case is refused (one at a time per department).

    Raises
    ------
    ValidationError
        No department, or a bad number of days.
    IllegalTransition
        The case is closed.
    PermissionDenied, NotFoundError
        As for :func:`gis.incidents.workflow.move`.
    """
    actor = _actor(session, "incident.handle")
    incident = get_incident(session, incident_id)
    check_scope(session, actor, incident, "escalate")  # own grid or above
    _open_case(incident, "发起协办")
    n = _days(days, "协办期限", MAX_COTASK_DAYS)
    text = checked_text(request, "协办要求", max_len=MAX_TEXT)
    depts: list[Department] = []
    for d in departments:
        dept = get_department(session, d)
        if not dept.active:
            raise ValidationError(f"成员单位“{dept.name}”已停用，不能发起协办", f"department {dept.id} inactive")
        if dept not in depts:
            depts.append(dept)
    if not depts:
        raise ValidationError("请至少选择一个协办单位", "no department given")
    waiting = {
        t.department_id
        for t in session.scalars(select(CoTask).where(CoTask.incident_id == incident.id, CoTask.answered_at.is_(None)))
    }
    for dept in depts:
        if dept.id in waiting:
            raise ValidationError(
                f"“{dept.name}”已有未答复的协办任务，请等待其答复", f"department {dept.id} has an open co-task"
            )
    when = as_utc(at) or clock.now()
    due = policy.calendar.add_working_days(when, n)
    tasks = []
    for dept in depts:
        task = CoTask(
            incident_id=incident.id,
            department_id=dept.id,
            request=text,
            due_at=due,
            created_at=when,
            created_by=actor.username,
        )
        session.add(task)
        tasks.append(task)
    names = "、".join(d.name for d in depts)
    note = f"协办单位：{names}；协办期限：{_local(due)}（{n} 个工作日）" + (f"；{text}" if text else "")
    _event(session, incident, "cotask", actor, when, note)
    _flush(session, f"事件 {incident.code}")
    return tasks


def answer_cotask(
    session: Session,
    task_id: int,
    answer: str,
    *,
    attachments: Sequence[Any] | None = None,
    at: datetime | None = None,
    files: AttachmentStore | None = None,
) -> CoTask:
    """The department answers its 协办 sub-task (a note, optional photos), once.

    A department account answers the sub-tasks of its own department; staff and administrators
    with the case's grid in scope may record an answer given on paper (代录).
    """
    actor = _actor(session, "incident.cooperate")
    task = session.get(CoTask, task_id)
    if task is None:
        raise NotFoundError(f"没有编号为 {task_id} 的协办任务", f"no co-task {task_id}")
    incident = get_incident(session, task.incident_id)
    if actor.role is UserRole.DEPARTMENT:
        if department_of(session, actor) != task.department_id:
            raise PermissionDenied(
                f"这项协办任务属于“{task.department.name}”，您的账号不能答复",
                f"{actor.username} is not of department {task.department_id}",
            )
    else:
        check_scope(session, actor, incident, "escalate")
    if task.answered_at is not None:
        raise ValidationError(
            f"“{task.department.name}”已于 {_local(task.answered_at)} 答复过这项协办任务", f"co-task {task.id} answered"
        )
    text = checked_text(answer, "答复内容", required=True, max_len=MAX_TEXT)
    checked = check_uploads(attachments)
    when = as_utc(at) or clock.now()
    task.answer = text
    task.answered_at = when
    task.answered_by = actor.username
    names = [p.name for p in checked]
    note = f"协办单位：{task.department.name}；{text}" + ("；附件：" + "、".join(names) if names else "")
    event = _event(session, incident, "cotask_answer", actor, when, note)
    _flush(session, "协办任务")
    task.answer_event_id = event.id
    _flush(session, "协办任务")
    attach(session, checked, incident_id=incident.id, event_id=event.id, by=actor.username, at=when, files=files)
    return task


def cotasks_of(session: Session, incident_id: int, *, now: datetime | None = None) -> list[CoTaskInfo]:
    """The 协办 sub-tasks of a case the actor may see, oldest first."""
    incident = visible_incident(session, incident_id)
    t = as_utc(now) or clock.now()
    out = []
    for task in session.scalars(select(CoTask).where(CoTask.incident_id == incident.id).order_by(CoTask.id)):
        due = as_utc(task.due_at)
        answered = task.answered_at is not None
        done = as_utc(task.answered_at) if answered else t
        out.append(
            CoTaskInfo(
                id=task.id,
                incident_id=task.incident_id,
                department_id=task.department_id,
                department=task.department.name,
                request=task.request,
                due_at=due,
                due_text=_local(due),
                created_at=task.created_at,
                created_by=task.created_by,
                answered=answered,
                answer=task.answer,
                answered_at=task.answered_at,
                answered_by=task.answered_by,
                overdue=bool(due is not None and done is not None and done > due),
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# 移交/移送
# ---------------------------------------------------------------------------------------------


def _transfer(session: Session, transfer_id: int, actor: Actor) -> tuple[TransferRecord, Incident]:
    rec = session.get(TransferRecord, transfer_id)
    if rec is None:
        raise NotFoundError(f"没有编号为 {transfer_id} 的移送记录", f"no transfer record {transfer_id}")
    incident = get_incident(session, rec.incident_id)
    if actor.role is UserRole.DEPARTMENT:
        if rec.department_id is None or department_of(session, actor) != rec.department_id:
            raise PermissionDenied(
                f"这份移送记录的接收机关是“{rec.receiver}”，您的账号不能登记",
                f"{actor.username} is not of the receiving department",
            )
    else:
        check_scope(session, actor, incident, "transfer")
    return rec, incident


def record_receipt(
    session: Session, transfer_id: int, *, received_on: date | str | None = None, note: str = ""
) -> TransferRecord:
    """Record the receiving body's 回执 (the date it acknowledged the case, and a note)."""
    actor = _actor(session, "incident.cooperate")
    rec, incident = _transfer(session, transfer_id, actor)
    day = _as_date(received_on, "回执日期")
    if day < rec.sent_on:
        raise ValidationError(
            f"回执日期 {day} 早于移送日期 {rec.sent_on}", f"receipt {day} before transfer {rec.sent_on}"
        )
    rec.receipt_on = day
    rec.receipt_note = checked_text(note, "回执说明", max_len=MAX_TEXT)
    text = f"接收机关：{rec.receiver}；回执日期：{day.isoformat()}" + (
        f"；{rec.receipt_note}" if rec.receipt_note else ""
    )
    _event(session, incident, "transfer_receipt", actor, clock.now(), text)
    _flush(session, "移送记录")
    return rec


def record_outcome(
    session: Session, transfer_id: int, outcome: str, *, decided_on: date | str | None = None
) -> TransferRecord:
    """Record what the receiving body did with the case (处理结果) and when."""
    actor = _actor(session, "incident.cooperate")
    rec, incident = _transfer(session, transfer_id, actor)
    day = _as_date(decided_on, "结果日期")
    if day < rec.sent_on:
        raise ValidationError(
            f"结果日期 {day} 早于移送日期 {rec.sent_on}", f"outcome {day} before transfer {rec.sent_on}"
        )
    rec.outcome = checked_text(outcome, "处理结果", required=True, max_len=MAX_TEXT)
    rec.outcome_on = day
    if rec.receipt_on is None:
        rec.receipt_on = day  # a result implies the case was received
    text = f"接收机关：{rec.receiver}；结果日期：{day.isoformat()}；{rec.outcome}"
    _event(session, incident, "transfer_outcome", actor, clock.now(), text)
    _flush(session, "移送记录")
    return rec


def transfers_of(session: Session, incident_id: int) -> list[TransferInfo]:
    """The 移交/移送 records of a case the actor may see, oldest first."""
    incident = visible_incident(session, incident_id)
    rows = session.scalars(
        select(TransferRecord).where(TransferRecord.incident_id == incident.id).order_by(TransferRecord.id)
    )
    return [
        TransferInfo(
            id=r.id,
            incident_id=r.incident_id,
            receiver=r.receiver,
            department_id=r.department_id,
            sent_on=r.sent_on,
            sent_by=r.sent_by,
            receipt_on=r.receipt_on,
            receipt_note=r.receipt_note,
            outcome=r.outcome,
            outcome_on=r.outcome_on,
        )
        for r in rows
    ]


# ---------------------------------------------------------------------------------------------
# 延期
# ---------------------------------------------------------------------------------------------


def request_extension(
    session: Session, incident_id: int | str, days: int, reason: str, *, at: datetime | None = None
) -> DeadlineExtension:
    """The handler asks for ``days`` more working days to close the case, with a reason.

    Only while the close deadline runs (受理, 交办, 处置中), by the case's grid (or above), one
    pending request at a time.
    """
    actor = _actor(session, "incident.handle")
    incident = get_incident(session, incident_id)
    check_scope(session, actor, incident, "resolve")
    st = IncidentStatus(incident.status)
    if st not in CLOSE_RUNNING:
        raise IllegalTransition(
            f"事件当前状态为“{st.label}”，办结期限不在计算中，不能申请延期",
            f"incident {incident.id} is {st.value}; no close deadline runs",
        )
    n = _days(days, "延期天数", MAX_EXTENSION_DAYS)
    text = checked_text(reason, "延期理由", required=True, max_len=MAX_TEXT)
    waiting = session.scalar(
        select(DeadlineExtension.id).where(
            DeadlineExtension.incident_id == incident.id, DeadlineExtension.status == "pending"
        )
    )
    if waiting is not None:
        raise ValidationError("该事件已有待审批的延期申请，请等待上级审批", f"extension {waiting} pending")
    when = as_utc(at) or clock.now()
    ext = DeadlineExtension(
        incident_id=incident.id,
        days=n,
        reason=text,
        status="pending",
        requested_at=when,
        requested_by=actor.username,
        old_due_at=incident.close_due_at,
    )
    session.add(ext)
    _event(session, incident, "extension_request", actor, when, f"申请延期 {n} 个工作日；理由：{text}")
    _flush(session, f"事件 {incident.code}")
    return ext


def decide_extension(
    session: Session,
    extension_id: int,
    *,
    approve: bool,
    note: str = "",
    at: datetime | None = None,
    policy: DeadlinePolicy = DEFAULT_POLICY,
) -> DeadlineExtension:
    """The upper grid approves or refuses a pending 延期 request.

    Approval moves the case's close deadline by exactly the requested number of working days on
    the holiday calendar (``policy.calendar``); refusal leaves it. Not by whoever asked.
    """
    actor = _actor(session, "incident.handle")
    ext = session.get(DeadlineExtension, extension_id)
    if ext is None:
        raise NotFoundError(f"没有编号为 {extension_id} 的延期申请", f"no extension {extension_id}")
    incident = get_incident(session, ext.incident_id)
    if ext.status != "pending":
        raise ValidationError(
            f"这项延期申请已经审批（{EXTENSION_STATES.get(ext.status, ext.status)}）", f"extension {ext.id} decided"
        )
    check_scope(session, actor, incident, "archive")  # the upper grid
    if ext.requested_by == actor.username:
        raise PermissionDenied("不能审批本人提出的延期申请，请由上级网格的其他人员审批", "own extension request")
    text = checked_text(note, "审批意见", required=not approve, max_len=MAX_TEXT)
    when = as_utc(at) or clock.now()
    ext.decided_at = when
    ext.decided_by = actor.username
    ext.decision_note = text
    if approve:
        st = IncidentStatus(incident.status)
        if st not in CLOSE_RUNNING or incident.close_due_at is None:
            raise IllegalTransition(
                f"事件当前状态为“{st.label}”，办结期限不在计算中，无需延期",
                f"incident {incident.id} is {st.value}; nothing to extend",
            )
        old = as_utc(incident.close_due_at)
        assert old is not None
        new = policy.calendar.add_working_days(old, ext.days)
        ext.status = "approved"
        ext.old_due_at, ext.new_due_at = old, new
        incident.close_due_at = new
        if policy.calendar.estimated_between(old, new):
            incident.deadline_estimated = True
        msg = f"批准延期 {ext.days} 个工作日：办结期限 {_local(old)} → {_local(new)}"
    else:
        ext.status = "refused"
        msg = f"不批准延期 {ext.days} 个工作日，办结期限仍为 {_local(incident.close_due_at)}"
    action = "extension_approve" if approve else "extension_refuse"
    _event(session, incident, action, actor, when, msg + (f"；{text}" if text else ""))
    _flush(session, f"事件 {incident.code}")
    return ext


def extensions_of(session: Session, incident_id: int) -> list[ExtensionInfo]:
    """The 延期 requests of a case the actor may see, oldest first."""
    incident = visible_incident(session, incident_id)
    rows = session.scalars(
        select(DeadlineExtension).where(DeadlineExtension.incident_id == incident.id).order_by(DeadlineExtension.id)
    )
    return [
        ExtensionInfo(
            id=e.id,
            incident_id=e.incident_id,
            days=e.days,
            reason=e.reason,
            status=e.status,
            status_label=EXTENSION_STATES.get(e.status, e.status),
            requested_at=e.requested_at,
            requested_by=e.requested_by,
            decided_at=e.decided_at,
            decided_by=e.decided_by,
            decision_note=e.decision_note,
            old_due_text=_local(e.old_due_at),
            new_due_text=_local(e.new_due_at),
        )
        for e in rows
    ]

"""The incident workflow (事件处置, the session-bound service): who may move a case, and moving it.

:func:`move` runs one action of the state machine (:mod:`gis.incidents.states`): the session's
actor must hold ``incident.handle`` and the grid scope of the action (see :func:`can_move`); every
transition is one :class:`~gis.store.schema.IncidentEvent` (who = the actor's user name, when,
from, to, note naming the photos) with its photos as :class:`~gis.store.schema.Attachment` rows
(files checked and stored by :mod:`gis.incidents.attachments`) and, through the audited session,
audit entries with the incident row before and after. Optimistic locking: ``expected_version``
and the incident's ``version`` column (:class:`~gis.errors.ConflictError`).

Roles
    Reporters (巡查员, 工作人员, 管理员: ``incident.report``) report
    (:mod:`gis.incidents.reporting`); grid staff (``incident.handle``) accept and handle the
    cases of their grid and the grids below it; upper grids (a grid above the case's grid, or a
    township/county grid for a case in its own area) assign, urge, review and transfer; leaders
    read everything and move nothing; admins (and staff accounts without a home grid) may do
    every transition.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gis import clock
from gis.auth import Actor, require
from gis.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError, checked_text
from gis.incidents.attachments import AttachmentStore, attach, check_uploads
from gis.incidents.deadlines import as_utc
from gis.incidents.states import ACTION_ALIASES, ACTIONS, MAX_TEXT, Action, IllegalTransition, S, resolve_action
from gis.model import LOCAL_TZ, GridLevel, IncidentStatus, UserRole
from gis.store.schema import CoTask, Department, Grid, Incident, IncidentEvent, Person, TransferRecord
from gis.store.scope import grid_line, home_grid, scope_of

__all__ = [
    "REVIEW_ACTIONS",
    "can_move",
    "check_scope",
    "get_incident",
    "move",
    "outstanding_cotasks",
    "resolved_by",
    "visible_incident",
]


def _text(value: Any, what: str, *, required: bool = False, max_len: int = MAX_TEXT) -> str:
    return checked_text(value, what, required=required, max_len=max_len)


def visible_incident(session: Session, incident_id: int | str) -> Incident:
    """The incident ``incident_id`` if the session's actor may see it (:mod:`gis.store.scope`);
    NotFoundError otherwise, with the same message as for a case that does not exist."""
    inc = get_incident(session, incident_id)
    if not scope_of(session).covers_case(inc.id, inc.grid_id):
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
    a = action if isinstance(action, Action) else ACTIONS.get(ACTION_ALIASES.get(action, action))
    if a is None or actor is None or not actor.can("incident.handle"):
        return False
    return (
        IncidentStatus(incident.status) in a.sources
        and _in_scope(session, actor, a, incident.grid_id)
        and not _own_resolution(actor, a, incident)
    )


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


def check_scope(session: Session, actor: Actor, incident: Incident, action: str) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` may run ``action`` (a code of
    :data:`~gis.incidents.states.ACTIONS`, whose grid scope is used) on ``incident``."""
    _check_scope(session, actor, ACTIONS[action], incident)


def outstanding_cotasks(session: Session, incident_id: int) -> list[CoTask]:
    """The 协办 sub-tasks of a case not answered yet, by id."""
    return list(
        session.scalars(
            select(CoTask).where(CoTask.incident_id == incident_id, CoTask.answered_at.is_(None)).order_by(CoTask.id)
        )
    )


def _check_cotasks_answered(session: Session, incident: Incident, action: Action) -> None:
    open_tasks = outstanding_cotasks(session, incident.id)
    if not open_tasks:
        return
    names = "、".join(dict.fromkeys(f"“{t.department.name}”" for t in open_tasks))
    raise IllegalTransition(
        f"事件 {incident.code} 的协办单位{names}尚未答复协办任务，不能“{action.label}”；请等待答复后再审核",
        f"incident {incident.id} has unanswered co-tasks {[t.id for t in open_tasks]}",
    )


def _transfer_record(
    session: Session, incident: Incident, event: IncidentEvent, receiver: str, department_id: int | None, when: datetime
) -> None:
    dept = None
    if department_id is not None:
        dept = session.get(Department, department_id)
        if dept is None:
            raise NotFoundError(f"没有编号为 {department_id} 的成员单位", f"no department {department_id}")
    name = receiver or (dept.name if dept is not None else "")
    session.add(
        TransferRecord(
            incident_id=incident.id,
            event_id=event.id,
            receiver=name[:200],
            department_id=dept.id if dept is not None else None,
            sent_on=when.astimezone(LOCAL_TZ).date(),
            sent_by=event.by,
        )
    )
    session.flush()


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
    receiver: str = "",
    receiver_department_id: int | None = None,
) -> Incident:
    """Run one workflow action on an incident.

    Parameters
    ----------
    session : Session
        An open store session; its actor is who acts.
    incident_id : int or str
        Id or code.
    action : str
        An action code, Chinese name or alias, or a target state (see :func:`gis.incidents.states.resolve_action`).
    note : str
        The note; required for reject (reason), resolve (result), return, escalate, transfer.
    to_grid_id, to_person_id : int, optional
        For ``assign``: the grid (the case's grid or one below the actor's grid) and/or the
        person the case goes to; for ``escalate``: an upper grid (default: the parent grid).
    expected_version : int, optional
        The ``version`` the caller read; a different current version raises ConflictError.
    attachments : sequence, optional
        Photos, as for :func:`gis.incidents.reporting.report_incident`: checked first, stored by hash, recorded as
        :class:`~gis.store.schema.Attachment` rows of this transition and named in its note.
    at : datetime, optional
        Time of the action (default now; a naive time is Beijing time).
    files : AttachmentStore, optional
        Where photos go (default ``<RIVERGRID_DATA_DIR>/attachments``).
    receiver, receiver_department_id : optional
        For ``transfer`` (转执法/移送司法): the receiving body, by name and/or as a member
        department; recorded with the date as a :class:`~gis.store.schema.TransferRecord` (its
        回执 and outcome are added later, :mod:`gis.incidents.cooperation`). Without either, the
        note names the receiver.

    Raises
    ------
    IllegalTransition
        The action is not allowed in the current state, or a required note is missing, or (for
        审核通过/归档) a 协办 sub-task is not answered yet (the message names the department).
    PermissionDenied
        The actor lacks ``incident.handle`` or the case is outside the actor's grid scope.
    ConflictError
        The incident was changed since ``expected_version`` (or concurrently).
    NotFoundError
        No such incident, grid or person.
    """
    actor = require(session.info.get("actor"), "incident.handle")
    incident = get_incident(session, incident_id)
    if expected_version is not None and incident.version != expected_version:
        raise ConflictError(
            f"事件 {incident.code} 已被他人修改（版本 {incident.version}，您看到的是版本 {expected_version}），请刷新"
            "后重试"
            "",
            f"incident {incident.id} is at version {incident.version}, expected {expected_version}",
        )
    st = IncidentStatus(incident.status)
    act = resolve_action(action, st)
    _check_scope(session, actor, act, incident)
    _check_separation(actor, act, incident)
    text = _text(note, "说明")
    if act.note_required and not text:
        raise IllegalTransition(f"“{act.label}”必须填写{act.note_required}", f"{act.code} requires a note")
    if act.code == "archive":
        _check_cotasks_answered(session, incident, act)
    recipient = _text(receiver, "接收机关", max_len=200)
    if (recipient or receiver_department_id is not None) and act.code != "transfer":
        raise ValidationError(f"“{act.label}”不能指定接收机关", f"{act.code} takes no receiver")
    checked = check_uploads(attachments)
    when = as_utc(at) or clock.now()
    extra: list[str] = []

    if act.code == "assign":
        if to_grid_id is None and to_person_id is None:
            raise ValidationError("交办须指定网格或责任人", "assign needs to_grid_id or to_person_id")
        if to_grid_id is not None:
            grid = _live_grid(session, to_grid_id)
            home = home_grid(session, actor) if actor.role is not UserRole.ADMIN else None
            if home is not None and home not in grid_line(session, grid.id):
                raise PermissionDenied(
                    f"只能交办给本网格或下级网格，“{grid.name}”不在您的网格范围内",
                    f"grid {grid.id} outside {actor.username}'s grids",
                )
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
                raise IllegalTransition(
                    "事件所在网格已是最高一级（或未指定网格），无法上报上级", "no upper grid to escalate to"
                )
            to_grid_id = line[1]
        elif to_grid_id not in line[1:]:
            raise ValidationError(
                "上报上级只能报给事件所在网格的上级网格", f"grid {to_grid_id} is not above the case's grid"
            )
        grid = _live_grid(session, to_grid_id)
        incident.grid_id = grid.id
        extra.append(f"上报至：{grid.name}")
    elif to_grid_id is not None or to_person_id is not None:
        raise ValidationError(f"“{act.label}”不能指定网格或责任人", f"{act.code} takes no grid or person")
    if act.code == "transfer" and (recipient or receiver_department_id is not None):
        dept = session.get(Department, receiver_department_id) if receiver_department_id is not None else None
        extra.append(f"接收机关：{recipient or (dept.name if dept is not None else '')}")

    target = act.target or st
    if target in (S.ARCHIVED, S.REJECTED, S.TRANSFERRED):
        incident.closed_at = when
    incident.status = target.value
    names = [p.name for p in checked]
    full = "；".join([*extra, *([text] if text else []), *(["附件：" + "、".join(names)] if names else [])])
    event = IncidentEvent(
        incident=incident,
        action=act.code,
        from_status=st.value,
        to_status=target.value,
        at=when,
        by=actor.username,
        note=full,
    )
    session.add(event)
    code = incident.code
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError(f"事件 {code} 已被他人修改，请刷新后重试", f"stale incident: {exc}") from exc
    if act.code == "transfer":
        named = recipient or ("" if receiver_department_id is not None else text[:200])  # else the department's name
        _transfer_record(session, incident, event, named, receiver_department_id, when)
    attach(session, checked, incident_id=incident.id, event_id=event.id, by=actor.username, at=when, files=files)
    return incident

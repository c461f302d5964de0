"""The incident state machine (pure: no Session): states, actions and which action leads where.

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

:func:`resolve_action` reads what a user typed (a code, a Chinese name, an alias or a target
state) as the action meant. Running an action is :func:`gis.incidents.workflow.move`.
"""

from __future__ import annotations

from dataclasses import dataclass

from gis.errors import ValidationError
from gis.model import IncidentStatus

__all__ = [
    "ACTIONS",
    "ACTION_ALIASES",
    "ACTION_LABELS",
    "MAX_TEXT",
    "OPEN_STATES",
    "SIDE_ACTION_LABELS",
    "Action",
    "IllegalTransition",
    "allowed_actions",
    "resolve_action",
    "transitions_table",
]

MAX_TEXT = 2000


class IllegalTransition(ValidationError):
    """An action is not allowed in the incident's current state (or lacks a required note)."""


S = IncidentStatus

OPEN_STATES = frozenset(s for s in IncidentStatus if s.is_open)


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
"""The workflow actions by code (``report`` is not a move: see :func:`gis.incidents.reporting.report_incident`)."""

SIDE_ACTION_LABELS: dict[str, str] = {
    "cotask": "发起协办",
    "cotask_answer": "协办答复",
    "extension_request": "申请延期",
    "extension_approve": "批准延期",
    "extension_refuse": "不批准延期",
    "transfer_receipt": "移送回执",
    "transfer_outcome": "移送处理结果",
    # issue 18: escalations of overdue cases recorded by the notification runner (:mod:`gis.notify`)
    "overdue_upper": "超期升级（上级网格）",
    "overdue_office": "超期升级（领导小组办公室）",
}
"""Steps of a case's history that are not moves of the state machine (issue 17:
:mod:`gis.incidents.cooperation`): the state stays, the step is recorded."""

ACTION_LABELS: dict[str, str] = {"report": "上报", **{a.code: a.label for a in ACTIONS.values()}, **SIDE_ACTION_LABELS}
"""Chinese names of every ``IncidentEvent.action`` written here and in :mod:`gis.incidents.cooperation`."""

ACTION_ALIASES: dict[str, str] = {
    "approve": "archive",
    "通过": "archive",
    "审核通过": "archive",
    "归档": "archive",
    "退回": "return",
    "重办": "return",
    "退回重办": "return",
    "催办": "urge",
    "督办": "urge",
    "转执法": "transfer",
    "移送司法": "transfer",
    "移送执法": "transfer",
    "移送": "transfer",
    "上报上级": "escalate",
    "开始处置": "start",
    "处置": "start",
    "提交审核": "submit_review",
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
            rows.append(
                {
                    "from": st.value,
                    "from_label": st.label,
                    "action": a.code,
                    "action_label": a.label,
                    "to": to.value,
                    "to_label": to.label,
                    "scope": a.scope,
                    "note_required": a.note_required,
                }
            )
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
    code = ACTION_ALIASES.get(key, key)
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

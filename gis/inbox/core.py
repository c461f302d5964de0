"""The 待办 inbox's pure core: plain rows in, items out (no Session, no I/O).

Who a case waits on
    Each open state has one next step of the workflow (:data:`NEXT_STEP`: 上报 → 受理, 受理 → 交办,
    交办 → 开始处置, 处置中 → 办结, 办结 → 提交审核, 审核 → 审核通过). The step's grid scope
    (:class:`gis.incidents.states.Action`) says where it is done: ``own`` steps by the case's grid,
    ``upper`` steps by the grid above it (a township or county case: by its own grid first).
    :func:`waiting_grid` walks up the case's grid line from there to the first grid that has an
    account able to do the step (a 社区 without its own handler account is served by its 街道);
    accounts bound to no grid (administrators) are the fallback when no grid on the line has one.
    The service confirms each item with the same check the 事件处置 page uses
    (:func:`gis.incidents.workflow.can_move`).
Items
    :class:`Item`: kind, Chinese title, due time, overdue flag, the object (case, grid…) and the
    page (URL path and query parameters the page understands). :func:`sort_items`: overdue
    first, then by due time (items without one last).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from gis.incidents.states import ACTIONS, Action
from gis.model import LOCAL_TZ, GridLevel, IncidentStatus

__all__ = [
    "KIND_LABELS",
    "REPORTS_PAGE",
    "NEXT_STEP",
    "SLOT_NAMES",
    "CaseRow",
    "Item",
    "action_of",
    "case_action_item",
    "case_deadline_item",
    "cotask_item",
    "evaluation_item",
    "extension_item",
    "patrol_item",
    "report_item",
    "sort_items",
    "transfer_item",
    "waiting_grid",
]

S = IncidentStatus

NEXT_STEP: dict[IncidentStatus, str] = {
    S.REPORTED: "accept",
    S.ACCEPTED: "assign",
    S.ASSIGNED: "start",
    S.IN_PROGRESS: "resolve",
    S.RESOLVED: "submit_review",
    S.REVIEW: "archive",
}
"""The step an open case waits for in each state (a code of :data:`gis.incidents.states.ACTIONS`)."""

KIND_LABELS: dict[str, str] = {
    "case": "待办事件",
    "case_deadline": "事件期限提醒",
    "cotask": "协办任务",
    "transfer": "移送回执",
    "extension": "延期审批",
    "evaluation": "考核评价",
    "report": "信息报送",
    "patrol": "巡河任务",
}
"""Kinds of items, in the order the page groups them."""

INCIDENTS_PAGE, ASSESSMENT_PAGE, PATROL_PAGE, REPORTS_PAGE = "incidents", "assessment", "patrol", "reports"
"""URL paths of the pages where the work is done (``st.navigation`` names them after their files)."""


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Item:
    """One thing a user must do.

    Attributes
    ----------
    kind
        A key of :data:`KIND_LABELS`.
    key
        Stable identity (``case:12:accept``): the same work keeps its key until it is done.
    title
        What to do, in Chinese.
    due_at
        When it is due (aware), or None.
    overdue, due_soon
        Past ``due_at``; due within one working day (the deadline policy's rule).
    object
        What it is about: ``{"type": "incident", "id", "code", "grid"}``, ``{"type": "grid", …}``.
    page, params
        The page's URL path and the query parameters that open the object there.
    detail
        One more line for the reader (state, who else waits…).
    """

    kind: str
    key: str
    title: str
    due_at: datetime | None
    overdue: bool
    object: Mapping[str, Any]
    page: str
    params: Mapping[str, str] = field(default_factory=dict)
    detail: str = ""
    due_soon: bool = False

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def url(self) -> str:
        """``/incidents?case=SJ-2026-012``."""
        return f"/{self.page}" + (f"?{urlencode(dict(self.params))}" if self.params else "")

    @property
    def due_text(self) -> str:
        """``2026-11-30 09:00`` (Beijing time) or ``""``."""
        return _when(self.due_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "kind_label": self.kind_label,
            "key": self.key,
            "title": self.title,
            "due_at": None if self.due_at is None else self.due_at.astimezone(LOCAL_TZ).isoformat(),
            "overdue": self.overdue,
            "due_soon": self.due_soon,
            "object": dict(self.object),
            "link": self.url,
            "detail": self.detail,
        }

    def text(self) -> str:
        """One line: ``[已超期] 待办事件：受理 SJ-2026-012 …（期限 2026-11-28 10:30）→ /incidents?case=…``."""
        flag = "[已超期] " if self.overdue else ("[即将到期] " if self.due_soon else "")
        due = f"（期限 {self.due_text}）" if self.due_at is not None else ""
        return f"{flag}{self.kind_label}：{self.title}{due} → {self.url}"


def sort_items(items: Iterable[Item]) -> list[Item]:
    """Overdue first, then by due time (none last), then by kind and title."""
    order = {k: n for n, k in enumerate(KIND_LABELS)}
    far = datetime.max.replace(tzinfo=LOCAL_TZ)
    return sorted(
        items, key=lambda i: (not i.overdue, i.due_at or far, i.due_at is None, order.get(i.kind, 99), i.title)
    )


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseRow:
    """An open case as the inbox needs it (deadline already judged by
    :func:`gis.incidents.deadlines.deadline_status`)."""

    id: int
    code: str
    title: str
    status: IncidentStatus
    grid_id: int | None
    grid_name: str
    line: tuple[int, ...]
    """The case's grid and its ancestors, bottom-up."""
    due_at: datetime | None = None
    overdue: bool = False
    due_soon: bool = False
    deadline_label: str = ""
    resolver: str | None = None
    """Who marked it 办结 last (may not review it: separation of duties)."""

    @property
    def object(self) -> dict[str, Any]:
        return {"type": "incident", "id": self.id, "code": self.code, "grid_id": self.grid_id, "grid": self.grid_name}

    @property
    def params(self) -> dict[str, str]:
        return {"case": self.code}


def _candidates(action: Action, line: Sequence[int], level_of: Mapping[int, str]) -> list[int]:
    if not line:
        return []
    if action.scope == "own":
        return list(line)
    own = [line[0]] if level_of.get(line[0]) not in (None, GridLevel.VILLAGE.value) else []
    return own + list(line[1:])


def waiting_grid(
    action: Action,
    line: Sequence[int],
    level_of: Mapping[int, str],
    handlers: Mapping[int, Collection[str]],
    *,
    excluded: Collection[str] = (),
) -> int | None:
    """The grid whose accounts a case's ``action`` waits on, or None (no grid on the line has one:
    it waits on the accounts bound to no grid).

    Parameters
    ----------
    action
        The step (its ``scope`` says which grids may do it).
    line
        The case's grid and its ancestors, bottom-up.
    level_of
        Grid id → level code.
    handlers
        Grid id → user names of the active accounts bound to it that may handle cases.
    excluded
        User names who may not do this step (whoever resolved a case may not review it).
    """
    for grid in _candidates(action, line, level_of):
        if any(name not in excluded for name in handlers.get(grid, ())):
            return grid
    return None


def case_action_item(case: CaseRow, action: Action) -> Item:
    """``受理：SJ-2026-012 鸭绿江下段西端岸边油污``, due at the case's running deadline."""
    return Item(
        kind="case",
        key=f"case:{case.id}:{action.code}",
        title=f"{action.label}：{case.code} {case.title}",
        due_at=case.due_at,
        overdue=case.overdue,
        due_soon=case.due_soon,
        object=case.object,
        page=INCIDENTS_PAGE,
        params=case.params,
        detail=f"{case.grid_name}，当前状态“{case.status.label}”"
        + (f"，{case.deadline_label}" if case.deadline_label else ""),
    )


def case_deadline_item(case: CaseRow, waiting_on: str) -> Item:
    """A case of the user's grids overdue or due within one working day that waits on someone
    else (``waiting_on``: the grid or accounts it waits on): to watch or 督办."""
    what = "已超期" if case.overdue else "即将到期"
    return Item(
        kind="case_deadline",
        key=f"deadline:{case.id}",
        title=f"{what}：{case.code} {case.title}",
        due_at=case.due_at,
        overdue=case.overdue,
        due_soon=case.due_soon,
        object=case.object,
        page=INCIDENTS_PAGE,
        params=case.params,
        detail=f"{case.grid_name}，当前状态“{case.status.label}”，{case.deadline_label}"
        + (f"；待{waiting_on}办理" if waiting_on else ""),
    )


def cotask_item(
    case: CaseRow, task_id: int, department: str, due_at: datetime | None, now: datetime, request: str = ""
) -> Item:
    """A 协办 sub-task the user's department has not answered."""
    return Item(
        kind="cotask",
        key=f"cotask:{task_id}",
        title=f"答复协办：{case.code} {case.title}",
        due_at=due_at,
        overdue=due_at is not None and now > due_at,
        object={**case.object, "cotask_id": task_id, "department": department},
        page=INCIDENTS_PAGE,
        params=case.params,
        detail=f"协办单位：{department}" + (f"；协办要求：{request}" if request else ""),
    )


def transfer_item(case: CaseRow, transfer_id: int, receiver: str, *, receipt: bool) -> Item:
    """A 移交/移送 record still missing its 回执 (``receipt`` True) or its 处理结果."""
    what = "登记移送回执" if receipt else "登记移送处理结果"
    return Item(
        kind="transfer",
        key=f"transfer:{transfer_id}:{'receipt' if receipt else 'outcome'}",
        title=f"{what}：{case.code} {case.title}",
        due_at=None,
        overdue=False,
        object={**case.object, "transfer_id": transfer_id, "receiver": receiver},
        page=INCIDENTS_PAGE,
        params=case.params,
        detail=f"接收机关：{receiver}",
    )


def extension_item(case: CaseRow, extension_id: int, days: int, requested_by: str, reason: str) -> Item:
    """A pending 延期 request the user's grid decides (due at the case's current deadline)."""
    return Item(
        kind="extension",
        key=f"extension:{extension_id}",
        title=f"审批延期申请：{case.code} {case.title}（申请延期 {days} 个工作日）",
        due_at=case.due_at,
        overdue=case.overdue,
        due_soon=case.due_soon,
        object={**case.object, "extension_id": extension_id},
        page=INCIDENTS_PAGE,
        params=case.params,
        detail=f"申请人：{requested_by}；理由：{reason}",
    )


def evaluation_item(
    grid_id: int, grid_name: str, year: int, kind: str, *, draft_edition: int | None, kind_label: str
) -> Item:
    """A yearly evaluation (自评 of the user's grid, 上级评价 of a lower grid) not submitted yet:
    to fill (no edition yet) or to submit (``draft_edition``: the newest edition is a draft)."""
    verb = "填写" if draft_edition is None else "提交"
    draft = "" if draft_edition is None else f"（第 {draft_edition} 版草稿）"
    target = f"“{grid_name}”{year} 年度{kind_label}"
    return Item(
        kind="evaluation",
        key=f"evaluation:{grid_id}:{year}:{kind}",
        title=f"{verb}{target}{draft}",
        due_at=None,
        overdue=False,
        object={"type": "grid", "id": grid_id, "grid": grid_name, "year": year, "evaluation": kind},
        page=ASSESSMENT_PAGE,
        params={"year": str(year), "grid": str(grid_id), "kind": kind},
        detail="提交后锁定，逐级汇总；尚未提交的评价不计入最终结果",
    )


def report_item(grid_id: int, grid_name: str, period: Mapping[str, str], due_at: datetime, *, overdue: bool) -> Item:
    """A periodic report (月报、季报、年报) of the user's grid not submitted yet
    (:func:`gis.reports.editions.due_reports`): to build and submit on 信息报送."""
    title = f"报送“{grid_name}”{period['title']}{period['kind_label']}"
    return Item(
        kind="report",
        key=f"report:{grid_id}:{period['label']}",
        title=title,
        due_at=due_at,
        overdue=overdue,
        object={"type": "grid", "id": grid_id, "grid": grid_name, "period": period["label"]},
        page=REPORTS_PAGE,
        params={"period": period["label"], "grid": str(grid_id)},
        detail="按巡河考核、事件列表、考核评价的同一口径生成；报送后锁定，更正须说明原因",
    )


SLOT_NAMES = {"day": "今日", "week": "本周", "xun": "本旬", "month": "本月", "quarter": "本季度", "year": "本年"}
"""The current slot of each patrol frequency (:data:`gis.patrol.rules.FREQUENCIES`)."""


def patrol_item(person: str, frequency: str, slot_label: str, per_slot: int, due_at: datetime, grids: str) -> Item:
    """The current patrol slot (本周、本月…) of the user's person still missing counted patrols."""
    name = SLOT_NAMES.get(frequency, "本期")
    return Item(
        kind="patrol",
        key=f"patrol:{person}:{slot_label}",
        title=f"{name}巡河尚未完成（{slot_label}，应巡 {per_slot} 次）",
        due_at=due_at,
        overdue=False,
        object={"type": "person", "person": person, "slot": slot_label, "grids": grids},
        page=PATROL_PAGE,
        params={},
        detail=f"{person}，负责网格：{grids}；上传巡河轨迹后按考核规则计入",
    )


def action_of(status: IncidentStatus) -> Action | None:
    """The :data:`NEXT_STEP` action of ``status`` (None for closed states)."""
    code = NEXT_STEP.get(status)
    return None if code is None else ACTIONS[code]

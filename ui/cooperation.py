"""The 协办, 延期 and 移交/移送 part of an incident's detail (issue 17), for pages/incidents.py.

Shows a case's 协办 sub-tasks, 延期 requests and transfer records, and the forms the signed-in
account may use: send to departments and answer (成员单位 accounts answer their own sub-tasks),
ask for an extension and approve or refuse it (the upper grid), record a transfer's 回执 and
outcome. Every rule is in :mod:`gis.incidents.cooperation`; this module only wires widgets.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from gis.auth import Actor
from gis.errors import RiverGridError
from gis.incidents.attachments import MAX_BYTES
from gis.incidents.cooperation import (
    CLOSE_RUNNING,
    answer_cotask,
    cotasks_of,
    decide_extension,
    extensions_of,
    record_outcome,
    record_receipt,
    request_extension,
    send_cotasks,
    transfers_of,
)
from gis.incidents.departments import department_of, list_departments
from gis.incidents.workflow import get_incident
from gis.model import IncidentStatus, UserRole
from ui import zh
from ui.state import get_store, show_error
from ui.text import md_text

PHOTO_TYPES = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"]
PHOTO_MB = MAX_BYTES // (1024 * 1024)

__all__ = ["cooperation_section", "department_choices"]


def department_choices(actor: Actor | None) -> dict[int, str]:
    """Active member departments, id → name (for the transfer form's receiver)."""
    with get_store().session(actor, write=False) as s:
        return {d.id: d.name for d in list_departments(s, active_only=True)}


def _done(flash_key: str, text: str) -> None:
    st.session_state[flash_key] = text
    st.rerun()


def cooperation_section(actor: Actor | None, incident_id: int, *, flash_key: str) -> None:
    """协办, 延期 and 移交/移送 of one case: lists for every reader, forms for whoever may act."""
    if actor is None:
        return
    try:
        with get_store().session(actor, write=False) as s:
            tasks = cotasks_of(s, incident_id)
            extensions = extensions_of(s, incident_id)
            transfers = transfers_of(s, incident_id)
            status = IncidentStatus(get_incident(s, incident_id).status)
            own_dept = department_of(s, actor)
            departments = {d.id: d.name for d in list_departments(s, active_only=True)}
    except RiverGridError as exc:
        show_error(exc)
        return
    handler = actor.can("incident.handle")
    _cotasks(actor, incident_id, tasks, status, handler, own_dept, departments, flash_key)
    if handler or extensions:
        _extensions(actor, incident_id, extensions, status, handler, flash_key)
    if transfers:
        _transfers(actor, transfers, own_dept, flash_key)


def _cotasks(
    actor: Actor,
    incident_id: int,
    tasks: list[Any],
    status: IncidentStatus,
    handler: bool,
    own_dept: int | None,
    departments: dict[int, str],
    flash_key: str,
) -> None:
    st.markdown("##### 协办")
    if tasks:
        rows = [
            {
                "协办单位": t.department,
                "协办要求": t.request,
                "期限": t.due_text,
                "状态": ("已答复" if t.answered else "待答复") + ("（超期）" if t.overdue else ""),
                "答复": t.answer,
                "答复人": t.answered_by,
            }
            for t in tasks
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    else:
        st.caption("该事件没有协办任务。")
    if handler and status.is_open and departments:
        with st.form(f"inc_cotask_{incident_id}", clear_on_submit=True):
            chosen = st.multiselect(
                "协办单位", list(departments), format_func=departments.get, placeholder="选择一个或多个成员单位"
            )
            days = st.number_input("协办期限（工作日）", min_value=1, max_value=60, value=5, step=1)
            request = st.text_area("协办要求", max_chars=2000)
            sent = st.form_submit_button("发起协办")
        if sent:
            try:
                with get_store().session(actor) as s:
                    send_cotasks(s, incident_id, chosen, days=int(days), request=request)
            except RiverGridError as exc:
                show_error(exc)
            else:
                _done(flash_key, "已发起协办：" + "、".join(md_text(departments[d]) for d in chosen) + "。")
    answerable = [
        t
        for t in tasks
        if not t.answered
        and (
            (actor.role is UserRole.DEPARTMENT and own_dept == t.department_id)
            or (actor.role is not UserRole.DEPARTMENT and actor.can("incident.cooperate"))
        )
    ]
    if not answerable:
        return
    labels = {t.id: f"{t.department}（期限 {t.due_text}）" for t in answerable}
    with st.form(f"inc_cotask_answer_{incident_id}", clear_on_submit=True):
        task_id = st.selectbox("答复的协办任务", list(labels), format_func=labels.get)
        answer = st.text_area("答复内容", max_chars=2000)
        photos = zh.file_uploader(
            f"照片（可选，每张不超过 {PHOTO_MB} MB）",
            key=f"inc_cotask_photos_{incident_id}",
            type=PHOTO_TYPES,
            accept_multiple_files=True,
            max_mb=PHOTO_MB,
        )
        answered = st.form_submit_button("提交协办答复")
    if answered and task_id is not None:
        try:
            with get_store().session(actor) as s:
                answer_cotask(s, int(task_id), answer, attachments=photos or None)
        except RiverGridError as exc:
            show_error(exc)
        else:
            _done(flash_key, f"已答复协办任务（{md_text(labels[task_id])}）。")


def _extensions(
    actor: Actor, incident_id: int, extensions: list[Any], status: IncidentStatus, handler: bool, flash_key: str
) -> None:
    st.markdown("##### 延期")
    if extensions:
        rows = [
            {
                "工作日数": e.days,
                "理由": e.reason,
                "申请人": e.requested_by,
                "审批": e.status_label,
                "审批人": e.decided_by,
                "审批意见": e.decision_note,
                "原办结期限": e.old_due_text,
                "新办结期限": e.new_due_text,
            }
            for e in extensions
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    if not handler:
        return
    pending = [e for e in extensions if e.status == "pending"]
    if pending:
        ext = pending[0]
        if ext.requested_by == actor.username:
            st.caption("延期申请待上级网格审批。")
            return
        with st.form(f"inc_ext_decide_{incident_id}", clear_on_submit=True):
            st.markdown(f"待审批：延期 {ext.days} 个工作日（{md_text(ext.reason)}）")
            note = st.text_area("审批意见（不批准时必填）", max_chars=2000)
            c1, c2 = st.columns(2)
            approve = c1.form_submit_button("批准延期", type="primary")
            refuse = c2.form_submit_button("不批准延期")
        if approve or refuse:
            try:
                with get_store().session(actor) as s:
                    done = decide_extension(s, ext.id, approve=bool(approve), note=note)
                    label = "已批准延期" if done.status == "approved" else "未批准延期"
            except RiverGridError as exc:
                show_error(exc)
            else:
                _done(flash_key, f"{label}（{ext.days} 个工作日）。")
        return
    if status not in CLOSE_RUNNING:
        return
    with st.form(f"inc_ext_ask_{incident_id}", clear_on_submit=True):
        days = st.number_input("申请延期（工作日）", min_value=1, max_value=60, value=5, step=1)
        reason = st.text_area("延期理由", max_chars=2000)
        asked = st.form_submit_button("申请延期")
    if asked:
        try:
            with get_store().session(actor) as s:
                request_extension(s, incident_id, int(days), reason)
        except RiverGridError as exc:
            show_error(exc)
        else:
            _done(flash_key, f"已申请延期 {int(days)} 个工作日，等待上级网格审批。")


def _transfers(actor: Actor, transfers: list[Any], own_dept: int | None, flash_key: str) -> None:
    st.markdown("##### 移交移送")
    rows = [
        {
            "接收机关": t.receiver,
            "移送日期": t.sent_on.isoformat(),
            "移送人": t.sent_by,
            "回执日期": t.receipt_on.isoformat() if t.receipt_on else "未回执",
            "回执说明": t.receipt_note,
            "处理结果": t.outcome,
            "结果日期": t.outcome_on.isoformat() if t.outcome_on else "",
        }
        for t in transfers
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    if not actor.can("incident.cooperate"):
        return
    mine = [t for t in transfers if actor.role is not UserRole.DEPARTMENT or t.department_id == own_dept]
    if not mine:
        return
    labels = {t.id: f"{t.receiver}（{t.sent_on.isoformat()} 移送）" for t in mine}
    with st.form(f"inc_transfer_{mine[0].incident_id}", clear_on_submit=True):
        rec_id = st.selectbox("移送记录", list(labels), format_func=labels.get)
        day = zh.date_input("回执或结果日期", value="today")
        note = st.text_input("回执说明（可选）", max_chars=2000)
        outcome = st.text_area("处理结果（登记结果时填写）", max_chars=2000)
        c1, c2 = st.columns(2)
        receipt = c1.form_submit_button("登记回执")
        result = c2.form_submit_button("登记处理结果")
    if (receipt or result) and rec_id is not None:
        try:
            with get_store().session(actor) as s:
                if result:
                    record_outcome(s, int(rec_id), outcome, decided_on=day)
                else:
                    record_receipt(s, int(rec_id), received_on=day, note=note)
        except RiverGridError as exc:
            show_error(exc)
        else:
            _done(flash_key, f"已登记{'处理结果' if result else '回执'}：{md_text(labels[rec_id])}。")

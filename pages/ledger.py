"""会议与台账 — meetings (会议记录), the document shelf (文件柜) and the yearly ledger workbook
(台账.xlsx) of a grid. Signed-in accounts only; adding needs 编辑人员和职务. Wires widgets to
:mod:`ui.ledger` (which calls :mod:`gis.ledger`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gis import clock
from gis.errors import RiverGridError
from ui import zh
from ui.ledger import (
    DOC_KINDS,
    choices,
    download_file,
    export_ledger,
    list_records,
    save_document,
    save_meeting,
    uploaded,
)
from ui.state import current_actor, show_error

FILE_MB = 50

actor = current_actor()
st.title("会议与台账")
if actor is None:
    st.info("请先登录。")
    st.stop()
can_write = actor.can("org.write")
today = clock.today()
try:
    grids, people = choices(actor)
except RiverGridError as exc:
    show_error(exc)
    st.stop()

year = st.selectbox("年度", list(range(today.year, today.year - 6, -1)), key="ledger_year")
try:
    meetings, documents = list_records(actor, year=year)
except RiverGridError as exc:
    show_error(exc)
    st.stop()

tab_meet, tab_docs, tab_export = st.tabs(["会议记录", "文件柜", "导出台账"])

with tab_meet:
    st.markdown(f"**{year} 年会议**（{len(meetings)} 次）")
    if meetings:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "日期": m["held_on"],
                        "会议名称": m["title"],
                        "网格": m["grid"] or "街道",
                        "地点": m["place"],
                        "参会人员": "、".join(m["attendees"]),
                        "附件": "、".join(f["name"] for f in m["files"]),
                    }
                    for m in meetings
                ]
            ),
            hide_index=True,
            width="stretch",
        )
        chosen = st.selectbox(
            "查看会议纪要",
            [m["id"] for m in meetings],
            format_func=lambda i: next(f"{m['held_on']} {m['title']}" for m in meetings if m["id"] == i),
            key="ledger_meeting_pick",
        )
        meeting = next(m for m in meetings if m["id"] == chosen)
        st.text(meeting["minutes"] or "（无纪要）")
        for f in meeting["files"]:
            name, mime, data = download_file(actor, f["id"])
            st.download_button(f"下载 {name}", data, file_name=name, mime=mime, key=f"ledger_mfile_{f['id']}")
    else:
        st.caption("本年度没有会议记录。")
    if can_write:
        with st.form("ledger_meeting_form", clear_on_submit=True):
            st.markdown("**登记会议**")
            c1, c2 = st.columns(2)
            held_on = zh.date_input("会议日期", value=today, key="ledger_meeting_date", where=c1, max_value=today)
            title = c2.text_input("会议名称", max_chars=200, key="ledger_meeting_title")
            c3, c4 = st.columns(2)
            grid_id = c3.selectbox("网格", list(grids), format_func=grids.get, key="ledger_meeting_grid")
            place = c4.text_input("地点", max_chars=200)
            attendees = st.multiselect(
                "参会人员",
                list(people),
                format_func=people.get,
                placeholder="选择人员…",
                key="ledger_meeting_attendees",
            )
            minutes = st.text_area("会议纪要", max_chars=20000, key="ledger_meeting_minutes")
            files = zh.file_uploader(
                f"附件（每个不超过 {FILE_MB} MB）",
                key="ledger_meeting_files",
                accept_multiple_files=True,
                max_mb=FILE_MB,
            )
            if st.form_submit_button("保存会议", type="primary"):
                try:
                    new_id = save_meeting(
                        actor,
                        held_on=held_on,
                        title=title,
                        grid_id=grid_id,
                        place=place,
                        attendee_ids=attendees,
                        minutes=minutes,
                        files=uploaded(files),
                    )
                except RiverGridError as exc:
                    show_error(exc)
                else:
                    st.success(f"已登记会议（编号 {new_id}）。")

with tab_docs:
    st.markdown(f"**{year} 年印发的文件**（{len(documents)} 份）")
    if documents:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "类别": d["kind_label"],
                        "文件名称": d["title"],
                        "印发日期": d["issued_on"],
                        "网格": d["grid"] or "街道",
                        "备注": d["note"],
                        "附件": "、".join(f["name"] for f in d["files"]),
                    }
                    for d in documents
                ]
            ),
            hide_index=True,
            width="stretch",
        )
        for d in documents:
            for f in d["files"]:
                name, mime, data = download_file(actor, f["id"])
                st.download_button(f"下载 {name}", data, file_name=name, mime=mime, key=f"ledger_dfile_{f['id']}")
    else:
        st.caption("本年度文件柜没有文件。")
    if can_write:
        with st.form("ledger_doc_form", clear_on_submit=True):
            st.markdown("**登记文件**")
            c1, c2 = st.columns(2)
            kind = c1.selectbox("类别", list(DOC_KINDS), format_func=DOC_KINDS.get)
            title = c2.text_input("文件名称", max_chars=200, key="ledger_doc_title")
            c3, c4 = st.columns(2)
            issued_on = zh.date_input("印发日期", value=today, key="ledger_doc_date", where=c3)
            grid_id = c4.selectbox(
                "网格", list(grids), index=None, format_func=grids.get, placeholder="街道", key="ledger_doc_grid"
            )
            note = st.text_area("备注", max_chars=5000, key="ledger_doc_note")
            files = zh.file_uploader(
                f"文件（每个不超过 {FILE_MB} MB）", key="ledger_doc_files", accept_multiple_files=True, max_mb=FILE_MB
            )
            if st.form_submit_button("保存文件", type="primary"):
                try:
                    new_id = save_document(
                        actor,
                        kind=kind,
                        title=title,
                        issued_on=issued_on,
                        grid_id=grid_id,
                        note=note,
                        files=uploaded(files),
                    )
                except RiverGridError as exc:
                    show_error(exc)
                else:
                    st.success(f"已登记文件（编号 {new_id}）。")

with tab_export:
    st.markdown("导出网格（含下级网格）本年度的台账：巡河、事件、会议、考核、对象五张表。")
    if grids:
        export_grid = st.selectbox("网格", list(grids), format_func=grids.get, key="ledger_export_grid")
        if st.button("生成台账", key="ledger_export"):
            try:
                data, counts, name = export_ledger(actor, export_grid, year)
            except RiverGridError as exc:
                show_error(exc)
            else:
                st.caption("，".join(f"{k} {v} 条" for k, v in counts.items()))
                st.download_button(
                    "下载台账 Excel",
                    data,
                    file_name=name,
                    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    key="ledger_export_download",
                )
    else:
        st.caption("没有可导出的网格。")

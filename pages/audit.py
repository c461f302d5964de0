"""修改记录: who changed what (or read a reporter's contact) and when; administrators can undo
another user's change or a whole batch (the undo is a new entry; entries are never changed)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gis.errors import RiverGridError
from gis.history import SECURITY_TABLES, TABLE_LABELS, batch_of, recent_entries, undo, undo_batch
from gis.model import LOCAL_TZ
from ui.state import (
    current_actor,
    data_version,
    get_store,
    require_permission,
    show_error,
)

viewer = require_permission("audit.read")
st.title("修改记录")
st.caption(
    "每一次新增、修改、删除都记录操作人、时间以及修改前后的内容（密码、上报人联系方式不记录，查看联系方式另记一条）；"
    "系统管理员可以撤销他人的修改（本页下方“撤销”，或命令 `gis undo 编号`、整批 `gis undo --batch 批次`）。"
    "修改记录只能追加，任何人都不能改动或删除。"
)

FLASH = "audit_flash"
flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash)

c1, c2 = st.columns(2)
security = viewer.can("audit.security")  # accounts, sign-ins, contact reads: the auditor's (三员分立)
tables = [t for t in TABLE_LABELS if security or t not in SECURITY_TABLES]
table = c1.selectbox("数据表", [None, *tables], format_func=lambda t: "全部" if t is None else TABLE_LABELS[t])
username = c2.text_input("操作人（用户名）").strip() or None
with get_store().session() as s:
    rows = recent_entries(s, table=table, username=username, security=security)
frame = pd.DataFrame(rows)
if frame.empty:
    st.info("没有符合条件的修改记录。")
    st.stop()
frame["at"] = pd.to_datetime(frame["at"], utc=True).dt.tz_convert(LOCAL_TZ).dt.strftime("%Y-%m-%d %H:%M:%S")
st.dataframe(
    frame.drop(columns=["batch"]),
    hide_index=True,
    use_container_width=True,
    column_config={
        "id": "编号",
        "at": "时间",
        "username": "操作人",
        "action": "操作",
        "table": "数据表",
        "row_id": "记录号",
        "name": "名称",
        "fields": "涉及字段",
        "undone": st.column_config.CheckboxColumn("已撤销"),
        "undo_of": st.column_config.NumberColumn("撤销的记录", format="%d"),
    },
)

actor = current_actor()
if actor is not None and actor.can("audit.undo"):
    st.subheader("撤销")
    entry_id = st.number_input("撤销编号为…的修改", min_value=1, step=1, value=int(frame["id"].iloc[0]))
    whole = st.checkbox("撤销与之同一批次（同一次保存或导入）的全部修改")
    if st.button("撤销", type="primary"):
        try:
            with get_store().session(actor) as s:
                if whole:
                    n = undo_batch(s, batch_of(s, int(entry_id)))
                else:
                    undo(s, int(entry_id))
                    n = 1
        except RiverGridError as exc:
            show_error(exc)
        else:
            st.session_state[FLASH] = f"已撤销 {n} 项修改（撤销本身也已记录；撤销错了，可再撤销这条撤销记录）。"
            data_version()
            st.rerun()  # the table above shows the undo and what it undid

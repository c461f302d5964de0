"""待办: what waits for the signed-in account now, grouped, each linking to the page where it is done
(:mod:`ui.inbox`, :mod:`gis.inbox.service`)."""

from __future__ import annotations

import streamlit as st

from gis import clock
from gis.errors import RiverGridError
from ui.inbox import load_inbox, render_empty, render_items
from ui.state import current_actor, show_error

actor = current_actor()
st.title("待办")
if actor is None:
    st.info("请先登录，登录后这里列出等待您办理的事项。")
    st.stop()

try:
    box = load_inbox(actor)
except RiverGridError as exc:
    show_error(exc)
    st.stop()

summary = f"共 {box.count} 项" + (f"，其中已超期 {box.overdue} 项" if box.overdue else "")
st.caption(f"{summary}。按已超期、期限先后排列；截至 {clock.local_now():%Y-%m-%d %H:%M}（北京时间）。")
if box.items:
    render_items(box)
else:
    render_empty()

# 消息 (issue 18, in-app messages, read/unread) goes below as its own section.

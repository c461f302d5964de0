"""待办: what waits for the signed-in account now, grouped, each linking to the page where it is done
(:mod:`ui.inbox`, :mod:`gis.inbox.service`)."""

from __future__ import annotations

import streamlit as st

from gis import clock
from gis.errors import RiverGridError
from ui.inbox import load_inbox, load_messages, render_empty, render_items, render_messages, render_preferences
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


try:
    messages = load_messages(actor)
except RiverGridError as exc:
    show_error(exc)
    st.stop()
unread = sum(not m["read"] for m in messages)
st.subheader(f"消息（{len(messages)}" + (f"，未读 {unread}" if unread else "") + "）")
if messages and st.toggle("只看未读", key="inbox_unread_only"):
    messages = [m for m in messages if not m["read"]]
render_messages(actor, messages)
with st.expander("消息接收设置"):
    render_preferences(actor)

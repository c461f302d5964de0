"""RiverGrid (河长网格) — Streamlit router. Start with ``python -m ui.serve`` (see ui/serve.py)."""

from __future__ import annotations

import streamlit as st

from gis.accounts.installation import first_steps_zh
from ui.inbox import inbox_nav_title, unread_messages  # issue 18
from ui.state import (
    actor_label,
    current_actor,
    get_store,
    must_change_password,
    needs_first_account,
    reading_allowed,
    sign_out,
)

st.set_page_config(page_title="河长网格", page_icon="🌊", layout="wide")

# (file, title, icon, permission needed to see it; None = readable by anyone allowed to read)
PAGES: list[tuple[str, str, str, str | None]] = [
    ("pages/home.py", "河湖一张图", ":material/map:", None),
    ("pages/inbox.py", "待办", ":material/inbox:", "read"),  # issue 18: signed-in accounts; its count below
    ("pages/blind_spots.py", "盲区检查", ":material/rule:", None),
    ("pages/patrol.py", "巡河管理", ":material/directions_walk:", None),
    ("pages/objects.py", "监管对象", ":material/factory:", None),
    ("pages/incidents.py", "事件处置", ":material/assignment:", None),
    ("pages/rivers.py", "一河一档", ":material/water:", None),
    ("pages/grids.py", "网格管理", ":material/grid_on:", None),
    ("pages/assessment.py", "考核评价", ":material/leaderboard:", None),
    ("pages/ledger.py", "会议与台账", ":material/folder_open:", "read"),  # signed-in accounts only
    ("pages/audit.py", "修改记录", ":material/history:", "audit.read"),
    ("pages/users.py", "用户管理", ":material/manage_accounts:", "user.manage"),
    ("pages/deliveries.py", "消息投递", ":material/outgoing_mail:", "notify.log"),  # issue 18
    # issue 18
    ("pages/reports.py", "信息报送", ":material/outbox:", "read"),  # signed-in accounts only
]

# (file, title, icon, URL path): open to everyone, even when RIVERGRID_READ_LOGIN asks sign-in for the rest
PUBLIC_PAGES: list[tuple[str, str, str, str]] = [
    ("pages/public.py", "责任公示", ":material/campaign:", "public"),
]

get_store()
if needs_first_account():
    st.title("河长网格：请先建立管理员账号")
    st.markdown(first_steps_zh())
    st.stop()

actor = current_actor()
# issue 18: the 待办 count in the navigation label and the sidebar
inbox_title, inbox_n = inbox_nav_title(actor)
PAGES = [(p, inbox_title if p == "pages/inbox.py" else t, i, perm) for p, t, i, perm in PAGES]
login_page = st.Page("pages/login.py", title="登录" if actor is None else "账号", icon=":material/login:")
if actor is not None and must_change_password():
    nav = st.navigation([login_page])  # a new password first, nothing else
else:
    visible = [
        st.Page(path, title=title, icon=icon, default=(i == 0))
        for i, (path, title, icon, permission) in enumerate(PAGES)
        if reading_allowed() and (permission is None or (actor is not None and actor.can(permission)))
    ]
    public = [st.Page(path, title=title, icon=icon, url_path=url) for path, title, icon, url in PUBLIC_PAGES]
    if visible:
        nav = st.navigation(visible + public + [login_page], expanded=True)  # issue 18: all entries, no "View N more"
    else:  # sign-in first: the root opens the sign-in page, which keeps its own address (/login)
        start = st.Page(
            lambda: st.switch_page(login_page), title="登录", url_path="start", default=True, visibility="hidden"
        )
        nav = st.navigation([start, login_page, *public])

with st.sidebar:
    st.markdown("### 河长网格")
    st.caption("临江市森工街道河长制网格化管理")
    if actor is None:
        st.caption("未登录（只读浏览）" if reading_allowed() else "请先登录")
    else:
        st.caption(f"当前用户：{actor_label(actor)}")
        if inbox_n is not None:  # issue 18
            st.html(f'<p style="margin:0">待办：<span data-testid="inbox-count">{inbox_n}</span> 项</p>')
        unread_n = unread_messages(actor)
        if unread_n:
            st.html(f'<p style="margin:0">未读消息：<span data-testid="message-unread-count">{unread_n}</span> 条</p>')
        if st.button("退出登录", key="sign_out"):
            sign_out()
            st.rerun()

nav.run()

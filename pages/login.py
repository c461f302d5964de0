"""登录 / 账号 page."""

from __future__ import annotations

import streamlit as st

from gis.errors import AuthenticationError
from ui.state import actor_label, current_actor, show_error, sign_in, sign_out
from ui.text import md_text

st.title("登录")
actor = current_actor()
if actor is not None:
    st.success(f"已登录：{md_text(actor_label(actor))}")
    if st.button("退出登录"):
        sign_out()
        st.rerun()
    st.stop()

with st.form("login"):
    username = st.text_input("用户名")
    password = st.text_input("密码", type="password")
    submitted = st.form_submit_button("登录", type="primary")
if submitted:
    try:
        sign_in(username, password)
    except AuthenticationError as exc:
        show_error(exc)
    else:
        st.rerun()
st.caption("账号由管理员在系统内创建；本系统不连接外部身份认证。")

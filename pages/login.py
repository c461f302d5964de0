"""登录 / 账号 page: sign in (throttled), change one's own password (required after an
administrator created or reset the account), sign out."""

from __future__ import annotations

import streamlit as st

from gis.accounts.users import change_own_password
from gis.auth import MIN_PASSWORD_LENGTH
from gis.errors import AuthenticationError, RiverGridError
from ui.state import (
    actor_label,
    current_actor,
    get_store,
    must_change_password,
    password_changed,
    session_expired,
    show_error,
    sign_in,
    sign_out,
)
from ui.text import md_text

actor = current_actor()
if actor is not None:
    st.title("账号")
    st.success(f"已登录：{md_text(actor_label(actor))}")
    forced = must_change_password()
    if forced:
        st.warning("您的账号由管理员建立或重置了密码，请先设定自己的新密码，之后才能使用其他功能。")
    with st.form("change_password", clear_on_submit=True):
        st.markdown("**修改密码**")
        old = st.text_input("原密码", type="password", key="pw_old")
        new = st.text_input(
            f"新密码（至少 {MIN_PASSWORD_LENGTH} 个字符，不能包含用户名）", type="password", key="pw_new"
        )
        again = st.text_input("再次输入新密码", type="password", key="pw_again")
        change = st.form_submit_button("修改密码", type="primary" if forced else "secondary")
    if change:
        if new != again:
            st.error("两次输入的新密码不一致")
        else:
            try:
                with get_store().session(actor) as s:
                    change_own_password(s, old, new)
            except RiverGridError as exc:
                show_error(exc)
            else:
                password_changed()
                st.success("密码已修改。")
                if forced:
                    st.rerun()
    if st.button("退出登录"):
        sign_out()
        st.rerun()
    st.stop()

st.title("登录")
if session_expired():
    st.info("长时间未操作，已自动退出登录，请重新登录。")
with st.form("login"):
    username = st.text_input("用户名")
    password = st.text_input("密码", type="password")
    submitted = st.form_submit_button("登录", type="primary")
if submitted:
    try:
        sign_in(username, password)
    except AuthenticationError as exc:
        st.error(exc.message_zh)  # only the Chinese words: the same for every failure of one kind
    else:
        st.rerun()
st.caption("账号由安全管理员在系统内建立；连续输错密码会暂时锁定。本系统不连接外部身份认证。")

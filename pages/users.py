"""用户管理 (security administrators): the accounts, a new account, and changes to one account
(role, bound grid, password reset, disable/enable, unlock). Every change is audited; an account
created or reset here must choose its own password at the next sign-in."""

from __future__ import annotations

import secrets

import pandas as pd
import streamlit as st

from gis.accounts.signin import unlock
from gis.accounts.users import (
    account_choices,
    create_user,
    list_users,
    reset_password,
    set_active,
    update_user,
)
from gis.auth import MIN_PASSWORD_LENGTH
from gis.errors import RiverGridError
from gis.incidents.departments import list_departments
from gis.model import UserRole
from ui.state import get_store, require_permission, show_error
from ui.text import md_text

actor = require_permission("user.manage")
st.title("用户管理")
st.caption(
    "按“三员分立”：安全管理员管理账号，系统管理员管理数据和设置，审计员查看审计记录。"
    "绑定网格的账号只能查看和处理该网格及其下级网格的数据。所有修改都记入审计记录。"
)

ROLE_LABELS = {r.value: r.label for r in UserRole}


def act(change, *, rerun: bool = False) -> bool:  # type: ignore[no-untyped-def]
    """Run ``change(session)`` as the signed-in administrator; a refusal is shown in Chinese."""
    try:
        with get_store().session(actor) as s:
            change(s)
    except RiverGridError as exc:
        show_error(exc)
        return False
    if rerun:
        st.rerun()
    return True


with get_store().session(actor, write=False) as s:
    accounts = list_users(s)
    grids, persons = account_choices(s)
    dept_label = {d.id: d.name for d in list_departments(s)}  # 成员单位 (issue 17)
grid_label = dict(grids)
person_label = dict(persons)

table = pd.DataFrame(
    [
        {
            "用户名": a.username,
            "显示名称": a.display_name,
            "角色": a.role_label,
            "绑定网格": a.grid_name or "不限",
            "关联人员": a.person_name,
            "所属成员单位": a.department_name,
            "状态": "在用" if a.active else "已停用",
            "登录锁定": "已锁定" if a.locked else "",
            "须改密码": "是" if a.must_change_password else "",
        }
        for a in accounts
    ]
)
if table.empty:
    st.info("还没有任何账号。")
else:
    st.dataframe(table, hide_index=True, width="stretch", key="users_table")

new_tab, edit_tab = st.tabs(["新建账号", "修改账号"])

with new_tab, st.form("users_create", clear_on_submit=True):
    c1, c2 = st.columns(2)
    username = c1.text_input("用户名", key="uc_username")
    display = c2.text_input("显示名称（如：姓名（职务））", key="uc_display")
    role = c1.selectbox(
        "角色", list(ROLE_LABELS), format_func=ROLE_LABELS.get, index=None, placeholder="选择角色…", key="uc_role"
    )
    grid = c2.selectbox(
        "绑定网格（数据权限）",
        [None, *grid_label],
        format_func=lambda g: "不限（县级）" if g is None else grid_label[g],
        key="uc_grid",
    )
    person = c1.selectbox(
        "关联人员（巡查、上报时使用）",
        [None, *person_label],
        format_func=lambda p: "无" if p is None else person_label[p],
        key="uc_person",
    )
    department = c1.selectbox(
        "所属成员单位（仅“成员单位”角色）",
        [None, *dept_label],
        format_func=lambda d: "无" if d is None else dept_label[d],
        key="uc_department",
    )
    password = c2.text_input(
        f"初始密码（至少 {MIN_PASSWORD_LENGTH} 个字符；留空则自动生成）", type="password", key="uc_password"
    )
    st.caption("新账号首次登录后必须修改密码。")
    created = st.form_submit_button("建立账号", type="primary")
if created:
    if not role:
        st.error("请选择角色")
    else:
        initial = password or secrets.token_urlsafe(12)
        if act(
            lambda s: create_user(
                s,
                username=username,
                role=role,
                password=initial,
                display_name=display,
                grid_id=grid,
                person_id=person,
                must_change_password=True,
                department=department,
            )
        ):
            st.success(
                f"已建立账号 {md_text(username.strip())}。"
                + ("" if password else f"临时密码：`{initial}`（只显示这一次）")
            )

with edit_tab:
    if not accounts:
        st.info("还没有可修改的账号。")
        st.stop()
    names = [a.username for a in accounts]
    chosen = st.selectbox(
        "账号",
        names,
        key="ue_user",
        format_func=lambda n: next(f"{a.username}（{a.role_label}）" for a in accounts if a.username == n),
    )
    account = next(a for a in accounts if a.username == chosen)
    with st.form("users_update"):
        c1, c2 = st.columns(2)
        role = c1.selectbox(
            "角色",
            list(ROLE_LABELS),
            format_func=ROLE_LABELS.get,
            index=list(ROLE_LABELS).index(account.role),
            key=f"ue_role_{chosen}",
        )
        grid_ids = [None, *grid_label]
        grid = c2.selectbox(
            "绑定网格",
            grid_ids,
            index=grid_ids.index(account.grid_id) if account.grid_id in grid_ids else 0,
            format_func=lambda g: "不限（县级）" if g is None else grid_label[g],
            key=f"ue_grid_{chosen}",
        )
        display = c1.text_input("显示名称", value=account.display_name, key=f"ue_display_{chosen}")
        dept_ids = [None, *dept_label]
        department = c2.selectbox(
            "所属成员单位（仅“成员单位”角色）",
            dept_ids,
            index=dept_ids.index(account.department_id) if account.department_id in dept_ids else 0,
            format_func=lambda d: "无" if d is None else dept_label[d],
            key=f"ue_department_{chosen}",
        )
        save = st.form_submit_button("保存修改")
    if save:
        act(
            lambda s: update_user(s, chosen, role=role, display_name=display, grid_id=grid, department=department),
            rerun=True,
        )

    c1, c2, c3 = st.columns(3)
    with c1.container(key="users_reset"):
        st.markdown("**重置密码**")
        if st.button("生成临时密码", key="ue_reset"):
            temporary = secrets.token_urlsafe(12)
            if act(lambda s: reset_password(s, chosen, temporary)):
                st.success(f"{md_text(chosen)} 的临时密码：`{temporary}`（只显示这一次；下次登录时须修改）")
    with c2.container(key="users_active"):
        st.markdown("**停用 / 启用**")
        if account.active:
            sure = st.checkbox(f"确认停用 {chosen}（停用后不能登录，可再启用）", key="ue_disable_sure")
            if st.button("停用账号", key="ue_disable", disabled=not sure):
                act(lambda s: set_active(s, chosen, False), rerun=True)
        elif st.button("启用账号", key="ue_enable"):
            act(lambda s: set_active(s, chosen, True), rerun=True)
    with c3.container(key="users_unlock"):
        st.markdown("**登录锁定**")
        if account.locked:
            if st.button("解除锁定", key="ue_unlock"):
                act(lambda s: unlock(s, chosen), rerun=True)
        else:
            st.caption("未锁定")

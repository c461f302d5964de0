"""User accounts (用户管理): create, reset passwords, change roles and grids, disable, list.

Every change needs ``user.manage`` (the security administrator, 安全管理员) and goes through the
audited session, so it is in the audit log (password hashes never are: see
:mod:`gis.store.audit`). The rules:

* passwords have at least :data:`gis.auth.MIN_PASSWORD_LENGTH` characters, do not contain the
  user name (of four or more characters) and are not one of a few well-known ones
  (:func:`check_password`);
* an account created or reset by an administrator must choose a new password at its next
  sign-in (``must_change_password``); a user who chose their own password (the first
  administrator created from the command line with ``--password-stdin``, or anyone changing
  their own password) is not asked again;
* an administrator cannot disable their own account or change their own role, and the last
  active security administrator can be neither disabled nor demoted (nobody could manage
  accounts any more);
* an account may be bound to a grid (``grid_id``, 数据权限, see :mod:`gis.store.scope`) and linked to
  a person (whose patrols it uploads);
* an account of the ``department`` role (成员单位) is bound to one member department
  (``department_id``) and to no grid: it sees and answers the cases sent to its department; no
  other role is bound to a department.

The command line acts as :data:`COMMAND_LINE` (whoever can run it can read the database file
anyway); pages act as the signed-in security administrator.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis import clock
from gis.accounts.signin import lock_state
from gis.auth import MIN_PASSWORD_LENGTH, Actor, hash_password, require, verify_password
from gis.errors import (
    AuthenticationError,
    DuplicateNameError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from gis.formatting import grid_label, person_label
from gis.model import GridLevel, UserRole
from gis.store.schema import Department, Grid, Person, User, not_deleted

__all__ = [
    "AccountInfo",
    "actor_for",
    "check_password",
    "command_line_actor",
    "change_own_password",
    "create_user",
    "current_actor",
    "get_user",
    "list_users",
    "person_of_user",
    "reset_password",
    "set_active",
    "update_user",
]

COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "12345678910",
        "0123456789",
        "1111111111",
        "0000000000",
        "qwertyuiop",
        "1q2w3e4r5t",
        "password123",
        "password1234",
        "passw0rd123",
        "admin12345",
        "administrator",
        "abc1234567",
        "a123456789",
        "aa12345678",
        "woaini1314",
        "iloveyou123",
        "qwerty12345",
        "1qaz2wsx3edc",
        "zxcvbnm123",
    }
)
"""Passwords refused whatever their length (the commonest ones of at least ten characters)."""


def command_line_actor() -> Actor:
    """The operator of ``python -m gis user …``: may manage accounts, recorded by OS user name."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        who = "?"
    return Actor(f"命令行:{who}"[:50], UserRole.SECURITY, "命令行操作员")


def check_password(password: str, username: str = "") -> None:
    """Raise :class:`ValidationError` (Chinese) unless ``password`` satisfies the rules."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符", f"password shorter than {MIN_PASSWORD_LENGTH}"
        )
    if password != password.strip():
        raise ValidationError("密码的开头和结尾不能是空格", "password starts or ends with white space")
    name = username.strip().lower()
    if len(name) >= 4 and name in password.lower():
        raise ValidationError("密码不能包含用户名", "password contains the user name")
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        raise ValidationError("密码过于简单（常见密码或字符种类太少），请换一个", "password too common")


@dataclass(frozen=True)
class AccountInfo:
    """One account as shown to administrators (never the hash)."""

    id: int
    username: str
    display_name: str
    role: str
    role_label: str
    grid_id: int | None
    grid_name: str
    person_id: int | None
    person_name: str
    active: bool
    must_change_password: bool
    locked: bool
    created_at: str
    department_id: int | None = None
    department_name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _manager(session: Session) -> Actor:
    return require(session.info.get("actor"), "user.manage")


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        raise NotFoundError(f"没有用户“{username.strip()}”", f"no user {username!r}")
    return user


def _role(role: str | UserRole) -> UserRole:
    try:
        return UserRole.from_any(role)
    except ValueError:
        names = "、".join(f"{r.value}（{r.label}）" for r in UserRole)
        raise ValidationError(f"未知角色“{role}”，可选：{names}", f"unknown role {role!r}") from None


def _grid(session: Session, grid_id: int | None) -> int | None:
    if grid_id is None:
        return None
    grid = session.get(Grid, grid_id)
    if grid is None or grid.deleted_at is not None:
        raise NotFoundError(f"没有编号为 {grid_id} 的网格", f"no live grid {grid_id}")
    return grid.id


def _person(session: Session, person_id: int | None) -> int | None:
    if person_id is None:
        return None
    if session.get(Person, person_id) is None:
        raise NotFoundError(f"没有编号为 {person_id} 的人员", f"no person {person_id}")
    return person_id


def _department(session: Session, department: int | str | None) -> int | None:
    if department is None or department == "":
        return None
    dept = None
    if isinstance(department, int) or str(department).strip().isdigit():
        dept = session.get(Department, int(department))
    if dept is None:
        dept = session.scalar(select(Department).where(Department.name == str(department).strip()))
    if dept is None:
        raise NotFoundError(f"没有成员单位“{department}”", f"no department {department!r}")
    return dept.id


def _check_department_binding(role: str, department_id: int | None, grid_id: int | None) -> None:
    """成员单位 accounts are bound to a department and to no grid; other roles to no department."""
    if role == UserRole.DEPARTMENT.value:
        if department_id is None:
            raise ValidationError("成员单位账号必须指定所属成员单位", "department account without department")
        if grid_id is not None:
            raise ValidationError("成员单位账号不能绑定网格", "department account bound to a grid")
    elif department_id is not None:
        raise ValidationError(
            f"只有“{UserRole.DEPARTMENT.label}”角色的账号可以指定所属成员单位", "department given for another role"
        )


def create_user(
    session: Session,
    *,
    username: str,
    role: str | UserRole,
    password: str,
    display_name: str = "",
    grid_id: int | None = None,
    person_id: int | None = None,
    must_change_password: bool = True,
    department: int | str | None = None,
) -> User:
    """Create an account. ``must_change_password`` (default) makes its first sign-in choose a
    new password; pass False only when the user chose ``password`` themselves. ``department``
    (id or name) binds a ``department`` account to its member department."""
    _manager(session)
    name = (username or "").strip()
    if not name or len(name) > 50 or any(c.isspace() for c in name):
        raise ValidationError("用户名不能为空、不能含空格，最多 50 个字符", f"bad user name {username!r}")
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise DuplicateNameError(f"用户名“{name}”已被使用", f"username {name!r} taken")
    check_password(password, name)
    dept_id = _department(session, department)
    _check_department_binding(_role(role).value, dept_id, grid_id)
    user = User(
        username=name,
        display_name=(display_name or "").strip()[:100],
        role=_role(role).value,
        password_hash=hash_password(password),
        grid_id=_grid(session, grid_id),
        person_id=_person(session, person_id),
        active=True,
        must_change_password=bool(must_change_password),
        password_changed_at=clock.now(),
        department_id=dept_id,
    )
    session.add(user)
    session.flush()
    return user


def _active_security_admins(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(User).where(User.role == UserRole.SECURITY.value, User.active.is_(True))
        )
        or 0
    )


def _not_self(actor: Actor, user: User, what: str) -> None:
    if actor.user_id is not None and actor.user_id == user.id or actor.username == user.username:
        raise PermissionDenied(f"不能{what}本人的账号，请由其他安全管理员办理", f"may not {what} own account")


def update_user(
    session: Session,
    username: str,
    *,
    role: str | UserRole | None = None,
    display_name: str | None = None,
    grid_id: int | None | bool = False,
    person_id: int | None | bool = False,
    department: int | str | None | bool = False,
) -> User:
    """Change an account's role, name, grid (``None`` unbinds; ``False`` leaves as is), person or
    member department (for ``department`` accounts)."""
    actor = _manager(session)
    user = get_user(session, username)
    if role is not None:
        new = _role(role)
        if new.value != user.role:
            _not_self(actor, user, "更改角色：")
            if user.role == UserRole.SECURITY.value and user.active and _active_security_admins(session) <= 1:
                raise ValidationError(
                    "这是唯一在用的安全管理员账号，不能改为其他角色", "last active security administrator"
                )
            user.role = new.value
    if display_name is not None:
        user.display_name = display_name.strip()[:100]
    if grid_id is not False:
        user.grid_id = _grid(session, grid_id)
    if person_id is not False:
        user.person_id = _person(session, person_id)
    if department is not False:
        user.department_id = _department(session, department if not isinstance(department, bool) else None)
    _check_department_binding(user.role, user.department_id, user.grid_id)
    session.flush()
    return user


def reset_password(session: Session, username: str, password: str, *, must_change_password: bool = True) -> User:
    """Set a new password for an account (by an administrator: changed at the next sign-in)."""
    _manager(session)
    user = get_user(session, username)
    check_password(password, user.username)
    user.password_hash = hash_password(password)
    user.must_change_password = bool(must_change_password)
    user.password_changed_at = clock.now()
    session.flush()
    return user


def change_own_password(session: Session, old_password: str, new_password: str) -> User:
    """The signed-in user (the session's actor) replaces their own password."""
    actor = session.info.get("actor")
    if actor is None or actor.user_id is None:
        raise PermissionDenied("请先登录后再修改密码", "sign-in required")
    user = session.get(User, actor.user_id)
    if user is None or not user.active:
        raise AuthenticationError("账号不存在或已停用", "no active account")
    if not verify_password(user.password_hash, old_password):
        raise AuthenticationError("原密码不正确", "old password wrong")
    if new_password == old_password:
        raise ValidationError("新密码不能与原密码相同", "new password equals the old one")
    check_password(new_password, user.username)
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.password_changed_at = clock.now()
    session.flush()
    return user


def set_active(session: Session, username: str, active: bool) -> User:
    """Disable (停用) or enable (启用) an account; a disabled account cannot sign in."""
    actor = _manager(session)
    user = get_user(session, username)
    if bool(active) == bool(user.active):
        return user
    if not active:
        _not_self(actor, user, "停用")
        if user.role == UserRole.SECURITY.value and _active_security_admins(session) <= 1:
            raise ValidationError("这是唯一在用的安全管理员账号，不能停用", "last active security administrator")
    user.active = bool(active)
    session.flush()
    return user


def list_users(session: Session) -> list[AccountInfo]:
    """Every account, by user name (requires ``user.manage``)."""

    _manager(session)
    grids = {g.id: g.name for g in session.execute(select(Grid.id, Grid.name))}
    persons = {p.id: p.name for p in session.execute(select(Person.id, Person.name))}
    depts = {d.id: d.name for d in session.execute(select(Department.id, Department.name))}
    out = []
    for u in session.scalars(select(User).order_by(User.username)):
        role = UserRole(u.role)
        out.append(
            AccountInfo(
                id=u.id,
                username=u.username,
                display_name=u.display_name,
                role=role.value,
                role_label=role.label,
                grid_id=u.grid_id,
                grid_name=grids.get(u.grid_id, "") if u.grid_id else "",
                person_id=u.person_id,
                person_name=persons.get(u.person_id, "") if u.person_id else "",
                active=bool(u.active),
                must_change_password=bool(u.must_change_password),
                locked=lock_state(session, u.username).locked,
                created_at=u.created_at.isoformat() if u.created_at else "",
                department_id=u.department_id,
                department_name=depts.get(u.department_id, "") if u.department_id else "",
            )
        )
    return out


def account_choices(session: Session) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """What an account can be bound to: live grids ``(id, "名称（层级）")`` by level and name, and
    persons ``(id, "姓名（职务）")`` by name."""

    grids = sorted(
        session.execute(select(Grid.id, Grid.name, Grid.level).where(not_deleted(Grid))),
        key=lambda g: (GridLevel(g.level).rank, g.name),
    )
    persons = session.execute(select(Person.id, Person.name, Person.title).order_by(Person.name, Person.id))
    return (
        [(g.id, grid_label(g.name, g.level)) for g in grids],
        [(p.id, person_label(p.name, p.title)) for p in persons],
    )


def actor_for(session: Session, username: str) -> Actor:
    """The actor of an existing, active user (for the command line, which trusts its operator)."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.active:
        raise AuthenticationError(f"用户“{username}”不存在或已停用", f"no active user {username!r}")
    return Actor(user.username, UserRole(user.role), user.display_name, user.id)


def current_actor(session: Session, actor: Actor) -> Actor | None:
    """``actor`` as the database describes the account now (role changes apply at once), or None
    when the account was disabled or removed since sign-in."""
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        user = session.scalar(select(User).where(User.username == actor.username))
    if user is None or not user.active:
        return None
    if (user.id, user.role, user.display_name) != (actor.user_id, actor.role.value, actor.display_name):
        return Actor(user.username, UserRole(user.role), user.display_name, user.id)
    return actor


def person_of_user(session: Session, user_id: int | None) -> int | None:
    """The person id linked to a user account (None: none, or no account)."""
    if user_id is None:
        return None
    return session.scalar(select(User.person_id).where(User.id == user_id))

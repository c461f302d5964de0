"""Volunteers (志愿者) and 协管员 of village grids, and their limited sign-in accounts.

:func:`register_volunteer` adds a person with a 志愿者 or 协管员 post in a village grid and,
optionally, an account with the role :attr:`~gis.model.UserRole.VOLUNTEER` linked to that
person and grid. That role may only read, report incidents and upload patrol tracks
(:data:`gis.auth.PERMISSIONS`); it can never change or delete a row, its tracks belong to its
own person and its incidents carry the source 志愿者/协管员 (enforced on every flush by
:mod:`gis.store.rules`), so their work is attributable and counted separately.

Each is stored with their own post: a 协管员 (``assistant``) is on the grid's staff and published on
责任公示 and the signboards with the other posts; a 志愿者 (``volunteer``) is a private citizen and
never published (:data:`gis.disclosure.public.PUBLIC_POSTS`), though their patrols and reports count
for the grid like a 协管员's (the assessment's ``volunteer_*`` figures).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.accounts.users import check_password, create_user
from gis.auth import Actor, require
from gis.errors import DuplicateNameError, NotFoundError, ValidationError, checked_text
from gis.model import GridLevel, GridRole, UserRole
from gis.store.schema import Grid, GridRoleAssignment, Person, User

__all__ = ["VOLUNTEER_POSTS", "Registration", "register_volunteer", "volunteers_of"]

VOLUNTEER_POSTS = (GridRole.VOLUNTEER, GridRole.ASSISTANT)
"""Posts a volunteer account may hold: 志愿者 and 协管员."""


@dataclass(frozen=True)
class Registration:
    """Ids of what :func:`register_volunteer` wrote (``user_id`` None without an account)."""

    person_id: int
    post_id: int
    user_id: int | None


def _clean(value: str | None, what: str, *, required: bool = False, max_len: int = 100) -> str:
    return checked_text(value, what, required=required, max_len=max_len)


def register_volunteer(
    session: Session,
    *,
    grid_id: int,
    name: str,
    post: str = GridRole.VOLUNTEER.value,
    title: str = "",
    unit: str = "",
    phone: str = "",
    phone_public: bool = False,
    valid_from: date | None = None,
    username: str | None = None,
    password: str | None = None,
    account_actor: Actor | None = None,
    must_change_password: bool = True,
) -> Registration:
    """Register a volunteer or 协管员 under a village grid, with an optional account.

    Parameters
    ----------
    session : Session
        Open store session; its actor needs ``org.write``.
    grid_id : int
        A live village grid (村级网格).
    name : str
        The person's name.
    post : str
        ``volunteer`` (志愿者, default) or ``assistant`` (协管员), code or Chinese label.
    title, unit, phone, phone_public
        As on :class:`~gis.store.schema.Person`; the phone is published only when public.
    valid_from : date, optional
        First day of the post.
    username, password : str, optional
        Create an account with the role 志愿者/协管员 linked to the person and the grid
        (:func:`gis.accounts.users.create_user`: accounts are the security administrator's, 三员分立).
    account_actor : Actor, optional
        Who creates the account (needs ``user.manage``; default the session's actor), recorded
        as its author in the audit log; the person and post are the session actor's.
    must_change_password : bool
        The account must choose a new password at its first sign-in (default).

    Raises
    ------
    ValidationError
        Empty name, not a village grid, a post other than 志愿者/协管员, a password without a
        user name (or the reverse), a short password.
    NotFoundError
        No live grid ``grid_id``.
    DuplicateNameError
        The user name is taken.
    PermissionDenied
        The session's actor may not write persons, posts or users.
    """

    person_name = _clean(name, "姓名", required=True, max_len=50)
    role = GridRole.from_any(post)
    if role not in VOLUNTEER_POSTS:
        raise ValidationError(
            f"只能登记为{'或'.join(p.label for p in VOLUNTEER_POSTS)}，不能登记为“{role.label}”",
            f"post {role.value} is not a volunteer post",
        )
    grid = session.get(Grid, grid_id)
    if grid is None or grid.deleted_at is not None:
        raise NotFoundError(f"没有编号为 {grid_id} 的网格", f"no live grid {grid_id!r}")
    if grid.level != GridLevel.VILLAGE.value:
        raise ValidationError(
            f"志愿者和协管员登记在村级网格下，“{grid.name}”是{GridLevel(grid.level).label}",
            f"grid {grid_id} is {grid.level}, not village",
        )
    login = _clean(username, "用户名", max_len=50)
    if bool(login) != bool(password):
        raise ValidationError("创建账号需要同时填写用户名和密码", "username and password go together")
    if login and session.scalar(select(User.id).where(User.username == login)) is not None:
        raise DuplicateNameError(f"用户名“{login}”已被使用", f"username {login!r} taken")
    if login:  # checked before anything is added
        check_password(password or "", login)
        require(account_actor or session.info.get("actor"), "user.manage")

    person = Person(
        name=person_name,
        title=_clean(title, "职务", max_len=100),
        unit=_clean(unit, "单位"),
        phone=_clean(phone, "电话", max_len=50),
        phone_public=bool(phone_public),
    )
    sort = 1 + sum(1 for a in grid.roles if a.role == role.value)
    assignment = GridRoleAssignment(grid=grid, person=person, role=role.value, valid_from=valid_from, sort=sort)
    session.add_all([person, assignment])
    session.flush()
    user = None
    if login:
        acting = session.info.get("actor")
        session.info["actor"] = account_actor or acting  # the account is the security administrator's act
        try:
            user = create_user(
                session,
                username=login,
                role=UserRole.VOLUNTEER,
                password=password or "",
                display_name=f"{person_name}（{role.label}）",
                grid_id=grid.id,
                person_id=person.id,
                must_change_password=must_change_password,
            )
        finally:
            session.info["actor"] = acting
    return Registration(person_id=person.id, post_id=assignment.id, user_id=user.id if user is not None else None)


def volunteers_of(session: Session, grid_id: int) -> list[dict[str, object]]:
    """The 志愿者 and 协管员 of a grid: ``{"name", "post", "title", "username"}`` per post
    (``username`` "" when the person has no volunteer account)."""
    rows = session.scalars(
        select(GridRoleAssignment)
        .where(GridRoleAssignment.grid_id == grid_id, GridRoleAssignment.role.in_([p.value for p in VOLUNTEER_POSTS]))
        .order_by(GridRoleAssignment.role, GridRoleAssignment.sort, GridRoleAssignment.id)
    ).all()
    accounts = {
        u.person_id: u.username
        for u in session.scalars(
            select(User).where(User.role == UserRole.VOLUNTEER.value, User.person_id.in_([a.person_id for a in rows]))
        )
    }
    return [
        {
            "name": a.person.name,
            "post": GridRole(a.role).label,
            "title": a.person.title,
            "username": accounts.get(a.person_id, ""),
        }
        for a in rows
    ]

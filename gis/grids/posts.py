"""Posts (职务) of people in grids: who holds which role in a grid, between which dates.

A post is a :class:`~gis.store.schema.GridRoleAssignment` (主要责任人, 乡级监管责任人, 监管人员,
协管员, 志愿者) valid from ``valid_from`` to ``valid_to`` inclusive (either may be open). Posts
are never deleted here: a post ends by getting a ``valid_to``, so the record of who was
responsible on a past date stays. Writes need ``org.write`` (staff, admin) and go through the
audited session like every write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis import clock
from gis.auth import require
from gis.errors import NotFoundError, ValidationError
from gis.formatting import grid_label, person_label
from gis.model import GridRole
from gis.store.schema import Grid, GridRoleAssignment, Person, not_deleted

__all__ = ["PostInfo", "add_post", "end_post", "grid_labels", "grid_posts", "person_labels"]


@dataclass(frozen=True)
class PostInfo:
    """One post of a grid as the page lists it; ``current`` on ``today``."""

    id: int
    person_id: int
    person_name: str
    role: str
    role_label: str
    valid_from: date | None
    valid_to: date | None
    current: bool


def grid_posts(session: Session, grid_id: int, *, today: date | None = None) -> list[PostInfo]:
    """Every post of a grid (current and past), by role order then start date."""
    today = today or clock.today()
    rows = session.scalars(
        select(GridRoleAssignment)
        .where(GridRoleAssignment.grid_id == grid_id)
        .options(selectinload(GridRoleAssignment.person))
    ).all()
    order = {r.value: i for i, r in enumerate(GridRole)}
    out = []
    for a in sorted(rows, key=lambda a: (order.get(a.role, 99), a.sort, a.valid_from or date.min, a.id)):
        current = (a.valid_from is None or a.valid_from <= today) and (a.valid_to is None or a.valid_to >= today)
        out.append(
            PostInfo(
                a.id, a.person_id, a.person.name, a.role, GridRole(a.role).label, a.valid_from, a.valid_to, current
            )
        )
    return out


def _check_dates(valid_from: date | None, valid_to: date | None) -> None:
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        raise ValidationError(
            f"任职结束日期（{valid_to.isoformat()}）不能早于开始日期（{valid_from.isoformat()}）",
            "valid_to before valid_from",
        )


def add_post(
    session: Session,
    grid_id: int,
    person_id: int,
    role: str,
    *,
    valid_from: date | None = None,
    valid_to: date | None = None,
) -> GridRoleAssignment:
    """Give a person a post in a grid (``role``: a :class:`GridRole` code or label)."""
    require(session.info.get("actor"), "org.write")
    grid = session.get(Grid, grid_id)
    if grid is None or grid.deleted_at is not None:
        raise NotFoundError(f"没有编号为 {grid_id} 的网格（或已删除）", f"no live grid {grid_id}")
    person = session.get(Person, person_id)
    if person is None:
        raise NotFoundError(f"没有编号为 {person_id} 的人员", f"no person {person_id}")
    try:
        code = GridRole.from_any(role).value
    except ValueError as exc:
        raise ValidationError(f"无法识别的职务：{role}", f"unknown role {role!r}") from exc
    _check_dates(valid_from, valid_to)
    post = GridRoleAssignment(
        grid_id=grid.id, person_id=person.id, role=code, valid_from=valid_from, valid_to=valid_to, sort=len(grid.roles)
    )
    session.add(post)
    session.flush()
    return post


def end_post(session: Session, post_id: int, valid_to: date) -> GridRoleAssignment:
    """End a post on ``valid_to`` (inclusive): the person holds it up to that day."""
    require(session.info.get("actor"), "org.write")
    post = session.get(GridRoleAssignment, post_id)
    if post is None:
        raise NotFoundError(f"没有编号为 {post_id} 的任职记录", f"no post {post_id}")
    _check_dates(post.valid_from, valid_to)
    post.valid_to = valid_to
    session.flush()
    return post


def grid_labels(session: Session, *, by_level: bool = False) -> dict[int, str]:
    """Live grids as id → ``name（level）`` for pick lists, by id (or by level, then id)."""
    grids = session.scalars(select(Grid).where(not_deleted(Grid)).order_by(Grid.id)).all()
    if by_level:
        grids = sorted(grids, key=lambda g: (g.level, g.id))
    return {g.id: grid_label(g.name, g.level) for g in grids}


def person_labels(session: Session, *, active_only: bool = True, with_title: bool = True) -> dict[int, str]:
    """Persons as id → ``name（title）`` (or the bare name) for pick lists: active ones by id, or
    everyone by name (the patrol upload lists former staff's tracks too)."""
    query = select(Person)
    query = query.where(Person.status == "active").order_by(Person.id) if active_only else query.order_by(Person.name)
    return {p.id: person_label(p.name, p.title if with_title else None) for p in session.scalars(query)}

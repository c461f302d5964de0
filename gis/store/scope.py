"""Data scope (数据权限): which grids an account sees and acts on.

An account bound to a grid (``users.grid_id``) sees and acts only on that grid and every grid
below it: its cases, tracks, persons and evaluations, in pages, the command line and every later
surface. Accounts bound to no grid (the county level, administrators) see everything, and so do
sessions without an actor (the command line's operator without ``--as``, installation tasks).
Grids themselves, rivers and the responsibility chain stay visible to all: they are public
information (公示).

Services ask :func:`scope_of` for the session's actor and filter with :meth:`gis.auth.Scope.covers` or
:meth:`gis.auth.Scope.where`; :func:`grid_line` and :func:`grid_and_below` walk the grid tree.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.auth import EVERYTHING, Actor, Scope
from gis.model import UserRole
from gis.store.schema import CoTask, GridRoleAssignment, TransferRecord, User
from gis.store.tree import GridTree

__all__ = [
    "EVERYTHING",
    "Scope",
    "department_scope",
    "grid_and_below",
    "grid_line",
    "home_grid",
    "persons_in_scope",
    "scope_of",
]


def grid_line(session: Session, grid_id: int | None) -> list[int]:
    """``grid_id`` and its ancestors, bottom-up (deleted grids count: their cases keep their line)."""
    if grid_id is None:
        return []
    return GridTree.load(session, include_deleted=True).line(grid_id) or [grid_id]


def grid_and_below(session: Session, grid_id: int) -> list[int]:
    """``grid_id`` and the ids of every grid below it (children, grandchildren…), deleted ones included."""
    return GridTree.load(session, include_deleted=True).subtree(grid_id)


def home_grid(session: Session, actor: Actor | None) -> int | None:
    """The grid the actor's account is bound to (None: unbound, no account, or no actor)."""
    if actor is None or actor.installer:
        return None
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        user = session.scalar(select(User).where(User.username == actor.username))
    return None if user is None else user.grid_id


def department_scope(session: Session, actor: Actor | None) -> Scope | None:
    """The scope of a department account (成员单位, issue 17): no grid, only the cases sent to its
    department (协办 sub-tasks and 移交/移送 records); None for every other account."""
    if actor is None or actor.installer or actor.role is not UserRole.DEPARTMENT:
        return None
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        user = session.scalar(select(User).where(User.username == actor.username))
    dept = None if user is None else user.department_id
    if dept is None:
        return Scope(frozenset())
    cases = set(session.scalars(select(CoTask.incident_id).where(CoTask.department_id == dept)))
    cases |= set(session.scalars(select(TransferRecord.incident_id).where(TransferRecord.department_id == dept)))
    return Scope(frozenset(), None, dept, frozenset(cases))


def scope_of(session: Session, actor: Actor | None = None) -> Scope:
    """The scope of ``actor`` (default: the session's actor)."""
    actor = actor if actor is not None else session.info.get("actor")
    dept = department_scope(session, actor)
    if dept is not None:
        return dept
    home = home_grid(session, actor)
    if home is None:
        return EVERYTHING
    return Scope(frozenset(grid_and_below(session, home)), home)


def persons_in_scope(session: Session, scope: Scope) -> set[int] | None:
    """Ids of the persons holding a post in the scope's grids (None: everybody)."""
    if scope.grid_ids is None:
        return None
    return set(session.scalars(select(GridRoleAssignment.person_id).where(scope.where(GridRoleAssignment.grid_id))))

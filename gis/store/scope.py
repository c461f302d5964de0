"""Data scope (数据权限): which grids an account sees and acts on.

An account bound to a grid (``users.grid_id``) sees and acts only on that grid and every grid
below it: its cases, tracks, persons and evaluations, in pages, the command line and every later
surface. Accounts bound to no grid (the county level, administrators) see everything, and so do
sessions without an actor (the command line's operator without ``--as``, installation tasks).
Grids themselves, rivers and the responsibility chain stay visible to all: they are public
information (公示).

Services ask :func:`scope_of` for the session's actor and filter with :meth:`Scope.covers` or
:meth:`Scope.where`; :func:`grid_line` and :func:`grid_and_below` walk the grid tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.auth import Actor
from gis.store.schema import Grid, GridRoleAssignment, User

__all__ = ["EVERYTHING", "Scope", "grid_and_below", "grid_line", "home_grid", "limit_assessment", "limit_map_data",
           "persons_in_scope", "scope_of"]


@dataclass(frozen=True)
class Scope:
    """The grids an account may see: ``grid_ids`` (its grid and those below) or everything
    (``grid_ids`` None). ``home_grid_id`` is the grid it is bound to."""

    grid_ids: frozenset[int] | None = None
    home_grid_id: int | None = None

    @property
    def everything(self) -> bool:
        return self.grid_ids is None

    def covers(self, grid_id: int | None) -> bool:
        """Whether a record of grid ``grid_id`` is visible (a record of no grid: only to all)."""
        return self.grid_ids is None or (grid_id is not None and grid_id in self.grid_ids)

    def where(self, column: Any) -> Any:
        """A SQL condition on a grid id column, or None when everything is visible."""
        return None if self.grid_ids is None else column.in_(sorted(self.grid_ids))

    def filter(self, grid_ids: Iterable[int | None]) -> list[bool]:
        """:meth:`covers` of each grid id (for a data frame column)."""
        return [self.covers(g) for g in grid_ids]


EVERYTHING = Scope()


def grid_line(session: Session, grid_id: int | None) -> list[int]:
    """``grid_id`` and its ancestors, bottom-up."""
    line: list[int] = []
    while grid_id is not None and grid_id not in line:
        line.append(grid_id)
        grid = session.get(Grid, grid_id)
        grid_id = None if grid is None else grid.parent_id
    return line


def grid_and_below(session: Session, grid_id: int) -> list[int]:
    """``grid_id`` and the ids of every grid below it (children, grandchildren…)."""
    children: dict[int | None, list[int]] = {}
    for gid, parent in session.execute(select(Grid.id, Grid.parent_id)):
        children.setdefault(parent, []).append(gid)
    out, todo = [], [grid_id]
    while todo:
        gid = todo.pop()
        if gid not in out:
            out.append(gid)
            todo.extend(children.get(gid, []))
    return out


def home_grid(session: Session, actor: Actor | None) -> int | None:
    """The grid the actor's account is bound to (None: unbound, no account, or no actor)."""
    if actor is None or actor.installer:
        return None
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        user = session.scalar(select(User).where(User.username == actor.username))
    return None if user is None else user.grid_id


def scope_of(session: Session, actor: Actor | None = None) -> Scope:
    """The scope of ``actor`` (default: the session's actor)."""
    actor = actor if actor is not None else session.info.get("actor")
    home = home_grid(session, actor)
    if home is None:
        return EVERYTHING
    return Scope(frozenset(grid_and_below(session, home)), home)


def limit_map_data(data: Any, scope: Scope) -> Any:
    """``data`` (:class:`gis.store.queries.MapData`) with only the cases and tracks of ``scope``
    (grids, reaches and objects are public and stay)."""
    if scope.everything:
        return data
    from dataclasses import replace

    def keep(frame: Any) -> Any:
        if not len(frame) or "grid_id" not in frame:
            return frame
        return frame[[scope.covers(None if g is None or g != g else int(g)) for g in frame["grid_id"]]]

    return replace(data, incidents=keep(data.incidents), tracks=keep(data.tracks))


def limit_assessment(result: Any, rows: list[dict[str, Any]], scope: Scope) -> tuple[Any, list[dict[str, Any]]]:
    """An :class:`gis.assessment.indicators.Assessment` and its roll-up rows (:func:`gis.assessment.evaluations.rollup`)
    with only the grids of ``scope`` (ranks stay those among all siblings)."""
    if scope.everything:
        return result, rows
    from dataclasses import replace

    return (replace(result, grids=[g for g in result.grids if scope.covers(g.grid_id)]),
            [r for r in rows if scope.covers(r["grid_id"])])


def persons_in_scope(session: Session, scope: Scope) -> set[int] | None:
    """Ids of the persons holding a post in the scope's grids (None: everybody)."""
    if scope.grid_ids is None:
        return None
    return set(session.scalars(select(GridRoleAssignment.person_id).where(scope.where(GridRoleAssignment.grid_id))))

"""The grid hierarchy (县级 → 乡级 → 村级) as parent links: one walk for every part of the app.

:class:`GridTree` is built from ``(id, parent_id)`` pairs (or grid rows) and answers the
questions the scope rules, the checks, the assessment and the editor ask: a grid's line up to the
top (:meth:`GridTree.line`), everything below it (:meth:`GridTree.subtree`), its children, and its
branch (line plus subtree). Parents outside the given grids count as none (a grid whose parent was
deleted is a top grid of the live tree), and a cycle of parent links (which the store refuses, but
old data may hold) ends a walk instead of looping.

:meth:`GridTree.load` reads the links of the live grids, or of all grids (``include_deleted``): the
data scope (:mod:`gis.store.scope`) keeps counting a deleted grid's cases under its old parent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.store.schema import Grid, not_deleted

__all__ = ["GridTree"]


class _Linked(Protocol):
    id: int
    parent_id: int | None


class GridTree:
    """Parent links of a set of grids, walked without recursion."""

    def __init__(self, links: Iterable[tuple[int, int | None]]) -> None:
        pairs = [(int(gid), None if parent is None else int(parent)) for gid, parent in links]
        ids = {gid for gid, _ in pairs}
        self._parent: dict[int, int | None] = {gid: (p if p in ids else None) for gid, p in pairs}
        self._children: dict[int | None, list[int]] = {}
        for gid, parent in self._parent.items():
            self._children.setdefault(parent, []).append(gid)
        for kids in self._children.values():
            kids.sort()

    @classmethod
    def of(cls, grids: Iterable[_Linked]) -> GridTree:
        """The tree of these grid rows (or any objects with ``id`` and ``parent_id``)."""
        return cls((g.id, g.parent_id) for g in grids)

    @classmethod
    def load(cls, session: Session, *, include_deleted: bool = False) -> GridTree:
        """The tree of the live grids of the store (or of every grid, deleted ones included)."""
        query = select(Grid.id, Grid.parent_id)
        return cls(
            (gid, parent)
            for gid, parent in session.execute(query if include_deleted else query.where(not_deleted(Grid)))
        )

    def __contains__(self, grid_id: object) -> bool:
        return grid_id in self._parent

    def parent(self, grid_id: int) -> int | None:
        return self._parent.get(grid_id)

    def roots(self) -> list[int]:
        """Grids without a parent among these grids."""
        return list(self._children.get(None, []))

    def children(self, grid_id: int) -> list[int]:
        return list(self._children.get(grid_id, []))

    def line(self, grid_id: int | None) -> list[int]:
        """``grid_id`` and its ancestors, bottom-up (empty for None or an unknown grid)."""
        out: list[int] = []
        while grid_id is not None and grid_id in self._parent and grid_id not in out:
            out.append(grid_id)
            grid_id = self._parent[grid_id]
        return out

    def subtree(self, grid_id: int) -> list[int]:
        """``grid_id`` and every grid below it (children, grandchildren…), parents before children."""
        out: list[int] = []
        seen: set[int] = set()
        todo = [grid_id]
        while todo:
            gid = todo.pop()
            if gid in seen:
                continue
            seen.add(gid)
            out.append(gid)
            todo.extend(reversed(self._children.get(gid, [])))
        return out

    def branch(self, grid_id: int) -> set[int]:
        """The grids on ``grid_id``'s line and below it: where one person may hold posts."""
        return set(self.line(grid_id)) | set(self.subtree(grid_id))

"""Read models: what pages, layers and the command line show, built from the store.

Every function takes an open session and returns plain data (dicts, ORM rows); none writes.
The overview map's data is built in :mod:`gis.overview`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, selectinload

from gis import clock
from gis.model import (
    GridLevel,
    GridRole,
)
from gis.store.schema import (
    AUDITED_TABLES,
    Base,
    Grid,
    GridRoleAssignment,
    OrgBody,
    Person,
    not_deleted,
)


def _active(assignment_valid_to: date | None, today: date) -> bool:
    return assignment_valid_to is None or assignment_valid_to >= today


def grid_people(grid: Grid, *, today: date | None = None) -> dict[GridRole, list[Person]]:
    """Current holders of each post of ``grid`` (assignments whose period includes ``today``)."""
    today = today or clock.today()
    people: dict[GridRole, list[Person]] = {role: [] for role in GridRole}
    for a in sorted(grid.roles, key=lambda a: (a.sort, a.id)):
        if (a.valid_from is None or a.valid_from <= today) and _active(a.valid_to, today):
            people[GridRole(a.role)].append(a.person)
    return people


def live_grids(session: Session) -> list[Grid]:
    """Grids not deleted, with their posts loaded, ordered by level then name."""
    grids = session.scalars(
        select(Grid)
        .where(not_deleted(Grid))
        .options(selectinload(Grid.roles).selectinload(GridRoleAssignment.person), selectinload(Grid.parent))
    ).all()
    return sorted(grids, key=lambda g: (GridLevel(g.level).rank, g.id))


def table_counts(session: Session) -> dict[str, int]:
    """Number of rows in every table (the audit log included) that the database has (one at an
    older revision lacks the newer tables)."""
    counts: dict[str, int] = {}
    present = set(inspect(session.connection()).get_table_names())
    for table in Base.metadata.sorted_tables:
        if table.name in present and (table.name in AUDITED_TABLES or table.name == "audit_log"):
            counts[table.name] = int(session.scalar(select(func.count()).select_from(table)) or 0)
    return dict(sorted(counts.items()))


def person_json(p: Person, *, with_phone: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"id": p.id, "name": p.name, "title": p.title, "unit": p.unit, "status": p.status}
    if with_phone:
        out["phone"] = p.phone
    return out


def store_info(session: Session) -> dict[str, Any]:
    """Counts per table, each grid with its current responsible persons, and the leading group."""
    grids = []
    for g in live_grids(session):
        people = grid_people(g)
        grids.append(
            {
                "id": g.id,
                "name": g.name,
                "level": g.level,
                "level_label": GridLevel(g.level).label,
                "parent": g.parent.name if g.parent else None,
                "responsible_body": g.responsible_body,
                "illustrative": g.illustrative,
                "persons": {role.value: [person_json(p) for p in people[role]] for role in GridRole if people[role]},
            }
        )
    bodies = []
    for body in session.scalars(select(OrgBody).options(selectinload(OrgBody.members))):
        bodies.append(
            {
                "name": body.name,
                "kind": body.kind,
                "members": [
                    {"position": m.position, "name": m.person.name, "title": m.person.title} for m in body.members
                ],
            }
        )
    return {"counts": table_counts(session), "grids": grids, "organisation": bodies}

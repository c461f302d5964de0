"""Grid versions as a timeline: every saved state of a grid, read from ``grid_versions`` and, for
states written outside :mod:`gis.grids.versions` (imports, undo, old databases), from the audit
log (implicit versions, ``recorded`` false).

:func:`grid_history` lists a grid's versions for the page 网格管理, :func:`grids_as_of` gives the
grids as they were at a moment (for checking the past); :func:`timeline` and :func:`materialise`
are what the editing service (:mod:`gis.grids.versions`) records and restores with.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from gis.auth import SYSTEM
from gis.errors import NotFoundError, ValidationError
from gis.model import LOCAL_TZ, STORE_CRS
from gis.store.schema import AuditEntry, Grid, GridVersion, User

__all__ = [
    "ATTRIBUTE_FIELDS",
    "GridVersionInfo",
    "attributes",
    "display_names",
    "grid_history",
    "grids_as_of",
    "insert_version",
    "local_time_text",
    "materialise",
    "timeline",
    "timelines",
    "unrecorded",
]


ATTRIBUTE_FIELDS = (
    "code",
    "responsible_body",
    "area_desc",
    "personnel_desc",
    "duties",
    "tasks",
    "rewards",
    "hotline",
    "illustrative",
)
"""Grid columns kept in ``GridVersion.attributes`` (the 五定 texts and the rest)."""


@dataclass(frozen=True)
class GridVersionInfo:
    """One version of a grid as :func:`grid_history` lists it.

    ``recorded`` is false for an implicit version (see the module notes) not yet written to
    ``grid_versions``; ``saved_at`` is ``None`` when the time is unknown; ``author`` is a user
    name, ``author_name`` the display name.
    """

    grid_id: int
    version: int
    name: str
    level: str
    parent_id: int | None
    geometry: BaseGeometry | None
    attributes: dict[str, Any]
    deleted: bool
    author: str
    saved_at: datetime | None
    note: str
    recorded: bool
    author_name: str = ""
    current: bool = False


def attributes(source: Grid | Mapping[str, Any]) -> dict[str, Any]:
    get = source.get if isinstance(source, Mapping) else lambda k: getattr(source, k)
    return {k: get(k) for k in ATTRIBUTE_FIELDS}


def display_names(session: Session, usernames: Iterable[str]) -> dict[str, str]:
    names = {u: u for u in usernames if u}
    if names:
        with session.no_autoflush:
            rows = session.execute(select(User.username, User.display_name).where(User.username.in_(list(names))))
            names.update({u: d for u, d in rows if d})
    if SYSTEM.username in names and names[SYSTEM.username] == SYSTEM.username:
        names[SYSTEM.username] = SYSTEM.display_name
    return names


def local_time_text(when: datetime) -> str:
    return when.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _from_version_row(v: GridVersion) -> GridVersionInfo:
    return GridVersionInfo(
        grid_id=v.grid_id,
        version=v.version,
        name=v.name,
        level=v.level,
        parent_id=v.parent_id,
        geometry=v.geom,
        attributes=dict(v.attributes or {}),
        deleted=bool(v.deleted),
        author=v.author,
        saved_at=v.saved_at,
        note=v.note,
        recorded=True,
    )


def _from_audit(e: AuditEntry, grid_id: int) -> GridVersionInfo:
    after = e.after or {}
    geom = after.get("geom")
    return GridVersionInfo(
        grid_id=grid_id,
        version=int(after["version"]),
        name=after.get("name", ""),
        level=after.get("level", ""),
        parent_id=after.get("parent_id"),
        geometry=shapely.from_wkt(geom) if geom else None,
        attributes=attributes(after),
        deleted=after.get("deleted_at") is not None,
        author=e.username,
        saved_at=e.at,
        note="创建（据修改记录补记）" if e.action == "insert" else "编辑器之外的修改（据修改记录补记）",
        recorded=False,
    )


def _from_live(grid: Grid) -> GridVersionInfo:
    return GridVersionInfo(
        grid_id=grid.id,
        version=grid.version,
        name=grid.name,
        level=grid.level,
        parent_id=grid.parent_id,
        geometry=grid.geom,
        attributes=attributes(grid),
        deleted=grid.deleted_at is not None,
        author="",
        saved_at=None,
        note="现状（开始记录历史之前的状态，时间不详）",
        recorded=False,
    )


def timelines(session: Session, grids: list[Grid]) -> dict[int, list[GridVersionInfo]]:
    """Every grid's versions, oldest first: recorded rows, then audit states, then the live row."""
    ids = [g.id for g in grids]
    if not ids:
        return {}
    with session.no_autoflush:
        recorded = session.scalars(
            select(GridVersion).where(GridVersion.grid_id.in_(ids)).order_by(GridVersion.grid_id, GridVersion.version)
        ).all()
        entries = session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.table_name == Grid.__tablename__,
                AuditEntry.row_id.in_(ids),
                AuditEntry.action.in_(("insert", "update")),
            )
            .order_by(AuditEntry.id)
        ).all()
    by_grid: dict[int, dict[int, GridVersionInfo]] = defaultdict(dict)
    for v in recorded:
        by_grid[v.grid_id][v.version] = _from_version_row(v)
    audited: dict[int, dict[int, GridVersionInfo]] = defaultdict(dict)
    for e in entries:
        if e.row_id is not None and e.after is not None and e.after.get("version") is not None:
            grid_id = int(e.row_id)  # never None: the query asked for these row ids
            audited[grid_id][int(e.after["version"])] = _from_audit(e, grid_id)  # a later entry wins
    out = {}
    for g in grids:
        versions = by_grid[g.id]
        for number, info in audited[g.id].items():
            versions.setdefault(number, info)
        if g.version not in versions:
            versions[g.version] = _from_live(g)
        out[g.id] = [versions[k] for k in sorted(versions) if k <= g.version]
    return out


def timeline(session: Session, grid: Grid) -> list[GridVersionInfo]:
    return timelines(session, [grid])[grid.id]


def insert_version(session: Session, info: GridVersionInfo) -> None:
    with session.no_autoflush:  # pending grid changes are flushed by _flush, which reports conflicts
        session.execute(
            insert(cast(Table, GridVersion.__table__)).values(
                grid_id=info.grid_id,
                version=info.version,
                name=info.name,
                level=info.level,
                parent_id=info.parent_id,
                geom=info.geometry,
                attributes=info.attributes,
                deleted=info.deleted,
                author=info.author,
                saved_at=info.saved_at,
                note=info.note,
            )
        )


def unrecorded(session: Session, grid: Grid) -> list[GridVersionInfo]:
    """The grid's implicit versions (see the module notes); read them before changing the grid."""
    return [v for v in timeline(session, grid) if not v.recorded]


def materialise(session: Session, grid: Grid, versions: list[GridVersionInfo] | None = None) -> None:
    """Record the grid's implicit versions (``versions`` as read by :func:`unrecorded`)."""
    for info in unrecorded(session, grid) if versions is None else versions:
        insert_version(session, info)


def grid_history(session: Session, grid_id: int) -> list[GridVersionInfo]:
    """The versions of a grid, oldest first, the last one marked ``current``.

    Includes implicit versions (``recorded`` false) of states written outside this module;
    see the module notes. Reading needs no permission (like every read of the store), so
    leaders can see the history they cannot change.
    """
    grid = session.get(Grid, grid_id)
    if grid is None:
        raise NotFoundError(f"没有编号为 {grid_id} 的网格", f"no grid {grid_id}")
    versions = timeline(session, grid)
    names = display_names(session, {v.author for v in versions})
    out = [replace(v, author_name=names.get(v.author, v.author)) for v in versions]
    out[-1] = replace(out[-1], current=True)
    return out


def grids_as_of(session: Session, when: datetime) -> gpd.GeoDataFrame:
    """The grids as they were at ``when``: for checking the past with :func:`gis.checks.report.check_layers`.

    Each grid contributes the latest of its versions saved at or before ``when`` (a version of
    unknown date counts as always valid), unless that version is a deletion or the grid did not
    exist yet. Grids removed outright (not soft-deleted) are not known any more.

    Parameters
    ----------
    when
        A timezone-aware datetime.

    Returns
    -------
    GeoDataFrame
        Columns ``id``, ``name``, ``level``, ``parent_id``, ``version``, ``author``,
        ``saved_at``, ``geometry`` (EPSG:4326), ordered by id.
    """
    if not isinstance(when, datetime) or when.tzinfo is None:
        raise ValidationError("查询时间需要带时区（例如北京时间或 UTC）", "when must be a timezone-aware datetime")
    when = when.astimezone(UTC)
    grids = list(session.scalars(select(Grid).order_by(Grid.id)))
    rows = []
    for gid, versions in timelines(session, grids).items():
        valid = [v for v in versions if v.saved_at is None or v.saved_at <= when]
        if not valid or valid[-1].deleted:
            continue
        v = valid[-1]
        rows.append(
            {
                "id": gid,
                "name": v.name,
                "level": v.level,
                "parent_id": v.parent_id,
                "version": v.version,
                "author": v.author,
                "saved_at": v.saved_at,
                "geometry": v.geometry,
            }
        )
    columns = ["id", "name", "level", "parent_id", "version", "author", "saved_at"]
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=STORE_CRS)
    frame = pd.DataFrame(rows, columns=columns + ["geometry"]).sort_values("id", ignore_index=True)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=STORE_CRS)

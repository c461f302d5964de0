"""Grid versions (网格管理, the session-bound service): save with fit, split, merge, delete,
restore, conflicts and past states.

The store functions (:func:`save_grid`, :func:`restore_version`, :func:`delete_grid`,
:func:`restore_grid`, :func:`split_grid`, :func:`merge_grids`) change grids inside an audited
session (:meth:`gis.store.Store.session`), so every change is permission-checked, written to the
audit log in the caller's transaction and can be undone with :func:`gis.store.audit.undo_batch`.
:func:`grid_history` and :func:`grids_as_of` read. The geometry they apply (fit on save, the
parts of a split, the union of a merge) is the pure core :mod:`gis.grids.fit`.

Geometries go in and come out in EPSG:4326 (longitude/latitude, decimal degrees).

Versions
--------
``grid_versions`` (:class:`~gis.store.schema.GridVersion`) holds one row per saved state;
``GridVersion.version`` is the grid's ``version`` (its optimistic-locking counter) right after
that state was written, so the row with ``version == grid.version`` is the live grid. Every
writing function here takes the ``expected_version`` the user's screen was built from and
raises :class:`~gis.errors.ConflictError` naming who saved the grid last, and when, if it moved
on; nothing is overwritten silently.

Grids written outside this module (the demo loader, imports, attribute pages, an undo from the
audit page) change ``grid.version`` without a history row. Their states are not lost: the
audit log holds each of them, so the history of a grid is its recorded rows plus an *implicit*
version for every audited state of a version number not recorded (author and time from the
audit entry), plus, when even that is missing, the live row itself (author and time unknown).
:func:`grid_history` and :func:`grids_as_of` show implicit versions without writing; the next
write to the grid records them (``recorded`` then becomes true), so a demo grid at version 1
gets its version 1 (author ``system``, the time it was loaded) and version 2 on its first save.
An undone save stays in the history as what it was, followed by the undo as a later version.
History rows are written with plain INSERTs in the caller's transaction and are not audited
themselves (the grid rows they describe are); undoing a grid's creation removes its history.

Permissions: every writing function requires ``geodata.write`` (staff, admin) of the
session's actor and raises :class:`~gis.errors.PermissionDenied` otherwise (leaders); the
reads need none, like every read of the store, so leaders can look at the history.

For the editor page (网格管理): :func:`preview_fit` is the fit a save would apply, against the
live family, without writing; :func:`gis.grids.fit.split_parts` the two parts a line would make;
:func:`siblings` the merge candidates and :func:`deleted_grids` the restorable grids.

After a save, hand ``SaveResult.grid_id`` and ``SaveResult.geometry`` to
:meth:`gis.checks.report.IncrementalCheck.update_grid` to refresh the 盲区检查.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gis.auth import Actor, require
from gis.errors import ConflictError, GeometryError, NotFoundError, ValidationError
from gis.grids.fit import FIT_OPTIONS, FitResult, are_neighbours, as_geometry, fit_grid, merged_boundary, split_parts
from gis.grids.timeline import (
    ATTRIBUTE_FIELDS,
    GridVersionInfo,
    attributes,
    display_names,
    grid_history,
    grids_as_of,
    insert_version,
    local_time_text,
    materialise,
    timeline,
    unrecorded,
)
from gis.model import GridLevel
from gis.store.schema import Grid, not_deleted, utcnow

__all__ = [
    "ATTRIBUTE_FIELDS",
    "EDITABLE_FIELDS",
    "GridVersionInfo",
    "SaveResult",
    "delete_grid",
    "deleted_grids",
    "grid_geometry",
    "grid_history",
    "grids_as_of",
    "merge_grids",
    "preview_fit",
    "restore_grid",
    "restore_version",
    "save_grid",
    "siblings",
    "split_grid",
]

EDITABLE_FIELDS = ("name", "level", "parent_id", *ATTRIBUTE_FIELDS)
"""Keys accepted in ``attributes`` of :func:`save_grid`."""

_KEEP: Any = object()
"""Default of :func:`preview_fit`'s ``parent_id``: the grid's own parent."""


# =============================================================================================
# Results
# =============================================================================================


@dataclass(frozen=True)
class SaveResult:
    """Outcome of a write to one grid.

    ``version`` is the grid's version now (pass it as ``expected_version`` next time);
    ``changed`` is false when the save changed nothing (then no version is written).
    ``geometry`` is the boundary saved (EPSG:4326), to hand to
    :meth:`gis.checks.report.IncrementalCheck.update_grid`.
    """

    grid_id: int
    version: int
    name: str
    geometry: BaseGeometry | None
    created: bool = False
    changed: bool = True
    fit: FitResult | None = None


# =============================================================================================
# Store: helpers
# =============================================================================================


def _writer(session: Session) -> Actor:
    return require(session.info.get("actor"), "geodata.write")


def _load(session: Session, grid_id: int, *, lock: bool = True) -> Grid:
    """The grid, freshly read (and row-locked on PostgreSQL until the transaction ends)."""
    grid = session.get(Grid, grid_id, with_for_update=True if lock else None, populate_existing=lock)
    if grid is None:
        raise NotFoundError(f"没有编号为 {grid_id} 的网格", f"no grid {grid_id}")
    return grid


def _live(grid: Grid) -> Grid:
    if grid.deleted_at is not None:
        raise NotFoundError(f"网格“{grid.name}”已删除，请先恢复后再编辑", f"grid {grid.id} is deleted")
    return grid


def _record(session: Session, grid: Grid, actor: Actor, note: str) -> None:
    """Write the grid's current (just flushed) state as a version by ``actor``."""
    insert_version(
        session,
        GridVersionInfo(
            grid_id=grid.id,
            version=grid.version,
            name=grid.name,
            level=grid.level,
            parent_id=grid.parent_id,
            geometry=grid.geom,
            attributes=attributes(grid),
            deleted=grid.deleted_at is not None,
            author=actor.username,
            saved_at=utcnow(),
            note=note,
            recorded=True,
        ),
    )


def _conflict(
    session: Session | None,
    grid: Grid,
    expected: int | None,
    *,
    kept_geometry: Any = None,
    kept_attributes: dict[str, Any] | None = None,
    subject: str = "该网格",
) -> ConflictError:
    """The ConflictError for a stale save, naming who saved the grid last and when."""
    last = timeline(session, grid)[-1] if session is not None else None
    who = display_names(session, [last.author]).get(last.author, "") if session is not None and last else ""
    if who and last is not None and last.saved_at is not None:
        by = f"已被 {who} 于 {local_time_text(last.saved_at)} 修改"
    elif who:
        by = f"已被 {who} 修改"
    else:
        by = "已被他人修改"
    if kept_geometry is not None:
        then = "请刷新后重新编辑；您的图形已保留"
    elif kept_attributes:
        then = "请刷新后重新编辑；您填写的内容已保留"
    else:
        then = "请刷新后重新操作"
    exc = ConflictError(
        f"{subject}{by}，{then}",
        f"grid {grid.id} is at version {grid.version}, the edit was based on version {expected}",
    )
    exc.kept_geometry = kept_geometry  # type: ignore[attr-defined]
    exc.kept_attributes = kept_attributes  # type: ignore[attr-defined]
    exc.grid_id = grid.id  # type: ignore[attr-defined]
    exc.current_version = grid.version  # type: ignore[attr-defined]
    exc.changed_by = last.author if last is not None else ""  # type: ignore[attr-defined]
    exc.changed_at = last.saved_at if last is not None else None  # type: ignore[attr-defined]
    return exc


def _check_version(session: Session, grid: Grid, expected: int | None, **kept: Any) -> None:
    if expected is None:
        raise ValidationError(
            "修改已有网格时需要提供打开编辑时的版本号（expected_version）",
            f"expected_version is required to change grid {grid.id}",
        )
    if grid.version != expected:
        raise _conflict(session, grid, expected, **kept)


def _flush(session: Session, grid: Grid, expected: int | None, **kept: Any) -> None:
    try:
        session.flush()
    except StaleDataError as exc:  # saved by someone else between our read and our write
        raise _conflict(None, grid, expected, **kept) from exc


def _family(
    session: Session, grid_id: int | None, parent_id: int | None, level: str
) -> tuple[BaseGeometry | None, dict[str, BaseGeometry]]:
    """The parent's boundary and the live siblings' boundaries by name (fit_grid's inputs)."""
    parent = session.get(Grid, parent_id) if parent_id is not None else None
    query = select(Grid).where(not_deleted(Grid), Grid.geom.is_not(None))
    query = (
        query.where(Grid.parent_id == parent_id)
        if parent_id is not None
        else query.where(Grid.parent_id.is_(None), Grid.level == level)
    )
    if grid_id is not None:
        query = query.where(Grid.id != grid_id)
    neighbours: dict[str, BaseGeometry] = {}
    for g in session.scalars(query.order_by(Grid.id)):
        neighbours[g.name if g.name not in neighbours else f"{g.name}（#{g.id}）"] = g.geom
    parent_geom = parent.geom if parent is not None and parent.deleted_at is None else None
    return parent_geom, neighbours


def _check_parent(session: Session, grid: Grid | None, parent_id: int | None) -> None:
    if parent_id is None:
        return
    parent = session.get(Grid, parent_id)
    if parent is None or parent.deleted_at is not None:
        raise NotFoundError(
            f"上级网格（编号 {parent_id}）不存在或已删除", f"parent grid {parent_id} missing or deleted"
        )
    if grid is not None and grid.id is not None:
        seen: set[int] = set()
        cur: Grid | None = parent
        while cur is not None and cur.id not in seen:
            if cur.id == grid.id:
                raise ValidationError(
                    f"不能把“{parent.name}”设为“{grid.name}”的上级：它是该网格本身或其下级",
                    f"parent {parent_id} would make a cycle",
                )
            seen.add(cur.id)
            cur = session.get(Grid, cur.parent_id) if cur.parent_id is not None else None


def _result(grid: Grid, *, created: bool = False, changed: bool = True, fit: FitResult | None = None) -> SaveResult:
    return SaveResult(
        grid_id=grid.id,
        version=grid.version,
        name=grid.name,
        geometry=grid.geom,
        created=created,
        changed=changed,
        fit=fit,
    )


def _live_children(session: Session, grid_id: int) -> list[Grid]:
    return list(session.scalars(select(Grid).where(Grid.parent_id == grid_id, not_deleted(Grid)).order_by(Grid.id)))


# =============================================================================================
# Store: writes
# =============================================================================================


def save_grid(
    session: Session,
    grid_id: int | None,
    *,
    geometry: Any,
    attributes: Mapping[str, Any] | None = None,
    expected_version: int | None,
    fit: bool = True,
    note: str = "",
    **fit_options: Any,
) -> SaveResult:
    """Create (``grid_id=None``) or update a grid, fitted and versioned, in one transaction.

    Parameters
    ----------
    session
        An audited session (:meth:`gis.store.Store.session`) whose actor may write geodata.
    grid_id
        The grid to update, or ``None`` to create one.
    geometry
        The drawn boundary (shapely or GeoJSON-like, EPSG:4326). ``None`` keeps the current
        boundary (an attributes-only save); for a new grid it leaves the grid undrawn.
    attributes
        Any of :data:`EDITABLE_FIELDS`: ``name``, ``level`` (code or Chinese label),
        ``parent_id`` and the 五定 texts. A new grid needs ``name`` and ``level``.
    expected_version
        The grid's ``version`` when the user opened it (``None`` to create).
    fit
        Apply :func:`gis.grids.fit.fit_grid` against the live parent and siblings (of the new parent when
        ``parent_id`` changes); ``fit_options`` are passed on (``snap_tolerance_m``, …).
    note
        A remark stored with the version.

    Returns
    -------
    SaveResult
        ``changed`` is false (and no version is written) when nothing differs.

    Raises
    ------
    PermissionDenied
        The actor may not write geodata (leaders, patrollers, nobody signed in).
    ConflictError
        The grid was saved by someone else since ``expected_version``; the message names who
        and when, ``exc.kept_geometry``/``exc.kept_attributes`` hold the caller's input.
    NotFoundError, ValidationError, GeometryError, DuplicateNameError
        Unknown or deleted grid or parent, bad attributes, geometry or name.
    """
    actor = _writer(session)
    unknown = sorted(set(fit_options) - FIT_OPTIONS)
    if unknown:
        raise TypeError(f"unknown fit options: {', '.join(unknown)}")
    attrs = dict(attributes or {})
    bad = sorted(set(attrs) - set(EDITABLE_FIELDS))
    if bad:
        raise ValidationError(f"无法识别的网格属性：{'、'.join(bad)}", f"unknown grid attributes {bad}")
    raw = as_geometry(geometry, "绘制的网格") if geometry is not None else None
    created = grid_id is None
    if grid_id is None:
        if expected_version is not None:
            raise ValidationError("新建网格时不应提供版本号", "expected_version must be None when creating")
        missing = [k for k in ("name", "level") if not str(attrs.get(k) or "").strip()]
        if missing:
            raise ValidationError("新建网格需要填写名称和层级", f"missing attributes {missing}")
        grid = Grid()
    else:
        grid = _live(_load(session, grid_id))
        _check_version(session, grid, expected_version, kept_geometry=raw, kept_attributes=attrs)
    if "name" in attrs:
        attrs["name"] = str(attrs["name"]).strip()
        if not attrs["name"]:
            raise ValidationError("网格名称不能为空", "empty name")
    level = GridLevel.from_any(attrs.get("level", grid.level)).value
    parent_id = attrs.get("parent_id", grid.parent_id)
    _check_parent(session, grid, parent_id)

    fitted, geom = None, raw
    if raw is not None and fit:
        parent_geom, neighbours = _family(session, grid.id, parent_id, level)
        fitted = fit_grid(raw, parent=parent_geom, neighbours=neighbours, **fit_options)
        geom = fitted.geometry
    implicit = [] if created else unrecorded(session, grid)
    for key, value in attrs.items():
        setattr(grid, key, value)
    grid.level = level
    if geom is not None:
        grid.geom = geom
    if created:
        session.add(grid)
    elif not session.is_modified(grid, include_collections=False):
        return _result(grid, changed=False, fit=fitted)
    materialise(session, grid, implicit)
    _flush(session, grid, expected_version, kept_geometry=raw, kept_attributes=attrs)
    _record(session, grid, actor, note or ("新建网格" if created else ""))
    return _result(grid, created=created, fit=fitted)


def restore_version(
    session: Session, grid_id: int, version: int, *, expected_version: int, note: str = ""
) -> SaveResult:
    """Make an earlier version current again, as a new version (boundary and attributes as then).

    The boundary comes back exactly as it was (no fitting: run the topology check to see how
    it sits with neighbours that changed since). Restoring the current state changes nothing.
    """
    actor = _writer(session)
    grid = _live(_load(session, grid_id))
    _check_version(session, grid, expected_version)
    target = next((v for v in timeline(session, grid) if v.version == version), None)
    if target is None:
        raise NotFoundError(f"网格“{grid.name}”没有第 {version} 版", f"grid {grid_id} has no version {version}")
    _check_parent(session, grid, target.parent_id)
    implicit = unrecorded(session, grid)
    grid.name, grid.level, grid.parent_id, grid.geom = target.name, target.level, target.parent_id, target.geometry
    for key in ATTRIBUTE_FIELDS:
        if key in target.attributes and target.attributes[key] is not None:
            setattr(grid, key, target.attributes[key])
    if not session.is_modified(grid, include_collections=False):
        return _result(grid, changed=False)
    materialise(session, grid, implicit)
    _flush(session, grid, expected_version)
    _record(session, grid, actor, f"恢复为第 {version} 版" + (f"：{note}" if note else ""))
    return _result(grid)


def delete_grid(session: Session, grid_id: int, *, expected_version: int, note: str = "") -> SaveResult:
    """Soft-delete a grid (``deleted_at`` set; :func:`restore_grid` brings it back).

    Refused while the grid has live child grids.
    """
    actor = _writer(session)
    grid = _live(_load(session, grid_id))
    _check_version(session, grid, expected_version)
    children = _live_children(session, grid.id)
    if children:
        names = "、".join(f"“{c.name}”" for c in children[:5]) + ("等" if len(children) > 5 else "")
        raise ValidationError(
            f"网格“{grid.name}”下还有 {len(children)} 个下级网格（{names}），请先删除或调整下级网格",
            f"grid {grid_id} has {len(children)} live children",
        )
    materialise(session, grid)
    grid.deleted_at = utcnow()
    _flush(session, grid, expected_version)
    _record(session, grid, actor, "删除网格" + (f"：{note}" if note else ""))
    return _result(grid)


def restore_grid(session: Session, grid_id: int, *, expected_version: int, note: str = "") -> SaveResult:
    """Bring back a soft-deleted grid as a new version (its parent must be live)."""
    actor = _writer(session)
    grid = _load(session, grid_id)
    if grid.deleted_at is None:
        raise ValidationError(f"网格“{grid.name}”没有被删除", f"grid {grid_id} is not deleted")
    _check_version(session, grid, expected_version)
    if grid.parent_id is not None:
        parent = session.get(Grid, grid.parent_id)
        if parent is None or parent.deleted_at is not None:
            raise ValidationError("上级网格已删除，请先恢复上级网格", f"parent {grid.parent_id} is deleted")
    materialise(session, grid)
    grid.deleted_at = None
    _flush(session, grid, expected_version)
    _record(session, grid, actor, "恢复已删除的网格" + (f"：{note}" if note else ""))
    return _result(grid)


def split_grid(
    session: Session,
    grid_id: int,
    line: Any,
    *,
    expected_version: int,
    names: tuple[str, str] | None = None,
    note: str = "",
) -> tuple[SaveResult, SaveResult]:
    """Split a grid in two along a drawn line.

    The grid keeps the larger part (with its id, posts and references) as a new version and is
    renamed ``names[0]``; a new sibling (same parent, level and 示意 flag, 五定 texts empty)
    gets the other part and ``names[1]``. Default names: the grid's own name and
    ``<name>（二）``. Child grids stay with the original.

    Parameters
    ----------
    line
        LineString or MultiLineString in EPSG:4326 that crosses the grid once, both ends
        outside it.

    Returns
    -------
    (SaveResult, SaveResult)
        The original grid, then the new one.

    Raises
    ------
    GeometryError
        The line does not cut the grid into exactly two parts (pieces below
        :data:`gis.checks.topology.NOISE_AREA_M2` do not count).
    """
    actor = _writer(session)
    cut = as_geometry(line, "分割线")
    grid = _live(_load(session, grid_id))
    _check_version(session, grid, expected_version, kept_geometry=cut)
    if cut.geom_type not in ("LineString", "MultiLineString"):
        raise GeometryError(f"分割线应为线，实际为 {cut.geom_type}", f"expected a line, got {cut.geom_type}")
    if grid.geom is None:
        raise GeometryError(f"网格“{grid.name}”还没有边界，无法分割", f"grid {grid_id} has no geometry")
    geom_a, geom_b = split_parts(grid.geom, cut)
    name_a, name_b = names if names is not None else (grid.name, f"{grid.name}（二）")
    if not str(name_a).strip() or not str(name_b).strip():
        raise ValidationError("分割后的两个网格都需要名称", "empty name")
    materialise(session, grid)
    old_name = grid.name
    grid.geom, grid.name = geom_a, str(name_a).strip()
    _flush(session, grid, expected_version, kept_geometry=cut)
    new = Grid(
        name=str(name_b).strip(),
        level=grid.level,
        parent_id=grid.parent_id,
        illustrative=grid.illustrative,
        geom=geom_b,
    )
    session.add(new)
    session.flush()
    suffix = f"：{note}" if note else ""
    _record(session, grid, actor, f"分割：另一部分成为新网格“{new.name}”{suffix}")
    _record(session, new, actor, f"由“{old_name}”分割而来{suffix}")
    return _result(grid), _result(new, created=True)


def merge_grids(
    session: Session,
    keep_id: int,
    other_id: int,
    *,
    expected_versions: tuple[int, int],
    name: str | None = None,
    note: str = "",
) -> SaveResult:
    """Merge two neighbouring sibling grids: ``keep_id`` takes the union, ``other_id`` is deleted.

    Both must be live, drawn, of the same level and parent, and share a stretch of boundary
    (or overlap). The kept grid keeps its id, posts and attributes (``name`` renames it); the
    other is soft-deleted and its live child grids move to the kept grid. A version is written
    for each grid changed.

    Parameters
    ----------
    expected_versions
        ``(version of keep_id, version of other_id)`` as the user saw them.
    """
    actor = _writer(session)
    if keep_id == other_id:
        raise ValidationError("不能把网格与自身合并", "keep_id equals other_id")
    keep_version, other_version = expected_versions
    locked = {i: _load(session, i) for i in sorted((keep_id, other_id))}  # lock in id order: no deadlock
    keep, other = _live(locked[keep_id]), _live(locked[other_id])
    _check_version(session, keep, keep_version, subject=f"网格“{keep.name}”")
    _check_version(session, other, other_version, subject=f"网格“{other.name}”")
    if keep.parent_id != other.parent_id or keep.level != other.level:
        raise ValidationError(
            f"只能合并同一上级网格下的同级网格：“{keep.name}”与“{other.name}”不是同级相邻网格",
            f"grids {keep_id} and {other_id} differ in parent or level",
        )
    if keep.geom is None or other.geom is None:
        raise GeometryError("两个网格都需要有边界才能合并", "a grid without geometry")
    if not are_neighbours(keep.geom, other.geom):
        raise ValidationError(
            f"“{keep.name}”与“{other.name}”不相邻（没有共同边界），不能合并",
            f"grids {keep_id} and {other_id} share no boundary",
        )
    merged = merged_boundary(keep.geom, other.geom)
    children = _live_children(session, other.id)
    for g in (keep, other, *children):
        materialise(session, g)
    other.deleted_at = utcnow()
    _flush(session, other, other_version)
    for child in children:
        child.parent_id = keep.id
    keep.geom = merged
    if name is not None and str(name).strip():
        keep.name = str(name).strip()
    _flush(session, keep, keep_version)
    suffix = f"：{note}" if note else ""
    _record(session, keep, actor, f"合并：并入“{other.name}”{suffix}")
    _record(session, other, actor, f"合并到“{keep.name}”，已删除{suffix}")
    for child in children:
        _record(session, child, actor, f"上级网格“{other.name}”并入“{keep.name}”，上级调整为“{keep.name}”")
    return _result(keep)


# =============================================================================================
# Store: reads
# =============================================================================================


def preview_fit(
    session: Session,
    grid_id: int | None,
    geometry: Any,
    *,
    level: str | None = None,
    parent_id: Any = _KEEP,
    **fit_options: Any,
) -> FitResult:
    """What :func:`save_grid` with ``fit=True`` would make of ``geometry`` (nothing is written).

    Fits against the live parent and siblings, exactly as the save will, so the page can show
    the changes (areas added and removed, pieces dropped) before the user confirms.

    Parameters
    ----------
    grid_id
        The grid being edited, or ``None`` for a new one.
    geometry
        The drawing (shapely or GeoJSON-like, EPSG:4326).
    level, parent_id
        For a new grid (or one being moved): its level and parent; by default the grid's own.
    """
    grid = _live(_load(session, grid_id, lock=False)) if grid_id is not None else None
    if grid is None and level is None:
        raise ValidationError("新建网格需要先选择层级", "level is required to preview a new grid")
    lvl = GridLevel.from_any(level if level is not None else grid.level).value  # type: ignore[union-attr]
    parent = (grid.parent_id if grid is not None else None) if parent_id is _KEEP else parent_id
    unknown = sorted(set(fit_options) - FIT_OPTIONS)
    if unknown:
        raise TypeError(f"unknown fit options: {', '.join(unknown)}")
    parent_geom, neighbours = _family(session, grid_id, parent, lvl)
    return fit_grid(as_geometry(geometry, "绘制的网格"), parent=parent_geom, neighbours=neighbours, **fit_options)


def siblings(session: Session, grid_id: int) -> list[Grid]:
    """The live grids of the same level and parent as ``grid_id``, drawn ones only, by name
    (candidates for :func:`merge_grids`)."""
    grid = _live(_load(session, grid_id, lock=False))
    parent = Grid.parent_id == grid.parent_id if grid.parent_id is not None else Grid.parent_id.is_(None)
    query = select(Grid).where(
        not_deleted(Grid), Grid.geom.is_not(None), Grid.id != grid.id, Grid.level == grid.level, parent
    )
    return sorted(session.scalars(query), key=lambda g: (g.name, g.id))


def deleted_grids(session: Session) -> list[Grid]:
    """Soft-deleted grids, newest deletion first (candidates for :func:`restore_grid`)."""
    rows = session.scalars(select(Grid).where(Grid.deleted_at.is_not(None)))
    return sorted(rows, key=lambda g: g.deleted_at, reverse=True)  # type: ignore[arg-type, return-value]


def grid_geometry(session: Session, grid_id: int) -> BaseGeometry | None:
    """The current boundary of grid ``grid_id`` (None when it has none); NotFoundError when no such grid."""
    grid = session.get(Grid, grid_id)
    if grid is None:
        raise NotFoundError(f"没有编号为 {grid_id} 的网格", f"no grid {grid_id}")
    return grid.geom

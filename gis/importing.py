"""Import features from a geodata file into the store, all or nothing.

:func:`import_file` reads a layer with :mod:`gis.io.files` (limits of :mod:`gis.limits`, CRS
detection, reprojection, optional GCJ-02/BD-09 correction, refusal of non-finite coordinates,
repair of invalid geometries), maps its columns onto one kind of record and writes every record
in the caller's transaction. Features farther than ``RIVERGRID_MAX_DISTANCE_KM`` from the
deployment's top-level grid are refused unless ``allow_far`` (:mod:`gis.grids.jurisdiction`; a grid
without parent, a new top-level grid, is not checked). Any bad record raises before the
transaction commits, so a failed import leaves the store unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis import clock, io
from gis.errors import NotFoundError, ValidationError
from gis.grids.jurisdiction import check_near
from gis.model import (
    LOCAL_TZ,
    Category,
    GridLevel,
    IncidentSource,
    IncidentStatus,
    RiverLevel,
    Severity,
)
from gis.patrol.track_import import import_track_file
from gis.store.codes import next_incident_code
from gis.store.schema import Grid, Incident, Reach, River, SupervisedObject, not_deleted

KINDS = ("rivers", "grids", "tracks", "objects", "incidents")

KIND_LABELS = {"rivers": "河段", "grids": "网格", "tracks": "巡河轨迹", "objects": "监管对象", "incidents": "事件"}

FIELD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("name", "名称", "河段名称", "网格名称", "对象名称", "标题", "title", "mc"),
    "river": ("river", "river_name", "河流", "所属河流", "河流名称"),
    "code": ("code", "编码", "编号", "河段编码"),
    "level": ("level", "级别", "层级", "等级"),
    "parent": ("parent", "parent_name", "上级网格", "上级"),
    "responsible_body": ("responsible_body", "责任主体"),
    "category": ("category", "类别", "类型", "分类"),
    "description": ("description", "desc", "描述", "说明", "备注"),
    "severity": ("severity", "严重程度", "等级程度"),
    "status": ("status", "状态"),
    "reported_at": ("reported_at", "time", "时间", "上报时间"),
    "start_station_m": ("start_station_m", "起点桩号", "起始桩号"),
    "reporter": ("reporter", "上报人"),
}


@dataclass
class ImportReport:
    """What an import did: rows written per table, warnings, and the audit batch to undo it."""

    kind: str
    layer: str
    source_crs: str
    written: dict[str, int] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    batch: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "layer": self.layer,
            "source_crs": self.source_crs,
            "written": self.written,
            "ids": self.ids,
            "warnings": self.warnings,
            "batch": self.batch,
        }


def _column_for(frame: pd.DataFrame, key: str, mapping: Mapping[str, str]) -> str | None:
    if key in mapping:
        if mapping[key] not in frame.columns:
            raise ValidationError(
                f"文件中没有字段“{mapping[key]}”，现有字段：{'、'.join(map(str, frame.columns))}",
                f"no column {mapping[key]!r}",
            )
        return mapping[key]
    lower = {str(c).lower(): c for c in frame.columns}
    for candidate in FIELD_SYNONYMS.get(key, (key,)):
        if candidate.lower() in lower:
            return str(lower[candidate.lower()])
    return None


class _Rows:
    """Row access by field key through the column mapping."""

    def __init__(self, frame: pd.DataFrame, mapping: Mapping[str, str]) -> None:
        self.frame = frame
        self.columns = {key: _column_for(frame, key, mapping) for key in FIELD_SYNONYMS}

    def value(self, row: pd.Series, key: str, default: Any = None) -> Any:
        col = self.columns.get(key)
        if col is None:
            return default
        value = row[col]
        if value is None or (not isinstance(value, (list, dict)) and pd.isna(value)):
            return default
        return value.strip() if isinstance(value, str) else value

    def text(self, row: pd.Series, key: str, default: str = "") -> str:
        value = self.value(row, key, default)
        return str(value) if value is not None else default

    def require(self, key: str, what: str) -> None:
        if self.columns.get(key) is None:
            raise ValidationError(
                f"导入{what}需要“{FIELD_SYNONYMS[key][1]}”字段（可用 --map {key}=字段名 指定），"
                f"现有字段：{'、'.join(map(str, self.frame.columns)) or '无'}",
                f"missing column for {key}",
            )


def _row_label(i: Any, name: str) -> str:
    return f"第 {int(i) + 1} 条要素" + (f"“{name}”" if name else "")


_SHAPES = {
    "line": ("线", ("LineString", "MultiLineString")),
    "polygon": ("面", ("Polygon", "MultiPolygon")),
    "point": ("点", ("Point",)),
}


def _shaped(geom: BaseGeometry, shape: str, label: str, what: str) -> BaseGeometry:
    """``geom`` if it is a ``shape`` (line/polygon/point); else a Chinese error naming the row."""
    word, types = _SHAPES[shape]
    if geom.geom_type not in types:
        raise ValidationError(f"{label}不是{word}要素（{geom.geom_type}），不能作为{what}导入", f"not a {shape}")
    return geom


def _import_rivers(session: Session, frame: pd.DataFrame, rows: _Rows, report: ImportReport) -> None:
    rows.require("name", "河段")
    rivers: dict[str, River] = {r.name: r for r in session.scalars(select(River))}
    for i, row in frame.iterrows():
        name = rows.text(row, "name")
        label = _row_label(i, name)
        if not name:
            raise ValidationError(f"{label}缺少名称", "empty name")
        river_name = rows.text(row, "river") or name
        level = RiverLevel.from_any(rows.text(row, "level") or "village").value
        river = rivers.get(river_name)
        if river is None:
            river = rivers[river_name] = River(name=river_name, level=level)
            session.add(river)
            report.written["rivers"] = report.written.get("rivers", 0) + 1
        reach = Reach(
            river=river,
            name=name,
            code=rows.text(row, "code") or None,
            level=level,
            start_station_m=float(rows.value(row, "start_station_m", 0.0)),
            geom=_shaped(row.geometry, "line", label, "河段"),
        )
        session.add(reach)
        session.flush()
        report.ids.append(reach.id)


def _find_grid(session: Session, name: str) -> Grid:
    grid = session.scalar(select(Grid).where(Grid.name == name, not_deleted(Grid)).limit(1))
    if grid is None:
        raise NotFoundError(f"找不到上级网格“{name}”", f"no grid named {name!r}")
    return grid


def _parent_names(frame: pd.DataFrame, rows: _Rows, defaults: Mapping[str, str]) -> list[str]:
    return [rows.text(row, "parent") or defaults.get("parent", "") for _, row in frame.iterrows()]


def _import_grids(
    session: Session, frame: pd.DataFrame, rows: _Rows, report: ImportReport, defaults: Mapping[str, str]
) -> None:
    rows.require("name", "网格")
    for i, row in frame.iterrows():
        name = rows.text(row, "name")
        label = _row_label(i, name)
        if not name:
            raise ValidationError(f"{label}缺少名称", "empty name")
        level = GridLevel.from_any(rows.text(row, "level") or defaults.get("level", "village")).value
        parent_name = rows.text(row, "parent") or defaults.get("parent", "")
        parent = _find_grid(session, parent_name) if parent_name else None
        geom = _shaped(row.geometry, "polygon", label, "网格")
        grid = Grid(
            name=name, level=level, parent=parent, responsible_body=rows.text(row, "responsible_body"), geom=geom
        )
        session.add(grid)
        session.flush()
        report.ids.append(grid.id)


def _import_objects(session: Session, frame: pd.DataFrame, rows: _Rows, report: ImportReport) -> None:
    rows.require("name", "监管对象")
    rows.require("category", "监管对象")
    for i, row in frame.iterrows():
        name = rows.text(row, "name")
        geom = _shaped(row.geometry, "point", _row_label(i, name), "监管对象")
        obj = SupervisedObject(
            name=name,
            category=Category.from_any(rows.text(row, "category")).value,
            description=rows.text(row, "description"),
            geom=geom,
        )
        session.add(obj)
        session.flush()
        report.ids.append(obj.id)


def _timestamp(value: Any) -> datetime:
    if value is None:
        return clock.now()
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(LOCAL_TZ)
    moment: datetime = stamp.tz_convert("UTC").to_pydatetime()
    return moment


def _import_incidents(session: Session, frame: pd.DataFrame, rows: _Rows, report: ImportReport) -> None:
    rows.require("name", "事件")
    rows.require("category", "事件")

    for i, row in frame.iterrows():
        title = rows.text(row, "name")
        geom = _shaped(row.geometry, "point", _row_label(i, title), "事件")
        reported_at = _timestamp(rows.value(row, "reported_at"))
        incident = Incident(
            code=next_incident_code(session, reported_at),
            title=title,
            category=Category.from_any(rows.text(row, "category")).value,
            severity=Severity.from_any(rows.text(row, "severity") or "normal").value,
            status=IncidentStatus.from_any(rows.text(row, "status") or "reported").value,
            description=rows.text(row, "description"),
            source=IncidentSource.PATROL.value,
            reporter=rows.text(row, "reporter"),
            reported_at=reported_at,
            geom=geom,
        )
        session.add(incident)
        session.flush()
        report.ids.append(incident.id)


def _import_tracks(
    session: Session,
    path: Path,
    report: ImportReport,
    *,
    source_offset: str | None,
    defaults: Mapping[str, str],
    allow_far: bool,
) -> None:
    """Tracks go through :func:`gis.patrol.track_import.import_track_file` (GPX, KML/KMZ, CSV; cleaned,
    checked all or nothing, original file kept)."""

    if not defaults.get("person"):
        raise ValidationError("导入巡河轨迹需要指定巡查人员（--default person=姓名）", "tracks need a person")
    done = import_track_file(
        session,
        path,
        person=defaults["person"],
        grid=defaults.get("grid") or None,
        from_crs=source_offset,
        allow_far=allow_far,
    )
    report.ids.extend(done.ids)
    report.warnings.extend(done.warnings)


def import_file(
    session: Session,
    path: str | Path,
    kind: str,
    *,
    layer: str | None = None,
    crs: str | None = None,
    source_offset: str | None = None,
    mapping: Mapping[str, str] | None = None,
    defaults: Mapping[str, str] | None = None,
    allow_far: bool = False,
) -> ImportReport:
    """Import the features of ``path`` as ``kind`` records (rivers, grids, tracks, objects, incidents).

    Parameters
    ----------
    session
        An open store session whose actor may write the target tables.
    layer
        Layer to read (GeoPackage, KML, GPX); the first layer when omitted.
    crs
        CRS to assume when the file declares none (e.g. ``EPSG:4490``).
    source_offset
        ``"gcj02"`` or ``"bd09"``: the coordinates carry that offset and are converted to WGS84.
    mapping
        Field key → column name in the file, for columns the synonyms do not find
        (keys: name, river, code, level, parent, responsible_body, category, description, …).
    defaults
        Values for absent columns: ``level``, ``parent`` (grid name), ``person`` and ``grid``
        (for tracks).
    allow_far
        Import features farther than ``RIVERGRID_MAX_DISTANCE_KM`` from the top-level grid too
        (the user confirmed that they belong here; CLI ``--allow-far``).

    Raises
    ------
    TooFarError
        A feature lies too far from the top-level grid (the message names it and the distance).
    FileFormatError, LimitError, CRSError, GeometryError, ValidationError, NotFoundError
        The file or a record cannot be imported; nothing is written.
    """
    if kind not in KINDS:
        raise ValidationError(f"无法导入为“{kind}”，可选：{'、'.join(KINDS)}", f"unknown kind {kind!r}")
    path = Path(path)
    mapping = mapping or {}
    defaults = defaults or {}
    report = ImportReport(kind=kind, layer=layer or "", source_crs="EPSG:4326", batch=session.info.get("batch", ""))
    if kind == "tracks":
        _import_tracks(session, path, report, source_offset=source_offset, defaults=defaults, allow_far=allow_far)
    else:
        result = io.read_layer(path, layer=layer, crs=crs, source_offset=source_offset)
        report.layer, report.source_crs = result.layer, result.source_crs
        report.warnings.extend(result.warnings)
        frame = result.gdf.reset_index(drop=True)
        if frame.empty:
            raise ValidationError("文件中没有要素可导入", "no features")
        rows = _Rows(frame, mapping)
        measured: list[Any] = list(frame.geometry)
        if kind == "grids":  # a grid without parent is a (new) top-level grid: not measured
            measured = [
                g if parent else None for g, parent in zip(measured, _parent_names(frame, rows, defaults), strict=True)
            ]
        check_near(session, measured, labels=io.feature_labels(frame), allow_far=allow_far)
        if kind == "rivers":
            _import_rivers(session, frame, rows, report)
        elif kind == "grids":
            _import_grids(session, frame, rows, report, defaults)
        elif kind == "objects":
            _import_objects(session, frame, rows, report)
        else:
            _import_incidents(session, frame, rows, report)
    table = {
        "rivers": "reaches",
        "grids": "grids",
        "tracks": "patrol_tracks",
        "objects": "supervised_objects",
        "incidents": "incidents",
    }[kind]
    report.written[table] = len(report.ids)
    return report

"""The 盲区检查 report: horizontal coverage, grid topology and vertical completeness in one result.

:func:`check_store` checks the live data of the store, :func:`check_files` a rivers file and a
grids file. Both return a :class:`BlindSpotReport`, which serialises to JSON (the command line's
``check --json``), to a findings table (CSV / Excel) and feeds the map layer in
``layers/blindspots.py``.

Area of the horizontal check: at level *L* the reaches are checked against the grids of level
*L*, inside the area of the grids one level up (at village level, inside the township grids; the
nearest level up with drawn grids when that one has none): the parts of a county river outside the
township are not a village's business. At the top level (county) the area is the top grids
themselves: a river outside them is outside the jurisdiction (不在本街道（县）网格范围内), never a
blind spot. When no level above has drawn grids the whole of every reach is checked, and a note
says that blind spots and stretches outside the jurisdiction cannot be told apart.

Uncovered stretches shorter than ``min_gap_m`` (default :attr:`gis.config.Settings.min_gap_m`,
``RIVERGRID_MIN_GAP_M``, 0.5 m) are 微小缝隙 (and short double claims 微小重叠): listed by
:meth:`BlindSpotReport.slivers_table` for data cleaning, not findings, no assessment points; see
:mod:`gis.checks.coverage` for the semantics and the 1 µm coincidence tolerance beneath them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis.checks.coverage import CoverageChecker, CoverageResult, check_coverage
from gis.checks.findings import Finding, rule_label
from gis.checks.topology_tiled import check_topology_tiled
from gis.checks.vertical import check_vertical
from gis.config import settings
from gis.errors import ValidationError
from gis.formatting import plain as _plain
from gis.model import STORE_CRS, GridLevel
from gis.store.schema import Grid, Reach, not_deleted
from gis.tiling import default_tile_m

KIND_LABELS = {"coverage": "横向到边", "topology": "网格拓扑", "vertical": "纵向到底"}

SLIVER_KIND_LABELS = {"gap": "微小缝隙", "overlap": "微小重叠"}
"""Kinds of :meth:`gis.checks.coverage.CoverageResult.slivers`, in Chinese."""

SLIVER_COLUMNS = ["类别", "河段编号", "河段", "桩号", "长度（米）", "涉及网格", "说明"]

FINDING_COLUMNS = [
    "kind",
    "rule",
    "severity",
    "object_id",
    "object_name",
    "station",
    "length_m",
    "area_m2",
    "message",
    "geometry",
]


@dataclass
class BlindSpotReport:
    """Everything 盲区检查 found for one grid level.

    Attributes
    ----------
    level
        The grid level checked horizontally.
    coverage
        The horizontal coverage of the reaches by that level's grids.
    topology, vertical
        Grid topology and vertical completeness findings (vertical is empty for files).
    reach_names, grid_names
        Display names by id (ids themselves when the input has no names).
    warnings
        Chinese notes on repaired or skipped input.
    """

    level: str
    coverage: CoverageResult
    topology: list[Finding]
    vertical: list[Finding]
    reach_names: dict[Any, str] = field(default_factory=dict)
    grid_names: dict[Any, str] = field(default_factory=dict)
    river_of_reach: dict[Any, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    # -- serialisation ---------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """Totals of the horizontal check and the number of findings of each kind."""
        errors = [f for f in self.topology + self.vertical if f.severity == "error"]
        return {
            **self.coverage.totals(),
            **self.coverage.gap_totals(),
            "level": self.level,
            "uncovered_count": len(self.coverage.uncovered()),
            "sliver_count": len(self.coverage.slivers()),
            "overlap_count": len(self.coverage.overlaps()),
            "topology_count": len(self.topology),
            "vertical_count": len(self.vertical),
            "error_count": len(errors) + len(self.coverage.uncovered()) + len(self.coverage.overlaps()),
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``python -m gis check --json``."""

        def finding(f: Finding) -> dict[str, Any]:
            return {
                "rule": f.rule,
                "object_id": _plain(f.object_id),
                "message": f.message,
                "severity": f.severity,
                "area_m2": f.area_m2,
                "length_m": f.length_m,
                "related_ids": [_plain(x) for x in f.related_ids],
            }

        return {
            **self.summary(),
            "crs": f"EPSG:{self.coverage.crs.to_epsg()}" if self.coverage.crs.to_epsg() else self.coverage.crs.name,
            "min_gap_m": self.coverage.min_gap_m,
            "uncovered": self.coverage.uncovered(),
            "overlaps": self.coverage.overlaps(),
            "slivers": self.coverage.slivers(),
            "by_reach": [
                {k: _plain(v) for k, v in row.items()} for row in self.coverage.reach_totals.to_dict("records")
            ],
            "by_river": [{k: _plain(v) for k, v in row.items()} for row in self.by_river().to_dict("records")],
            "by_grid": [{k: _plain(v) for k, v in row.items()} for row in self.coverage.by_grid().to_dict("records")],
            "topology": [finding(f) for f in self.topology],
            "vertical": [finding(f) for f in self.vertical],
            "warnings": self.warnings + self.coverage.warnings,
        }

    def by_river(self) -> pd.DataFrame:
        """Coverage totals per river (reaches grouped by their river's name)."""
        groups = (
            pd.Series(self.river_of_reach)
            if self.river_of_reach
            else pd.Series({r: r for r in self.coverage.reach_totals["reach_id"]})
        )
        return self.coverage.by_group(groups).rename(columns={"group": "river"})

    def findings(self) -> gpd.GeoDataFrame:
        """Every finding as one table row (EPSG:4326 geometry), coverage first."""
        rows: list[dict[str, Any]] = []
        level_label = GridLevel(self.level).label if self.level in GridLevel._value2member_map_ else self.level
        iv = self.coverage.intervals_wgs84()
        reported = iv[(iv["status"] != "covered") & ~iv["sliver"]]
        for r in reported.itertuples():
            reach = self.reach_names.get(r.reach_id, str(r.reach_id))
            if r.status == "uncovered":
                near = self.grid_names.get(r.nearest_grid_id, r.nearest_grid_id)
                rule = "uncovered"
                msg = f"{reach} {r.station} 共 {r.length_m:,.0f} 米不在任何{level_label}内（最近：{near}）"
            else:
                names = "、".join(str(self.grid_names.get(g, g)) for g in r.grid_ids)
                rule = "boundary" if r.on_boundary else "overlap"
                msg = (
                    f"{reach} {r.station} 共 {r.length_m:,.0f} 米沿 {names} 的共同边界（界河段，请明确分工）"
                    if r.on_boundary
                    else f"{reach} {r.station} 共 {r.length_m:,.0f} 米同时属于 {names}（重复覆盖）"
                )
            rows.append(
                {
                    "kind": "coverage",
                    "rule": rule,
                    "severity": "error" if rule != "boundary" else "warning",
                    "object_id": _plain(r.reach_id),
                    "object_name": reach,
                    "station": r.station,
                    "length_m": float(r.length_m),
                    "area_m2": None,
                    "message": msg,
                    "geometry": r.geometry,
                }
            )
        for kind, items in (("topology", self.topology), ("vertical", self.vertical)):
            for f in items:
                rows.append(
                    {
                        "kind": kind,
                        "rule": f.rule,
                        "severity": f.severity,
                        "object_id": _plain(f.object_id),
                        "object_name": self.grid_names.get(f.object_id, "") if kind == "topology" else "",
                        "station": "",
                        "length_m": f.length_m,
                        "area_m2": f.area_m2,
                        "message": f.message,
                        "geometry": f.geometry,
                    }
                )
        frame = pd.DataFrame(rows, columns=FINDING_COLUMNS)
        return gpd.GeoDataFrame(frame, geometry="geometry", crs=STORE_CRS)

    def slivers_table(self) -> pd.DataFrame:
        """The 微小缝隙 and 微小重叠 (shorter than ``min_gap_m``), for data cleaning: Chinese
        headers (:data:`SLIVER_COLUMNS`), lengths in metres to the millimetre."""
        rows = []
        for s in self.coverage.slivers():
            reach = self.reach_names.get(s["reach_id"], str(s["reach_id"]))
            kind = SLIVER_KIND_LABELS[s["kind"]]
            length = s["length_m"]
            if s["kind"] == "gap":
                near = s["nearest_grid_id"]
                grids = "" if near is None else str(self.grid_names.get(near, near))
                what = f"{reach} {s['station']} 有 {_short_length(length)}不在任何网格内"
                what += f"（最近：{grids}）" if grids else ""
            else:
                grids = "、".join(str(self.grid_names.get(g, g)) for g in s["grid_ids"])
                what = f"{reach} {s['station']} 有 {_short_length(length)}同时属于 {grids}"
            rows.append(
                [
                    kind,
                    s["reach_id"],
                    reach,
                    s["station"],
                    round(length, 3),
                    grids,
                    what + f"；短于 {self.coverage.min_gap_m:g} 米，按微小缝隙处理，请清理数据，不计为问题",
                ]
            )
        return pd.DataFrame(rows, columns=SLIVER_COLUMNS)

    def findings_table(self) -> pd.DataFrame:
        """:meth:`findings` for people: Chinese headers and labels, no geometry, no rule codes."""
        f = pd.DataFrame(self.findings().drop(columns="geometry"))
        f["kind"] = f["kind"].map(KIND_LABELS)
        f["rule"] = f["rule"].map(rule_label)
        f["severity"] = f["severity"].map({"error": "问题", "warning": "提示"})
        table: pd.DataFrame = f.rename(
            columns={
                "kind": "类别",
                "rule": "规则",
                "severity": "级别",
                "object_id": "对象编号",
                "object_name": "对象",
                "station": "桩号",
                "length_m": "长度（米）",
                "area_m2": "面积（平方米）",
                "message": "说明",
            }
        )
        return table

    def to_csv(self, path: str | Path) -> Path:
        """The findings table as UTF-8 CSV with BOM (opens correctly in Excel)."""
        path = Path(path)
        self.findings_table().to_csv(path, index=False, encoding="utf-8-sig")
        return path

    def to_excel(self, path: str | Path) -> Path:
        """An .xlsx with sheets 汇总 (summary), 问题清单 (findings), 河段 (per reach), 网格 (per grid)."""
        path = Path(path)
        s = self.summary()
        summary = pd.DataFrame(
            {
                "项目": [
                    "检查层级",
                    "河段总长（米）",
                    "已覆盖（米）",
                    "未覆盖（米）",
                    "其中盲区（米）",
                    "其中微小缝隙（米）",
                    "重复覆盖（米）",
                    "覆盖率",
                    "盲区段数",
                    "微小缝隙/重叠段数",
                    "重复覆盖段数",
                    "拓扑问题",
                    "纵向到底问题",
                    "微小缝隙标准（米）",
                ],
                "数值": [
                    GridLevel(self.level).label if self.level in GridLevel._value2member_map_ else self.level,
                    round(s["total_length_m"], 1),
                    round(s["covered_length_m"], 1),
                    round(s["uncovered_length_m"], 3),
                    round(s["blind_spot_length_m"], 3),
                    round(s["sliver_length_m"], 3),
                    round(s["overlap_length_m"], 1),
                    f"{s['coverage_rate']:.2%}",
                    s["uncovered_count"],
                    s["sliver_count"],
                    s["overlap_count"],
                    s["topology_count"],
                    s["vertical_count"],
                    self.coverage.min_gap_m,
                ],
            }
        )
        reaches = self.coverage.reach_totals.assign(
            reach_name=lambda d: d["reach_id"].map(lambda r: self.reach_names.get(r, str(r)))
        )
        with pd.ExcelWriter(path, engine="openpyxl") as xl:
            summary.to_excel(xl, sheet_name="汇总", index=False)
            self.findings_table().to_excel(xl, sheet_name="问题清单", index=False)
            reaches.rename(
                columns={
                    "reach_id": "河段编号",
                    "reach_name": "河段",
                    "length_m": "长度（米）",
                    "covered_m": "已覆盖（米）",
                    "uncovered_m": "未覆盖（米）",
                    "blind_spot_m": "其中盲区（米）",
                    "sliver_m": "其中微小缝隙（米）",
                    "overlap_m": "重复覆盖（米）",
                    "coverage_rate": "覆盖率",
                }
            ).to_excel(xl, sheet_name="河段", index=False)
            self.coverage.by_grid().assign(grid=lambda d: d["grid_id"].map(lambda g: self.grid_names.get(g, g))).rename(
                columns={
                    "grid_id": "网格编号",
                    "grid": "网格",
                    "claimed_m": "负责河长（米）",
                    "shared_m": "与其他网格重叠（米）",
                }
            ).to_excel(xl, sheet_name="网格", index=False)
            self.slivers_table().to_excel(xl, sheet_name="微小缝隙", index=False)
        return path


def _short_length(length_m: float) -> str:
    """A sliver's length for people: millimetres below 1 cm, else centimetres."""
    return f"{length_m * 1000:.1f} 毫米" if length_m < 0.01 else f"{length_m * 100:.1f} 厘米"


def _min_gap(min_gap_m: float | None) -> float:
    """``min_gap_m``, or the configured one (``RIVERGRID_MIN_GAP_M``) when None."""
    return settings().min_gap_m if min_gap_m is None else float(min_gap_m)


def _level_or_error(level: str) -> GridLevel:
    return GridLevel.from_any(level)


# ---------------------------------------------------------------------------------------------
# Store
# ---------------------------------------------------------------------------------------------


def store_layers(session: Session) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Live reaches (``id``, ``name``, ``river``) and grids (``id``, ``name``, ``level``,
    ``parent_id``) of the store, in EPSG:4326."""

    reaches = session.scalars(
        select(Reach).where(not_deleted(Reach)).options(selectinload(Reach.river)).order_by(Reach.id)
    ).all()
    grids = session.scalars(select(Grid).where(not_deleted(Grid)).order_by(Grid.id)).all()
    r = gpd.GeoDataFrame(
        {
            "id": [x.id for x in reaches],
            "name": [x.name for x in reaches],
            "river": [x.river.name for x in reaches],
            "start_station_m": [x.start_station_m for x in reaches],
        },
        geometry=[x.geom for x in reaches],
        crs=STORE_CRS,
    )
    g = gpd.GeoDataFrame(
        {
            "id": [x.id for x in grids],
            "name": [x.name for x in grids],
            "level": [x.level for x in grids],
            "parent_id": [x.parent_id for x in grids],
        },
        geometry=[x.geom for x in grids],
        crs=STORE_CRS,
    )
    return r, g


SCOPE_UNKNOWN_NOTE = "上级网格未绘制边界，无法区分盲区与辖区外：河段在本级网格外的部分均按盲区列出"
"""Note of a check whose level has drawn grids but no level above it has."""


def split_levels(grids: gpd.GeoDataFrame, level: GridLevel) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    """The grids of ``level`` (drawn ones) and the check's area (scope): the drawn grids of the
    nearest level up that has some; at the top level (county) the level's own grids; None when
    the level has a level above but none of its grids are drawn (the whole reaches are checked)."""
    drawn = grids[grids.geometry.notna() & ~grids.geometry.is_empty]
    at_level = drawn[drawn["level"] == level.value]
    if at_level.empty:
        raise ValidationError(f"没有已绘制边界的{level.label}，无法检查覆盖", f"no drawn grids of level {level.value}")
    if level.parent_level is None:
        return at_level, at_level
    up: GridLevel | None = level.parent_level
    while up is not None:
        scope = drawn[drawn["level"] == up.value]
        if not scope.empty:
            return at_level, scope
        up = up.parent_level
    return at_level, None


def check_layers(
    reaches: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    *,
    level: str = "village",
    crs: Any = None,
    min_gap_m: float | None = None,
    vertical: list[Finding] | None = None,
) -> BlindSpotReport:
    """The report for reaches and grids given as frames (grids with ``level`` and ``parent_id``).
    ``min_gap_m`` None: the configured one (``RIVERGRID_MIN_GAP_M``, default 0.5 m)."""
    lvl = _level_or_error(level)
    at_level, scope = split_levels(grids, lvl)
    checker = CoverageChecker(
        reaches, at_level, crs=crs, min_gap_m=_min_gap(min_gap_m), scope=scope, tile_m=default_tile_m()
    )
    report = _report(lvl, checker.result, _topology(grids, lvl, checker.result.crs), reaches, grids, vertical)
    if scope is None:
        report.warnings.append(SCOPE_UNKNOWN_NOTE)
    return report


def _topology(grids: gpd.GeoDataFrame, level: GridLevel, crs: Any) -> list[Finding]:
    """Topology per level: the checked level and its parent level (gaps, overlaps among siblings)."""
    levels = {level.value} | ({level.parent_level.value} if level.parent_level is not None else set())
    found = check_topology_tiled(grids, crs=crs, tile_m=default_tile_m())
    return [f for f in found if f.level is None or f.level in levels]


def _report(
    lvl: GridLevel,
    coverage: CoverageResult,
    topology: list[Finding],
    reaches: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    vertical: list[Finding] | None,
) -> BlindSpotReport:
    """A report of one check (its warnings start empty)."""
    return BlindSpotReport(
        level=lvl.value,
        coverage=coverage,
        topology=topology,
        vertical=vertical or [],
        reach_names=dict(zip(reaches["id"], reaches["name"])) if "name" in reaches else {},
        grid_names=dict(zip(grids["id"], grids["name"])) if "name" in grids else {},
        river_of_reach=dict(zip(reaches["id"], reaches["river"])) if "river" in reaches else {},
    )


_FAMILY_RULES = {
    "parent": {"gap_in_parent", "sliver"},
    "sibling": {"overlap_siblings", "not_edge_matched", "sliver"},
    "child": {"outside_parent", "sliver"},
}


class IncrementalCheck:
    """A 盲区检查 kept current while grids are edited one at a time.

    After :meth:`update_grid`, coverage is recomputed only for the reaches near the old and new
    boundary, and topology only for the grid's family (its parent, siblings and children); the
    report equals a full :func:`check_layers` on the edited data.
    """

    def __init__(
        self,
        reaches: gpd.GeoDataFrame,
        grids: gpd.GeoDataFrame,
        *,
        level: str = "village",
        crs: Any = None,
        min_gap_m: float | None = None,
        vertical: list[Finding] | None = None,
    ) -> None:
        self.level = _level_or_error(level)
        self.reaches = reaches
        self.grids = grids.copy()
        self.crs, self.min_gap_m, self.vertical = crs, _min_gap(min_gap_m), vertical
        at_level, scope = split_levels(self.grids, self.level)
        self._coverage = CoverageChecker(
            reaches, at_level, crs=crs, min_gap_m=self.min_gap_m, scope=scope, tile_m=default_tile_m()
        )
        self._metric = self._coverage.result.crs
        self._topology = _topology(self.grids, self.level, self._metric)
        self._scope_known = scope is not None
        self.report = self._make_report(self._coverage.result)

    def _make_report(self, coverage: CoverageResult) -> BlindSpotReport:
        report = _report(self.level, coverage, self._topology, self.reaches, self.grids, self.vertical)
        if not self._scope_known:
            report.warnings.append(SCOPE_UNKNOWN_NOTE)
        return report

    def _affected(self, grid_id: Any) -> Any:
        g = self.grids.set_index("id")
        parent = g.at[grid_id, "parent_id"]
        siblings = (
            set(g.index[g["parent_id"] == parent])
            if parent is not None and parent == parent
            else set(g.index[g["parent_id"].isna() & (g["level"] == g.at[grid_id, "level"])])
        )
        children = set(g.index[g["parent_id"] == grid_id])

        def about(f: Finding) -> bool:
            return (
                f.object_id == grid_id
                or grid_id in f.related_ids
                or (f.object_id == parent and f.rule in _FAMILY_RULES["parent"])
                or (f.object_id in siblings and f.rule in _FAMILY_RULES["sibling"])
                or (f.object_id in children and f.rule in _FAMILY_RULES["child"])
            )

        family = {grid_id, *siblings, *children} | ({parent} if parent is not None and parent == parent else set())
        return about, family

    def update_grid(self, grid_id: Any, geometry: Any) -> BlindSpotReport:
        """Give grid ``grid_id`` a new boundary (shapely, in the grids' CRS; ``None``: undrawn)."""
        rows = self.grids.index[self.grids["id"] == grid_id]
        if not len(rows):
            raise ValidationError(f"没有编号为 {grid_id} 的网格", f"unknown grid id {grid_id!r}")
        level = self.grids.at[rows[0], "level"]
        self.grids.loc[rows[0], "geometry"] = geometry
        if level == self.level.value and self.level.parent_level is not None:
            metric = (
                gpd.GeoSeries([geometry], crs=self.grids.crs).to_crs(self._metric).iloc[0]
                if geometry is not None
                else None
            )
            coverage = self._coverage.update_grid(grid_id, metric)
        else:  # the scope (or an unrelated level) changed: redo the coverage
            at_level, scope = split_levels(self.grids, self.level)
            self._coverage = CoverageChecker(
                self.reaches, at_level, crs=self.crs, min_gap_m=self.min_gap_m, scope=scope, tile_m=default_tile_m()
            )
            self._scope_known = scope is not None
            coverage = self._coverage.result
        about, family = self._affected(grid_id)
        subset = self.grids[self.grids["id"].isin(family)].copy()
        # the family's top grid is checked without its own parent here: leave its parent out
        fresh = [
            f
            for f in _topology(
                subset.assign(parent_id=subset["parent_id"].where(subset["parent_id"].isin(family))),
                self.level,
                self._metric,
            )
            if about(f)
        ]
        self._topology = [f for f in self._topology if not about(f)] + fresh
        self.report = self._make_report(coverage)
        return self.report


def check_store(
    session: Session, *, level: str = "village", crs: Any = None, min_gap_m: float | None = None
) -> BlindSpotReport:
    """盲区检查 of the store's live data at ``level`` (default 村级网格); ``min_gap_m`` None: the
    configured one (``RIVERGRID_MIN_GAP_M``, default 0.5 m)."""

    reaches, grids = store_layers(session)
    if reaches.empty:
        raise ValidationError("数据库中还没有河段，无法检查覆盖", "no reaches in the store")
    return check_layers(reaches, grids, level=level, crs=crs, min_gap_m=min_gap_m, vertical=check_vertical(session))


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def check_files(
    rivers: str | Path,
    grids: str | Path,
    *,
    level: str | None = None,
    crs: Any = None,
    min_gap_m: float | None = None,
) -> BlindSpotReport:
    """盲区检查 of a rivers file against a grids file (any format :mod:`gis.io.files` reads).

    Ids are the files' ``id`` property when present, else the 0-based feature index. When the
    grids file has a ``level`` column, ``level`` picks the grids to check (default village) and
    the level above is the scope; otherwise every grid is checked and there is no scope.
    """
    from gis.io.files import read_layer  # noqa: PLC0415 — pyogrio/GDAL (~45 ms); only checking files reads them

    r = read_layer(rivers)
    g = read_layer(grids)
    reaches = r.gdf.reset_index(drop=True)
    grid_frame = g.gdf.reset_index(drop=True)
    if "id" not in reaches:
        reaches["id"] = range(len(reaches))
    if "id" not in grid_frame:
        grid_frame["id"] = range(len(grid_frame))
    warnings = [*r.warnings, *g.warnings]
    if "level" in grid_frame:
        grid_frame["level"] = grid_frame["level"].map(lambda v: GridLevel.from_any(v).value)
        if "name" not in grid_frame:
            grid_frame["name"] = grid_frame["id"].astype(str)
        if "parent_id" not in grid_frame:
            grid_frame["parent_id"] = None
        report = check_layers(reaches, grid_frame, level=level or "village", crs=crs, min_gap_m=min_gap_m)
    else:
        if level is not None:
            warnings.append("网格文件没有 level（层级）字段，已检查文件中的全部网格")
        coverage = check_coverage(reaches, grid_frame, crs=crs, min_gap_m=_min_gap(min_gap_m), tile_m=default_tile_m())
        report = BlindSpotReport(
            level=level or "village",
            coverage=coverage,
            topology=[],
            vertical=[],
            reach_names=dict(zip(reaches["id"], reaches["name"])) if "name" in reaches else {},
            grid_names=dict(zip(grid_frame["id"], grid_frame["name"])) if "name" in grid_frame else {},
        )
    report.warnings.extend(warnings)
    return report

"""Tests of gis.checks.topology_tiled.check_topology_tiled: tile by tile, exactly the single pass.

The oracle is gis.checks.topology.check_topology on the whole frame (itself tested against
hand-computed answers and naive shapely in tests/test_topology.py). "Exactly" means: the same
number of findings, in the same order, every field equal (floats with ==), the geometries equal
byte for byte as WKB (so also shapely.equals_exact with tolerance 0).

Random hierarchies (hypothesis): counties (roots; they may overlap each other) cut into
townships, townships cut into villages along random lines, so that neighbours meet at
T-junctions (edges not vertex-matched); then random jitter moves some children (gaps, overlaps,
overhangs, near-miss edges), some grids lose their geometry or get a bow-tie or a second part,
some lose their parent (a root township, a parent missing from the frame, a grid that is its
own parent), and the rows are shuffled so that the families are interleaved in the frame.
"""

from __future__ import annotations

import pickle
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import affinity

import gis.checks.topology_tiled as topology_tiled
from gis.checks.findings import Finding
from gis.checks.topology import check_topology
from gis.checks.topology_tiled import check_tile, check_topology_tiled, plan_tiles
from gis.errors import CRSError, ValidationError

X0, Y0 = 500_000.0, 4_600_000.0
METRIC = "EPSG:4551"


def assert_identical(tiled: list[Finding], single: list[Finding]) -> None:
    assert len(tiled) == len(single), ([f.rule for f in tiled], [f.rule for f in single])
    for i, (a, b) in enumerate(zip(tiled, single)):
        where = f"finding {i}: {b.rule} {b.object_id}"
        assert (a.rule, a.object_id, a.message, a.severity) == (b.rule, b.object_id, b.message, b.severity), where
        assert (a.area_m2, a.length_m, a.related_ids, a.level) == (b.area_m2, b.length_m, b.related_ids, b.level), where
        assert (a.geometry is None) == (b.geometry is None), where
        if b.geometry is not None:
            assert shapely.to_wkb(a.geometry) == shapely.to_wkb(b.geometry), where
            assert a.geometry.equals_exact(b.geometry, tolerance=0), where


def cuts(rng: np.random.Generator, lo: float, hi: float, n: int) -> list[float]:
    """``n`` pieces of [lo, hi] at random (not too thin) cut positions, rounded to the metre."""
    inner = np.sort(rng.uniform(lo, hi, n - 1)) if n > 1 else np.array([])
    xs = [lo, *[float(np.round(x)) for x in inner], hi]
    return sorted(set(xs))


def split(rng: np.random.Generator, box: tuple[float, float, float, float], nx: int, ny: int) -> list[shapely.Polygon]:
    """The box cut into columns, each column cut into rows at its own positions (T-junctions)."""
    x0, y0, x1, y1 = box
    out = []
    xs = cuts(rng, x0, x1, nx)
    for a, b in zip(xs, xs[1:]):
        ys = cuts(rng, y0, y1, ny)
        out += [shapely.box(a, c, b, d) for c, d in zip(ys, ys[1:])]
    return out


def make_hierarchy(
    seed: int, n_counties: int, jitter_m: float, flaws: int, crs: str, flat: bool = False
) -> gpd.GeoDataFrame:
    """Counties > townships > villages as in the module docstring; ``flat``: no counties, the
    townships are roots (one sibling group across the whole frame, split between tiles)."""
    rng = np.random.default_rng(seed)
    side = 4000.0
    rows: list[list[Any]] = []  # id, name, parent, level, geometry (EPSG:4551)
    next_id = 1
    for c in range(n_counties):
        # counties side by side, the third one overlapping the first (roots are siblings)
        cx = X0 + (c % 2) * side - (500.0 if c == 2 else 0.0)
        cy = Y0 + (c // 2) * side * 0.8
        county = shapely.box(cx, cy, cx + side, cy + side)
        county_id = next_id
        next_id += 1
        rows.append([county_id, f"县{county_id}", None, "county", county])
        for town in split(rng, county.bounds, int(rng.integers(1, 3)), int(rng.integers(1, 3))):
            town_id = next_id
            next_id += 1
            rows.append([town_id, f"乡{town_id}", county_id, "township", town])
            for village in split(rng, town.bounds, int(rng.integers(1, 4)), int(rng.integers(1, 4))):
                rows.append([next_id, f"村{next_id}", town_id, "village", village])
                next_id += 1
    # jitter: move some children by up to jitter_m (gaps, overlaps, overhangs, near misses)
    for row in rows:
        if row[2] is not None and rng.random() < 0.3:
            dx, dy = rng.uniform(-jitter_m, jitter_m, 2)
            row[4] = affinity.translate(row[4], dx, dy)
    # densify some (shared vertices along some edges, not along others)
    for row in rows:
        if rng.random() < 0.3:
            row[4] = shapely.segmentize(row[4], float(rng.choice([100.0, 250.0])))
    kinds = ["none", "empty", "bowtie", "multipart", "root_town", "missing_parent", "self_parent", "noname", "tiny"]
    for _ in range(flaws):
        row = rows[int(rng.integers(0, len(rows)))]
        kind = kinds[int(rng.integers(0, len(kinds)))]
        x0, y0, x1, y1 = row[4].bounds if row[4] is not None and not row[4].is_empty else (X0, Y0, X0 + 10, Y0 + 10)
        if kind == "none":
            row[4] = None
        elif kind == "empty":
            row[4] = shapely.Polygon()
        elif kind == "bowtie":
            row[4] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)])
        elif kind == "multipart":
            row[4] = shapely.MultiPolygon([shapely.box(x0, y0, x1, y1), shapely.box(x1 + 5, y0, x1 + 8, y0 + 3)])
        elif kind == "root_town" and row[3] == "township":
            row[2] = None
        elif kind == "missing_parent":
            row[2] = 9999
        elif kind == "self_parent":
            row[2] = row[0]
        elif kind == "noname":
            row[1] = None
        elif kind == "tiny":
            row[4] = shapely.box(x0, y0, x0 + 3, y0 + 3)
    if flat:
        rows = [r for r in rows if r[3] != "county"]
        for r in rows:
            if r[3] == "township" and r[2] not in (9999, r[0]):
                r[2] = None
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]
    ids, names, parents, levels, geoms = zip(*rows)
    gdf = gpd.GeoDataFrame(
        {"id": list(ids), "name": list(names), "parent_id": list(parents), "level": list(levels)},
        geometry=list(geoms),
        crs=METRIC,
    )
    return gdf if crs == METRIC else gdf.to_crs(crs)


@st.composite
def hierarchies(draw: Any) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    gdf = make_hierarchy(
        draw(st.integers(0, 2**32 - 1)),
        n_counties=draw(st.integers(1, 3)),
        jitter_m=draw(st.sampled_from([0.0, 0.3, 2.0, 40.0])),
        flaws=draw(st.integers(0, 4)),
        crs=draw(st.sampled_from([METRIC, "EPSG:4326", "EPSG:4490"])),
        flat=draw(st.booleans()),
    )
    params = {
        "tile_m": draw(st.sampled_from([0.001, 1.0, 700.0, 3000.0, 1e7])),
        "max_vertices": draw(st.sampled_from([1, 10, 60, 400, 10**9])),
        "edge_tolerance_m": draw(st.sampled_from([0.0, 0.5, 5.0])),
        "sliver_area_m2": draw(st.sampled_from([0.0, 100.0, 10_000.0])),
    }
    return gdf, params


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hierarchies())
def test_tiled_equals_single_pass_on_random_hierarchies(case: tuple[gpd.GeoDataFrame, dict[str, Any]]) -> None:
    gdf, params = case
    before = gdf.copy()
    thresholds = {k: params[k] for k in ("edge_tolerance_m", "sliver_area_m2")}
    single = check_topology(gdf, **thresholds)
    tiled = check_topology_tiled(gdf, **params, scheduler="inline")
    assert_identical(tiled, single)
    assert gdf.equals(before)  # the caller's frame is not changed


def test_random_hierarchies_produce_every_kind_of_finding() -> None:
    """The generator is not too kind: across a few seeds every rule of the check shows up."""
    seen: set[str] = set()
    for seed in range(10):
        gdf = make_hierarchy(seed, n_counties=3, jitter_m=[0.3, 40.0][seed % 2], flaws=6, crs="EPSG:4326")
        seen |= {f.rule for f in check_topology_tiled(gdf, tile_m=1.0, max_vertices=1, scheduler="inline")}
    assert seen >= {"no_geometry", "invalid_geometry", "level_mismatch", "multi_part", "sliver",
                    "outside_parent", "overlap_siblings", "gap_in_parent", "not_edge_matched"}, seen


# =============================================================================================
# The tiles themselves
# =============================================================================================


def test_every_grid_reports_its_own_findings_in_exactly_one_tile() -> None:
    gdf = make_hierarchy(3, n_counties=3, jitter_m=2.0, flaws=4, crs=METRIC)
    for tile_m, max_vertices in ((0.001, 1), (1500.0, 50), (1e7, 10**9)):
        _, tiles = plan_tiles(gdf, tile_m=tile_m, max_vertices=max_vertices)
        own = np.concatenate([t.positions[t.own] for t in tiles])
        assert sorted(own.tolist()) == list(range(len(gdf)))
        for t in tiles:
            assert list(t.positions) == sorted(t.positions)  # local order = the frame's order
            assert [r.pos for r in t.rows] == list(range(len(t.rows)))
    # one unit per tile with tiny tiles: a family (parent + children), the roots of a level, or a lone grid
    _, tiles = plan_tiles(gdf, tile_m=0.001, max_vertices=1)
    families = gdf.groupby("parent_id").size()
    assert len(tiles) >= len(families)
    # the tiles are checked one by one, and nothing is lost when they are put together
    assert sum(len(check_tile(t)) for t in tiles) + len(plan_tiles(gdf)[0]) == len(check_topology(gdf))


def test_tiles_are_bounded_by_vertices_and_by_tile_side() -> None:
    gdf = make_hierarchy(5, n_counties=2, jitter_m=0.0, flaws=0, crs=METRIC)
    gdf["geometry"] = shapely.segmentize(gdf.geometry.to_numpy(), 50.0)
    vertices = shapely.get_num_coordinates(gdf.geometry.to_numpy())
    total = int(vertices.sum())
    families = [
        int(vertices[(gdf["parent_id"] == pid).to_numpy() | (gdf["id"] == pid).to_numpy()].sum())
        for pid in gdf["parent_id"].dropna().unique()
    ]
    roots = int(vertices[gdf["parent_id"].isna().to_numpy()].sum())  # the counties: one sibling group
    bound = max(*families, roots)  # the largest unit
    _, whole = plan_tiles(gdf, tile_m=1e7, max_vertices=10**9)
    assert len(whole) == 1 and whole[0].vertices == total
    _, small = plan_tiles(gdf, tile_m=1e7, max_vertices=bound)
    assert len(small) > 2
    assert bound < total / 2
    for t in small:  # the units packed, besides the roots that only come along as a halo
        halo = [i for i, r in enumerate(t.rows) if r.parent_pos is None and not t.own[i]]
        assert t.vertices - int(vertices[t.positions[halo]].sum()) <= bound
    _, by_side = plan_tiles(gdf, tile_m=2000.0, max_vertices=10**9)
    assert len(by_side) > 1
    assert_identical(check_topology_tiled(gdf, tile_m=2000.0, scheduler="inline"), check_topology(gdf))


@pytest.mark.parametrize("crs", [METRIC, "EPSG:4326"])
def test_roots_of_a_level_are_split_between_tiles(crs: str) -> None:
    """400 village grids without parents (one sibling group): each tile checks one of them with
    its neighbours only (those touching it, and theirs), not the 400."""
    rng = np.random.default_rng(4)
    cells = []
    for i in range(20):
        for j in range(20):
            box = shapely.box(X0 + 500 * i, Y0 + 500 * j, X0 + 500 * (i + 1), Y0 + 500 * (j + 1))
            if rng.random() < 0.15:  # a near miss, a gap or an overlap with the neighbours
                box = affinity.translate(box, *rng.choice([0.2, -0.3, 3.0, -20.0], 2))
            cells.append(shapely.segmentize(box, float(rng.choice([100.0, 250.0, 500.0]))))
    gdf = gpd.GeoDataFrame(
        {"id": range(1, 401), "name": [f"村{i}" for i in range(1, 401)], "parent_id": [None] * 400, "level": "village"},
        geometry=cells, crs=METRIC,
    ).to_crs(crs)
    single = check_topology(gdf)
    assert {"overlap_siblings", "not_edge_matched", "level_mismatch"} <= {f.rule for f in single}
    _, tiles = plan_tiles(gdf, tile_m=1.0, max_vertices=1)
    assert len(tiles) == 400
    assert max(len(t.positions) for t in tiles) <= 25  # one village, its 8 neighbours and theirs at most
    assert_identical(check_topology_tiled(gdf, tile_m=1.0, max_vertices=1, scheduler="inline"), single)
    assert_identical(check_topology_tiled(gdf, tile_m=1600.0, scheduler="inline"), single)


def test_metric_crs_from_the_extent_read_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Data in CGCS2000 longitude/latitude (EPSG:4490): the metric CRS comes from the extent of
    all the grids, measured a few at a time; the same zone as the single pass picks."""
    gdf = make_hierarchy(11, n_counties=3, jitter_m=40.0, flaws=2, crs="EPSG:4490")
    monkeypatch.setattr(topology_tiled, "_EXTENT_CHUNK", 3)
    _, tiles = plan_tiles(gdf, tile_m=1.0)
    assert tiles[0].frames.metric.to_epsg() == 4551
    assert_identical(check_topology_tiled(gdf, tile_m=1.0, scheduler="inline"), check_topology(gdf))
    assert_identical(
        check_topology_tiled(gdf, crs="EPSG:32652", tile_m=1.0, scheduler="inline"), check_topology(gdf, crs="EPSG:32652")
    )


# =============================================================================================
# The same answers as the single pass at the edges of the input
# =============================================================================================


def test_empty_frame_and_nothing_drawn() -> None:
    gdf = make_hierarchy(1, n_counties=1, jitter_m=0.0, flaws=0, crs=METRIC)
    assert check_topology_tiled(gdf.iloc[:0], scheduler="inline") == []
    undrawn = gdf.copy()
    undrawn["geometry"] = None
    undrawn.loc[undrawn.index[1], "parent_id"] = 9999
    single = check_topology(undrawn)
    assert {f.rule for f in single} == {"no_geometry", "level_mismatch"}
    assert_identical(check_topology_tiled(undrawn, scheduler="inline"), single)


def test_same_errors_as_the_single_pass() -> None:
    gdf = make_hierarchy(2, n_counties=1, jitter_m=0.0, flaws=0, crs=METRIC)
    with pytest.raises(CRSError, match="没有坐标系"):
        check_topology_tiled(gdf.set_crs(None, allow_override=True), scheduler="inline")
    with pytest.raises(ValidationError, match="edge_tolerance_m"):
        check_topology_tiled(gdf, edge_tolerance_m=-1.0, scheduler="inline")
    with pytest.raises(ValidationError, match="重复"):
        check_topology_tiled(gdf.assign(id=1), scheduler="inline")
    with pytest.raises(ValidationError, match="缺少列"):
        check_topology_tiled(gdf.drop(columns="level"), scheduler="inline")
    with pytest.raises(CRSError, match="经纬度"):
        check_topology_tiled(gdf, crs="EPSG:4326", scheduler="inline")
    with pytest.raises(ValidationError, match="顶点数"):
        check_topology_tiled(gdf, max_vertices=0, scheduler="inline")
    with pytest.raises(ValidationError, match="分块边长"):
        check_topology_tiled(gdf, tile_m=0.0, scheduler="inline")


# =============================================================================================
# Demo data, and dask
# =============================================================================================


def demo_frame() -> gpd.GeoDataFrame:
    from gis.demo.data import build_demo_data

    data = build_demo_data()
    code = {g.name: g.code for g in data.grids}
    return gpd.GeoDataFrame(
        {
            "id": [g.code for g in data.grids],
            "name": [g.name for g in data.grids],
            "parent_id": [code.get(g.parent_name) for g in data.grids],
            "level": [g.level for g in data.grids],
        },
        geometry=[g.geom for g in data.grids],
        crs="EPSG:4326",
    )


@pytest.mark.parametrize("tile_m", [1.0, 2000.0, None])
def test_demo_data_tiled_equals_single_pass(tile_m: float | None) -> None:
    gdf = demo_frame()
    single = check_topology(gdf)
    assert {f.rule for f in single} == {"gap_in_parent", "overlap_siblings"}  # the demo's planted flaws
    assert_identical(check_topology_tiled(gdf, tile_m=tile_m, max_vertices=1, scheduler="inline"), single)
    assert_identical(check_topology_tiled(gdf, tile_m=tile_m, scheduler="inline"), single)


def test_a_tile_survives_pickling() -> None:
    gdf = make_hierarchy(9, n_counties=2, jitter_m=2.0, flaws=3, crs="EPSG:4326", flat=True)
    _, tiles = plan_tiles(gdf, tile_m=800.0, max_vertices=100)
    for tile in tiles:
        here, there = check_tile(tile), check_tile(pickle.loads(pickle.dumps(tile)))
        assert [k.order for k in here] == [k.order for k in there]
        assert_identical([k.finding for k in there], [k.finding for k in here])


def test_dask_local_cluster_gives_the_same_findings() -> None:
    from distributed import LocalCluster

    gdf = make_hierarchy(8, n_counties=3, jitter_m=2.0, flaws=4, crs="EPSG:4326")
    single = check_topology(gdf)
    _, tiles = plan_tiles(gdf, tile_m=1500.0, max_vertices=200)
    assert len(tiles) > 3
    # one worker process: the tiles and their findings really travel (pickled) between processes
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        tiled = check_topology_tiled(gdf, tile_m=1500.0, max_vertices=200, scheduler=cluster.scheduler_address)
    assert_identical(tiled, single)

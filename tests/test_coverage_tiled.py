"""The coverage check cut into tiles (gis.checks.tiled) gives the single pass's result exactly.

Oracle: ``check_coverage`` in one pass over the same layers. Random layouts (hypothesis): grids
sharing edges, overlapping and leaving gaps, reaches crossing many tile edges, multi-part reaches,
repeated vertices, reaches running along grid boundaries, with and without the check's area and
the sliver length, and tile sides from a few metres (every reach cut many times) to more than
the data. Then a hand-made case of 桩号 running on across a tile edge, and the tiles run on a
real dask LocalCluster.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiLineString, Polygon, box

from gis.checks.coverage import check_coverage
from gis.errors import ValidationError
from gis.tiling import resolve_scheduler, run_tiles, tile_keys
from tests.coverage_compare import assert_same

GK = "EPSG:4551"
X0, Y0 = 500_000.0, 4_600_000.0
SIDE = 1000.0


def frame(geoms: list[object], **columns: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": list(range(len(geoms))), **columns}, geometry=geoms, crs=GK)


def blocks(n: int) -> list[Polygon]:
    """An n × n block of 1 km squares sharing their edges exactly."""
    return [box(X0 + i * SIDE, Y0 + j * SIDE, X0 + (i + 1) * SIDE, Y0 + (j + 1) * SIDE) for i in range(n) for j in range(n)]


coord = st.floats(min_value=-300.0, max_value=3300.0, allow_nan=False)
point = st.tuples(coord, coord)


@st.composite
def reach_geometry(draw: st.DrawFn) -> LineString | MultiLineString:
    def line() -> LineString:
        pts = draw(st.lists(point, min_size=2, max_size=7))
        if draw(st.booleans()):  # a repeated vertex (digitising double clicks)
            k = draw(st.integers(0, len(pts) - 1))
            pts.insert(k, pts[k])
        return LineString([(X0 + x, Y0 + y) for x, y in pts])

    kind = draw(st.sampled_from(["line", "line", "multi", "boundary"]))
    if kind == "multi":
        parts = [line(), line()]
        if draw(st.booleans()):  # a part of zero length between them (a stray double click)
            x, y = draw(point)
            parts.insert(1, LineString([(X0 + x, Y0 + y), (X0 + x, Y0 + y)]))
        return MultiLineString(parts)
    if kind == "boundary":  # along grid edges (double claims on shared edges)
        k = draw(st.integers(0, 3))
        return LineString([(X0 + k * SIDE, Y0 - 200), (X0 + k * SIDE, Y0 + 3200), (X0 + 3200, Y0 + 3200)])
    return line()


grid_change = st.tuples(st.integers(0, 8), st.sampled_from(["keep", "remove", "grow", "shrink", "shift"]))


def changed(g: Polygon | None, kind: str) -> Polygon | None:
    if kind == "remove" or g is None:
        return None
    if kind == "grow":  # double claims along the neighbours
        return shapely.segmentize(shapely.buffer(g, 37.5, join_style="mitre"), 90.0)
    if kind == "shrink":  # gaps
        return shapely.buffer(g, -21.0, join_style="mitre")
    if kind == "shift":  # an edge copy off by less than the coincidence tolerance
        return shapely.affinity.translate(g, 4e-7, 0.0)
    return g


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reaches=st.lists(reach_geometry(), min_size=1, max_size=8),
    changes=st.lists(grid_change, max_size=4),
    tile_m=st.sampled_from([55.5, 250.0, 999.0, 1000.0, 1500.0, 10_000.0]),
    scoped=st.booleans(),
    min_gap=st.sampled_from([0.0, 0.5]),
    stations=st.lists(st.floats(0.0, 50_000.0, allow_nan=False), min_size=8, max_size=8),
)
def test_tiled_check_equals_the_single_pass(
    reaches: list[object],
    changes: list[tuple[int, str]],
    tile_m: float,
    scoped: bool,
    min_gap: float,
    stations: list[float],
) -> None:
    note(f"reaches: {[shapely.to_wkt(g, rounding_precision=-1) for g in reaches]}")  # exact, for replays
    geoms: list[object] = list(blocks(3))
    for i, kind in changes:
        geoms[i] = changed(geoms[i], kind)  # type: ignore[arg-type]
    grids = frame(geoms)
    river = frame(reaches, start_station_m=stations[: len(reaches)])
    scope = gpd.GeoSeries([box(X0 + 100, Y0 - 100, X0 + 2900, Y0 + 2500)], crs=GK) if scoped else None
    one = check_coverage(river, grids, min_gap_m=min_gap, scope=scope)
    tiled = check_coverage(river, grids, min_gap_m=min_gap, scope=scope, tile_m=tile_m, scheduler="inline")
    assert_same(one, tiled)


def test_stationing_runs_on_across_tile_edges() -> None:
    """A 3 km reach starting at 桩号 K12+000 crosses two tile edges inside one grid: one stretch,
    K12+000–K15+000, as one pass gives; an uncovered middle keeps its exact 桩号."""
    grids = frame([box(X0, Y0, X0 + 1200, Y0 + 100), box(X0 + 1800, Y0, X0 + 3000, Y0 + 100)])
    river = frame([LineString([(X0, Y0 + 50), (X0 + 3000, Y0 + 50)])], start_station_m=[12_000.0])
    tiled = check_coverage(river, grids, tile_m=500.0, scheduler="inline")
    iv = tiled.intervals
    assert iv["station"].tolist() == ["K12+000–K13+200", "K13+200–K13+800", "K13+800–K15+000"]
    assert iv["status"].tolist() == ["covered", "uncovered", "covered"]
    assert iv["from_m"].tolist() == [0.0, 1200.0, 1800.0]
    assert iv["to_m"].tolist() == [1200.0, 1800.0, 3000.0]
    # the covered stretch crossing the tile edges at x = 500 and 1000 is one line with the
    # reach's own vertices
    assert list(iv.geometry.iloc[0].coords) == [(X0, Y0 + 50), (X0 + 1200, Y0 + 50)]
    assert_same(check_coverage(river, grids), tiled)


@pytest.mark.parametrize("tile_m", [50.0, 150.0, 1000.0])
def test_a_stretch_across_part_junctions_keeps_every_vertex(tile_m: float) -> None:
    """A reach of three parts, the middle one a single repeated point, all inside one grid: one
    stretch whose line has every vertex of the reach in order, whatever tiles cut it."""
    wkt = (
        "MULTILINESTRING ((500100 4600100, 500300 4600100, 500300 4600100), (500300 4600100, 500300 4600100),"
        " (500300 4600100, 500300 4600100, 500500 4600100))"
    )
    river = frame([shapely.from_wkt(wkt)])
    grids = frame(blocks(3))
    one = check_coverage(river, grids)
    assert len(one.intervals) == 1
    assert len(one.intervals.geometry.iloc[0].coords) == 8
    assert_same(one, check_coverage(river, grids, tile_m=tile_m, scheduler="inline"))


def test_demo_like_layers_on_a_dask_local_cluster() -> None:
    """The tiles run in dask worker processes and come back in order: the single pass's result."""
    rng = np.random.default_rng(7)
    reaches = []
    for _ in range(40):
        xy = np.cumsum(rng.normal(0, 120, size=(30, 2)), axis=0) + [X0 + 1500, Y0 + 1500]
        reaches.append(LineString(xy))
    grids = frame(blocks(3))
    river = frame(reaches)
    one = check_coverage(river, grids, min_gap_m=0.5)
    parallel = check_coverage(river, grids, min_gap_m=0.5, tile_m=700.0, scheduler="local")
    assert_same(one, parallel)


def test_scheduler_names() -> None:
    assert resolve_scheduler("inline", 10) == "inline"
    assert resolve_scheduler("tcp://10.1.2.3:8786", 10) == "tcp://10.1.2.3:8786"
    assert resolve_scheduler(None, 1, large=True) == "inline"  # one tile: no cluster to start
    assert resolve_scheduler("", 8) == "inline"  # small work: no cluster either
    with pytest.raises(ValidationError, match="调度器"):
        resolve_scheduler("spark://x", 3)
    with pytest.raises(ValidationError, match="分块边长"):
        tile_keys(np.zeros(1), np.zeros(1), 0.0)
    assert run_tiles(abs, [-3, 4, -5], scheduler="inline") == [3, 4, 5]

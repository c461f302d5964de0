"""The local re-check after one grid edit (CoverageChecker.update_grid, gis.checks.boxindex).

Oracle: a full check_coverage of the edited layers, run from scratch. Random layouts and random
edits (hypothesis), edits that move a shared edge by less and by more than the coincidence
tolerance (the nanosliver rule), results handed out before later edits, and the work done: only
the reaches whose envelope meets the old or the new boundary are cut again.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Polygon, box

import gis.checks.coverage as coverage_module
from gis.checks.boxindex import BoxIndex
from gis.checks.coverage import COINCIDENCE_TOLERANCE_M as TOL
from gis.checks.coverage import CoverageChecker, check_coverage
from tests.coverage_compare import assert_same

GK = "EPSG:4551"
X0, Y0 = 500_000.0, 4_600_000.0
def frame(geoms: list[object], ids: list[int] | None = None) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": ids if ids is not None else list(range(len(geoms)))}, geometry=geoms, crs=GK)


# --- random layouts, random edits ---------------------------------------------------------------

SIDE = 1000.0


def tiles(n: int) -> list[Polygon]:
    """An n × n block of 1 km squares sharing their edges exactly."""
    return [box(X0 + i * SIDE, Y0 + j * SIDE, X0 + (i + 1) * SIDE, Y0 + (j + 1) * SIDE) for i in range(n) for j in range(n)]


coord = st.floats(min_value=-200.0, max_value=3200.0, allow_nan=False)
reach = st.lists(st.tuples(coord, coord), min_size=2, max_size=5).map(
    lambda pts: LineString([(X0 + x, Y0 + y) for x, y in pts])
)
# how far an edge moves: nanometres (inside the tolerance), micrometres (just beyond), metres
shift = st.sampled_from([0.0, 3e-9, -3e-9, 4e-7, -4e-7, 3e-6, -3e-6, 0.3, -0.3, 40.0, -250.0])
edit = st.tuples(st.integers(0, 8), st.sampled_from(["grow", "move_edge", "remove", "restore"]), shift)


def edited_geometry(original: Polygon, kind: str, d: float) -> Polygon | None:
    if kind == "remove":
        return None
    if kind == "restore":
        return original
    x0, y0, x1, y1 = original.bounds
    if kind == "grow":
        g = shapely.buffer(original, d, join_style="mitre") if d else original
        return None if g.is_empty else shapely.segmentize(g, 300.0)
    # move the east edge by d (a shared edge whose two copies no longer coincide)
    return Polygon([(x0, y0), (x1 + d, y0), (x1 + d, y1), (x0, y1)])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reaches=st.lists(reach, min_size=1, max_size=8),
    edits=st.lists(edit, min_size=1, max_size=5),
    min_gap=st.sampled_from([0.0, 0.5]),
    scoped=st.booleans(),
)
def test_every_random_edit_gives_the_full_checks_result(
    reaches: list[LineString], edits: list[tuple[int, str, float]], min_gap: float, scoped: bool
) -> None:
    originals = tiles(3)
    grids = frame(list(originals))
    rf = frame(list(reaches))
    scope = frame([box(X0 - 50, Y0 - 50, X0 + 2950, Y0 + 3000)]) if scoped else None
    checker = CoverageChecker(rf, grids, min_gap_m=min_gap, scope=scope)
    assert_same(checker.result, check_coverage(rf, grids, min_gap_m=min_gap, scope=scope))
    current = grids.copy()
    for gid, kind, d in edits:
        new = edited_geometry(originals[gid], kind, d)
        checker.update_grid(gid, new)
        current.loc[current.index[gid], "geometry"] = new
        assert_same(checker.result, check_coverage(rf, current, min_gap_m=min_gap, scope=scope))


def test_random_edits_on_synthetic_data_with_dense_boundaries() -> None:
    from bench.synthetic import make_case

    reaches, grids = make_case("county", seed=7)
    checker = CoverageChecker(reaches, grids, min_gap_m=0.5)
    current = grids.copy()
    rng = np.random.default_rng(19)
    for step in range(5):
        pos = int(rng.integers(len(current)))
        old = grids.geometry.iloc[pos]
        d = float(rng.choice([-120.0, 60.0, 5e-7]))
        new = None if step == 2 else shapely.segmentize(shapely.buffer(old, d, join_style="mitre"), 20.0)
        checker.update_grid(current["id"].iloc[pos], new)
        current.loc[current.index[pos], "geometry"] = new
    assert_same(checker.result, check_coverage(reaches, current, min_gap_m=0.5))


# --- the nanosliver rule under edits -----------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "overlap", "gap"),
    [
        (4e-7, 0.0, 0.0),  # the copies of the shared edge within τ: still one line, no double claim
        (-4e-7, 0.0, 0.0),  # ... on the other side: no gap either
        # beyond τ: the river along the edge lies inside both grids, the one across crosses a
        # 3 µm double claim ...
        (3e-6, 1000.0 + 3e-6, 0.0),
        # ... or, the other way, the river is on grid 1's edge (grid 1's alone) and the one
        # across crosses a 3 µm gap
        (-3e-6, 0.0, 3e-6),
    ],
)
def test_moving_a_shared_edge_by_less_or_more_than_the_tolerance(d: float, overlap: float, gap: float) -> None:
    left, right = box(X0, Y0, X0 + SIDE, Y0 + SIDE), box(X0 + SIDE, Y0, X0 + 2 * SIDE, Y0 + SIDE)
    along = LineString([(X0 + SIDE, Y0), (X0 + SIDE, Y0 + SIDE)])  # the river is the shared edge
    across = LineString([(X0 + 500, Y0 + 500), (X0 + 1500, Y0 + 500)])
    rf, grids = frame([along, across]), frame([left, right])
    checker = CoverageChecker(rf, grids)
    # the exactly shared edge first: a boundary river of both
    assert checker.result.overlaps()[0]["on_boundary"] and checker.result.overlaps()[0]["grid_ids"] == [0, 1]
    moved = Polygon([(X0, Y0), (X0 + SIDE + d, Y0), (X0 + SIDE + d, Y0 + SIDE), (X0, Y0 + SIDE)])
    result = checker.update_grid(0, moved)
    full = check_coverage(rf, frame([moved, right]))
    assert_same(result, full)
    t = result.totals()
    assert t["overlap_length_m"] == pytest.approx(overlap, abs=1e-9)
    assert t["uncovered_length_m"] == pytest.approx(gap, abs=1e-9)
    assert TOL == 1e-6
    if d == -3e-6:
        assert result.intervals.loc[result.intervals["reach_id"] == 0, "grid_ids"].tolist() == [(1,)]
    # and back: the boundary river of both again
    assert_same(checker.update_grid(0, left), check_coverage(rf, grids))


# --- results already handed out, and the work done ----------------------------------------------


def test_a_result_read_after_later_edits_is_still_its_own_state() -> None:
    originals = tiles(2)
    rf = frame([LineString([(X0 - 100, Y0 + 500), (X0 + 2100, Y0 + 700)]), LineString([(X0 + 300, Y0 - 50), (X0 + 400, Y0 + 1900)])])
    checker = CoverageChecker(rf, frame(list(originals)))
    first = checker.update_grid(0, None)  # not read yet
    second = checker.update_grid(2, shapely.buffer(originals[2], 80.0, join_style="mitre"))
    third = checker.update_grid(0, originals[0])
    after_first = [None, *originals[1:]]
    after_second = [None, originals[1], shapely.buffer(originals[2], 80.0, join_style="mitre"), originals[3]]
    after_third = [originals[0], *after_second[1:]]
    assert_same(third, check_coverage(rf, frame(after_third)))  # read newest first
    assert_same(first, check_coverage(rf, frame(after_first)))
    assert_same(second, check_coverage(rf, frame(after_second)))


def test_an_edit_recuts_only_the_reaches_near_the_old_and_new_boundary(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.synthetic import make_case

    reaches, grids = make_case("county", seed=3)
    checker = CoverageChecker(reaches, grids)
    seen: list[tuple[int, int]] = []
    real = coverage_module.cut_pieces

    def spy(reach_geoms, grid_geoms, index, n_level=None):  # type: ignore[no-untyped-def]
        pairs = index.query(reach_geoms)
        seen.append((len(reach_geoms), len(np.unique(pairs[1]))))
        return real(reach_geoms, grid_geoms, index, n_level)

    monkeypatch.setattr(coverage_module, "cut_pieces", spy)
    pos = 57
    old = grids.geometry.iloc[pos]
    new = shapely.buffer(old, 200.0, join_style="mitre")
    checker.update_grid(grids["id"].iloc[pos], new)
    boxes = shapely.box(*np.array([old.bounds, new.bounds]).T)
    near = shapely.intersects(reaches.envelope.to_numpy()[:, None], boxes[None, :]).any(axis=1)
    ((n_reaches, n_grids),) = seen
    assert n_reaches == int(near.sum()) and 0 < n_reaches < len(reaches) / 10
    # the grids cut against are those around these reaches, not every grid
    assert 0 < n_grids < len(grids) / 4


# --- the box index -------------------------------------------------------------------------------

box_st = st.tuples(st.floats(0, 100), st.floats(0, 100), st.floats(0, 40), st.floats(0, 40)).map(
    lambda t: box(t[0], t[1], t[0] + t[2], t[1] + t[3]) if t[2] > 0 and t[3] > 0 else shapely.Point(t[0], t[1])
)


@settings(max_examples=60, deadline=None)
@given(
    entries=st.lists(box_st, min_size=1, max_size=30),
    updates=st.lists(st.tuples(st.integers(0, 29), st.one_of(st.none(), box_st)), max_size=10),
    queries=st.lists(box_st, min_size=1, max_size=10),
    cell=st.sampled_from([None, 0.5, 7.0, 300.0]),
)
def test_the_box_index_answers_as_an_strtree_of_the_current_boxes(
    entries: list[object], updates: list[tuple[int, object]], queries: list[object], cell: float | None
) -> None:
    index = BoxIndex(np.array(entries, dtype=object), cell=cell)
    current = list(entries)
    for i, g in updates:
        if i < len(current):
            index.update(i, g)
            current[i] = g if g is not None else shapely.Polygon()
        expected = shapely.STRtree(current).query(np.array(queries, dtype=object))
        got = index.query(np.array(queries, dtype=object))
        assert sorted(zip(*expected.tolist())) == list(zip(got[0].tolist(), got[1].tolist()))
    got = index.query(np.array(queries, dtype=object))
    expected = shapely.STRtree(current).query(np.array(queries, dtype=object))
    assert sorted(zip(*expected.tolist())) == list(zip(got[0].tolist(), got[1].tolist()))

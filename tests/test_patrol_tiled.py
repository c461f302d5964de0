"""Patrol matching per spatial tile (gis.patrol.tiled) gives exactly the single-pass result: the
same reach, distance and measure bit for bit, ties broken the same way, on random reaches and
points with tiles from half a metre up (points and reaches straddling tile edges and corners),
through match_many and analyse_tracks, in this process and on a real dask cluster."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.patrol import make_tracks
from bench.synthetic import make_reaches
from gis.errors import ValidationError
from gis.patrol import matching as P
from gis.patrol.tiled import (
    PointCandidates,
    match_tile,
    patrol_tiles,
    point_candidates,
    resolve_continuity,
    segment_index,
    tiled_candidates,
)

FIELDS = ["which", "dist", "m", "cand_pt", "cand_reach", "cand_d", "cand_m"]


def assert_same_bits(a: np.ndarray, b: np.ndarray, what: str) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (what, a.dtype, b.dtype, a.shape, b.shape)
    assert a.tobytes() == b.tobytes(), (what, a, b)


def assert_same_candidates(a: PointCandidates, b: PointCandidates) -> None:
    for f in FIELDS:
        assert_same_bits(getattr(a, f), getattr(b, f), f)


# ---------------------------------------------------------------------------------------------
# random reaches and points
# ---------------------------------------------------------------------------------------------

lattice = st.integers(0, 60).map(lambda v: v * 5.0)  # on a 5 m lattice: equal distances (ties) happen
jitter = st.sampled_from([0.0, 0.0, 0.25, 1.7, -3.1])
vertex = st.tuples(lattice, lattice)


@st.composite
def scenes(draw):  # type: ignore[no-untyped-def]
    origin = draw(st.sampled_from([(0.0, 0.0), (-1234.5, 77.0), (512_345.25, 3_210_987.5)]))
    lines = []
    for _ in range(draw(st.integers(1, 8))):
        # every part has a length (a reach of zero length is matched by nothing, so the naive oracle would differ)
        part = st.lists(vertex, min_size=2, max_size=6).filter(lambda p: len(set(p)) > 1)
        parts = [draw(part) for _ in range(draw(st.sampled_from([1, 1, 1, 2])))]
        parts = [[(x + origin[0], y + origin[1]) for x, y in p] for p in parts]
        lines.append(shapely.LineString(parts[0]) if len(parts) == 1 else shapely.MultiLineString(parts))
    if draw(st.booleans()):
        lines.append(lines[draw(st.integers(0, len(lines) - 1))])  # a duplicate reach: every distance ties
    pts = draw(st.lists(st.tuples(lattice, lattice, jitter, jitter), min_size=0, max_size=40))
    x = np.array([p[0] + p[2] + origin[0] for p in pts])
    y = np.array([p[1] + p[3] + origin[1] for p in pts])
    tile_m = draw(st.sampled_from([0.5, 2.5, 5.0, 12.0, 37.5, 100.0, 1000.0]))
    corridor_m = draw(st.sampled_from([5.0, 20.0, 50.0]))
    breaks = np.array(draw(st.lists(st.booleans(), min_size=len(pts), max_size=len(pts))), dtype=bool)
    if len(breaks):
        breaks[0] = True
    return np.array(lines, dtype=object), x, y, tile_m, corridor_m, breaks


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenes())
def test_tiled_candidates_are_the_single_pass_ones_bit_for_bit(scene) -> None:  # type: ignore[no-untyped-def]
    geoms, x, y, tile_m, corridor_m, breaks = scene
    one = point_candidates(segment_index(geoms, corridor_m), x, y)
    tiled = tiled_candidates(geoms, x, y, corridor_m, tile_m=tile_m, scheduler="inline")
    assert_same_candidates(tiled, one)
    assert_same_bits(resolve_continuity(tiled, breaks), resolve_continuity(one, breaks), "which after continuity")
    assert_same_bits(tiled.dist, one.dist, "dist after continuity")
    assert_same_bits(tiled.m, one.m, "m after continuity")

    # each point in the one tile holding it; a tile's reaches: those whose envelope meets the tile
    # grown by the corridor (a millimetre of slack for rounding), in global order
    tiles = patrol_tiles(geoms, x, y, corridor_m, tile_m)
    placed = np.concatenate([t.point_pos for t in tiles]) if tiles else np.zeros(0, np.int64)
    assert len(placed) == len(set(placed.tolist()))
    env = shapely.bounds(geoms)
    for t in tiles:
        ix, iy = np.floor(t.x / tile_m), np.floor(t.y / tile_m)
        assert len(set(ix.tolist())) == 1 and len(set(iy.tolist())) == 1
        assert t.x.tolist() == x[t.point_pos].tolist() and t.y.tolist() == y[t.point_pos].tolist()
        x0, y0 = ix[0] * tile_m, iy[0] * tile_m
        meets = [set(np.flatnonzero(
            (env[:, 0] <= x0 + tile_m + grow) & (env[:, 2] >= x0 - grow)
            & (env[:, 1] <= y0 + tile_m + grow) & (env[:, 3] >= y0 - grow)).tolist())
            for grow in (corridor_m, corridor_m + 0.01)]
        assert meets[0] <= set(t.reach_pos.tolist()) <= meets[1]
        assert t.reach_pos.tolist() == sorted(t.reach_pos.tolist())
    missing = np.setdiff1d(np.arange(len(x)), placed)  # points in no tile: no reach's envelope near them
    assert (one.which[missing] == -1).all()

    # and the single pass against a naive oracle: shapely distances to every reach
    one = point_candidates(segment_index(geoms, corridor_m), x, y)
    for i in range(len(x)):
        pt = shapely.Point(x[i], y[i])
        d = shapely.distance(geoms, pt)
        best = float(d.min())
        if np.any(np.abs(d - corridor_m) < 1e-9):
            continue  # a reach at the corridor's very edge: rounding decides, not the rule
        if best > corridor_m:
            assert one.which[i] == -1 and one.dist[i] == np.inf and np.isnan(one.m[i])
            continue
        k = int(one.which[i])
        assert abs(one.dist[i] - best) <= 1e-9
        assert abs(d[k] - best) <= 1e-9  # the chosen reach is a nearest one
        assert abs(distance_at_measure(geoms[k], one.m[i], pt) - best) <= 1e-6  # and its measure points there
        near = set(np.flatnonzero(d <= corridor_m).tolist())
        many = one.cand_pt == i
        assert set(one.cand_reach[many].tolist()) == (near if len(near) > 1 else set())


def distance_at_measure(line, m: float, pt) -> float:  # type: ignore[no-untyped-def]
    """Distance from ``pt`` to the place(s) ``m`` metres along ``line``, its parts measured one after
    the other without the gaps (where one part ends and the next starts, the nearer of the two)."""
    out, start = np.inf, 0.0
    for part in shapely.get_parts(line):
        if start - 1e-9 <= m <= start + part.length + 1e-9:
            out = min(out, shapely.distance(shapely.line_interpolate_point(part, m - start), pt))
        start += part.length
    return out


def test_a_point_at_a_tile_corner_finds_reaches_in_the_neighbour_tiles() -> None:
    # tiles of 100 m; the point (100, 100) is the corner of four tiles and belongs to tile (1, 1).
    # Reach A (x = 60, y 0..95) lies in tile (0, 0), reach B (x = 135, y 0..99) in tile (1, 0):
    # neither envelope meets tile (1, 1), both lie within 50 m of the point.
    a = shapely.LineString([(60, 0), (60, 95)])
    b = shapely.LineString([(135, 0), (135, 99)])
    far = shapely.LineString([(300, 300), (400, 300)])
    geoms = np.array([a, b, far], dtype=object)
    x, y = np.array([60.0, 100.0]), np.array([80.0, 100.0])  # a point on A (75 m from B), then the corner

    tiles = patrol_tiles(geoms, x, y, 50.0, 100.0)
    corner = [t for t in tiles if 1 in t.point_pos.tolist()]
    assert len(corner) == 1 and corner[0].point_pos.tolist() == [1]
    assert corner[0].reach_pos.tolist() == [0, 1]  # the corner's tile got A and B, not `far`

    c = tiled_candidates(geoms, x, y, 50.0, tile_m=100.0, scheduler="inline")
    # nearest: B at hypot(35, 1), its end (99 m along); A is at hypot(40, 5) from its end at 95 m
    assert c.which.tolist() == [0, 1]
    assert c.dist[1] == np.hypot(35.0, 1.0) and c.m[1] == 99.0
    assert c.cand_pt.tolist() == [1, 1] and c.cand_reach.tolist() == [0, 1]
    # on one track, continuity keeps A (the reach of the point before)
    which = resolve_continuity(c, np.array([True, False]))
    assert which.tolist() == [0, 0]
    assert c.dist[1] == np.hypot(40.0, 5.0) and c.m[1] == 95.0
    # two tracks: the corner point starts the second and keeps its nearest reach B
    c = tiled_candidates(geoms, x, y, 50.0, tile_m=100.0, scheduler="inline")
    assert resolve_continuity(c, np.array([True, True])).tolist() == [0, 1]


def test_tile_size_must_be_positive() -> None:
    geoms = np.array([shapely.LineString([(0, 0), (10, 0)])], dtype=object)
    with pytest.raises(ValidationError, match="分块边长必须大于 0"):
        tiled_candidates(geoms, np.array([1.0]), np.array([1.0]), 50.0, tile_m=0.0, scheduler="inline")


def test_the_tile_function_survives_pickling_for_dask_workers() -> None:
    geoms = np.array([shapely.LineString([(0, 0), (100, 0)]), shapely.LineString([(0, 30), (100, 30)])], dtype=object)
    x, y = np.array([10.0, 50.0, 500.0]), np.array([5.0, 20.0, 0.0])
    [tile] = patrol_tiles(geoms, x, y, 50.0, 1000.0)
    func, copy = pickle.loads(pickle.dumps((match_tile, tile)))
    pos, c = func(copy)
    pos0, c0 = match_tile(tile)
    assert_same_bits(pos, pos0, "positions")
    assert_same_candidates(c, c0)
    assert c.which.tolist() == [0, 1, -1] and c.m[0] == 10.0


# ---------------------------------------------------------------------------------------------
# whole tracks: match_many and analyse_tracks
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def patrols():  # type: ignore[no-untyped-def]
    reaches_m = make_reaches(200, seed=5)  # meandering reaches meeting at confluences, some MultiLineStrings
    reaches = P.reaches_frame(reaches_m.to_crs("EPSG:4326"))
    tracks, _, _ = make_tracks(np.random.default_rng(7), np.asarray(reaches_m.geometry.array), 40, 8000)
    return reaches, tracks


def assert_same_results(tiled, one) -> None:  # type: ignore[no-untyped-def]
    assert len(tiled) == len(one)
    for t, o in zip(tiled, one):
        pd.testing.assert_frame_equal(t.matched, o.matched, check_exact=True)
        assert (t.length_m, t.river_length_m, t.river_duration_s, t.near_share) == (
            o.length_m, o.river_length_m, o.river_duration_s, o.near_share)
        assert t.reaches == o.reaches and t.flags == o.flags and t.offset_guess == o.offset_guess


@pytest.mark.parametrize("tile_m", [40.0, 300.0, 2500.0])
def test_match_many_and_analyse_tracks_tiled_equal_the_single_pass(patrols, tile_m) -> None:  # type: ignore[no-untyped-def]
    reaches, tracks = patrols
    one = P.match_many(tracks, reaches)
    assert len(one) >= 40 and one["length_m"].sum() > 10_000  # the tracks do walk along rivers
    pd.testing.assert_frame_equal(P.match_many(tracks, reaches, tile_m=tile_m, scheduler="inline"), one, check_exact=True)

    results, warns = P.analyse_tracks(tracks, reaches)
    tiled, tiled_warns = P.analyse_tracks(tracks, reaches, tile_m=tile_m, scheduler="inline")
    assert tiled_warns == warns
    assert any(r.flags for r in results) or any(len(r.matched) for r in results)
    assert_same_results(tiled, results)


@pytest.fixture(scope="module")
def dask_scheduler():  # type: ignore[no-untyped-def]
    distributed = pytest.importorskip("distributed")
    # one worker process (the tiles and their results really travel pickled), kept light
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0", host="127.0.0.1"
    ) as cluster:
        yield cluster.scheduler_address


def test_tiles_on_a_dask_cluster_give_the_same_result(patrols, dask_scheduler) -> None:  # type: ignore[no-untyped-def]
    reaches, tracks = patrols
    one = P.match_many(tracks, reaches)
    on_dask = P.match_many(tracks, reaches, tile_m=500.0, scheduler=dask_scheduler)
    pd.testing.assert_frame_equal(on_dask, one, check_exact=True)
    results, _ = P.analyse_tracks(tracks[:10], reaches)
    on_dask_results, _ = P.analyse_tracks(tracks[:10], reaches, tile_m=1000.0, scheduler=dask_scheduler)
    assert_same_results(on_dask_results, results)

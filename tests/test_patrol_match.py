"""The vectorised matching of GPS points to reaches (segment hash) against a naive per-point loop
over every reach, and the batch matching of many tracks against one track at a time."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.patrol import make_tracks
from bench.synthetic import CRS, make_reaches
from gis.patrol import matching as P


@pytest.fixture(scope="module")
def case():  # type: ignore[no-untyped-def]
    reaches_m = make_reaches(300, seed=3)  # about 10% are MultiLineStrings with a gap
    reaches = P.reaches_frame(reaches_m.to_crs("EPSG:4326"))
    return reaches_m, reaches, P._reach_index(reaches)


def test_nearest_reach_and_position_agree_with_a_naive_loop(case) -> None:  # type: ignore[no-untyped-def]
    reaches_m, _reaches, index = case
    geoms = np.asarray(reaches_m.geometry.array)
    assert any(g.geom_type == "MultiLineString" for g in geoms)
    rng = np.random.default_rng(1)
    # points near random reaches (0–80 m off) and a few anywhere
    k = rng.integers(0, len(geoms), 400)
    on = shapely.line_interpolate_point(geoms[k], rng.uniform(0, 1, 400), normalized=True)
    x = np.concatenate([shapely.get_x(on) + rng.uniform(-80, 80, 400), rng.uniform(*reaches_m.total_bounds[[0, 2]], 100)])
    y = np.concatenate([shapely.get_y(on) + rng.uniform(-80, 80, 400), rng.uniform(*reaches_m.total_bounds[[1, 3]], 100)])
    to_m = pyproj.Transformer.from_crs("EPSG:4326", index.crs, always_xy=True)
    back = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    xm, ym = to_m.transform(*back.transform(x, y))  # the same points as the matcher sees them
    xm, ym = np.asarray(xm), np.asarray(ym)
    which, dist, m = P._match_xy(index, xm, ym, 50.0, breaks=np.ones(len(xm), dtype=bool))  # no continuity
    checked = 0
    for i in range(len(xm)):
        pt = shapely.Point(xm[i], ym[i])
        d = np.array([g.distance(pt) for g in index.geoms_m])
        best = int(np.argmin(d))
        if d[best] > 50.0:
            assert which[i] == -1 and np.isinf(dist[i]) and np.isnan(m[i])
            continue
        assert dist[i] == pytest.approx(d[best], abs=1e-6)
        if np.sort(d)[1] - d[best] > 1e-6:  # no tie
            assert which[i] == best
            assert m[i] == pytest.approx(index.geoms_m[best].project(pt), abs=1e-6)
            checked += 1
    assert checked > 300


def test_many_tracks_at_once_match_like_one_at_a_time(case) -> None:  # type: ignore[no-untyped-def]
    reaches_m, reaches, index = case
    tracks, _, _ = make_tracks(np.random.default_rng(2), np.asarray(reaches_m.geometry.array), 30, 6_000)
    many = P.match_many(tracks, reaches, _index=index)
    assert set(many["track"]) <= set(range(30)) and len(many) >= 25
    for i, t in enumerate(tracks):
        one = P.match_track(t, reaches, _index=index).matched
        mine = many[many["track"] == i]
        assert list(mine["reach_id"]) == list(one["reach_id"])
        np.testing.assert_allclose(mine[["from_m", "to_m"]].to_numpy(float), one[["from_m", "to_m"]].to_numpy(float),
                                   atol=1e-6)


def test_no_points_and_no_reaches() -> None:
    reach = gpd.GeoDataFrame(geometry=[shapely.LineString([(126.9, 41.8), (126.91, 41.8)])], crs="EPSG:4326")
    empty = P.match_many([], P.reaches_frame(reach))
    assert list(empty.columns) == ["track", "reach_id", "from_m", "to_m", "length_m"] and empty.empty


def test_noisy_walks_with_frequent_fixes_are_not_taken_for_driving(case) -> None:  # type: ignore[no-untyped-def]
    """Walks at 3–6 km/h, a fix every 4–6 s, 7 m of GPS noise: step speeds jump above 15 km/h
    all the time, but neither the sustained nor the accumulated speed rule may fire."""
    reaches_m, reaches, _ = case
    tracks, _, _ = make_tracks(np.random.default_rng(4), np.asarray(reaches_m.geometry.array), 10, 10_000)
    results, _ = P.analyse_tracks(tracks, reaches)
    assert not [r.track.name for r in results if "fast_speed" in r.flag_codes]


@given(st.lists(st.tuples(st.sampled_from(["a", 7, "b"]), st.integers(0, 60), st.integers(0, 60)), max_size=40))
@settings(max_examples=200, deadline=None)
def test_merge_intervals_is_the_union_per_reach(rows) -> None:  # type: ignore[no-untyped-def]
    """Against a naive sweep over whole metres: same covered metres, disjoint, non-touching."""
    ids = np.array([r[0] for r in rows], dtype=object)
    out = P.merge_intervals(ids, np.array([r[1] for r in rows], float), np.array([r[2] for r in rows], float))
    for rid in ("a", 7, "b"):
        naive = set()
        for r, x, y in rows:
            if r == rid:
                naive |= set(range(min(x, y), max(x, y)))
        mine = out[out["reach_id"] == rid]
        covered = set()
        for f, t in zip(mine["from_m"], mine["to_m"]):
            covered |= set(range(int(f), int(t)))
        assert covered == naive
        starts, ends = mine["from_m"].to_numpy(), mine["to_m"].to_numpy()
        assert (starts[1:] > ends[:-1]).all()  # sorted, apart

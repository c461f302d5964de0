"""The segment index shared by the coverage check and patrol matching (gis.geometry.segindex):
measures by hand, and both queries against naive loops whatever the cell size."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiLineString

from gis.geometry import segindex
from gis.geometry.segindex import SegmentIndex, expand_ranges, measured_segments


def test_measures_run_through_the_parts_in_order_without_the_gaps() -> None:
    lines = np.array([
        MultiLineString([[(0, 0), (3, 0), (3, 4)], [(10, 10), (10, 10), (10, 12)]]),  # 3 + 4, then 2 (one repeated vertex)
        LineString([(5, 5), (5, 6)]),
    ], dtype=object)
    seg, v = measured_segments(lines, owners=np.array([7, 9]))
    assert seg.m0.tolist() == [0.0, 3.0, 7.0, 0.0]  # the zero-length step is left out
    assert seg.length.tolist() == [3.0, 4.0, 2.0, 1.0]
    assert seg.owner.tolist() == [7, 7, 7, 9] and seg.part.tolist() == [0, 0, 1, 2]
    assert v.part_start_m.tolist() == [0.0, 7.0, 0.0] and v.part_len.tolist() == [7.0, 2.0, 1.0]
    assert v.vertex_m.tolist() == [0.0, 3.0, 7.0, 7.0, 7.0, 9.0, 0.0, 1.0]
    # as shapely measures a point along a MultiLineString
    assert shapely.line_locate_point(lines[0], shapely.Point(10, 11)) == pytest.approx(8.0)


def test_expand_ranges() -> None:
    which, pos = expand_ranges(np.array([2, 5, 7]), np.array([4, 5, 10]))
    assert which.tolist() == [0, 0, 2, 2, 2] and pos.tolist() == [2, 3, 7, 8, 9]


coord = st.floats(min_value=-50, max_value=50, allow_nan=False).map(lambda v: round(v, 1))
lines_st = st.lists(st.lists(st.tuples(coord, coord), min_size=2, max_size=5), min_size=1, max_size=6)


def _index(lines: list[list[tuple[float, float]]], cell_m: float, grow_m: float) -> SegmentIndex:
    seg, _ = measured_segments(np.array([LineString(p) for p in lines], dtype=object))
    return SegmentIndex.build(seg, cell_m=cell_m, grow_m=grow_m)


@settings(max_examples=120, deadline=None)
@given(lines_st, st.lists(st.tuples(coord, coord), min_size=1, max_size=30),
       st.sampled_from([0.3, 4.0, 25.0, 500.0]), st.sampled_from([0.5, 3.0, 12.0]), st.booleans())
def test_near_finds_every_segment_within_the_distance_like_a_naive_loop(lines, points, cell_m, grow_m, dense) -> None:  # type: ignore[no-untyped-def]
    index = _index(lines, cell_m, grow_m)
    if not dense:  # the bisecting look-up instead of the dense table
        index.starts = None
    x = np.array([p[0] for p in points])
    y = np.array([p[1] for p in points])
    pt, seg, d, t = index.near(x, y)
    s = index.segments
    dist = {(i, k): LineString([(s.x0[k], s.y0[k]), (s.x0[k] + s.dx[k], s.y0[k] + s.dy[k])]).distance(
                shapely.Point(x[i], y[i]))
            for i in range(len(x)) for k in range(len(s))}
    got = list(zip(pt.tolist(), seg.tolist()))
    # every pair within the distance, none beyond (ties to 1e-9 m may go either way)
    assert {p for p, v in dist.items() if v <= grow_m - 1e-9} <= set(got)
    assert all(dist[p] <= grow_m + 1e-9 for p in got)
    # grouped by point in point order, segments ascending
    assert got == sorted(got) and len(set(got)) == len(got)
    np.testing.assert_allclose(d, [dist[p] for p in got], atol=1e-9)
    # t locates the nearest point of the segment
    np.testing.assert_allclose(np.hypot(s.x0[seg] + t * s.dx[seg] - x[pt], s.y0[seg] + t * s.dy[seg] - y[pt]), d,
                               atol=1e-9)


@settings(max_examples=120, deadline=None)
@given(lines_st, lines_st, st.sampled_from([0.3, 4.0, 25.0, 500.0]), st.sampled_from([0.0, 1e-6, 2.0]))
def test_meeting_pairs_are_the_boxes_that_meet_each_once(lines_a, lines_b, cell_m, grow_m) -> None:  # type: ignore[no-untyped-def]
    index = _index(lines_a, cell_m, grow_m)
    other, _ = measured_segments(np.array([LineString(p) for p in lines_b], dtype=object))
    got = list(zip(*(a.tolist() for a in index.meeting(other))))
    s, g = index.segments, grow_m
    want = [(o, k) for o in range(len(other)) for k in range(len(s))
            if other.xmin[o] <= s.xmax[k] + g and s.xmin[k] - g <= other.xmax[o]
            and other.ymin[o] <= s.ymax[k] + g and s.ymin[k] - g <= other.ymax[o]]
    assert len(got) == len(set(got))
    assert sorted(got) == want


def test_a_bounded_table_and_the_sparse_look_up_give_the_same_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    walk = np.cumsum(rng.normal(0, 10, size=(400, 2)), axis=0)
    lines = np.array([LineString(walk[i:i + 20]) for i in range(0, 380, 19)], dtype=object)
    seg, _ = measured_segments(lines)
    pairs = []
    for limit, cells in ((1 << 22, None), (0, None), (1 << 22, 8)):
        monkeypatch.setattr(segindex, "_DENSE_CELLS", limit)
        index = SegmentIndex.build(seg, cell_m=1.0, grow_m=0.5, max_cells_per_side=cells)
        assert (index.starts is None) == (limit == 0)
        a, b = index.meeting(seg)
        pairs.append(sorted(zip(a.tolist(), b.tolist())))
        near = index.near(walk[:, 0] + 0.2, walk[:, 1])
        pairs.append(list(zip(near[0].tolist(), near[1].tolist())))
    assert pairs[0] == pairs[2] == pairs[4] and pairs[1] == pairs[3] == pairs[5]


@settings(max_examples=80, deadline=None)
@given(lines_st, st.lists(st.tuples(coord, coord, st.integers(0, 3)), min_size=1, max_size=12),
       st.sampled_from([0.5, 3.0]))
def test_owners_near_all_points_of_a_group_like_a_naive_loop(lines, points, grow_m) -> None:  # type: ignore[no-untyped-def]
    geoms = np.array([LineString(p) for p in lines], dtype=object)
    seg, _ = measured_segments(geoms)
    index = SegmentIndex.build(seg, cell_m=2.0, grow_m=grow_m)
    groups = sorted({g for *_, g in points})
    renumber = {g: k for k, g in enumerate(groups)}  # groups 0..k-1
    x = np.array([p[0] for p in points])
    y = np.array([p[1] for p in points])
    group = np.array([renumber[p[2]] for p in points])
    got = list(zip(*(a.tolist() for a in index.owners_near_all(x, y, group))))
    assert got == sorted(set(got))
    d = {(i, o): min(LineString([(seg.x0[k], seg.y0[k]), (seg.x0[k] + seg.dx[k], seg.y0[k] + seg.dy[k])])
                     .distance(shapely.Point(x[i], y[i])) for k in np.flatnonzero(seg.owner == o))
         for i in range(len(x)) for o in set(seg.owner.tolist())}
    members = {g: np.flatnonzero(group == g) for g in range(len(groups))}
    sure_in = {(g, o) for g in members for o in set(seg.owner.tolist())
               if all(d[i, o] < grow_m - 1e-9 for i in members[g])}
    sure_out = {(g, o) for g in members for o in set(seg.owner.tolist())
                if any(d[i, o] > grow_m + 1e-9 for i in members[g])}
    assert sure_in <= set(got) and not sure_out & set(got)  # ties at exactly grow_m may go either way

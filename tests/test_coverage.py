"""Horizontal coverage: hand-computed cases, a naive shapely oracle, properties, demo data."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiLineString, Polygon, box

from bench.synthetic import make_case
from gis.checks.coverage import CoverageChecker, check_coverage
from gis.errors import CRSError, GeometryError, ValidationError

GK = "EPSG:4551"  # CGCS2000 / 3-degree Gauss-Kruger CM 126E, metres


def frame(geoms: list, ids: list | None = None, crs: str | None = GK) -> gpd.GeoDataFrame:  # type: ignore[type-arg]
    return gpd.GeoDataFrame({"id": ids if ids is not None else list(range(len(geoms)))}, geometry=geoms, crs=crs)


def rows(result, reach_id) -> list[tuple]:  # type: ignore[no-untyped-def]
    iv = result.intervals[result.intervals["reach_id"] == reach_id]
    return [(round(r.from_m, 6), round(r.to_m, 6), r.status, r.grid_ids) for r in iv.itertuples()]


@pytest.fixture
def two_squares() -> gpd.GeoDataFrame:
    return frame([box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)], ids=["A", "B"])


def test_a_reach_crossing_two_grids_on_paper(two_squares: gpd.GeoDataFrame) -> None:
    reaches = frame([LineString([(-500, 500), (2500, 500)])], ids=["R"])
    res = check_coverage(reaches, two_squares)
    assert rows(res, "R") == [
        (0, 500, "uncovered", ()),
        (500, 1500, "covered", ("A",)),
        (1500, 2500, "covered", ("B",)),
        (2500, 3000, "uncovered", ()),
    ]
    assert list(res.intervals["station"]) == ["K0+000–K0+500", "K0+500–K1+500", "K1+500–K2+500", "K2+500–K3+000"]
    assert [u["nearest_grid_id"] for u in res.uncovered()] == ["A", "B"]
    assert res.totals() == pytest.approx({
        "total_length_m": 3000, "covered_length_m": 2000, "uncovered_length_m": 1000,
        "overlap_length_m": 0, "coverage_rate": 2 / 3,
    })
    assert shapely.equals_exact(res.intervals.geometry.iloc[1], LineString([(0, 500), (1000, 500)]), 1e-9)


def test_a_reach_along_a_shared_boundary_is_claimed_by_both(two_squares: gpd.GeoDataFrame) -> None:
    reaches = frame([LineString([(1000, -200), (1000, 1200)])], ids=["界河"])
    res = check_coverage(reaches, two_squares)
    assert rows(res, "界河") == [
        (0, 200, "uncovered", ()),
        (200, 1200, "overlap", ("A", "B")),
        (1200, 1400, "uncovered", ()),
    ]
    (ov,) = res.overlaps()
    assert ov["on_boundary"] is True and ov["grid_ids"] == ["A", "B"] and ov["length_m"] == pytest.approx(1000)


def test_touching_a_corner_at_one_point_claims_nothing(two_squares: gpd.GeoDataFrame) -> None:
    reaches = frame([LineString([(2000, 1000), (2300, 1400)])], ids=["角"])
    res = check_coverage(reaches, two_squares)
    assert rows(res, "角") == [(0, 500, "uncovered", ())]
    assert res.uncovered()[0]["nearest_grid_id"] == "B"


def test_a_reach_leaving_and_reentering_a_grid() -> None:
    grids = frame([box(0, 0, 1000, 1000)], ids=[7])
    u_turn = LineString([(500, 500), (500, 1500), (700, 1500), (700, 500)])  # out and back in
    res = check_coverage(frame([u_turn], ids=[1]), grids)
    assert rows(res, 1) == [
        (0, 500, "covered", (7,)),
        (500, 1700, "uncovered", ()),
        (1700, 2200, "covered", (7,)),
    ]


def test_multilinestring_stationing_runs_through_the_parts_in_order(two_squares: gpd.GeoDataFrame) -> None:
    reach = MultiLineString([[(500, -100), (500, 100)], [(1500, 900), (1500, 1100)]])
    res = check_coverage(frame([reach], ids=["M"]), two_squares)
    assert rows(res, "M") == [
        (0, 100, "uncovered", ()),
        (100, 200, "covered", ("A",)),
        (200, 300, "covered", ("B",)),
        (300, 400, "uncovered", ()),
    ]


def test_an_area_overlap_is_a_double_claim_not_on_a_boundary() -> None:
    grids = frame([box(0, 0, 1000, 1000), box(800, 0, 2000, 1000)], ids=["甲", "乙"])
    res = check_coverage(frame([LineString([(0, 500), (2000, 500)])], ids=[1]), grids)
    assert rows(res, 1) == [(0, 800, "covered", ("甲",)), (800, 1000, "overlap", ("甲", "乙")),
                            (1000, 2000, "covered", ("乙",))]
    assert res.overlaps()[0]["on_boundary"] is False
    assert res.by_grid().set_index("grid_id").loc["乙", ["claimed_m", "shared_m"]].tolist() == pytest.approx([1200, 200])


def test_stationing_continues_from_the_reach_start_station(two_squares: gpd.GeoDataFrame) -> None:
    reaches = frame([LineString([(-500, 500), (500, 500)])], ids=["下段"]).assign(start_station_m=[13_602.1])
    res = check_coverage(reaches, two_squares)
    (gap,) = res.uncovered()
    assert (gap["from_m"], gap["to_m"]) == (0, 500)  # metres from this reach's start
    assert gap["station"] == "K13+602–K14+102"  # 桩号 continue the upstream reach's


def test_min_gap_lists_short_pieces_as_slivers_and_keeps_the_totals_exact() -> None:
    # issue 15: a stretch shorter than min_gap_m is a 微小缝隙, not a blind spot, but its metres
    # are not counted as covered any more (the totals stay exact)
    grids = frame([box(0, 0, 1000, 1000), box(1003, 0, 2000, 1000)], ids=[1, 2])  # a 3 m slit
    reaches = frame([LineString([(0, 500), (2000, 500)])], ids=[9])
    assert check_coverage(reaches, grids).totals()["uncovered_length_m"] == pytest.approx(3)
    res = check_coverage(reaches, grids, min_gap_m=5)
    assert res.uncovered() == [] and res.totals()["uncovered_length_m"] == pytest.approx(3)
    assert res.totals()["covered_length_m"] == pytest.approx(1997)
    assert res.gap_totals()["blind_spot_length_m"] == 0 and res.gap_totals()["sliver_length_m"] == pytest.approx(3)
    (sliver,) = res.slivers()
    assert sliver["kind"] == "gap" and (sliver["from_m"], sliver["to_m"]) == pytest.approx((1000, 1003))


def test_lon_lat_input_is_measured_in_gauss_kruger_and_crs_can_be_chosen() -> None:
    from pyproj import Geod

    grids = frame([box(126.85, 41.75, 126.95, 41.85)], ids=[1], crs="EPSG:4326")
    line = LineString([(126.80, 41.80), (126.90, 41.80)])
    res = check_coverage(frame([line], ids=[1], crs="EPSG:4326"), grids)
    assert res.crs.to_epsg() == 4551
    geodesic = Geod(ellps="GRS80").geometry_length(line)
    assert res.totals()["total_length_m"] == pytest.approx(geodesic, rel=1e-3)
    half = res.totals()["uncovered_length_m"] / res.totals()["total_length_m"]
    assert half == pytest.approx(0.5, abs=1e-3)
    utm = check_coverage(frame([line], ids=[1], crs="EPSG:4326"), grids, crs="EPSG:32652")
    assert utm.crs.to_epsg() == 32652
    assert utm.totals()["total_length_m"] == pytest.approx(geodesic, rel=1e-3)


# --- bad input ------------------------------------------------------------------------------


def test_layers_without_crs_or_in_different_crss_are_refused(two_squares: gpd.GeoDataFrame) -> None:
    line = LineString([(0, 0), (1, 1)])
    with pytest.raises(CRSError, match="河段图层没有坐标系"):
        check_coverage(frame([line], crs=None), two_squares)
    with pytest.raises(CRSError, match="EPSG:4326.*EPSG:4551"):
        check_coverage(frame([line], crs="EPSG:4326"), two_squares)
    with pytest.raises(CRSError, match="经纬度坐标系"):
        check_coverage(frame([line]), two_squares, crs="EPSG:4326")


def test_empty_layers_and_wrong_types_are_refused(two_squares: gpd.GeoDataFrame) -> None:
    line = frame([LineString([(0, 0), (1, 1)])])
    with pytest.raises(ValidationError, match="河段图层为空"):
        check_coverage(line.iloc[:0], two_squares)
    with pytest.raises(ValidationError, match="网格图层为空"):
        check_coverage(line, two_squares.iloc[:0])
    with pytest.raises(GeometryError, match="不是面要素"):
        check_coverage(line, frame([LineString([(0, 0), (5, 5)])]))
    with pytest.raises(GeometryError, match="不是线要素"):
        check_coverage(frame([box(0, 0, 1, 1)]), two_squares)
    with pytest.raises(ValidationError, match="编号有重复"):
        check_coverage(line, frame([box(0, 0, 1, 1), box(1, 0, 2, 1)], ids=[1, 1]))


def test_an_invalid_grid_is_repaired_with_a_note_not_silently_miscounted() -> None:
    bowtie = Polygon([(0, 0), (1000, 1000), (1000, 0), (0, 1000), (0, 0)])
    res = check_coverage(frame([LineString([(0, 500), (1000, 500)])]), frame([bowtie], ids=["蝴蝶"]))
    assert any("蝴蝶" in w and "修复" in w for w in res.warnings)
    # the repaired bow-tie is two triangles meeting at (500, 500): the whole line is covered
    assert res.totals()["uncovered_length_m"] == pytest.approx(0, abs=1e-9)


# --- oracle: naive shapely --------------------------------------------------------------------


def naive(reaches: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per reach, by plain overlay: uncovered = |reach − ∪grids|; overlap = |reach ∩ O| +
    |(reach ∩ E) − O| where O is the union of the areas where two grids overlap and E the union
    of the edges two grids share."""
    geoms = list(grids.geometry)
    union = shapely.union_all(geoms)
    pairs = [shapely.intersection(a, b) for a, b in itertools.combinations(geoms, 2)]
    parts = [p for g in pairs for p in shapely.get_parts(g) if not p.is_empty]
    areas = shapely.union_all([p for p in parts if p.geom_type == "Polygon"])
    edges = shapely.union_all([p for p in parts if p.geom_type == "LineString"])
    unc, ov = [], []
    for reach in reaches.geometry:
        unc.append(reach.difference(union).length)
        on_edges = reach.intersection(edges).difference(areas) if not edges.is_empty else None
        ov.append(reach.intersection(areas).length + (on_edges.length if on_edges is not None else 0.0))
    return np.array(unc), np.array(ov)


def assert_matches_naive(reaches: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, res) -> None:  # type: ignore[no-untyped-def]
    unc, ov = naive(reaches, grids)
    t = res.reach_totals.set_index("reach_id").loc[reaches["id"]]
    np.testing.assert_allclose(t["uncovered_m"], unc, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(t["overlap_m"], ov, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(t["covered_m"] + t["uncovered_m"], reaches.length.to_numpy(), rtol=1e-12)


def test_synthetic_case_matches_the_naive_oracle() -> None:
    reaches, grids = make_case("small")
    # add a few overlapping grids on top of the Voronoi partition
    extra = frame([shapely.buffer(g, 300).intersection(shapely.box(*g.bounds)) for g in grids.geometry.iloc[:3]],
                  ids=[10_000, 10_001, 10_002], crs=grids.crs)
    grids = gpd.GeoDataFrame(np.concatenate([grids[["id"]].to_numpy()[:, 0], extra["id"]]), columns=["id"],
                             geometry=list(grids.geometry) + list(extra.geometry), crs=grids.crs)
    res = check_coverage(reaches, grids)
    assert res.totals()["overlap_length_m"] > 0 and res.totals()["uncovered_length_m"] > 0
    assert_matches_naive(reaches, grids, res)


coord = st.integers(min_value=0, max_value=20).map(lambda v: v * 50.0)


@st.composite
def boxes_and_lines(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 4))
    grids = []
    for _ in range(n):
        x0, x1 = sorted(draw(st.lists(coord, min_size=2, max_size=2, unique=True)))
        y0, y1 = sorted(draw(st.lists(coord, min_size=2, max_size=2, unique=True)))
        grids.append(box(x0, y0, x1, y1))
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        line = LineString(draw(st.lists(st.tuples(coord, coord), min_size=2, max_size=5)))
        # a river never runs back over itself (the oracle's point sets would count it once)
        if line.length > 0 and shapely.union_all([line]).length == pytest.approx(line.length):
            lines.append(line)
    return grids, lines


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(boxes_and_lines())
def test_property_random_boxes_and_lines_match_the_naive_oracle(case) -> None:  # type: ignore[no-untyped-def]
    # grid-aligned coordinates: reaches run along edges, touch corners and cross at vertices
    grids, lines = case
    if not lines:
        return
    reaches = frame(lines)
    g = frame(grids)
    assert_matches_naive(reaches, g, check_coverage(reaches, g))


# --- incremental ------------------------------------------------------------------------------


def same_result(a, b) -> None:  # type: ignore[no-untyped-def]
    cols = ["reach_id", "from_m", "to_m", "status", "grid_ids", "nearest_grid_id"]
    x, y = a.intervals[cols].reset_index(drop=True), b.intervals[cols].reset_index(drop=True)
    assert len(x) == len(y)
    assert x[["reach_id", "status", "grid_ids", "nearest_grid_id"]].equals(y[["reach_id", "status", "grid_ids", "nearest_grid_id"]])
    np.testing.assert_allclose(x[["from_m", "to_m"]], y[["from_m", "to_m"]], rtol=0, atol=1e-7)
    assert a.totals() == pytest.approx(b.totals(), rel=1e-12)


def test_incremental_recheck_equals_a_full_recheck() -> None:
    reaches, grids = make_case("small")
    checker = CoverageChecker(reaches, grids)
    same_result(checker.result, check_coverage(reaches, grids))
    edited = grids.copy()
    rng = np.random.default_rng(3)
    for step in range(6):
        i = int(rng.integers(len(edited)))
        gid = edited["id"].iloc[i]
        old = edited.geometry.iloc[i]
        new = None if step == 3 else shapely.buffer(old, float(rng.choice([-400, 250, 800])), join_style="mitre")
        if new is not None and new.is_empty:
            new = None
        checker.update_grid(gid, new)
        if new is None:
            edited = edited[edited["id"] != gid].reset_index(drop=True)
        else:
            edited.loc[edited.index[i], "geometry"] = new
        same_result(checker.result, check_coverage(reaches, edited))


# --- the demo data ----------------------------------------------------------------------------


def test_demo_data_has_exactly_the_deliberate_gap_and_overlap() -> None:
    from gis.demo.data import build_demo_data

    demo = build_demo_data()
    reaches = gpd.GeoDataFrame({"id": [r.code for r in demo.reaches]}, geometry=[r.geom for r in demo.reaches],
                               crs="EPSG:4326")
    grids = gpd.GeoDataFrame({"id": [g.name for g in demo.grids], "level": [g.level for g in demo.grids]},
                             geometry=[g.geom for g in demo.grids], crs="EPSG:4326")
    res = check_coverage(reaches, grids[grids["level"] == "village"], scope=grids[grids["level"] == "township"])
    (gap,) = res.uncovered()
    assert gap["reach_id"] == "YLJ-SG-02" and gap["length_m"] == pytest.approx(718, abs=5)
    assert gap["station"].startswith("K12+6") and gap["nearest_grid_id"] == "森工街道森工社区"
    overlaps = res.overlaps()
    assert [o["reach_id"] for o in overlaps] == ["YLJ-SG-01", "YLJ-SG-02"]
    assert all(o["grid_ids"] == ["森工街道东兴村", "森工街道森工社区"] and 80 < o["length_m"] < 130 for o in overlaps)
    assert overlaps[1]["station"].startswith("K0+000")
    # reaches outside the township (the rest of the Yalu) are not the villages' business
    assert set(res.reach_totals["reach_id"]) == {"YLJ-SG-01", "YLJ-SG-02", "DXG-01", "SGH-01", "BSG-01"}


def test_a_reach_result_does_not_depend_on_the_other_reaches_in_the_call() -> None:
    # two river pieces drawn exactly along shared Voronoi edges of the small case (found by the
    # PostGIS comparison): checked after thousands of other reaches they must come out as alone
    reaches, grids = make_case("small")
    along = [
        LineString([(503443.02943627094, 4604425.872308201), (503459.82756015996, 4604415.437063184)]),
        LineString([(495721.1756971634, 4596908.852367045), (495723.49903736106, 4596928.638113872)]),
    ]
    many = [reaches.geometry.iloc[i % len(reaches)] for i in range(4000)] + along
    batch = check_coverage(frame(many), grids).reach_totals.set_index("reach_id")
    for k, line in enumerate(along):
        alone = check_coverage(frame([line]), grids).reach_totals.iloc[0]
        together = batch.loc[4000 + k]
        assert together[["uncovered_m", "overlap_m"]].tolist() == pytest.approx(
            alone[["uncovered_m", "overlap_m"]].tolist(), abs=1e-9)
    # every reach of the small case gives the same answer in a batch and on its own
    sample = reaches.sample(25, random_state=1)
    in_batch = check_coverage(reaches, grids).reach_totals.set_index("reach_id").loc[sample["id"]]
    for rid, geom in zip(sample["id"], sample.geometry):
        alone = check_coverage(frame([geom], ids=[rid]), grids).reach_totals.iloc[0]
        assert in_batch.loc[rid, ["uncovered_m", "overlap_m"]].tolist() == pytest.approx(
            alone[["uncovered_m", "overlap_m"]].tolist(), abs=1e-9)

"""Tests of gis.checks.topology.check_topology on hand-made grids whose answers are computed on paper.

Geometry is built in EPSG:4551 (CGCS2000 / 3-degree GK CM 126E, metres) with the origin of the
local drawing at (500000, 4600000); ``box_m(x0, y0, x1, y1)`` takes offsets in metres from it.
The parent grid is the square 0..1000 × 0..1000 m (1,000,000 m², 100 公顷).
"""

from __future__ import annotations

import re
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import affinity
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from gis.checks.findings import Finding
from gis.checks.topology import NOISE_AREA_M2, RULES, check_topology
from gis.errors import CRSError, ValidationError

X0, Y0 = 500_000.0, 4_600_000.0
METRIC = "EPSG:4551"
HAN = re.compile(r"[\u4e00-\u9fff]")


def box_m(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def poly_m(*xy: tuple[float, float]) -> Polygon:
    return Polygon([(X0 + x, Y0 + y) for x, y in xy])


PARENT = shapely.segmentize(box_m(0, 0, 1000, 1000), 50.0)
"""The parent square with a vertex every 50 m, where the children's corners meet its edges.

Without them a child's corner that lies on the parent's edge in EPSG:4551 is ~2 cm outside it
once both are in lon/lat (a straight edge in one CRS is a curve in the other): a 4 m² overhang.
"""


def grids(*rows: tuple[Any, str, Any, str, BaseGeometry | None], crs: Any = METRIC) -> gpd.GeoDataFrame:
    """Rows of (id, name, parent_id, level, geometry)."""
    ids, names, parents, levels, geoms = zip(*rows)
    return gpd.GeoDataFrame(
        {"id": list(ids), "name": list(names), "parent_id": list(parents), "level": list(levels)},
        geometry=list(geoms), crs=crs,
    )


def township_with(*children: tuple[Any, str, BaseGeometry | None], crs: Any = METRIC) -> gpd.GeoDataFrame:
    """A county, the township PARENT under it (same square), and village children."""
    rows = [(1, "临江市", None, "county", PARENT), (10, "森工街道", 1, "township", PARENT)]
    rows += [(i, name, 10, "village", geom) for i, name, geom in children]
    return grids(*rows, crs=crs)


def by_rule(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def rules(findings: list[Finding]) -> list[str]:
    return [f.rule for f in findings]


def to_metric(geom: BaseGeometry) -> BaseGeometry:
    return gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(METRIC).iloc[0]


def test_parent_vertices() -> None:
    assert shapely.get_num_coordinates(PARENT) == 81
    assert PARENT.area == 1_000_000.0


def assert_chinese_naming(finding: Finding, *names: str) -> None:
    assert HAN.search(finding.message), finding.message
    for name in names:
        assert f"“{name}”" in finding.message, (name, finding.message)


# =============================================================================================
# The clean partition: nothing to report
# =============================================================================================


def clean_partition(crs: Any = METRIC) -> gpd.GeoDataFrame:
    # Four quadrants sharing every vertex (the centre and the edge midpoints).
    return township_with(
        (101, "东村", box_m(0, 0, 500, 500)),
        (102, "西村", box_m(500, 0, 1000, 500)),
        (103, "南村", box_m(0, 500, 500, 1000)),
        (104, "北村", box_m(500, 500, 1000, 1000)),
        crs=crs,
    )


def test_clean_partition_has_no_findings() -> None:
    assert check_topology(clean_partition()) == []


def test_clean_partition_in_lonlat_has_no_findings() -> None:
    gdf = clean_partition().to_crs("EPSG:4326")
    assert check_topology(gdf) == []


def test_empty_frame() -> None:
    empty = gpd.GeoDataFrame({"id": [], "name": [], "parent_id": [], "level": []}, geometry=[], crs=METRIC)
    assert check_topology(empty) == []


# =============================================================================================
# Gaps, overlaps, overhangs
# =============================================================================================


def test_gap_of_100_by_1000_m() -> None:
    gdf = township_with((101, "东村", box_m(0, 0, 450, 1000)), (102, "西村", box_m(550, 0, 1000, 1000)))
    findings = check_topology(gdf)
    assert rules(findings) == ["gap_in_parent"]
    gap = findings[0]
    assert gap.object_id == 10
    assert gap.severity == "error"
    assert gap.level == "township"
    assert gap.area_m2 == pytest.approx(100_000.0, rel=1e-9)
    assert_chinese_naming(gap, "森工街道")
    assert "10.00 公顷" in gap.message
    # geometry in lon/lat, and it is the strip 450..550 m
    assert gap.geometry is not None
    assert to_metric(gap.geometry).equals_exact(box_m(450, 0, 550, 1000), tolerance=1e-4) or \
        to_metric(gap.geometry).symmetric_difference(box_m(450, 0, 550, 1000)).area < 1e-3
    minx, miny, maxx, maxy = gap.geometry.bounds
    assert 125.9 < minx < maxx < 126.1 and 41.5 < miny < maxy < 41.6


def test_overlap_of_50_by_1000_m() -> None:
    gdf = township_with((101, "东村", box_m(0, 0, 525, 1000)), (102, "西村", box_m(475, 0, 1000, 1000)))
    findings = check_topology(gdf)
    # The edges inside the 50 m overlap are not reported again as not_edge_matched.
    assert rules(findings) == ["overlap_siblings"]
    overlap = findings[0]
    assert (overlap.object_id, overlap.related_ids) == (101, (102,))
    assert overlap.severity == "error"
    assert overlap.level == "village"
    assert overlap.area_m2 == pytest.approx(50_000.0, rel=1e-9)
    assert_chinese_naming(overlap, "东村", "西村")
    assert "5.00 公顷" in overlap.message


def test_child_sticking_out_by_20_m() -> None:
    gdf = township_with((101, "东村", box_m(0, 0, 500, 1000)), (102, "西村", box_m(500, 0, 1020, 1000)))
    findings = check_topology(gdf)
    assert rules(findings) == ["outside_parent"]
    out = findings[0]
    assert (out.object_id, out.related_ids, out.level) == (102, (10,), "village")
    assert out.area_m2 == pytest.approx(20_000.0, rel=1e-9)
    assert_chinese_naming(out, "西村", "森工街道")


def test_five_square_metre_gap_is_a_sliver_warning() -> None:
    notched = box_m(500, 0, 1000, 1000).difference(box_m(500, 0, 502.5, 2))  # 2.5 m × 2 m = 5 m²
    # 东村 has a vertex where the notch ends, so the shared edge is matched vertex for vertex.
    east = poly_m((0, 0), (500, 0), (500, 2), (500, 1000), (0, 1000))
    gdf = township_with((101, "东村", east), (102, "西村", notched))
    findings = check_topology(gdf)
    assert rules(findings) == ["sliver"]
    sliver = findings[0]
    assert (sliver.object_id, sliver.severity, sliver.level) == (10, "warning", "township")
    assert sliver.area_m2 == pytest.approx(5.0, rel=1e-9)
    assert_chinese_naming(sliver, "森工街道")
    assert "5 m²" in sliver.message and "缝隙" in sliver.message
    # with a lower threshold the same piece is a gap
    assert rules(check_topology(gdf, sliver_area_m2=1.0)) == ["gap_in_parent"]


def test_float_noise_is_not_reported() -> None:
    # The children's shared edge differs by 1e-9 m: pieces of ~1e-6 m², far below NOISE_AREA_M2.
    left = poly_m((0, 0), (500, 0), (500 + 1e-9, 1000), (0, 1000))
    gdf = township_with((101, "东村", left), (102, "西村", box_m(500, 0, 1000, 1000)))
    findings = [f for f in check_topology(gdf) if f.rule != "not_edge_matched"]
    assert findings == []
    assert NOISE_AREA_M2 == 1e-3


# =============================================================================================
# Geometry problems
# =============================================================================================


def test_bow_tie_child_is_invalid_and_repaired() -> None:
    bow_tie = poly_m((0, 0), (500, 1000), (500, 0), (0, 1000))  # crosses itself at (250, 500)
    gdf = township_with((101, "东村", bow_tie))
    findings = check_topology(gdf)
    invalid = by_rule(findings, "invalid_geometry")
    assert len(invalid) == 1
    assert (invalid[0].object_id, invalid[0].severity, invalid[0].level) == (101, "error", "village")
    assert "Self-intersection" in invalid[0].message
    assert_chinese_naming(invalid[0], "东村")
    # make_valid: two triangles of 125,000 m² each, so the other checks still ran
    assert invalid[0].area_m2 == pytest.approx(250_000.0)
    multi = by_rule(findings, "multi_part")
    assert len(multi) == 1 and multi[0].area_m2 == pytest.approx(125_000.0)
    gaps = by_rule(findings, "gap_in_parent")
    assert sum(g.area_m2 for g in gaps) == pytest.approx(750_000.0)
    assert set(rules(findings)) == {"invalid_geometry", "multi_part", "gap_in_parent"}


def test_multipart_child_with_a_5_m2_sliver() -> None:
    crumb = box_m(800, 10, 802.5, 12)  # 5 m² island inside the other village's area
    two_parts = shapely.union(box_m(0, 0, 500, 1000), crumb)
    gdf = township_with((101, "东村", two_parts), (102, "西村", box_m(500, 0, 1000, 1000).difference(crumb)))
    findings = check_topology(gdf)
    assert rules(findings) == ["multi_part", "sliver"]
    multi, sliver = findings
    assert (multi.object_id, multi.severity) == (101, "warning")
    assert multi.area_m2 == pytest.approx(5.0)
    assert "2 个不相连的部分" in multi.message
    assert (sliver.object_id, sliver.severity) == (101, "warning")
    assert sliver.area_m2 == pytest.approx(5.0)
    assert_chinese_naming(sliver, "东村")
    assert "碎片" in sliver.message


def test_missing_geometry_is_a_warning() -> None:
    gdf = township_with((101, "东村", PARENT), (102, "西村", None))
    findings = check_topology(gdf)
    assert rules(findings) == ["no_geometry"]
    assert (findings[0].object_id, findings[0].severity, findings[0].geometry) == (102, "warning", None)
    assert_chinese_naming(findings[0], "西村")


def test_nothing_drawn_still_checks_levels() -> None:
    gdf = grids((1, "临江市", None, "county", None), (2, "东兴村", 1, "village", None))
    assert rules(check_topology(gdf)) == ["no_geometry", "no_geometry", "level_mismatch"]


# =============================================================================================
# Levels
# =============================================================================================


def test_village_directly_under_a_county() -> None:
    gdf = grids((1, "临江市", None, "county", PARENT), (2, "东兴村", 1, "village", PARENT))
    findings = check_topology(gdf)
    assert rules(findings) == ["level_mismatch"]
    f = findings[0]
    assert (f.object_id, f.related_ids, f.severity, f.level, f.geometry) == (2, (1,), "error", "village", None)
    assert_chinese_naming(f, "东兴村", "临江市")
    assert "县级网格" in f.message and "乡级网格" in f.message


def test_village_without_parent_and_chinese_level_labels() -> None:
    gdf = grids((1, "临江市", None, "县级网格", PARENT), (2, "东兴村", None, "村级网格", box_m(2000, 0, 3000, 1000)))
    findings = check_topology(gdf)
    assert rules(findings) == ["level_mismatch"]
    assert findings[0].object_id == 2
    assert "没有上级网格" in findings[0].message


def test_parent_not_in_frame_is_a_warning() -> None:
    gdf = grids((2, "东兴村", 99, "village", PARENT))
    findings = check_topology(gdf)
    assert rules(findings) == ["level_mismatch"]
    assert (findings[0].severity, findings[0].related_ids) == ("warning", (99,))


# =============================================================================================
# Edge matching
# =============================================================================================


def test_shared_edge_shifted_by_20_cm() -> None:
    a, b = box_m(0, 0, 500, 1000), box_m(500.2, 0, 1000, 1000)
    gdf = township_with((101, "东村", a), (102, "西村", b))
    findings = check_topology(gdf)
    assert rules(findings) == ["gap_in_parent", "not_edge_matched", "not_edge_matched"]
    gap = findings[0]
    assert gap.area_m2 == pytest.approx(0.2 * 1000, rel=1e-6)
    for f, me, other in zip(findings[1:], (101, 102), (102, 101)):
        assert (f.object_id, f.related_ids, f.severity, f.level) == (me, (other,), "warning", "village")
        assert f.length_m == pytest.approx(1000.0)
        assert f.geometry is not None and f.geometry.geom_type in ("LineString", "MultiLineString")
    assert_chinese_naming(findings[1], "东村", "西村")
    assert "1,000.0 m" in findings[1].message
    # why it matters: a coverage union of these does not dissolve the shared edge
    assert shapely.get_num_geometries(shapely.coverage_union_all([a, b])) == 2


def test_missing_shared_vertex_without_any_gap() -> None:
    # 西村 has a vertex at the middle of the shared edge, 东村 has not: no gap, no overlap, but
    # the edges do not match (coverage_union_all refuses them).
    a = box_m(0, 0, 500, 1000)
    b = poly_m((500, 0), (1000, 0), (1000, 1000), (500, 1000), (500, 500))
    gdf = township_with((101, "东村", a), (102, "西村", b))
    findings = check_topology(gdf)
    assert rules(findings) == ["not_edge_matched", "not_edge_matched"]
    assert [f.length_m for f in findings] == pytest.approx([1000.0, 1000.0])
    with pytest.raises(shapely.errors.GEOSException):
        shapely.coverage_union_all([a, b])


def test_real_overlap_with_near_miss_elsewhere() -> None:
    # 东村/西村 overlap by 50 m (reported once, as overlap); 西村/南村 miss by 0.3 m.
    a = box_m(0, 0, 525, 500)
    b = box_m(475, 0, 1000, 500)
    c = box_m(0, 500.3, 1000, 1000)
    findings = check_topology(township_with((101, "东村", a), (102, "西村", b), (103, "南村", c)))
    overlaps = by_rule(findings, "overlap_siblings")
    assert [(f.object_id, f.related_ids, round(f.area_m2)) for f in overlaps] == [(101, (102,), 25_000)]
    near = by_rule(findings, "not_edge_matched")
    assert {f.object_id for f in near} == {101, 102, 103}
    south = next(f for f in near if f.object_id == 103)
    assert set(south.related_ids) == {101, 102}
    # 1000 m less the ~51 m along the overlap strip (475..525 m, plus the tolerance each side)
    assert south.length_m == pytest.approx(949.0, abs=1.0)


# =============================================================================================
# CRS and input handling
# =============================================================================================


def test_lonlat_input_is_measured_in_metres() -> None:
    gdf = township_with((101, "东村", box_m(0, 0, 450, 1000)), (102, "西村", box_m(550, 0, 1000, 1000)))
    findings = check_topology(gdf.to_crs("EPSG:4326"))
    assert rules(findings) == ["gap_in_parent"]
    # the lon/lat edges are straight lines between the same vertices: same area to ~1e-6
    assert findings[0].area_m2 == pytest.approx(100_000.0, rel=1e-6)


def test_explicit_metric_crs() -> None:
    gdf = township_with((101, "东村", box_m(0, 0, 450, 1000)), (102, "西村", box_m(550, 0, 1000, 1000)))
    findings = check_topology(gdf.to_crs("EPSG:4326"), crs="EPSG:32652")  # UTM 52N, CM 129°E
    gaps = by_rule(findings, "gap_in_parent")
    assert len(gaps) == 1
    assert gaps[0].area_m2 == pytest.approx(100_000.0, rel=1e-3)  # other projection, other scale
    # Straight lon/lat edges bulge by ~1 mm against the parent's 50 m vertices: in EPSG:4551, where
    # the squares were drawn, that is nothing; in UTM the slivers show (as warnings).
    assert {(f.rule, f.severity) for f in findings if f.rule != "gap_in_parent"} <= {("sliver", "warning")}


def test_refuses_missing_and_geographic_crs() -> None:
    gdf = clean_partition()
    with pytest.raises(CRSError, match="没有坐标系.*set_crs"):
        check_topology(gdf.set_crs(None, allow_override=True))
    with pytest.raises(CRSError, match="投影坐标系"):
        check_topology(gdf, crs="EPSG:4326")


def test_refuses_bad_columns_and_ids() -> None:
    gdf = clean_partition()
    with pytest.raises(ValidationError, match="缺少列：parent_id"):
        check_topology(gdf.drop(columns="parent_id"))
    dup = gdf.copy()
    dup.loc[dup.index[-1], "id"] = 101
    with pytest.raises(ValidationError, match="重复"):
        check_topology(dup)
    odd = gdf.copy()
    odd.loc[odd.index[-1], "level"] = "province"
    with pytest.raises(ValidationError, match="无法识别"):
        check_topology(odd)
    with pytest.raises(ValidationError, match="sliver_area_m2"):
        check_topology(gdf, sliver_area_m2=-1)


def test_other_column_names() -> None:
    gdf = township_with((101, "东村", box_m(0, 0, 450, 1000)), (102, "西村", box_m(550, 0, 1000, 1000)))
    renamed = gdf.rename(columns={"id": "code", "name": "名称", "parent_id": "up", "level": "lvl"})
    findings = check_topology(renamed, id_col="code", name_col="名称", parent_col="up", level_col="lvl")
    assert rules(findings) == ["gap_in_parent"]


def test_callers_frame_is_not_changed() -> None:
    bow_tie = poly_m((0, 0), (500, 1000), (500, 0), (0, 1000))
    gdf = township_with((101, "东村", bow_tie), (102, "西村", None)).to_crs("EPSG:4326")
    before = gdf.copy()
    check_topology(gdf)
    assert gdf.crs == before.crs
    assert list(gdf.columns) == list(before.columns)
    assert gdf.drop(columns="geometry").equals(before.drop(columns="geometry"))
    assert all(
        (x is None and y is None) or x.equals_exact(y, tolerance=0) for x, y in zip(gdf.geometry, before.geometry)
    )
    assert not gdf.geometry.iloc[2].is_valid  # still the caller's bow-tie


def test_findings_are_json_ready_and_ordered() -> None:
    bow_tie = poly_m((0, 0), (500, 1000), (500, 0), (0, 1000))
    gdf = township_with((101, "东村", bow_tie), (102, "西村", None), (103, "南村", box_m(900, 0, 1100, 100)))
    findings = check_topology(gdf)
    order = [RULES.index(f.rule) for f in findings]
    assert order == sorted(order)
    for f in findings:
        d = f.to_dict()
        assert d["rule"] in RULES and d["severity"] in ("error", "warning")
        assert HAN.search(d["message"])


# =============================================================================================
# Oracle: naive per-pair shapely computation
# =============================================================================================


def naive_totals(parent: BaseGeometry, children: list[BaseGeometry]) -> tuple[float, float, float]:
    """Gap, overlap and outside areas by a plain loop over children and pairs."""
    covered = shapely.union_all([c.intersection(parent) for c in children])
    gap = parent.area - covered.area
    pairs = [children[i].intersection(children[j]) for i in range(len(children)) for j in range(i + 1, len(children))]
    overlap = shapely.union_all(pairs).area if pairs else 0.0
    outside = sum(c.difference(parent).area for c in children)
    return gap, overlap, outside


def totals(findings: list[Finding]) -> tuple[float, float, float]:
    gap = sum(f.area_m2 for f in by_rule(findings, "gap_in_parent"))
    overlap_pieces = [to_metric(f.geometry) for f in by_rule(findings, "overlap_siblings")]
    overlap = shapely.union_all(overlap_pieces).area if overlap_pieces else 0.0
    outside = sum(f.area_m2 for f in by_rule(findings, "outside_parent"))
    return gap, overlap, outside


def check_against_oracle(rects: list[tuple[int, int, int, int]]) -> None:
    children = [box_m(x, y, x + w, y + h) for x, y, w, h in rects]
    gdf = township_with(*((100 + i, f"村{i}", c) for i, c in enumerate(children)))
    findings = check_topology(gdf, sliver_area_m2=0.0)
    assert not by_rule(findings, "sliver")
    got = totals(findings)
    want = naive_totals(PARENT, children)
    assert got == pytest.approx(want, abs=1e-3)


@pytest.mark.parametrize("seed", range(8))
def test_random_rectangles_match_naive_oracle(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rects = []
    for _ in range(int(rng.integers(2, 9))):
        x, y = (int(v) for v in rng.integers(-100, 900, 2))
        w, h = (int(v) for v in rng.integers(10, 500, 2))
        rects.append((x, y, w, h))
    check_against_oracle(rects)


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ModuleNotFoundError:  # pragma: no cover - hypothesis is a test extra
    def test_property_gap_area() -> None:
        pytest.skip("hypothesis is not installed")
else:
    _rect = st.tuples(
        st.integers(-50, 950), st.integers(-50, 950), st.integers(1, 600), st.integers(1, 600)
    )

    @settings(max_examples=60, deadline=None, database=None)
    @given(st.lists(_rect, min_size=1, max_size=7))
    def test_property_gap_area(rects: list[tuple[int, int, int, int]]) -> None:
        """Total gap = parent area − area(union(children ∩ parent)), and likewise overlap/outside."""
        check_against_oracle(rects)


# =============================================================================================
# Demo data
# =============================================================================================


def demo_frame() -> tuple[gpd.GeoDataFrame, Any]:
    from gis.demo.data import build_demo_data

    data = build_demo_data()
    code = {g.name: g.code for g in data.grids}
    gdf = gpd.GeoDataFrame(
        {
            "id": [g.code for g in data.grids],
            "name": [g.name for g in data.grids],
            "parent_id": [code.get(g.parent_name) for g in data.grids],
            "level": [g.level for g in data.grids],
        },
        geometry=[g.geom for g in data.grids],
        crs="EPSG:4326",
    )
    return gdf, data


def test_demo_data_flaws_are_found() -> None:
    gdf, data = demo_frame()
    findings = check_topology(gdf)

    overlaps = by_rule(findings, "overlap_siblings")
    assert len(overlaps) == 1
    overlap = overlaps[0]
    assert (overlap.object_id, overlap.related_ids) == ("LJ-SG-DX", ("LJ-SG-SQ",))
    assert_chinese_naming(overlap, "森工街道东兴村", "森工街道森工社区")
    # a strip 200 m wide from the Yalu to the township's north edge (~9.8 km)
    assert 1.5e6 < overlap.area_m2 < 2.5e6
    strip = to_metric(overlap.geometry)
    assert 2 * strip.area / strip.length == pytest.approx(200.0, rel=0.05)  # width of a long strip

    gaps = {f.object_id: f for f in by_rule(findings, "gap_in_parent")}
    notch = gaps["LJ-SG"]
    assert len([f for f in findings if f.rule == "gap_in_parent" and f.object_id == "LJ-SG"]) == 1
    assert 4e6 < notch.area_m2 < 7e6
    assert_chinese_naming(notch, "临江市森工街道办事处")
    west, _, east, _ = notch.geometry.bounds
    assert west == pytest.approx(126.81) and east < 126.84
    oil = next(i for i in data.incidents if i.code == "SJ-2026-012")  # the incident in the notch
    assert notch.geometry.contains(oil.geom)

    # The county has only this one township in the demo, so the rest of the county is a gap too.
    assert set(gaps) == {"LJ", "LJ-SG"}
    assert gaps["LJ"].area_m2 > 1e9

    # Nothing else: the float noise along the shared edges (~1e-16°) is not reported at all.
    assert sorted(rules(findings)) == ["gap_in_parent", "gap_in_parent", "overlap_siblings"]


def test_demo_data_in_metric_crs_gives_the_same_flaws() -> None:
    gdf, _ = demo_frame()
    lonlat = check_topology(gdf)
    metric = check_topology(gdf, crs="EPSG:4551")
    assert [(f.rule, f.object_id) for f in metric] == [(f.rule, f.object_id) for f in lonlat]
    assert [f.area_m2 for f in metric] == pytest.approx([f.area_m2 for f in lonlat], rel=1e-9)


# =============================================================================================
# Two thousand villages (the time it takes: bench/topology.py)
# =============================================================================================


def test_two_thousand_voronoi_cells_with_one_misplaced_village() -> None:
    rng = np.random.default_rng(7)
    side = 40_000.0
    frame = shapely.box(X0, Y0, X0 + side, Y0 + side)
    cells = shapely.get_parts(shapely.voronoi_polygons(
        shapely.multipoints(rng.uniform(0, side, (2000, 2)) + [X0, Y0]), extend_to=frame))
    # Densify the shared linework once, so that neighbours keep identical vertices.
    lines = shapely.segmentize(shapely.union_all(shapely.boundary(shapely.intersection(cells, frame))), 20.0)
    cells = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    assert len(cells) == 2000
    cells[0] = affinity.translate(cells[0], 30.0, 0.0)  # one misplaced village
    gdf = grids(
        (0, "森工街道", None, "township", shapely.segmentize(frame, 20.0)),
        *((i + 1, f"村{i + 1}", 0, "village", c) for i, c in enumerate(cells)),
    ).to_crs("EPSG:4326")
    findings = check_topology(gdf)
    assert {"level_mismatch", "overlap_siblings", "gap_in_parent"} <= set(rules(findings))
    # everything else concerns the misplaced village (or the gap it left in the township)
    assert all(f.rule == "level_mismatch" or 1 in (f.object_id, *f.related_ids) or f.object_id == 0
               for f in findings)

"""One repair of invalid boundaries (gis.geometry.shapes) and one substring of (multi)lines
(gis.geometry.linref), checked against areas and lengths computed by hand, and through every
path that uses them: the grid editor, the file reader, the coverage and the topology checks."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, Polygon

from gis.checks.coverage import check_coverage
from gis.checks.topology import check_topology
from gis.geometry.linref import substring
from gis.geometry.shapes import polygonal_part, repair
from gis.grids.fit import fit_grid
from gis.io.files import read_layer

GK = "EPSG:4551"  # CGCS2000 / 3-degree Gauss-Kruger CM 126E, metres
X0, Y0 = 500_000.0, 4_600_000.0
S = 100.0  # metres per unit of the hand-drawn shapes below


def gk(*xy: tuple[float, float]) -> list[tuple[float, float]]:
    return [(X0 + x * S, Y0 + y * S) for x, y in xy]


# A bow-tie: two triangles of 1 × 2 / 2 = 1 unit² each, meeting where the ring crosses itself.
BOW_TIE = Polygon(gk((0, 0), (2, 2), (2, 0), (0, 2), (0, 0)))
BOW_TIE_AREA = 2 * S * S

# One ring drawn round square A = [0, 4]² and then round square B = [2, 6]² without lifting the
# pen: the square A ∩ B = [2, 4]² lies inside the line twice. The area the line encloses is
# A ∪ B = 16 + 16 − 4 = 28 unit²; the even-odd "linework" repair would make A ∩ B a hole (24).
TWICE_ROUND = Polygon(gk((4, 2), (4, 4), (0, 4), (0, 0), (4, 0), (4, 2), (6, 2), (6, 6), (2, 6), (2, 2), (4, 2)))
TWICE_ROUND_AREA = 28 * S * S


@pytest.mark.parametrize(("ring", "area"), [(BOW_TIE, BOW_TIE_AREA), (TWICE_ROUND, TWICE_ROUND_AREA)])
def test_the_repair_is_the_area_the_boundary_encloses(ring: Polygon, area: float) -> None:
    assert not ring.is_valid
    fixed = polygonal_part(ring)
    assert fixed.is_valid and fixed.geom_type in ("Polygon", "MultiPolygon")
    assert fixed.area == pytest.approx(area, rel=1e-12)
    # the documented choice differs from shapely's default exactly where a ring is wound twice
    linework = shapely.make_valid(ring).area
    assert linework == pytest.approx(area if ring is BOW_TIE else 24 * S * S, rel=1e-12)


def test_repair_keeps_valid_geometry_and_drops_collapsed_parts() -> None:
    square = Polygon(gk((0, 0), (1, 0), (1, 1), (0, 1)))
    assert repair(square) is square and polygonal_part(square) is square
    spike = Polygon(gk((0, 0), (1, 0), (1, 1), (0, 1), (0, 0), (-1, 0), (0, 0)))  # a zero-width spike
    assert polygonal_part(spike).area == pytest.approx(S * S)
    assert polygonal_part(LineString(gk((0, 0), (1, 1)))).is_empty
    assert polygonal_part(None).is_empty


def _to_lonlat(geom: Polygon) -> Polygon:
    to_ll = pyproj.Transformer.from_crs(GK, "EPSG:4326", always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])))


@pytest.mark.parametrize(("ring", "area"), [(BOW_TIE, BOW_TIE_AREA), (TWICE_ROUND, TWICE_ROUND_AREA)])
def test_the_editor_and_the_checks_repair_a_boundary_the_same_way(ring: Polygon, area: float, tmp_path: Path) -> None:
    # the editor: the drawing arrives in longitude/latitude and is fitted (repair only)
    fitted = fit_grid(_to_lonlat(ring), parent=None, neighbours=None, crs=GK)
    editor = gpd.GeoSeries([fitted.geometry], crs="EPSG:4326").to_crs(GK).iloc[0]
    assert fitted.area_after_m2 == pytest.approx(area, rel=1e-6)
    assert "repair" in fitted.steps_applied
    # the topology check: the invalid_geometry finding gives the repaired area
    grids = gpd.GeoDataFrame({"id": [1], "name": ["甲村"], "parent_id": [None], "level": ["county"]},
                             geometry=[ring], crs=GK)
    (invalid,) = [f for f in check_topology(grids) if f.rule == "invalid_geometry"]
    assert invalid.area_m2 == pytest.approx(area, rel=1e-9)
    # the file reader: a GeoJSON holding the invalid ring is read as the same area
    path = tmp_path / "grid.geojson"
    gpd.GeoDataFrame({"name": ["甲村"]}, geometry=[ring], crs=GK).to_file(path, driver="GeoJSON")
    read = read_layer(path).gdf.to_crs(GK).geometry.iloc[0]
    assert read.area == pytest.approx(area, rel=1e-6)
    # the same polygon: the editor repairs the drawing in longitude/latitude, the reader and the
    # checks in the file's metres (straight edges differ slightly between the two: the crossing
    # of the ring moves by a few millimetres)
    assert shapely.symmetric_difference(editor, gpd.GeoSeries([polygonal_part(_to_lonlat(ring))], crs="EPSG:4326")
                                        .to_crs(GK).iloc[0]).area < 1e-9 * area
    assert shapely.symmetric_difference(read, polygonal_part(ring)).area < 1e-9 * area
    # the coverage check: a river from x = -1 to 7 units lies in the repaired grid over x 0–6 at
    # y = 3 (through A ∩ B), and over x 0–0.5 and 1.5–2 at y = 0.5 (through both triangles)
    y = 3.0 if ring is TWICE_ROUND else 0.5
    river = LineString(gk((-1, y), (7, y)))
    res = check_coverage(gpd.GeoDataFrame({"id": [1]}, geometry=[river], crs=GK),
                         gpd.GeoDataFrame({"id": [1]}, geometry=[ring], crs=GK))
    inside = 6 * S if ring is TWICE_ROUND else 1 * S
    assert res.totals()["covered_length_m"] == pytest.approx(inside, rel=1e-9)
    assert res.totals()["uncovered_length_m"] == pytest.approx(8 * S - inside, rel=1e-9)
    assert res.totals()["overlap_length_m"] == 0.0


# --- substring of (multi)lines ------------------------------------------------------------------

# Two parts measured one after the other: 0–10 m along y = 0, then 10–20 m up x = 20 (the 10 m
# gap between the parts is not measured).
TWO_PARTS = MultiLineString([[(0, 0), (10, 0)], [(20, 0), (20, 10)]])


@pytest.mark.parametrize(("a", "b", "want"), [
    (2, 7, [[(2, 0), (7, 0)]]),  # inside the first part
    (5, 15, [[(5, 0), (10, 0)], [(20, 0), (20, 5)]]),  # across the junction: 5 m + 5 m
    (10, 20, [[(20, 0), (20, 10)]]),  # exactly the second part
    (-5, 3, [[(0, 0), (3, 0)]]),  # clipped at the start
    (12, 99, [[(20, 2), (20, 10)]]),  # clipped at the end
    (7, 7, []),  # nothing
    (25, 30, []),  # beyond the line
])
def test_substring_of_a_multilinestring_by_hand(a: float, b: float, want: list[list[tuple[float, float]]]) -> None:
    got = substring(TWO_PARTS, a, b)
    parts = [list(p.coords) for p in shapely.get_parts(got)] if not got.is_empty else []
    assert parts == [[tuple(map(float, xy)) for xy in p] for p in want]
    assert got.geom_type == ("MultiLineString" if len(want) > 1 else "LineString")
    assert got.length == pytest.approx(max(0.0, min(b, 20) - max(a, 0)))


def test_substring_follows_the_vertices_of_a_bent_line() -> None:
    bent = LineString([(0, 0), (3, 0), (3, 4)])  # 3 m then 4 m
    assert list(substring(bent, 1, 5).coords) == [(1.0, 0.0), (3.0, 0.0), (3.0, 2.0)]

"""Tests of gis.geometry.crs: GCJ-02/BD-09 conversion, metric CRS choice, lon/lat checks, store CRS."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon

from gis.checks.coverage import check_coverage
from gis.checks.topology import check_topology
from gis.errors import CoordinateRangeError, CRSError
from gis.geometry.crs import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    check_lonlat_range,
    choose_metric_crs,
    convert_gdf,
    convert_geometry,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    metric_crs_for,
    to_store_crs,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

LINJIANG = (126.9, 41.8)

# Published test pairs of googollee/eviltransform (wgs lat, wgs lon, gcj lat, gcj lon).
PUBLISHED_GCJ = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]

CHINA_LON, CHINA_LAT = np.meshgrid(np.linspace(74.0, 134.0, 25), np.linspace(18.0, 53.0, 15))


def _geod_distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return float(pyproj.Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)[2])


# --- GCJ-02 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), PUBLISHED_GCJ)
def test_wgs84_to_gcj02_matches_published_pairs(wlat: float, wlon: float, glat: float, glon: float) -> None:
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert float(lon) == pytest.approx(glon, abs=1e-7)
    assert float(lat) == pytest.approx(glat, abs=1e-7)


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), PUBLISHED_GCJ)
def test_gcj02_to_wgs84_inverts_published_pairs_exactly(wlat: float, wlon: float, glat: float, glon: float) -> None:
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert float(lon) == pytest.approx(wlon, abs=1e-7)
    assert float(lat) == pytest.approx(wlat, abs=1e-7)


def test_gcj02_round_trip_over_china_is_within_1e_7_degrees() -> None:
    gcj_lon, gcj_lat = wgs84_to_gcj02(CHINA_LON, CHINA_LAT)
    back_lon, back_lat = gcj02_to_wgs84(gcj_lon, gcj_lat)
    assert back_lon.shape == CHINA_LON.shape
    assert np.max(np.abs(back_lon - CHINA_LON)) < 1e-7
    assert np.max(np.abs(back_lat - CHINA_LAT)) < 1e-7


def test_one_step_inverse_would_not_be_enough() -> None:
    # Guard that the test above is meaningful: the naive inverse (subtract the forward offset at
    # the GCJ point) is off by far more than 1e-7 degrees somewhere in China.
    gcj_lon, gcj_lat = wgs84_to_gcj02(CHINA_LON, CHINA_LAT)
    dlon = gcj_lon - CHINA_LON
    naive_lon = gcj_lon - (wgs84_to_gcj02(gcj_lon, gcj_lat)[0] - gcj_lon)
    assert np.max(np.abs(dlon)) > 1e-3
    assert np.max(np.abs(naive_lon - CHINA_LON)) > 1e-7


def test_gcj02_offset_near_linjiang_is_a_few_hundred_metres() -> None:
    lon, lat = wgs84_to_gcj02(*LINJIANG)
    distance = _geod_distance_m(*LINJIANG, float(lon), float(lat))
    assert 300.0 < distance < 700.0
    assert float(lon) > LINJIANG[0] and float(lat) > LINJIANG[1]  # shifted north-east there


@pytest.mark.parametrize(("lon", "lat"), [(2.35, 48.85), (151.2, -33.9), (-74.0, 40.7), (140.0, 35.7)])
def test_points_outside_china_are_unchanged(lon: float, lat: float) -> None:
    for func in (wgs84_to_gcj02, gcj02_to_wgs84):
        out_lon, out_lat = func(lon, lat)
        assert (float(out_lon), float(out_lat)) == (lon, lat)


def test_vectorised_equals_point_by_point() -> None:
    lons = np.array([126.9, 2.35, 116.4, 121.5])
    lats = np.array([41.8, 48.85, 39.9, 31.2])
    vec = gcj02_to_wgs84(lons, lats)
    for i, (x, y) in enumerate(zip(lons, lats, strict=True)):
        one = gcj02_to_wgs84(x, y)
        assert float(one[0]) == pytest.approx(vec[0][i], abs=1e-9)
        assert float(one[1]) == pytest.approx(vec[1][i], abs=1e-9)


def test_inputs_are_not_modified() -> None:
    lons = np.array([126.9, 127.0])
    lats = np.array([41.8, 41.9])
    wgs84_to_gcj02(lons, lats)
    gcj02_to_wgs84(lons, lats)
    assert lons.tolist() == [126.9, 127.0] and lats.tolist() == [41.8, 41.9]


# --- BD-09 ------------------------------------------------------------------------------------


def test_bd09_round_trips() -> None:
    bd_lon, bd_lat = gcj02_to_bd09(CHINA_LON, CHINA_LAT)
    back = bd09_to_gcj02(bd_lon, bd_lat)
    assert np.max(np.abs(back[0] - CHINA_LON)) < 1e-7 and np.max(np.abs(back[1] - CHINA_LAT)) < 1e-7

    bd_lon, bd_lat = wgs84_to_bd09(CHINA_LON, CHINA_LAT)
    back = bd09_to_wgs84(bd_lon, bd_lat)
    assert np.max(np.abs(back[0] - CHINA_LON)) < 1e-7 and np.max(np.abs(back[1] - CHINA_LAT)) < 1e-7


def test_bd09_is_gcj02_shifted_by_about_0_006_degrees() -> None:
    gcj = wgs84_to_gcj02(*LINJIANG)
    bd = wgs84_to_bd09(*LINJIANG)
    assert 0.005 < float(bd[0] - gcj[0]) < 0.008
    assert 0.004 < float(bd[1] - gcj[1]) < 0.008


# --- geometries and GeoDataFrames ---------------------------------------------------------------


def test_convert_geometry_keeps_z_and_converts_every_vertex() -> None:
    line = LineString([(126.90, 41.80, 350.0), (126.95, 41.82, 360.0)])
    out = convert_geometry(line, source="gcj02")
    xyz = shapely.get_coordinates(out, include_z=True)
    expected_lon, expected_lat = gcj02_to_wgs84([126.90, 126.95], [41.80, 41.82])
    np.testing.assert_allclose(xyz[:, 0], expected_lon, atol=1e-12)
    np.testing.assert_allclose(xyz[:, 1], expected_lat, atol=1e-12)
    assert xyz[:, 2].tolist() == [350.0, 360.0]


def test_convert_geometry_polygon_with_hole_bd09() -> None:
    shell = [(126.8, 41.7), (127.0, 41.7), (127.0, 41.9), (126.8, 41.9)]
    hole = [(126.85, 41.75), (126.9, 41.75), (126.9, 41.8)]
    poly = Polygon(shell, [hole])
    out = convert_geometry(poly, source="bd09")
    assert out.geom_type == "Polygon" and len(out.interiors) == 1
    back_lon, back_lat = wgs84_to_bd09(*shapely.get_coordinates(out).T)
    np.testing.assert_allclose(back_lon, shapely.get_coordinates(poly)[:, 0], atol=1e-7)
    np.testing.assert_allclose(back_lat, shapely.get_coordinates(poly)[:, 1], atol=1e-7)


def test_convert_gdf_copies_and_labels_wgs84() -> None:
    gdf = gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[Point(126.9, 41.8)], crs="EPSG:4326")
    out = convert_gdf(gdf, source="gcj02")
    assert gdf.geometry.iloc[0].equals(Point(126.9, 41.8))  # caller's data untouched
    assert out is not gdf and out.crs == "EPSG:4326"
    assert out.geometry.iloc[0].x < 126.9
    assert out["名称"].tolist() == ["甲"]


def test_convert_gdf_refuses_unknown_source_and_projected_data() -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(126.9, 41.8)], crs="EPSG:4326")
    with pytest.raises(CRSError, match="坐标偏移"):
        convert_gdf(gdf, source="wgs72")
    with pytest.raises(CRSError, match="投影"):
        convert_gdf(gdf.to_crs("EPSG:4551"), source="gcj02")


# --- metric CRS -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "epsg"),
    [
        ((126.8, 41.7, 127.0, 41.9), 4551),  # Linjiang: CGCS2000 GK CM 126E
        (Point(75.9, 39.5), 4534),  # Kashgar: CM 75E
        (Point(134.9, 48.3), 4554),  # Fuyuan: CM 135E
        (Point(116.4, 39.9), 4548),  # Beijing: CM 117E
        (Point(2.35, 48.85), 32631),  # Paris: UTM 31N
        (Point(151.2, -33.9), 32756),  # Sydney: UTM 56S
        (Point(-74.0, 40.7), 32618),  # New York: UTM 18N
    ],
)
def test_metric_crs_for(data: object, epsg: int) -> None:
    assert metric_crs_for(data).to_epsg() == epsg  # type: ignore[arg-type]


def test_metric_crs_for_linjiang_is_cgcs2000_cm_126e_in_metres() -> None:
    crs = metric_crs_for(Point(*LINJIANG))
    assert "126E" in crs.name and crs.axis_info[0].unit_name == "metre"


def test_metric_crs_for_geodataframe_in_any_crs() -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(*LINJIANG)], crs="EPSG:4326")
    assert metric_crs_for(gdf).to_epsg() == 4551
    assert metric_crs_for(gdf.to_crs("EPSG:32652")).to_epsg() == 4551


def test_metric_crs_for_refuses_bad_or_empty_data() -> None:
    with pytest.raises(CoordinateRangeError, match="颠倒"):
        metric_crs_for((41.7, 126.8, 41.9, 127.0))
    with pytest.raises(CRSError, match="没有坐标"):
        metric_crs_for(gpd.GeoDataFrame(geometry=[], crs="EPSG:4326"))


# --- range checks -----------------------------------------------------------------------------


def test_the_topology_and_coverage_checks_measure_in_one_crs_chosen_one_way() -> None:
    """One rule for the metric CRS of every check (``choose_metric_crs``): given, own, or placed."""
    # a township of two villages with a 100 m wide gap between them, drawn in UTM 52N (metres)
    utm = "EPSG:32652"
    centre = gpd.GeoSeries([Point(*LINJIANG)], crs="EPSG:4326").to_crs(utm).iloc[0]
    x0, y0 = centre.x, centre.y
    grids = gpd.GeoDataFrame(
        {"id": [1, 2, 3], "name": ["镇", "东村", "西村"], "parent_id": [None, 1, 1],
         "level": ["township", "village", "village"]},
        geometry=[shapely.box(x0, y0, x0 + 1000, y0 + 1000), shapely.box(x0, y0, x0 + 450, y0 + 1000),
                  shapely.box(x0 + 550, y0, x0 + 1000, y0 + 1000)],
        crs=utm,
    )
    reaches = gpd.GeoDataFrame({"id": [7]}, geometry=[LineString([(x0, y0 + 500), (x0 + 1000, y0 + 500)])], crs=utm)
    # data in metres: both checks measure in the data's own CRS (the gap is 100 m wide exactly)
    gap = [f for f in check_topology(grids) if f.rule == "gap_in_parent"]
    assert [round(f.area_m2, 6) for f in gap] == [100_000.0]
    assert choose_metric_crs(grids).to_epsg() == 32652 == choose_metric_crs(reaches).to_epsg()
    # data in lon/lat: both place the CGCS2000 Gauss-Krüger zone of Linjiang
    assert choose_metric_crs(grids.to_crs("EPSG:4326")).to_epsg() == 4551
    assert choose_metric_crs(grids.geometry.to_crs("EPSG:4326")).to_epsg() == 4551
    # a CRS in feet or in degrees is refused by both, with the same words
    feet = "EPSG:2249"  # NAD83 / Massachusetts Mainland (ftUS)
    for bad, words in ((feet, "单位不是米"), ("EPSG:4490", "经纬度坐标系")):
        with pytest.raises(CRSError, match=words):
            check_topology(grids, crs=bad)
        with pytest.raises(CRSError, match=words):
            check_coverage(reaches, grids[grids["level"] == "village"], crs=bad)


def test_check_lonlat_range_accepts_valid_and_empty_data() -> None:
    check_lonlat_range((126.8, 41.7, 127.0, 41.9))
    check_lonlat_range((-180.0, -90.0, 180.0, 90.0))
    check_lonlat_range(gpd.GeoDataFrame(geometry=[], crs="EPSG:4326"))


def test_check_lonlat_range_detects_swapped_coordinates() -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(41.8, 126.9)])
    with pytest.raises(CoordinateRangeError, match="经纬度可能颠倒"):
        check_lonlat_range(gdf)


def test_check_lonlat_range_detects_projected_numbers() -> None:
    with pytest.raises(CoordinateRangeError, match="投影坐标"):
        check_lonlat_range(Point(500000.0, 4628000.0))


def test_check_lonlat_range_detects_out_of_range() -> None:
    with pytest.raises(CoordinateRangeError, match="超出经纬度范围"):
        check_lonlat_range((170.0, 10.0, 200.0, 20.0))
    with pytest.raises(CoordinateRangeError, match="无效"):
        check_lonlat_range((np.inf, 10.0, 20.0, 20.0))


def test_check_lonlat_range_refuses_projected_crs() -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(500000.0, 4628000.0)], crs="EPSG:4551")
    with pytest.raises(CRSError, match="投影坐标系"):
        check_lonlat_range(gdf)


# --- store CRS --------------------------------------------------------------------------------


def test_to_store_crs_refuses_missing_crs() -> None:
    with pytest.raises(CRSError, match="坐标系"):
        to_store_crs(gpd.GeoDataFrame(geometry=[Point(*LINJIANG)]))


def test_to_store_crs_cgcs2000_geographic_comes_out_lon_lat() -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(*LINJIANG)], crs="EPSG:4490")  # latitude-first CRS
    out = to_store_crs(gdf)
    assert out.crs == "EPSG:4326"
    assert out.geometry.iloc[0].x == pytest.approx(126.9, abs=1e-6)
    assert out.geometry.iloc[0].y == pytest.approx(41.8, abs=1e-6)


def test_to_store_crs_from_gauss_kruger_matches_independent_pyproj() -> None:
    east, north = 507000.0, 4628000.0
    gdf = gpd.GeoDataFrame(geometry=[Point(east, north)], crs="EPSG:4551")
    out = to_store_crs(gdf)
    lon, lat = pyproj.Transformer.from_crs(4551, 4326, always_xy=True).transform(east, north)
    assert out.geometry.iloc[0].x == pytest.approx(lon, abs=1e-9)
    assert out.geometry.iloc[0].y == pytest.approx(lat, abs=1e-9)
    assert 126.0 < lon < 127.5 and 41.0 < lat < 42.5
    assert gdf.crs == "EPSG:4551" and gdf.geometry.iloc[0].x == east  # caller's data untouched


def test_to_store_crs_refuses_projected_numbers_labelled_wgs84() -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(507000.0, 4628000.0)], crs="EPSG:4326")
    with pytest.raises(CoordinateRangeError, match="投影坐标"):
        to_store_crs(gdf)

"""gis.geometry.crs.transformer and to_crs: the same numbers as pyproj's and geopandas' own
reprojection (the oracle), for every CRS pair the app uses, in any thread."""

from __future__ import annotations

import threading

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from gis.geometry.crs import to_crs, transformer

LINJIANG_AEQD = "+proj=aeqd +lat_0=41.8 +lon_0=127 +datum=WGS84 +units=m"
PAIRS = [
    ("EPSG:4326", "EPSG:4551"),  # WGS84 → CGCS2000 Gauss-Krüger CM 126°E (Linjiang)
    ("EPSG:4551", "EPSG:4326"),
    ("EPSG:4326", "EPSG:4552"),  # the next zone east
    ("EPSG:4490", "EPSG:4326"),  # CGCS2000 geographic (latitude first by definition) → WGS84
    ("EPSG:4326", "EPSG:32652"),  # UTM 52N
    ("EPSG:4326", "EPSG:3857"),  # web Mercator (tiles)
    ("EPSG:4326", LINJIANG_AEQD),  # gis.grids.jurisdiction
    (LINJIANG_AEQD, "EPSG:4326"),
]
LON = np.array([126.90, 126.95, 127.01, 127.20, 125.00, 131.5])
LAT = np.array([41.70, 41.78, 41.86, 41.90, 40.10, 44.0])


def source_xy(crs_from: str) -> tuple[np.ndarray, np.ndarray]:
    """The test points in ``crs_from`` (x first), computed with pyproj itself."""
    if pyproj.CRS(crs_from).is_geographic:
        return LON.copy(), LAT.copy()
    back = pyproj.Transformer.from_crs("EPSG:4326", crs_from, always_xy=True)
    x, y = back.transform(LON, LAT)
    return np.asarray(x), np.asarray(y)


@pytest.mark.parametrize(("crs_from", "crs_to"), PAIRS)
def test_transformer_gives_pyprojs_numbers(crs_from: str, crs_to: str) -> None:
    x, y = source_xy(crs_from)
    oracle = pyproj.Transformer.from_crs(crs_from, crs_to, always_xy=True).transform(x, y)
    got = transformer(crs_from, crs_to).transform(x, y)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(oracle))  # bit for bit, not approximately


def test_the_transformer_is_made_once_and_works_in_other_threads() -> None:
    shared = transformer("EPSG:4326", "EPSG:4551")
    assert transformer("EPSG:4326", "EPSG:4551") is shared
    oracle = np.asarray(pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4551", always_xy=True).transform(LON, LAT))
    seen: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: seen.append(np.asarray(shared.transform(LON, LAT)))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 3
    for got in seen:
        np.testing.assert_array_equal(got, oracle)


def test_a_pair_with_several_operations_keeps_projs_choice_per_point() -> None:
    # NAD27 → NAD83: PROJ picks a grid or a Helmert shift by where each point lies
    points = (np.array([-100.0, -75.0, -120.0]), np.array([40.0, 45.0, 36.0]))
    oracle = pyproj.Transformer.from_crs("EPSG:4267", "EPSG:4269", always_xy=True).transform(*points)
    got = transformer("EPSG:4267", "EPSG:4269").transform(*points)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(oracle))


@pytest.fixture
def features() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": ["东兴村", "河段", "森工社区", "空"],
            "level": [3, 2, 3, 1],
            "geometry": [
                Point(127.0, 41.8),
                LineString([(126.95, 41.78), (127.01, 41.86), (127.05, 41.83)]),
                MultiPolygon(
                    [
                        Polygon([(126.9, 41.7), (127.0, 41.7), (127.0, 41.8), (126.9, 41.8)]),
                        Polygon([(127.1, 41.7), (127.2, 41.7), (127.15, 41.75)]),
                    ]
                ),
                None,
            ],
        },
        crs="EPSG:4326",
        index=[10, 3, 7, 42],
    )


def same_coordinates(a: gpd.GeoSeries, b: gpd.GeoSeries) -> bool:
    geoms_a, geoms_b = np.asarray(a.array), np.asarray(b.array)
    return bool(
        np.array_equal(shapely.is_missing(geoms_a), shapely.is_missing(geoms_b))
        and np.array_equal(shapely.get_type_id(geoms_a), shapely.get_type_id(geoms_b))
        and np.array_equal(shapely.get_coordinates(geoms_a), shapely.get_coordinates(geoms_b))
        and shapely.equals_exact(geoms_a, geoms_b, tolerance=0)[~shapely.is_missing(geoms_a)].all()
    )


@pytest.mark.parametrize("target", ["EPSG:4551", 32652, "EPSG:3857", pyproj.CRS(LINJIANG_AEQD), "EPSG:4326"])
def test_to_crs_is_geopandas_to_crs(features: gpd.GeoDataFrame, target: object) -> None:
    before = features.copy()
    oracle = features.to_crs(target)
    got = to_crs(features, target)
    assert isinstance(got, gpd.GeoDataFrame) and got is not features
    assert got.crs == oracle.crs and got.geometry.name == oracle.geometry.name
    assert list(got.columns) == list(oracle.columns) and list(got.index) == list(oracle.index)
    assert got.drop(columns="geometry").equals(oracle.drop(columns="geometry"))
    assert same_coordinates(got.geometry, oracle.geometry)
    assert features.crs == before.crs and same_coordinates(features.geometry, before.geometry)  # caller's data as it was

    series = to_crs(features.geometry.rename("shape"), target)
    assert isinstance(series, gpd.GeoSeries) and series.name == "shape" and series.crs == oracle.crs
    assert list(series.index) == list(oracle.index) and same_coordinates(series, oracle.geometry)


def test_to_crs_keeps_a_renamed_geometry_column_and_projected_sources(features: gpd.GeoDataFrame) -> None:
    renamed = features.rename_geometry("geom")
    got = to_crs(renamed, "EPSG:4551")
    assert got.geometry.name == "geom" and "geometry" not in got.columns
    assert same_coordinates(got.geometry, renamed.to_crs("EPSG:4551").geometry)
    back = to_crs(got, "EPSG:4326")  # a projected source, latitude-first target declared lon/lat by geopandas
    assert same_coordinates(back.geometry, got.to_crs("EPSG:4326").geometry)


def test_to_crs_leaves_z_coordinates_and_missing_crs_to_geopandas() -> None:
    with_z = gpd.GeoSeries([Point(127.0, 41.8, 350.0), LineString([(127.0, 41.8, 1.0), (127.1, 41.9, 2.0)])], crs=4326)
    got = to_crs(with_z, "EPSG:4551")
    assert same_coordinates(got, with_z.to_crs("EPSG:4551"))
    assert shapely.get_coordinates(np.asarray(got.array), include_z=True)[0, 2] == 350.0
    with pytest.raises(ValueError, match="naive geometries"):
        to_crs(gpd.GeoSeries([Point(127.0, 41.8)]), "EPSG:4551")


def test_to_crs_from_a_latitude_first_crs_and_from_a_pair_with_several_operations(features: gpd.GeoDataFrame) -> None:
    cgcs2000 = features.set_crs("EPSG:4490", allow_override=True)  # declared latitude first; x stays longitude
    assert same_coordinates(to_crs(cgcs2000, "EPSG:4551").geometry, cgcs2000.to_crs("EPSG:4551").geometry)
    us = gpd.GeoSeries([Point(-100.0, 40.0), LineString([(-75.0, 45.0), (-74.0, 44.5)])], crs="EPSG:4267")  # NAD27
    assert same_coordinates(to_crs(us, "EPSG:4269"), us.to_crs("EPSG:4269"))

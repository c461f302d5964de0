"""Vector tiles of the river reaches (issue 19, "Map at any size") on both stores.

Every tile is checked against an independent oracle: the reaches read back with the ORM, projected
to web mercator with pyproj (geopandas ``to_crs``) and tested with plain shapely against the tile's
envelope grown by the tile buffer; the tile itself is decoded with ``mapbox_vector_tile``.
"""

from __future__ import annotations

import gzip
import math

import geopandas as gpd
import mapbox_vector_tile
import pytest
import shapely
from sqlalchemy import select

from gis import clock
from gis.auth import SYSTEM
from gis.maptiles import core
from gis.maptiles.service import NAME, RiverTileSource, reach_ids_near, reach_totals
from gis.store import Store
from gis.store.schema import Reach, River

WEB_MERCATOR = "EPSG:3857"


def _live(store: Store) -> gpd.GeoDataFrame:
    with store.session() as s:
        rows = s.execute(select(Reach.id, Reach.geom).where(Reach.deleted_at.is_(None))).all()
    return gpd.GeoDataFrame({"id": [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs="EPSG:4326")


def _grown_box(z: int, x: int, y: int) -> shapely.Polygon:
    """The tile's envelope grown by the buffer, from the XYZ formulas (independent of gis.maptiles)."""
    n = 2**z
    pad = core.BUFFER / core.EXTENT

    def lon(t: float) -> float:
        return t / n * 360.0 - 180.0

    def lat(t: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * t / n))))

    return shapely.box(lon(x - pad), lat(y + 1 + pad), lon(x + 1 + pad), lat(y - pad))


def _oracle(reaches: gpd.GeoDataFrame, z: int, x: int, y: int) -> set[int]:
    grown = _grown_box(z, x, y)
    hits = reaches[reaches.intersects(grown)]
    if z >= core.FULL_ZOOM:
        return set(int(i) for i in hits["id"])
    size = 2 * math.pi * 6378137.0 / 2**z
    lengths = hits.to_crs(WEB_MERCATOR).length
    kept = hits[(lengths >= core.MIN_PIXELS * size / 512).to_numpy()]
    order = sorted(zip(-lengths[kept.index], kept["id"]))[: core.MAX_FEATURES]
    return {int(i) for _, i in order}


def _decoded(data: bytes) -> dict:
    return mapbox_vector_tile.decode(gzip.decompress(data))


def _ids(data: bytes) -> set[int]:
    layer = _decoded(data).get(core.LAYER)
    return {int(f["id"]) for f in layer["features"]} if layer else set()


def _tiles_over(reaches: gpd.GeoDataFrame, z: int) -> list[tuple[int, int, int]]:
    west, south, east, north = reaches.total_bounds
    n = 2**z
    x0, x1 = int((west + 180) / 360 * n), int((east + 180) / 360 * n)

    def ty(lat: float) -> int:
        r = math.radians(lat)
        return int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)

    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(ty(north), ty(south) + 1)]


@pytest.mark.parametrize("z", [9, 12])
def test_tile_features_equal_the_reaches_meeting_the_tile(demo_store: Store, z: int) -> None:
    reaches = _live(demo_store)
    assert len(reaches) > 5
    source = RiverTileSource(demo_store)
    tiles = _tiles_over(reaches, z)
    assert 0 < len(tiles) < 300
    seen: set[int] = set()
    for zxy in tiles:
        found = source.tile(*zxy)
        assert found is not None and found.gzip and found.media_type == "application/vnd.mapbox-vector-tile"
        got = _ids(found.data)
        assert got == _oracle(reaches, *zxy), zxy
        seen |= got
    assert seen == set(int(i) for i in reaches["id"])  # every reach is drawn somewhere at this zoom


def test_tile_properties_and_lines_in_tile_units(demo_store: Store) -> None:
    reaches = _live(demo_store)
    source = RiverTileSource(demo_store)
    z, x, y = next(t for t in _tiles_over(reaches, 12) if _oracle(reaches, *t))
    layer = _decoded(source.tile(z, x, y).data)[core.LAYER]  # type: ignore[union-attr]
    assert layer["extent"] == core.EXTENT
    with demo_store.session() as s:
        names = dict(s.execute(select(Reach.id, Reach.name)).all())
    for feature in layer["features"]:
        props = feature["properties"]
        assert props["name"] == names[props["id"]] and props["level"]
        coords = [pt for part in _parts(feature["geometry"]) for pt in part]
        # inside the tile grown by the buffer (plus a unit of rounding)
        assert all(-core.BUFFER - 1 <= c <= core.EXTENT + core.BUFFER + 1 for pt in coords for c in pt)


def _parts(geometry: dict) -> list:
    return [geometry["coordinates"]] if geometry["type"] == "LineString" else geometry["coordinates"]


def test_empty_area_gives_an_empty_tile(demo_store: Store) -> None:
    source = RiverTileSource(demo_store)
    # the middle of the Pacific at zoom 10
    found = source.tile(10, 10, 400)
    assert found is not None and _ids(found.data) == set() and _decoded(found.data) == {}
    assert source.tile(3, 8, 0) is None  # not a tile of zoom 3
    assert source.tile(core.MAX_ZOOM + 1, 0, 0) is None


def test_cache_follows_a_reach_edit(demo_store: Store) -> None:
    reaches = _live(demo_store)
    source = RiverTileSource(demo_store)
    target = int(reaches["id"].iloc[0])
    old = reaches.geometry.iloc[0]
    z = 12
    before = {t: _ids(source.tile(*t).data) for t in _tiles_over(reaches, z)}  # type: ignore[union-attr]
    version = source.info().version  # type: ignore[union-attr]
    # move the reach 0.05° east and north: its old tiles lose it, its new ones gain it
    with demo_store.session(SYSTEM) as s:
        reach = s.get(Reach, target)
        assert reach is not None
        reach.geom = shapely.affinity.translate(old, 0.05, 0.05)
    moved = _live(demo_store)
    assert source.info().version != version  # type: ignore[union-attr]
    for t in set(before) | set(_tiles_over(moved, z)):
        got = _ids(source.tile(*t).data)  # type: ignore[union-attr]
        assert got == _oracle(moved, *t), t
    assert any(target in ids for ids in before.values())
    assert any(target in _ids(source.tile(*t).data) for t in _tiles_over(moved, z))  # type: ignore[union-attr]
    # a deleted reach leaves every tile
    with demo_store.session(SYSTEM) as s:
        s.get(Reach, target).deleted_at = clock.now()  # type: ignore[union-attr]
    gone = _live(demo_store)
    assert target not in set(gone["id"])
    for t in _tiles_over(moved, z):
        assert target not in _ids(source.tile(*t).data)  # type: ignore[union-attr]


def test_tile_set_info_and_totals(demo_store: Store) -> None:
    reaches = _live(demo_store)
    source = RiverTileSource(demo_store)
    info = source.info()
    assert info is not None and info.vector and info.format == "pbf" and info.maxzoom == core.MAX_ZOOM
    assert info.vector_layers[0]["id"] == core.LAYER
    west, south, east, north = reaches.total_bounds
    assert info.bounds == pytest.approx((west, south, east, north), abs=1e-6)
    n, total_m = reach_totals(demo_store)
    assert n == len(reaches)
    geodesic = sum(gpd.GeoSeries([g], crs="EPSG:4326").to_crs(reaches.estimate_utm_crs()).length.iloc[0]
                   for g in reaches.geometry)
    assert total_m == pytest.approx(geodesic, rel=5e-3)


def test_reaches_near_a_point(demo_store: Store) -> None:
    reaches = _live(demo_store)
    line = reaches.geometry.iloc[0]
    pt = line.interpolate(0.5, normalized=True)
    near = reach_ids_near(demo_store, pt.x, pt.y, 30.0)
    assert int(reaches["id"].iloc[0]) in near
    far = reach_ids_near(demo_store, 0.0, 0.0, 30.0)
    assert far == []


def test_empty_store_has_no_tile_set(store: Store) -> None:
    assert RiverTileSource(store).info() is None
    with store.session(SYSTEM) as s:
        s.add(Reach(river=River(name="测试河"), name="测试河段",
                    geom=shapely.LineString([(126.905, 41.81), (126.935, 41.81)])))
    info = RiverTileSource(store).info()
    assert info is not None and info.bounds == pytest.approx((126.905, 41.81, 126.935, 41.81))
    assert NAME == "rivers"


def test_chain_from_the_reaches_near_a_click_equals_the_full_index(demo_store: Store) -> None:
    """The home map on many reaches: the index without reaches plus the reaches near the click
    gives the same chain as the index of every reach."""
    from gis.grids.chain import ResponsibilityIndex, reach_frames

    reaches = _live(demo_store)
    with demo_store.session() as s:
        full = ResponsibilityIndex.from_session(s)
        bare = ResponsibilityIndex.from_session(s, reaches=False)
    assert bare.reach_count == 0 and full.reach_count == len(reaches)
    for line in reaches.geometry:
        pt = line.interpolate(0.37, normalized=True)
        near = reach_ids_near(demo_store, pt.x, pt.y, 60.0)
        with demo_store.session() as s:
            local = bare.with_reaches(**reach_frames(s, near))
        want, got = full.lookup(pt.x, pt.y, tolerance_m=60.0), local.lookup(pt.x, pt.y, tolerance_m=60.0)
        assert got.reach is not None and want.reach is not None
        assert (got.reach.id, got.reach.station_m) == (want.reach.id, pytest.approx(want.reach.station_m))
        assert [(c.role_label, c.person) for c in got.chain] == [(c.role_label, c.person) for c in want.chain]
        assert got.warnings == want.warnings
    assert bare.lookup(pt.x, pt.y, tolerance_m=60.0).reach is None  # the bare index itself is unchanged


def _fetch_all(url: str, tiles: list[tuple[int, int, int]]) -> dict[tuple[int, int, int], set[int]]:
    """In a fresh process: every tile of ``tiles`` from the store at ``url`` (its reach ids)."""
    store = Store(url)
    try:
        source = RiverTileSource(store)
        out = {}
        for zxy in tiles:
            found = source.tile(*zxy)
            out[zxy] = _ids(found.data) if found is not None else set()
        return out
    finally:
        store.engine.dispose()


@pytest.mark.serial
def test_four_processes_fill_the_tile_cache_at_once(demo_store: Store) -> None:
    """Four server processes asking for the same tiles of a cold cache at once (SQLite: one cache
    file they all fill): every one gets every tile right, and nothing fails on a locked file."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    reaches = _live(demo_store)
    tiles = _tiles_over(reaches, 12)
    url = demo_store.engine.url.render_as_string(hide_password=False)
    with ProcessPoolExecutor(4, mp_context=get_context("fork")) as pool:
        results = list(pool.map(_fetch_all, [url] * 4, [tiles] * 4))
    expected = {zxy: _oracle(reaches, *zxy) for zxy in tiles}
    assert all(r == expected for r in results)
    assert sum(len(v) for v in expected.values()) > 0

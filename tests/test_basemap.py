"""The bundled 简图 and the basemap choice: its content (pure core), ``gis basemap build`` on the
demo (SQLite and PostGIS), staleness, the settings' order of preference, what every map offers,
and the vendored renderer with its licences."""

from __future__ import annotations

import gzip
import json
import math
import subprocess
import sys
from pathlib import Path

import folium
import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import LineString, Point, Polygon

from gis.auth import Actor
from gis.basemap.archives import TileSetInfo, open_archive
from gis.basemap.build import MAX_ZOOM, MIN_ZOOM, build_simple_basemap, needs_build
from gis.basemap.simple import graticule, short_names, simple_map_features
from gis.basemap.sources import BasemapCatalog, basemap_catalog
from gis.config import settings
from gis.model import UserRole
from gis.store.schema import Grid
from layers.assets import VENDOR_DIR, collect_links, vendor_file
from layers.basemap import BASEMAP_LABELS, PROTOMAPS_JS, VectorBasemap, finish_map, make_map
from layers.packed import STATIC_DIR

REPO = Path(__file__).resolve().parent.parent


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return (
        int((lon + 180.0) / 360.0 * n),
        int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n),
    )


def decoded(data: bytes, z: int, x: int, y: int, folder: Path) -> gpd.GeoDataFrame:
    """A vector tile read back by GDAL's MVT driver."""
    path = folder / f"{z}" / f"{x}" / f"{y}.pbf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    return pyogrio.read_dataframe(path, layer="basemap")


# ---------------------------------------------------------------- the pure core


def test_grid_names_lose_their_parents_name_and_the_office_suffix() -> None:
    names = ["临江市", "临江市森工街道办事处", "森工街道东兴村", "森工街道森工社区", "红旗村"]
    parents = [None, "临江市", "临江市森工街道办事处", "临江市森工街道办事处", "临江市森工街道办事处"]
    assert short_names(names, parents) == ["临江市", "森工街道", "东兴村", "森工社区", "红旗村"]


def test_graticule_lines_carry_the_coarsest_spacing_they_belong_to() -> None:
    lines = graticule((126.95, 41.98, 127.05, 42.02))  # 127°00′ is a whole degree; 42°00′ too
    meridians = lines[lines["level"] == "lon"]
    by_name = dict(zip(meridians["name"], meridians["rank"]))
    # 126°57′ … 127°03′, every minute; rank: 0 whole degree, 2 ten minutes, 4 one minute
    assert list(meridians["name"]) == [f"126°{m}′E" for m in range(57, 60)] + [f"127°{m:02d}′E" for m in range(0, 4)]
    assert by_name["127°00′E"] == 0 and by_name["126°58′E"] == 4 and by_name["127°01′E"] == 4
    parallels = lines[lines["level"] == "lat"]
    assert list(parallels["name"]) == ["41°59′N", "42°00′N", "42°01′N"]
    assert dict(zip(parallels["name"], parallels["rank"]))["42°00′N"] == 0
    assert graticule((126.0, 41.0, 127.0, 42.0)).pipe(lambda g: g[g["name"] == "126°30′E"])["rank"].item() == 1
    assert graticule((126.0, 41.0, 127.0, 42.0)).pipe(lambda g: g[g["name"] == "126°50′E"])["rank"].item() == 2
    assert graticule((126.0, 41.0, 127.0, 42.0)).pipe(lambda g: g[g["name"] == "126°55′E"])["rank"].item() == 3


def test_the_sheet_covers_the_top_grid_and_names_sit_inside_their_grids() -> None:
    county = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    village = Polygon([(0.2, 0.2), (0.4, 0.2), (0.4, 0.4), (0.2, 0.4)])
    grids = gpd.GeoDataFrame(
        {"name": ["甲县", "甲县乙村"], "level": ["county", "village"], "parent_name": ["", "甲县"]},
        geometry=[county, village],
        crs="EPSG:4326",
    ).to_crs("EPSG:3857")  # any CRS in, degrees out
    waters = gpd.GeoDataFrame(
        {"name": ["长河", "长河", "远河"], "level": ["county", "county", "province"]},
        geometry=[LineString([(-5, 0.5), (0.5, 0.5)]), LineString([(0.5, 0.5), (0.9, 0.6)]),
                  LineString([(10, 10), (11, 11)])],
        crs="EPSG:4326",
    )
    objects = gpd.GeoDataFrame({"name": ["水厂", "远处"]}, geometry=[Point(0.3, 0.3), Point(20, 20)], crs="EPSG:4326")
    f = simple_map_features(grids, waters, objects)
    assert f.crs.equals("EPSG:4326")
    paper = f[f["kind"] == "paper"].geometry.item()
    assert paper.contains(county) and paper.bounds[0] < -0.1  # a margin around the county
    assert list(f.loc[f["kind"] == "area", "name"]) == ["甲县"]  # the top level only
    places = f[f["kind"] == "place"]
    assert list(places["name"]) == ["甲县", "乙村"]  # county first: its label wins a collision
    for name, grid in (("甲县", county), ("乙村", village)):
        assert grid.contains(places.loc[places["name"] == name].geometry.item())
    water = f[f["kind"] == "water"]
    assert list(water["name"]) == ["长河"]  # one line per river, clipped to the sheet; 远河 is off it
    assert water.geometry.item().geom_type == "LineString" and paper.covers(water.geometry.item())
    assert list(f.loc[f["kind"] == "poi", "name"]) == ["水厂"]
    boundary = f[f["kind"] == "boundary"]
    assert list(boundary["level"]) == ["village", "county"]  # the county's outline drawn last
    assert boundary.geometry.iloc[1].hausdorff_distance(county.boundary) < 1e-9  # (through EPSG:3857 and back)


def test_nothing_to_draw_is_refused() -> None:
    empty = gpd.GeoDataFrame({"name": [], "level": [], "parent_name": []}, geometry=[], crs="EPSG:4326")
    with pytest.raises(Exception, match="没有可绘制底图"):
        simple_map_features(empty, empty, empty)


# ---------------------------------------------------------------- the build


def test_the_demo_basemap_has_tiles_at_every_zoom_over_the_whole_area(demo_store, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RIVERGRID_READ_LOGIN", "0")  # open reading: object names may go on the map
    target = tmp_path / "simple.pmtiles"
    result = build_simple_basemap(demo_store, target)
    assert result.built and target.exists() and (result.minzoom, result.maxzoom) == (MIN_ZOOM, MAX_ZOOM)
    archive = open_archive(target)
    info = archive.info
    assert info.vector and info.compression == "gzip" and (info.minzoom, info.maxzoom) == (5, 13)
    with demo_store.session() as s:
        grids = gpd.GeoDataFrame(geometry=[g.geom for g in s.query(Grid) if g.geom is not None], crs="EPSG:4326")
    west, south, east, north = grids.total_bounds
    assert info.bounds[0] < west and info.bounds[1] < south and info.bounds[2] > east and info.bounds[3] > north
    # every corner of the grids' box and the township's heart have a tile at every zoom
    for z in range(MIN_ZOOM, MAX_ZOOM + 1):
        for lon, lat in ((west, south), (west, north), (east, south), (east, north), (126.93, 41.82)):
            assert archive.tile(z, *tile_of(lon, lat, z)) is not None, (z, lon, lat)
        if z >= 8:  # (a tile of zoom 5 is 11° wide)
            assert archive.tile(z, *tile_of(west - 2.5, south, z)) is None  # nothing far outside
    # a tile in 东兴村 holds its name, the Yalu and the grid outlines, read back by GDAL
    x, y = tile_of(126.99, 41.80, 12)
    tile = decoded(archive.tile(12, x, y), 12, x, y, tmp_path)
    assert "东兴村" in set(tile.loc[tile["kind"] == "place", "name"])
    assert "鸭绿江" in set(tile.loc[tile["kind"] == "water", "name"])
    assert {"township", "village"} <= set(tile.loc[tile["kind"] == "boundary", "level"])
    assert set(tile["kind"]) >= {"paper", "area", "graticule"}
    assert "鸭绿江 WDB II" in info.description  # the reference line is credited


def test_object_names_stay_off_the_tiles_where_reading_needs_sign_in(demo_store, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RIVERGRID_READ_LOGIN", "1")
    closed = build_simple_basemap(demo_store, tmp_path / "closed.pmtiles")
    monkeypatch.setenv("RIVERGRID_READ_LOGIN", "0")
    opened = build_simple_basemap(demo_store, tmp_path / "open.pmtiles")
    assert opened.features > closed.features  # the objects' names
    for name, kinds in (("closed", {"place"}), ("open", {"place", "poi"})):
        x, y = tile_of(126.93, 41.82, 9)  # one tile holds the whole township
        tile = decoded(open_archive(tmp_path / f"{name}.pmtiles").tile(9, x, y), 9, x, y, tmp_path / name)
        assert set(tile["kind"]) & {"place", "poi"} == kinds


def test_a_build_is_skipped_until_the_data_changes(demo_store, tmp_path) -> None:
    target = tmp_path / "simple.mbtiles"  # MBTiles the same way
    first = build_simple_basemap(demo_store, target)
    assert open_archive(target).info.format == "pbf"
    again = build_simple_basemap(demo_store, target, force=False)
    assert not again.built and again.fingerprint == first.fingerprint and not needs_build(target, first.fingerprint)
    with demo_store.session(Actor("staff", UserRole.STAFF)) as s:
        grid = s.query(Grid).filter(Grid.name == "森工街道东兴村").one()
        grid.name = "森工街道新东兴村"
    changed = build_simple_basemap(demo_store, target, force=False)
    assert changed.built and changed.fingerprint != first.fingerprint
    archive = open_archive(target)
    x, y = tile_of(126.99, 41.80, 12)
    assert "新东兴村" in set(decoded(archive.tile(12, x, y), 12, x, y, tmp_path)["name"])


def test_the_command_writes_the_served_file_and_says_what_it_did(demo_sqlite_copy, tmp_path) -> None:
    database = demo_sqlite_copy(tmp_path / "rivergrid.sqlite")
    env = {"PATH": "/usr/bin:/bin", "RIVERGRID_DATA_DIR": str(tmp_path), "PYTHONPATH": str(REPO)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gis", "basemap", "build", *args, "--database-url", f"sqlite:///{database}"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
        )

    done = run("--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["built"] and report["path"] == str(tmp_path / "basemap" / "simple.pmtiles")
    assert Path(report["path"]).stat().st_size == report["bytes"] > 10_000
    assert run("--if-stale", "--json").returncode == 0
    assert json.loads(run("--if-stale", "--json").stdout)["built"] is False
    plain = run("-o", str(tmp_path / "copy.mbtiles"))
    assert plain.returncode == 0 and "简图已生成" in plain.stdout and (tmp_path / "copy.mbtiles").exists()
    wrong = run("-o", str(tmp_path / "copy.geojson"))
    assert wrong.returncode == 2 and ".pmtiles 或 .mbtiles" in wrong.stderr


# ---------------------------------------------------------------- the choice


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "simple"),
        ({"TIANDITU_KEY": "k"}, "simple"),  # Tianditu is offered, never the default
        ({"RIVERGRID_TILES": "/srv/tiles/province.pmtiles"}, "local"),
        ({"RIVERGRID_TILE_URL": "http://gis.local/{z}/{x}/{y}.png", "RIVERGRID_TILES": "/x.pmtiles"}, "intranet"),
        ({"RIVERGRID_BASEMAP": "osm"}, "osm"),
        ({"RIVERGRID_BASEMAP": "none", "RIVERGRID_TILES": "/x.pmtiles"}, "none"),
        ({"RIVERGRID_BASEMAP": "tianditu_img"}, "simple"),  # no key
        ({"RIVERGRID_BASEMAP": "tianditu_img", "TIANDITU_KEY": "k"}, "tianditu_img"),
        ({"RIVERGRID_BASEMAP": "local"}, "simple"),  # no file named
        ({"RIVERGRID_BASEMAP": "google"}, "simple"),
    ],
)
def test_the_default_basemap_never_needs_the_internet(monkeypatch, env: dict[str, str], expected: str) -> None:
    for name in ("TIANDITU_KEY", "RIVERGRID_TILES", "RIVERGRID_TILE_URL", "RIVERGRID_BASEMAP"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert settings().basemap == expected


def test_several_intranet_templates_are_drawn_one_over_the_other(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RIVERGRID_TILE_URL", " http://10.1.1.1/vec_w/wmts?TILEMATRIX={z}&TILEROW={y}&TILECOL={x}\n"
                       "  http://10.1.1.1/cva_w/wmts?TILEMATRIX={z}&TILEROW={y}&TILECOL={x} ")
    catalog = basemap_catalog()
    assert catalog.default == "intranet" and len(catalog.intranet) == 2
    m = make_map(basemap=settings().basemap, tianditu_key=None)
    shown = [g for g in m._children.values() if isinstance(g, folium.FeatureGroup) and g.show]
    assert [g.layer_name for g in shown] == ["内网底图"]
    urls = [c.tiles for c in shown[0]._children.values() if isinstance(c, folium.TileLayer)]
    assert urls == list(catalog.intranet)


def info(fmt: str) -> TileSetInfo:
    return TileSetInfo(format=fmt, compression="gzip" if fmt == "pbf" else "none", minzoom=6, maxzoom=12,
                       bounds=(126.0, 41.0, 127.0, 42.0), center=(126.5, 41.5, 8), description="某省影像",
                       version="abc")


def base_groups(m: folium.Map) -> dict[str, folium.FeatureGroup]:
    return {g.layer_name: g for g in m._children.values() if isinstance(g, folium.FeatureGroup) and not g.overlay}


def test_every_map_offers_every_configured_basemap_in_order() -> None:
    catalog = BasemapCatalog(simple=info("pbf"), local=info("png"), intranet=("http://gis/{z}/{x}/{y}.png",),
                             tianditu_key="KEY", default="simple")
    m = make_map(basemap="simple", tianditu_key="KEY", catalog=catalog)
    groups = base_groups(m)
    assert list(groups) == [BASEMAP_LABELS[c] for c in
                            ("simple", "local", "intranet", "tianditu_vec", "tianditu_img", "osm", "none")]
    assert [name for name, g in groups.items() if g.show] == ["简图"]
    vector = next(c for c in groups["简图"]._children.values() if isinstance(c, VectorBasemap))
    assert vector.url == "/api/tiles/simple/{z}/{x}/{y}.mvt?v=abc" and vector.style == "simple"
    assert vector.options["bounds"] == [[41.0, 126.0], [42.0, 127.0]]
    assert (vector.options["minZoom"], vector.options["maxDataZoom"]) == (7, 12)  # one data zoom covers two
    raster = next(c for c in groups["本地瓦片"]._children.values() if isinstance(c, folium.TileLayer))
    assert raster.tiles == "/api/tiles/local/{z}/{x}/{y}.png?v=abc"
    assert (raster.options["max_native_zoom"], raster.options["min_native_zoom"]) == (12, 6)
    html = finish_map(m).get_root().render()
    assert 'RiverGridBasemap["simple"]("/api/tiles/simple/' in html.replace("\n", "").replace(" ", "")
    assert vector.options["attribution"] == "某省影像" and raster.options["attribution"] == "某省影像"


def test_a_basemap_not_built_yet_gives_way_and_a_local_vector_file_uses_the_protomaps_style() -> None:
    catalog = BasemapCatalog(simple=None, local=info("pbf"), intranet=(), tianditu_key=None, default="simple")
    m = make_map(basemap="simple", tianditu_key=None, catalog=catalog)
    groups = base_groups(m)
    assert "简图" not in groups and [n for n, g in groups.items() if g.show] == ["本地瓦片"]
    vector = next(c for c in groups["本地瓦片"]._children.values() if isinstance(c, VectorBasemap))
    assert vector.style == "protomaps"
    nothing = BasemapCatalog(simple=None, local=None, intranet=(), tianditu_key=None, default="simple")
    assert [n for n, g in base_groups(make_map(basemap="simple", tianditu_key=None, catalog=nothing)).items()
            if g.show] == ["无底图"]


def test_the_vector_renderer_is_vendored_with_its_licences() -> None:
    catalog = BasemapCatalog(simple=info("pbf"), local=None, intranet=(), tianditu_key=None, default="simple")
    _, js = collect_links(finish_map(make_map(basemap="simple", tianditu_key=None, catalog=catalog)))
    assert PROTOMAPS_JS in js and js.index(PROTOMAPS_JS) > js.index("/app/static/vendor/rivergrid/map-core.js")  # after Leaflet
    script = vendor_file(PROTOMAPS_JS).read_text(encoding="utf-8")
    assert script.startswith('"use strict";var protomapsL=')
    folder = VENDOR_DIR / "protomaps-leaflet"
    assert "Protomaps LLC" in (folder / "LICENSE").read_text(encoding="utf-8")
    notices = (folder / "THIRD-PARTY-LICENSES.txt").read_text(encoding="utf-8")
    for package in ("pmtiles", "@protomaps/basemaps", "pbf", "@mapbox/vector-tile", "rbush", "fflate"):
        assert f"==== {package}@" in notices
    assert "protomaps-leaflet@5.1.0" in (VENDOR_DIR / "VERSIONS.txt").read_text(encoding="utf-8")
    style = (STATIC_DIR / "basemap.js").read_text(encoding="utf-8")
    assert "window.RiverGridBasemap" in style and "http" not in style  # nothing fetched from elsewhere


def test_the_app_start_builds_a_missing_basemap_at_once_and_a_stale_one_in_the_background(
    demo_store, tmp_path, monkeypatch
) -> None:
    from gis.basemap import build

    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(tmp_path))
    served = tmp_path / "basemap" / "simple.pmtiles"
    assert build.prepare_simple_basemap(demo_store) is None and served.exists()  # before the server opens
    assert basemap_catalog().simple is not None and basemap_catalog().default == "simple"
    with demo_store.session(Actor("staff", UserRole.STAFF)) as s:
        s.query(Grid).filter(Grid.name == "森工街道东兴村").one().name = "森工街道东兴新村"
    version = open_archive(served).info.version
    thread = build.prepare_simple_basemap(demo_store)
    assert thread is not None
    thread.join(timeout=120)
    assert open_archive(served).info.version != version  # rebuilt from the changed data
    # a build that fails is logged, and the app starts all the same
    monkeypatch.setattr(build, "build_simple_basemap", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("GDAL")))
    assert build.ensure_simple_basemap(demo_store) is None

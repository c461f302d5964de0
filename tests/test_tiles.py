"""The tile route ``/api/tiles/`` on a real server: vector tiles from PMTiles and MBTiles files that
GDAL writes here, a raster MBTiles file, the TileJSON, caching headers, gzip, 404s as JSON, a file
replaced while the server runs, and the tile budget of the rate limits.

Oracles: the ``pmtiles`` package's own reader (not the route's directory cache) for the stored
bytes; GDAL's MVT driver, reading the served tile back, for what it holds, against shapely's
answer to "which features touch this tile"; pixel colours for the raster file."""

from __future__ import annotations

import gzip
import io
import math
import os
import shutil
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import requests
import shapely
from PIL import Image
from pmtiles.reader import MmapSource, Reader
from shapely.geometry import LineString, Point, Polygon, box

from gis.basemap.archives import open_archive
from gis.basemap.build import write_tiles
from tests.api_server import start_server

pytestmark = pytest.mark.serial

Z = 12
TILE_BUDGET = 40  # RIVERGRID_API_RATE_TILES of the test server
API_BUDGET = 5  # RIVERGRID_API_RATE_IP


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    n = 2**z
    lat = lambda t: math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * t / n))))  # noqa: E731
    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def sample_features() -> gpd.GeoDataFrame:
    """A village square, a river across it, a well inside and a school 30 km away (other tiles)."""
    return gpd.GeoDataFrame(
        {
            "kind": ["area", "water", "poi", "poi"],
            "name": ["甲村", "乙河", "丙井", "丁校"],
            "rank": [0, 0, 0, 0],
        },
        geometry=[
            Polygon([(126.90, 41.78), (126.96, 41.78), (126.96, 41.82), (126.90, 41.82)]),
            LineString([(126.88, 41.79), (126.98, 41.81)]),
            Point(126.93, 41.80),
            Point(127.30, 41.60),
        ],
        crs="EPSG:4326",
    )


def raster_mbtiles(path: Path, tiles: dict[tuple[int, int, int], tuple[int, int, int]]) -> None:
    """A raster MBTiles file: one solid-colour PNG per (z, x, y), rows stored TMS-style."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    db.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    db.executemany(
        "INSERT INTO metadata VALUES (?, ?)",
        [("name", "影像"), ("format", "png"), ("minzoom", str(Z)), ("maxzoom", str(Z)),
         ("bounds", "126.80,41.70,127.00,41.90"), ("attribution", "测试影像")],
    )
    for (z, x, y), colour in tiles.items():
        buf = io.BytesIO()
        Image.new("RGB", (256, 256), colour).save(buf, "PNG")
        db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, 2**z - 1 - y, buf.getvalue()))
    db.commit()
    db.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tilefiles")
    out = {
        "pmtiles": write_tiles(sample_features(), folder / "v.pmtiles", minzoom=8, maxzoom=Z),
        "mbtiles": write_tiles(sample_features(), folder / "v.mbtiles", minzoom=8, maxzoom=Z),
    }
    raster_mbtiles(folder / "r.mbtiles", {(Z, *tile_of(126.93, 41.80, Z)): (200, 30, 40)})
    out["raster"] = folder / "r.mbtiles"
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_template_sqlite, files):  # type: ignore[no-untyped-def]
    from tests.conftest import copy_sqlite_file

    data_dir = tmp_path_factory.mktemp("tiles")
    copy_sqlite_file(demo_template_sqlite, data_dir / "rivergrid.sqlite")
    served = data_dir / "local.tiles"  # the route tells the formats apart by content, not by name
    shutil.copy(files["pmtiles"], served)
    env = {"RIVERGRID_TILES": str(served), "RIVERGRID_API_RATE_TILES": str(TILE_BUDGET),
           "RIVERGRID_API_RATE_IP": str(API_BUDGET)}
    srv = start_server(f"sqlite:///{data_dir / 'rivergrid.sqlite'}", data_dir, env)
    srv.served = served  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def raw_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """A GET without any decoding (urllib leaves Content-Encoding alone)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def names_in_tile(data: bytes, z: int, x: int, y: int, folder: Path) -> set[str]:
    """GDAL's reading of an MVT tile (the path z/x/y.pbf tells the driver where it lies)."""
    path = folder / str(z) / str(x) / f"{y}.pbf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    names: set[str] = set()
    for layer, _ in pyogrio.list_layers(path):
        names |= set(pyogrio.read_dataframe(path, layer=layer)["name"])
    return names


def expected_names(z: int, x: int, y: int) -> set[str]:
    tile = box(*tile_bounds(z, x, y))
    frame = sample_features()
    return set(frame.loc[shapely.intersects(frame.geometry.array, tile), "name"])


# ---------------------------------------------------------------- vector tiles


def test_a_vector_tile_is_the_stored_gzip_and_holds_the_features_touching_it(server, files, tmp_path) -> None:
    x, y = tile_of(126.93, 41.80, Z)
    status, headers, body = raw_get(f"{server.api}/tiles/local/{Z}/{x}/{y}.mvt", {"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert headers["content-encoding"] == "gzip" and "accept-encoding" in headers["vary"].lower()
    with files["pmtiles"].open("rb") as f:
        stored = Reader(MmapSource(f)).get(Z, x, y)
    assert body == stored and body[:2] == b"\x1f\x8b"
    names = names_in_tile(gzip.decompress(body), Z, x, y, tmp_path)
    assert names == expected_names(Z, x, y) == {"甲村", "乙河", "丙井"}
    # the far school lies in another tile, which has it and nothing else
    fx, fy = tile_of(127.30, 41.60, Z)
    far = requests.get(f"{server.api}/tiles/local/{Z}/{fx}/{fy}.pbf", timeout=30)
    assert far.status_code == 200  # .pbf is the other name of the format
    assert names_in_tile(far.content, Z, fx, fy, tmp_path / "far") == expected_names(Z, fx, fy) == {"丁校"}


def test_a_client_without_gzip_gets_the_tile_uncompressed(server, files) -> None:
    x, y = tile_of(126.93, 41.80, Z)
    status, headers, body = raw_get(f"{server.api}/tiles/local/{Z}/{x}/{y}.mvt", {"Accept-Encoding": "identity"})
    assert status == 200 and "content-encoding" not in headers
    with files["pmtiles"].open("rb") as f:
        assert body == gzip.decompress(Reader(MmapSource(f)).get(Z, x, y))


def test_etags_answer_304_and_versioned_urls_are_cached_for_good(server) -> None:
    x, y = tile_of(126.93, 41.80, Z)
    url = f"{server.api}/tiles/local/{Z}/{x}/{y}.mvt"
    version = requests.get(f"{server.api}/tiles/local.json", timeout=30).json()["version"]
    first = requests.get(url, timeout=30)
    assert first.headers["Cache-Control"] == "public, max-age=60"
    etag = first.headers["ETag"]
    again = requests.get(url, headers={"If-None-Match": etag}, timeout=30)
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    versioned = requests.get(f"{url}?v={version}", timeout=30)
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    stale = requests.get(f"{url}?v=old", timeout=30)
    assert stale.headers["Cache-Control"] == "public, max-age=60"
    # the identity representation has its own tag
    plain = requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=30)
    assert plain.headers["ETag"] != etag


def test_tilejson_describes_the_set(server) -> None:
    body = requests.get(f"{server.api}/tiles/local.json", timeout=30).json()
    assert body["tilejson"] == "3.0.0" and body["format"] == "pbf" and body["scheme"] == "xyz"
    assert (body["minzoom"], body["maxzoom"]) == (8, Z)
    west, south, east, north = body["bounds"]
    assert west <= 126.88 and south <= 41.60 and east >= 127.30 and north >= 41.82
    assert body["tiles"] == [f"{server.api}/tiles/local/{{z}}/{{x}}/{{y}}.mvt?v={body['version']}"]
    assert [layer["id"] for layer in body["vector_layers"]] == ["basemap"]
    simple = requests.get(f"{server.api}/tiles/simple.json", timeout=30).json()  # built at the server's start
    assert simple["name"] == "河长网格简图" and simple["tiles"][0].startswith(f"{server.api}/tiles/simple/")


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("local/{z}/0/0.mvt", "has no tile"),  # inside the pyramid, nothing there
        ("local/{z}/{x}/{y}.png", "has pbf tiles, not .png"),
        ("local/40/0/0.mvt", "has no tile"),
        ("local/{z}/{x}/-1.mvt", "has no tile"),
        ("local/{z}/a/1.mvt", "must be integers"),
        ("nowhere/{z}/{x}/{y}.mvt", "not found"),
        ("nowhere.json", "not found"),
    ],
)
def test_missing_tiles_are_404_with_a_json_body(server, path: str, reason: str) -> None:
    x, y = tile_of(126.93, 41.80, Z)
    answer = requests.get(f"{server.api}/tiles/" + path.format(z=Z, x=x, y=y), timeout=30)
    assert answer.status_code == 404
    body = answer.json()
    assert body["code"] == 404 and reason in body["reason"]
    assert body["message"].startswith(("没有这个瓦片", "没有名为"))


# ---------------------------------------------------------------- other files


def test_mbtiles_written_by_gdal_and_a_file_replaced_while_serving(server, files, tmp_path) -> None:
    before = requests.get(f"{server.api}/tiles/local.json", timeout=30).json()["version"]
    temporary = server.served.with_name("incoming.tmp")
    shutil.copy(files["mbtiles"], temporary)
    os.replace(temporary, server.served)  # as `gis basemap build` replaces the 简图
    try:
        info = requests.get(f"{server.api}/tiles/local.json", timeout=30).json()
        assert info["version"] != before and (info["minzoom"], info["maxzoom"]) == (8, Z)
        x, y = tile_of(126.93, 41.80, Z)
        status, headers, body = raw_get(f"{server.api}/tiles/local/{Z}/{x}/{y}.mvt", {"Accept-Encoding": "gzip"})
        assert status == 200
        stored = open_archive(files["mbtiles"]).tile(Z, x, y)
        assert body == stored
        data = gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body
        assert names_in_tile(data, Z, x, y, tmp_path) == {"甲村", "乙河", "丙井"}
    finally:
        shutil.copy(files["pmtiles"], temporary)
        os.replace(temporary, server.served)


def test_raster_mbtiles_tiles_are_png_with_rows_flipped_from_tms(server, files) -> None:
    temporary = server.served.with_name("incoming.tmp")
    shutil.copy(files["raster"], temporary)
    os.replace(temporary, server.served)
    try:
        info = requests.get(f"{server.api}/tiles/local.json", timeout=30).json()
        assert info["format"] == "png" and "vector_layers" not in info and info["attribution"] == "测试影像"
        x, y = tile_of(126.93, 41.80, Z)
        answer = requests.get(f"{server.api}/tiles/local/{Z}/{x}/{y}.png", timeout=30)
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/png"
        assert "Content-Encoding" not in answer.headers
        assert Image.open(io.BytesIO(answer.content)).getpixel((128, 128)) == (200, 30, 40)
        # the row counted from the south is not a tile: the flip is done
        assert requests.get(f"{server.api}/tiles/local/{Z}/{x}/{2**Z - 1 - y}.png", timeout=30).status_code == 404
    finally:
        shutil.copy(files["pmtiles"], temporary)
        os.replace(temporary, server.served)


# ---------------------------------------------------------------- rate limits


def test_tiles_have_their_own_much_higher_budget(server) -> None:
    x, y = tile_of(126.93, 41.80, Z)
    here = {"X-Real-IP": "10.9.0.1"}
    # a map loading far more tiles than the API allows one address is not refused…
    answers = [
        requests.get(f"{server.api}/tiles/local/{Z}/{x}/{y}.mvt", headers=here, timeout=30).status_code
        for _ in range(TILE_BUDGET)
    ]
    assert answers == [200] * TILE_BUDGET and TILE_BUDGET > 3 * API_BUDGET
    # …and uses none of the API's budget
    api = [requests.get(f"{server.api}/", headers=here, timeout=30).status_code for _ in range(API_BUDGET + 1)]
    assert api == [200] * API_BUDGET + [429]
    # the tile budget has its limit too
    over = requests.get(f"{server.api}/tiles/local/{Z}/{x}/{y}.mvt", headers=here, timeout=30)
    assert over.status_code == 429 and f"每分钟最多 {TILE_BUDGET} 次" in over.json()["message"]
    assert int(over.headers["Retry-After"]) >= 1
    # another address has its own
    assert requests.get(f"{server.api}/tiles/local.json", headers={"X-Real-IP": "10.9.0.2"}, timeout=30).ok

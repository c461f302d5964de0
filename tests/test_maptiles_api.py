"""The ``rivers`` tile set over HTTP (issue 19): TileJSON and tiles from a real server on both stores."""

from __future__ import annotations

import gzip
import json
import urllib.request

import mapbox_vector_tile
import pytest

from gis.maptiles import core

pytestmark = pytest.mark.serial


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


def test_tilejson_names_the_rivers_layer_and_versioned_tiles(api_server) -> None:  # type: ignore[no-untyped-def]
    status, headers, body = _get(f"{api_server.api}/tiles/rivers.json")
    assert status == 200
    doc = json.loads(body)
    assert doc["tilejson"] == "3.0.0" and doc["format"] == "pbf" and doc["name"] == "河段"
    assert doc["vector_layers"][0]["id"] == core.LAYER
    assert doc["tiles"][0].endswith(f"/tiles/rivers/{{z}}/{{x}}/{{y}}.mvt?v={doc['version']}")
    west, south, east, north = doc["bounds"]
    assert west < east and south < north and 120 < west < 130 and 38 < south < 45  # the demo, near 临江


def test_a_tile_over_the_demo_holds_its_reaches(api_server) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(_get(f"{api_server.api}/tiles/rivers.json")[2])
    west, south, east, north = doc["bounds"]
    z = 10
    x0, y0, x1, y1 = core.tile_range(z, (west, south, east, north))
    names: set[str] = set()
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            url = doc["tiles"][0].replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))
            status, headers, body = _get(url, {"Accept-Encoding": "gzip"})
            assert status == 200 and headers["content-type"] == "application/vnd.mapbox-vector-tile"
            assert headers["cache-control"] == "public, max-age=31536000, immutable"
            data = gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body
            layer = mapbox_vector_tile.decode(data).get(core.LAYER)
            names |= {f["properties"]["name"] for f in layer["features"]} if layer else set()
    assert names, "the demo's reaches are in the tiles over their bounds"
    status, _, body = _get(f"{api_server.api}/tiles/rivers/10/10/400.mvt")  # the Pacific
    assert status == 200 and mapbox_vector_tile.decode(body) == {}

"""OGC API Features at /api/ogc on a real server (``python -m ui.serve``), SQLite and PostGIS.

Clients: GDAL's OAPIF driver through pyogrio (what QGIS uses too) and plain HTTP (requests).
Oracles: the rows read from the server's database directly (shapely for bbox), pyproj in
EPSG:4551 for the 100 m cell of a coarsened location.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlsplit

import pyogrio
import pyproj
import pytest
import requests
import shapely
from sqlalchemy import select

from gis.accounts.users import actor_for
from gis.features.incidents import FULL_FIELDS, PUBLIC_FIELDS
from gis.incidents.public import COARSEN_CELL_M, PRIVATE_FIELDS
from gis.incidents.reporting import report_incident
from gis.model import Category
from gis.store import Store
from gis.store.schema import Grid, Incident, PatrolTrack, not_deleted
from gis.store.scope import grid_and_below

DONGXING_ID = 3


def db(server) -> Store:  # type: ignore[no-untyped-def]
    return Store(server.database_url, migrate=False)


def new_key(server, username: str) -> str:  # type: ignore[no-untyped-def]
    result = server.cli("token", "create", "--user", username, "--name", f"ogc-{uuid.uuid4().hex[:8]}", "--json")
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)["key"])


def get(server, path: str, key: str | None = None, **params):  # type: ignore[no-untyped-def]
    headers = {"X-API-Key": key} if key else {}
    return requests.get(f"{server.api}/ogc{path}", params=params, headers=headers, timeout=60)


def all_pages(server, collection: str, key: str | None = None, **params) -> tuple[list[dict], list[dict]]:  # type: ignore[no-untyped-def, type-arg]
    """Every feature of a collection, following next links; and every page's body."""
    headers = {"X-API-Key": key} if key else {}
    url = f"{server.api}/ogc/collections/{collection}/items"
    features, pages = [], []
    response = requests.get(url, params=params, headers=headers, timeout=60)
    while True:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/geo+json")
        body = response.json()
        pages.append(body)
        features += body["features"]
        following = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not following:
            return features, pages
        response = requests.get(following[0], headers=headers, timeout=60)


# =============================================================================================
# GDAL (QGIS's driver)
# =============================================================================================


def test_gdal_lists_the_collections_and_reads_the_demo_grids(api_server) -> None:  # type: ignore[no-untyped-def]
    source = "OAPIF:" + api_server.api + "/ogc"
    layers = [str(name) for name, _ in pyogrio.list_layers(source)]
    assert {"grids", "reaches", "rivers", "incidents"} <= set(layers)
    assert "tracks" not in layers  # anonymous: tracks need a key
    store = db(api_server)
    try:
        with store.session() as s:
            grids = {g.name: g.geom for g in s.scalars(select(Grid).where(not_deleted(Grid)))}
    finally:
        store.dispose()
    frame = pyogrio.read_dataframe(source, layer="grids")
    assert sorted(frame["name"]) == sorted(grids) and len(frame) == 4
    assert frame.crs is not None and frame.crs.equals(pyproj.CRS("OGC:CRS84"))
    for row in frame.itertuples():
        assert shapely.equals_exact(row.geometry, grids[row.name], tolerance=1e-9)
    assert set(frame["main_responsible"]) >= {"何兆花", "管荣波"}
    sizes = []
    for box in [(126.95, 41.75, 127.00, 41.80), (126.80, 41.70, 126.86, 41.76), (127.2, 41.95, 127.3, 42.0),
                (126.56, 41.98, 126.62, 42.04)]:  # the last: in the county's envelope, off its boundary
        touched = sorted(name for name, g in grids.items() if shapely.intersects(g, shapely.box(*box)))
        got = pyogrio.read_dataframe(source, layer="grids", bbox=box)
        assert sorted(got["name"]) == touched, box
        sizes.append(len(touched))
    assert sizes[0] == 3 and sizes[1] == 3 and sizes[-1] == 0
    reaches = pyogrio.read_dataframe(source, layer="reaches")
    assert len(reaches) == 7 and "鸭绿江" in set(reaches["river_name"])


# =============================================================================================
# Paging, parameters, documents
# =============================================================================================


def test_next_links_return_every_feature_exactly_once(api_server) -> None:  # type: ignore[no-untyped-def]
    for collection, expected in (("reaches", 7), ("incidents", None), ("objects", 11)):  # 11: the outfall of issue 17
        features, pages = all_pages(api_server, collection, limit=3)
        ids = [f["id"] for f in features]
        assert len(ids) == len(set(ids)) == pages[0]["numberMatched"]
        assert ids == sorted(ids)
        assert expected is None or len(ids) == expected
        assert len(pages) == -(-len(ids) // 3) >= 3
        assert all(p["numberMatched"] == len(ids) for p in pages)
        assert [p["numberReturned"] for p in pages] == [len(p["features"]) for p in pages]
        assert not any(link["rel"] == "prev" for link in pages[0]["links"])
        assert all(any(link["rel"] == "prev" for link in p["links"]) for p in pages[1:])
    # with a bbox and a time, the pages keep both
    box = "126.85,41.74,126.93,41.84"
    features, _ = all_pages(api_server, "incidents", limit=2, bbox=box, datetime="2026-10-01/..")
    one_page = get(api_server, "/collections/incidents/items", bbox=box, datetime="2026-10-01/..", limit=1000).json()
    assert [f["id"] for f in features] == [f["id"] for f in one_page["features"]] and len(features) >= 2
    for f in features:
        lon, lat = f["geometry"]["coordinates"]
        assert 126.85 <= lon <= 126.93 and 41.74 <= lat <= 41.84
        assert f["properties"]["reported_at"] >= "2026-10-01T00:00:00+08:00"


def test_bad_parameters_answer_400_with_a_chinese_message(api_server) -> None:  # type: ignore[no-untyped-def]
    for params, words in [
        ({"bbox": "126.8,41.7"}, "bbox"),
        ({"limit": "0"}, "limit"),
        ({"offset": "x"}, "offset"),
        ({"datetime": "昨天"}, "datetime"),
    ]:
        response = get(api_server, "/collections/grids/items", **params)
        assert response.status_code == 400, params
        body = response.json()
        assert words in body["message"] and body["reason"] and body["description"] == body["message"]
    missing = get(api_server, "/collections/lakes/items")
    assert missing.status_code == 404 and "没有名为“lakes”的图层" in missing.json()["message"]
    assert get(api_server, "/collections/grids/items/9999").status_code == 404
    big = get(api_server, "/collections/reaches/items", limit="50000").json()
    assert big["numberReturned"] == 7  # a limit over 10000 is lowered, not refused


def test_landing_page_links_are_paths_of_the_openapi_document(api_server) -> None:  # type: ignore[no-untyped-def]
    base = api_server.api + "/ogc"
    landing = get(api_server, "/")
    assert landing.status_code == 200 and "RiverGrid" in landing.json()["title"]
    links = {link["rel"]: link for link in landing.json()["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(links)
    service = requests.get(links["service-desc"]["href"], timeout=60)
    assert service.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    doc = service.json()
    assert doc["openapi"].startswith("3.0.") and doc["servers"][0]["url"] == base
    for link in links.values():
        path = urlsplit(link["href"]).path.removeprefix(urlsplit(base).path) or "/"
        assert path in doc["paths"], path
    for path in ("/collections/{collectionId}", "/collections/{collectionId}/items",
                 "/collections/{collectionId}/items/{featureId}"):
        assert path in doc["paths"]
    limit = doc["components"]["parameters"]["limit"]["schema"]
    assert (limit["default"], limit["maximum"]) == (100, 10000)
    conformance = requests.get(links["conformance"]["href"], timeout=60).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conformance
    collections = requests.get(links["data"]["href"], timeout=60).json()["collections"]
    assert {c["id"] for c in collections} == {"rivers", "reaches", "grids", "objects", "blind_spots", "incidents"}
    assert all(c["title"] and c["description"] for c in collections)
    blind = get(api_server, "/collections/blind_spots/items").json()["features"]
    assert blind and all(f["properties"]["station_from"].startswith("K") for f in blind)


# =============================================================================================
# Who sees what
# =============================================================================================


def test_anonymous_incidents_never_expose_private_fields_petitions_or_exact_disputes(api_server) -> None:  # type: ignore[no-untyped-def]
    store = db(api_server)
    contact = f"139{uuid.uuid4().int % 10**8:08d}"
    try:
        with store.session() as s:
            staff = actor_for(s, "staff")
        with store.session(staff) as s:
            for category in (Category.POLLUTION_DISPUTE.value, Category.PETITION.value, Category.ECOLOGY.value):
                report_incident(s, lon=126.96473, lat=41.77741, category=category, description="测试：岸边垃圾",
                                reporter="赵六", reporter_contact=contact, source="public_complaint")
        with store.session() as s:
            rows = {i.id: (i.category, i.geom) for i in s.scalars(select(Incident))}
    finally:
        store.dispose()
    features, pages = all_pages(api_server, "incidents", limit=5)
    raw = json.dumps(pages, ensure_ascii=False)
    assert contact not in raw and "赵六" not in raw
    petitions = {i for i, (c, _) in rows.items() if c == Category.PETITION.value}
    assert {f["id"] for f in features} == set(rows) - petitions and len(petitions) >= 2
    to_gk = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4551", always_xy=True)
    coarse = 0
    for f in features:
        assert set(f["properties"]) == set(PUBLIC_FIELDS) and not set(f["properties"]) & PRIVATE_FIELDS
        category, point = rows[f["id"]]
        lon, lat = f["geometry"]["coordinates"]
        if category == Category.POLLUTION_DISPUTE.value:
            x, y = to_gk.transform(point.x, point.y)
            cell = COARSEN_CELL_M
            assert to_gk.transform(lon, lat) == pytest.approx(((x // cell + 0.5) * cell, (y // cell + 0.5) * cell),
                                                              abs=1e-3)
            assert (lon, lat) != (point.x, point.y)
            coarse += 1
        else:
            assert (lon, lat) == pytest.approx((point.x, point.y), abs=1e-12)
    assert coarse >= 2
    for petition in petitions:
        assert get(api_server, f"/collections/incidents/items/{petition}").status_code == 404

    # a staff key: every field (the contact only on the page, logged), petitions included
    key = new_key(api_server, "staff")
    staff_features, staff_pages = all_pages(api_server, "incidents", key=key, limit=5)
    assert {f["id"] for f in staff_features} == set(rows)
    assert all(set(f["properties"]) == set(FULL_FIELDS) for f in staff_features)
    assert "赵六" in json.dumps(staff_pages, ensure_ascii=False)
    assert contact not in json.dumps(staff_pages, ensure_ascii=False)  # read on the page only, logged
    assert all("reporter_contact" not in f["properties"] for f in staff_features)


def test_a_key_bound_to_dongxing_sees_only_its_cases_and_tracks(api_server) -> None:  # type: ignore[no-untyped-def]
    store = db(api_server)
    try:
        with store.session() as s:
            mine = set(grid_and_below(s, DONGXING_ID))
            cases = {i.id: i.grid_id for i in s.scalars(select(Incident))}
            tracks = {t.id: t.grid_id for t in s.scalars(select(PatrolTrack))}
    finally:
        store.dispose()
    key = new_key(api_server, "dongxing")
    features, _ = all_pages(api_server, "incidents", key=key)
    assert sorted(f["id"] for f in features) == sorted(i for i, g in cases.items() if g in mine)
    assert 0 < len(features) < len(cases)
    assert all(f["properties"]["grid_name"] == "森工街道东兴村" for f in features)
    other = next(i for i, g in cases.items() if g not in mine)
    assert get(api_server, f"/collections/incidents/items/{other}", key=key).status_code == 404
    got_tracks, _ = all_pages(api_server, "tracks", key=key)
    assert sorted(f["id"] for f in got_tracks) == sorted(i for i, g in tracks.items() if g in mine)
    assert 0 < len(got_tracks) < len(tracks)


def test_tracks_refuse_anonymous_callers_and_answer_a_key(api_server) -> None:  # type: ignore[no-untyped-def]
    for path in ("/collections/tracks/items", "/collections/tracks", "/collections/tracks/items/1"):
        refused = get(api_server, path)
        assert refused.status_code == 401, path
        assert "接口密钥" in refused.json()["message"] and refused.headers["www-authenticate"].startswith("Bearer")
    wrong = get(api_server, "/collections/grids/items", key="rg_not-a-real-key")
    assert wrong.status_code == 401  # a bad key is refused, never taken as anonymous
    key = new_key(api_server, "leader")
    answered = get(api_server, "/collections/tracks/items", key=key, datetime="2026-11-01/..")
    assert answered.status_code == 200
    body = answered.json()
    assert body["numberMatched"] == len(body["features"]) >= 1
    assert all(f["properties"]["started_at"] >= "2026-11-01" for f in body["features"])
    assert all(f["geometry"]["type"] == "LineString" and f["properties"]["length_m"] > 0 for f in body["features"])
    listed = [c["id"] for c in get(api_server, "/collections", key=key).json()["collections"]]
    assert "tracks" in listed


@pytest.mark.serial
def test_read_login_limits_anonymous_callers_to_the_disclosure(demo_template_sqlite, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.api_server import start_server
    from tests.conftest import copy_sqlite_file

    copy_sqlite_file(demo_template_sqlite, tmp_path / "rivergrid.sqlite")
    server = start_server(f"sqlite:///{tmp_path / 'rivergrid.sqlite'}", tmp_path, {"RIVERGRID_READ_LOGIN": "1"})
    try:
        source = "OAPIF:" + server.api + "/ogc"
        assert sorted(str(name) for name, _ in pyogrio.list_layers(source)) == ["grids", "reaches", "rivers"]
        assert len(pyogrio.read_dataframe(source, layer="grids")) == 4
        for name in ("incidents", "objects", "blind_spots", "tracks"):
            refused = get(server, f"/collections/{name}/items")
            assert refused.status_code == 401, name
            assert "接口密钥" in refused.json()["message"]
        for name in ("grids", "reaches", "rivers"):
            assert get(server, f"/collections/{name}/items").status_code == 200
        key = new_key(server, "leader")
        assert get(server, "/collections/incidents/items", key=key).json()["numberMatched"] > 0
    finally:
        server.stop()

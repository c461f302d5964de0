"""gis.features: one query function per collection, on the demo (SQLite and PostGIS).

Oracles: shapely on the geometries read from the store (bbox), the stored rows (paging, time,
scope), pyproj in EPSG:4551 (the 100 m cell of a coarsened location), a naive shapely overlay
(blind spots).
"""

from __future__ import annotations

from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import Point
from sqlalchemy import select

from gis.accounts.users import actor_for
from gis.auth import Actor
from gis.checks.report import check_store
from gis.errors import AuthenticationError, NotFoundError, ValidationError
from gis.features.base import DEFAULT_LIMIT, MAX_LIMIT, FeatureQuery, parse_bbox, parse_datetime
from gis.features.catalog import COLLECTIONS, collection, get_feature, readable_collections
from gis.features.geodata import query_grids, query_objects, query_reaches, query_rivers
from gis.features.incidents import FULL_FIELDS, PUBLIC_FIELDS, query_incidents
from gis.features.tracks import query_tracks
from gis.incidents.public import COARSEN_CELL_M, PRIVATE_FIELDS
from gis.incidents.reporting import report_incident
from gis.model import Category
from gis.overview import load_map_data
from gis.store import Store
from gis.store.schema import Grid, Incident, PatrolTrack, Person, Reach, SupervisedObject, not_deleted
from gis.store.scope import grid_and_below

BOXES = [
    (126.95, 41.75, 127.00, 41.80),  # the east of 东兴村
    (126.80, 41.70, 126.86, 41.76),  # the west, the blind spot's end
    (126.88, 41.78, 126.92, 41.82),  # the middle of 森工社区
    (100.0, 10.0, 101.0, 11.0),  # far away: nothing
    (126.56, 41.98, 126.62, 42.04),  # inside the county grid's envelope, outside the grid
    (126.96, 41.76, 126.97, 41.77),  # inside reaches' envelopes, crossing some reaches only
    (126.94, 41.76, 126.95, 41.77),  # the same for tracks
]
DONGXING_ID = 3


def actor(store: Store, username: str) -> Actor:
    with store.session() as s:
        return actor_for(s, username)


def reader(store: Store, username: str | None):  # type: ignore[no-untyped-def]
    """A read session acting as ``username`` (None: an anonymous caller)."""
    return store.session(None if username is None else actor(store, username), write=False)


def stored(store: Store, model, where=()) -> dict[int, object]:  # type: ignore[no-untyped-def]
    with store.session() as s:
        return {row.id: row.geom for row in s.scalars(select(model).where(*where))}


# =============================================================================================
# bbox, paging, datetime
# =============================================================================================


@pytest.mark.parametrize(
    ("query_fn", "model", "where", "user"),
    [
        (query_grids, Grid, (not_deleted(Grid),), None),
        (query_reaches, Reach, (not_deleted(Reach),), None),
        (query_objects, SupervisedObject, (), None),
        (query_tracks, PatrolTrack, (), "admin"),
        (query_incidents, Incident, (), "admin"),
    ],
    ids=["grids", "reaches", "objects", "tracks", "incidents"],
)
def test_bbox_selects_exactly_what_shapely_says_intersects(demo_store: Store, query_fn, model, where, user) -> None:  # type: ignore[no-untyped-def]
    geoms = stored(demo_store, model, where)
    sizes, misses = [], 0
    for box in BOXES:
        expected = sorted(i for i, g in geoms.items() if g is not None and shapely.intersects(g, shapely.box(*box)))
        with reader(demo_store, user) as s:
            page = query_fn(s, FeatureQuery(bbox=box))
        assert [f.id for f in page.features] == expected, box
        assert page.number_matched == len(expected)
        sizes.append(len(expected))
        envelopes = [i for i, g in geoms.items() if g is not None and shapely.intersects(g.envelope, shapely.box(*box))]
        misses += len(envelopes) - len(expected)
    assert any(0 < n < len(geoms) for n in sizes)  # some box selects some, not all
    assert misses > 0 or model in (SupervisedObject, Incident)  # a box in an envelope but off the shape


def test_rivers_are_selected_by_any_of_their_reaches(demo_store: Store) -> None:
    with demo_store.session() as s:
        reaches = [(r.river_id, r.geom) for r in s.scalars(select(Reach).where(not_deleted(Reach)))]
    for box in BOXES:
        expected = sorted({rid for rid, g in reaches if shapely.intersects(g, shapely.box(*box))})
        with reader(demo_store, None) as s:
            page = query_rivers(s, FeatureQuery(bbox=box))
        assert [f.id for f in page.features] == expected
    with reader(demo_store, None) as s:
        yalu = query_rivers(s, FeatureQuery(ids=(1,))).features[0]
    assert yalu.properties["name"] == "鸭绿江" and yalu.properties["reach_count"] == 4
    assert shapely.equals(yalu.geometry, shapely.union_all([g for rid, g in reaches if rid == 1]))


def test_paging_returns_every_feature_once_in_id_order(demo_store: Store) -> None:
    with demo_store.session() as s:
        all_ids = sorted(s.scalars(select(Incident.id)))
    seen: list[int] = []
    offset = 0
    while True:
        with reader(demo_store, "admin") as s:
            page = query_incidents(s, FeatureQuery(limit=4, offset=offset))
        assert page.number_matched == len(all_ids)
        seen += [f.id for f in page.features]
        if not page.has_next:
            break
        offset += page.number_returned
    assert seen == all_ids
    with reader(demo_store, "admin") as s:
        past_end = query_incidents(s, FeatureQuery(limit=4, offset=len(all_ids) + 3))
    assert past_end.features == [] and past_end.number_matched == len(all_ids)
    # bbox and paging together: the pages of a bbox are the bbox's features
    geoms = stored(demo_store, Incident)
    box = (126.85, 41.74, 126.93, 41.84)
    inside = sorted(i for i, g in geoms.items() if shapely.intersects(g, shapely.box(*box)))
    pages = []
    for offset in range(0, len(inside) + 2, 2):
        with reader(demo_store, "admin") as s:
            pages += [f.id for f in query_incidents(s, FeatureQuery(bbox=box, limit=2, offset=offset)).features]
    assert pages == inside and len(inside) >= 3


def test_datetime_selects_incidents_by_report_time_and_tracks_by_start(demo_store: Store) -> None:
    with demo_store.session() as s:
        reported = {i.id: i.reported_at for i in s.scalars(select(Incident))}
        started = {t.id: t.started_at for t in s.scalars(select(PatrolTrack))}
    cases = {  # closed intervals, in UTC
        "2026-11-01T00:00:00+08:00/..": (datetime(2026, 10, 31, 16, tzinfo=UTC), None),
        "../2026-10-01": (None, datetime(2026, 10, 1, 15, 59, 59, 999999, tzinfo=UTC)),  # the whole day, Beijing
        "2026-10-01/2026-10-31T23:59:59+08:00": (
            datetime(2026, 9, 30, 16, tzinfo=UTC), datetime(2026, 10, 31, 15, 59, 59, tzinfo=UTC)),
    }
    for text, (start, end) in cases.items():
        def inside(t: datetime, start=start, end=end) -> bool:
            return (start is None or t >= start) and (end is None or t <= end)

        with reader(demo_store, "admin") as s:
            got_i = [f.id for f in query_incidents(s, FeatureQuery(interval=parse_datetime(text))).features]
            got_t = [f.id for f in query_tracks(s, FeatureQuery(interval=parse_datetime(text))).features]
        assert got_i == sorted(i for i, t in reported.items() if inside(t)), text
        assert got_t == sorted(i for i, t in started.items() if inside(t)), text
        assert got_i and got_t or text.startswith("..")
    # an instant selects that very moment
    one_id, one_at = next(iter(reported.items()))
    with reader(demo_store, "admin") as s:
        exact = query_incidents(s, FeatureQuery(interval=parse_datetime(one_at.isoformat())))
    assert [f.id for f in exact.features] == [i for i, t in reported.items() if t == one_at]


def test_request_parameters_are_read_or_refused_in_chinese() -> None:
    q = FeatureQuery.parse()
    assert (q.limit, q.offset, q.bbox, q.interval) == (DEFAULT_LIMIT, 0, None, None)
    assert FeatureQuery.parse(limit="50000").limit == MAX_LIMIT  # lowered, not refused (OGC API Features)
    assert parse_bbox("126.8,41.7,0,127,41.9,100") == (126.8, 41.7, 127.0, 41.9)  # 3D box: its 2D part
    bad = [
        ({"bbox": "126.8,41.7,127"}, "四个数"),
        ({"bbox": "a,b,c,d"}, "四个数"),
        ({"bbox": "127,41.7,126.8,41.9"}, "最小值大于最大值"),
        ({"bbox": "126.8,41.7,127,95"}, "超出经纬度范围"),
        ({"bbox": "126.8,41.7,127,41.9", "bbox_crs": "http://www.opengis.net/def/crs/EPSG/0/4326"}, "CRS84"),
        ({"limit": "0"}, "limit 不能小于 1"),
        ({"limit": "ten"}, "limit 须为整数"),
        ({"offset": "-1"}, "offset 不能小于 0"),
        ({"datetime_": "yesterday"}, "datetime 无法识别"),
        ({"datetime_": "2026-11-02/2026-11-01"}, "开始时间晚于结束时间"),
    ]
    for params, message in bad:
        with pytest.raises(ValidationError, match=message):
            FeatureQuery.parse(**params)
    naive = parse_datetime("2026-11-01T08:00:00")  # no offset: Beijing time
    assert naive.start == datetime(2026, 11, 1, 0, tzinfo=UTC) == naive.end


# =============================================================================================
# Who sees what
# =============================================================================================


def test_anonymous_incidents_show_public_fields_no_petitions_and_coarse_disputes(demo_store: Store) -> None:
    staff = actor(demo_store, "staff")
    spot = (126.96473, 41.77741)  # in 东兴村
    with demo_store.session(staff) as s:
        dispute = report_incident(s, lon=spot[0], lat=spot[1], category=Category.POLLUTION_DISPUTE.value,
                                  description="养殖场污水流入鱼塘", reporter="李四", reporter_contact="13900001111",
                                  source="public_complaint")
        petition = report_incident(s, lon=spot[0], lat=spot[1], category=Category.PETITION.value,
                                   description="信访：王五反映", reporter="王五", reporter_contact="13900002222")
        dispute_id, petition_id = dispute.id, petition.id
    with demo_store.session() as s:
        rows = {i.id: i for i in s.scalars(select(Incident))}
    with reader(demo_store, None) as s:
        page = query_incidents(s)
    shown = {f.id: f for f in page.features}
    assert set(PUBLIC_FIELDS) | PRIVATE_FIELDS >= set(FULL_FIELDS) and not set(PUBLIC_FIELDS) & PRIVATE_FIELDS
    assert {"reporter", "reporter_contact"} <= PRIVATE_FIELDS  # gis.incidents.public: the rule Open311 follows too
    for f in page.features:
        assert set(f.properties) == set(PUBLIC_FIELDS)
        assert not set(f.properties) & PRIVATE_FIELDS
        assert "13900001111" not in str(f.properties) and "李四" not in str(f.properties)
    petitions = {i for i, r in rows.items() if r.category == Category.PETITION.value}
    assert petition_id in petitions and len(petitions) >= 2
    assert set(shown) == set(rows) - petitions and page.number_matched == len(rows) - len(petitions)
    with reader(demo_store, None) as s, pytest.raises(NotFoundError):
        get_feature(s, "incidents", petition_id)

    # pollution disputes: the centre of their 100 m cell in CGCS2000 / 3-degree GK CM 126E
    to_gk = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4551", always_xy=True)
    disputes = [i for i, r in rows.items() if r.category == Category.POLLUTION_DISPUTE.value]
    assert dispute_id in disputes and len(disputes) >= 2
    for i in disputes:
        true_x, true_y = to_gk.transform(rows[i].geom.x, rows[i].geom.y)
        got_x, got_y = to_gk.transform(shown[i].geometry.x, shown[i].geometry.y)
        cell = COARSEN_CELL_M
        assert (got_x, got_y) == pytest.approx(((true_x // cell + 0.5) * cell, (true_y // cell + 0.5) * cell), abs=1e-3)
        assert 0 < np.hypot(got_x - true_x, got_y - true_y) <= cell / np.sqrt(2)
        assert shown[i].properties["location_coarsened"] is True
    others = [i for i in shown if i not in disputes]
    assert all(shapely.equals(shown[i].geometry, rows[i].geom) for i in others)
    # a box around the stored point but off the cell's centre does not find the case
    true = rows[dispute_id].geom
    tiny = (true.x - 1e-5, true.y - 1e-5, true.x + 1e-5, true.y + 1e-5)
    assert not shapely.intersects(shown[dispute_id].geometry, shapely.box(*tiny))
    with reader(demo_store, None) as s:
        assert dispute_id not in [f.id for f in query_incidents(s, FeatureQuery(bbox=tiny)).features]
        centre = shown[dispute_id].geometry
        near = (centre.x - 1e-5, centre.y - 1e-5, centre.x + 1e-5, centre.y + 1e-5)
        assert dispute_id in [f.id for f in query_incidents(s, FeatureQuery(bbox=near)).features]
    # an account sees the true place and every field but the contact (read only on the page, logged)
    with reader(demo_store, "staff") as s:
        full = get_feature(s, "incidents", dispute_id)
    assert shapely.equals(full.geometry, Point(spot))
    assert set(full.properties) == set(FULL_FIELDS) and "reporter_contact" not in full.properties
    assert full.properties["reporter"] == "李四" and full.properties["description"] == "养殖场污水流入鱼塘"


def test_accounts_see_cases_and_tracks_of_their_scope_only(demo_store: Store) -> None:
    with demo_store.session() as s:
        dongxing = set(grid_and_below(s, DONGXING_ID))
        cases = {i.id: i.grid_id for i in s.scalars(select(Incident))}
        tracks = {t.id: t.grid_id for t in s.scalars(select(PatrolTrack))}
    assert dongxing == {DONGXING_ID}
    with reader(demo_store, "dongxing") as s:
        mine = query_incidents(s).features
        my_tracks = query_tracks(s).features
        with pytest.raises(NotFoundError):
            get_feature(s, "incidents", next(i for i, g in cases.items() if g not in dongxing))
    assert sorted(f.id for f in mine) == sorted(i for i, g in cases.items() if g in dongxing)
    assert sorted(f.id for f in my_tracks) == sorted(i for i, g in tracks.items() if g in dongxing)
    assert 0 < len(mine) < len(cases) and 0 < len(my_tracks) < len(tracks)
    assert all("reporter" in f.properties for f in mine)
    with reader(demo_store, "leader") as s:  # bound to the township: everything of the demo
        assert len(query_incidents(s).features) == len(cases)


def test_tracks_refuse_anonymous_callers(demo_store: Store) -> None:
    with reader(demo_store, None) as s:
        with pytest.raises(AuthenticationError, match="需要接口密钥"):
            query_tracks(s)
        assert "tracks" not in [c.id for c in readable_collections(s)]
    with reader(demo_store, "patroller") as s:
        assert query_tracks(s).number_matched > 0
        assert [c.id for c in readable_collections(s)] == [c.id for c in COLLECTIONS]


@pytest.mark.parametrize("setting", ["1", "0", None])
def test_read_login_limits_anonymous_callers_to_the_disclosure(
    demo_store: Store, monkeypatch: pytest.MonkeyPatch, setting: str | None
) -> None:
    if setting is None:
        monkeypatch.delenv("RIVERGRID_READ_LOGIN", raising=False)  # a demo database: open, as the pages
    else:
        monkeypatch.setenv("RIVERGRID_READ_LOGIN", setting)
    limited = setting == "1"
    with reader(demo_store, None) as s:
        assert query_grids(s).number_matched == 4
        assert query_reaches(s).number_matched > 0 and query_rivers(s).number_matched > 0
        for name in ("objects", "blind_spots", "incidents"):
            if limited:
                with pytest.raises(AuthenticationError, match="登录后才能查看"):
                    collection(name).query(s)
            else:
                assert collection(name).query(s).number_matched > 0
        expected = ["rivers", "reaches", "grids"] + ([] if limited else ["objects", "blind_spots", "incidents"])
        assert [c.id for c in readable_collections(s)] == expected
    with reader(demo_store, "leader") as s:
        assert query_incidents(s).number_matched > 0


def test_a_production_database_asks_anonymous_callers_for_a_key_unless_told_otherwise(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gis.accounts.installation import init_production

    init_production(store)
    monkeypatch.delenv("RIVERGRID_READ_LOGIN", raising=False)  # as the pages: sign-in needed
    with reader(store, None) as s:
        assert query_grids(s).number_matched == 0  # the disclosure stays open (and empty here)
        with pytest.raises(AuthenticationError, match="登录后才能查看"):
            query_incidents(s)
    monkeypatch.setenv("RIVERGRID_READ_LOGIN", "0")
    with reader(store, None) as s:
        assert query_incidents(s).number_matched == 0


# =============================================================================================
# What the collections hold
# =============================================================================================


def test_grids_carry_the_public_fields_and_public_phones_only(demo_store: Store) -> None:
    with demo_store.session() as s:
        he = s.scalar(select(Person).where(Person.name == "何兆花"))
        assert he is not None and he.phone
        phone, public = he.phone, he.phone_public
    with reader(demo_store, None) as s:
        grids = {f.id: f for f in query_grids(s).features}
    dongxing = grids[DONGXING_ID].properties
    assert dongxing["name"] == "森工街道东兴村" and dongxing["level"] == "village"
    assert dongxing["parent_name"] == "临江市森工街道办事处" and dongxing["code"] == "LJ-SG-DX"
    assert dongxing["main_responsible"] == "何兆花" and dongxing["township_supervisor"] == "张力文"
    assert all(dongxing[k] for k in ("responsible_body", "area_desc", "duties", "tasks", "rewards", "hotline"))
    he_listed = [p for p in dongxing["persons"] if p["name"] == "何兆花"]
    assert he_listed and all(p["phone"] == (phone if public else "") for p in he_listed)

    with demo_store.session(actor(demo_store, "staff")) as s:  # publish her phone, hide it again
        s.scalar(select(Person).where(Person.name == "何兆花")).phone_public = True
    with reader(demo_store, None) as s:
        listed = [p for p in query_grids(s, FeatureQuery(ids=(DONGXING_ID,))).features[0].properties["persons"]
                  if p["name"] == "何兆花"]
    assert listed and all(p["phone"] == phone for p in listed)
    with demo_store.session(actor(demo_store, "staff")) as s:
        s.scalar(select(Person).where(Person.name == "何兆花")).phone_public = False
    with reader(demo_store, None) as s:
        props = query_grids(s, FeatureQuery(ids=(DONGXING_ID,))).features[0].properties
    assert phone not in str(props)


def test_blind_spots_are_the_checks_uncovered_stretches(demo_store: Store) -> None:
    with demo_store.session() as s:
        report = check_store(s)  # the 盲区检查 at village level, as page and CLI run it
        reaches = {r.id: r for r in s.scalars(select(Reach).where(not_deleted(Reach)))}
        grids = list(s.scalars(select(Grid).where(not_deleted(Grid))))
    with reader(demo_store, None) as s:
        page = collection("blind_spots").query(s)
    expected = report.coverage.uncovered()
    assert page.number_matched == len(expected) >= 1
    assert [(f.properties["reach_id"], f.properties["station"]) for f in page.features] == [
        (u["reach_id"], u["station"]) for u in expected]
    # naive oracle in EPSG:4551: reach ∩ township − villages
    def to_gk(geom):  # type: ignore[no-untyped-def]
        return gpd.GeoSeries([geom], crs="EPSG:4326").to_crs("EPSG:4551").iloc[0]

    township = shapely.union_all([to_gk(g.geom) for g in grids if g.level == "township"])
    villages = shapely.union_all([to_gk(g.geom) for g in grids if g.level == "village"])
    naive_m = sum(to_gk(r.geom).intersection(township).difference(villages).length for r in reaches.values())
    assert sum(f.properties["length_m"] for f in page.features) == pytest.approx(naive_m, abs=1.0)
    for f in page.features:
        p = f.properties
        start = reaches[p["reach_id"]].start_station_m
        assert p["station"] == f"{p['station_from']}–{p['station_to']}"
        assert p["station_to_m"] - p["station_from_m"] == pytest.approx(p["length_m"], abs=0.2)
        assert p["station_from_m"] >= start
        mid = to_gk(f.geometry.interpolate(0.5, normalized=True))
        assert not villages.buffer(0.01).contains(mid) and township.buffer(0.01).contains(mid)
    with reader(demo_store, None) as s:
        assert collection("blind_spots").query(s, FeatureQuery(bbox=(100.0, 10.0, 101.0, 11.0))).features == []


def test_overview_map_rows_are_the_collections_rows(demo_store: Store) -> None:
    with demo_store.session() as s:
        data = load_map_data(s)  # the trusted reader: every case, petitions included
        grids = {f.id: f.properties for f in query_grids(s).features}
        cases = {f.id: f.properties for f in query_incidents(s, operator=True).features}
    assert list(data.grids["level"]) == sorted(data.grids["level"], key=["county", "township", "village"].index)
    for row in data.grids.itertuples():
        assert (row.main_responsible, row.township_supervisor) == (
            grids[row.id]["main_responsible"], grids[row.id]["township_supervisor"])
    assert sorted(data.incidents["id"]) == sorted(cases)
    assert Category.PETITION.value in set(data.incidents["category"])
    assert list(data.incidents["reported_at"]) == sorted(data.incidents["reported_at"])


@pytest.mark.postgis
def test_postgis_filters_the_bbox_in_sql_with_the_index_operator(pg_url: str, demo_template_pg, pg_schema: str) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import event

    from tests.conftest import copy_pg_schema

    copy_pg_schema(demo_template_pg, pg_schema)
    store = Store(pg_url, migrate=False)
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        with reader(store, None) as s:
            page = query_grids(s, FeatureQuery(bbox=BOXES[0], limit=2))
    finally:
        store.dispose()
    assert [f.id for f in page.features] == [1, 2]
    spatial = [q for q in statements if "ST_MakeEnvelope" in q]
    assert spatial and all("&&" in q and "ST_Intersects" in q for q in spatial)
    assert any("LIMIT" in q for q in spatial)  # the page is cut in SQL too

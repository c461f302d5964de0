"""Importing files into the store: all or nothing, audited, on SQLite and PostGIS."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, Polygon, box
from sqlalchemy import func, select

from gis.auth import Actor
from gis.errors import DuplicateNameError, PermissionDenied, RiverGridError, ValidationError
from gis.geometry.crs import wgs84_to_gcj02
from gis.importing import import_file
from gis.model import UserRole
from gis.store import Store
from gis.store.audit import undo_batch
from gis.store.schema import AuditEntry, Grid, PatrolTrack, Person, Reach, River, SupervisedObject

STAFF = Actor("staff", UserRole.STAFF)
ADMIN = Actor("admin", UserRole.ADMIN)
LEADER = Actor("leader", UserRole.LEADER)


def snapshot(store: Store) -> dict[str, int]:
    with store.session() as s:
        return {
            m.__tablename__: s.scalar(select(func.count()).select_from(m))
            for m in (Grid, River, Reach, SupervisedObject, PatrolTrack, AuditEntry)
        }


@pytest.fixture
def township(store: Store) -> Grid:
    with store.session(STAFF) as s:
        g = Grid(name="临江市森工街道办事处", level="township", geom=box(126.85, 41.74, 127.0, 41.86))
        s.add(g)
    return g


def write(gdf: gpd.GeoDataFrame, path: Path, **kw) -> Path:  # type: ignore[no-untyped-def]
    gdf.to_file(path, **kw)
    return path


def test_grids_from_a_geopackage_land_under_their_parent(store: Store, township: Grid, tmp_path: Path) -> None:
    villages = gpd.GeoDataFrame(
        {"名称": ["东兴村", "森工社区"], "责任主体": ["东兴村村民委员会", "森工社区居民委员会"]},
        geometry=[box(126.85, 41.74, 126.92, 41.86), box(126.92, 41.74, 127.0, 41.86)],
        crs="EPSG:4326",
    ).to_crs("EPSG:4551")  # the file is in CGCS2000 / 3-degree GK CM 126E
    path = write(villages, tmp_path / "villages.gpkg", layer="村级网格", driver="GPKG")
    with store.session(STAFF) as s:
        report = import_file(s, path, "grids", defaults={"parent": township.name})
    assert report.written == {"grids": 2} and report.source_crs == "EPSG:4551"
    with store.session() as s:
        got = {g.name: g for g in s.scalars(select(Grid).where(Grid.level == "village"))}
        assert set(got) == {"东兴村", "森工社区"}
        assert got["东兴村"].parent_id == township.id
        assert got["东兴村"].responsible_body == "东兴村村民委员会"
        minx, miny, maxx, maxy = got["东兴村"].geom.bounds  # back in lon/lat
        assert (minx, miny, maxx, maxy) == pytest.approx((126.85, 41.74, 126.92, 41.86), abs=1e-6)
        entries = s.scalars(select(AuditEntry).where(AuditEntry.batch == report.batch)).all()
        assert {(e.action, e.table_name, e.username) for e in entries} == {("insert", "grids", "staff")}
        assert len(entries) == 2


def test_a_failed_import_leaves_the_store_unchanged(store: Store, township: Grid, tmp_path: Path) -> None:
    before = snapshot(store)
    mixed = gpd.GeoDataFrame(
        {"name": ["好网格", "一条线"]},
        geometry=[box(126.86, 41.75, 126.9, 41.8), LineString([(126.9, 41.8), (126.95, 41.82)])],
        crs="EPSG:4326",
    )
    path = write(mixed, tmp_path / "mixed.geojson", driver="GeoJSON")
    with pytest.raises(ValidationError, match="不是面要素"):
        with store.session(STAFF) as s:
            import_file(s, path, "grids", defaults={"parent": township.name})
    assert snapshot(store) == before


def test_duplicate_grid_names_under_one_parent_are_refused(store: Store, township: Grid, tmp_path: Path) -> None:
    twins = gpd.GeoDataFrame(
        {"name": ["东兴村", "东兴村"]},
        geometry=[box(126.86, 41.75, 126.9, 41.8), box(126.9, 41.75, 126.95, 41.8)],
        crs="EPSG:4326",
    )
    path = write(twins, tmp_path / "twins.geojson", driver="GeoJSON")
    before = snapshot(store)
    with pytest.raises(DuplicateNameError, match="已有名为“东兴村”"):
        with store.session(STAFF) as s:
            import_file(s, path, "grids", defaults={"parent": township.name})
    assert snapshot(store) == before


def test_leaders_cannot_import(store: Store, tmp_path: Path) -> None:
    rivers = gpd.GeoDataFrame({"name": ["鸭绿江临江段"]}, geometry=[LineString([(126.9, 41.8), (127.0, 41.75)])], crs="EPSG:4326")
    path = write(rivers, tmp_path / "r.geojson", driver="GeoJSON")
    with pytest.raises(PermissionDenied):
        with store.session(LEADER) as s:
            import_file(s, path, "rivers")
    assert snapshot(store)["reaches"] == 0


def test_reaches_group_under_their_river(store: Store, tmp_path: Path) -> None:
    reaches = gpd.GeoDataFrame(
        {"名称": ["上段", "下段"], "河流": ["鸭绿江", "鸭绿江"], "编码": ["YLJ-1", "YLJ-2"], "级别": ["省级", "省级"]},
        geometry=[LineString([(126.80, 41.73), (126.87, 41.77)]), LineString([(126.87, 41.77), (126.94, 41.79)])],
        crs="EPSG:4326",
    )
    path = write(reaches, tmp_path / "reaches.shp", encoding="UTF-8")  # Chinese field names of ≤ 10 bytes
    with store.session(STAFF) as s:
        import_file(s, path, "rivers")
    with store.session() as s:
        river = s.scalar(select(River))
        assert river.name == "鸭绿江" and river.level == "province"
        assert sorted(r.code for r in river.reaches) == ["YLJ-1", "YLJ-2"]


def test_gcj02_objects_are_corrected_on_request(store: Store, tmp_path: Path) -> None:
    true_lon, true_lat = 126.91, 41.80
    glon, glat = wgs84_to_gcj02(true_lon, true_lat)
    objs = gpd.GeoDataFrame({"name": ["水源地"], "category": ["饮用水源地"]}, geometry=[Point(float(glon), float(glat))], crs="EPSG:4326")
    path = write(objs, tmp_path / "objs.geojson", driver="GeoJSON")
    with store.session(STAFF) as s:
        import_file(s, path, "objects", source_offset="gcj02")
    with store.session() as s:
        obj = s.scalar(select(SupervisedObject))
    assert obj.category == "drinking_water_source"
    assert (obj.geom.x, obj.geom.y) == pytest.approx((true_lon, true_lat), abs=1e-6)


GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
  <trk><name>东兴村巡河</name><trkseg>
    <trkpt lat="41.800" lon="126.900"><time>2026-11-03T01:00:00Z</time></trkpt>
    <trkpt lat="41.801" lon="126.901"><time>2026-11-03T01:00:30Z</time></trkpt>
    <trkpt lat="41.802" lon="126.902"><time>2026-11-03T01:01:00Z</time></trkpt>
  </trkseg></trk>
</gpx>
"""


def test_gpx_tracks_keep_their_times_person_and_original_file(store: Store, tmp_path: Path) -> None:
    with store.session(STAFF) as s:
        s.add(Person(name="何兆花", title="东兴村书记"))
    path = tmp_path / "patrol.gpx"
    path.write_text(GPX, encoding="utf-8")
    with store.session(STAFF) as s:
        report = import_file(s, path, "tracks", defaults={"person": "何兆花"})
    assert report.written == {"patrol_tracks": 1}
    with store.session() as s:
        t = s.scalar(select(PatrolTrack))
        assert t.person.name == "何兆花" and t.name == "东兴村巡河"
        assert len(t.times) == len(t.geom.coords) == 3
        assert t.started_at.isoformat() == "2026-11-03T01:00:00+00:00"
        assert t.ended_at.isoformat() == "2026-11-03T01:01:00+00:00"
        assert t.source_data == GPX.encode("utf-8") and t.source_name == "patrol.gpx"


def test_unknown_person_for_a_track_is_refused(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "patrol.gpx"
    path.write_text(GPX, encoding="utf-8")
    with pytest.raises(RiverGridError, match="找不到人员“无名氏”"):
        with store.session(STAFF) as s:
            import_file(s, path, "tracks", defaults={"person": "无名氏"})
    assert snapshot(store)["patrol_tracks"] == 0


def test_a_whole_import_can_be_undone(store: Store, township: Grid, tmp_path: Path) -> None:
    villages = gpd.GeoDataFrame({"name": ["甲村", "乙村"]}, geometry=[box(126.86, 41.75, 126.9, 41.8), box(126.9, 41.75, 126.95, 41.8)], crs="EPSG:4326")
    path = write(villages, tmp_path / "v.geojson", driver="GeoJSON")
    with store.session(STAFF) as s:
        report = import_file(s, path, "grids", defaults={"parent": township.name})
    with store.session(ADMIN) as s:
        assert undo_batch(s, report.batch) == 2
    with store.session() as s:
        assert s.scalars(select(Grid.name)).all() == [township.name]


def _empty(tmp_path: Path) -> Path:
    p = tmp_path / "empty.geojson"
    p.write_bytes(b"")
    return p


def _broken_zip(tmp_path: Path) -> Path:
    p = tmp_path / "grids.zip"
    p.write_bytes(b"PK\x03\x04 this is not really a zip")
    return p


def _shp_without_prj(tmp_path: Path) -> Path:
    gdf = gpd.GeoDataFrame({"name": ["甲村"]}, geometry=[box(126.86, 41.75, 126.9, 41.8)], crs="EPSG:4326")
    path = write(gdf, tmp_path / "noprj.shp", encoding="UTF-8")
    path.with_suffix(".prj").unlink()
    return path


def _swapped(tmp_path: Path) -> Path:
    gdf = gpd.GeoDataFrame({"name": ["甲村"]}, geometry=[box(41.75, 126.86, 41.8, 126.9)])
    path = tmp_path / "swapped.geojson"
    path.write_text(gdf.to_json(), encoding="utf-8")  # GeoJSON without CRS means lon/lat
    return path


def _two_layers(tmp_path: Path) -> Path:
    gdf = gpd.GeoDataFrame({"name": ["甲村"]}, geometry=[box(126.86, 41.75, 126.9, 41.8)], crs="EPSG:4326")
    return write(gdf, tmp_path / "g.gpkg", layer="村级网格")


@pytest.mark.parametrize(
    ("make", "layer", "message"),
    [
        (_empty, None, "空"),
        (_broken_zip, None, "zip|压缩"),
        (_shp_without_prj, None, "坐标系"),
        (_swapped, None, "颠倒"),
        (_two_layers, "乡级网格", "找不到图层|没有名为"),
    ],
    ids=["empty", "broken-zip", "shp-without-prj", "swapped-lat-lon", "unknown-layer"],
)
def test_bad_files_give_a_chinese_error_and_change_nothing(
    store: Store, township: Grid, tmp_path: Path, make, layer, message  # type: ignore[no-untyped-def]
) -> None:
    path = make(tmp_path)
    before = snapshot(store)
    with pytest.raises(RiverGridError, match=message):
        with store.session(STAFF) as s:
            import_file(s, path, "grids", layer=layer, defaults={"parent": township.name})
    assert snapshot(store) == before


def test_a_self_intersecting_grid_is_repaired_with_a_warning(store: Store, township: Grid, tmp_path: Path) -> None:
    bowtie = Polygon([(126.86, 41.75), (126.9, 41.8), (126.9, 41.75), (126.86, 41.8), (126.86, 41.75)])
    path = write(gpd.GeoDataFrame({"name": ["蝴蝶村"]}, geometry=[bowtie], crs="EPSG:4326"), tmp_path / "bowtie.geojson",
                 driver="GeoJSON")
    with store.session(STAFF) as s:
        report = import_file(s, path, "grids", defaults={"parent": township.name})
    assert any("蝴蝶村" in w and "修复" in w for w in report.warnings)
    with store.session() as s:
        grid = s.scalar(select(Grid).where(Grid.name == "蝴蝶村"))
    # both wings kept: two triangles of base 0.05° and height 0.02°, 0.0005 square degrees each
    assert grid.geom.is_valid and grid.geom.geom_type == "MultiPolygon" and len(grid.geom.geoms) == 2
    assert grid.geom.area == pytest.approx(0.001)

"""Geography sanity (gis.grids.jurisdiction) and non-finite coordinates, on SQLite and PostGIS.

Features farther than RIVERGRID_MAX_DISTANCE_KM (50 km) from the deployment's top-level grid are
refused with the distance (checked against pyproj.Geod as oracle) and the feature's number, and
nothing is written; allow_far / --allow-far imports them. NaN vertices are refused with the
feature's number. ``gis inspect`` gives the same verdict, message and exit status as ``import``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import LineString, Point, box
from sqlalchemy import func, select

from gis.auth import Actor
from gis.config import PROJECT_DIR
from gis.errors import GeometryError, TooFarError, ValidationError
from gis.grids.jurisdiction import Jurisdiction, top_level
from gis.importing import import_file
from gis.incidents.reporting import report_incident
from gis.model import UserRole
from gis.store import Store
from gis.store.schema import AuditEntry, Grid, Incident, PatrolTrack, Person, Reach, SupervisedObject

STAFF = Actor("staff", UserRole.STAFF)
GEOD = pyproj.Geod(ellps="WGS84")
COUNTY = box(126.55, 41.40, 127.45, 42.20)
TOWNSHIP = box(126.81, 41.70, 127.03, 41.885)
BOSTON = (-71.06, 42.36)  # a GPX recorded in Massachusetts
FAR_GRID = box(41.75, 26.95, 41.85, 27.05)  # around lon 41.8, lat 27 (Saudi Arabia)


def oracle_km(geom: shapely.Geometry, area: shapely.Geometry, step_deg: float = 0.0005) -> float:
    """Independent: the least WGS84 geodesic distance between the vertices of ``geom`` and points
    every ``step_deg`` along the area's boundary (0 when they meet)."""
    if geom.intersects(area):
        return 0.0
    ring = shapely.segmentize(area.boundary, step_deg)
    bx, by = shapely.get_coordinates(ring).T
    best = np.inf
    for x, y in shapely.get_coordinates(geom):
        best = min(best, float(np.min(GEOD.inv(np.full_like(bx, x), np.full_like(by, y), bx, by)[2])))
    return best / 1000.0


def reported_km(message: str) -> float:
    return float(re.search(r"约 ([\d,.]+) km", message).group(1).replace(",", ""))  # type: ignore[union-attr]


def counts(store: Store) -> dict[str, int]:
    with store.session() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                for m in (Grid, Reach, SupervisedObject, Incident, PatrolTrack, AuditEntry)}


@pytest.fixture
def area(store: Store) -> Store:
    """临江市 (top-level, no parent) with 森工街道 under it, and the patroller 何兆花."""
    with store.session(STAFF) as s:
        county = Grid(name="临江市", level="county", geom=COUNTY)
        s.add(county)
        s.flush()
        s.add(Grid(name="临江市森工街道办事处", level="township", parent_id=county.id, geom=TOWNSHIP))
        s.add(Person(name="何兆花"))
    return store


def gpx(path: Path, lon: float, lat: float, *, n: int = 30, name: str = "晨练") -> Path:
    pts = "".join(f'<trkpt lat="{lat + k * 1e-4:.6f}" lon="{lon:.6f}"><time>2026-11-04T01:{k:02d}:00Z</time></trkpt>'
                  for k in range(n))
    path.write_text('<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="Garmin" '
                    f'xmlns="http://www.topografix.com/GPX/1/1"><trk><name>{name}</name><trkseg>{pts}</trkseg></trk></gpx>',
                    encoding="utf-8")
    return path


def geojson(path: Path, names: list[str], geoms: list[shapely.Geometry], **columns: list[str]) -> Path:
    gpd.GeoDataFrame({"name": names, **columns}, geometry=geoms, crs="EPSG:4326").to_file(path, driver="GeoJSON")
    return path


# -- distances against the oracle ----------------------------------------------------------------


@pytest.mark.parametrize("geom", [
    Point(*BOSTON), Point(41.8, 27.0), Point(128.0, 41.8), Point(127.45 + 0.6, 42.5), Point(126.0, 41.0),
    LineString([(128.2, 43.0), (128.3, 43.5)]), FAR_GRID, Point(127.0, 41.8),
    LineString([(126.0, 41.8), (128.0, 41.8)]),  # crosses the county: 0 km
], ids=["boston", "41.8-27", "east-45km", "north-east", "south-west", "line", "far-grid", "inside", "crossing"])
def test_distance_is_geodesic(geom: shapely.Geometry) -> None:
    got = Jurisdiction(("临江市",), COUNTY).distances_km([geom])[0]
    want = oracle_km(geom, COUNTY)
    assert got == pytest.approx(want, rel=1e-4, abs=0.01)


def test_a_long_track_is_measured_by_its_nearest_point() -> None:
    lon = np.linspace(128.5, 127.5, 50_000)  # walking west towards the county, ending ~4 km from it
    track = shapely.multipoints(np.column_stack([lon, np.full_like(lon, 41.8)]))
    got = Jurisdiction(("临江市",), COUNTY).distances_km([track])[0]
    assert got == pytest.approx(oracle_km(Point(127.5, 41.8), COUNTY), rel=1e-4)


# -- the services, on both stores ----------------------------------------------------------------


def test_a_gpx_from_another_continent_is_refused_and_nothing_written(area: Store, tmp_path: Path) -> None:
    path = gpx(tmp_path / "boston.gpx", *BOSTON)
    before = counts(area)
    with pytest.raises(TooFarError) as caught, area.session(STAFF) as s:
        import_file(s, path, "tracks", defaults={"person": "何兆花"})
    message = caught.value.message_zh
    assert message.startswith("轨迹“晨练”距本系统最上级网格“临江市”约 ")
    assert message.endswith("km，超过 50 km 的上限；如确属本辖区请选择“仍然导入”（命令行加 --allow-far）")
    track = shapely.multipoints([(BOSTON[0], BOSTON[1] + k * 1e-4) for k in range(30)])
    assert reported_km(message) == pytest.approx(oracle_km(track, COUNTY), abs=0.5)
    assert counts(area) == before
    with area.session(STAFF) as s:
        done = import_file(s, path, "tracks", defaults={"person": "何兆花"}, allow_far=True)
    assert done.written == {"patrol_tracks": 1}


def test_a_track_inside_passes(area: Store, tmp_path: Path) -> None:
    with area.session(STAFF) as s:
        done = import_file(s, gpx(tmp_path / "home.gpx", 126.9, 41.8), "tracks", defaults={"person": "何兆花"})
    assert done.written == {"patrol_tracks": 1}


def test_a_grid_at_41_8_27_is_refused_under_the_township(area: Store, tmp_path: Path) -> None:
    path = geojson(tmp_path / "远方.geojson", ["远方村"], [FAR_GRID])
    before = counts(area)
    with pytest.raises(TooFarError, match=r"^第 1 个要素（远方村）距本系统最上级网格“临江市”约 [\d,]+ km，超过 50 km") as caught, \
            area.session(STAFF) as s:
        import_file(s, path, "grids", defaults={"parent": "临江市森工街道办事处"})
    assert reported_km(caught.value.message_zh) == pytest.approx(oracle_km(FAR_GRID, COUNTY), abs=0.5)
    assert counts(area) == before
    with area.session(STAFF) as s:
        report = import_file(s, path, "grids", defaults={"parent": "临江市森工街道办事处"}, allow_far=True)
    assert report.written == {"grids": 1}


def test_a_new_top_level_grid_is_not_measured(area: Store, tmp_path: Path) -> None:
    path = geojson(tmp_path / "远方.geojson", ["远方市"], [FAR_GRID], level=["county"])
    with area.session(STAFF) as s:
        assert import_file(s, path, "grids").written == {"grids": 1}  # no parent: a top-level grid
    with area.session() as s:
        assert top_level(s).names == ("临江市", "远方市")  # type: ignore[union-attr]


def test_threshold_near_50_km(area: Store, tmp_path: Path) -> None:
    """East of the county along lat 41.8: 0.55° is ~45.7 km (imported), 0.65° is ~54 km (refused)."""
    near, far = Point(127.45 + 0.55, 41.8), Point(127.45 + 0.65, 41.8)
    assert oracle_km(near, COUNTY) < 50 < oracle_km(far, COUNTY)
    path = geojson(tmp_path / "objs.geojson", ["近处", "远处"], [near, far], category=["排污企业", "排污企业"])
    with pytest.raises(TooFarError, match=r"^第 2 个要素（远处）距本系统最上级网格“临江市”约 5\d\.\d km") as caught, \
            area.session(STAFF) as s:
        import_file(s, path, "objects")
    assert reported_km(caught.value.message_zh) == pytest.approx(oracle_km(far, COUNTY), abs=0.05)
    with area.session(STAFF) as s:
        assert import_file(s, path, "objects", allow_far=True).written == {"supervised_objects": 2}


@pytest.mark.parametrize(("kind", "geom", "columns"), [
    ("rivers", LineString([(BOSTON[0], BOSTON[1]), (BOSTON[0] + 0.1, BOSTON[1])]), {}),
    ("objects", Point(*BOSTON), {"category": ["排污企业"]}),
    ("incidents", Point(*BOSTON), {"category": ["生态环境"]}),
])
def test_reaches_objects_and_incidents_far_away_are_refused(area: Store, tmp_path: Path, kind: str,
                                                             geom: shapely.Geometry, columns: dict) -> None:  # type: ignore[type-arg]
    path = geojson(tmp_path / f"{kind}.geojson", ["远方"], [geom], **columns)
    before = counts(area)
    with pytest.raises(TooFarError, match="第 1 个要素（远方）距本系统最上级网格“临江市”约 1[0-9],[0-9]{3} km"), \
            area.session(STAFF) as s:
        import_file(s, path, kind)
    assert counts(area) == before


def test_reported_incident_far_away(area: Store) -> None:
    before = counts(area)
    with pytest.raises(TooFarError, match=r"^事件位置距本系统最上级网格“临江市”约 [\d,]+ km.*仍然上报"), \
            area.session(STAFF) as s:
        report_incident(s, lon=41.8, lat=27.0, category="ecology", description="远方")
    assert counts(area) == before
    with area.session(STAFF) as s:
        assert report_incident(s, lon=41.8, lat=27.0, category="ecology", description="远方", allow_far=True).id
        with pytest.raises(ValidationError, match="有限"):
            report_incident(s, lon=float("nan"), lat=41.8, category="ecology", description="x")


def test_without_a_top_level_grid_nothing_is_measured(store: Store, tmp_path: Path) -> None:
    path = geojson(tmp_path / "objs.geojson", ["远方"], [Point(*BOSTON)], category=["排污企业"])
    with store.session(STAFF) as s:
        assert import_file(s, path, "objects").written == {"supervised_objects": 1}


# -- non-finite coordinates ------------------------------------------------------------------------


def test_a_nan_vertex_is_refused_with_the_feature_number(area: Store, tmp_path: Path) -> None:
    path = tmp_path / "河段.geojson"
    path.write_text('{"type": "FeatureCollection", "features": ['
                    '{"type": "Feature", "properties": {"name": "鸭绿江"}, "geometry": {"type": "LineString", '
                    '"coordinates": [[126.90, 41.79], [126.93, 41.80]]}},'
                    '{"type": "Feature", "properties": {"name": "二道沟"}, "geometry": {"type": "LineString", '
                    '"coordinates": [[126.92, 41.82], [126.93, 41.83], [NaN, 41.84], [126.94, 41.85]]}}]}',
                    encoding="utf-8")
    before = counts(area)
    with pytest.raises(GeometryError, match=r"第 2 个要素（二道沟）的第 3 个顶点坐标无效（nan, 41\.84）"), \
            area.session(STAFF) as s:
        import_file(s, path, "rivers")
    assert counts(area) == before


def test_a_nan_track_point_is_refused_with_its_number(area: Store, tmp_path: Path) -> None:
    path = gpx(tmp_path / "nan.gpx", 126.9, 41.8)
    path.write_text(path.read_text(encoding="utf-8").replace('lat="41.800200"', 'lat="NaN"'), encoding="utf-8")
    kml = tmp_path / "nan.kml"
    kml.write_text('<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2" '
                   'xmlns:gx="http://www.google.com/kml/ext/2.2"><Placemark><name>巡河</name><gx:Track>'
                   + "".join(f"<when>2026-11-04T01:0{k}:00Z</when>" for k in range(3))
                   + "<gx:coord>126.9 41.8 0</gx:coord><gx:coord>126.9 inf 0</gx:coord><gx:coord>126.9 41.81 0</gx:coord>"
                   "</gx:Track></Placemark></kml>", encoding="utf-8")
    before = counts(area)
    for path, message in ((path, r"第 1 条轨迹（<trk>）的第 3 个点坐标无效（lat=“NaN”"),
                          (kml, r"轨迹“巡河”的第 2 个点坐标无效（经度 126\.9，纬度 inf）")):
        with pytest.raises(GeometryError, match=message), area.session(STAFF) as s:
            import_file(s, path, "tracks", defaults={"person": "何兆花"})
    assert counts(area) == before


# -- the command line, on the demo -----------------------------------------------------------------


def run(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gis", *args, "--database-url", url], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=180)


@pytest.fixture
def demo_url(demo_store: Store, store_url: str) -> str:
    demo_store.dispose()  # the command-line processes open their own connections
    return store_url  # the demo, copied from the session's template (tests/conftest.py)


def demo_counts(url: str) -> dict[str, int]:
    return json.loads(run("info", "--json", url=url).stdout)["counts"]


def test_cli_foreign_gpx_exits_non_zero_and_writes_nothing(demo_url: str, tmp_path: Path) -> None:
    path = gpx(tmp_path / "boston.gpx", *BOSTON)
    before = demo_counts(demo_url)
    proc = run("import", str(path), "--as", "tracks", "--default", "person=何兆花", url=demo_url)
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("错误：轨迹“晨练”距本系统最上级网格“临江市”约 ") and "--allow-far" in line
    store = Store(demo_url)
    with store.session() as s:
        county = s.scalar(select(Grid).where(Grid.name == "临江市")).geom
    store.dispose()
    track = shapely.multipoints([(BOSTON[0], BOSTON[1] + k * 1e-4) for k in range(30)])
    assert reported_km(line) == pytest.approx(oracle_km(track, county, step_deg=0.002), rel=1e-3)
    assert demo_counts(demo_url) == before
    done = run("import", str(path), "--as", "tracks", "--default", "person=何兆花", "--allow-far", "--json",
               url=demo_url)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["written"] == {"patrol_tracks": 1}
    assert demo_counts(demo_url)["patrol_tracks"] == before["patrol_tracks"] + 1


def test_cli_grid_at_41_8_27_under_sengong(demo_url: str, tmp_path: Path) -> None:
    path = geojson(tmp_path / "远方村.geojson", ["森工街道远方村"], [FAR_GRID])
    args = ("import", str(path), "--as", "grids", "--default", "parent=临江市森工街道办事处")
    before = demo_counts(demo_url)
    proc = run(*args, url=demo_url)
    assert proc.returncode == 2
    assert "错误：第 1 个要素（森工街道远方村）距本系统最上级网格“临江市”约 " in proc.stderr
    assert demo_counts(demo_url) == before
    done = run(*args, "--allow-far", "--json", url=demo_url)
    assert done.returncode == 0 and json.loads(done.stdout)["written"] == {"grids": 1}


def _bad_files(tmp_path: Path) -> list[tuple[Path, list[str]]]:
    """Files ``import`` refuses, with the import options (tracks need a person)."""
    from tests.test_limits import BILLION_LAUGHS, bomb_zip

    laughs = tmp_path / "laughs.kml"
    laughs.write_text(BILLION_LAUGHS, encoding="utf-8")
    nan = tmp_path / "nan.geojson"
    nan.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "甲"}, '
                   '"geometry": {"type": "LineString", "coordinates": [[126.9, 41.8], [NaN, 41.81]]}}]}', encoding="utf-8")
    csv = tmp_path / "缺经度.csv"
    csv.write_text("名称,lon,lat,category\n甲,126.91,41.805,排污企业\n乙,,41.81,排污企业\n", encoding="utf-8")
    swapped = geojson(tmp_path / "颠倒.geojson", ["甲"], [Point(41.8, 126.9)])
    noprj = tmp_path / "noprj.shp"
    gpd.GeoDataFrame({"name": ["甲"]}, geometry=[Point(507000.0, 4628000.0)], crs="EPSG:4551").to_file(noprj)
    noprj.with_suffix(".prj").unlink()
    rivers = ["--as", "rivers"]
    tracks = ["--as", "tracks", "--default", "person=何兆花"]
    return [
        (bomb_zip(tmp_path / "bomb.zip"), rivers),
        (laughs, rivers),
        (nan, rivers),
        (csv, ["--as", "objects"]),
        (swapped, rivers),
        (noprj, rivers),
        (geojson(tmp_path / "boston.geojson", ["波士顿河"], [LineString([BOSTON, (-71.0, 42.4)])]), rivers),
        (gpx(tmp_path / "boston.gpx", *BOSTON), tracks),
        (gpx(tmp_path / "one.gpx", 126.9, 41.8, n=1), tracks),
    ]


def test_inspect_and_import_agree_on_bad_files(demo_url: str, tmp_path: Path) -> None:
    before = demo_counts(demo_url)
    for path, options in _bad_files(tmp_path):
        kind_specific = "tracks" in options  # tracks are read as tracks only with --as
        inspected = run("inspect", str(path), *(options if kind_specific else []), url=demo_url)
        imported = run("import", str(path), *options, url=demo_url)
        assert imported.returncode == 2, (path.name, imported.stderr)
        assert (inspected.returncode, inspected.stderr) == (imported.returncode, imported.stderr), path.name
        assert imported.stderr.startswith("错误：") and len(imported.stderr.strip().splitlines()) == 1
    assert demo_counts(demo_url) == before


def test_inspect_of_good_files_is_unchanged_and_writes_nothing(demo_url: str, tmp_path: Path) -> None:
    path = geojson(tmp_path / "河段.geojson", ["新河"], [LineString([(126.9, 41.8), (126.95, 41.82)])])
    before = demo_counts(demo_url)
    out = json.loads(run("inspect", str(path), "--json", url=demo_url).stdout)
    assert out == {"file": str(path), "layers": [{"name": "河段", "geometry_type": "LineString", "features": 1,
                                                  "crs": "EPSG:4326", "bounds_wgs84": [126.9, 41.8, 126.95, 41.82]}]}
    checked = run("inspect", str(path), "--as", "rivers", "--json", url=demo_url)
    assert checked.returncode == 0 and json.loads(checked.stdout)["features"] == 1
    assert demo_counts(demo_url) == before  # the --as check was rolled back

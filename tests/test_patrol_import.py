"""Patrol track files: real GPX files checked against gpxpy, and the all-or-nothing import into
the store (person and grid attached, original file kept, GCJ-02 offset detected and converted,
bad input refused with a clear message and nothing written)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import gpxpy
import numpy as np
import pyproj
import pytest
import shapely
from sqlalchemy import func, select

from gis import patrol as P
from gis.auth import Actor
from gis.errors import (
    FileFormatError,
    NotFoundError,
    PermissionDenied,
    RiverGridError,
    ValidationError,
)
from gis.geometry.crs import wgs84_to_gcj02
from gis.importing import import_file
from gis.model import UserRole
from gis.patrol.track_import import check_track_file, import_track_file
from gis.store import Store
from gis.store.schema import (
    AuditEntry,
    Grid,
    GridRoleAssignment,
    PatrolTrack,
    Person,
    Reach,
    River,
)

DATA = Path(__file__).resolve().parent / "data" / "gpx"
STAFF = Actor("staff", UserRole.STAFF)
PATROLLER = Actor("patroller", UserRole.PATROLLER)
LEADER = Actor("leader", UserRole.LEADER)
GK = pyproj.CRS.from_epsg(4551)
TO_LL = pyproj.Transformer.from_crs(GK, "EPSG:4326", always_xy=True)
TO_M = pyproj.Transformer.from_crs("EPSG:4326", GK, always_xy=True)
X0, Y0 = TO_M.transform(126.90, 41.80)
T0 = datetime(2026, 11, 4, 1, 0, tzinfo=UTC)

TRACK_FILES = [
    "around-visnjan-with-car.gpx", "Mojstrovka.gpx", "cerknicko-jezero.gpx", "cerknicko-without-times.gpx",
    "korita-zbevnica.gpx", "track-with-empty-segment.gpx", "track-with-less-sec-time.gpx",
    "gpx1.0_with_all_fields.gpx", "gpx1.1_with_all_fields.gpx",
    "healthfit-gpxtpx-extensions.gpx", "mapsource-lannion-plestin.gpx", "wikiloc-6197472.gpx",
]
WAYPOINT_ONLY = ["gpx_with_garmin_extension.gpx", "gpx1.1_with_extensions.gpx", "unicode.gpx"]


def _gpxpy(name: str) -> gpxpy.gpx.GPX:
    with open(DATA / name, encoding="utf-8") as f:
        return gpxpy.parse(f)


def _nearby_reach(track: P.Track) -> gpd.GeoDataFrame:
    """One reach along the track's bounding box diagonal (anything to match against)."""
    line = shapely.LineString([(track.lon.min(), track.lat.min()), (track.lon.max() + 1e-3, track.lat.max() + 1e-3)])
    return P.reaches_frame(gpd.GeoDataFrame(geometry=[line], crs="EPSG:4326"))


# ---------------------------------------------------------------------------------------------
# Real GPX files against gpxpy
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TRACK_FILES)
def test_point_counts_agree_with_gpxpy(name: str) -> None:
    ref = _gpxpy(name)
    ours = P.read_tracks(DATA / name)
    ref_tracks = [t for t in ref.tracks if t.get_points_no()]  # gpxpy keeps empty <trk>s too
    assert [len(t) for t in ours] == [t.get_points_no() for t in ref_tracks]
    assert sum(len(t) for t in ours) == ref.get_track_points_no()
    for t, r in zip(ours, ref_tracks, strict=True):
        pts = [p for s in r.segments for p in s.points]
        np.testing.assert_allclose(t.lon, [p.longitude for p in pts], atol=1e-9)
        np.testing.assert_allclose(t.lat, [p.latitude for p in pts], atol=1e-9)


@pytest.mark.parametrize("name", ["around-visnjan-with-car.gpx", "cerknicko-jezero.gpx", "korita-zbevnica.gpx",
                                  "track-with-empty-segment.gpx", "track-with-less-sec-time.gpx",
                                  "healthfit-gpxtpx-extensions.gpx"])
def test_length_and_duration_of_timed_tracks_agree_with_gpxpy(name: str) -> None:
    ref_tracks = [t for t in _gpxpy(name).tracks if t.get_points_no()]
    checked = 0
    for t, r in zip(P.read_tracks(DATA / name), ref_tracks, strict=True):
        if r.get_duration() is None:  # korita's first track has no times (see the import test)
            continue
        res = P.analyse_track(t, _nearby_reach(t))
        assert res.clean.points_kept == r.get_points_no()  # clean recordings: nothing dropped
        # gpxpy measures on a sphere with a flat approximation, we on the WGS84 ellipsoid
        assert res.length_m == pytest.approx(r.length_2d(), rel=5e-3, abs=0.05)
        assert res.duration_s == pytest.approx(r.get_duration(), abs=1e-3)
        start = r.get_time_bounds().start_time
        assert P.iso_utc(res.start) == start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        checked += 1
    assert checked >= 1


def test_garmin_track_figures() -> None:
    """eTrex 20x: 104 points, 2.74 km in 514 s by car (the speed flag must see it)."""
    (t,) = P.read_tracks(DATA / "around-visnjan-with-car.gpx")
    res = P.analyse_track(t, _nearby_reach(t))
    assert (res.clean.points_in, res.clean.points_kept) == (104, 104)
    assert res.duration_s == 514.0
    assert res.avg_speed_kmh == pytest.approx(2736.3 / 514 * 3.6, rel=5e-3)
    assert "fast_speed" in res.flag_codes


def test_broken_timestamps_are_dropped_and_reported() -> None:
    """Mojstrovka: the file is dated 2010 but all 184 points carry 1901-12-13 (a broken clock)."""
    (t,) = P.read_tracks(DATA / "Mojstrovka.gpx")
    ref = _gpxpy("Mojstrovka.gpx").tracks[0].segments[0].points
    assert sum(p.time.year == 1901 for p in ref) == len(ref) == 184
    _, report = P.clean_track(t)
    assert report.dropped["no_time"] == 184 and report.points_kept == 0
    with pytest.raises(ValidationError, match="无时间或时间为 0 184 个"):
        P.analyse_track(t, _nearby_reach(t))


@pytest.mark.parametrize("name", WAYPOINT_ONLY)
def test_waypoint_only_files_have_no_track(name: str) -> None:
    assert _gpxpy(name).waypoints and not _gpxpy(name).get_track_points_no()
    with pytest.raises(FileFormatError, match="没有轨迹点"):
        P.read_tracks(DATA / name)


def test_strava_style_track_point_extensions_are_read(tmp_path: Path) -> None:
    """Hand-made in Strava's export layout (heart rate and cadence per point)."""
    pts = "".join(
        f'<trkpt lat="{41.8 + k * 1e-4:.6f}" lon="126.9"><ele>300</ele><time>2026-11-04T01:{k:02d}:00Z</time>'
        f"<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{120 + k}</gpxtpx:hr><gpxtpx:cad>80</gpxtpx:cad>"
        "</gpxtpx:TrackPointExtension></extensions></trkpt>" for k in range(5))
    path = tmp_path / "strava.gpx"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><gpx creator="StravaGPX" version="1.1" '
        'xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
        f"<metadata><time>2026-11-04T01:00:00Z</time></metadata><trk><name>晨跑</name><type>9</type><trkseg>{pts}"
        "</trkseg></trk></gpx>", encoding="utf-8")
    (t,) = P.read_tracks(path)
    ref = gpxpy.parse(path.read_text(encoding="utf-8")).tracks[0]
    assert len(t) == ref.get_points_no() == 5 and t.name == "晨跑"
    assert P.iso_utc(t.times[-1]) == "2026-11-04T01:04:00Z"


# ---------------------------------------------------------------------------------------------
# Import into the store
# ---------------------------------------------------------------------------------------------


def _ll(xs, ys):  # type: ignore[no-untyped-def]
    lon, lat = TO_LL.transform(np.asarray(xs, float), np.asarray(ys, float))
    return np.asarray(lon), np.asarray(lat)


@pytest.fixture
def world(store: Store) -> Store:
    """A 3 km reach running north from (126.90 E, 41.80 N), a village grid around it, 何兆花 its
    主要责任人, and a second person without post."""
    lon, lat = _ll([X0, X0], [Y0, Y0 + 3000])
    with store.session(STAFF) as s:
        river = River(name="测试河")
        s.add(river)
        s.add(Reach(river=river, name="测试河段", code="T1", geom=shapely.LineString(np.column_stack([lon, lat]))))
        grid = Grid(name="测试村", level="village", geom=shapely.box(126.85, 41.75, 126.95, 41.85))
        other = Grid(name="另一村", level="village", geom=shapely.box(127.0, 41.75, 127.1, 41.85))
        person = Person(name="何兆花")
        s.add_all([grid, other, person, Person(name="无岗位")])
        s.flush()
        s.add(GridRoleAssignment(grid_id=grid.id, person_id=person.id, role="main_responsible"))
    return store


def _walk_csv(path: Path, *, from_m: float, to_m: float, offset_m: float = 20.0, gcj: bool = False,
              times: list[datetime] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A CSV track walking the test reach at 5 km/h, ``offset_m`` east of it (UTC ISO times)."""
    n = int(abs(to_m - from_m) / 14) + 1
    lon, lat = _ll(np.full(n, X0 + offset_m), Y0 + np.linspace(from_m, to_m, n))
    times = times or [T0 + timedelta(seconds=10 * k) for k in range(n)]
    out_lon, out_lat = wgs84_to_gcj02(lon, lat) if gcj else (lon, lat)
    rows = ["lon,lat,time"] + [f"{x:.8f},{y:.8f},{t.strftime('%Y-%m-%dT%H:%M:%SZ')}"
                               for x, y, t in zip(out_lon, out_lat, times, strict=True)]
    path.write_text("\n".join(rows), encoding="utf-8")
    return lon, lat


def _counts(store: Store) -> tuple[int, int]:
    with store.session() as s:
        return (s.scalar(select(func.count()).select_from(PatrolTrack)),
                s.scalar(select(func.count()).select_from(AuditEntry)))


def test_import_real_garmin_file_keeps_original_person_and_grid(world: Store) -> None:
    src = DATA / "around-visnjan-with-car.gpx"
    with world.session(PATROLLER) as s:
        done = import_track_file(s, src, person="何兆花", grid="另一村", allow_far=True)  # recorded in Croatia
    ref = _gpxpy(src.name).tracks[0]
    with world.session() as s:
        (t,) = s.scalars(select(PatrolTrack)).all()
        assert t.id == done.ids[0] and t.person.name == "何兆花" and t.grid.name == "另一村"
        assert t.source_name == src.name and t.source_data == src.read_bytes()
        assert len(t.geom.coords) == len(t.times) == ref.get_points_no() == 104
        assert t.started_at == ref.get_time_bounds().start_time
        assert t.ended_at == ref.get_time_bounds().end_time
        entries = s.scalars(select(AuditEntry).where(AuditEntry.table_name == "patrol_tracks")).all()
        assert [(e.username, e.action, e.row_id) for e in entries] == [("patroller", "insert", t.id)]
    assert done.check.results[0].river_length_m == 0.0  # in Croatia, far from the test reach


def test_grid_defaults_to_the_persons_post(world: Store, tmp_path: Path) -> None:
    path = tmp_path / "walk.csv"
    _walk_csv(path, from_m=1000, to_m=2000)
    with world.session(PATROLLER) as s:
        done = import_track_file(s, path, person="何兆花")
    assert done.grid == "测试村"
    with world.session(PATROLLER) as s:
        done = import_track_file(s, path, person="无岗位")
    assert done.grid is None
    (res,) = done.check.results
    assert res.matched.iloc[0].from_m == pytest.approx(1000, abs=15)
    assert res.matched.iloc[0].to_m == pytest.approx(2000, abs=15)


def test_gcj02_track_is_detected_then_converted_on_request(world: Store, tmp_path: Path) -> None:
    path = tmp_path / "amap.csv"
    lon, lat = _walk_csv(path, from_m=500, to_m=2500, gcj=True)
    with world.session() as s:
        check = check_track_file(s, path)
    assert check.suggested_from_crs == "gcj02"
    assert 300 <= check.offset_guess["median_m_before"] <= 700
    assert any("GCJ-02" in w for w in check.warnings)
    assert check.results[0].river_length_m == 0.0  # as read it lies beside the river
    with world.session(PATROLLER) as s:
        done = import_track_file(s, path, person="何兆花", from_crs="gcj02")
    assert done.check.suggested_from_crs is None
    (res,) = done.check.results
    assert res.matched.iloc[0].from_m == pytest.approx(500, abs=15)
    assert res.matched.iloc[0].to_m == pytest.approx(2500, abs=15)
    with world.session() as s:
        stored = shapely.get_coordinates(s.scalar(select(PatrolTrack)).geom)
    x0, y0 = TO_M.transform(lon, lat)
    x1, y1 = TO_M.transform(stored[:, 0], stored[:, 1])
    assert np.max(np.hypot(np.asarray(x1) - x0, np.asarray(y1) - y0)) < 1.0


def test_file_with_several_tracks_is_imported_in_one_batch(world: Store) -> None:
    src = DATA / "cerknicko-jezero.gpx"
    with world.session(STAFF) as s:
        done = import_track_file(s, src, person="何兆花", allow_far=True)  # recorded in Slovenia
    assert len(done.ids) == 7
    with world.session() as s:
        rows = s.scalars(select(PatrolTrack).order_by(PatrolTrack.id)).all()
        assert [len(r.times) for r in rows] == [173, 52, 2, 44, 2, 2, 21]
        batches = set(s.scalars(select(AuditEntry.batch).where(AuditEntry.table_name == "patrol_tracks")))
    assert batches == {done.batch}


def test_cli_import_as_tracks_uses_the_same_import(world: Store, tmp_path: Path) -> None:
    path = tmp_path / "walk.csv"
    _walk_csv(path, from_m=0, to_m=800)
    with world.session(STAFF) as s:
        report = import_file(s, path, "tracks", defaults={"person": "何兆花"})
    assert report.written == {"patrol_tracks": 1}


# -- bad input: a clear message and nothing written ------------------------------------------


def _gpx(tmp_path: Path, body: str, name: str = "bad.gpx") -> Path:
    path = tmp_path / name
    path.write_text('<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="test" '
                    f'xmlns="http://www.topografix.com/GPX/1/1">{body}</gpx>', encoding="utf-8")
    return path


def _trk(points: list[tuple[float, float, str]]) -> str:
    return "<trk><name>巡河</name><trkseg>" + "".join(
        f'<trkpt lat="{la}" lon="{lo}"><time>{t}</time></trkpt>' for lo, la, t in points) + "</trkseg></trk>"


def _refused(store: Store, path: Path, match: str, exc: type[Exception] = RiverGridError, **kw) -> None:  # type: ignore[no-untyped-def]
    before = _counts(store)
    with pytest.raises(exc, match=match), store.session(PATROLLER) as s:
        import_track_file(s, path, person="何兆花", **kw)
    assert _counts(store) == before
    assert before[0] == 0


def test_gpx_without_track_is_refused(world: Store) -> None:
    _refused(world, DATA / "unicode.gpx", "中没有轨迹点", FileFormatError)


def test_track_with_one_point_is_refused(world: Store) -> None:
    _refused(world, DATA / "gpx1.0_with_all_fields.gpx", "只有 1 个点", ValidationError)


def test_file_with_one_untimed_track_among_timed_ones_is_refused_whole(world: Store) -> None:
    """korita-zbevnica: track 1 has no times, tracks 2 and 3 do: nothing is stored."""
    _refused(world, DATA / "korita-zbevnica.gpx", "第 1 条轨迹.*没有逐点时间", ValidationError)


def test_times_going_backwards_are_refused(world: Store, tmp_path: Path) -> None:
    lon, lat = _ll(np.full(20, X0 + 20), Y0 + np.arange(20) * 14.0)
    stamps = [T0 + timedelta(seconds=10 * k) for k in range(10)] + [T0 - timedelta(minutes=30) + timedelta(seconds=10 * k)
                                                                    for k in range(10)]
    path = _gpx(tmp_path, _trk([(x, y, t.strftime("%Y-%m-%dT%H:%M:%SZ")) for x, y, t in zip(lon, lat, stamps)]))
    _refused(world, path, r"时间倒退：10 个点.*第 11 个点", ValidationError)


def test_one_backward_glitch_is_dropped_not_refused(world: Store, tmp_path: Path) -> None:
    lon, lat = _ll(np.full(60, X0 + 20), Y0 + np.arange(60) * 14.0)
    stamps = [T0 + timedelta(seconds=10 * k) for k in range(60)]
    stamps[30] = T0  # one clock glitch
    path = _gpx(tmp_path, _trk([(x, y, t.strftime("%Y-%m-%dT%H:%M:%SZ")) for x, y, t in zip(lon, lat, stamps)]))
    with world.session(PATROLLER) as s:
        done = import_track_file(s, path, person="何兆花")
    assert done.check.results[0].clean.dropped["time_backwards"] == 1
    assert any("时间倒退 1 个" in w for w in done.warnings)
    with world.session() as s:
        assert len(s.scalar(select(PatrolTrack)).times) == 59


def test_kml_with_only_polygons_is_refused(world: Store, tmp_path: Path) -> None:
    path = tmp_path / "areas.kml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        "<Placemark><name>网格</name><Polygon><outerBoundaryIs><LinearRing><coordinates>"
        "126.9,41.8 126.91,41.8 126.91,41.81 126.9,41.8</coordinates></LinearRing></outerBoundaryIs></Polygon>"
        "</Placemark></Document></kml>", encoding="utf-8")
    _refused(world, path, "没有轨迹.*可能只有面或线", FileFormatError)


def test_coordinates_at_zero_zero_are_refused(world: Store, tmp_path: Path) -> None:
    path = _gpx(tmp_path, _trk([(0, 0, f"2026-11-04T01:0{k}:00Z") for k in range(5)]))
    _refused(world, path, r"坐标全部无效（0,0", ValidationError)


def test_unknown_person_or_grid_is_refused(world: Store, tmp_path: Path) -> None:
    path = tmp_path / "walk.csv"
    _walk_csv(path, from_m=0, to_m=800)
    before = _counts(world)
    with pytest.raises(NotFoundError, match="找不到人员“路人”"):
        with world.session(PATROLLER) as s:
            import_track_file(s, path, person="路人")
    with pytest.raises(NotFoundError, match="找不到网格“无此村”"):
        with world.session(PATROLLER) as s:
            import_track_file(s, path, person="何兆花", grid="无此村")
    assert _counts(world) == before


def test_leader_may_not_import(world: Store, tmp_path: Path) -> None:
    path = tmp_path / "walk.csv"
    _walk_csv(path, from_m=0, to_m=800)
    before = _counts(world)
    with pytest.raises(PermissionDenied, match="无权上传巡河轨迹"):
        with world.session(LEADER) as s:
            import_track_file(s, path, person="何兆花")
    assert _counts(world) == before


def test_importing_the_same_file_twice_is_refused(world: Store, tmp_path: Path) -> None:
    path = tmp_path / "walk.csv"
    _walk_csv(path, from_m=0, to_m=800)
    with world.session(PATROLLER) as s:
        import_track_file(s, path, person="何兆花")
    before = _counts(world)
    with pytest.raises(ValidationError, match="已经导入过，未重复导入"), world.session(PATROLLER) as s:
        import_track_file(s, path, person="何兆花")
    assert _counts(world) == before

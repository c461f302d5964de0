"""Patrol tracks: hand-made tracks with known answers, rules and periods, the demo, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from gis import patrol as P
from gis.cli import main
from gis.errors import FileFormatError, ValidationError
from gis.geometry.crs import wgs84_to_gcj02
from gis.patrol.rules import compliance, parse_period, period_coverage, slots

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
GK = pyproj.CRS.from_epsg(4551)  # CGCS2000 3-degree GK CM 126E (Linjiang)
TO_LL = pyproj.Transformer.from_crs(GK, "EPSG:4326", always_xy=True)
TO_M = pyproj.Transformer.from_crs("EPSG:4326", GK, always_xy=True)
X0, Y0 = TO_M.transform(126.90, 41.80)
T0 = datetime(2026, 11, 4, 1, 0, tzinfo=UTC)


def _ll(xs, ys):  # type: ignore[no-untyped-def]
    lon, lat = TO_LL.transform(np.asarray(xs, float), np.asarray(ys, float))
    return np.asarray(lon), np.asarray(lat)


def reach_frame(length_m: float = 1000.0, *, n: int = 1, spacing_m: float = 2000.0) -> gpd.GeoDataFrame:
    """``n`` straight south→north reaches of ``length_m``, ``spacing_m`` apart (ids 0…n-1)."""
    geoms = []
    for k in range(n):
        ys = np.linspace(Y0, Y0 + length_m, 11)
        lon, lat = _ll(np.full(11, X0 + k * spacing_m), ys)
        geoms.append(shapely.LineString(np.column_stack([lon, lat])))
    return P.reaches_frame(gpd.GeoDataFrame({"start_station_m": [0.0] * n}, geometry=geoms, crs="EPSG:4326"))


def walk(from_m: float, to_m: float, *, speed_kmh: float = 5.0, interval_s: float = 10.0, offset_m: float = 20.0,
         noise_m: float = 0.0, seed: int = 1, t0: datetime = T0, person: str | None = None, x_base: float = X0) -> P.Track:
    """A track along the test reach from ``from_m`` to ``to_m`` (metres), ``offset_m`` east of it."""
    step = speed_kmh / 3.6 * interval_s
    n = int(np.ceil(abs(to_m - from_m) / step))
    stations = np.linspace(from_m, to_m, n + 1)
    rng = np.random.default_rng(seed)
    xs = x_base + offset_m + rng.normal(0, noise_m, n + 1) if noise_m else np.full(n + 1, x_base + offset_m)
    ys = Y0 + stations + (rng.normal(0, noise_m, n + 1) if noise_m else 0.0)
    secs = np.arange(n + 1) * interval_s * (abs(to_m - from_m) / (n * step))
    times = [t0 + timedelta(seconds=float(s)) for s in secs]
    lon, lat = _ll(xs, ys)
    return P.Track(lon=lon, lat=lat, times=times, name="test", person=person)


# ---------------------------------------------------------------------------------------------
# Matching
# ---------------------------------------------------------------------------------------------


def test_walk_along_reach_gives_one_interval() -> None:
    res = P.analyse_track(walk(0, 600), reach_frame())
    assert len(res.matched) == 1
    row = res.matched.iloc[0]
    assert row.reach_id == 0
    assert row.from_m == pytest.approx(0, abs=1.0)
    assert row.to_m == pytest.approx(600, abs=1.0)
    assert res.river_length_m == pytest.approx(600, abs=1.0)
    assert res.duration_s == pytest.approx(600 / (5 / 3.6), rel=0.01)
    assert res.length_m == pytest.approx(600, rel=0.002)
    assert res.avg_speed_kmh == pytest.approx(5.0, rel=0.01)
    assert res.reaches == [0]


def test_track_beside_long_reach_from_1_to_4_2_km() -> None:
    res = P.analyse_track(walk(1000, 4200, noise_m=7.0, interval_s=15.0), reach_frame(10_000))
    assert len(res.matched) == 1
    assert res.matched.iloc[0].from_m == pytest.approx(1000, abs=32)  # ±1 % of the 3.2 km
    assert res.matched.iloc[0].to_m == pytest.approx(4200, abs=32)
    assert res.flags == []


def test_zigzag_between_two_reaches_splits() -> None:
    reaches = reach_frame(2000, n=2, spacing_m=300)
    a = walk(0, 500, t0=T0)
    b = walk(600, 1200, t0=T0 + timedelta(minutes=12), x_base=X0 + 300)
    track = P.Track(lon=np.r_[a.lon, b.lon], lat=np.r_[a.lat, b.lat], times=np.r_[a.times, b.times])
    res = P.analyse_track(track, reaches)
    got = [(r.reach_id, round(r.from_m), round(r.to_m)) for r in res.matched.itertuples()]
    assert got == [(0, 0, 500), (1, 600, 1200)]


def test_track_200_m_off_river_matches_nothing_and_is_flagged() -> None:
    res = P.analyse_track(walk(0, 800, offset_m=200, noise_m=5.0), reach_frame())
    assert res.matched.empty
    assert "far_from_river" in res.flag_codes
    assert "probable_gcj02" not in res.flag_codes


def test_car_speed_track_gets_speed_flag() -> None:
    res = P.analyse_track(walk(0, 6000, speed_kmh=50, interval_s=5, noise_m=5.0), reach_frame(10_000))
    assert "fast_speed" in res.flag_codes
    assert res.clean.dropped["jump"] == 0  # sustained speed is not a jump: the flag judges it


def test_honest_noisy_walk_has_no_flags() -> None:
    res = P.analyse_track(walk(0, 900, noise_m=7.0, interval_s=12), reach_frame())
    assert res.flags == []


def test_synthetic_regular_track_is_flagged() -> None:
    assert "too_regular" in P.analyse_track(walk(0, 900), reach_frame()).flag_codes
    assert "too_regular" not in P.analyse_track(walk(0, 900, noise_m=5.0), reach_frame()).flag_codes


# ---------------------------------------------------------------------------------------------
# Cleaning
# ---------------------------------------------------------------------------------------------


def test_cleaning_counts_each_reason() -> None:
    base = walk(0, 600, noise_m=3.0)
    lon, lat, times = list(base.lon), list(base.lat), list(base.times)
    lon.insert(5, lon[4]), lat.insert(5, lat[4]), times.insert(5, times[4])  # duplicate
    lon.insert(10, lon[9]), lat.insert(10, lat[9]), times.insert(10, np.datetime64("1970-01-01T00:00:00"))  # epoch
    lon.insert(15, lon[14]), lat.insert(15, lat[14]), times.insert(15, None)  # no time
    spike_lon, spike_lat = _ll([X0 + 600], [Y0 + 150])
    mid = 20
    t_spike = times[mid - 1] + (times[mid] - times[mid - 1]) / 2
    lon.insert(mid, spike_lon[0]), lat.insert(mid, spike_lat[0]), times.insert(mid, t_spike)  # jump 580 m in 5 s
    lon.insert(25, 0.0), lat.insert(25, 0.0), times.insert(25, times[24] + np.timedelta64(1, "s"))  # (0, 0)
    track = P.Track(lon=lon, lat=lat, times=times)
    kept, report = P.clean_track(track)
    assert report.dropped == {"bad_coords": 1, "no_time": 2, "time_backwards": 0, "duplicate": 1, "jump": 1}
    assert report.points_in == len(base) + 5
    assert report.points_kept == len(base)
    np.testing.assert_allclose(kept.lon, base.lon)
    assert kept.times.dtype == np.dtype("datetime64[ns]")
    assert "速度不可能的跳点 1 个" in report.text()


def test_times_going_backwards_are_dropped() -> None:
    base = walk(0, 300)
    times = list(base.times)
    times[10] = times[3]
    _kept, report = P.clean_track(P.Track(lon=base.lon, lat=base.lat, times=times))
    assert report.dropped["time_backwards"] == 1


def test_one_point_track_is_refused() -> None:
    t = walk(0, 300)
    with pytest.raises(ValidationError, match="少于 2 个"):
        P.analyse_track(t.subset(np.arange(len(t)) == 0), reach_frame())


# ---------------------------------------------------------------------------------------------
# GCJ-02
# ---------------------------------------------------------------------------------------------


def test_gcj02_shifted_copy_is_detected_and_corrected() -> None:
    reaches = reach_frame(2000)
    original = walk(0, 1500, noise_m=5.0, interval_s=12)
    g_lon, g_lat = wgs84_to_gcj02(original.lon, original.lat)
    shifted = P.Track(lon=g_lon, lat=g_lat, times=original.times)
    res = P.analyse_track(shifted, reaches)
    assert "probable_gcj02" in res.flag_codes
    assert 300 <= res.offset_guess["shift_m"] <= 600
    fixed = shifted.converted("gcj02")
    _, _, d = pyproj.Geod(ellps="WGS84").inv(fixed.lon, fixed.lat, original.lon, original.lat)
    assert np.max(d) < 1.0
    a = P.analyse_track(shifted, reaches, from_crs="gcj02")
    b = P.analyse_track(original, reaches)
    assert "probable_gcj02" not in a.flag_codes
    assert a.river_length_m == pytest.approx(b.river_length_m, abs=1.0)


# ---------------------------------------------------------------------------------------------
# Cross-track flags
# ---------------------------------------------------------------------------------------------


def test_copied_track_of_another_person_is_flagged() -> None:
    reaches = reach_frame()
    a = walk(0, 900, noise_m=6.0, person="甲")
    b = P.Track(lon=a.lon + 1e-7, lat=a.lat, times=a.times + np.timedelta64(2, "D"), person="乙")
    c = walk(0, 900, noise_m=6.0, seed=9, person="丙", t0=T0 + timedelta(days=5))
    results, _ = P.analyse_tracks([a, b, c], reaches)
    assert "copied_track" in results[0].flag_codes and "copied_track" in results[1].flag_codes
    assert "copied_track" not in results[2].flag_codes


def test_concurrent_track_of_another_person_is_flagged() -> None:
    reaches = reach_frame()
    a = walk(0, 900, noise_m=6.0, person="甲")
    b = walk(0, 900, noise_m=6.0, seed=2, person="乙")
    results, _ = P.analyse_tracks([a, b], reaches)
    assert "concurrent_track" in results[0].flag_codes


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def test_read_kml_gx_track_and_csv_with_chinese_headers(tmp_path: Path) -> None:
    t = walk(0, 300, noise_m=3.0)
    t.times = t.times.astype("datetime64[s]").astype("datetime64[ns]")  # whole seconds, as files hold them
    whens = "".join(f"<when>{P.iso_utc(x)}</when>" for x in t.times)
    coords = "".join(f"<gx:coord>{lo} {la} 0</gx:coord>" for lo, la in zip(t.lon, t.lat))
    kml = tmp_path / "t.kml"
    kml.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2" '
        'xmlns:gx="http://www.google.com/kml/ext/2.2"><Document><Placemark><name>巡河</name>'
        f"<gx:Track>{whens}{coords}</gx:Track></Placemark></Document></kml>", encoding="utf-8")
    (k,) = P.read_tracks(kml)
    assert k.name == "巡河"
    np.testing.assert_allclose(k.lon, t.lon)
    assert (k.times == t.times).all()

    csv = tmp_path / "t.csv"
    local = [P.local_text(x) for x in t.times]  # Beijing time without a zone
    csv.write_text("经度,纬度,时间\n" + "\n".join(f"{a},{b},{c}" for a, b, c in zip(t.lon, t.lat, local)), encoding="utf-8")
    (c,) = P.read_tracks(csv)
    assert (c.times == t.times).all()

    polys = tmp_path / "p.kml"
    polys.write_text('<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><Polygon><outerBoundaryIs><LinearRing>'
                     "<coordinates>126.9,41.8 126.91,41.8 126.91,41.81 126.9,41.8</coordinates></LinearRing>"
                     "</outerBoundaryIs></Polygon></Placemark></kml>", encoding="utf-8")
    with pytest.raises(FileFormatError, match="没有轨迹"):
        P.read_tracks(polys)


# ---------------------------------------------------------------------------------------------
# Periods, rules, compliance, coverage
# ---------------------------------------------------------------------------------------------


def test_xun_and_other_periods() -> None:
    p = parse_period("2026-11-上旬")
    assert (p.start, p.end) == (date(2026, 11, 1), date(2026, 11, 11))
    p = parse_period("2027-02-下旬")
    assert (p.start, p.end) == (date(2027, 2, 21), date(2027, 3, 1))
    assert [s.label for s in slots("xun", parse_period("2026-11"))] == ["2026-11-上旬", "2026-11-中旬", "2026-11-下旬"]
    assert (parse_period("2026-Q4").start, parse_period("2026-Q4").end) == (date(2026, 10, 1), date(2027, 1, 1))
    assert parse_period("2026").end == date(2027, 1, 1)
    assert parse_period("2026-11-01..2026-11-15").end == date(2026, 11, 16)
    # Beijing midnight is 16:00 UTC the day before.
    assert parse_period("2026-11").start_utc == np.datetime64("2026-10-31T16:00:00")
    # Every week belongs to exactly one month: the months of a year own all its weeks.
    weeks = sum(len(slots("week", parse_period(f"2026-{m:02d}"))) for m in range(1, 13))
    assert weeks == len(slots("week", parse_period("2026")))
    with pytest.raises(ValidationError, match="无法识别的时段"):
        parse_period("2026-11-末旬")


def test_compliance_three_of_four_weekly_patrols_is_75_percent() -> None:
    period = parse_period("2026-11")  # owns the weeks Nov 2–8, 9–15, 16–22, 23–29
    times = [np.datetime64(x) for x in ("2026-11-03T02:00", "2026-11-10T02:00", "2026-11-11T02:00",
                                        "2026-11-24T02:00", "2026-11-18T02:00")]
    counted = [True, True, True, True, False]  # the week of Nov 16 has only a patrol that does not count
    row = compliance("何兆花", "village", times, counted, period)
    assert (row.required, row.done, row.rate) == (4, 3, 0.75)
    assert row.missing_slots == ["2026-W47"]
    assert (row.patrols, row.counted) == (5, 4)
    none = compliance("x", None, times, counted, period)
    assert none.required == 0 and none.rate is None
    assert compliance("镇", "township", times, counted, period).rate == 1.0


def test_period_coverage_share_and_never_patrolled_stations() -> None:
    reaches = reach_frame(1000)
    reaches["start_station_m"] = 2000.0
    a = P.analyse_track(walk(0, 300), reaches)
    b = P.analyse_track(walk(200, 500, t0=T0 + timedelta(days=1)), reaches)
    c = P.analyse_track(walk(800, 900, t0=T0 + timedelta(days=2)), reaches)
    per_reach, stretches = period_coverage([a, b, c], reaches)
    row = per_reach.loc[0]
    assert row.covered_m == pytest.approx(600, abs=2)
    assert row.share == pytest.approx(0.6, abs=0.003)
    assert row.covered_m + row.uncovered_m == pytest.approx(row.length_m)
    assert list(stretches["stations"]) == ["K2+500–K2+800", "K2+900–K3+000"]


# ---------------------------------------------------------------------------------------------
# Demo data
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_reaches() -> gpd.GeoDataFrame:
    from gis.demo.data import build_demo_data

    data = build_demo_data()
    return P.reaches_frame(gpd.GeoDataFrame({"id": [r.code for r in data.reaches]},
                                            geometry=[r.geom for r in data.reaches], crs="EPSG:4326"))


def test_demo_tracks_flags(demo_reaches: gpd.GeoDataFrame) -> None:
    tracks = [t for f in sorted(DEMO.glob("*.gpx")) for t in P.read_tracks(f)]
    results, warnings = P.analyse_tracks(tracks, demo_reaches)
    assert warnings == []
    by_file = {r.track.source_name: r for r in results}
    assert len(by_file) == 8
    gcj = by_file["2026-11-04_zhaochunmei_BSG-01.gpx"]
    assert "probable_gcj02" in gcj.flag_codes
    assert gcj.offset_guess["source"] == "gcj02"
    assert "fast_speed" in by_file["2026-11-11_chenbaoshan_YLJ-SG-01.gpx"].flag_codes
    for name, r in by_file.items():
        if name not in ("2026-11-04_zhaochunmei_BSG-01.gpx", "2026-11-11_chenbaoshan_YLJ-SG-01.gpx"):
            assert r.flags == [], name
            assert r.reaches == [name.split("_")[2].removesuffix(".gpx")], name
    fixed = P.analyse_track(gcj.track, demo_reaches, from_crs="gcj02")
    assert fixed.flags == [] and fixed.reaches == ["BSG-01"]
    assert fixed.matched.iloc[0].from_m == pytest.approx(500, abs=40)
    assert fixed.matched.iloc[0].to_m == pytest.approx(2300, abs=40)


def _write_reaches(tmp_path: Path, reaches: gpd.GeoDataFrame) -> Path:
    path = tmp_path / "reaches.geojson"
    reaches.reset_index().rename(columns={"index": "id"}).to_file(path, driver="GeoJSON")
    return path


def test_cli_patrol_json(tmp_path: Path, capsys: pytest.CaptureFixture[str], demo_reaches: gpd.GeoDataFrame) -> None:
    rivers = _write_reaches(tmp_path, demo_reaches)
    code = main(["patrol", str(DEMO / "2026-11-11_chenbaoshan_YLJ-SG-01.gpx"), "--rivers", str(rivers), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert {"points_in", "points_kept", "length_m", "duration_s", "start", "end", "matched", "flags"} <= set(out)
    assert out["start"].endswith("Z")
    assert all(set(m) == {"reach_id", "from_m", "to_m", "length_m"} for m in out["matched"])
    assert {m["reach_id"] for m in out["matched"]} == {"YLJ-SG-01"}
    assert [f["code"] for f in out["flags"]] == ["fast_speed"]

    code = main(["patrol", str(DEMO / "2026-11-04_zhaochunmei_BSG-01.gpx"), "--rivers", str(rivers),
                 "--from-crs", "gcj02", "--corridor-m", "50", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["flags"] == [] and out["matched"][0]["reach_id"] == "BSG-01"


def test_cli_patrol_without_id_column_uses_row_positions(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         demo_reaches: gpd.GeoDataFrame) -> None:
    path = tmp_path / "r.geojson"
    demo_reaches.reset_index(drop=True).to_file(path, driver="GeoJSON")
    main(["patrol", str(DEMO / "2026-10-21_wanglijun_DXG-01.gpx"), "--rivers", str(path), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert [m["reach_id"] for m in out["matched"]] == [list(demo_reaches.index).index("DXG-01")]


def test_patrol_report_on_demo_store(store, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    from gis.demo.load import load_demo
    from gis.patrol.service import patrol_report

    load_demo(store)
    with store.session() as s:
        report = patrol_report(s, "2026-11").to_dict()
    persons = {p["person"]: p for p in report["persons"]}
    assert persons["何兆花"]["level"] == "village" and persons["何兆花"]["required"] == 4
    assert persons["何兆花"]["done"] == 1 and persons["何兆花"]["rate"] == 0.25
    assert persons["张力文"]["level"] == "township" and persons["张力文"]["rate"] == 1.0
    assert persons["陈宝山"]["counted"] == 0 and persons["陈宝山"]["patrols"] == 1
    grids = {g["grid"]: g for g in report["grids"]}
    assert grids["森工街道东兴村"]["done"] == 2
    tracks = {t["name"].split()[1]: t for t in report["tracks"]}
    assert not tracks["陈宝山"]["counted"]
    assert any(f["code"] == "probable_gcj02" for f in tracks["赵春梅"]["flags"])
    cov = {c["code"]: c for c in report["coverage"]}
    assert cov["DXG-01"]["covered_m"] == pytest.approx(1900, abs=50)
    assert cov["DXG-01"]["covered_m"] + cov["DXG-01"]["uncovered_m"] == pytest.approx(cov["DXG-01"]["length_m"], abs=0.2)

    with store.session() as s:
        fixed = patrol_report(s, "2026-11", fix_offsets=True).to_dict()
    assert {p["person"]: p for p in fixed["persons"]}["赵春梅"]["done"] == 1

    code = main(["patrol-report", "--period", "2026-11", "--json", "--database-url", store.url])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["period"] == {"label": "2026-11", "start": "2026-11-01", "end": "2026-11-30"}
    assert {"persons", "grids", "reaches", "coverage"} <= set(out)
    assert main(["patrol-report", "--period", "2026-11-中旬", "--database-url", store.url]) == 0
    assert "巡河考核 2026-11-中旬" in capsys.readouterr().out

"""The phone app's whole patrol, as a village river chief meets it (issue 16): Debian's Chromium at
390×844 with emulated GPS, on the real server (``python -m ui.serve`` on a copy of the demo).

Sign in as the patroller, go offline, start, walk along 东兴沟 in 东兴村 at cycling speed (jittered
fixes, one a second), report a problem with a photo, reload in the middle (the distance is still
shown and recording goes on), stop, come back online and sync. Then, on the server: one new track
whose length is within 10 % of the walked path (oracle: pyproj's geodesic length of the fixes fed),
matched to that reach, listed by ``gis patrol-report`` for the patroller with its 未计入 reason
(a walk of a minute is below the default rules' minimum duration); the report routed to 东兴村
and linked to that track.

While the phone is offline every request to the server is aborted by route as well
(``context.set_offline`` does not stop a service worker's fetches), and the server's access log
(``RIVERGRID_ACCESS_LOG``) is the oracle that nothing of the app reached it (only the browser's own
update check of the worker script, which no emulation here stops). No request leaves the machine.

The server runs on the system clock here, not the tests' pinned one: the fixes carry the times of
the browser's GPS, which no test can pin, and the server must see them as past, not future.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyproj
import pytest
import shapely
from PIL import Image
from sqlalchemy import func, select

from gis.store import Store
from gis.store.schema import Attachment, Grid, Incident, PatrolTrack, Person, Reach, User

from .browser import PHONE, NetworkSwitch, offline_page, save_screenshot, sign_in_on_phone

pytestmark = [pytest.mark.e2e, pytest.mark.serial]

PASSWORD = "rivergrid-demo"
REACH_CODE = "DXG-01"  # 东兴沟（示意）, a tributary in 东兴村
DONGXING = "森工街道东兴村"
SPEED_M_S = 4.5  # cycling
N_FIXES = 60  # one a second: about 270 m and a minute of test time
GEOD = pyproj.Geod(ellps="WGS84")


def walk_points(reach_geom: Any, *, from_m: float = 80.0, seed: int = 16) -> list[tuple[float, float]]:
    """(lon, lat) along the reach every SPEED_M_S metres, jittered by up to 1.5 m (GK CM 126°E)."""
    rng = np.random.default_rng(seed)
    line = shapely.line_merge(reach_geom) if reach_geom.geom_type == "MultiLineString" else reach_geom
    gk = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True)
    back = pyproj.Transformer.from_crs("EPSG:4549", "EPSG:4326", always_xy=True)
    xy = shapely.transform(line, lambda c: np.column_stack(gk.transform(c[:, 0], c[:, 1])))
    assert xy.length > from_m + N_FIXES * SPEED_M_S  # the walk stays on the reach
    points = []
    for k in range(N_FIXES):
        p = xy.interpolate(from_m + k * SPEED_M_S)
        lon, lat = back.transform(p.x + rng.uniform(-1.5, 1.5), p.y + rng.uniform(-1.5, 1.5))
        points.append((round(lon, 7), round(lat, 7)))
    return points


def distance_km(page: Any) -> float:
    return float(page.get_by_test_id("patrol-distance").inner_text().strip())


def access_lines(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def wait_until_quiet(log: Path, *, quiet_s: float = 2.0, limit_s: float = 120.0) -> None:
    """Until the server's access log has had no new line for ``quiet_s`` (the service worker
    has fetched the tiles of the user's grids)."""
    deadline = time.monotonic() + limit_s
    seen, since = len(access_lines(log)), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = len(access_lines(log))
        if now != seen:
            seen, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
    pytest.fail("the phone kept talking to the server")


def test_a_patrol_recorded_offline_with_a_report_and_a_reload_syncs_once_online(  # type: ignore[no-untyped-def]
    browser, demo_template_sqlite: Path, tmp_path: Path
) -> None:
    from tests.api_server import start_server
    from tests.conftest import copy_sqlite_file

    copy_sqlite_file(demo_template_sqlite, tmp_path / "rivergrid.sqlite")
    url = f"sqlite:///{tmp_path / 'rivergrid.sqlite'}"
    log = tmp_path / "access.log"
    store = Store(url, migrate=False)
    with store.session() as s:
        reach = s.scalar(select(Reach).where(Reach.code == REACH_CODE))
        reach_id, reach_geom = reach.id, reach.geom
        dongxing = s.scalar(select(Grid.id).where(Grid.name == DONGXING))
        person_id = s.scalar(select(User.person_id).where(User.username == "patroller"))
        person_name = s.get(Person, person_id).name
        tracks_before = s.scalar(select(func.count()).select_from(PatrolTrack))
        incidents_before = set(s.scalars(select(Incident.id)))
    store.dispose()
    points = walk_points(reach_geom)
    photo = tmp_path / "岸边垃圾.jpg"
    Image.new("RGB", (1200, 900), "olive").save(photo, format="JPEG")

    server = start_server(url, tmp_path, {"RIVERGRID_ACCESS_LOG": str(log), "RIVERGRID_NOW": "",
                                          "RIVERGRID_NOW_SINCE": ""})
    blocked: list = []
    errors: list[str] = []
    page = offline_page(browser, blocked, errors, viewport=PHONE, permissions=["geolocation"], timezone_id="Asia/Shanghai",
                        geolocation={"longitude": points[0][0], "latitude": points[0][1], "accuracy": 5})
    context = page.context
    page.on("dialog", lambda dialog: dialog.accept())
    network = NetworkSwitch(context)
    try:
        # -- sign in (online), then the phone loses its signal ------------------------------------
        sign_in_on_phone(page, server.url, "patroller", PASSWORD)
        start = page.get_by_test_id("start-patrol")
        wait_until_quiet(log)
        quiet_from = len(access_lines(log))
        network.set(offline=True)

        # -- 开始巡河, walking --------------------------------------------------------------------
        start.click()
        page.get_by_test_id("stop-patrol").wait_for(timeout=30_000)

        def feed(k: int) -> None:
            lon, lat = points[k]
            context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 5})
            page.wait_for_timeout(1000)

        for k in range(20):
            feed(k)
        assert distance_km(page) > 0.03
        save_screenshot(page, "field-patrol", keep=tmp_path)

        # -- 上报问题 with a photo, on the way (queued: no network) --------------------------------
        page.locator('nav button[data-view="report"]').click()
        page.get_by_test_id("report-category").select_option(label="生态环境")
        page.get_by_test_id("report-description").fill("东兴沟岸边倾倒建筑垃圾约3立方米")
        page.get_by_test_id("report-photo").set_input_files(str(photo))
        save_screenshot(page, "field-report", keep=tmp_path)
        page.get_by_test_id("report-submit").click()
        page.get_by_test_id("stop-patrol").wait_for(timeout=30_000)  # back to the patrol

        for k in range(20, 40):
            feed(k)
        # -- the page is reloaded mid-walk: what was recorded is kept, recording goes on ----------
        before_reload = distance_km(page)
        page.reload()
        page.get_by_test_id("stop-patrol").wait_for(timeout=60_000)
        page.wait_for_function(
            f"Number(document.querySelector('[data-testid=patrol-distance]').textContent) >= {before_reload}",
            timeout=30_000,
        )
        for k in range(40, N_FIXES):
            feed(k)
        assert distance_km(page) > before_reload + 0.05  # still recording after the reload

        # -- 结束巡河, back online, 同步 --------------------------------------------------------------
        page.get_by_test_id("stop-patrol").click()
        page.get_by_test_id("sync-message").get_by_text("本次巡河已保存").wait_for(timeout=30_000)
        page.get_by_test_id("queue-patrol").first.get_by_text("待同步").wait_for(timeout=30_000)
        # nothing of the app reached the server while offline. The browser itself checks its service
        # worker's script for an update at the reload (GET /m/sw.js): a fetch of the browser process
        # that neither set_offline nor a route can stop here, and that fails on a phone with no signal.
        reached = [line.split("\t")[2:4] for line in access_lines(log)[quiet_from:]]
        assert [r for r in reached if r != ["GET", "/m/sw.js"]] == [], reached
        network.set(offline=False)
        page.get_by_test_id("sync-now").click()
        patrol_item = page.get_by_test_id("queue-patrol").first
        patrol_item.get_by_text("沿河里程").wait_for(timeout=120_000)
        page.get_by_test_id("queue-report").first.get_by_text("已同步").wait_for(timeout=120_000)
        shown = patrol_item.inner_text()
        assert "东兴沟" in shown and "未计入" in shown
        save_screenshot(page, "field-sync", keep=tmp_path)
        page.locator('nav button[data-view="me"]').click()
        page.get_by_test_id("me-patrols").wait_for(timeout=60_000)
        save_screenshot(page, "field-me", keep=tmp_path)

        # -- on the server ---------------------------------------------------------------------------
        store = Store(url, migrate=False)
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(PatrolTrack)) == tracks_before + 1
            track = s.scalar(select(PatrolTrack).order_by(PatrolTrack.id.desc()).limit(1))
            assert track.person_id == person_id
            stored_m = GEOD.geometry_length(track.geom)
            new = [i for i in s.scalars(select(Incident)) if i.id not in incidents_before]
            assert len(new) == 1
            (report,) = new
            assert (report.grid_id, report.track_id, report.category) == (dongxing, track.id, "ecology")
            assert s.scalar(select(func.count()).select_from(Attachment).where(Attachment.incident_id == report.id)) == 1
            track_id, started = track.id, track.started_at
        store.dispose()
        walked_m = GEOD.line_length([p[0] for p in points], [p[1] for p in points])
        assert stored_m == pytest.approx(walked_m, rel=0.10)
        month = started.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")  # the period of that walk (Beijing)
        listed = server.cli("patrol-report", "--period", month, "--json")
        assert listed.returncode == 0, listed.stderr
        (row,) = [t for t in json.loads(listed.stdout)["tracks"] if t["track_id"] == track_id]
        assert row["person"] == person_name
        assert reach_id in [m["reach_id"] for m in row["matched"]]
        assert not row["counted"] and row["not_counted_because"]  # one minute: below the rules' minimum
    finally:
        context.close()
        server.stop()
    assert blocked == []
    assert [e for e in errors if "pageerror" in e] == []

"""The phone app's 对象巡查 (issue 17): Debian's Chromium at 390×844 with emulated GPS, on the real
server (``python -m ui.serve`` on a copy of the demo).

Sign in as 东兴村's patroller, lose the signal, open 对象: the objects of the patroller's grids are
listed nearest first from where the phone stands (oracle: pyproj's geodesic distances from the
emulated position to every object of 东兴村 and the grids below it in the database). Record an
inspection of the nearest one (a demo 水源保护区) with a note and a photo: it waits in 同步. Back
online and synced, the record is in ``object_inspections`` once (with its photo, by the patroller's
person) and ``gis patrol-report --period <month> --json`` gives it as the object's last visit.

While offline every request of the page and its worker is aborted by route, as in
``test_field_journey.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pyproj
import pytest
from PIL import Image
from sqlalchemy import func, select

from gis.store import Store
from gis.store.schema import FieldSubmission, Grid, ObjectInspection, SupervisedObject, User
from gis.store.scope import grid_and_below

from .browser import PHONE, NetworkSwitch, offline_page, save_screenshot, sign_in_on_phone

pytestmark = [pytest.mark.e2e, pytest.mark.serial]

PASSWORD = "rivergrid-demo"
DONGXING = "森工街道东兴村"
TARGET = "东兴沟（示意）水源保护区"
NOTE = "保护区界桩完好，水面无漂浮物"
GEOD = pyproj.Geod(ellps="WGS84")


def test_an_inspection_recorded_offline_with_a_photo_reaches_the_object_ledger(  # type: ignore[no-untyped-def]
    browser, demo_template_sqlite: Path, tmp_path: Path
) -> None:
    from tests.api_server import start_server
    from tests.conftest import copy_sqlite_file

    copy_sqlite_file(demo_template_sqlite, tmp_path / "rivergrid.sqlite")
    url = f"sqlite:///{tmp_path / 'rivergrid.sqlite'}"
    store = Store(url, migrate=False)
    with store.session() as s:
        below = set(grid_and_below(s, s.scalar(select(Grid.id).where(Grid.name == DONGXING))))
        objects = {o.id: (o.name, o.geom.x, o.geom.y) for o in s.scalars(select(SupervisedObject))
                   if o.grid_id in below}
        target = s.scalar(select(SupervisedObject.id).where(SupervisedObject.name == TARGET))
        person_id = s.scalar(select(User.person_id).where(User.username == "patroller"))
        records_before = s.scalar(select(func.count()).select_from(ObjectInspection))
    store.dispose()
    assert target in objects and len(objects) >= 2
    # the phone stands about 15 m north-east of the target object
    here_lon, here_lat, _ = GEOD.fwd(objects[target][1], objects[target][2], 45, 15)
    by_distance = sorted(objects, key=lambda oid: GEOD.inv(here_lon, here_lat, objects[oid][1], objects[oid][2])[2])
    assert by_distance[0] == target
    photo = tmp_path / "水源地界桩.jpg"
    Image.new("RGB", (800, 600), "teal").save(photo, format="JPEG")

    server = start_server(url, tmp_path)
    blocked: list = []
    errors: list[str] = []
    page = offline_page(browser, blocked, errors, viewport=PHONE, permissions=["geolocation"], timezone_id="Asia/Shanghai",
                        geolocation={"longitude": here_lon, "latitude": here_lat, "accuracy": 8})
    context = page.context
    page.on("dialog", lambda dialog: dialog.accept())
    network = NetworkSwitch(context)
    try:
        # -- sign in online (GET /me brings the objects), then the signal is gone ------------------
        sign_in_on_phone(page, server.url, "patroller", PASSWORD)
        page.locator('nav button[data-view="me"]').click()
        page.get_by_test_id("me-objects").wait_for(timeout=60_000)  # GET /me answered and kept
        assert f"网格内 {len(objects)} 个对象" in page.get_by_test_id("me-objects").inner_text()
        network.set(offline=True)

        # -- 对象: nearest first -----------------------------------------------------------------------
        page.locator('nav button[data-view="objects"]').click()
        page.get_by_text("按距您的位置由近到远排列").wait_for(timeout=30_000)
        items = page.get_by_test_id("object-item")
        shown = [int(items.nth(k).get_attribute("data-object-id")) for k in range(items.count())]
        assert shown == by_distance
        assert TARGET in items.first.inner_text() and "米" in items.first.inner_text()
        save_screenshot(page, "field-objects", keep=tmp_path)

        # -- 记录巡查 with a photo: queued while offline ----------------------------------------------
        items.first.click()
        assert TARGET in page.get_by_test_id("inspect-object").inner_text()
        page.get_by_test_id("inspect-submit").click()
        page.get_by_text("请填写巡查情况").wait_for(timeout=10_000)  # a record needs its note
        page.get_by_test_id("inspect-note").fill(NOTE)
        page.get_by_test_id("inspect-photo").set_input_files(str(photo))
        save_screenshot(page, "field-inspection", keep=tmp_path)
        page.get_by_test_id("inspect-submit").click()
        queued = page.get_by_test_id("queue-inspection").first
        queued.get_by_text("待同步").wait_for(timeout=30_000)
        assert TARGET in queued.inner_text()
        store = Store(url, migrate=False)
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(ObjectInspection)) == records_before  # nothing sent
        store.dispose()

        # -- back online, 同步 ------------------------------------------------------------------------
        network.set(offline=False)
        page.get_by_test_id("sync-now").click()
        queued.get_by_text("已同步").wait_for(timeout=120_000)
        assert "已记入对象台账" in queued.inner_text() and "含照片" in queued.inner_text()
        page.get_by_test_id("sync-now").click()  # sending again changes nothing
        page.wait_for_timeout(1500)

        # -- on the server ---------------------------------------------------------------------------
        store = Store(url, migrate=False)
        with store.session() as s:
            rows = s.scalars(select(ObjectInspection).order_by(ObjectInspection.id)).all()
            assert len(rows) == records_before + 1
            record = rows[-1]
            assert (record.object_id, record.note, record.person_id, record.source) == (target, NOTE, person_id, "record")
            assert record.photo_sha256 and record.photo_mime == "image/jpeg"
            subs = s.scalars(select(FieldSubmission).where(FieldSubmission.kind == "inspection")).all()
            assert [sub.inspection_id for sub in subs] == [record.id]
            record_id, at = record.id, record.at
        store.dispose()
        local = at.astimezone(ZoneInfo("Asia/Shanghai"))
        listed = server.cli("patrol-report", "--period", local.strftime("%Y-%m"), "--json")
        assert listed.returncode == 0, listed.stderr
        (row,) = [o for o in json.loads(listed.stdout)["objects"] if o["object_id"] == target]
        assert row["last_visit_source"] == "record" and row["last_visit_ref"] == record_id
        assert row["last_visit"] == local.isoformat(timespec="seconds")
        assert row["overdue"] is False

        # -- the phone's 对象 list shows the visit (GET /me again after the sync) ---------------------
        page.locator('nav button[data-view="objects"]').click()
        page.get_by_test_id("object-item").first.get_by_text(f"上次 {local:%Y-%m-%d %H:%M}").wait_for(timeout=60_000)
    finally:
        context.close()
        server.stop()
    assert blocked == []
    assert [e for e in errors if "pageerror" in e] == []

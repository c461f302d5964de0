"""The phone app's shell (``/m/``) in Debian's Chromium at 390×844, on the real server
(``python -m ui.serve`` on a copy of the demo): the sign-in form; a resident's report from the
signboard link (no category chosen until the resident picks one, the proof of work, a 查询码, the
case from 群众投诉举报 in 东兴村, its state on ``/m/case``); the app opening again with no server at all
after a first visit (service worker); the plain notice on an insecure (plain HTTP, not localhost)
address; the 桩号 the phone computes against shapely.

The signed-in journey (sign in, record, sync) needs the field API and is tested with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gis.accounts.users import actor_for
from gis.incidents.workflow import move
from gis.store import Store
from gis.store.schema import Grid

from .browser import PHONE, offline_page, save_screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.serial]

LOGIN_IDS = ("login-username", "login-password", "login-submit")
SOLVE = """([token, bits]) => new Promise((resolve, reject) => {
    const worker = new Worker('/m/pow-worker.js', {type: 'module'});
    worker.onmessage = (event) => event.data.error ? reject(event.data.error) : resolve(event.data.nonce);
    worker.onerror = (event) => reject(event.message);
    worker.postMessage({token, bits});
})"""
README_SECTION = "HTTPS（nginx 反向代理，内网证书）"


def _start(tmp: Path, template: Path) -> Any:
    from tests.api_server import start_server
    from tests.conftest import copy_sqlite_file

    copy_sqlite_file(template, tmp / "rivergrid.sqlite")
    return start_server(f"sqlite:///{tmp / 'rivergrid.sqlite'}", tmp)


@pytest.fixture(scope="module")
def field_server(tmp_path_factory: pytest.TempPathFactory, demo_template_sqlite: Path) -> Iterator[Any]:
    server = _start(tmp_path_factory.mktemp("field"), demo_template_sqlite)
    yield server
    server.stop()


def actor_for_user(store: Store, username: str) -> Any:
    with store.session() as s:
        return actor_for(s, username)


def _dongxing_id(database_url: str) -> int:
    store = Store(database_url, migrate=False)
    try:
        with store.session() as s:
            grid_id = s.scalar(select(Grid.id).where(Grid.name == "森工街道东兴村"))
    finally:
        store.dispose()
    assert grid_id is not None
    return int(grid_id)


def _leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte:
            return bits + 8 - byte.bit_length()
        bits += 8
    return bits


def _assert_smallest_nonce(token: str, bits: int, nonce: str) -> None:
    """``nonce`` is the smallest decimal number whose sha256(token:nonce) has ``bits`` zero bits."""
    import hashlib

    work = [_leading_zero_bits(hashlib.sha256(f"{token}:{n}".encode()).digest()) for n in range(int(nonce) + 1)]
    assert work[-1] >= bits and max(work[:-1], default=0) < bits


def _phone(browser: Any, blocked: list, errors: list[str], **options: Any) -> Any:
    return offline_page(browser, blocked, errors, viewport=PHONE, **options)


def _assert_fits_the_phone(page: Any, testid: str) -> None:
    box = page.get_by_test_id(testid).bounding_box()
    assert box is not None, testid
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (testid, box)
    assert box["height"] >= 44, (testid, box)  # a thumb's target


def test_sign_in_form_on_a_phone(browser, field_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    blocked: list = []
    errors: list[str] = []
    page = _phone(browser, blocked, errors)
    try:
        page.goto(field_server.url + "/m/")
        for testid in LOGIN_IDS:
            page.get_by_test_id(testid).wait_for(state="visible", timeout=30_000)
            _assert_fits_the_phone(page, testid)
        assert page.get_by_test_id("login-password").get_attribute("type") == "password"
        assert page.get_by_test_id("login-submit").inner_text() == "登录"
        # localhost is a secure context: no warning about HTTPS
        assert page.get_by_test_id("insecure-notice").count() == 0
        page.wait_for_function("document.documentElement.dataset.ready === '1'")
        save_screenshot(page, "field-login", keep=tmp_path)
    finally:
        page.context.close()
    assert blocked == []
    assert [e for e in errors if "pageerror" in e] == []


def test_public_report_from_the_signboard(browser, field_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    grid_id = _dongxing_id(field_server.database_url)
    blocked: list = []
    errors: list[str] = []
    page = _phone(browser, blocked, errors)
    try:
        page.goto(f"{field_server.url}/m/report?grid={grid_id}")
        category = page.get_by_test_id("report-category")
        category.wait_for(state="visible", timeout=30_000)
        assert category.input_value() == ""
        assert category.evaluate("el => el.selectedIndex === 0 && el.options[0].disabled && el.options[0].value === ''")
        labels = category.evaluate("el => Array.from(el.options).slice(1).map(o => o.textContent)")
        assert "其他" in labels and len(labels) >= 9
        for testid in ("report-description", "report-submit"):
            _assert_fits_the_phone(page, testid)
        assert page.get_by_test_id("login-username").count() == 0  # no sign-in
        # sending without a category is refused on the phone, in Chinese
        page.get_by_test_id("report-description").fill("河面有垃圾")
        page.get_by_test_id("report-submit").click()
        page.get_by_role("alert").filter(has_text="请选择问题类别").wait_for()
        assert page.get_by_test_id("case-code").count() == 0
        save_screenshot(page, "field-public-report", keep=tmp_path)
        # the proof of work of the submission, in its worker (crypto.subtle here: localhost is secure)
        assert page.evaluate("typeof crypto.subtle") == "object"
        token = "v1.1999999999.12.0123456789abcdef.sig"
        _assert_smallest_nonce(token, 12, page.evaluate(SOLVE, [token, 12]))
        # sent: a 查询码, a case from 群众投诉举报 in 东兴村, its state on /m/case
        def cases() -> dict[str, dict]:
            listed = field_server.cli("incident", "list", "--json")
            assert listed.returncode == 0, listed.stderr
            return {c["code"]: c for c in json.loads(listed.stdout)}

        before = cases()
        page.get_by_test_id("report-category").select_option(label="其他")
        page.get_by_test_id("report-description").fill("桥下有人倾倒建筑垃圾（手机壳测试）")
        page.get_by_test_id("report-submit").click()
        code = page.get_by_test_id("case-code").inner_text(timeout=60_000).strip()
        assert len(code) == 8
        new = [c for k, c in cases().items() if k not in before]
        assert [(c["source_label"], c["grid"]["id"], c["category_label"]) for c in new] == [
            ("群众投诉举报", grid_id, "其他")]
        page.get_by_role("link", name="查看处理进展").click()
        assert page.get_by_test_id("case-status").inner_text(timeout=30_000) == "上报"
        save_screenshot(page, "field-case", keep=tmp_path)
        # staff take the case up (受理): the resident sees it with the same code
        (case_code,) = [c["code"] for c in new]
        store = Store(field_server.database_url, migrate=False)
        try:
            with store.session(actor_for_user(store, "staff")) as s:
                move(s, case_code, "accept", note="受理，交东兴村核查（内部意见）")
        finally:
            store.dispose()
        page.reload()
        assert page.get_by_test_id("case-status").inner_text(timeout=30_000) == "受理"
        assert "内部意见" not in page.content()  # the step's note is not public
    finally:
        page.context.close()
    assert blocked == []
    assert [e for e in errors if "pageerror" in e] == []


def test_the_shell_opens_again_with_no_server(browser, demo_template_sqlite: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = _start(tmp_path, demo_template_sqlite)
    blocked: list = []
    errors: list[str] = []
    page = _phone(browser, blocked, errors)
    try:
        page.goto(server.url + "/m/")
        page.get_by_test_id("login-username").wait_for(timeout=30_000)
        page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.ready.then(() => true)")
        page.evaluate("navigator.serviceWorker.ready")
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30_000)
        # nothing answers any more: neither the server nor the network
        server.stop()
        page.context.set_offline(True)
        for path in ("/m/", "/m/report?grid=1", "/m/case?code=ABCD2345"):
            page.goto(server.url + path)
            page.wait_for_function("document.documentElement.dataset.ready === '1'", timeout=30_000)
        page.goto(server.url + "/m/")
        for testid in LOGIN_IDS:
            page.get_by_test_id(testid).wait_for(state="visible", timeout=30_000)
        # the vendored libraries came from the cache too
        assert page.evaluate("typeof window.L === 'object' && typeof window.protomapsL === 'object'")
        page.goto(server.url + "/m/report?grid=1")
        page.get_by_test_id("report-category").wait_for(state="visible", timeout=30_000)
        assert page.get_by_test_id("report-category").input_value() == ""
    finally:
        page.context.close()
        server.stop()
    assert blocked == []
    assert [e for e in errors if "pageerror" in e] == []


def test_plain_http_on_another_address_says_https_is_needed(browser, field_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from .conftest import CHROMIUM, CHROMIUM_ARGS

    port = field_server.url.rsplit(":", 1)[1]
    host = "hezhang.test"  # resolved to this machine by the browser only
    # a second Chromium of the session's Playwright, where one name leads to this machine
    chromium = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {host} 127.0.0.1"],
    )
    try:
        context = chromium.new_context(viewport=PHONE, locale="zh-CN")
        outside: list[str] = []
        context.route(
            "**/*",
            lambda route: route.continue_() if route.request.url.startswith(f"http://{host}:{port}/")
            else (outside.append(route.request.url), route.abort())[1],
        )
        page = context.new_page()
        page.goto(f"http://{host}:{port}/m/")
        notice = page.get_by_test_id("insecure-notice")
        notice.wait_for(state="visible", timeout=30_000)
        text = notice.inner_text()
        assert "HTTPS" in text and README_SECTION in text and "定位" in text
        assert page.evaluate("window.isSecureContext") is False
        page.get_by_test_id("login-username").wait_for(state="visible")  # the rest still shows
        save_screenshot(page, "field-insecure", keep=tmp_path)
        # a resident can still send a report: the proof of work runs without crypto.subtle
        assert page.evaluate("typeof crypto.subtle") == "undefined"
        token = "v1.1999999999.12.fedcba9876543210.sig"
        _assert_smallest_nonce(token, 12, page.evaluate(SOLVE, [token, 12]))
        page.goto(f"http://{host}:{port}/m/report?grid=1")
        page.get_by_test_id("report-category").wait_for(state="visible")
        assert "定位不可用" in page.get_by_test_id("insecure-notice").inner_text()
        assert outside == []
    finally:
        chromium.close()


def test_station_on_the_phone_agrees_with_shapely(browser, field_server) -> None:  # type: ignore[no-untyped-def]
    """The 桩号 the phone shows while walking (field/geo.js, from GET /me's reach lines) against an
    independent oracle: shapely's nearest line and ``project`` in UTM zone 52N, and the server's
    ``format_station`` for the text."""
    import shapely
    from pyproj import Transformer

    from gis.geometry.linref import format_station
    from gis.patrol.service import store_reaches

    store = Store(field_server.database_url, migrate=False)
    try:
        with store.session() as s:
            reaches = store_reaches(s)
    finally:
        store.dispose()
    reaches = reaches[reaches.geometry.geom_type == "LineString"].head(12)
    assert len(reaches) >= 5
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32652", always_xy=True)
    to_wgs = Transformer.from_crs("EPSG:32652", "EPSG:4326", always_xy=True)
    utm = {rid: shapely.transform(geom, lambda xy: list(zip(*to_utm.transform(xy[:, 0], xy[:, 1]))))
           for rid, geom in reaches.geometry.items()}
    phone_reaches = [{"id": int(rid), "name": str(r["name"]), "geometry": json.loads(shapely.to_geojson(r.geometry))}
                     for rid, r in reaches.iterrows()]
    points, expected = [], []
    for line in utm.values():
        for fraction in (0.13, 0.5, 0.87):
            at = line.interpolate(fraction, normalized=True)
            ahead = line.interpolate(min(line.length, line.project(at) + 1.0))
            dx, dy = ahead.x - at.x, ahead.y - at.y
            norm = (dx * dx + dy * dy) ** 0.5 or 1.0
            walker = shapely.Point(at.x - dy / norm * 15.0, at.y + dx / norm * 15.0)  # 15 m beside the river
            nearest = min(utm, key=lambda k: utm[k].distance(walker))
            points.append(list(to_wgs.transform(walker.x, walker.y)))
            expected.append((nearest, utm[nearest].project(walker)))
    page = _phone(browser, [], [])
    try:
        page.goto(field_server.url + "/m/")
        page.wait_for_function("document.documentElement.dataset.ready === '1'", timeout=30_000)
        got = page.evaluate(
            """async ([reaches, points]) => {
                const geo = await import('/m/geo.js');
                return points.map(([lon, lat]) => {
                    const near = geo.nearestReach(reaches, lon, lat);
                    return [near.reach.id, near.stationM, geo.formatStation(near.stationM)];
                });
            }""",
            [phone_reaches, points],
        )
        samples = [0.0, 0.4, 0.5, 85.0, 999.4, 999.5, 999.6, 1000.0, 3120.4, 12345.5, 99999.7]
        texts = page.evaluate(
            "async (values) => { const geo = await import('/m/geo.js'); return values.map((v) => geo.formatStation(v)); }",
            samples,
        )
    finally:
        page.context.close()
    assert texts == [format_station(v) for v in samples]
    for (rid, station_m), (phone_id, phone_m, phone_text) in zip(expected, got):
        assert phone_id == rid
        # spherical lengths on the phone, UTM in the oracle: within 0.5 % (or 5 m near the start)
        assert abs(phone_m - station_m) <= max(5.0, 0.005 * station_m), (rid, station_m, phone_m)
        assert phone_text == format_station(phone_m)

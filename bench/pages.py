"""Time to interactive of every page of the app, next to the floor measured in the same run.

``python bench/pages.py [--repeat 3] [--pages 河湖一张图,网格管理] [--no-ops] [--json out.json]``

1. The floor: a Streamlit app served the way the app is (:func:`ui.serve.prepare_process`:
   static files gzipped once, ``TCP_NODELAY``) whose page holds nothing but a one-line folium
   map (``bench.map_render.FLOOR_APP``), behind ``st.navigation`` with a blank start page.
   Measured two ways, as the pages are: a new browser opening the map page's address (``load``),
   and a click on the map page in the sidebar of an open browser (``click``); once before each
   round of a page's warm visits (its server runs beside the app's), so that the floor and the
   pages meet the same load on a shared machine.
2. The app as deployed (``python -m ui.serve``) on an empty data folder with ``RIVERGRID_DEMO=1``
   (the demo is loaded before the server answers: its start time is printed), no Tianditu key,
   the default basemap (the bundled 简图, ``--basemap`` to choose another); headless Chromium
   (``/usr/bin/chromium``), 1400×900, every request off the machine refused.

   - ``cold``: the first visit after the start (河湖一张图, not signed in).
   - ``first``: the first time each page is opened after the start (signed in as the demo
     account that uses it, then a click in the sidebar): the page's own caches are empty.
   - ``warm``: each page again, ``--repeat`` times, each time in a NEW browser context
     (nothing cached in the browser; the server's caches filled): ``click`` as its user,
     and ``load`` (the page's address opened directly, not signed in: the demo lets anyone
     read) for the pages a visitor can read.
   - operations (unless ``--no-ops``): each step of the incident workflow on 事件处置 (受理, 交办,
     开始处置, 办结, 提交审核 by ``staff``, 审核通过 by ``county``) on a case the bench reports
     first (through :func:`gis.incidents.reporting.report_incident`, as ``patroller``), a
     change of grid and of mode on 网格管理, a change of period on 考核评价; and then the first
     visit of 河湖一张图 after those writes (every cache keyed by the data version is empty).

3. Time to interactive, in the browser's own clock: from the navigation start (``load``) or the
   click (``click`` and operations) to the first moment at which Streamlit's script run has
   finished (the app's ``data-test-script-state`` is ``notRunning``: no running indicator) and,
   on a page with a map, its first feature has been painted (an SVG path or canvas in the map's
   overlay pane, stamped two animation frames after it appears); for an operation, also its
   message (``已受理`` …) on screen. A script in every document polls every 4 ms. Beside it:
   the script run alone, the map alone, the number of script runs until the page was quiet
   for 1 s, and CPU seconds spent by the server and by Chromium during the visit; the load
   average when the phase began.

The target (issue 15): every page ≤ 2× the floor ("a new browser": the ``load`` way; the
``click`` way, signed in, is compared with the floor's click), the first visit after start ≤ 3×
the floor's ``load``. The last line printed is one JSON object with every figure. Where a page's
script run spends its time: ``bench/page_profile.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.map_render import FLOOR_APP  # after the path fix
from bench.servers import launch, stop_server

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "rivergrid-demo"
PAGE_TARGET = 2.0
COLD_TARGET = 3.0
QUIET_MS = 1000
TIMEOUT_MS = 300_000
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class PageSpec:
    title: str
    path: str  # URL path ("" for the default page)
    user: str  # the demo account that uses it
    has_map: bool
    public_read: bool  # readable without signing in (the demo opens reading)


PAGES = [
    PageSpec("河湖一张图", "", "leader", True, True),
    PageSpec("盲区检查", "blind_spots", "staff", True, True),
    PageSpec("网格管理", "grids", "staff", True, True),
    PageSpec("巡河管理", "patrol", "staff", True, True),
    PageSpec("事件处置", "incidents", "staff", True, True),
    PageSpec("考核评价", "assessment", "leader", False, True),
    PageSpec("修改记录", "audit", "auditor", False, False),
    PageSpec("用户管理", "users", "security", False, False),
    PageSpec("责任公示", "public", "", True, True),
]
"""Every page of ``app.py``'s ``st.navigation`` (登录 aside), with its user (README, 演示账号)."""

WATCH_JS = """
(() => {
  /* In every document: when a Leaflet map's first feature has been painted (see
     bench/map_render.py: the layer element appears, Leaflet draws it in the next animation
     frame, the one after runs once it is painted; streamlit-folium rewrites its iframe's
     document, so the element is looked for on a timer). In the top document also: every change
     of Streamlit's script state, every click, every message received on Streamlit's WebSocket
     (a run so short that React never rendered the "running" state is still seen), and when a
     watched text first appears. */
  const now = () => performance.timeOrigin + performance.now();
  const sel = '.leaflet-overlay-pane path.leaflet-interactive, .leaflet-overlay-pane canvas';
  const paint = setInterval(() => {
    if (!document.querySelector(sel)) return;
    clearInterval(paint);
    requestAnimationFrame(() => requestAnimationFrame(() => { window.__rgFirstPaint = now(); }));
  }, 4);
  if (window.top !== window) return;
  const rg = window.__rg = {states: [], clicks: [], ws: [], watch: null, watchAt: null};
  document.addEventListener('click', () => rg.clicks.push(now()), true);
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = function (...args) {
    const ws = new NativeWebSocket(...args);
    ws.addEventListener('message', () => rg.ws.push(now()));
    return ws;
  };
  window.WebSocket.prototype = NativeWebSocket.prototype;
  Object.assign(window.WebSocket, NativeWebSocket);
  let last;
  setInterval(() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const state = app ? app.getAttribute('data-test-script-state') : null;
    if (state !== last) { last = state; rg.states.push([now(), state]); }
    if (rg.watch && rg.watchAt === null && document.body && document.body.textContent.includes(rg.watch)) {
      rg.watchAt = now();
    }
  }, 4);
})();
"""
QUIET_JS = """
(quiet) => {
  const rg = window.__rg, s = rg && rg.states;
  if (!s || !s.length) return false;
  const [at, state] = s[s.length - 1];
  const last = Math.max(at, rg.ws.length ? rg.ws[rg.ws.length - 1] : 0);
  return state === 'notRunning' && performance.timeOrigin + performance.now() - last > quiet;
}
"""
RAN_SINCE_JS = """
(t0) => window.__rg.states.some(([t, s]) => t >= t0 && s === 'running') || window.__rg.ws.some((t) => t >= t0)
"""

FLOOR_ROUTER = """
import streamlit as st

def blank():
    st.title("空白页")

st.navigation([st.Page(blank, title="空白页", default=True),
               st.Page("floor_map.py", title="地图", url_path="map")]).run()
"""


# ---------------------------------------------------------------------------------------------
# Processes and CPU
# ---------------------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int, float] | None:
    """(command name, parent pid, CPU seconds) of a live process, or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_of(pid: int) -> float:
    stat = _stat(pid)
    return stat[2] if stat else 0.0


def browser_cpu() -> dict[int, float]:
    """CPU seconds of every Chromium process started from this one (by pid)."""
    stats = {int(p.name): s for p in Path("/proc").iterdir() if p.name.isdigit() and (s := _stat(int(p.name)))}
    children: dict[int, list[int]] = {}
    for pid, (_, ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    out: dict[int, float] = {}
    todo = list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        name, _, cpu = stats[pid]
        if name.startswith("chrom"):
            out[pid] = cpu
    return out


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two :func:`browser_cpu` snapshots (new processes count from zero)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def load() -> float:
    return os.getloadavg()[0]


def server_env(data_dir: Path, *, basemap: str | None = None) -> dict[str, str]:
    """The environment of a demo server on ``data_dir``: no Tianditu key, no other database, the
    system clock, the app's default basemap (the bundled 简图) unless ``basemap`` names one."""
    env = {
        **os.environ,
        "RIVERGRID_DATA_DIR": str(data_dir),
        "RIVERGRID_DEMO": "1",
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    for name in (
        "TIANDITU_KEY",
        "DATABASE_URL",
        "RIVERGRID_NOW",
        "RIVERGRID_NOW_SINCE",
        "RIVERGRID_READ_LOGIN",
        "RIVERGRID_BASEMAP",
        "RIVERGRID_TILE_URL",
        "RIVERGRID_TILES",
    ):
        env.pop(name, None)
    if basemap:
        env["RIVERGRID_BASEMAP"] = basemap
    return env


FLOOR_SERVE = (
    "import sys; from ui.serve import prepare_process; prepare_process(); "
    "from streamlit.web import cli; sys.argv = ['streamlit', 'run', *sys.argv[1:]]; sys.exit(cli.main())"
)


# ---------------------------------------------------------------------------------------------
# One visit
# ---------------------------------------------------------------------------------------------


@dataclass
class Visit:
    """One timed visit or operation; seconds in the browser's clock from its start."""

    interactive_s: float
    script_s: float
    map_s: float | None
    settled_s: float
    runs: int
    server_cpu_s: float
    browser_cpu_s: float
    extra: dict = field(default_factory=dict)


class Browser:
    """Headless Chromium; every request off the machine is refused."""

    def __init__(self, pw) -> None:  # type: ignore[no-untyped-def]
        self.browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking"]
        )
        self.refused: list[str] = []

    def context(self):  # type: ignore[no-untyped-def]
        context = self.browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        context.add_init_script(WATCH_JS)

        def route(r) -> None:  # type: ignore[no-untyped-def]
            host = r.request.url.split("/")[2].split(":")[0] if "://" in r.request.url else ""
            if r.request.url.startswith(("data:", "blob:", "about:")) or host in ("127.0.0.1", "localhost"):
                r.continue_()
            else:
                self.refused.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        return context

    def close(self) -> None:
        self.browser.close()


def _paints(page) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for frame in page.frames[1:]:
        try:
            t = frame.evaluate("() => window.__rgFirstPaint ?? null")
        except Exception:  # noqa: BLE001 — a frame being replaced
            continue
        if t is not None:
            out.append(float(t))
    return out


def wait_quiet(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(QUIET_JS, arg=QUIET_MS, polling=50, timeout=TIMEOUT_MS)


def measure(
    page,
    t0: float,
    *,
    server_pid: int,
    cpu0: tuple[float, dict],
    has_map: bool,  # type: ignore[no-untyped-def]
    watch: str | None = None,
) -> Visit:
    """Wait until the page is interactive and quiet; the figures of what happened since ``t0``
    (epoch ms, browser clock)."""
    page.wait_for_function(RAN_SINCE_JS, arg=t0, polling=20, timeout=TIMEOUT_MS)
    if watch is not None:
        page.wait_for_function("() => window.__rg.watchAt !== null", polling=50, timeout=TIMEOUT_MS)
    paint = None
    if has_map:
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while time.monotonic() < deadline:
            paints = [p for p in _paints(page) if p >= t0]
            if paints:
                paint = max(paints)
                break
            page.wait_for_timeout(50)
        else:
            raise TimeoutError("no map feature painted")
    wait_quiet(page)
    if has_map:  # every map on the page painted (a second map may have come with a later run)
        paint = max([p for p in _paints(page) if p >= t0] or [paint])
    server_cpu = cpu_of(server_pid) - cpu0[0]
    chromium = cpu_delta(cpu0[1], browser_cpu())
    rg = page.evaluate("() => window.__rg")
    states = [(float(t), s) for t, s in rg["states"] if t >= t0 - 1]
    runs = [t for t, s in states if s == "running"]
    unseen = not runs  # the run ended before React rendered "running": its last message ended it
    done = [t for t, s in states if s == "notRunning" and t > runs[0]] if runs else []
    script = done[0] if done else max(float(t) for t in rg["ws"] if t >= t0)
    ready = max(script, paint or 0.0, float(rg["watchAt"]) if watch is not None else 0.0)

    every_state = [(float(t), s) for t, s in rg["states"]]

    def state_at(t: float) -> str | None:
        current = None
        for at, s in every_state:
            if at > t:
                break
            current = s
        return current

    if state_at(ready) != "notRunning":
        ready = next(t for t, s in every_state if s == "notRunning" and t > ready)
    return Visit(
        interactive_s=round((ready - t0) / 1000, 3),
        script_s=round((script - t0) / 1000, 3),
        map_s=None if paint is None else round((paint - t0) / 1000, 3),
        settled_s=round(((done[-1] if done else script) - t0) / 1000, 3),
        runs=max(len(runs), 1),
        server_cpu_s=round(server_cpu, 3),
        browser_cpu_s=round(chromium, 3),
        extra={"running_unseen": True} if unseen else {},
    )


def snapshot(server_pid: int) -> tuple[float, dict]:
    return cpu_of(server_pid), browser_cpu()


def open_by_address(browser: Browser, url: str, *, server_pid: int, has_map: bool) -> Visit:
    """A new browser context opens ``url``; timed from its navigation start."""
    context = browser.context()
    page = context.new_page()
    cpu0 = snapshot(server_pid)
    page.goto(url, wait_until="commit")
    t0 = page.evaluate("() => performance.timeOrigin")
    try:
        return measure(page, t0, server_pid=server_pid, cpu0=cpu0, has_map=has_map)
    finally:
        context.close()


def sign_in(page, url: str, user: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/login", wait_until="commit")
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_text("已登录").first.wait_for(timeout=TIMEOUT_MS)
    wait_quiet(page)


def click_and_measure(
    page,
    click: Callable[[], None],
    *,
    server_pid: int,
    has_map: bool,  # type: ignore[no-untyped-def]
    watch: str | None = None,
) -> Visit:
    """Run ``click`` (one click in the page) and time from that click."""
    if watch is not None:
        page.evaluate("(w) => { window.__rg.watch = w; window.__rg.watchAt = null; }", watch)
    n = page.evaluate("() => window.__rg.clicks.length")
    cpu0 = snapshot(server_pid)
    click()
    page.wait_for_function("(n) => window.__rg.clicks.length > n", arg=n, polling=10, timeout=30_000)
    t0 = page.evaluate("() => window.__rg.clicks[window.__rg.clicks.length - 1]")
    return measure(page, t0, server_pid=server_pid, cpu0=cpu0, has_map=has_map, watch=watch)


def nav_click(page, title: str):  # type: ignore[no-untyped-def]
    return lambda: page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()


def open_by_click(browser: Browser, url: str, spec: PageSpec, *, server_pid: int) -> Visit:
    """A new browser context signs in as the page's user, then clicks the page in the sidebar."""
    context = browser.context()
    page = context.new_page()
    try:
        if spec.user:
            sign_in(page, url, spec.user)
        else:
            page.goto(url, wait_until="commit")
            wait_quiet(page)
        return click_and_measure(page, nav_click(page, spec.title), server_pid=server_pid, has_map=spec.has_map)
    finally:
        context.close()


# ---------------------------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------------------------


def report_case(data_dir: Path) -> str:
    """A new case in 东兴村, reported as ``patroller`` through the reporting service; its code."""
    from gis.accounts.signin import sign_in as check_sign_in  # the app's modules after the path fix
    from gis.incidents.reporting import report_incident
    from gis.store import Store

    store = Store(f"sqlite:///{data_dir / 'rivergrid.sqlite'}", migrate=False)
    try:
        actor = check_sign_in(store, "patroller", PASSWORD, ip="127.0.0.1").actor
        with store.session(actor) as s:
            inc = report_incident(
                s,
                lon=126.999,
                lat=41.788,
                category="other",
                description="基准测试：岸边倾倒生活垃圾",
                reporter="何兆花",
            )
            return inc.code
    finally:
        store.dispose()


WORKFLOW = [  # (user, button, note, message once done)
    ("staff", "受理", None, "已受理"),
    ("staff", "交办", None, "已交办"),
    ("staff", "开始处置", None, "已开始处置"),
    ("staff", "办结", "已清理，基准测试", "已办结"),
    ("staff", "提交审核", None, "已提交审核"),
    ("county", "审核通过（归档）", None, "已审核通过（归档）"),
]


def incident_steps(browser: Browser, url: str, code: str, *, server_pid: int) -> dict[str, Visit]:
    out: dict[str, Visit] = {}
    context = page = None
    user = None
    try:
        for who, button, note, message in WORKFLOW:
            if who != user:
                if context is not None:
                    context.close()
                context = browser.context()
                page = context.new_page()
                sign_in(page, url, who)
                user = who
                nav_click(page, "事件处置")()
                page.get_by_text(f"事件 {code}").first.wait_for(timeout=TIMEOUT_MS)
                wait_quiet(page)
            assert page is not None
            if note:
                page.get_by_role("textbox", name="办理说明").fill(note)
            out[button] = click_and_measure(
                page,
                lambda b=button, p=page: p.get_by_role("button", name=b, exact=True).click(),
                server_pid=server_pid,
                has_map=False,
                watch=message,
            )
    except Exception as exc:  # noqa: BLE001 — keep the steps timed so far
        print(f"  incident workflow stopped at step {len(out) + 1}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        if context is not None:
            context.close()
    return out


def pick(page, label: str, option: str) -> None:  # type: ignore[no-untyped-def]
    box = page.get_by_role("combobox", name=label, exact=True)
    box.click()
    box.press("ArrowDown")
    page.get_by_role("option", name=option, exact=True).click()


def options_of(page, label: str) -> list[str]:  # type: ignore[no-untyped-def]
    box = page.get_by_role("combobox", name=label, exact=True)
    box.click()
    box.press("ArrowDown")
    names = page.get_by_role("option").all_inner_texts()
    box.press("Escape")
    return names


def grid_steps(browser: Browser, url: str, *, server_pid: int) -> dict[str, Visit]:
    context = browser.context()
    page = context.new_page()
    out: dict[str, Visit] = {}
    try:
        sign_in(page, url, "staff")
        nav_click(page, "网格管理")()
        page.get_by_role("combobox", name="选择网格", exact=True).wait_for(timeout=TIMEOUT_MS)
        wait_quiet(page)
        current = page.get_by_role("combobox", name="选择网格", exact=True).input_value()
        names = [n for n in options_of(page, "选择网格") if n.strip() and n.strip() != current]
        wait_quiet(page)
        other = names[0].strip()
        out["选择网格"] = click_and_measure(
            page, lambda: pick(page, "选择网格", other), server_pid=server_pid, has_map=False
        )
        out["切换到编辑边界顶点"] = click_and_measure(
            page, lambda: page.get_by_text("编辑边界顶点", exact=True).click(), server_pid=server_pid, has_map=False
        )
    finally:
        context.close()
    return out


def assessment_steps(browser: Browser, url: str, *, server_pid: int) -> dict[str, Visit]:
    context = browser.context()
    page = context.new_page()
    out: dict[str, Visit] = {}
    try:
        sign_in(page, url, "leader")
        nav_click(page, "考核评价")()
        page.get_by_role("combobox", name="时段", exact=True).wait_for(timeout=TIMEOUT_MS)
        wait_quiet(page)
        months = [n.strip() for n in options_of(page, "时段") if n.strip().endswith("月")]
        wait_quiet(page)
        out["换一个时段（首次）"] = click_and_measure(
            page, lambda: pick(page, "时段", months[0]), server_pid=server_pid, has_map=False
        )
    finally:
        context.close()
    return out


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def median(visits: list[Visit]) -> float:
    return statistics.median(v.interactive_s for v in visits)


def fmt(v: Visit) -> str:
    parts = [f"{v.interactive_s:5.2f} s", f"script {v.script_s:.2f}"]
    if v.map_s is not None:
        parts.append(f"map {v.map_s:.2f}")
    parts += [f"runs {v.runs}", f"CPU server {v.server_cpu_s:.2f} browser {v.browser_cpu_s:.2f}"]
    return " · ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="warm visits per page and way (median)")
    parser.add_argument("--pages", help="comma-separated page titles (default: all)")
    parser.add_argument("--no-ops", action="store_true", help="skip the timed operations")
    parser.add_argument("--basemap", help="RIVERGRID_BASEMAP for the app (default: the app's own, the bundled 简图)")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (prints its path)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright  # only when run

    pages = PAGES if not args.pages else [p for p in PAGES if p.title in args.pages.split(",")]
    work = Path(tempfile.mkdtemp(prefix="rivergrid-pages-"))
    result: dict = {"repeat": args.repeat, "cpus": os.cpu_count(), "load": {}}

    def say(text: str) -> None:
        print(text, flush=True)

    floor_spec = PageSpec("地图", "map", "", True, True)
    floor: dict[str, list[Visit]] = {"load": [], "click": []}
    floor_process = app_process = None
    try:
        with sync_playwright() as pw:
            browser = Browser(pw)
            try:
                # --- the floor's server (it stays up: its visits alternate with the app's) ----
                floor_dir = work / "floor"
                floor_dir.mkdir()
                (floor_dir / "floor_app.py").write_text(FLOOR_ROUTER, encoding="utf-8")
                (floor_dir / "floor_map.py").write_text(FLOOR_APP, encoding="utf-8")
                os.symlink(REPO / "static", floor_dir / "static")
                (work / "floor-data").mkdir()
                result["load"]["floor"] = load()
                floor_process, floor_url, _ = launch(
                    ["-c", FLOOR_SERVE, str(floor_dir / "floor_app.py")],
                    server_env(work / "floor-data"),
                    work / "floor.log",
                )
                floor_pid = floor_process.pid
                floor_cold = open_by_address(browser, f"{floor_url}/map", server_pid=floor_pid, has_map=True)
                say(f"floor (one-line map page), first visit after start  {fmt(floor_cold)}")

                def floor_round() -> None:
                    """One visit of the floor each way (between the app's visits: same load)."""
                    floor["click"].append(open_by_click(browser, floor_url, floor_spec, server_pid=floor_pid))
                    floor["load"].append(
                        open_by_address(browser, f"{floor_url}/map", server_pid=floor_pid, has_map=True)
                    )
                    say(f"  floor click      {fmt(floor['click'][-1])}")
                    say(f"  floor load       {fmt(floor['load'][-1])}")

                # --- the app --------------------------------------------------------------
                data_dir = work / "data"
                data_dir.mkdir()
                result["load"]["app"] = load()
                app_process, url, started_s = launch(
                    ["-m", "ui.serve"], server_env(data_dir, basemap=args.basemap), work / "app.log"
                )
                pid = app_process.pid
                result["start_s"] = round(started_s, 2)
                say(
                    f"app: answered {started_s:.1f} s after start (demo loaded before), "
                    f"load {result['load']['app']:.1f}"
                )
                cold = open_by_address(browser, f"{url}/", server_pid=pid, has_map=True)
                say(f"  first visit after start (河湖一张图)  {fmt(cold)}")
                result["cold"] = asdict(cold)
                first: dict[str, Visit] = {}
                for spec in pages:
                    first[spec.title] = open_by_click(browser, url, spec, server_pid=pid)
                    say(f"  first open  {spec.title:6s} {fmt(first[spec.title])}")
                result["first"] = {k: asdict(v) for k, v in first.items()}
                result["load"]["warm"] = load()
                warm: dict[str, dict[str, list[Visit]]] = {}
                for spec in pages:
                    warm[spec.title] = {"click": [], "load": []}
                    for _ in range(args.repeat):
                        floor_round()
                        warm[spec.title]["click"].append(open_by_click(browser, url, spec, server_pid=pid))
                        say(f"  warm click {spec.title:6s} {fmt(warm[spec.title]['click'][-1])}")
                        if spec.public_read:
                            warm[spec.title]["load"].append(
                                open_by_address(browser, f"{url}/{spec.path}", server_pid=pid, has_map=spec.has_map)
                            )
                            say(f"  warm load  {spec.title:6s} {fmt(warm[spec.title]['load'][-1])}")
                result["warm"] = {t: {w: [asdict(v) for v in vs] for w, vs in d.items()} for t, d in warm.items()}
                if not args.no_ops:
                    result["load"]["ops"] = load()
                    ops: dict[str, dict[str, Visit]] = {}
                    groups: list[tuple[str, Callable[[], dict[str, Visit]]]] = [
                        ("考核评价", lambda: assessment_steps(browser, url, server_pid=pid)),
                        ("网格管理", lambda: grid_steps(browser, url, server_pid=pid)),
                        ("事件处置", lambda: incident_steps(browser, url, report_case(data_dir), server_pid=pid)),
                        (
                            "写入之后",
                            lambda: {"河湖一张图": open_by_address(browser, f"{url}/", server_pid=pid, has_map=True)},
                        ),
                    ]
                    for page_title, run in groups:
                        try:
                            ops[page_title] = run()
                        except Exception as exc:  # noqa: BLE001 — one broken operation does not lose the run
                            say(f"  op {page_title} failed: {type(exc).__name__}: {str(exc).splitlines()[0]}")
                            result.setdefault("op_errors", {})[page_title] = str(exc).splitlines()[0]
                            continue
                        for step, v in ops[page_title].items():
                            say(f"  op {page_title} {step}: {fmt(v)}")
                    result["ops"] = {p: {s: asdict(v) for s, v in st.items()} for p, st in ops.items()}
                result["load"]["end"] = load()
            finally:
                for process in (app_process, floor_process):
                    if process is not None:
                        stop_server(process)
                browser.close()
            result["refused_requests"] = len(browser.refused)
    finally:
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    # --- summary ------------------------------------------------------------------------------
    floor_s = {way: median(floor[way]) for way in ("load", "click")}
    result["floor"] = {
        "cold": asdict(floor_cold),
        **{w: [asdict(v) for v in floor[w]] for w in ("load", "click")},
        "median": floor_s,
    }
    say("")
    say(
        f"floor: load {floor_s['load']:.2f} s, click {floor_s['click']:.2f} s "
        f"(median of {len(floor['click'])}, between the pages' visits)"
    )
    say(f"{'page':8s} {'click':>7s} {'×floor':>7s} {'load':>7s} {'×floor':>7s} {'first':>7s}")
    summary = {}
    for spec in pages:
        w = result["warm"][spec.title]
        c = statistics.median(v["interactive_s"] for v in w["click"])
        ld = statistics.median(v["interactive_s"] for v in w["load"]) if w["load"] else None
        summary[spec.title] = {
            "click_s": c,
            "load_s": ld,
            "first_s": result["first"][spec.title]["interactive_s"],
            "click_x": round(c / floor_s["click"], 2),
            "load_x": None if ld is None else round(ld / floor_s["load"], 2),
        }
        s = summary[spec.title]
        say(
            f"{spec.title:8s} {c:7.2f} {s['click_x']:7.2f} "
            + (f"{ld:7.2f} {s['load_x']:7.2f}" if ld is not None else f"{'—':>7s} {'—':>7s}")
            + f" {s['first_s']:7.2f}"
            + ("" if max(s["click_x"], s["load_x"] or 0) <= PAGE_TARGET else "  > 2× floor")
        )
    cold_x = result["cold"]["interactive_s"] / floor_s["load"]
    say(
        f"first visit after start {result['cold']['interactive_s']:.2f} s = {cold_x:.2f}× floor "
        f"(target ≤ {COLD_TARGET:g}×; the floor's own first visit {floor_cold.interactive_s:.2f} s)"
    )
    say(f"load average: {', '.join(f'{k} {v:.1f}' for k, v in result['load'].items())} ({os.cpu_count()} CPUs)")
    if result.get("refused_requests"):
        say(f"requests off the machine refused: {result['refused_requests']}")
    result["summary"] = summary
    result["cold_x"] = round(cold_x, 2)
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(
        json.dumps(
            {
                "floor": floor_s,
                "cold_s": result["cold"]["interactive_s"],
                "cold_x": round(cold_x, 2),
                "pages": summary,
                "ops": {p: {s: v["interactive_s"] for s, v in st.items()} for p, st in result.get("ops", {}).items()},
            },
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

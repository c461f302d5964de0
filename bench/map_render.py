"""How fast 河湖一张图 draws big data: time to the first drawn feature and bytes received.

``python bench/map_render.py [--reaches 5000] [--vertices 50] [--no-reference]``

1. Generates ``--reaches`` random-walk reaches (``--vertices`` vertices, 50–120 m steps) and a
   county → township → 200 village grid lattice over ~75 × 55 km near Linjiang into a fresh
   SQLite store in a temporary data folder (through the store API, as the ``system`` actor).
2. Starts the app as deployed (``python -m ui.serve``) on that folder, ``RIVERGRID_BASEMAP=none``
   and no Tianditu key, and opens the home page in headless Chromium
   (``/usr/bin/chromium --no-sandbox --disable-background-networking``), three times:
   ``cold`` (first visit after the server started: every cache empty), ``warm`` (a new browser
   context, so nothing cached in the browser, but the server's caches filled: every later
   visitor until the data changes) and ``revisit`` (same browser again: Streamlit's own
   immutable bundles come from the browser cache).
3. Measures, per visit, from the navigation to the first drawn feature in the map's iframe (an
   SVG ``path.leaflet-interactive`` or the canvas that big layers are drawn on), in the browser's
   own clock: a script in every document looks for that element every 4 ms and stamps the time
   two animation frames after it appears (Leaflet draws in the first, the second runs once it
   has been painted), minus the page's navigation start. The time at which the test driver (Playwright,
   polling from another process) saw the element is printed beside it; it adds the driver's
   own latency. Also the bytes
   received: HTTP bodies as sent (CDP ``Network.loadingFinished`` ``encodedDataLength``) plus
   WebSocket frames (the map itself travels in Streamlit's WebSocket, which HTTP counts miss).
   Then it pans the map (a rerun of the page) and counts the bytes that rerun cost.
4. Unless ``--no-reference``: the same data drawn the way the page did before (folium GeoJson of
   the unsimplified geometry, built on every run: ``layers.overview.overview_map``), for the
   ratio; and the floor: a Streamlit page holding nothing but a one-line folium map, measured
   the same way (what Streamlit and streamlit-folium cost before any data).

The last line printed is one JSON object: ``{"reaches", "first_feature_s", "bytes", "target_s",
"target_bytes", …}`` where ``first_feature_s`` and ``bytes`` are those of the ``warm`` visit.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.servers import launch, stop_server  # noqa: E402 — after the path fix

CHROMIUM = "/usr/bin/chromium"
FOLIUM_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
TARGET_S = 2.0
TARGET_BYTES = 3_000_000
FIRST_FEATURE_JS = (
    "() => !!document.querySelector('.leaflet-overlay-pane path.leaflet-interactive, .leaflet-overlay-pane canvas')"
)
PAINT_WATCH_JS = """
(() => {
  /* In every document: the moment the first feature of a Leaflet map has been painted. The
     layer element (an SVG path or the canvas of big layers) appears when the layers are added;
     Leaflet draws it in the next animation frame; the frame after that runs once it has been
     painted. streamlit-folium rewrites its iframe's document (document.open drops observers,
     listeners and pending animation frames), so the element is looked for on a short timer. */
  const sel = '.leaflet-overlay-pane path.leaflet-interactive, .leaflet-overlay-pane canvas';
  const timer = setInterval(() => {
    if (!document.querySelector(sel)) return;
    clearInterval(timer);
    requestAnimationFrame(() => requestAnimationFrame(() => {
      window.__rgFirstPaint = performance.timeOrigin + performance.now();
    }));
  }, 4);
})();
"""
FLOOR_APP = """
import folium
import streamlit as st
from streamlit_folium import st_folium

from layers.assets import localize

st.title("空白页：一条线的地图")
m = folium.Map(location=[41.85, 127.0], zoom_start=10, tiles=None)
folium.PolyLine([[41.8, 126.9], [41.9, 127.1]]).add_to(m)
st_folium(localize(m), height=620, use_container_width=True, returned_objects=[], key="floor")
"""
REFERENCE_APP = """
import streamlit as st
from streamlit_folium import st_folium

from layers.overview import overview_map
from ui.state import data_version, map_data

st.title("参照：未简化、未缓存的地图")
m = overview_map(map_data(data_version()), basemap="none", tianditu_key=None)
st_folium(m, height=620, use_container_width=True, returned_objects=[], key="reference")
"""


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def generate(data_dir: Path, *, reaches: int, vertices: int, seed: int = 0) -> dict[str, int]:
    """Write the synthetic store ``data_dir/rivergrid.sqlite``; counts of what was written."""
    import numpy as np
    from shapely.geometry import LineString, box

    from gis.auth import SYSTEM
    from gis.store import Store
    from gis.store.schema import Grid, Reach, River

    rng = np.random.default_rng(seed)
    x0, y0, width, height = 126.55, 41.60, 0.9, 0.5  # degrees: ~75 × 55 km
    nx, ny = 20, 10
    kx = math.cos(math.radians(y0 + height / 2))
    store = Store(f"sqlite:///{data_dir / 'rivergrid.sqlite'}")
    with store.session(SYSTEM) as s:
        county = Grid(name="基准县", level="county", geom=box(x0, y0, x0 + width, y0 + height))
        township = Grid(name="基准乡", level="township", parent=county, geom=box(x0, y0, x0 + width, y0 + height))
        grids = [county, township] + [
            Grid(
                name=f"基准村{i:02d}{j:02d}",
                level="village",
                parent=township,
                geom=box(
                    x0 + i * width / nx, y0 + j * height / ny, x0 + (i + 1) * width / nx, y0 + (j + 1) * height / ny
                ),
            )
            for i in range(nx)
            for j in range(ny)
        ]
        s.add_all(grids)
        rivers = [River(name=f"基准河{k:04d}", level="village") for k in range(math.ceil(reaches / 10))]
        s.add_all(rivers)
        for k in range(reaches):
            x, y = x0 + rng.random() * width, y0 + rng.random() * height
            heading = rng.random() * 2 * math.pi
            points = [(x, y)]
            for _ in range(vertices - 1):
                heading += rng.normal(0.0, 0.35)
                step = rng.uniform(50.0, 120.0)  # metres
                x = min(max(x + step * math.cos(heading) / 111_320.0 / kx, x0), x0 + width)
                y = min(max(y + step * math.sin(heading) / 110_574.0, y0), y0 + height)
                points.append((x, y))
            s.add(
                Reach(
                    river=rivers[k // 10],
                    name=f"基准河段{k:05d}",
                    level=("village", "township", "county")[k % 3],
                    geom=LineString(points),
                )
            )
    store.dispose()
    return {"reaches": reaches, "grids": len(grids), "vertices": reaches * vertices}


# ---------------------------------------------------------------------------------------------
# Server and browser
# ---------------------------------------------------------------------------------------------


def start_server(data_dir: Path, log: Path, *, app: Path | None = None) -> tuple[subprocess.Popen, str]:
    """The app (or a reference app script) on a free port; returns the process and its URL."""
    env = {
        **os.environ,
        "RIVERGRID_DATA_DIR": str(data_dir),
        "RIVERGRID_BASEMAP": "none",
        "RIVERGRID_DEMO": "1",
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    env.pop("TIANDITU_KEY", None)
    env.pop("DATABASE_URL", None)
    command = ["-m", "ui.serve"] if app is None else ["-m", "streamlit", "run", str(app)]
    process, url, _ = launch(command, env, log, timeout_s=60)
    return process, url


class Counter:
    """Bytes received by one page, from Chrome's network events."""

    def __init__(self, context, page) -> None:  # type: ignore[no-untyped-def]
        self.http = 0
        self.ws = 0
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.webSocketFrameReceived", self._frame)

    def _finished(self, event: dict) -> None:
        self.http += int(event.get("encodedDataLength", 0))

    def _frame(self, event: dict) -> None:
        response = event["response"]
        payload = response.get("payloadData", "")
        self.ws += len(base64.b64decode(payload)) if response.get("opcode") == 2 else len(payload.encode())

    @property
    def total(self) -> int:
        return self.http + self.ws


def visit(browser, url: str, *, context=None, pan: bool = True) -> dict:  # type: ignore[no-untyped-def]
    """Open ``url`` and time the first drawn feature; optionally pan once and count that rerun."""
    own = context is None
    context = context or browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    if not getattr(context, "_rg_watching", False):
        context.add_init_script(PAINT_WATCH_JS)
        context._rg_watching = True
    page = context.new_page()
    counter = Counter(context, page)
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_selector(FOLIUM_IFRAME, timeout=300_000)
    frame = page.query_selector(FOLIUM_IFRAME).content_frame()
    frame.wait_for_function(FIRST_FEATURE_JS, polling="raf", timeout=300_000)
    wall = time.perf_counter() - t0
    frame.wait_for_function("() => window.__rgFirstPaint !== undefined", timeout=60_000)
    painted_at = frame.evaluate("() => window.__rgFirstPaint")
    navigated_at = page.evaluate("() => performance.timeOrigin")
    first = (painted_at - navigated_at) / 1000
    page.wait_for_timeout(2500)  # the map reports its view once started (one rerun); let it settle
    result = {
        "first_feature_s": round(first, 3),
        "first_feature_wall_s": round(wall, 3),
        "bytes": counter.total,
        "http_bytes": counter.http,
        "ws_bytes": counter.ws,
    }
    if pan:
        before = counter.total
        frame.evaluate("() => { window.map.panBy([120, 80], {animate: false}); }")
        page.wait_for_timeout(2500)
        result["pan_rerun_bytes"] = counter.total - before
    page.close()
    if own:
        context.close()
    return result


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reaches", type=int, default=5000)
    parser.add_argument("--vertices", type=int, default=50)
    parser.add_argument("--no-reference", action="store_true", help="skip the unsimplified, uncached reference run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (prints its path)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="rivergrid-bench-"))
    data_dir = work / "data"
    data_dir.mkdir()
    t = time.perf_counter()
    counts = generate(data_dir, reaches=args.reaches, vertices=args.vertices)
    print(
        f"data: {counts['reaches']} reaches × {args.vertices} vertices, {counts['grids']} grids "
        f"({time.perf_counter() - t:.1f} s)",
        flush=True,
    )
    results: dict[str, dict] = {}
    reference: dict | None = None
    floor: dict | None = None
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking"]
            )
            process, url = start_server(data_dir, work / "app.log")
            try:
                results["cold"] = visit(browser, url)
                results["warm"] = visit(browser, url)
                context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
                visit(browser, url, context=context, pan=False)
                results["revisit"] = visit(browser, url, context=context)
                context.close()
            finally:
                stop_server(process)
            if not args.no_reference:
                app_dir = work / "reference"
                app_dir.mkdir()
                (app_dir / "reference_app.py").write_text(REFERENCE_APP, encoding="utf-8")
                (app_dir / "floor_app.py").write_text(FLOOR_APP, encoding="utf-8")
                os.symlink(REPO / "static", app_dir / "static")  # the vendored map assets
                process, url = start_server(data_dir, work / "reference.log", app=app_dir / "reference_app.py")
                try:
                    visit(browser, url, pan=False)  # fill the data cache: compare like with like
                    reference = visit(browser, url)
                finally:
                    stop_server(process)
                process, url = start_server(data_dir, work / "floor.log", app=app_dir / "floor_app.py")
                try:
                    visit(browser, url, pan=False)
                    floor = visit(browser, url, pan=False)
                finally:
                    stop_server(process)
            browser.close()
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    def mb(n: int) -> str:
        return f"{n / 1e6:.2f} MB"

    for name, r in results.items():
        print(
            f"{name:8s} first feature {r['first_feature_s']:.2f} s (seen by the test driver "
            f"{r['first_feature_wall_s']:.2f} s) · received {mb(r['bytes'])} "
            f"(HTTP {mb(r['http_bytes'])}, WebSocket {mb(r['ws_bytes'])})"
            + (f" · a pan's rerun {r['pan_rerun_bytes'] / 1e3:.0f} kB" if "pan_rerun_bytes" in r else "")
        )
    warm = results["warm"]
    if reference is not None:
        print(
            f"reference first feature {reference['first_feature_s']:.2f} s (seen by the test driver "
            f"{reference['first_feature_wall_s']:.2f} s) · received {mb(reference['bytes'])} "
            f"(HTTP {mb(reference['http_bytes'])}, WebSocket {mb(reference['ws_bytes'])})"
            f" · a pan's rerun {reference['pan_rerun_bytes'] / 1e3:.0f} kB"
        )
        print(
            f"ratio (warm / reference): time {warm['first_feature_s'] / reference['first_feature_s']:.2f}, "
            f"bytes {warm['bytes'] / reference['bytes']:.2f}, "
            f"WebSocket {warm['ws_bytes'] / reference['ws_bytes']:.2f}"
        )
    if floor is not None:
        print(
            f"floor (empty page, one-line map) first feature {floor['first_feature_s']:.2f} s (seen by the test "
            f"driver {floor['first_feature_wall_s']:.2f} s) · received "
            f"{mb(floor['bytes'])} (HTTP {mb(floor['http_bytes'])}, WebSocket {mb(floor['ws_bytes'])})"
        )
    print(f"target: first feature < {TARGET_S:g} s and < {mb(TARGET_BYTES)} received")
    summary = {
        "reaches": args.reaches,
        "first_feature_s": warm["first_feature_s"],
        "first_feature_wall_s": warm["first_feature_wall_s"],
        "bytes": warm["bytes"],
        "target_s": TARGET_S,
        "target_bytes": TARGET_BYTES,
        "cold_first_feature_s": results["cold"]["first_feature_s"],
        "cold_bytes": results["cold"]["bytes"],
        "revisit_first_feature_s": results["revisit"]["first_feature_s"],
        "revisit_bytes": results["revisit"]["bytes"],
        "map_ws_bytes": warm["ws_bytes"],
        "pan_rerun_bytes": warm["pan_rerun_bytes"],
    }
    if reference is not None:
        summary.update(reference_first_feature_s=reference["first_feature_s"], reference_bytes=reference["bytes"])
    if floor is not None:
        summary.update(floor_first_feature_s=floor["first_feature_s"], floor_bytes=floor["bytes"])
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())

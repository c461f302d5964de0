"""First paint of 河湖一张图 as the store grows: 5,000 reaches against ~450,000 (issue 19).

``python bench/map_first_paint.py [--sizes 5000,450000] [--cache DIR] [--no-packed]``

1. For each size, a SQLite store in the bench cache (default ``~/.cache/rivergrid-bench/map_first_paint``;
   built once, reused by later runs): ``bench.synthetic.make_reaches(n)`` (random-walk reaches,
   2–6 km, one per ~1 km², in EPSG:4551 near 126°E 41.5°N, reprojected to EPSG:4326) written
   with SQLAlchemy Core inserts (no audit entry per row: a data load, not edits), and the same
   small grid family over the reaches' extent in every store (one county, one township, 10×10
   village grids): only the number of reaches differs. The store's tile cache
   (:mod:`gis.maptiles.index`) is then built once; its time is printed (``index_s``).
2. Starts the app as deployed (``python -m ui.serve`` minus the 简图 build at start-up, see
   :data:`SERVE_WITHOUT_SIMPLE_BASEMAP`; ``RIVERGRID_BASEMAP=none``, no demo,
   ``RIVERGRID_MAP_TILES_REACHES=0``: tiles at every size) on each store with the tile cache's
   tiles emptied, and opens the home page in headless Chromium twice: ``cold`` (server just
   started, no tile made yet: every tile of the view is cut from the R-tree and encoded) and
   ``warm`` (a new browser context: the tiles come from the cache).
3. First paint: from the page's navigation start to the first river tile drawn in the map (the
   map's own signal ``window.rgRiverTilesFirstPaint``, stamped by protomaps-leaflet's
   ``tileload`` of the ``rivers`` layer), in the browser's clock. Also: bytes of the river tiles
   received, the server's CPU seconds during the visit, the load average.
4. Unless ``--no-packed``: the smallest size once more with the reaches sent as today's packed
   layer (``RIVERGRID_MAP_TILES_REACHES`` above it), first paint to the first drawn feature.

The last line is one JSON object with every figure and ``ratio_cold`` / ``ratio_warm``: first
paint of the largest size over the smallest (the issue asks for ≤ 2). Benches stay out of CI.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.servers import launch, stop_server  # noqa: E402 — after the path fix

CHROMIUM = "/usr/bin/chromium"
FOLIUM_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
DEFAULT_CACHE = Path(os.environ.get("RIVERGRID_BENCH_CACHE", Path.home() / ".cache" / "rivergrid-bench")) / (
    "map_first_paint"
)
SERVE_WITHOUT_SIMPLE_BASEMAP = (
    "import sys\n"
    "import gis.basemap.build as build\n"
    "build.prepare_simple_basemap = lambda store: None\n"
    "from ui.serve import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)
"""``python -m ui.serve`` without the 简图 build at start-up (it reads every reach: at 450,000 it did
not finish within 300 s; the maps here draw no basemap anyway): the same for every size."""
PACKED_FIRST_JS = (
    "() => !!document.querySelector('.leaflet-overlay-pane path.leaflet-interactive, .leaflet-overlay-pane canvas')"
)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def build_store(folder: Path, n: int) -> dict[str, float]:
    """``folder/rivergrid.sqlite`` with ``n`` synthetic reaches and the grid family (once)."""
    database = folder / "rivergrid.sqlite"
    done = folder / "done.json"
    if done.exists():
        return dict(json.loads(done.read_text()))
    folder.mkdir(parents=True, exist_ok=True)
    database.unlink(missing_ok=True)
    import numpy as np
    from shapely.geometry import box
    from sqlalchemy import insert

    from bench.synthetic import make_reaches
    from gis.accounts.users import create_user
    from gis.auth import SYSTEM
    from gis.store import Store
    from gis.store.schema import Grid, Reach, River

    t = time.perf_counter()
    gdf = make_reaches(n, seed=19).to_crs("EPSG:4326")
    generated = time.perf_counter() - t
    t = time.perf_counter()
    store = Store(f"sqlite:///{database}")
    west, south, east, north = (float(v) for v in gdf.total_bounds)
    with store.session(SYSTEM) as s:
        county = Grid(name="基准县", level="county", geom=box(west, south, east, north))
        township = Grid(name="基准乡", level="township", parent=county, geom=box(west, south, east, north))
        k = 10
        dx, dy = (east - west) / k, (north - south) / k
        villages = [
            Grid(
                name=f"基准村{i:02d}{j:02d}",
                level="village",
                parent=township,
                geom=box(west + i * dx, south + j * dy, west + (i + 1) * dx, south + (j + 1) * dy),
            )
            for i in range(k)
            for j in range(k)
        ]
        s.add_all([county, township, *villages])
        # an administrator, so that the app shows its pages (the map is read without signing in)
        create_user(s, username="bench_admin", role="admin", password="Bench-Map-2026!", must_change_password=False)
    rivers = math.ceil(n / 10)
    levels = np.array(["village", "township", "county"])
    with store.engine.begin() as conn:
        river_rows = [{"id": r + 1, "name": f"基准河{r:06d}", "level": "village"} for r in range(rivers)]
        conn.execute(insert(River.__table__), river_rows)
        geoms = list(gdf.geometry)
        for start in range(0, n, 20_000):
            conn.execute(
                insert(Reach.__table__),
                [
                    {
                        "river_id": k // 10 + 1,
                        "name": f"基准河段{k:06d}",
                        "level": str(levels[k % 3]),
                        "start_station_m": 0.0,
                        "note": "",
                        "geom": geoms[k],
                        "version": 1,
                        "water_function_zone": "",
                        "water_quality_target": "",
                        "works": "",
                    }
                    for k in range(start, min(n, start + 20_000))
                ],
            )
    loaded = time.perf_counter() - t
    from gis.maptiles.service import river_tiles

    t = time.perf_counter()
    river_tiles(store).sync()
    indexed = time.perf_counter() - t
    store.engine.dispose()
    figures = {"reaches": n, "generate_s": round(generated, 1), "load_s": round(loaded, 1)}
    figures["index_s"] = round(indexed, 1)
    done.write_text(json.dumps(figures))
    return figures


def empty_tile_cache(folder: Path) -> None:
    import sqlite3

    from gis.maptiles.index import index_path

    con = sqlite3.connect(index_path(folder / "rivergrid.sqlite"))
    con.execute("DELETE FROM tile")
    con.commit()
    con.close()


# ---------------------------------------------------------------------------------------------
# Server and browser
# ---------------------------------------------------------------------------------------------


def start(folder: Path, log: Path, threshold: int | None = None):  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "RIVERGRID_DATA_DIR": str(folder),
        "RIVERGRID_BASEMAP": "none",
        "RIVERGRID_DEMO": "0",
        "RIVERGRID_READ_LOGIN": "0",  # the map is read without signing in
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    env.pop("TIANDITU_KEY", None)
    env.pop("DATABASE_URL", None)
    if threshold is not None:
        env["RIVERGRID_MAP_TILES_REACHES"] = str(threshold)
    process, url, _ = launch(["-c", SERVE_WITHOUT_SIMPLE_BASEMAP], env, log, timeout_s=300)
    return process, url


def cpu_seconds(pid: int) -> float:
    import psutil

    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def visit(browser, url: str, pid: int, *, packed: bool = False) -> dict:  # type: ignore[no-untyped-def]
    """Open the home page in a new context; first paint of the reaches (browser clock)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    tiles = {"count": 0, "bytes": 0, "nonempty": 0}

    def record(response) -> None:  # type: ignore[no-untyped-def]
        if "/api/tiles/rivers/" in response.url and response.status == 200:
            size = len(response.body())
            tiles["count"] += 1
            tiles["bytes"] += size
            tiles["nonempty"] += size > 30

    page.on("response", record)
    cpu0 = cpu_seconds(pid)
    page.goto(url, wait_until="commit")
    page.wait_for_selector(FOLIUM_IFRAME, timeout=600_000)
    frame = page.query_selector(FOLIUM_IFRAME).content_frame()
    if packed:
        frame.wait_for_function(PACKED_FIRST_JS, polling="raf", timeout=600_000)
        painted = frame.evaluate("() => performance.timeOrigin + performance.now()")
    else:
        frame.wait_for_function("() => window.rgRiverTilesFirstPaint !== undefined", timeout=600_000)
        painted = frame.evaluate("() => window.rgRiverTilesFirstPaint")
    navigated = page.evaluate("() => performance.timeOrigin")
    page.wait_for_timeout(2000)  # the remaining tiles of the view
    result = {
        "first_paint_s": round((painted - navigated) / 1000, 3),
        "server_cpu_s": round(cpu_seconds(pid) - cpu0, 2),
        "load_avg": [round(v, 2) for v in os.getloadavg()],
    }
    if not packed:
        result["river_tiles"] = dict(tiles)
    context.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="5000,450000", help="reach counts, smallest first")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--no-packed", action="store_true", help="skip the packed-layer reference run")
    args = parser.parse_args(argv)
    sizes = [int(v) for v in args.sizes.split(",")]
    from playwright.sync_api import sync_playwright

    data: dict[int, dict] = {}
    for n in sizes:
        t = time.perf_counter()
        data[n] = build_store(args.cache / f"reaches-{n}", n)
        print(f"store {n}: {data[n]} (ready in {time.perf_counter() - t:.1f} s)", flush=True)
    cpu0 = time.process_time()
    results: dict[str, dict] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking"])
        for n in sizes:
            folder = args.cache / f"reaches-{n}"
            empty_tile_cache(folder)
            process, url = start(folder, folder / "app.log", threshold=0)  # tiles at every size
            try:
                cold = visit(browser, url, process.pid)
                warm = visit(browser, url, process.pid)
            finally:
                stop_server(process)
            results[str(n)] = {"cold": cold, "warm": warm, **data[n]}
            print(f"{n} reaches: cold {cold} · warm {warm}", flush=True)
        if not args.no_packed:
            folder = args.cache / f"reaches-{sizes[0]}"
            process, url = start(folder, folder / "app-packed.log", threshold=10**9)
            try:
                visit(browser, url, process.pid, packed=True)
                results["packed"] = {"reaches": sizes[0], "warm": visit(browser, url, process.pid, packed=True)}
            finally:
                stop_server(process)
            print(f"packed {sizes[0]} reaches: {results['packed']['warm']}", flush=True)
        browser.close()
    small, large = str(sizes[0]), str(sizes[-1])
    summary = {
        "sizes": sizes,
        "first_paint_cold_s": {k: results[k]["cold"]["first_paint_s"] for k in (small, large)},
        "first_paint_warm_s": {k: results[k]["warm"]["first_paint_s"] for k in (small, large)},
        "ratio_cold": round(results[large]["cold"]["first_paint_s"] / results[small]["cold"]["first_paint_s"], 2),
        "ratio_warm": round(results[large]["warm"]["first_paint_s"] / results[small]["warm"]["first_paint_s"], 2),
        "bench_cpu_s": round(time.process_time() - cpu0, 2),
        "load_avg": [round(v, 2) for v in os.getloadavg()],
        "results": results,
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

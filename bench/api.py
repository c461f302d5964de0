"""Benchmark of the HTTP API: OGC API Features items with a bbox, beside pygeoapi on the same
PostGIS tables, and Open311 POSTs.

    python bench/api.py [--grids 2000] [--reaches 5000] [--seconds 10] [--concurrency 1,10,50]
                        [--limit 100] [--collections grids,reaches] [--rivergrid serve]
                        [--database-url URL] [--profile N]

1. **Data**: a fresh schema ``bench_api_<random>`` in the PostGIS database (``--database-url``,
   else ``RIVERGRID_TEST_PG_URL``, else ``DATABASE_URL``): the demo (``load_demo``), then
   ``--grids`` synthetic village grids (Voronoi cells, boundaries densified to 50 m, under one
   synthetic township of 临江市) and ``--reaches`` meandering reaches (2–5 km, 50–200 m steps,
   ten per synthetic river) in a 50 × 17 km box north of the demo's township (lon 126.60–127.20,
   lat 41.89–42.04), written through the store as the ``system`` actor (rules and audit as for
   any write), then ANALYZEd. Nothing is soft-deleted, so pygeoapi (which serves soft-deleted
   rows too) and RiverGrid serve the same rows. The schema is dropped at the end
   (``--keep-schema`` keeps it).
2. **Servers**, side by side in the same run. RiverGrid as the README starts it
   (``--rivergrid serve``: ``python -m ui.serve``, pages and API in one process), with
   ``DATABASE_URL`` on the bench schema and ``RIVERGRID_API_RATE_KEY`` and
   ``RIVERGRID_API_RATE_IP`` raised to 10,000,000 per minute so that the rate limits never
   answer 429 (the guard still runs on every request). Other ways to start it, for comparison
   (``--rivergrid serve,nodelay,uvicorn2``): ``nodelay``, the same with TCP_NODELAY set on the
   socket Streamlit binds (Streamlit creates it without the protocol number, so asyncio does not
   set TCP_NODELAY on its connections, and a response written as headers then body waits for
   the client's delayed ACK, about 40 ms); ``uvicorn2``, the same application (``asgi.py``) in
   two uvicorn worker processes (API only: the pages need sticky sessions, README). Beside them
   pygeoapi 0.21.0 in its own venv (``bench/pygeoapi/setup.sh``, run if needed) with its
   PostgreSQL provider on the same tables (``bench/pygeoapi/config.py``), under gunicorn with one
   worker per CPU (``--pygeoapi-workers``; worker class ``gthread`` with ``--pygeoapi-threads``
   threads, which keeps connections alive; its development server is single-threaded).
3. **Load**: the same client code for every server: ``N`` threads, each with its own keep-alive
   ``http.client`` connection (reopened when the server closes it), sending requests back to
   back for ``--warmup`` seconds (not counted) and then ``--seconds`` seconds, at each
   concurrency of ``--concurrency``; the servers take turns at each concurrency. A request's
   latency runs from sending it to having read the whole body; requests/second counts the
   requests completed in the measured window. No ``Accept-Encoding``: neither compresses.

   * ``items``: ``GET /collections/{c}/items?bbox=…&limit=--limit`` (RiverGrid under
     ``/api/ogc``), the bboxes of :data:`BBOXES` in turn (a village-sized one returns a handful
     of features, a county-sized one ``--limit``), for each collection of ``--collections``;
     anonymous on both.
   * ``open311``: ``POST /api/open311/v2/requests.json`` (RiverGrid only: pygeoapi has no
     Open311), form fields ``api_key`` (a patroller's key from ``gis token create``),
     ``service_code`` (the first service of ``services.json``), ``lat``/``long`` (points inside
     东兴村) and ``description``. Every POST creates a case. One POST is checked first: routed to
     东兴村 and read back by its id.

   Before timing, the servers' answers are compared: for each bbox the ids of the features
   returned must be the same sets (or, where more features match than ``--limit``, the
   ``numberMatched`` must agree); a WARNING line says otherwise.

Prints one line per cell, then a table per kind of request with the servers side by side and
the ratio (requests/second ÷ pygeoapi's), the CPU milliseconds per request of the server's
processes (RiverGrid's process or workers; gunicorn's master and workers) and their PostgreSQL
backends, the CPU of this client, the load average before and after each cell (the machine is
shared), and as its last line one JSON object with the figures. Nothing is asserted. A server
whose route answers 404 (not built yet) is reported as such and skipped.

``--profile N`` runs no server: N items requests of each collection through RiverGrid's API
application in this process under cProfile (the time per request without HTTP, and where it
goes).

Run: ``python bench/api.py`` (about 4 minutes with the defaults; 8 with all three ways to start
RiverGrid).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.pygeoapi.config import make_config, to_yaml  # noqa: E402
from bench.servers import free_port  # noqa: E402

PYGEOAPI_DIR = REPO / "bench" / "pygeoapi"
DEFAULT_VENV = Path(os.environ.get("PYGEOAPI_VENV", Path.home() / ".cache" / "rivergrid-bench" / "pygeoapi-venv"))
RATE_LIMIT = 10_000_000
"""``RIVERGRID_API_RATE_KEY`` and ``RIVERGRID_API_RATE_IP`` for the bench (per minute)."""
STARTUP_TIMEOUT_S = 180.0

SYNTH_BOX = (126.60, 41.89, 127.20, 42.04)
"""Where the synthetic grids and reaches are (lon/lat): north of the demo's township, inside 临江市."""
METRIC_CRS = "EPSG:4551"
"""CGCS2000 / 3-degree Gauss-Krüger CM 126E (metres): the synthetic data is drawn there."""

BBOXES: list[tuple[str, tuple[float, float, float, float]]] = [
    ("village-a", (126.700, 41.950, 126.720, 41.965)),
    ("village-b", (126.950, 41.920, 126.970, 41.935)),
    ("village-c", (127.100, 42.000, 127.120, 42.015)),
    ("dongxing", (126.920, 41.730, 127.030, 41.885)),
    ("township-a", (126.750, 41.930, 126.850, 41.990)),
    ("township-b", (126.980, 41.900, 127.080, 41.960)),
    ("county", (126.55, 41.45, 127.45, 42.05)),
    ("empty", (126.560, 41.460, 126.570, 41.470)),
]
"""The fixed bboxes (minlon, minlat, maxlon, maxlat) of the items cells, sent in turn."""


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def synthetic_frames(n_grids: int, n_reaches: int, seed: int) -> tuple[Any, Any]:
    """Village grid polygons and reach lines (GeoDataFrames in EPSG:4326) in :data:`SYNTH_BOX`."""
    import geopandas as gpd  # noqa: PLC0415 — heavy; only the data step needs it
    import numpy as np  # noqa: PLC0415 — heavy; only the data step needs it
    import shapely  # noqa: PLC0415 — heavy; only the data step needs it

    rng = np.random.default_rng(seed)
    box = gpd.GeoSeries([shapely.box(*SYNTH_BOX)], crs="EPSG:4326").to_crs(METRIC_CRS).iloc[0]
    box = shapely.box(*box.bounds).intersection(box)  # the metric box inside the lon/lat one
    x0, y0, x1, y1 = box.bounds

    def seeds(n: int) -> Any:
        pts = np.empty((0, 2))
        shapely.prepare(box)
        while len(pts) < n:
            cand = np.column_stack([rng.uniform(x0, x1, 2 * n), rng.uniform(y0, y1, 2 * n)])
            pts = np.vstack([pts, cand[shapely.contains_xy(box, cand[:, 0], cand[:, 1])]])
        return pts[:n]

    def voronoi(points: Any) -> Any:
        diagram = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=box, ordered=True)
        return np.asarray(shapely.intersection(np.asarray(shapely.get_parts(diagram)), box))

    cells = voronoi(shapely.get_coordinates(shapely.centroid(voronoi(seeds(n_grids)))))  # one Lloyd step
    cells = shapely.segmentize(cells, 50.0)
    grids = gpd.GeoDataFrame({"i": np.arange(n_grids)}, geometry=cells, crs=METRIC_CRS).to_crs("EPSG:4326")

    lines = []
    for _ in range(n_reaches):
        pts = [np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])]
        heading, length, walked = rng.uniform(0, 2 * math.pi), rng.uniform(2_000, 5_000), 0.0
        while walked < length:
            step = rng.uniform(50, 200)
            heading += rng.normal(0, 0.3)
            nxt = pts[-1] + step * np.array([math.cos(heading), math.sin(heading)])
            if not (x0 <= nxt[0] <= x1 and y0 <= nxt[1] <= y1):
                heading += math.pi
                continue
            pts.append(nxt)
            walked += step
        lines.append(shapely.LineString(np.round(pts, 2)))
    reaches = gpd.GeoDataFrame({"i": np.arange(n_reaches)}, geometry=lines, crs=METRIC_CRS).to_crs("EPSG:4326")
    return grids, reaches


def load_bench_data(database_url: str, *, n_grids: int, n_reaches: int, seed: int) -> dict[str, int]:
    """The demo plus the synthetic grids and reaches, written through the store (``system``)."""
    import shapely  # noqa: PLC0415 — heavy; only the data step needs it
    from sqlalchemy import func, select  # noqa: PLC0415 — the store's library, for the counts

    from gis.auth import SYSTEM  # noqa: PLC0415 — the project, imported when the data is built
    from gis.demo.load import load_demo  # noqa: PLC0415
    from gis.store import Store  # noqa: PLC0415
    from gis.store.schema import Grid, Reach, River  # noqa: PLC0415

    store = Store(database_url)
    try:
        load_demo(store)
        grids, reaches = synthetic_frames(n_grids, n_reaches, seed)
        with store.session(SYSTEM) as s:
            county = s.scalars(select(Grid).where(Grid.level == "county")).one()
            township = Grid(
                name="基准镇（合成）",
                code="BENCH",
                level="township",
                parent=county,
                responsible_body="基准镇人民政府",
                geom=shapely.box(*SYNTH_BOX),
            )
            s.add(township)
            s.flush()
            for k, geom in enumerate(grids.geometry):
                s.add(
                    Grid(
                        name=f"基准村{k + 1:04d}",
                        code=f"BENCH-{k + 1:04d}",
                        level="village",
                        parent_id=township.id,
                        responsible_body=f"基准村{k + 1:04d}村民委员会",
                        area_desc=f"基准镇合成网格第 {k + 1} 号",
                        duties="巡查河道，发现问题及时上报",
                        tasks="每周巡查一次",
                        hotline="0439-0000000",
                        geom=geom,
                    )
                )
        with store.session(SYSTEM) as s:
            rivers = [River(name=f"基准河{k + 1:04d}", level="village") for k in range(math.ceil(n_reaches / 10))]
            s.add_all(rivers)
            s.flush()
            for k, geom in enumerate(reaches.geometry):
                s.add(
                    Reach(
                        river_id=rivers[k // 10].id,
                        name=f"基准河段{k + 1:05d}",
                        code=f"BENCH-R{k + 1:05d}",
                        level="village",
                        geom=geom,
                    )
                )
        with store.session() as s:
            counts = {
                "grids": int(s.scalar(select(func.count()).select_from(Grid)) or 0),
                "reaches": int(s.scalar(select(func.count()).select_from(Reach)) or 0),
                "grid_vertices": int(sum(shapely.get_num_coordinates(list(grids.geometry)))),
                "reach_vertices": int(sum(shapely.get_num_coordinates(list(reaches.geometry)))),
                "deleted": int(
                    (s.scalar(select(func.count()).select_from(Grid).where(Grid.deleted_at.is_not(None))) or 0)
                    + (s.scalar(select(func.count()).select_from(Reach).where(Reach.deleted_at.is_not(None))) or 0)
                ),
            }
        with store.session() as s:  # fresh statistics for the planner, as autovacuum would give
            s.connection().exec_driver_sql("ANALYZE grids; ANALYZE reaches")
    finally:
        store.dispose()
    return counts


def dongxing_points(database_url: str, n: int, seed: int) -> list[tuple[float, float]]:
    """``n`` random points (lon, lat) well inside the demo's 东兴村 (50 m from its edge)."""
    import numpy as np  # noqa: PLC0415 — heavy; only the data step needs it
    import shapely  # noqa: PLC0415 — heavy; only the data step needs it
    from sqlalchemy import select  # noqa: PLC0415 — the store's library

    from gis.store import Store  # noqa: PLC0415 — the project, imported when the data is built
    from gis.store.schema import Grid  # noqa: PLC0415

    store = Store(database_url)
    try:
        with store.session() as s:
            village = s.scalars(select(Grid).where(Grid.name.like("%东兴村"), Grid.deleted_at.is_(None))).one()
            area = shapely.buffer(village.geom, -0.0006)  # about 50 m inside, in degrees
    finally:
        store.dispose()
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = area.bounds
    shapely.prepare(area)
    points: list[tuple[float, float]] = []
    while len(points) < n:
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if shapely.contains_xy(area, x, y):
            points.append((round(float(x), 6), round(float(y), 6)))
    return points


@contextmanager
def bench_schema(base_url: str, *, keep: bool) -> Iterator[tuple[str, str]]:
    """A fresh schema ``bench_api_<random>``: yields (its name, the database URL pointing at it)."""
    from sqlalchemy import create_engine, text  # noqa: PLC0415 — the store's library

    schema = f"bench_api_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base_url else "?"
    try:
        yield schema, f"{base_url}{sep}options=-csearch_path%3D{schema},public"
    finally:
        if keep:
            print(f"kept schema {schema}")
        else:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


# ---------------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------------


@dataclass
class Server:
    """A server process (its own session: the group holds its workers) and where it listens."""

    name: str
    label: str
    process: subprocess.Popen[bytes]
    port: int
    prefix: str
    """Path prefix of the OGC API (``/api/ogc`` or empty)."""
    log_path: Path
    app_name: str
    """``application_name`` of its PostgreSQL connections (to find their backends)."""

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)


def wait_healthy(server: Server, path: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log()[-4000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            conn.request("GET", path)
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.25)
    server.stop()
    raise RuntimeError(f"{server.name} not healthy after {STARTUP_TIMEOUT_S:.0f} s:\n{server.log()[-4000:]}")


def with_app_name(database_url: str, app_name: str) -> str:
    sep = "&" if "?" in database_url else "?"
    return f"{database_url}{sep}application_name={app_name}"


NODELAY_LAUNCHER = """
import socket, sys
from streamlit.web.server.starlette import starlette_server

bind = starlette_server._bind_socket

def bind_nodelay(*args, **kwargs):
    sock = bind(*args, **kwargs)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted connections
    return sock

starlette_server._bind_socket = bind_nodelay
from ui.serve import main
sys.exit(main(sys.argv[1:]))
"""
"""``python -m ui.serve`` with TCP_NODELAY on Streamlit's listening socket (variant ``nodelay``)."""

RIVERGRID_VARIANTS = {
    "serve": ("RiverGrid", "RiverGrid (python -m ui.serve, 1 process)"),
    "nodelay": ("RG+nodelay", "RiverGrid (python -m ui.serve, 1 process, TCP_NODELAY on its socket)"),
    "uvicorn2": ("RiverGrid×2", "RiverGrid (uvicorn asgi:app --workers 2, API only)"),
}
"""How RiverGrid is started (``--rivergrid``): name in the tables, label."""


def start_rivergrid(database_url: str, work: Path, variant: str = "serve") -> Server:
    """RiverGrid on the bench schema: ``serve`` is ``python -m ui.serve`` (pages and API in one
    process, as the README starts it); ``nodelay`` the same with TCP_NODELAY set on the socket
    Streamlit binds (:data:`NODELAY_LAUNCHER`); ``uvicorn2`` the same application (``asgi.py``)
    in two uvicorn worker processes, which bind their socket themselves (TCP_NODELAY set by
    asyncio); fine for the API, not for the pages (they need sticky sessions: README)."""
    name, label = RIVERGRID_VARIANTS[variant]
    port = free_port()
    data_dir = work / f"rivergrid-{variant}"
    data_dir.mkdir(exist_ok=True)
    app_name = f"rivergrid-bench-{variant}"
    env = {
        **os.environ,
        "DATABASE_URL": with_app_name(database_url, app_name),
        "RIVERGRID_DATA_DIR": str(data_dir),
        "RIVERGRID_BASEMAP": "none",
        "RIVERGRID_API_RATE_KEY": str(RATE_LIMIT),
        "RIVERGRID_API_RATE_IP": str(RATE_LIMIT),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
    }
    for unset in ("TIANDITU_KEY", "RIVERGRID_DEMO"):
        env.pop(unset, None)
    streamlit_args = ["--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1"]
    if variant == "serve":
        command = [sys.executable, "-m", "ui.serve", *streamlit_args]
    elif variant == "nodelay":
        command = [sys.executable, "-c", NODELAY_LAUNCHER, *streamlit_args]
    else:
        command = [sys.executable, "-m", "uvicorn", "asgi:app", "--workers", "2", "--host", "127.0.0.1",
                   "--port", str(port), "--no-access-log", "--log-level", "warning"]  # fmt: skip
    log_path = work / f"rivergrid-{variant}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    server = Server(name, label, process, port, "/api/ogc", log_path, app_name)
    wait_healthy(server, "/api/")
    return server


def start_pygeoapi(database_url: str, work: Path, venv: Path, *, workers: int, threads: int) -> Server:
    """pygeoapi under gunicorn (``workers`` × gthread ``threads``) on the same tables."""
    port = free_port()
    config = work / "pygeoapi-config.yml"
    openapi = work / "pygeoapi-openapi.yml"
    config.write_text(to_yaml(make_config(database_url, port=port)), encoding="utf-8")
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    env.pop("PYTHONPATH", None)
    subprocess.run([str(venv / "bin" / "pygeoapi"), "openapi", "generate", str(config), "--output-file", str(openapi)],
                   env=env, check=True, capture_output=True, cwd=work)  # fmt: skip
    log_path = work / "pygeoapi.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(venv / "bin" / "gunicorn"), "--workers", str(workers), "--worker-class", "gthread",
             "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--no-control-socket",
             "pygeoapi.flask_app:APP"],
            cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    label = f"pygeoapi 0.21.0 (gunicorn {workers} workers × {threads} threads)"
    server = Server("pygeoapi", label, process, port, "", log_path, "pygeoapi")
    wait_healthy(server, "/collections/grids")
    return server


# ---------------------------------------------------------------------------------------------
# CPU accounting (Linux /proc)
# ---------------------------------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(process group, CPU seconds user + system) of ``pid``; None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[2]), (int(fields[11]) + int(fields[12])) / TICKS


def group_cpu(pgid: int) -> dict[int, float]:
    """CPU seconds of every live process in process group ``pgid``, by pid."""
    out: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[0] == pgid:
                out[int(entry.name)] = stat[1]
    return out


def backend_cpu(engine: Any, app_name: str) -> dict[int, float]:
    """CPU seconds of the PostgreSQL backends serving connections named ``app_name``, by pid
    (empty when the database server is not on this machine)."""
    from sqlalchemy import text  # noqa: PLC0415 — the store's library

    with engine.connect() as conn:
        pids = (
            conn.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"), {"name": app_name})
            .scalars()
            .all()
        )
    out: dict[int, float] = {}
    for pid in pids:
        stat = _stat(int(pid))
        if stat is not None:
            out[int(pid)] = stat[1]
    return out


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two snapshots (processes that appeared count from zero)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


# ---------------------------------------------------------------------------------------------
# Load
# ---------------------------------------------------------------------------------------------

Request = tuple[str, str, bytes | None, dict[str, str]]
"""method, path with query, body, headers."""


@dataclass
class Cell:
    """What one server did at one concurrency for one kind of request."""

    server: str
    kind: str
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    bytes: int = 0
    sample_error: str = ""
    server_cpu_s: float = 0.0
    db_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    load_before: float = 0.0
    load_after: float = 0.0

    @property
    def done(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.done / self.seconds

    def pct_ms(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * (self.server_cpu_s + self.db_cpu_s) / self.done if self.done else float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "kind": self.kind,
            "clients": self.clients,
            "requests": self.done,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.pct_ms(0.50), 1),
            "p95_ms": round(self.pct_ms(0.95), 1),
            "errors": self.errors,
            "mean_kb": round(self.bytes / self.done / 1000, 1) if self.done else None,
            "server_cpu_s": round(self.server_cpu_s, 2),
            "db_cpu_s": round(self.db_cpu_s, 2),
            "client_cpu_s": round(self.client_cpu_s, 2),
            "cpu_ms_per_request": round(self.cpu_ms_per_request, 2),
            "load": [round(self.load_before, 2), round(self.load_after, 2)],
        }


def run_cell(
    server: Server,
    kind: str,
    make: Callable[[int, int], Request],
    *,
    clients: int,
    warmup: float,
    seconds: float,
    ok: tuple[int, ...],
    monitor: Any,
) -> Cell:
    """``clients`` threads, each on its own keep-alive connection, sending ``make(thread, i)``
    back to back; latencies of the requests completed inside the measured window."""
    cell = Cell(server.name, kind, clients, seconds)
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    window: list[float] = []

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        mine: list[float] = []
        errors = 0
        size = 0
        statuses: dict[int, int] = {}
        sample = ""
        barrier.wait()
        start, end = window
        i = 0
        while time.perf_counter() < end:
            method, path, body, headers = make(index, i)
            i += 1
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                status = response.status
                if response.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                errors += 1
                sample = sample or f"{type(exc).__name__}: {exc}"
                continue
            t1 = time.perf_counter()
            if start <= t1 <= end:
                statuses[status] = statuses.get(status, 0) + 1
                if status in ok:
                    mine.append(t1 - t0)
                    size += len(data)
                else:
                    errors += 1
                    sample = sample or f"{status}: {data[:300].decode('utf-8', 'replace')}"
        conn.close()
        with lock:
            cell.latencies.extend(mine)
            cell.errors += errors
            cell.bytes += size
            for k, v in statuses.items():
                cell.statuses[k] = cell.statuses.get(k, 0) + v
            cell.sample_error = cell.sample_error or sample

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    cell.load_before = os.getloadavg()[0]
    now = time.perf_counter()
    window.extend([now + warmup, now + warmup + seconds])
    barrier.wait()
    time.sleep(max(0.0, window[0] - time.perf_counter()))
    srv0, db0, cli0 = group_cpu(server.process.pid), backend_cpu(monitor, server.app_name), time.process_time()
    time.sleep(max(0.0, window[1] - time.perf_counter()))
    srv1, db1, cli1 = group_cpu(server.process.pid), backend_cpu(monitor, server.app_name), time.process_time()
    for t in threads:
        t.join()
    cell.server_cpu_s = cpu_delta(srv0, srv1)
    cell.db_cpu_s = cpu_delta(db0, db1)
    cell.client_cpu_s = cli1 - cli0
    cell.load_after = os.getloadavg()[0]
    return cell


# ---------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------

GEOJSON = {"Accept": "application/geo+json, application/json;q=0.9"}


def items_path(prefix: str, collection: str, bbox: tuple[float, float, float, float], limit: int) -> str:
    """``{prefix}/collections/{collection}/items?bbox=…&limit=…``."""
    query = urllib.parse.urlencode({"bbox": ",".join(f"{v:g}" for v in bbox), "limit": limit}, safe=",")
    return f"{prefix}/collections/{collection}/items?{query}"


def get_json(server: Server, path: str) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        conn.request("GET", path, headers=GEOJSON)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, None


def compare_items(servers: list[Server], collections: list[str], limit: int) -> list[str]:
    """Both servers' answers for every bbox: printed, and WARNING lines where they differ."""
    warnings = []
    for collection in collections:
        for name, bbox in BBOXES:
            seen: dict[str, tuple[set[str], Any]] = {}
            for server in servers:
                status, body = get_json(server, items_path(server.prefix, collection, bbox, limit))
                if status != 200 or not isinstance(body, dict):
                    warnings.append(f"WARNING {server.name} {collection} {name}: HTTP {status}")
                    continue
                ids = {str(f.get("id")) for f in body.get("features", [])}
                seen[server.name] = (ids, body.get("numberMatched"))
            if len(seen) == 2:
                (a_name, (a_ids, a_matched)), (b_name, (b_ids, b_matched)) = seen.items()
                full = len(a_ids) < limit and len(b_ids) < limit
                same = a_ids == b_ids if full else (a_matched is None or b_matched is None or a_matched == b_matched)
                detail = ", ".join(f"{n} {len(i)} returned / {m} matched" for n, (i, m) in seen.items())
                print(f"  {collection:8s} {name:11s} {detail}" + ("" if same else "  ← DIFFERENT"))
                if not same:
                    only_a, only_b = sorted(a_ids - b_ids)[:5], sorted(b_ids - a_ids)[:5]
                    warnings.append(
                        f"WARNING {collection} {name}: the servers disagree (only {a_name}: {only_a}; "
                        f"only {b_name}: {only_b}; matched {a_matched} vs {b_matched})"
                    )
            elif seen:
                ((n, (ids, matched)),) = seen.items()
                print(f"  {collection:8s} {name:11s} {n} {len(ids)} returned / {matched} matched")
    return warnings


def route_exists(server: Server, path: str) -> bool:
    status, _ = get_json(server, path)
    return status != 404


def create_key(database_url: str) -> str:
    """A patroller's API key (``gis token create``), as an Open311 client would be given."""
    done = subprocess.run(
        [sys.executable, "-m", "gis", "token", "create", "--user", "patroller", "--name", "bench",
         "--json", "--database-url", database_url],
        cwd=REPO, capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    return str(json.loads(done.stdout)["key"])


def service_codes(server: Server) -> list[str]:
    status, body = get_json(server, "/api/open311/v2/services.json")
    if status != 200 or not isinstance(body, list):
        return []
    return [str(s["service_code"]) for s in body if isinstance(s, dict) and "service_code" in s]


def open311_check(server: Server, key: str, code: str, point: tuple[float, float]) -> list[str]:
    """One POST before timing: printed with the grid it was routed to, read back by its id."""
    form = {"api_key": key, "service_code": code, "lat": f"{point[1]}", "long": f"{point[0]}",
            "description": "基准测试：受理检查"}  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        conn.request("POST", "/api/open311/v2/requests.json", body=urllib.parse.urlencode(form).encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    if response.status not in (200, 201):
        return [f"WARNING open311 POST: HTTP {response.status}: {raw[:300].decode('utf-8', 'replace')}"]
    created = json.loads(raw)[0]
    status, body = get_json(server, f"/api/open311/v2/requests/{created['service_request_id']}.json")
    if status != 200 or not body:
        return [f"WARNING open311 GET requests/{created['service_request_id']}.json: HTTP {status}"]
    grid = body[0].get("agency_responsible", "")
    print(f"  POST → {response.status} {created['service_request_id']}, read back: {body[0]['status']}, {grid}")
    return [] if grid.endswith("东兴村") else [f"WARNING open311 POST routed to {grid!r}, not 东兴村"]


def profile_rivergrid(database_url: str, collection: str, limit: int, n: int, rows: int = 25) -> None:
    """``n`` items requests (the bboxes in turn) through RiverGrid's API application in this
    process under cProfile, no HTTP server: the time per request and where it goes. Starlette's
    thread pool is replaced by inline calls so that the profiler sees the routes' work."""
    import asyncio  # noqa: PLC0415 — profile mode only
    import cProfile  # noqa: PLC0415
    import pstats  # noqa: PLC0415

    import anyio.to_thread  # noqa: PLC0415 — Starlette's thread pool, replaced below

    os.environ.update(
        DATABASE_URL=database_url, RIVERGRID_API_RATE_KEY=str(RATE_LIMIT), RIVERGRID_API_RATE_IP=str(RATE_LIMIT)
    )

    async def inline(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = inline  # type: ignore[assignment]
    from api import api_app  # noqa: PLC0415 — the project's API, imported with the settings above
    from gis.serving import process_store  # noqa: PLC0415

    process_store()
    app = api_app()
    sizes: list[int] = []

    async def one(path: str, query: str) -> None:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": query.encode(), "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 80),
            "headers": [(b"host", b"127.0.0.1"), (b"accept", GEOJSON["Accept"].encode())],
        }  # fmt: skip
        size = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal size
            if message["type"] == "http.response.start" and message["status"] != 200:
                raise RuntimeError(f"{path}?{query}: HTTP {message['status']}")
            size += len(message.get("body", b""))

        await app(scope, receive, send)
        sizes.append(size)

    requests = [items_path("/ogc", collection, bbox, limit).split("?", 1) for _, bbox in BBOXES]
    loop = asyncio.new_event_loop()
    for path, query in requests:  # warm: caches, connections
        loop.run_until_complete(one(path, query))
    profiler = cProfile.Profile()
    t = time.perf_counter()
    profiler.enable()
    for i in range(n):
        loop.run_until_complete(one(*requests[i % len(requests)]))
    profiler.disable()
    wall = time.perf_counter() - t
    loop.close()
    print(
        f"\nprofile: {n} requests of {collection} items in process (no HTTP server, under cProfile): "
        f"{1000 * wall / n:.1f} ms/request, {sum(sizes[-n:]) / n / 1000:.0f} kB/response"
    )
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs().sort_stats("cumulative").print_stats(rows)
    stats.sort_stats("tottime").print_stats(rows)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

COLUMN = 33


def _fmt(cell: Cell | None) -> str:
    if cell is None:
        return f"{'—':>7s} {'—':>7s} {'—':>8s} {'—':>7s}"
    return f"{cell.rps:7.1f} {cell.pct_ms(0.5):7.1f} {cell.pct_ms(0.95):8.1f} {cell.cpu_ms_per_request:7.1f}"


def print_table(title: str, cells: list[Cell], levels: list[int], names: list[str], reference: str | None) -> None:
    """One row per concurrency, one column group per server; ``ratio`` is each server's
    requests/second over the ``reference`` server's."""
    others = [n for n in names if n != reference] if reference else []
    head = f"{'req/s':>7s} {'p50 ms':>7s} {'p95 ms':>8s} {'cpu ms':>7s}"
    print(f"\n{title}")
    print(
        f"{'clients':>7s} | "
        + " | ".join(f"{n:^{COLUMN}s}" for n in names)
        + ("".join(f" | {n[:11]:>11s}" for n in others) if others else "")
    )
    print(
        f"{'':7s} | "
        + " | ".join(head for _ in names)
        + "".join(f" | {'÷ ' + str(reference)[:9]:>11s}" for _ in others)
    )
    for level in levels:
        row = {n: next((c for c in cells if c.server == n and c.clients == level), None) for n in names}
        line = f"{level:7d} | " + " | ".join(_fmt(row[n]) for n in names)
        ref = row.get(reference) if reference else None
        for n in others:
            cell = row[n]
            ok = cell is not None and ref is not None and ref.rps > 0
            line += f" | {cell.rps / ref.rps:11.2f}" if ok else f" | {'—':>11s}"  # type: ignore[union-attr]
        print(line)
    for cell in cells:
        extra = f"; {cell.errors} errors, first: {cell.sample_error[:200]}" if cell.errors else ""
        print(
            f"  {cell.server:11s} {cell.clients:3d} clients: {cell.done} requests, "
            f"CPU server {cell.server_cpu_s:.1f} s, "
            f"PostgreSQL {cell.db_cpu_s:.1f} s, client {cell.client_cpu_s:.1f} s; "
            f"{cell.bytes / max(cell.done, 1) / 1000:.0f} kB/response; load {cell.load_before:.2f} → "
            f"{cell.load_after:.2f}{extra}"
        )


def _report_line(kind: str, cell: Cell) -> None:
    print(
        f"{kind:16s} {cell.server:11s} {cell.clients:3d} clients: {cell.rps:7.1f} req/s, "
        f"p50 {cell.pct_ms(0.5):7.1f} ms, p95 {cell.pct_ms(0.95):7.1f} ms, "
        f"{cell.errors} errors, load {cell.load_after:.2f}",
        flush=True,
    )


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grids", type=int, default=2000, help="synthetic village grids")
    parser.add_argument("--reaches", type=int, default=5000, help="synthetic reaches")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per cell")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each cell")
    parser.add_argument("--concurrency", default="1,10,50", help="concurrent clients, comma-separated")
    parser.add_argument("--limit", type=int, default=100, help="limit= of the items requests")
    parser.add_argument("--collections", default="grids,reaches")
    parser.add_argument(
        "--rivergrid",
        default="serve",
        help=f"how to start RiverGrid, comma-separated, of {', '.join(RIVERGRID_VARIANTS)} (see start_rivergrid)",
    )
    parser.add_argument("--no-open311", action="store_true", help="skip the Open311 POST cells")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--pygeoapi-venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--pygeoapi-workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--pygeoapi-threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-schema", action="store_true")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="instead of the load: N items requests of each collection in process under cProfile (RiverGrid only)",
    )
    args = parser.parse_args(argv)
    base_url = args.database_url or os.environ.get("RIVERGRID_TEST_PG_URL") or os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgresql"):
        parser.error("a PostGIS database is needed: --database-url, RIVERGRID_TEST_PG_URL or DATABASE_URL")
    levels = [int(v) for v in args.concurrency.split(",") if v.strip()]
    collections = [c.strip() for c in args.collections.split(",") if c.strip()]
    variants = [v.strip() for v in args.rivergrid.split(",") if v.strip()]
    unknown = [v for v in variants if v not in RIVERGRID_VARIANTS]
    if unknown or not variants:
        parser.error(f"--rivergrid: unknown {unknown}; choose from {', '.join(RIVERGRID_VARIANTS)}")

    if args.profile:
        with bench_schema(base_url, keep=args.keep_schema) as (schema, url):
            counts = load_bench_data(url, n_grids=args.grids, n_reaches=args.reaches, seed=args.seed)
            print(f"data in schema {schema}: {counts['grids']:,} grids, {counts['reaches']:,} reaches")
            for collection in collections:
                profile_rivergrid(url, collection, args.limit, args.profile)
        return 0
    subprocess.run(["bash", str(PYGEOAPI_DIR / "setup.sh"), str(args.pygeoapi_venv)], check=True)
    from sqlalchemy import create_engine  # noqa: PLC0415 — the store's library
    from sqlalchemy.pool import NullPool  # noqa: PLC0415

    work = Path(tempfile.mkdtemp(prefix="rivergrid-bench-api-"))
    monitor = create_engine(base_url, poolclass=NullPool)
    cells: list[Cell] = []
    warnings: list[str] = []
    servers: list[Server] = []
    rivergrids: list[Server] = []
    counts: dict[str, int] = {}
    try:
        with bench_schema(base_url, keep=args.keep_schema) as (schema, url):
            t = time.perf_counter()
            counts = load_bench_data(url, n_grids=args.grids, n_reaches=args.reaches, seed=args.seed)
            print(
                f"data in schema {schema}: {counts['grids']:,} grids, {counts['reaches']:,} reaches (synthetic: "
                f"{counts['grid_vertices']:,} and {counts['reach_vertices']:,} vertices), "
                f"{counts['deleted']} soft-deleted ({time.perf_counter() - t:.1f} s)",
                flush=True,
            )
            for variant in variants:
                rivergrids.append(start_rivergrid(url, work, variant))
                servers.append(rivergrids[-1])
            pygeoapi = start_pygeoapi(url, work, args.pygeoapi_venv, workers=args.pygeoapi_workers,
                                      threads=args.pygeoapi_threads)  # fmt: skip
            servers.append(pygeoapi)
            for server in servers:
                print(f"server {server.name}: {server.label} on :{server.port}")
            print(f"machine: {os.cpu_count()} CPUs, load {', '.join(f'{v:.2f}' for v in os.getloadavg())}")

            item_servers = []
            for server in servers:
                if route_exists(server, f"{server.prefix}/collections/grids/items?limit=1"):
                    item_servers.append(server)
                else:
                    print(f"{server.name}: {server.prefix}/collections/…/items answers 404 (not built yet): skipped")
            print(f"bboxes ({len(BBOXES)}, limit={args.limit}):")
            for server in item_servers[:-1]:  # each RiverGrid against pygeoapi (the last)
                warnings += compare_items([server, item_servers[-1]], collections, args.limit)
            for w in warnings:
                print(w)

            for collection in collections:
                for level in levels:
                    for server in item_servers:

                        def make(index: int, i: int, server: Server = server, collection: str = collection) -> Request:
                            _, bbox = BBOXES[(index + i) % len(BBOXES)]
                            return "GET", items_path(server.prefix, collection, bbox, args.limit), None, GEOJSON

                        cell = run_cell(server, f"items/{collection}", make, clients=level, warmup=args.warmup,
                                        seconds=args.seconds, ok=(200,), monitor=monitor)  # fmt: skip
                        cells.append(cell)
                        _report_line(f"items {collection}", cell)

            codes = service_codes(rivergrids[0]) if not args.no_open311 else []
            if not args.no_open311 and not codes:
                print("RiverGrid: /api/open311/v2/services.json has no services (not built yet): Open311 skipped")
            if codes:
                key = create_key(url)
                points = dongxing_points(url, 500, args.seed)
                code = codes[0]
                print(f"open311: service_code {code!r}, {len(points)} points inside 东兴村, a patroller's key")
                warnings += open311_check(rivergrids[0], key, code, points[0])
                for level in levels:
                    for server in rivergrids:

                        def post(index: int, i: int, level: int = level, server: Server = server) -> Request:
                            lon, lat = points[(index * 7919 + i) % len(points)]
                            text = f"基准测试上报：{server.name}，{level} 个客户端，第 {index} 号的第 {i} 条"
                            form = {"api_key": key, "service_code": code, "lat": f"{lat}", "long": f"{lon}",
                                    "description": text}  # fmt: skip
                            body = urllib.parse.urlencode(form).encode()
                            headers = {
                                "Content-Type": "application/x-www-form-urlencoded",
                                "Accept": "application/json",
                            }
                            return "POST", "/api/open311/v2/requests.json", body, headers

                        cell = run_cell(server, "open311", post, clients=level, warmup=args.warmup,
                                        seconds=args.seconds, ok=(200, 201), monitor=monitor)  # fmt: skip
                        cells.append(cell)
                        _report_line("open311 POST", cell)
            for server in servers:
                server.stop()
    finally:
        for server in servers:
            server.stop()
        monitor.dispose()
        shutil.rmtree(work, ignore_errors=True)

    names = [s.name for s in servers]
    for kind in dict.fromkeys(c.kind for c in cells):
        if kind.startswith("items"):
            title = f"{kind}: GET items?bbox=…&limit={args.limit} ({len(BBOXES)} bboxes in turn)"
            print_table(title, [c for c in cells if c.kind == kind], levels, names, reference=names[-1])
        else:
            title = "open311: POST requests.json (a new case each)"
            print_table(title, [c for c in cells if c.kind == kind], levels, [s.name for s in rivergrids], None)
    print(
        "\ncpu ms = CPU of the server's processes and of its PostgreSQL backends per request; "
        f"ratio = req/s ÷ {names[-1]}'s"
    )
    for server in servers:
        print(f"server {server.name}: {server.label}")
    print(f"machine: {os.cpu_count()} CPUs, load {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for w in warnings:
        print(w)
    print(
        json.dumps(
            {
                "data": counts,
                "limit": args.limit,
                "seconds": args.seconds,
                "servers": {s.name: s.label for s in servers},
                "cpus": os.cpu_count(),
                "cells": [c.summary() for c in cells],
                "warnings": warnings,
            },
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

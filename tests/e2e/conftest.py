"""End-to-end fixtures: a real ``streamlit run`` server and a headless Chromium that may not
leave this machine.

Fixtures
--------
``app_server``
    Factory ``app_server(env=None, *, app=<repo>/app.py) -> base_url``: starts
    ``streamlit run APP --server.headless true --server.port <free> --server.address 127.0.0.1``
    from the repository folder (so ``.streamlit/config.toml`` applies) in demo mode
    (``RIVERGRID_DEMO=1``, unless ``env`` says otherwise) with ``env`` added to the
    environment and the repository on ``PYTHONPATH``, waits for ``/_stcore/health`` and returns
    ``http://127.0.0.1:<port>``. Every server is stopped at teardown; its log is printed when
    the test failed. Static files are served from ``static/`` beside ``APP``. In demo mode with
    a ``RIVERGRID_DATA_DIR`` of the test's own and no ``DATABASE_URL``, a data folder without a
    database gets a copy of the session's demo template first (what the app's first start would
    load; ``tests/conftest.py``).
``browser``
    Session-wide headless Chromium (``/usr/bin/chromium``).
``blocked_requests``
    List of :class:`BlockedRequest` that ``page`` refused because their host is not
    127.0.0.1/localhost (a test asserts on it, e.g. "no script or stylesheet from outside").
``page``
    A fresh page (1400×900) in its own context; requests leaving the machine are aborted.
``browser_errors``
    Uncaught exceptions and ``console.error`` messages of ``page`` and its frames.

Tests using them are marked ``@pytest.mark.e2e``. Without ``/usr/bin/chromium`` they are skipped
on a developer machine, but fail under ``CI=true``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .demo import use_template

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
STARTUP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class BlockedRequest:
    """A request the browser wanted to send off this machine."""

    url: str
    resource_type: str  # Playwright's: "script", "stylesheet", "font", "image", "fetch", …

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if IN_CI:
        pytest.fail(f"{CHROMIUM} is missing: end-to-end tests must run in CI")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium fonts-noto-cjk)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Remember each phase's report on the item, so fixtures can tell whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@dataclass
class _Server:
    app: Path
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def _wait_healthy(server: _Server, base_url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"streamlit exited with {server.process.returncode} before it was healthy:\n"
                + server.log()
            )
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    pytest.fail(f"streamlit not healthy after {STARTUP_TIMEOUT_S:.0f} s:\n" + server.log())


@pytest.fixture(autouse=True)
def _demo_template(demo_sqlite_copy: Callable[[Path], Path]) -> None:
    """``e2e.demo.demo_store()`` copies the session's demo template (built once, by the first e2e test)."""
    use_template(demo_sqlite_copy)


@pytest.fixture
def app_server(request: pytest.FixtureRequest) -> Iterator[Callable[..., str]]:
    """Factory: ``app_server(env=None, *, app=REPO / "app.py") -> "http://127.0.0.1:PORT"``."""
    servers: list[_Server] = []
    log_dir = Path(tempfile.mkdtemp(prefix="rivergrid-e2e-"))
    demo_copy: Callable[[Path], Path] = request.getfixturevalue("demo_sqlite_copy")

    def start(env: dict[str, str] | None = None, *, app: Path | str = REPO / "app.py") -> str:
        app = Path(app).resolve()
        port = _free_port()
        full_env = {**os.environ, "RIVERGRID_DEMO": "1", **(env or {})}
        data_dir = (env or {}).get("RIVERGRID_DATA_DIR")
        if full_env["RIVERGRID_DEMO"] == "1" and data_dir and not full_env.get("DATABASE_URL"):
            database = Path(data_dir) / "rivergrid.sqlite"
            if not database.exists():
                demo_copy(database)
        full_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), full_env.get("PYTHONPATH", "")) if p
        )
        full_env.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
        log_path = log_dir / f"streamlit-{port}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    # the real app starts as deployed (scripts/run_app.sh); test apps plainly
                    *(["ui.serve"] if app == (REPO / "app.py").resolve() else ["streamlit", "run", str(app)]),
                    "--server.headless",
                    "true",
                    "--server.port",
                    str(port),
                    "--server.address",
                    "127.0.0.1",
                ],
                cwd=REPO,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = _Server(app=app, process=process, log_path=log_path)
        servers.append(server)
        base_url = f"http://127.0.0.1:{port}"
        _wait_healthy(server, base_url)
        return base_url

    yield start

    failed = any(
        getattr(getattr(request.node, f"rep_{when}", None), "failed", False)
        for when in ("setup", "call")
    )
    for server in servers:
        server.stop()
        if failed:
            print(f"\n----- streamlit log ({server.app}) -----\n{server.log()}")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Chromium from Debian's package, shared by the session."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def blocked_requests() -> list[BlockedRequest]:
    """Requests that ``page`` aborted because they would leave this machine."""
    return []


@pytest.fixture
def browser_errors() -> list[str]:
    """Uncaught page errors and console errors seen by ``page``."""
    return []


@pytest.fixture
def page(
    browser: object, blocked_requests: list[BlockedRequest], browser_errors: list[str], request: pytest.FixtureRequest
) -> Iterator[object]:
    """A new page (1400×900, zh-CN) whose requests to other hosts are aborted and recorded."""
    from .browser import offline_page

    pg = offline_page(browser, blocked_requests, browser_errors)
    context = pg.context
    yield pg
    failed = any(getattr(getattr(request.node, f"rep_{when}", None), "failed", False) for when in ("setup", "call"))
    if failed:  # what the user saw: the messages on the page and a screenshot, for the CI log
        try:
            for frame_texts in (pg.locator('[data-testid="stAlert"], [data-testid="stException"]').all_inner_texts(),):
                print("\n----- messages on the page -----\n" + "\n".join(frame_texts))
            shot = Path(tempfile.mkdtemp(prefix="rivergrid-e2e-shot-")) / "failure.png"
            pg.screenshot(path=str(shot), full_page=True)
            print(f"----- screenshot: {shot}")
        except Exception as exc:  # noqa: BLE001 - a diagnostic must not hide the failure
            print(f"(no screenshot: {exc})")
    context.close()

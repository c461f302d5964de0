"""A real RiverGrid server (``python -m ui.serve``: pages and API in one process) on a copy of
the demo, for the API tests: started once per test module and store kind (fixture
``api_server`` in ``conftest.py``), stopped at the module's end.

Tests of one module share its database: each writes what it needs and looks only at that.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ApiServer:
    """A running server: ``url`` (no trailing slash), its ``database_url`` and data folder."""

    url: str
    database_url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def api(self) -> str:
        return self.url + "/api"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def cli(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """``python -m gis ARGS --database-url <this server's>`` with the server's environment."""
        return subprocess.run(
            [sys.executable, "-m", "gis", *args, "--database-url", self.database_url],
            cwd=REPO, env=self.env, capture_output=True, text=True, timeout=300, **kwargs,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)


def start_server(database_url: str, data_dir: Path, extra_env: dict[str, str] | None = None) -> ApiServer:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "RIVERGRID_DATA_DIR": str(data_dir),
        "RIVERGRID_BASEMAP": "none",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
        **(extra_env or {}),
    }
    env.pop("TIANDITU_KEY", None)
    log_path = data_dir / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ui.serve", "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1"],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ApiServer(f"http://127.0.0.1:{port}", database_url, data_dir, process, log_path, env)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode} before it was healthy:\n{server.log()}")
        try:
            with urllib.request.urlopen(f"{server.url}/api/", timeout=2) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    server.stop()
    pytest.fail(f"the server was not healthy after {STARTUP_TIMEOUT_S:.0f} s:\n{server.log()}")

"""App servers of the benchmarks: one way to start a server on a free port, wait until it answers
and stop it with its children (``bench/map_render.py``, ``bench/pages.py``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(
    command: list[str], env: dict[str, str], log: Path, *, timeout_s: float = 180.0
) -> tuple[subprocess.Popen, str, float]:
    """``python COMMAND`` as a Streamlit server on a free port of 127.0.0.1 (in its own process
    group, output to ``log``); returns the process, its URL and the seconds until
    ``/_stcore/health`` answered."""
    port = free_port()
    t = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                *command,
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
            ],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return process, url, time.perf_counter() - t
        except OSError:
            time.sleep(0.1)
    stop_server(process)
    raise RuntimeError(f"server not healthy after {timeout_s:.0f} s")


def stop_server(process: subprocess.Popen) -> None:
    """Stop the server and its children (SIGTERM, then SIGKILL after 10 s)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)

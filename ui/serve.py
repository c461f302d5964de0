"""Start the RiverGrid app: ``python -m ui.serve [streamlit options]``.

Serves the pages and the HTTP API in one process (``asgi.py``: ``streamlit run asgi.py``), with
these fixes (:func:`prepare_process`, run again by ``asgi.py`` itself when a server such as
uvicorn imports it directly): Streamlit treats an app that has a ``pages/``
folder as a legacy multipage app until the first run of ``app.py`` calls ``st.navigation``. On a
freshly started server, the first visitor who opens a page link directly (``/audit``, from a
bookmark) would get that page run on its own, without ``app.py``'s router, sign-in state and
sidebar. Declaring up front that the app does not use the ``pages/`` folder convention closes that
window: ``app.py`` always runs first and routes.

Streamlit binds its listening socket itself without ``TCP_NODELAY`` (its socket is made with
protocol 0, so asyncio does not set the option either): every response after the first on a
kept-alive connection then waited ~40 ms for the client's delayed ACK (Nagle), which an API
client, making many requests on one connection, pays every time. :func:`prepare_process` sets the
option on the listening socket; accepted connections inherit it.

Streamlit's upload limit (``server.maxUploadSize``) is set from ``RIVERGRID_MAX_FILE_MB`` unless
given on the command line, so the browser refuses what the server would refuse anyway.
"""

from __future__ import annotations

import importlib
import math
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gis.config import settings
from ui import static_gzip

APP = Path(__file__).resolve().parent.parent / "app.py"
SERVER = APP.parent / "asgi.py"
"""The ASGI application (pages and API) that ``streamlit run`` serves."""


WARM_MODULES = (
    "geopandas",
    "folium",
    "branca",
    "gis.cli",
    "gis.grids.versions",
    "gis.incidents.workflow",
    "gis.incidents.reporting",
    "gis.patrol.service",
    "gis.patrol.track_import",
    "gis.assessment.indicators",
    "gis.disclosure.signboard",
    "gis.checks.report",
    "gis.grids.chain",
    "layers.editing",
    "layers.home_map",
    "layers.patrol_map",
    "layers.blindspots",
    "layers.public",
)
"""Imported once before the server starts: the first runs of two pages in two sessions would
otherwise import them in two threads at once, which Python's import locks can report as a
deadlock (``_DeadlockError`` on ``branca`` was seen), and the first visitor would wait for them.
(Not the ``ui`` modules: their Streamlit caches belong to the running server.)"""


def warm_imports() -> None:

    for name in WARM_MODULES:
        importlib.import_module(name)


def _no_delay(bind: Callable[..., socket.socket]) -> Callable[..., socket.socket]:
    """``bind`` whose listening socket has ``TCP_NODELAY`` set (connections accepted from it
    inherit it on Linux)."""

    def bind_no_delay(*args: Any, **kwargs: Any) -> socket.socket:
        sock = bind(*args, **kwargs)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    bind_no_delay.rivergrid_no_delay = True  # type: ignore[attr-defined]
    return bind_no_delay


def prepare_process() -> None:
    """What the serving process needs before Streamlit starts (see the module notes)."""
    from streamlit.runtime.pages_manager import PagesManager  # noqa: PLC0415 — Streamlit's server internals only when serving
    from streamlit.web.server.starlette import starlette_server  # noqa: PLC0415 — Streamlit's server internals only when serving

    PagesManager.uses_pages_directory = False
    if not getattr(starlette_server._bind_socket, "rivergrid_no_delay", False):
        starlette_server._bind_socket = _no_delay(starlette_server._bind_socket)
    static_gzip.install()  # static files gzipped once per process (no compressing proxy on intranets)
    warm_imports()


def main(argv: list[str] | None = None) -> int:
    from streamlit.web import cli  # noqa: PLC0415 — Streamlit's server internals only when serving

    prepare_process()
    args = list(sys.argv[1:] if argv is None else argv)
    if not any(a.startswith("--server.maxUploadSize") for a in args):  # the uploader follows the file limit
        args += ["--server.maxUploadSize", str(math.ceil(settings().max_file_mb))]
    sys.argv = ["streamlit", "run", str(SERVER), *args]
    return cli.main()  # type: ignore[no-any-return]


if __name__ == "__main__":
    sys.exit(main())

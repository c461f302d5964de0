"""The store of the serving process, shared by the pages and the HTTP API.

``python -m ui.serve`` runs one process that serves the pages (Streamlit) and the API
(:mod:`api`); both work on the one :class:`~gis.store.Store` that :func:`process_store` opens
the first time it is asked (the app's start-up asks, so the first visitor does not wait). With
``RIVERGRID_DEMO=1`` the demo is loaded into an empty database (never into a production one:
that is logged and the app runs on without it); open cases' deadlines follow a holiday schedule
published since the last start.
"""

from __future__ import annotations

import logging
import threading

from gis.auth import SYSTEM
from gis.config import settings
from gis.demo.load import load_demo
from gis.errors import RiverGridError
from gis.incidents.deadlines import recompute_open_deadlines
from gis.store import Store

__all__ = ["process_store"]

log = logging.getLogger("rivergrid.serving")

_lock = threading.Lock()
_stores: dict[str, Store] = {}


def process_store() -> Store:
    """The store of this process for the configured database (``DATABASE_URL`` or the data
    folder's SQLite file): opened, and the demo loaded when asked, on the first call."""
    url = settings().database_url
    with _lock:
        if url not in _stores:
            store = Store(url)
            if settings().demo:
                try:
                    load_demo(store, reset=False)
                except RiverGridError as exc:
                    log.warning("RIVERGRID_DEMO=1 ignored: %s", exc)
            try:  # a holiday schedule published since the last start: open cases' deadlines follow it
                with store.session(SYSTEM) as s:
                    recompute_open_deadlines(s)
            except RiverGridError as exc:  # a broken calendar file: the pages that count days say so
                log.warning("deadlines not recomputed: %s", exc)
            _stores[url] = store
        return _stores[url]

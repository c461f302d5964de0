"""The RiverGrid server as one ASGI application: the pages (``app.py``, Streamlit) and the HTTP
API under ``/api/`` (:mod:`api`), in one process.

Started by ``python -m ui.serve`` (which runs ``streamlit run asgi.py`` with RiverGrid's
settings); Streamlit finds ``app`` below and serves it with uvicorn. Streamlit's own routes
(``/_stcore/``, ``/static/``, ``/media/``, ``/component/``) and the pages stay as they were.
The phone app's files are served at ``/m/`` (:mod:`ui.field_app`).

The lifespan opens the process's store (:func:`gis.serving.process_store`) before the first
request, so neither the first visitor nor the first API client waits for it; the notification
pass runs from there on a schedule (:mod:`gis.notify.schedule`; ``RIVERGRID_NOTIFY_INTERVAL_S=0``
turns it off). It also prepares the bundled 简图 (:func:`gis.basemap.build.prepare_simple_basemap`):
built before the server opens when there is none yet (about a second for a county), else checked
and, if the data changed, rebuilt in a background thread while the old one is served.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.routing import Mount

from api import api_app
from gis.basemap.build import prepare_simple_basemap
from gis.config import settings
from gis.notify.schedule import run_periodically
from gis.serving import process_store
from ui import field_app
from ui.access_log import AccessLog
from ui.serve import prepare_process

prepare_process()


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[dict[str, Any]]:
    store = await run_in_threadpool(process_store)
    await run_in_threadpool(prepare_simple_basemap, store)
    # issue 18: notifications and escalation on a schedule (RIVERGRID_NOTIFY_INTERVAL_S, 0: off)
    interval = settings().notify_interval_s
    notify = asyncio.create_task(run_periodically(store, interval)) if interval > 0 else None
    try:
        yield {}
    finally:
        if notify is not None:
            notify.cancel()


app = st.App(
    Path(__file__).resolve().parent / "app.py",
    routes=[Mount("/api", app=api_app()), *field_app.routes()],
    lifespan=lifespan,
    middleware=[Middleware(AccessLog, path=settings().access_log)],
)

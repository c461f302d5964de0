"""The server's schedule: a notification pass every ``RIVERGRID_NOTIFY_INTERVAL_S`` seconds.

A plain asyncio task started from the app's lifespan (``asgi.py``) rather than APScheduler: there
is one job at one fixed interval, no calendar expressions, and nothing to persist between starts
(what a pass must not repeat is in the delivery log), so a scheduler library would add a
dependency and nothing else. Each pass runs in a worker thread (:func:`asyncio.to_thread`) so the
event loop keeps serving requests. Several server processes may run the task: the runner's lock
(:mod:`gis.notify.lock`) lets one pass run at a time and the others skip. A failed pass is logged
and the next one comes at its time. Deployments that prefer cron-like runs turn the task off
(``RIVERGRID_NOTIFY_INTERVAL_S=0``) and use the systemd timer in ``deploy/systemd/``.
"""

from __future__ import annotations

import asyncio
import logging

from gis.notify.runner import run_pass
from gis.store import Store

__all__ = ["FIRST_DELAY_S", "run_periodically"]

LOG = logging.getLogger("rivergrid.notify")

FIRST_DELAY_S = 30.0
"""The first pass waits this long after the start (the server answers its first visitors first)."""


async def run_periodically(store: Store, interval_s: float, *, first_delay_s: float = FIRST_DELAY_S) -> None:
    """Run a pass every ``interval_s`` seconds until cancelled."""
    await asyncio.sleep(min(first_delay_s, interval_s))
    while True:
        try:
            report = await asyncio.to_thread(run_pass, store)
            if not report.get("skipped"):
                LOG.info("notification pass: %s", report.get("counts"))
        except Exception:  # noqa: BLE001 — logged; the next pass comes at its time
            LOG.exception("notification pass failed")
        await asyncio.sleep(interval_s)

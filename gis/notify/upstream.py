"""信息报送 pushed upward: every report edition submitted within the look-back window is queued once,
through the delivery log, for the platform at ``RIVERGRID_REPORT_UPSTREAM_URL`` (the county's or the
province's), as the JSON body of :func:`gis.reports.editions.edition_payload` (the figures and the
workbook, base64). The pass then sends it like any delivery: header ``Idempotency-Key`` (the same for
the same edition in every resend), retries with backoff, failures on the page 消息投递.

Pulled by the pass rather than pushed by the submission, so a submission never waits for the network,
and a platform that is down when a village submits still gets the edition later.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.config import Settings
from gis.notify.core import delivery_key
from gis.notify.delivery import enqueue_post, known_keys
from gis.reports.editions import edition_payload
from gis.store.schema import ReportEdition

__all__ = ["REPORT_PUSH", "queue_report_pushes"]

REPORT_PUSH = "report_push"
"""The delivery kind of an edition's push."""


def _event_key(edition_id: int) -> str:
    return f"report-edition:{edition_id}"


def queue_report_pushes(session: Session, cfg: Settings, now: datetime) -> list[int]:
    """Queue the push of each edition submitted within ``RIVERGRID_NOTIFY_LOOKBACK_H`` not queued yet
    (nothing without ``RIVERGRID_REPORT_UPSTREAM_URL``); returns the ids of the editions queued."""
    url = cfg.report_upstream_url
    if not url:
        return []
    since = now - timedelta(hours=cfg.notify_lookback_h)
    editions = list(
        session.scalars(select(ReportEdition).where(ReportEdition.submitted_at >= since).order_by(ReportEdition.id))
    )
    recipient = f"http:{url}"
    known = known_keys(session, [delivery_key(_event_key(e.id), recipient, "http") for e in editions])
    queued = []
    for ed in editions:
        if delivery_key(_event_key(ed.id), recipient, "http") in known:
            continue
        body, _key = edition_payload(session, ed.id)
        _, added = enqueue_post(
            session, url=url, body=body, event_key=_event_key(ed.id), kind=REPORT_PUSH, grid_id=ed.grid_id, now=now
        )
        if added:
            queued.append(ed.id)
    return queued

"""The delivery log (投递记录): enqueue a message once per idempotency key, send what is due, retry.

At-least-once. A delivery is first recorded (``pending``) and committed; then it is sent; then
its success is recorded (``sent``) in a new transaction. A process that dies between sending and
recording leaves it ``pending``: the next pass sends it again under the same key (``Message-ID``
of a mail, ``Idempotency-Key`` header of a POST), so a receiver that deduplicates on the key keeps
one copy. 企业微信 and 钉钉 group robots do not deduplicate: a crash at that moment can post a
message twice to the group. A normal second pass finds every key already recorded and sends
nothing new.

States: ``pending`` → ``sent``; in quiet hours ``deferred`` until they end (never dropped); on a
failure ``retry`` at ``next_attempt_at`` (backoff 1, 2, 4 … minutes, at most 6 hours), and after
:data:`gis.notify.core.MAX_ATTEMPTS` attempts ``failed`` (shown to administrators). In-app
messages are written in the same transaction as their ``sent`` state: exactly once.

The log is generic: :func:`enqueue_post` queues any JSON POST (with an optional file) to any URL
(a report sent upward to the county platform, say), sent and retried like the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gis import clock
from gis.auth import require
from gis.config import Settings
from gis.errors import ValidationError
from gis.incidents.deadlines import as_utc, local_iso
from gis.notify.channels import SendError, post, send_mail
from gis.notify.core import (
    CHANNEL_LABELS,
    KIND_LABELS,
    MAX_ATTEMPTS,
    STATE_LABELS,
    backoff,
    delivery_key,
    quiet_until,
    sms_request,
)
from gis.store.blobs import BlobStore
from gis.store.schema import NotifyDelivery, NotifyMessage

__all__ = [
    "DUE_STATES",
    "delivery_dict",
    "delivery_log",
    "due_deliveries",
    "enqueue",
    "enqueue_post",
    "known_keys",
    "record_sent",
    "send_one",
]

DUE_STATES = ("pending", "deferred", "retry")
"""States of deliveries still to send."""


def _insert(session: Session, table: Any, values: dict[str, Any], key: str = "key") -> bool:
    """INSERT … ON CONFLICT (key) DO NOTHING; whether a row was added."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(table).values(**values).on_conflict_do_nothing(index_elements=[key])
    result = session.execute(stmt)
    return bool(getattr(result, "rowcount", 0))


def enqueue(
    session: Session,
    *,
    event_key: str,
    kind: str,
    channel: str,
    recipient: str,
    payload: dict[str, Any],
    person_id: int | None = None,
    user_id: int | None = None,
    incident_id: int | None = None,
    grid_id: int | None = None,
    now: datetime | None = None,
) -> tuple[str, bool]:
    """Record one delivery (``pending``) unless its key is recorded already.

    Returns
    -------
    (key, created)
        The idempotency key (:func:`gis.notify.core.delivery_key` of event, recipient, channel) and
        whether this call recorded it (False: a previous pass or process did).
    """
    now = as_utc(now) or clock.now()
    key = delivery_key(event_key, recipient, channel)
    created = _insert(
        session,
        NotifyDelivery.__table__,
        {
            "key": key,
            "event_key": event_key,
            "kind": kind,
            "channel": channel,
            "recipient": recipient,
            "person_id": person_id,
            "user_id": user_id,
            "incident_id": incident_id,
            "grid_id": grid_id,
            "payload": payload,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": "",
            "created_at": now,
            "updated_at": now,
        },
    )
    return key, created


def enqueue_post(
    session: Session,
    *,
    url: str,
    body: dict[str, Any],
    event_key: str,
    file: tuple[str, str, bytes] | None = None,
    headers: dict[str, str] | None = None,
    kind: str = "http",
    grid_id: int | None = None,
    now: datetime | None = None,
) -> tuple[str, bool]:
    """Queue an arbitrary HTTP POST: ``body`` as JSON, or with ``file`` = (name, mime, bytes) as
    multipart (parts ``json`` and ``file``; the bytes are kept in the blob store). Sent by the next
    pass with header ``Idempotency-Key``, retried with backoff, listed in the delivery log.
    ``event_key`` names what is sent (e.g. ``report:12:edition:1``): queueing it again is a no-op."""
    if not url.startswith(("http://", "https://")):
        raise ValidationError(f"推送地址无效：{url}", f"bad url {url!r}")
    payload: dict[str, Any] = {"url": url, "body": body, "headers": dict(headers or {})}
    if file is not None:
        name, mime, data = file
        payload["file"] = {"name": name, "mime": mime, "sha256": BlobStore().put(data), "bytes": len(data)}
    return enqueue(
        session,
        event_key=event_key,
        kind=kind,
        channel="http",
        recipient=f"http:{url}",
        payload=payload,
        grid_id=grid_id,
        now=now,
    )


def known_keys(session: Session, keys: list[str]) -> set[str]:
    """Those of ``keys`` already in the log."""
    out: set[str] = set()
    for i in range(0, len(keys), 500):
        out |= set(session.scalars(select(NotifyDelivery.key).where(NotifyDelivery.key.in_(keys[i : i + 500]))))
    return out


def due_deliveries(session: Session, now: datetime) -> list[NotifyDelivery]:
    """Deliveries to send at ``now`` (pending, deferred or retrying, their time come), oldest first."""
    return list(
        session.scalars(
            select(NotifyDelivery)
            .where(
                NotifyDelivery.state.in_(DUE_STATES),
                or_(NotifyDelivery.next_attempt_at.is_(None), NotifyDelivery.next_attempt_at <= now),
            )
            .order_by(NotifyDelivery.id)
        )
    )


def _set(session: Session, delivery_id: int, **values: Any) -> None:
    session.execute(update(NotifyDelivery).where(NotifyDelivery.id == delivery_id).values(**values))


def record_sent(session: Session, delivery_id: int, *, attempts: int, now: datetime) -> None:
    """Record that delivery ``delivery_id`` was accepted (its own transaction, after the send)."""
    _set(
        session,
        delivery_id,
        state="sent",
        attempts=attempts,
        sent_at=now,
        updated_at=now,
        last_error="",
        next_attempt_at=None,
    )


def _deliver_inapp(session: Session, d: NotifyDelivery, now: datetime) -> None:
    p = d.payload
    _insert(
        session,
        NotifyMessage.__table__,
        {
            "key": d.key,
            "user_id": d.user_id,
            "kind": d.kind,
            "title": p.get("title", ""),
            "body": p.get("text", ""),
            "link": p.get("link", ""),
            "incident_id": d.incident_id,
            "grid_id": d.grid_id,
            "created_at": now,
            "read_at": None,
        },
    )
    record_sent(session, d.id, attempts=d.attempts + 1, now=now)


def _transmit(cfg: Settings, d: NotifyDelivery) -> None:
    p = d.payload
    if d.channel == "email":
        send_mail(
            cfg, to=p["address"], subject=p["title"], text=f"{p['text']}\n\n{p.get('link', '')}".strip(), key=d.key
        )
    elif d.channel == "sms":
        if not cfg.sms_url:
            raise SendError("未配置短信网关（RIVERGRID_SMS_URL）")
        url, body = sms_request(
            cfg.sms_url, cfg.sms_body, phone=p["address"], text=f"{p['title']} {p['text']}", key=d.key
        )
        post(url, body, key=d.key)
    elif d.channel == "webhook":
        post(p["address"], p["body"], key=d.key)
    elif d.channel == "http":
        f = p.get("file")
        file = None if not f else (f["name"], f["mime"], BlobStore().get(f["sha256"]))
        post(p["url"], p["body"], key=d.key, headers=p.get("headers") or {}, file=file)
    else:
        raise SendError(f"未知的渠道 {d.channel}")


def send_one(
    session_factory: Callable[[], Any],
    cfg: Settings,
    d: NotifyDelivery,
    now: datetime,
) -> str:
    """Send one due delivery and record the outcome; returns its new state.

    ``session_factory()`` opens a writing transaction (a context manager) for each record, so
    that a send is never inside a transaction: what was sent is recorded after it, on its own.
    """
    if d.channel == "inapp":
        with session_factory() as s:
            _deliver_inapp(s, d, now)
        return "sent"
    until = quiet_until(now, str(d.payload.get("quiet_hours", "")))
    if until is not None:
        with session_factory() as s:
            _set(s, d.id, state="deferred", next_attempt_at=until, updated_at=now)
        return "deferred"
    attempts = d.attempts + 1
    try:
        _transmit(cfg, d)
    except SendError as exc:
        state = "failed" if attempts >= MAX_ATTEMPTS else "retry"
        with session_factory() as s:
            _set(
                s,
                d.id,
                state=state,
                attempts=attempts,
                last_error=str(exc)[:2000],
                next_attempt_at=None if state == "failed" else now + backoff(attempts),
                updated_at=now,
            )
        return state
    with session_factory() as s:
        record_sent(s, d.id, attempts=attempts, now=now)
    return "sent"


def delivery_dict(d: NotifyDelivery) -> dict[str, Any]:
    p = d.payload or {}
    return {
        "id": d.id,
        "key": d.key,
        "event_key": d.event_key,
        "kind": d.kind,
        "kind_label": KIND_LABELS.get(d.kind, d.kind),
        "channel": d.channel,
        "channel_label": CHANNEL_LABELS.get(d.channel, d.channel),
        "recipient": d.recipient,
        "name": p.get("name", ""),
        "address": p.get("address") or p.get("url", ""),
        "title": p.get("title", ""),
        "incident_id": d.incident_id,
        "grid_id": d.grid_id,
        "state": d.state,
        "state_label": STATE_LABELS.get(d.state, d.state),
        "attempts": d.attempts,
        "next_attempt_at": local_iso(as_utc(d.next_attempt_at)),
        "last_error": d.last_error,
        "created_at": local_iso(as_utc(d.created_at)),
        "sent_at": local_iso(as_utc(d.sent_at)),
    }


def delivery_log(
    session: Session, *, state: str | None = None, problems: bool = False, limit: int = 500
) -> list[dict[str, Any]]:
    """The delivery log, newest first: every delivery, those in ``state``, or (``problems``) those
    failed or waiting for a retry. For administrators (``notify.log``); the command line's operator
    without ``--as`` reads it too."""
    actor = session.info.get("actor")
    if actor is not None:
        require(actor, "notify.log")
    query = select(NotifyDelivery).order_by(NotifyDelivery.id.desc()).limit(limit)
    if state:
        query = query.where(NotifyDelivery.state == state)
    if problems:
        query = query.where(or_(NotifyDelivery.state == "failed", and_(NotifyDelivery.state == "retry")))
    return [delivery_dict(d) for d in session.scalars(query)]

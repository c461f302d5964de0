"""One notification pass (``gis notify run``; the server runs it on a schedule).

Under the runner's lock (:mod:`gis.notify.lock`; another runner at work: the pass is skipped):

1. find the events and their targets (:mod:`gis.notify.events`);
2. in one transaction as the ``system`` actor: record each escalation not recorded yet as a case
   event (``overdue_upper``/``overdue_office``, audited like every case step) and enqueue every
   (event, recipient, channel) whose key is not in the delivery log yet;
3. send every due delivery (new, deferred whose quiet hours ended, retries whose time came),
   recording each outcome after its send (:mod:`gis.notify.delivery`).

``dry_run`` does steps 1 and the checks of 2 and 3 without writing or sending anything: it lists
what would be recorded and sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gis import clock
from gis.auth import SYSTEM, Scope
from gis.config import Settings, settings
from gis.incidents.deadlines import as_utc, local_iso
from gis.notify.core import KIND_LABELS, delivery_key, load_rules, quiet_until, webhook_body
from gis.notify.delivery import delivery_dict, due_deliveries, enqueue, known_keys, send_one
from gis.notify.events import Found, Target, escalation_to_record, find, targets_for
from gis.notify.lock import runner_lock
from gis.notify.upstream import queue_report_pushes
from gis.store import Store
from gis.store.schema import Incident, IncidentEvent

__all__ = ["run_pass"]


def _payload(found: Found, t: Target) -> dict[str, Any]:
    n = found.notice
    payload: dict[str, Any] = {
        "title": n.title,
        "text": n.text,
        "link": n.link,
        "name": t.name,
        "address": t.address,
        "quiet_hours": t.quiet_hours,
    }
    if t.channel == "webhook":
        payload["body"] = webhook_body(n, t.format, delivery_key(n.event_key, t.recipient, t.channel))
        payload["format"] = t.format
    return payload


def _record_escalation(session: Session, found: Found, action: str, persons: str) -> dict[str, Any]:
    inc = session.get(Incident, found.notice.incident_id)
    assert inc is not None
    note = f"{found.notice.text}；通知对象：{persons or '（无）'}"
    session.add(
        IncidentEvent(
            incident_id=inc.id, action=action, from_status=inc.status, to_status=inc.status, by="系统", note=note[:2000]
        )
    )
    return {
        "incident_id": inc.id,
        "code": inc.code,
        "action": action,
        "label": KIND_LABELS[found.notice.kind],
        "note": note,
    }


def run_pass(
    store: Store, *, dry_run: bool = False, now: datetime | None = None, cfg: Settings | None = None
) -> dict[str, Any]:
    """Run one pass; returns what it found, recorded and sent (or would, with ``dry_run``)."""
    cfg = cfg or settings()
    rules = load_rules(cfg.notify_file)
    now = as_utc(now) or clock.now()
    report: dict[str, Any] = {"now": local_iso(now), "dry_run": dry_run, "skipped": False}
    with runner_lock(store) as held:
        if not held:
            report.update(skipped=True, reason="另一个通知任务正在运行，本次跳过")
            return report
        with store.session() as s:
            found = find(s, cfg, rules, now=now)
            scopes: dict[int, Scope] = {}
            planned = [(f, targets_for(s, cfg, rules, f, scopes=scopes)) for f in found]
            escalations = [(f, a) for f in found if (a := escalation_to_record(s, f)) is not None]
            keys = [delivery_key(f.notice.event_key, t.recipient, t.channel) for f, ts in planned for t in ts]
            known = known_keys(s, keys)
            due_now = [
                delivery_dict(d) | {"quiet_until": local_iso(quiet_until(now, str(d.payload.get("quiet_hours", ""))))}
                for d in due_deliveries(s, now)
            ]
        events = []
        for f, ts in planned:
            rows = []
            for t in ts:
                key = delivery_key(f.notice.event_key, t.recipient, t.channel)
                rows.append(
                    {
                        "channel": t.channel,
                        "recipient": t.recipient,
                        "name": t.name,
                        "key": key,
                        "new": key not in known,
                    }
                )
            events.append(f.notice.to_dict() | {"targets": rows})
        report["events"] = events
        if dry_run:
            report["escalations"] = [
                {
                    "incident_id": f.notice.incident_id,
                    "code": f.notice.incident_code,
                    "action": a,
                    "label": KIND_LABELS[f.notice.kind],
                }
                for f, a in escalations
            ]
            new = [r for e in events for r in e["targets"] if r["new"]]
            report["would_send"] = new + [
                {"channel": d["channel"], "recipient": d["recipient"], "key": d["key"], "state": d["state"]}
                for d in due_now
                if d["quiet_until"] is None
            ]
            report["counts"] = {"events": len(events), "new": len(new), "waiting": len(due_now)}
            return report
        with store.session(SYSTEM) as s:
            report["escalations"] = [
                _record_escalation(s, f, a, "、".join(p.name for p in f.persons)) for f, a in escalations
            ]
            created = 0
            for f, ts in planned:
                n = f.notice
                for t in ts:
                    _, added = enqueue(
                        s,
                        event_key=n.event_key,
                        kind=n.kind,
                        channel=t.channel,
                        recipient=t.recipient,
                        payload=_payload(f, t),
                        person_id=t.person_id,
                        user_id=t.user_id,
                        incident_id=n.incident_id,
                        grid_id=n.grid_id,
                        now=now,
                    )
                    created += int(added)
            report["report_pushes"] = queue_report_pushes(s, cfg, now)
            created += len(report["report_pushes"])
        with store.session() as s:
            due = due_deliveries(s, now)
            s.expunge_all()
        outcomes: dict[str, list[dict[str, Any]]] = {"sent": [], "deferred": [], "retry": [], "failed": []}
        for d in due:
            state = send_one(_writer(store), cfg, d, now)
            outcomes[state].append(
                {
                    "key": d.key,
                    "channel": d.channel,
                    "recipient": d.recipient,
                    "kind": d.kind,
                    "event_key": d.event_key,
                    "title": d.payload.get("title", ""),
                }
            )
        report.update(outcomes)
        report["counts"] = {"events": len(events), "new": created} | {k: len(v) for k, v in outcomes.items()}
    return report


def _writer(store: Store) -> Any:
    @contextmanager
    def factory() -> Iterator[Session]:
        with store.session(write=True) as s:
            yield s

    return factory

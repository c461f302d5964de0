"""Commands ``incident report|move|list``: reporting incidents and moving them through the workflow."""

from __future__ import annotations

import argparse
from datetime import datetime

from gis import clock
from gis.cli.common import acting_actor, open_store, show
from gis.incidents.lists import incident_dict, list_incidents
from gis.incidents.reporting import report_incident, routing_of
from gis.incidents.states import ACTION_LABELS
from gis.incidents.workflow import move


def cmd_incident_report(args: argparse.Namespace) -> int:
    from gis.grids.chain import ResponsibilityIndex  # noqa: PLC0415 — loads geopandas (~0.5 s); only report routes

    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session() as s:  # routed from a read: the write below holds the write lock only briefly
        index = ResponsibilityIndex.from_session(s, today=clock.today())
    with store.session(actor) as s:
        inc = report_incident(
            s,
            lon=args.lon,
            lat=args.lat,
            category=args.category,
            description=args.description,
            severity=args.severity,
            source=args.source,
            reporter=args.reporter,
            reporter_contact=args.contact,
            title=args.title,
            object_id=args.object_id,
            track_id=args.track_id,
            photos=args.photo,
            tolerance_m=args.tolerance_m,
            index=index,
            allow_far=args.allow_far,
        )
        routing = routing_of(inc)
        data = incident_dict(inc)
    routed = routing.to_dict()
    data.update(
        {
            "grid": routed["grid"],
            "reach": routed["reach"],
            "persons": routing.persons,
            "chain": routing.chain,
            "warnings": routing.warnings,
            "blind_spot": routing.blind_spot,
        }
    )
    lines = [
        f"已上报事件 {data['code']}（编号 {data['id']}）：{data['title']}",
        f"网格：{routing.grid_name or '无'}；河段：{routing.reach_name or '附近没有河段'}",
        "责任人：" + ("、".join(dict.fromkeys(routing.persons)) or "无"),
        f"受理期限：{data['accept_due_at']}；办结期限：{data['close_due_at']}",
        *(f"提示：{w}" for w in routing.warnings),
    ]
    show(data, args.json, "\n".join(lines))
    return 0


def cmd_incident_move(args: argparse.Namespace) -> int:
    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session(actor) as s:
        inc = move(
            s,
            args.id,
            args.to,
            note=args.note,
            to_grid_id=args.grid,
            to_person_id=args.person,
            expected_version=args.expected_version,
            attachments=args.attach,
        )
        event = max(inc.events, key=lambda e: (e.at, e.id or 0))
        data = incident_dict(inc)
        data["event"] = {
            "action": event.action,
            "action_label": ACTION_LABELS.get(event.action, event.action),
            "from": event.from_status,
            "to": event.to_status,
            "by": event.by,
            "at": event.at.isoformat(),
            "note": event.note,
        }
    text = (
        f"事件 {data['code']}：{data['event']['action_label']}，当前状态“{data['status_label']}”"
        f"（{data['event']['by']}，{data['event']['at']}）"
    )
    show(data, args.json, text)
    return 0


def cmd_incident_list(args: argparse.Namespace) -> int:
    now = datetime.fromisoformat(args.now) if args.now else None
    store = open_store(args)
    viewer = acting_actor(store, args.user) if args.user else None
    with store.session(viewer, write=False) as s:
        rows = list_incidents(
            s,
            status=args.status,
            category=args.category,
            grid_id=args.grid,
            overdue=True if args.overdue else None,
            due_soon=True if args.due_soon else None,
            now=now,
        )
        data = [incident_dict(i, now=now) for i in rows]
    lines = [
        f"{d['code']} [{d['status_label']}] {d['title']}（{d['grid']['name'] if d['grid'] else '无网格'}）"
        f"{' ' + d['deadline']['label'] if d['deadline']['label'] else ''}"
        for d in data
    ]
    show(data, args.json, "\n".join(lines) if lines else "没有符合条件的事件")
    return 0

"""Commands ``incident move|list``: moving incidents through the workflow and listing them;
``incident cotask|answer|extend|decide-extension|receipt``: 协办, 延期 and 移送回执 (issue 17).

``incident report`` routes a point through the grids' geometry and lives in
:mod:`gis.cli.incident_report`, so these commands do not load geopandas."""

from __future__ import annotations

import argparse
from datetime import datetime

from gis.cli.common import acting_actor, open_store, show
from gis.incidents.cooperation import (
    EXTENSION_STATES,
    answer_cotask,
    decide_extension,
    record_outcome,
    record_receipt,
    request_extension,
    send_cotasks,
)
from gis.incidents.departments import get_department
from gis.incidents.lists import incident_dict, list_incidents
from gis.incidents.states import ACTION_LABELS
from gis.incidents.workflow import move


def cmd_incident_move(args: argparse.Namespace) -> int:
    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session(actor) as s:
        receiver_dept = get_department(s, args.receiver_dept).id if getattr(args, "receiver_dept", None) else None
        inc = move(
            s,
            args.id,
            args.to,
            note=args.note,
            to_grid_id=args.grid,
            to_person_id=args.person,
            expected_version=args.expected_version,
            attachments=args.attach,
            receiver=getattr(args, "receiver", None) or "",
            receiver_department_id=receiver_dept,
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


def cmd_incident_cotask(args: argparse.Namespace) -> int:
    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session(actor) as s:
        tasks = send_cotasks(s, args.id, args.dept, days=args.days, request=args.note)
        data = [
            {
                "id": t.id,
                "incident_id": t.incident_id,
                "department": t.department.name,
                "due_at": t.due_at.isoformat() if t.due_at else None,
            }
            for t in tasks
        ]
    lines = [f"已发起协办：{d['department']}（任务编号 {d['id']}，期限 {d['due_at']}）" for d in data]
    show(data, args.json, "\n".join(lines))
    return 0


def cmd_incident_answer(args: argparse.Namespace) -> int:
    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session(actor) as s:
        task = answer_cotask(s, args.task, args.note, attachments=args.attach)
        data = {
            "id": task.id,
            "incident_id": task.incident_id,
            "department": task.department.name,
            "answered_by": task.answered_by,
        }
    show(data, args.json, f"已答复协办任务 {data['id']}（{data['department']}）")
    return 0


def cmd_incident_extend(args: argparse.Namespace) -> int:
    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session(actor) as s:
        ext = request_extension(s, args.id, args.days, args.reason)
        data = {"id": ext.id, "incident_id": ext.incident_id, "days": ext.days, "status": ext.status}
    show(data, args.json, f"已提交延期申请（编号 {data['id']}，{data['days']} 个工作日），等待上级审批")
    return 0


def cmd_incident_decide_extension(args: argparse.Namespace) -> int:
    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session(actor) as s:
        ext = decide_extension(s, args.extension, approve=bool(args.approve), note=args.note)
        data = {
            "id": ext.id,
            "incident_id": ext.incident_id,
            "days": ext.days,
            "status": ext.status,
            "status_label": EXTENSION_STATES[ext.status],
            "new_due_at": ext.new_due_at.isoformat() if ext.new_due_at else None,
        }
    text = f"延期申请 {data['id']}：{data['status_label']}"
    if data["new_due_at"]:
        text += f"，新的办结期限 {data['new_due_at']}"
    show(data, args.json, text)
    return 0


def cmd_incident_receipt(args: argparse.Namespace) -> int:
    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session(actor) as s:
        if args.outcome:
            rec = record_outcome(s, args.transfer, args.outcome, decided_on=args.date)
        else:
            rec = record_receipt(s, args.transfer, received_on=args.date, note=args.note)
        data = {
            "id": rec.id,
            "incident_id": rec.incident_id,
            "receiver": rec.receiver,
            "sent_on": rec.sent_on.isoformat(),
            "receipt_on": rec.receipt_on.isoformat() if rec.receipt_on else None,
            "outcome": rec.outcome,
        }
    what = "处理结果" if args.outcome else "回执"
    show(data, args.json, f"已登记移送记录 {data['id']}（{data['receiver']}）的{what}")
    return 0

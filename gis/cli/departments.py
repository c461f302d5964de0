"""Commands ``dept add|list``: the member departments (成员单位) cases are sent to (issue 17)."""

from __future__ import annotations

import argparse

from gis.cli.common import acting_actor, open_store, show
from gis.incidents.departments import DEPARTMENT_KINDS, add_department, list_departments


def cmd_dept_add(args: argparse.Namespace) -> int:
    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session(actor) as s:
        dept = add_department(
            s,
            args.name,
            kind=args.kind,
            contact_name=args.contact,
            contact_phone=args.phone,
            address=args.address,
            note=args.note,
        )
        info = {
            "id": dept.id,
            "name": dept.name,
            "kind": dept.kind,
            "kind_label": DEPARTMENT_KINDS.get(dept.kind, dept.kind),
            "contact_name": dept.contact_name,
            "contact_phone": dept.contact_phone,
        }
    show(info, args.json, f"已登记成员单位“{info['name']}”（{info['kind_label']}，编号 {info['id']}）")
    return 0


def cmd_dept_list(args: argparse.Namespace) -> int:
    with open_store(args).session(write=False) as s:
        rows = [d.to_dict() for d in list_departments(s)]
    lines = [
        f"{d['id']}  {d['name']}（{d['kind_label']}）"
        + (f" 联系人：{d['contact_name']}" if d["contact_name"] else "")
        + (f" 电话：{d['contact_phone']}" if d["contact_phone"] else "")
        + f" 账号 {d['accounts']} 个"
        + ("" if d["active"] else " 已停用")
        for d in rows
    ]
    show(rows, args.json, "\n".join(lines) if lines else "还没有登记成员单位")
    return 0

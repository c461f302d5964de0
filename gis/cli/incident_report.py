"""Command ``incident report``: reporting an incident at a point, routed to its grid and chain.

Apart from the other ``incident`` commands (:mod:`gis.cli.incidents`) because routing builds the
responsibility index of the grids' geometry (geopandas, shapely, pyproj): only this command loads it.
"""

from __future__ import annotations

import argparse

from gis import clock
from gis.cli.common import acting_actor, open_store, show
from gis.grids.chain import ResponsibilityIndex
from gis.incidents.lists import incident_dict
from gis.incidents.reporting import report_incident, routing_of


def cmd_incident_report(args: argparse.Namespace) -> int:
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

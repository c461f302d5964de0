"""A reporter's contact (上报人联系方式, ``incidents.reporter_contact``): shown on request, and logged.

The contact (usually a phone number of a member of the public) is personal data: the audit log
keeps only a reference to it (:mod:`gis.store.audit`), and each time someone reads it an entry
with action ``read`` records who read whose contact and when (修改记录, 操作“查看”).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gis.auth import require
from gis.errors import NotFoundError
from gis.store.audit import record_event
from gis.store.schema import Incident
from gis.store.scope import scope_of


def reveal_reporter_contact(session: Session, incident_id: int) -> str:
    """The reporter's contact of incident ``incident_id`` (``""`` when none was given).

    Needs ``incident.handle``; writes a ``read`` entry to the audit log in the session's
    transaction (surfaces show the contact once that transaction has committed).

    Raises
    ------
    PermissionDenied
        The session's actor may not handle incidents.
    NotFoundError
        No such incident, or one outside the actor's grids (:mod:`gis.store.scope`).
    """
    actor = require(session.info.get("actor"), "incident.handle")
    incident = session.get(Incident, incident_id)
    if incident is None or not scope_of(session, actor).covers(incident.grid_id):  # 数据权限
        raise NotFoundError(f"没有编号为 {incident_id} 的事件", f"no incident {incident_id} for {actor.username}")
    record_event(
        session,
        actor_name=actor.username,
        action="read",
        table=Incident.__tablename__,
        row_id=incident.id,
        after={"field": "reporter_contact", "code": incident.code, "reporter": incident.reporter},
    )
    return incident.reporter_contact or ""

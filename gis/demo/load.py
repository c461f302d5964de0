"""Load the demo data of 临江市森工街道 (:mod:`gis.demo.data`) into a store.

``python -m gis init-demo`` and the app's start with ``RIVERGRID_DEMO=1`` call :func:`load_demo`.
It runs as the ``system`` actor in one transaction, so every demo row is in the audit log too,
and a failure leaves the database empty as before. The database is marked as a demo
(:mod:`gis.accounts.installation`); a production database is refused.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import shapely
from sqlalchemy import func, select, text

from gis.accounts import installation
from gis.auth import SYSTEM, hash_password
from gis.demo import data as dd
from gis.demo import ledger as dl
from gis.errors import PermissionDenied, ValidationError
from gis.io.files import read_gpx_tracks
from gis.store import Store, upgrade
from gis.store.queries import table_counts
from gis.store.schema import (
    Base,
    Department,
    Grid,
    GridRoleAssignment,
    Incident,
    IncidentEvent,
    LedgerDocument,
    Meeting,
    ObjectInspection,
    OrgBody,
    OrgMember,
    PatrolTrack,
    Person,
    Reach,
    ReachChief,
    River,
    RiverPlan,
    SupervisedObject,
    User,
)


def _note(text: str, illustrative: bool) -> str:
    return text if not illustrative or "示意" in text else f"示意。{text}".rstrip("。") + "。"


def _read_track(track: dd.Track) -> tuple[Any, list[str | None], bytes]:
    """Geometry, per-point ISO times and raw bytes of the track's GPX file under ``data/demo``."""

    path = dd.GPX_DIR / track.gpx_file
    (gpx,) = read_gpx_tracks(path)
    times = [t.isoformat() if t is not None else None for t in gpx.times]
    return shapely.LineString(gpx.coords), times, path.read_bytes()


@cache
def _demo_hash(password: str) -> str:
    """One Argon2 hash per demo password and process (every demo account has the same password;
    hashing it once keeps loading the demo quick)."""
    return hash_password(password)


PRODUCTION_RESET_MESSAGE = "这是正式数据库，不能用 --reset 清空；演示数据只能装入演示数据库"


def reset_store(store: Store) -> None:
    """Drop every table of the store (audit log and ``alembic_version`` included) and build the
    schema again with the migrations: demo databases only.

    On PostgreSQL only the tables in the connection's own schema (``current_schema()``) are
    dropped, by name: whatever else lives in the database (PostGIS in ``public``) is untouched.
    The audit log is never emptied row by row (its rows cannot be deleted); it goes with its table.

    Raises
    ------
    PermissionDenied
        ``deployment_info`` says ``production`` (or, without it, the data look like a real deployment).
    """
    names = [t.name for t in reversed(Base.metadata.sorted_tables)] + ["alembic_version"]
    with store.engine.begin() as conn:
        if installation.recorded_or_guessed_mode(conn) == installation.PRODUCTION:
            raise PermissionDenied(PRODUCTION_RESET_MESSAGE, "refusing to reset a production database")
        quote = conn.dialect.identifier_preparer.quote
        if conn.dialect.name == "postgresql":
            schema = quote(conn.execute(text("SELECT current_schema()")).scalar_one())
            for name in names:
                conn.execute(text(f"DROP TABLE IF EXISTS {schema}.{quote(name)} CASCADE"))
            conn.execute(text(f"DROP FUNCTION IF EXISTS {schema}.audit_log_append_only()"))
        else:
            for name in names:
                conn.execute(text(f"DROP TABLE IF EXISTS {quote(name)}"))
    upgrade(store.engine)


def load_demo(store: Store, *, reset: bool = False) -> dict[str, Any]:
    """Fill an empty store with the demo; with ``reset``, drop and rebuild its schema first
    (:func:`reset_store`: refused for a production database).

    A store that already holds grids or users is left alone (``skipped`` is True): the demo
    never overwrites real data. A production database (``gis init``) is refused: the demo's
    published accounts must never reach one.
    """
    with store.session() as s:
        if installation.mode(s) == installation.PRODUCTION:
            raise ValidationError(
                "这是正式数据库（由 gis init 建立），不能载入演示数据；演示请使用单独的数据库",
                "refusing to load the demo into a production database",
            )
    if reset:
        reset_store(store)
    with store.session() as s:
        if s.scalar(select(func.count()).select_from(Grid)) or s.scalar(select(func.count()).select_from(User)):
            return {"skipped": True, "counts": table_counts(s)}
    data = dd.build_demo_data()
    with store.session(SYSTEM) as s:
        installation.mark(s, installation.DEMO)
        persons = {
            p.name: Person(
                name=p.name,
                title=p.title,
                unit=p.unit,
                phone=p.phone,
                phone_public=p.phone_public,
                status=p.status,
                note=_note(p.note, p.illustrative),
            )
            for p in data.persons
        }
        rivers = {
            r.name: River(name=r.name, code=r.code, level=r.level, note=_note(r.note, r.illustrative))
            for r in data.rivers
        }
        reaches = {
            r.code: Reach(
                river=rivers[r.river_name],
                name=r.name,
                code=r.code,
                level=r.level,
                start_station_m=r.start_station_m,
                geom=r.geom,
                note=_note(r.note, r.illustrative),
            )
            for r in data.reaches
        }
        grids: dict[str, Grid] = {}
        for g in data.grids:  # parents first
            grids[g.name] = Grid(
                name=g.name,
                code=g.code,
                level=g.level,
                parent=grids[g.parent_name] if g.parent_name else None,
                responsible_body=g.responsible_body,
                area_desc=g.area_desc,
                personnel_desc=g.personnel_desc,
                duties=g.duties,
                tasks=g.tasks,
                rewards=g.rewards,
                hotline=g.hotline,
                illustrative=g.illustrative,
                geom=g.geom,
            )
        s.add_all([*persons.values(), *rivers.values(), *reaches.values(), *grids.values()])
        s.add_all(
            GridRoleAssignment(
                grid=grids[a.grid_name],
                person=persons[a.person_name],
                role=a.role,
                sort=a.sort,
                valid_from=a.valid_from,
                valid_to=a.valid_to,
            )
            for a in data.grid_roles
        )
        s.add_all(
            ReachChief(
                reach=reaches[c.reach_code],
                person=persons[c.person_name],
                level=c.level,
                valid_from=c.valid_from,
                valid_to=c.valid_to,
            )
            for c in data.reach_chiefs
        )
        bodies: dict[str, OrgBody] = {}
        for b in data.org_bodies:
            body = bodies[b.name] = OrgBody(
                name=b.name,
                kind=b.kind,
                duties=b.duties,
                parent=None if not b.parent_name else bodies[b.parent_name],
                grid=grids.get(b.grid_name) if b.grid_name else None,
            )
            body.members = [
                OrgMember(person=persons[m.person_name], position=m.position, sort=m.sort) for m in b.members
            ]
            s.add(body)
        objects = {
            o.name: SupervisedObject(
                name=o.name,
                category=o.category,
                description=o.description,
                grid=grids.get(o.grid_name),
                geom=o.geom,
                subtype=o.subtype,
                responsible=persons[o.responsible_name] if o.responsible_name else None,
                inspect_every_days=o.inspect_every_days,
                tasks=o.tasks,
                rewards=o.rewards,
            )
            for o in data.objects
        }
        s.add_all(objects.values())
        s.add_all(
            ObjectInspection(
                object=objects[r.object_name], person=persons[r.person_name], at=r.at, note=r.note, recorded_by="system"
            )
            for r in data.inspections
        )
        for t in data.tracks:
            geom, times, raw = _read_track(t)
            s.add(
                PatrolTrack(
                    name=t.name,
                    person=persons[t.person_name],
                    grid=grids[t.grid_name],
                    started_at=t.started_at,
                    ended_at=t.ended_at,
                    geom=geom,
                    times=times,
                    source_name=t.gpx_file,
                    source_data=raw,
                )
            )
        for i in data.incidents:
            s.add(
                Incident(
                    code=i.code,
                    title=i.title,
                    category=i.category,
                    severity=i.severity,
                    status=i.status,
                    description=i.description,
                    source=i.source,
                    reporter=i.reporter,
                    reported_at=i.reported_at,
                    grid=grids.get(i.grid_name) if i.grid_name else None,
                    reach=reaches.get(i.reach_code) if i.reach_code else None,
                    object=objects.get(i.object_name) if i.object_name else None,
                    accept_due_at=i.accept_due_at,
                    close_due_at=i.close_due_at,
                    closed_at=i.closed_at,
                    geom=i.geom,
                    events=[
                        IncidentEvent(
                            action=e.action,
                            from_status=e.from_status,
                            to_status=e.to_status,
                            at=e.at,
                            by=e.by,
                            note=e.note,
                        )
                        for e in i.history
                    ],
                )
            )
        depts = {
            d.name: Department(name=d.name, kind=d.kind, contact_name=d.contact_name, note=d.note)
            for d in data.departments
        }
        s.add_all(depts.values())
        s.flush()
        _load_ledger(s, rivers, reaches, grids, persons)  # issue 17: 一河一档/一河一策, replies, meetings
        for u in data.users:
            s.add(
                User(
                    username=u.username,
                    display_name=u.display_name,
                    role=u.role,
                    password_hash=_demo_hash(u.password),
                    person_id=persons[u.person_name].id if u.person_name else None,
                    grid_id=grids[u.grid_name].id if u.grid_name else None,
                    department_id=depts[u.department_name].id if u.department_name else None,
                )
            )
        s.flush()
        counts = table_counts(s)
    return {"skipped": False, "counts": counts}


def _load_ledger(
    s: Any, rivers: dict[str, River], reaches: dict[str, Reach], grids: dict[str, Grid], persons: dict[str, Person]
) -> None:
    """一河一档 fields, 一河一策, public replies of closed cases, meetings and documents of the demo
    (:mod:`gis.demo.ledger`)."""
    for name, fields in dl.RIVER_ARCHIVES.items():
        if name in rivers:
            for key, value in fields.items():
                setattr(rivers[name], key, value)
    for code, reach_fields in dl.REACH_ARCHIVES.items():
        if code in reaches:
            for key, value in reach_fields.items():
                setattr(reaches[code], key, value)
    s.add_all(
        RiverPlan(river=rivers[p.river], year=p.year, targets=p.targets, tasks=p.tasks, note="示意：演示数据虚构")
        for p in dl.DEMO_PLANS
        if p.river in rivers
    )
    for incident in s.scalars(select(Incident).where(Incident.code.in_(list(dl.DEMO_REPLIES)))):
        incident.public_reply = dl.DEMO_REPLIES[incident.code]
    for m in dl.DEMO_MEETINGS:
        s.add(
            Meeting(
                grid=grids[m.grid] if m.grid else None,
                held_on=m.held_on,
                title=m.title,
                place=m.place,
                attendee_ids=[persons[n].id for n in m.attendees if n in persons],
                minutes=m.minutes,
                created_by="system",
            )
        )
    for d in dl.DEMO_DOCUMENTS:
        s.add(
            LedgerDocument(
                grid=grids[d.grid] if d.grid else None,
                kind=d.kind,
                title=d.title,
                issued_on=d.issued_on,
                note=d.note,
                created_by="system",
            )
        )
    s.flush()

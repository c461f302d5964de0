"""ORM tables of the store (SQLAlchemy 2 declarative).

Geometries are shapely objects in EPSG:4326 (lon/lat degrees). Enumerated columns hold the
English codes of :mod:`gis.model`. Tables that people edit concurrently carry a ``version``
column used for optimistic locking: a stale save raises ``StaleDataError`` (turned into
:class:`gis.errors.ConflictError` by the services).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from gis import clock
from gis.store.types import Geometry, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return clock.now()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class River(Base):
    """A river (河流); its managed stretches are :class:`Reach` rows."""

    __tablename__ = "rivers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    code: Mapped[str | None] = mapped_column(String(50), unique=True)
    level: Mapped[str] = mapped_column(String(20), default="village")
    note: Mapped[str] = mapped_column(Text, default="")
    reaches: Mapped[list[Reach]] = relationship(back_populates="river")
    # 一河一档 (river archive, issue 17): what an office files for each river
    length_km: Mapped[float | None] = mapped_column(Float)
    basin: Mapped[str] = mapped_column(String(100), default="")
    source: Mapped[str] = mapped_column(String(200), default="")
    mouth: Mapped[str] = mapped_column(String(200), default="")
    water_function_zone: Mapped[str] = mapped_column(String(200), default="")
    water_quality_target: Mapped[str] = mapped_column(String(100), default="")
    works: Mapped[str] = mapped_column(Text, default="")


class Reach(Base):
    """A river reach (河段): LineString/MultiLineString with a start stationing in metres."""

    __tablename__ = "reaches"
    id: Mapped[int] = mapped_column(primary_key=True)
    river_id: Mapped[int] = mapped_column(ForeignKey("rivers.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(50), unique=True)
    level: Mapped[str] = mapped_column(String(20), default="village")
    start_station_m: Mapped[float] = mapped_column(Float, default=0.0)
    note: Mapped[str] = mapped_column(Text, default="")
    geom: Mapped[BaseGeometry] = mapped_column(Geometry("Geometry"))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    river: Mapped[River] = relationship(back_populates="reaches")
    # 一河一档 of the reach (issue 17)
    water_function_zone: Mapped[str] = mapped_column(String(200), default="")
    water_quality_target: Mapped[str] = mapped_column(String(100), default="")
    works: Mapped[str] = mapped_column(Text, default="")
    __mapper_args__ = {"version_id_col": version}


class Grid(Base):
    """A grid (网格) of level county/township/village with its 五定 texts."""

    __tablename__ = "grids"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(50), unique=True)
    level: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    responsible_body: Mapped[str] = mapped_column(String(200), default="")
    area_desc: Mapped[str] = mapped_column(Text, default="")
    personnel_desc: Mapped[str] = mapped_column(Text, default="")
    duties: Mapped[str] = mapped_column(Text, default="")
    tasks: Mapped[str] = mapped_column(Text, default="")
    rewards: Mapped[str] = mapped_column(Text, default="")
    hotline: Mapped[str] = mapped_column(String(50), default="")
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    geom: Mapped[BaseGeometry | None] = mapped_column(Geometry("Geometry"))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    parent: Mapped[Grid | None] = relationship(remote_side="Grid.id")
    roles: Mapped[list[GridRoleAssignment]] = relationship(back_populates="grid")
    __mapper_args__ = {"version_id_col": version}


class Person(Base):
    """A person holding posts (责任人, 监管人员, 河长, …)."""

    __tablename__ = "persons"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(100), default="")
    unit: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    phone_public: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="active")
    note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    # issue 18 (notifications, :mod:`gis.notify`): the person's e-mail, the channels they chose
    # (comma-separated ``inapp,email,sms``; empty: every channel their record allows) and their
    # quiet hours (``22:00-07:00``; empty: the default of the notification settings)
    email: Mapped[str] = mapped_column(String(200), default="")
    notify_channels: Mapped[str] = mapped_column(String(100), default="")
    quiet_hours: Mapped[str] = mapped_column(String(20), default="")
    __mapper_args__ = {"version_id_col": version}


class GridRoleAssignment(Base):
    """A person's post in a grid, valid between two dates (either may be open)."""

    __tablename__ = "grid_roles"
    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    sort: Mapped[int] = mapped_column(Integer, default=0)
    grid: Mapped[Grid] = relationship(back_populates="roles")
    person: Mapped[Person] = relationship()


class ReachChief(Base):
    """A river chief (河长) of a reach."""

    __tablename__ = "reach_chiefs"
    id: Mapped[int] = mapped_column(primary_key=True)
    reach_id: Mapped[int] = mapped_column(ForeignKey("reaches.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    level: Mapped[str] = mapped_column(String(30))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    reach: Mapped[Reach] = relationship()
    person: Mapped[Person] = relationship()


class OrgBody(Base):
    """The leading group (领导小组) and its office (办公室)."""

    __tablename__ = "org_bodies"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_bodies.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    duties: Mapped[str] = mapped_column(Text, default="")
    members: Mapped[list[OrgMember]] = relationship(back_populates="body", order_by="OrgMember.sort")
    parent: Mapped[OrgBody | None] = relationship(remote_side="OrgBody.id")
    grid: Mapped[Grid | None] = relationship()


class OrgMember(Base):
    """A member of an :class:`OrgBody` with a position (组长, 副组长, 成员, 主任)."""

    __tablename__ = "org_members"
    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("org_bodies.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    position: Mapped[str] = mapped_column(String(30))
    sort: Mapped[int] = mapped_column(Integer, default=0)
    body: Mapped[OrgBody] = relationship(back_populates="members")
    person: Mapped[Person] = relationship()


class SupervisedObject(Base):
    """A focus object (one of the nine categories) at a point."""

    __tablename__ = "supervised_objects"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    geom: Mapped[BaseGeometry] = mapped_column(Geometry("Point"))
    grid: Mapped[Grid | None] = relationship()
    # 五定 of the object (object ledger, :mod:`gis.patrol.objects`): its kind within the category
    # (``outfall`` 排污口, ``intake`` 取水口), its responsible person, how often it must be
    # inspected (days; None: no interval set), its tasks and its rewards and penalties.
    subtype: Mapped[str | None] = mapped_column(String(20))
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    inspect_every_days: Mapped[int | None] = mapped_column(Integer)
    tasks: Mapped[str] = mapped_column(Text, default="")
    rewards: Mapped[str] = mapped_column(Text, default="")
    responsible: Mapped[Person | None] = relationship()


class PatrolTrack(Base):
    """A patrol track: line geometry plus one UTC timestamp per vertex (ISO strings)."""

    __tablename__ = "patrol_tracks"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    geom: Mapped[BaseGeometry] = mapped_column(Geometry("Geometry"))
    times: Mapped[list[Any]] = mapped_column(JSON, default=list)
    source_name: Mapped[str] = mapped_column(String(255), default="")
    source_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    person: Mapped[Person | None] = relationship()
    grid: Mapped[Grid | None] = relationship()


class Incident(Base):
    """An incident (事件) at a point, with its workflow state and deadlines."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(20), default="normal")
    status: Mapped[str] = mapped_column(String(20), default="reported")
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(30), default="patrol")
    reporter: Mapped[str] = mapped_column(String(100), default="")
    reporter_contact: Mapped[str] = mapped_column(String(100), default="")
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    reach_id: Mapped[int | None] = mapped_column(ForeignKey("reaches.id"))
    object_id: Mapped[int | None] = mapped_column(ForeignKey("supervised_objects.id"))
    track_id: Mapped[int | None] = mapped_column(ForeignKey("patrol_tracks.id"))
    accept_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    close_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deadline_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    geom: Mapped[BaseGeometry] = mapped_column(Geometry("Point"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    events: Mapped[list[IncidentEvent]] = relationship(back_populates="incident", order_by="IncidentEvent.at")
    grid: Mapped[Grid | None] = relationship()
    reach: Mapped[Reach | None] = relationship()
    object: Mapped[SupervisedObject | None] = relationship()
    # 曝光台 (issue 17): the reply published with a closed case (staff write it for the public)
    public_reply: Mapped[str] = mapped_column(Text, default="")
    __mapper_args__ = {"version_id_col": version}


class IncidentEvent(Base):
    """One transition of an incident's workflow (who, when, from, to, note)."""

    __tablename__ = "incident_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    by: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    incident: Mapped[Incident] = relationship(back_populates="events")


class User(Base):
    """A sign-in account; ``password_hash`` is an argon2 hash.

    ``grid_id`` binds the account to a grid: it sees and acts on that grid and the grids below it
    only (数据权限, :mod:`gis.store.scope`); unbound accounts see everything. ``must_change_password``
    is set when an administrator creates or resets the account: the next sign-in must choose a
    new password first.
    """

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))  # 成员单位 account


class ApiKey(Base):
    """A key for the HTTP API (:mod:`gis.accounts.keys`): it acts as its user, with the user's role
    and data scope. Only the SHA-256 of the key is stored (``key_hash``, never in the audit log);
    ``prefix`` (its first characters) names it in lists. A revoked key stays, with ``revoked_at``."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(50), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user: Mapped[User] = relationship()


class FieldSubmission(Base):
    """What the field app (:mod:`gis.field`) sent once, by its ``client_id``: a patrol, a report of
    a signed-in account, or a resident's public report from the signboard.

    ``(kind, owner, client_id)`` is unique: a resent patrol or report finds its row and is not
    stored twice. ``owner`` is ``user:<id>`` for an account, ``public`` for residents (whose
    client ids are random UUIDs). A report names the patrol it was taken on by that patrol's
    ``client_id`` (``patrol_client_id``): linked when the patrol is stored, also when it arrives
    later. ``query_code`` is the resident's 查询码 of a public report; ``challenge`` the SHA-256 of
    the proof-of-work token it spent (each token is accepted once). Rows are only ever added, and
    ``track_id`` set when a waiting report's patrol arrives.
    """

    __tablename__ = "field_submissions"
    __table_args__ = (UniqueConstraint("kind", "owner", "client_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str] = mapped_column(String(60))
    client_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    track_id: Mapped[int | None] = mapped_column(ForeignKey("patrol_tracks.id"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    patrol_client_id: Mapped[str | None] = mapped_column(String(64))
    query_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    challenge: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("object_inspections.id"), index=True)
    """The inspection record of a ``kind == "inspection"`` submission (object ledger)."""


class AuditEntry(Base):
    """One row written, changed or deleted (or a secret read): who, when, which row, before and after.

    Append-only: no code path changes or deletes a row (the flush refuses it, and on PostgreSQL
    triggers refuse ``UPDATE``, ``DELETE`` and ``TRUNCATE``). The rows form a hash chain in the
    order of ``seq`` (1, 2, 3, …): ``hash`` is the SHA-256 of the row's content and ``prev_hash``,
    the previous row's ``hash`` (:mod:`gis.store.audit_chain`). ``undo_of`` names the entry an
    undo put back; an entry is undone when another entry's ``undo_of`` names it.
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    username: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(10))
    table_name: Mapped[str] = mapped_column(String(50), index=True)
    row_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    batch: Mapped[str] = mapped_column(String(40), default="", index=True)
    undo_of: Mapped[int | None] = mapped_column(Integer, index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class GridVersion(Base):
    """One saved state of a grid (网格历史版本): boundary and attributes, who saved it and when.

    Written by :mod:`gis.grids.versions` on every save, restore, split, merge, delete and restore from
    deletion, in the save's transaction. ``version`` is the grid's ``version`` right after that
    save, so the row with ``version == grid.version`` describes the live grid. The table is a
    history log like the audit log: rows are only ever added (they go away with their grid when
    a grid row itself is removed, e.g. when the creation of a grid is undone), and they are not
    audited themselves. ``saved_at`` is ``None`` only for a state of unknown date recorded from a
    grid that predates the history (see :func:`gis.grids.versions.grid_history`).
    """

    __tablename__ = "grid_versions"
    __table_args__ = (UniqueConstraint("grid_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(Integer)
    geom: Mapped[BaseGeometry | None] = mapped_column(Geometry("Geometry"))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    author: Mapped[str] = mapped_column(String(50), default="")
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")


class Attachment(Base):
    """A photo of an incident (事件附件), given with its report or one of its transitions.

    The file itself lives outside the database under the data folder, named by its SHA-256
    (:mod:`gis.incidents.attachments`); this row is its metadata. Rows are only ever added.
    """

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("incident_events.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    original_name: Mapped[str] = mapped_column(String(255), default="")
    mime: Mapped[str] = mapped_column(String(50))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width_px: Mapped[int | None] = mapped_column(Integer)
    height_px: Mapped[int | None] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(String(50), default="")
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Evaluation(Base):
    """A yearly evaluation (考核评价) of a grid: its self-evaluation or its upper grid's evaluation.

    ``kind`` is ``self`` (自评) or ``upper`` (上级评价, by ``evaluator_grid_id``). ``scores``
    maps rubric item codes (:mod:`gis.assessment.indicators`) to points. ``edition`` numbers the versions
    of one (grid, year, kind): a ``submitted`` row is locked (the flush rules refuse to change or
    delete it) and a change needs a new edition with a ``change_reason``. ``version`` is the
    optimistic lock of a draft.
    """

    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("grid_id", "year", "kind", "edition"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    edition: Mapped[int] = mapped_column(Integer, default=1)
    evaluator_grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total: Mapped[float] = mapped_column(Float, default=0.0)
    comment: Mapped[str] = mapped_column(Text, default="")
    change_reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    author: Mapped[str] = mapped_column(String(50), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by: Mapped[str] = mapped_column(String(50), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    grid: Mapped[Grid] = relationship(foreign_keys=[grid_id])
    evaluator_grid: Mapped[Grid | None] = relationship(foreign_keys=[evaluator_grid_id])
    __mapper_args__ = {"version_id_col": version}


class Counter(Base):
    """A named counter (e.g. ``incident:2026``, the last case number of that year).

    Advanced with one atomic ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` in the caller's
    transaction (:mod:`gis.store.codes`), so simultaneous writers never get the same number.
    Not audited: the numbers it hands out are.
    """

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class SignInAttempt(Base):
    """One sign-in attempt, or an administrator's unlock of a user name (:mod:`gis.accounts.signin`).

    ``outcome`` is ``ok``, ``failed``, ``locked`` (refused while the name or address was locked)
    or ``unlock``. Unknown user names are recorded like known ones, so that locks reveal nothing.
    """

    __tablename__ = "sign_in_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    ip: Mapped[str] = mapped_column(String(64), default="", index=True)
    outcome: Mapped[str] = mapped_column(String(10))


class DeploymentInfo(Base):
    """Facts about this database as a whole, by key: ``mode`` is ``production`` (made by
    ``gis init``) or ``demo`` (made by ``gis init-demo``); the demo is never loaded into a
    production database."""

    __tablename__ = "deployment_info"
    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


# --- issue 17: 一河一策, meetings and the document shelf (台账) --------------------------------


class RiverPlan(Base):
    """一河一策: a river's plan for one year, its targets and tasks (one per line)."""

    __tablename__ = "river_plans"
    __table_args__ = (UniqueConstraint("river_id", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    river_id: Mapped[int] = mapped_column(ForeignKey("rivers.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    targets: Mapped[str] = mapped_column(Text, default="")
    tasks: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    river: Mapped[River] = relationship()


class Meeting(Base):
    """A meeting (会议) of a grid: date, title, attendees (ids of :class:`Person`), minutes."""

    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200), default="")
    attendee_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    minutes: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(50), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    grid: Mapped[Grid | None] = relationship()


class LedgerDocument(Base):
    """A document on the shelf (文件柜): a plan, a rule, a report… of a grid (None: of the whole office)."""

    __tablename__ = "ledger_documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    issued_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(50), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    grid: Mapped[Grid | None] = relationship()


class LedgerFile(Base):
    """A file of a meeting or a document; the bytes live in the blob store (:mod:`gis.store.blobs`),
    named by ``sha256``. Rows are only ever added."""

    __tablename__ = "ledger_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_documents.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    original_name: Mapped[str] = mapped_column(String(255), default="")
    mime: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    size_bytes: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(String(50), default="")
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ObjectInspection(Base):
    """An inspection record of a supervised object (对象巡查记录): who inspected it, when, a note and
    at most one photo (stored like incident photos, :mod:`gis.incidents.attachments`, by its
    SHA-256). ``source`` is ``record`` for a record made on the page or sent by the phone app;
    visits counted from patrol tracks (``patrol``) are derived from the tracks, not stored
    (:mod:`gis.patrol.objects`). Rows are only ever added."""

    __tablename__ = "object_inspections"
    id: Mapped[int] = mapped_column(primary_key=True)
    object_id: Mapped[int] = mapped_column(ForeignKey("supervised_objects.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    photo_mime: Mapped[str | None] = mapped_column(String(50))
    photo_name: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(String(10), default="record")
    recorded_by: Mapped[str] = mapped_column(String(50), default="")
    object: Mapped[SupervisedObject] = relationship()
    person: Mapped[Person | None] = relationship()


# --- issue 17: departments (成员单位), 协办 sub-tasks, 移交/移送 records, 延期 -------------------------


class Department(Base):
    """A member department (成员单位: 生态环境分局, 水利局, …) that cases are sent to for 协办 or
    移交; its accounts (role ``department``, ``users.department_id``) see and answer those cases."""

    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="functional")
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(50), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class CoTask(Base):
    """A 协办 sub-task: a case sent to a department with its own deadline, answered once
    (``answer``, ``answered_at``, ``answered_by``); the case cannot be archived while one is open."""

    __tablename__ = "incident_cotasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    request: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by: Mapped[str] = mapped_column(String(100), default="")
    answer_event_id: Mapped[int | None] = mapped_column(ForeignKey("incident_events.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    department: Mapped[Department] = relationship()
    __mapper_args__ = {"version_id_col": version}


class TransferRecord(Base):
    """A 移交/移送 record of a case (转执法/移送司法): the receiving body, the date it was sent,
    later its receipt (回执) and outcome (处理结果)."""

    __tablename__ = "incident_transfers"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("incident_events.id"))
    receiver: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    sent_on: Mapped[date] = mapped_column(Date)
    sent_by: Mapped[str] = mapped_column(String(100), default="")
    receipt_on: Mapped[date | None] = mapped_column(Date)
    receipt_note: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(Text, default="")
    outcome_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class DeadlineExtension(Base):
    """A 延期 request: ``days`` working days asked with a reason; ``status`` pending, approved or
    refused; on approval the case's close deadline moves from ``old_due_at`` to ``new_due_at``."""

    __tablename__ = "deadline_extensions"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    requested_by: Mapped[str] = mapped_column(String(100), default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str] = mapped_column(String(100), default="")
    decision_note: Mapped[str] = mapped_column(Text, default="")
    old_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    new_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


# --- end issue 17 (departments) ------------------------------------------------------------------


# --- issue 18: 信息报送 (periodic reports per grid, submitted upward) -------------------------------


class ReportEdition(Base):
    """A submitted edition of a grid's periodic report (信息报送: 月报, 季报, 年报).

    ``period`` is the period's label (``2026-11``, ``2026-Q4``, ``2026``), ``kind`` ``month``,
    ``quarter`` or ``year``. Every row is written once, at submission, and is locked: the flush
    rules refuse any change or deletion; a correction is edition n+1 with a ``change_reason``.
    ``figures`` holds the report's figures as JSON (:mod:`gis.reports.figures`); the workbook
    and the PDF are kept in the blob store (:mod:`gis.store.blobs`) under ``xlsx_sha256`` and
    ``pdf_sha256``.
    """

    __tablename__ = "report_editions"
    __table_args__ = (UniqueConstraint("grid_id", "period", "edition"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    period: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))
    edition: Mapped[int] = mapped_column(Integer, default=1)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    xlsx_sha256: Mapped[str] = mapped_column(String(64), default="")
    xlsx_bytes: Mapped[int] = mapped_column(Integer, default=0)
    pdf_sha256: Mapped[str] = mapped_column(String(64), default="")
    pdf_bytes: Mapped[int] = mapped_column(Integer, default=0)
    change_reason: Mapped[str] = mapped_column(Text, default="")
    submitted_by: Mapped[str] = mapped_column(String(100), default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    grid: Mapped[Grid] = relationship()


# --- end issue 18 (reports) ----------------------------------------------------------------------


SERVICE_TABLES = frozenset(
    {
        AuditEntry.__tablename__,
        Counter.__tablename__,
        SignInAttempt.__tablename__,
        DeploymentInfo.__tablename__,
    }
)
"""Tables of the system's own bookkeeping, written with SQL statements rather than audited rows:
the audit log itself, counters, sign-in attempts and deployment facts."""

AUDITED_TABLES = frozenset(t.name for t in Base.metadata.sorted_tables if t.name not in SERVICE_TABLES)
"""Every table of the application's data (written through audited sessions)."""

GEOMETRY_TABLES = {t.name: "geom" for t in Base.metadata.sorted_tables if "geom" in t.c}


def not_deleted(model: type[Grid] | type[Reach]) -> ColumnElement[bool]:
    """The condition "not deleted" on a soft-deleted table (grids, reaches): the one spelling of it."""
    return model.deleted_at.is_(None)


# --- issue 18: notifications (:mod:`gis.notify`) -------------------------------------------------
# System tables, like the counters: written with SQL statements by the notification runner (and
# by a user marking their own message read), not through audited rows, and not in AUDITED_TABLES.
# What the runner decides that matters to a case (an escalation) is an audited case event.


class NotifyMessage(Base):
    """An in-app message (站内消息) of an account: unread until ``read_at`` is set by its owner.
    ``key`` is the delivery's idempotency key: one message per (event, recipient)."""

    __tablename__ = "notify_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class NotifyDelivery(Base):
    """One delivery (投递) of one event to one recipient over one channel, with its state.

    ``key`` (unique) is the idempotency key sent as ``Message-ID`` / ``Idempotency-Key``;
    ``state`` is ``pending`` (to send), ``deferred`` (quiet hours), ``retry`` (failed, tried again
    at ``next_attempt_at``), ``sent`` or ``failed`` (given up). ``payload`` holds what is sent
    (address, subject, text; for ``http`` the URL, JSON body and file)."""

    __tablename__ = "notify_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    event_key: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(300))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id", ondelete="SET NULL"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class NotifyLock(Base):
    """The runner's lock on SQLite (PostgreSQL uses an advisory lock): held by ``holder`` until
    ``expires_at`` (a crashed runner's lock expires)."""

    __tablename__ = "notify_locks"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


NOTIFY_TABLES = frozenset({NotifyMessage.__tablename__, NotifyDelivery.__tablename__, NotifyLock.__tablename__})
"""System tables of the notifications (issue 18): not audited (see above)."""

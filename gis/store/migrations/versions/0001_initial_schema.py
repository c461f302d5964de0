"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gis.store.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SPATIAL_TABLES = ("grids", "reaches", "patrol_tracks", "supervised_objects", "incidents")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", gis.store.types.UTCDateTime(), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("table_name", sa.String(length=50), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("batch", sa.String(length=40), nullable=False),
        sa.Column("undone_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_batch"), ["batch"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_table_name"), ["table_name"], unique=False)

    op.create_table(
        "grids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=True),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("responsible_body", sa.String(length=200), nullable=False),
        sa.Column("area_desc", sa.Text(), nullable=False),
        sa.Column("personnel_desc", sa.Text(), nullable=False),
        sa.Column("duties", sa.Text(), nullable=False),
        sa.Column("tasks", sa.Text(), nullable=False),
        sa.Column("rewards", sa.Text(), nullable=False),
        sa.Column("hotline", sa.String(length=50), nullable=False),
        sa.Column("illustrative", sa.Boolean(), nullable=False),
        sa.Column("geom", gis.store.types.Geometry("Geometry", srid=4326), nullable=True),
        sa.Column("deleted_at", gis.store.types.UTCDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["grids.id"], name=op.f("fk_grids_parent_id_grids")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grids")),
        sa.UniqueConstraint("code", name=op.f("uq_grids_code")),
    )
    with op.batch_alter_table("grids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grids_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "persons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=50), nullable=False),
        sa.Column("phone_public", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
    )
    op.create_table(
        "rivers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=True),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rivers")),
        sa.UniqueConstraint("code", name=op.f("uq_rivers_code")),
        sa.UniqueConstraint("name", name=op.f("uq_rivers_name")),
    )
    op.create_table(
        "grid_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("sort", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_grid_roles_grid_id_grids")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_grid_roles_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_roles")),
    )
    with op.batch_alter_table("grid_roles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_roles_grid_id"), ["grid_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grid_roles_person_id"), ["person_id"], unique=False)

    op.create_table(
        "org_bodies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("duties", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_org_bodies_grid_id_grids")),
        sa.ForeignKeyConstraint(["parent_id"], ["org_bodies.id"], name=op.f("fk_org_bodies_parent_id_org_bodies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_bodies")),
    )
    op.create_table(
        "patrol_tracks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("started_at", gis.store.types.UTCDateTime(), nullable=True),
        sa.Column("ended_at", gis.store.types.UTCDateTime(), nullable=True),
        sa.Column("geom", gis.store.types.Geometry("Geometry", srid=4326), nullable=False),
        sa.Column("times", sa.JSON(), nullable=False),
        sa.Column("source_name", sa.String(length=255), nullable=False),
        sa.Column("source_data", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_patrol_tracks_grid_id_grids")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_patrol_tracks_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_tracks")),
    )
    with op.batch_alter_table("patrol_tracks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patrol_tracks_person_id"), ["person_id"], unique=False)

    op.create_table(
        "reaches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("river_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=True),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("start_station_m", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("geom", gis.store.types.Geometry("Geometry", srid=4326), nullable=False),
        sa.Column("deleted_at", gis.store.types.UTCDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["river_id"], ["rivers.id"], name=op.f("fk_reaches_river_id_rivers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reaches")),
        sa.UniqueConstraint("code", name=op.f("uq_reaches_code")),
    )
    with op.batch_alter_table("reaches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reaches_river_id"), ["river_id"], unique=False)

    op.create_table(
        "supervised_objects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("geom", gis.store.types.Geometry("Point", srid=4326), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_supervised_objects_grid_id_grids")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervised_objects")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", gis.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_users_grid_id_grids")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_users_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("reporter", sa.String(length=100), nullable=False),
        sa.Column("reported_at", gis.store.types.UTCDateTime(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("reach_id", sa.Integer(), nullable=True),
        sa.Column("object_id", sa.Integer(), nullable=True),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.Column("accept_due_at", gis.store.types.UTCDateTime(), nullable=True),
        sa.Column("close_due_at", gis.store.types.UTCDateTime(), nullable=True),
        sa.Column("closed_at", gis.store.types.UTCDateTime(), nullable=True),
        sa.Column("geom", gis.store.types.Geometry("Point", srid=4326), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_incidents_grid_id_grids")),
        sa.ForeignKeyConstraint(
            ["object_id"], ["supervised_objects.id"], name=op.f("fk_incidents_object_id_supervised_objects")
        ),
        sa.ForeignKeyConstraint(["reach_id"], ["reaches.id"], name=op.f("fk_incidents_reach_id_reaches")),
        sa.ForeignKeyConstraint(["track_id"], ["patrol_tracks.id"], name=op.f("fk_incidents_track_id_patrol_tracks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("code", name=op.f("uq_incidents_code")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incidents_grid_id"), ["grid_id"], unique=False)

    op.create_table(
        "org_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.String(length=30), nullable=False),
        sa.Column("sort", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["body_id"], ["org_bodies.id"], name=op.f("fk_org_members_body_id_org_bodies")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_org_members_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_members")),
    )
    with op.batch_alter_table("org_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_org_members_body_id"), ["body_id"], unique=False)

    op.create_table(
        "reach_chiefs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reach_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=30), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_reach_chiefs_person_id_persons")),
        sa.ForeignKeyConstraint(["reach_id"], ["reaches.id"], name=op.f("fk_reach_chiefs_reach_id_reaches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reach_chiefs")),
    )
    with op.batch_alter_table("reach_chiefs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reach_chiefs_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reach_chiefs_reach_id"), ["reach_id"], unique=False)

    op.create_table(
        "incident_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("at", gis.store.types.UTCDateTime(), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_events_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_events")),
    )
    with op.batch_alter_table("incident_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_events_incident_id"), ["incident_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for table in SPATIAL_TABLES:
            op.execute(f"CREATE INDEX ix_{table}_geom ON {table} USING GIST (geom)")


def downgrade() -> None:
    with op.batch_alter_table("incident_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_events_incident_id"))

    op.drop_table("incident_events")
    with op.batch_alter_table("reach_chiefs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reach_chiefs_reach_id"))
        batch_op.drop_index(batch_op.f("ix_reach_chiefs_person_id"))

    op.drop_table("reach_chiefs")
    with op.batch_alter_table("org_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_org_members_body_id"))

    op.drop_table("org_members")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_grid_id"))

    op.drop_table("incidents")
    op.drop_table("users")
    op.drop_table("supervised_objects")
    with op.batch_alter_table("reaches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reaches_river_id"))

    op.drop_table("reaches")
    with op.batch_alter_table("patrol_tracks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patrol_tracks_person_id"))

    op.drop_table("patrol_tracks")
    op.drop_table("org_bodies")
    with op.batch_alter_table("grid_roles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_roles_person_id"))
        batch_op.drop_index(batch_op.f("ix_grid_roles_grid_id"))

    op.drop_table("grid_roles")
    op.drop_table("rivers")
    op.drop_table("persons")
    with op.batch_alter_table("grids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grids_parent_id"))

    op.drop_table("grids")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_table_name"))
        batch_op.drop_index(batch_op.f("ix_audit_log_batch"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")

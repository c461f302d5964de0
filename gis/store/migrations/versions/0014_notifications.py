"""Notifications (issue 18): persons' e-mail, channels and quiet hours; in-app messages, the
delivery log and the runner's lock

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gis.store.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("notify_channels", sa.String(length=100), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("quiet_hours", sa.String(length=20), nullable=False, server_default=""))

    op.create_table(
        "notify_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("created_at", gis.store.types.UTCDateTime(), nullable=False),
        sa.Column("read_at", gis.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notify_messages_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_notify_messages_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["grids.id"], name=op.f("fk_notify_messages_grid_id_grids"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_messages")),
        sa.UniqueConstraint("key", name=op.f("uq_notify_messages_key")),
    )
    with op.batch_alter_table("notify_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_messages_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notify_messages_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "notify_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=300), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", gis.store.types.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", gis.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gis.store.types.UTCDateTime(), nullable=True),
        sa.Column("sent_at", gis.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_notify_deliveries_person_id_persons"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notify_deliveries_user_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_notify_deliveries_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["grids.id"], name=op.f("fk_notify_deliveries_grid_id_grids"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_deliveries")),
        sa.UniqueConstraint("key", name=op.f("uq_notify_deliveries_key")),
    )
    with op.batch_alter_table("notify_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_deliveries_event_key"), ["event_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_notify_deliveries_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notify_deliveries_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_notify_deliveries_next_attempt_at"), ["next_attempt_at"], unique=False)

    op.create_table(
        "notify_locks",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("expires_at", gis.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_notify_locks")),
    )


def downgrade() -> None:
    op.drop_table("notify_locks")
    with op.batch_alter_table("notify_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_deliveries_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_notify_deliveries_state"))
        batch_op.drop_index(batch_op.f("ix_notify_deliveries_incident_id"))
        batch_op.drop_index(batch_op.f("ix_notify_deliveries_event_key"))
    op.drop_table("notify_deliveries")
    with op.batch_alter_table("notify_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_messages_incident_id"))
        batch_op.drop_index(batch_op.f("ix_notify_messages_user_id"))
    op.drop_table("notify_messages")
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_column("quiet_hours")
        batch_op.drop_column("notify_channels")
        batch_op.drop_column("email")

"""Departments (成员单位), 协办 sub-tasks, 移交/移送 records and 延期 requests (issue 17)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gis.store.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("contact_name", sa.String(length=50), nullable=False),
        sa.Column("contact_phone", sa.String(length=50), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("name", name=op.f("uq_departments_name")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_users_department_id_departments"), "departments", ["department_id"], ["id"]
        )
    op.create_table(
        "incident_cotasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("due_at", gis.store.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", gis.store.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_at", gis.store.types.UTCDateTime(), nullable=True),
        sa.Column("answered_by", sa.String(length=100), nullable=False),
        sa.Column("answer_event_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_cotasks_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_incident_cotasks_department_id_departments")
        ),
        sa.ForeignKeyConstraint(
            ["answer_event_id"],
            ["incident_events.id"],
            name=op.f("fk_incident_cotasks_answer_event_id_incident_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_cotasks")),
    )
    with op.batch_alter_table("incident_cotasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_cotasks_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_cotasks_department_id"), ["department_id"], unique=False)
    op.create_table(
        "incident_transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("receiver", sa.String(length=200), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("sent_by", sa.String(length=100), nullable=False),
        sa.Column("receipt_on", sa.Date(), nullable=True),
        sa.Column("receipt_note", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("outcome_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_transfers_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["incident_events.id"], name=op.f("fk_incident_transfers_event_id_incident_events")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_incident_transfers_department_id_departments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_transfers")),
    )
    with op.batch_alter_table("incident_transfers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_transfers_incident_id"), ["incident_id"], unique=False)
    op.create_table(
        "deadline_extensions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_at", gis.store.types.UTCDateTime(), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("decided_at", gis.store.types.UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column("old_due_at", gis.store.types.UTCDateTime(), nullable=True),
        sa.Column("new_due_at", gis.store.types.UTCDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_deadline_extensions_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_extensions")),
    )
    with op.batch_alter_table("deadline_extensions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deadline_extensions_incident_id"), ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deadline_extensions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deadline_extensions_incident_id"))
    op.drop_table("deadline_extensions")
    with op.batch_alter_table("incident_transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_transfers_incident_id"))
    op.drop_table("incident_transfers")
    with op.batch_alter_table("incident_cotasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_cotasks_department_id"))
        batch_op.drop_index(batch_op.f("ix_incident_cotasks_incident_id"))
    op.drop_table("incident_cotasks")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_users_department_id_departments"), type_="foreignkey")
        batch_op.drop_column("department_id")
    op.drop_table("departments")

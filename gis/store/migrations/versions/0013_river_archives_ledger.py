"""一河一档/一河一策, public replies, meetings and the document shelf (issue 17)

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gis.store.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_RIVER_COLUMNS = (
    ("basin", sa.String(length=100)),
    ("source", sa.String(length=200)),
    ("mouth", sa.String(length=200)),
    ("water_function_zone", sa.String(length=200)),
    ("water_quality_target", sa.String(length=100)),
    ("works", sa.Text()),
)
_REACH_COLUMNS = (
    ("water_function_zone", sa.String(length=200)),
    ("water_quality_target", sa.String(length=100)),
    ("works", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("rivers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("length_km", sa.Float(), nullable=True))
        for name, type_ in _RIVER_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=False, server_default=""))
    with op.batch_alter_table("reaches", schema=None) as batch_op:
        for name, type_ in _REACH_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=False, server_default=""))
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_reply", sa.Text(), nullable=False, server_default=""))

    op.create_table(
        "river_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("river_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("targets", sa.Text(), nullable=False),
        sa.Column("tasks", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["river_id"], ["rivers.id"], name=op.f("fk_river_plans_river_id_rivers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_river_plans")),
        sa.UniqueConstraint("river_id", "year", name=op.f("uq_river_plans_river_id")),
    )
    with op.batch_alter_table("river_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_river_plans_river_id"), ["river_id"], unique=False)

    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("attendee_ids", sa.JSON(), nullable=False),
        sa.Column("minutes", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=50), nullable=False),
        sa.Column("created_at", gis.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_meetings_grid_id_grids")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
    )
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meetings_grid_id"), ["grid_id"], unique=False)

    op.create_table(
        "ledger_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=50), nullable=False),
        sa.Column("created_at", gis.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_ledger_documents_grid_id_grids")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_documents")),
    )
    with op.batch_alter_table("ledger_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_documents_grid_id"), ["grid_id"], unique=False)

    op.create_table(
        "ledger_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("mime", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=50), nullable=False),
        sa.Column("uploaded_at", gis.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], name=op.f("fk_ledger_files_meeting_id_meetings")),
        sa.ForeignKeyConstraint(
            ["document_id"], ["ledger_documents.id"], name=op.f("fk_ledger_files_document_id_ledger_documents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_files")),
    )
    with op.batch_alter_table("ledger_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_files_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_files_document_id"), ["document_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ledger_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_files_document_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_files_meeting_id"))
    op.drop_table("ledger_files")
    with op.batch_alter_table("ledger_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_documents_grid_id"))
    op.drop_table("ledger_documents")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meetings_grid_id"))
    op.drop_table("meetings")
    with op.batch_alter_table("river_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_river_plans_river_id"))
    op.drop_table("river_plans")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("public_reply")
    with op.batch_alter_table("reaches", schema=None) as batch_op:
        for name, _ in reversed(_REACH_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table("rivers", schema=None) as batch_op:
        for name, _ in reversed(_RIVER_COLUMNS):
            batch_op.drop_column(name)
        batch_op.drop_column("length_km")

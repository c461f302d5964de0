"""信息报送: submitted editions of the periodic reports per grid (issue 18)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gis.store.types

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_editions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("edition", sa.Integer(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("xlsx_sha256", sa.String(length=64), nullable=False),
        sa.Column("xlsx_bytes", sa.Integer(), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("pdf_bytes", sa.Integer(), nullable=False),
        sa.Column("change_reason", sa.Text(), nullable=False),
        sa.Column("submitted_by", sa.String(length=100), nullable=False),
        sa.Column("submitted_at", gis.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_report_editions_grid_id_grids")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_editions")),
        sa.UniqueConstraint("grid_id", "period", "edition", name=op.f("uq_report_editions_grid_id")),
    )
    with op.batch_alter_table("report_editions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_editions_grid_id"), ["grid_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("report_editions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_editions_grid_id"))
    op.drop_table("report_editions")

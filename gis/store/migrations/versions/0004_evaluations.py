"""evaluations (考核评价)

Adds ``evaluations``: the yearly self-evaluation of each grid and the upper grid's evaluation
of each lower grid, in numbered editions (a submitted edition is locked; see
:class:`gis.store.schema.Evaluation` and :mod:`gis.assessment.indicators`).

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gis.store.types

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("edition", sa.Integer(), nullable=False),
        sa.Column("evaluator_grid_id", sa.Integer(), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("change_reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("author", sa.String(length=50), nullable=False),
        sa.Column("created_at", gis.store.types.UTCDateTime(), nullable=False),
        sa.Column("submitted_at", gis.store.types.UTCDateTime(), nullable=True),
        sa.Column("submitted_by", sa.String(length=50), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["evaluator_grid_id"], ["grids.id"], name=op.f("fk_evaluations_evaluator_grid_id_grids")
        ),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_evaluations_grid_id_grids")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluations")),
        sa.UniqueConstraint("grid_id", "year", "kind", "edition", name=op.f("uq_evaluations_grid_id")),
    )
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluations_grid_id"), ["grid_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluations_grid_id"))
    op.drop_table("evaluations")

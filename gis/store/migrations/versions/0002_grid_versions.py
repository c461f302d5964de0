"""grid versions (网格历史版本)

Adds ``grid_versions``: one row per saved state of a grid, written by :mod:`gis.grids.versions`.
Existing grids get no rows here: the editor treats a grid without recorded versions as having
an implicit version (its current state, author and time taken from the audit log) and records
it on the grid's first save.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gis.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grid_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("geom", gis.store.types.Geometry("Geometry", srid=4326), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("author", sa.String(length=50), nullable=False),
        sa.Column("saved_at", gis.store.types.UTCDateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["grids.id"], name=op.f("fk_grid_versions_grid_id_grids"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_versions")),
        sa.UniqueConstraint("grid_id", "version", name=op.f("uq_grid_versions_grid_id")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_grid_versions_geom ON grid_versions USING GIST (geom)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_grid_versions_geom")
    op.drop_table("grid_versions")

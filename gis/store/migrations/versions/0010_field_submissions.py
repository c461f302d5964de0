"""Field app submissions (issue 16): patrols and reports sent by phones, once per client id

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gis.store.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "field_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=60), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("patrol_client_id", sa.String(length=64), nullable=True),
        sa.Column("query_code", sa.String(length=16), nullable=True),
        sa.Column("challenge", sa.String(length=64), nullable=True),
        sa.Column("created_at", gis.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_field_submissions_user_id_users")),
        sa.ForeignKeyConstraint(
            ["track_id"], ["patrol_tracks.id"], name=op.f("fk_field_submissions_track_id_patrol_tracks")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_field_submissions_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_submissions")),
        sa.UniqueConstraint("kind", "owner", "client_id", name=op.f("uq_field_submissions_kind")),
        sa.UniqueConstraint("query_code", name=op.f("uq_field_submissions_query_code")),
        sa.UniqueConstraint("challenge", name=op.f("uq_field_submissions_challenge")),
    )
    with op.batch_alter_table("field_submissions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_field_submissions_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_field_submissions_track_id"), ["track_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_field_submissions_incident_id"), ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("field_submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_submissions_incident_id"))
        batch_op.drop_index(batch_op.f("ix_field_submissions_track_id"))
        batch_op.drop_index(batch_op.f("ix_field_submissions_user_id"))
    op.drop_table("field_submissions")

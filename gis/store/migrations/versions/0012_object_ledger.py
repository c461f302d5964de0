"""Object ledger (issue 17): 五定 of supervised objects and their inspection records

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gis.store.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("supervised_objects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subtype", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("responsible_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("inspect_every_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("tasks", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("rewards", sa.Text(), nullable=False, server_default=""))
        batch_op.create_foreign_key(
            batch_op.f("fk_supervised_objects_responsible_id_persons"), "persons", ["responsible_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_supervised_objects_responsible_id"), ["responsible_id"], unique=False)
    with op.batch_alter_table("supervised_objects", schema=None) as batch_op:
        batch_op.alter_column("tasks", server_default=None)
        batch_op.alter_column("rewards", server_default=None)
    op.create_table(
        "object_inspections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("at", gis.store.types.UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("photo_sha256", sa.String(length=64), nullable=True),
        sa.Column("photo_mime", sa.String(length=50), nullable=True),
        sa.Column("photo_name", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("recorded_by", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(
            ["object_id"], ["supervised_objects.id"], name=op.f("fk_object_inspections_object_id_supervised_objects")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_object_inspections_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_object_inspections")),
    )
    with op.batch_alter_table("object_inspections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_object_inspections_object_id"), ["object_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_object_inspections_person_id"), ["person_id"], unique=False)
    with op.batch_alter_table("field_submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inspection_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_field_submissions_inspection_id_object_inspections"),
            "object_inspections",
            ["inspection_id"],
            ["id"],
        )
        batch_op.create_index(batch_op.f("ix_field_submissions_inspection_id"), ["inspection_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("field_submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_submissions_inspection_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_field_submissions_inspection_id_object_inspections"), type_="foreignkey"
        )
        batch_op.drop_column("inspection_id")
    with op.batch_alter_table("object_inspections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_object_inspections_person_id"))
        batch_op.drop_index(batch_op.f("ix_object_inspections_object_id"))
    op.drop_table("object_inspections")
    with op.batch_alter_table("supervised_objects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervised_objects_responsible_id"))
        batch_op.drop_constraint(batch_op.f("fk_supervised_objects_responsible_id_persons"), type_="foreignkey")
        batch_op.drop_column("rewards")
        batch_op.drop_column("tasks")
        batch_op.drop_column("inspect_every_days")
        batch_op.drop_column("responsible_id")
        batch_op.drop_column("subtype")

"""counters, account state, sign-in attempts, deployment facts, reporter contact, estimated deadlines

* ``counters``: per-year case numbers handed out atomically (filled from the existing codes);
* ``users.must_change_password``, ``users.password_changed_at``;
* ``sign_in_attempts``: failed and successful sign-ins and unlocks (locks per name and address);
* ``deployment_info``: ``mode`` = ``production`` or ``demo`` (a database that already holds
  users is taken as a demo when it has the demo's ``admin`` account and its illustrative grids,
  else as production);
* ``incidents.reporter_contact`` (a reporter's phone, kept out of the audit log) and
  ``incidents.deadline_estimated`` (deadlines counted on an estimated holiday calendar).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

import gis.store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", gis.store.types.UTCDateTime(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_attempts")),
    )
    with op.batch_alter_table("sign_in_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_in_attempts_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_sign_in_attempts_ip"), ["ip"], unique=False)
        batch_op.create_index(batch_op.f("ix_sign_in_attempts_username"), ["username"], unique=False)
    op.create_table(
        "deployment_info",
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_deployment_info")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("password_changed_at", gis.store.types.UTCDateTime(), nullable=True))
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reporter_contact", sa.String(length=100), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("deadline_estimated", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("must_change_password", server_default=None)
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.alter_column("reporter_contact", server_default=None)
        batch_op.alter_column("deadline_estimated", server_default=None)

    conn = op.get_bind()
    last: dict[str, int] = {}
    for (code,) in conn.execute(sa.text("SELECT code FROM incidents")):
        m = re.fullmatch(r"SJ-(\d{4})-(\d+)", code or "")
        if m:
            key = f"incident:{m.group(1)}"
            last[key] = max(last.get(key, 0), int(m.group(2)))
    if last:
        conn.execute(
            sa.text("INSERT INTO counters (name, value) VALUES (:name, :value)"),
            [{"name": k, "value": v} for k, v in sorted(last.items())],
        )
    users = conn.execute(sa.text("SELECT username FROM users")).scalars().all()
    if users:
        illustrative = conn.execute(sa.text("SELECT count(*) FROM grids WHERE illustrative")).scalar()
        mode = "demo" if "admin" in users and illustrative else "production"
        conn.execute(sa.text("INSERT INTO deployment_info (key, value) VALUES ('mode', :mode)"), {"mode": mode})


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("deadline_estimated")
        batch_op.drop_column("reporter_contact")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("must_change_password")
    op.drop_table("deployment_info")
    with op.batch_alter_table("sign_in_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_attempts_username"))
        batch_op.drop_index(batch_op.f("ix_sign_in_attempts_ip"))
        batch_op.drop_index(batch_op.f("ix_sign_in_attempts_at"))
    op.drop_table("sign_in_attempts")
    op.drop_table("counters")

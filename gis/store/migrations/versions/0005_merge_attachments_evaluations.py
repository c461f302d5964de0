"""merge the two branches after 0002 (attachments 0003, evaluations 0004)

0003 and 0004 were written side by side, both following 0002, which left two heads:
``alembic upgrade head`` failed. This revision joins them; it changes nothing in the schema.

Revision ID: 0005
Revises: 0003, 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

revision = "0005"
down_revision = ("0003", "0004")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

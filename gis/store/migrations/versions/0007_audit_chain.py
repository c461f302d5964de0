"""audit log: append-only hash chain, undo_of instead of undone_by

* ``audit_log`` gets ``seq`` (chain position, unique, not null), ``prev_hash`` and ``hash`` (hex
  SHA-256, see :mod:`gis.store.audit_chain`) and ``undo_of`` (the entry an undo put back); it
  loses ``undone_by`` (undo no longer writes into the undone row);
* ``undo_of`` from ``undone_by``: an entry E with ``undone_by = U`` was undone by the undo
  transaction whose batch is U's batch; the row of that batch with E's table and row id gets
  ``undo_of = E.id`` (when an undo transaction touched one row twice, the undo rows are paired
  with the undone rows newest first, preferring the inverse action). An old undo that wrote no
  row at all leaves nothing to point at: its entry no longer shows as undone;
* what the log must not hold is taken out of the existing rows before they are hashed (the last
  chance: afterwards rows never change): base64 file data becomes a digest ``{"sha256", "bytes"}``
  with the bytes written to the blob store (``<RIVERGRID_DATA_DIR>/blobs``),
  ``users.password_hash`` becomes ``{"redacted": true}`` and ``incidents.reporter_contact`` a
  reference ``{"ref": "incidents.reporter_contact", "set": …}``;
* ``seq``, ``prev_hash`` and ``hash`` for the existing rows in ``id`` order;
* PostgreSQL only: a trigger refuses ``UPDATE``, ``DELETE`` and ``TRUNCATE`` on ``audit_log``
  (function ``audit_log_append_only`` raises an exception naming the operation). A superuser or
  the table owner can still disable it (``ALTER TABLE audit_log DISABLE TRIGGER USER``): the
  hash chain is what shows such a change (``python -m gis audit verify``).

Downgrade puts ``undone_by`` back (from ``undo_of``) and drops the chain and the trigger; the
removed secrets and file data do not come back into the log.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from __future__ import annotations

import base64
from typing import Any

import sqlalchemy as sa
from alembic import op

import gis.store.types
from gis.store.audit_chain import GENESIS, entry_hash, json_safe

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

CHUNK = 500

TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '修改记录（审计日志）只能追加，不能修改、删除或清空 (audit_log is append-only: % refused)', TG_OP;
END
$$
"""

TRIGGER = (
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
)

INVERSE = {"insert": "delete", "delete": "insert", "update": "update"}


def _audit_table(*extra: sa.ColumnClause[Any]) -> sa.TableClause:
    return sa.table(
        "audit_log",
        sa.column("id", sa.Integer()),
        sa.column("at", gis.store.types.UTCDateTime()),
        sa.column("username", sa.String()),
        sa.column("action", sa.String()),
        sa.column("table_name", sa.String()),
        sa.column("row_id", sa.Integer()),
        sa.column("before", sa.JSON()),
        sa.column("after", sa.JSON()),
        sa.column("batch", sa.String()),
        sa.column("undo_of", sa.Integer()),
        sa.column("seq", sa.Integer()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
        *extra,
    )


def _undo_links(conn: sa.Connection, audit: sa.TableClause) -> dict[int, int]:
    """undo row id → id of the entry it undid, from ``undone_by``."""
    rows = conn.execute(
        sa.select(
            audit.c.id, audit.c.batch, audit.c.table_name, audit.c.row_id, audit.c.action, audit.c.undone_by
        ).order_by(audit.c.id)
    ).all()
    by_id = {r.id: r for r in rows}
    by_batch: dict[str, list[Any]] = {}
    for r in rows:
        by_batch.setdefault(r.batch, []).append(r)
    taken: set[int] = set()
    links: dict[int, int] = {}
    for e in sorted((r for r in rows if r.undone_by is not None), key=lambda r: r.id, reverse=True):
        u = by_id.get(e.undone_by)
        if u is None:
            continue
        candidates = [
            r
            for r in by_batch[u.batch]
            if r.id > e.id and r.id not in taken and (r.table_name, r.row_id) == (e.table_name, e.row_id)
        ]
        pick = next((r for r in candidates if r.action == INVERSE.get(e.action)), candidates[0] if candidates else None)
        if pick is not None:
            taken.add(pick.id)
            links[pick.id] = e.id
    return links


def _scrub(table_name: str, values: Any, blobs: Any) -> Any:
    """``values`` without password hashes, reporter contacts and base64 file data."""
    from gis.store.blobs import digest

    if not isinstance(values, dict):
        return values
    out = {}
    for key, value in values.items():
        if (table_name, key) == ("users", "password_hash"):
            value = {"redacted": True}
        elif (table_name, key) == ("incidents", "reporter_contact") and not isinstance(value, dict):
            value = {"ref": "incidents.reporter_contact", "set": bool(value)}
        elif isinstance(value, dict) and set(value) == {"base64"}:
            data = base64.b64decode(value["base64"])
            blobs.put(data)
            value = digest(data)
        out[key] = value
    return out


def upgrade() -> None:
    from gis.store.blobs import BlobStore

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("undo_of", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))

    conn = op.get_bind()
    audit = _audit_table(sa.column("undone_by", sa.Integer()))
    links = _undo_links(conn, audit)

    blobs = BlobStore()
    set_chain = (
        sa.update(audit)
        .where(audit.c.id == sa.bindparam("b_id"))
        .values(
            undo_of=sa.bindparam("b_undo_of"),
            seq=sa.bindparam("b_seq"),
            prev_hash=sa.bindparam("b_prev"),
            hash=sa.bindparam("b_hash"),
        )
    )
    set_payload = (
        sa.update(audit)
        .where(audit.c.id == sa.bindparam("b_id"))
        .values(before=sa.bindparam("b_before", type_=sa.JSON()), after=sa.bindparam("b_after", type_=sa.JSON()))
    )
    cols = [
        audit.c[name] for name in ("id", "at", "username", "action", "table_name", "row_id", "before", "after", "batch")
    ]
    seq, prev, last_id = 0, GENESIS, None
    while True:
        query = sa.select(*cols).order_by(audit.c.id).limit(CHUNK)
        if last_id is not None:
            query = query.where(audit.c.id > last_id)
        chunk = conn.execute(query).all()
        if not chunk:
            break
        chain, payloads = [], []
        for r in chunk:
            before = json_safe(_scrub(r.table_name, r.before, blobs))
            after = json_safe(_scrub(r.table_name, r.after, blobs))
            if (before, after) != (json_safe(r.before), json_safe(r.after)):
                payloads.append({"b_id": r.id, "b_before": before, "b_after": after})
            seq += 1
            row = {**r._mapping, "before": before, "after": after, "undo_of": links.get(r.id), "seq": seq}
            digest_ = entry_hash(row, prev)
            chain.append({"b_id": r.id, "b_undo_of": row["undo_of"], "b_seq": seq, "b_prev": prev, "b_hash": digest_})
            prev = digest_
        if payloads:
            conn.execute(set_payload, payloads)
        conn.execute(set_chain, chain)
        last_id = chunk[-1].id

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_log_seq"), ["seq"])
        batch_op.create_index(batch_op.f("ix_audit_log_undo_of"), ["undo_of"], unique=False)
        batch_op.drop_column("undone_by")

    if conn.dialect.name == "postgresql":
        op.execute(TRIGGER_FUNCTION)
        op.execute(TRIGGER)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("undone_by", sa.Integer(), nullable=True))
    audit = _audit_table(sa.column("undone_by", sa.Integer()))
    links = conn.execute(sa.select(audit.c.id, audit.c.undo_of).where(audit.c.undo_of.is_not(None))).all()
    if links:
        conn.execute(
            sa.update(audit).where(audit.c.id == sa.bindparam("b_id")).values(undone_by=sa.bindparam("b_by")),
            [{"b_id": u, "b_by": i} for i, u in links],
        )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_undo_of"))
        batch_op.drop_constraint(batch_op.f("uq_audit_log_seq"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("undo_of")
        batch_op.drop_column("seq")

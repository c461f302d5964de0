"""The audit log as a hash chain: appending under a lock, and verifying.

Every row of ``audit_log`` (:class:`~gis.store.schema.AuditEntry`) has a chain position ``seq``
(1, 2, 3, … without gaps), the ``hash`` of the previous row (``prev_hash``; :data:`GENESIS` for
the first) and its own ``hash``: the hex SHA-256 of a canonical JSON text of its content
(``at``, ``username``, ``action``, ``table_name``, ``row_id``, ``before``, ``after``, ``batch``,
``undo_of``, ``seq``) and ``prev_hash`` (:func:`entry_hash`). Changing any of these in a stored
row, or deleting a row, breaks the chain at that row, which :func:`verify_chain` reports.

Appending (:func:`append`). The position is handed out under a lock, so that simultaneous writers
never fork the chain: on PostgreSQL the transaction takes a transaction-scoped advisory lock
(:func:`lock_chain`, released at commit or rollback) before it reads the last ``seq`` and
``hash``; on SQLite the writing session holds the database's write lock from its start (``BEGIN
IMMEDIATE``, :mod:`gis.store.engine`), and a session that began without it cannot write once
another writer has committed since its first read (SQLite refuses to upgrade a stale snapshot,
which reaches the caller as a :class:`~gis.errors.ConflictError`). Either way the unique
constraint on ``seq`` is the last guard.

Verifying follows ``seq``, not ``id``, reading the rows in batches (the log may be large).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from gis.store.schema import AuditEntry

GENESIS = "0" * 64
"""``prev_hash`` of the first row of the chain."""

LOCK_NAMESPACE = 0x52474155
"""First key of the PostgreSQL advisory lock of the chain (the second is the table's oid, so each
database schema has its own chain lock)."""

HASHED_FIELDS = ("at", "username", "action", "table_name", "row_id", "before", "after", "batch", "undo_of", "seq")
"""The columns whose values the hash covers (with ``prev_hash``)."""

WHY_LABELS = {
    "gap": "断档（中间的记录已被删除）",
    "broken link": "与前一条记录的链接不符（前一条已被改动或删除）",
    "hash mismatch": "内容与哈希不符（该记录已被改动）",
}


def json_safe(value: Any) -> Any:
    """``value`` as it comes back from a JSON column (keys as text, tuples as lists)."""
    if value is None:
        return None
    return json.loads(json.dumps(value, ensure_ascii=False, allow_nan=False))


def _at_text(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(row: Mapping[Any, Any], prev_hash: str) -> bytes:
    """The canonical UTF-8 JSON text of an entry's hashed content (sorted keys, no spaces)."""
    payload = {name: row.get(name) for name in HASHED_FIELDS}
    payload["at"] = _at_text(row["at"])
    payload["prev_hash"] = prev_hash
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
        "utf-8"
    )


def entry_hash(row: Mapping[Any, Any], prev_hash: str) -> str:
    """Hex SHA-256 of :func:`canonical` ``(row, prev_hash)``."""
    return hashlib.sha256(canonical(row, prev_hash)).hexdigest()


def _chain_lock_sql() -> Any:
    return text("SELECT pg_advisory_xact_lock(:ns, CAST(CAST(CAST('audit_log' AS regclass) AS oid) AS integer))")


def lock_chain(session: Session) -> None:
    """Take the chain's lock for the rest of the session's transaction (PostgreSQL; a no-op on
    SQLite, whose writing session holds the database's write lock already)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(_chain_lock_sql(), {"ns": LOCK_NAMESPACE})


def chain_head(session: Session) -> tuple[int, str]:
    """``(seq, hash)`` of the last row of the chain, ``(0, GENESIS)`` when the log is empty."""
    conn = session.connection()
    row = conn.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


def append(session: Session, rows: Iterable[Mapping[str, Any]]) -> list[int]:
    """Add audit entries at the end of the chain in the session's transaction; their ``seq``.

    Each row gives ``at`` (aware datetime), ``username``, ``action``, ``table_name``,
    ``row_id``, ``before``, ``after`` (JSON-safe dicts or None), ``batch`` and optionally
    ``undo_of``. The caller's transaction must be one that writes (see the module notes).
    """
    rows = list(rows)
    if not rows:
        return []
    lock_chain(session)
    seq, prev = chain_head(session)
    out = []
    for row in rows:
        seq += 1
        entry = {
            "at": row["at"],
            "username": row["username"],
            "action": row["action"],
            "table_name": row["table_name"],
            "row_id": row.get("row_id"),
            "before": json_safe(row.get("before")),
            "after": json_safe(row.get("after")),
            "batch": row.get("batch", ""),
            "undo_of": row.get("undo_of"),
            "seq": seq,
            "prev_hash": prev,
        }
        entry["hash"] = prev = entry_hash(entry, entry["prev_hash"])
        out.append(entry)
    session.connection().execute(insert(AuditEntry), out)
    return [e["seq"] for e in out]


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify_chain` found: ``ok``, the number of rows, the first row that failed."""

    ok: bool
    rows: int
    first_bad: dict[str, Any] | None = field(default=None)

    @property
    def message(self) -> str:
        """One line in Chinese."""
        if self.ok:
            return f"修改记录（审计日志）完整：共 {self.rows} 条，哈希链逐条校验通过"
        bad = self.first_bad or {}
        return (
            f"修改记录（审计日志）校验失败：第 {bad.get('seq')} 条（编号 {bad.get('id')}）"
            f"{WHY_LABELS.get(bad.get('why', ''), bad.get('why', ''))}；共 {self.rows} 条"
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "rows": self.rows}
        if not self.ok:
            out["first_bad"] = dict(self.first_bad or {})
        return out


def verify_chain(session: Session, *, batch_size: int = 1000) -> ChainReport:
    """Check every row of the audit log in the order of ``seq``.

    A row fails when its ``seq`` is not the one after the previous row's (``gap``: rows were
    deleted), when its ``prev_hash`` is not the previous row's ``hash`` (``broken link``), or
    when its ``hash`` is not the hash of its own content (``hash mismatch``: the row was
    changed). The report names the first failing row (``id``, ``seq``, ``why``, and for a gap
    the ``expected_seq``); ``rows`` counts every row of the log.
    """
    cols = [getattr(AuditEntry, name) for name in ("id", *HASHED_FIELDS, "prev_hash", "hash")]
    query = select(*cols).order_by(AuditEntry.seq).execution_options(yield_per=batch_size)
    expected_seq, prev = 1, GENESIS
    first_bad: dict[str, Any] | None = None
    checked = 0
    for row in session.execute(query):
        checked += 1
        if first_bad is not None:
            continue
        values = row._mapping
        why = None
        if values["seq"] != expected_seq:
            why = "gap"
        elif values["prev_hash"] != prev:
            why = "broken link"
        elif entry_hash(values, values["prev_hash"]) != values["hash"]:
            why = "hash mismatch"
        if why is not None:
            first_bad = {"id": values["id"], "seq": values["seq"], "why": why}
            if why == "gap":
                first_bad["expected_seq"] = expected_seq
            continue
        expected_seq, prev = values["seq"] + 1, values["hash"]
    return ChainReport(first_bad is None, checked, first_bad)

"""Audit log of every write (append-only, hash-chained), and undo.

Listeners on :class:`AuditedSession` run at each flush:

* before it, audit rows themselves are refused: nobody (the ``system`` actor included) adds,
  changes or deletes an :class:`~gis.store.schema.AuditEntry` through a session
  (:class:`~gis.errors.PermissionDenied`, nothing is written; bulk ``UPDATE``/``DELETE``
  statements on the table are refused as well). Then the session's actor must hold the
  permission of every table touched (:data:`gis.auth.TABLE_WRITE_PERMISSION`), otherwise nothing
  is written;
* after it, one entry per inserted, changed or deleted row is appended to the hash chain
  (:func:`gis.store.audit_chain.append`) in the same transaction, with the row before and after
  as JSON. On PostgreSQL the chain's lock is taken before the flush writes anything.

What the log does not store
    * binary columns (``patrol_tracks.source_data``, the uploaded GPX file): a digest
      ``{"sha256": …, "bytes": n}``; the bytes are kept write-once under the data folder
      (:class:`gis.store.blobs.BlobStore`), so that undoing a deletion restores the file;
    * ``users.password_hash``: ``{"redacted": true}`` (with ``"changed": true`` in ``after`` when
      the password was changed);
    * ``incidents.reporter_contact`` (a reporter's phone): only a reference
      ``{"ref": "incidents.reporter_contact", "set": …}`` (``"changed": true`` likewise); reading
      the contact is itself logged, as an entry with action ``read``
      (:func:`gis.incidents.contact.reveal_reporter_contact`).

Undo
    :func:`undo` puts a row back as it was before an entry; :func:`undo_batch` undoes every entry
    of one transaction (for example a whole import). The entries an undo writes carry ``undo_of``
    (the id of the entry they undo): an entry is undone when such an entry exists; the undone
    entry itself is never touched. Nobody undoes their own change (another administrator must).
    Password and reporter contact are not in the log, so an undo keeps their current values;
    undoing the deletion of an account restores it with an unusable password (an administrator
    resets it), of an incident with an empty contact.
"""

from __future__ import annotations

import base64
import re
from datetime import date, datetime
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Date, LargeBinary, event, exists, func, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session, aliased
from sqlalchemy.sql.elements import TextClause

from gis.auth import TABLE_WRITE_PERMISSION, Actor, require
from gis.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from gis.model import LOCAL_TZ
from gis.store.audit_chain import append, lock_chain
from gis.store.blobs import BlobStore, digest
from gis.store.schema import AuditEntry, Base, User, utcnow
from gis.store.types import Geometry, UTCDateTime

_PENDING = "_audit_pending"
_BLOBS = "_audit_blobs"
_UNDO_OF = "_audit_undo_of"

REDACTED_COLUMNS = frozenset({("users", "password_hash"), ("api_keys", "key_hash")})
"""(table, column) never stored in the log, not even as a reference."""

REFERENCED_COLUMNS = frozenset({("incidents", "reporter_contact")})
"""(table, column) stored only as a reference to the live row (reading them is logged)."""

SECRET_COLUMNS = REDACTED_COLUMNS | REFERENCED_COLUMNS

SELF_SERVICE_COLUMNS = frozenset({"password_hash", "must_change_password", "password_changed_at"})
"""Columns of their own ``users`` row that every signed-in user may change (a new password)."""

UNUSABLE_PASSWORD_HASH = "!restored-by-undo"
"""Password hash of an account brought back by undoing its deletion: no password matches it."""

_RESTORED_SECRET = {
    ("users", "password_hash"): UNUSABLE_PASSWORD_HASH,
    ("api_keys", "key_hash"): "!restored-by-undo",
    ("incidents", "reporter_contact"): "",
}

APPEND_ONLY_MESSAGE = "修改记录（审计日志）只能追加，任何人（包括系统）都不能修改或删除已有记录"

_DML_ON_AUDIT_LOG = re.compile(
    r"^\s*(update\s+\"?audit_log\b|delete\s+from\s+\"?audit_log\b|truncate\b.*\baudit_log\b)", re.IGNORECASE | re.DOTALL
)


class AuditedSession(Session):
    """Session whose writes are permission-checked and audited.

    ``info["actor"]`` holds the :class:`~gis.auth.Actor`; ``info["batch"]`` a transaction id.
    """


def _name_of(table: Any) -> str:
    """The name of a mapped class's table (typed as a FromClause, always a Table here)."""
    return str(table.name)


def _model_for_table(table_name: str) -> type[Base]:
    for mapper in Base.registry.mappers:
        if _name_of(mapper.local_table) == table_name:
            return mapper.class_
    raise KeyError(table_name)


def to_json_value(value: Any) -> Any:
    """A JSON-safe form of a column value (geometry → WKT, datetime → ISO 8601, bytes → digest)."""
    if isinstance(value, BaseGeometry):
        return shapely.to_wkt(value, rounding_precision=-1)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return digest(bytes(value))
    return value


def _marker(table: str, column: str, value: Any, changed: bool) -> dict[str, Any]:
    marker: dict[str, Any] = (
        {"redacted": True} if (table, column) in REDACTED_COLUMNS else {"ref": f"{table}.{column}", "set": bool(value)}
    )
    if changed:
        marker["changed"] = True
    return marker


def _json_of(table: str, column: str, value: Any, blobs: dict[str, bytes], changed: bool = False) -> Any:
    if (table, column) in SECRET_COLUMNS:
        return _marker(table, column, value, changed)
    if isinstance(value, (bytes, memoryview)):
        data = bytes(value)
        d = digest(data)
        blobs[str(d["sha256"])] = data
        return d
    return to_json_value(value)


def _from_json_value(column: Any, value: Any) -> Any:
    if value is None:
        return None
    ctype = column.type
    if isinstance(ctype, Geometry):
        return shapely.from_wkt(value)
    if isinstance(ctype, UTCDateTime):
        return datetime.fromisoformat(value)
    if isinstance(ctype, Date):
        return date.fromisoformat(value)
    if isinstance(ctype, LargeBinary):
        if "sha256" in value:
            return BlobStore().get(value["sha256"])
        return base64.b64decode(value["base64"])  # written before migration 0007
    return value


def row_values(
    obj: Base, *, blobs: dict[str, bytes] | None = None, changed: frozenset[str] | set[str] = frozenset()
) -> dict[str, Any]:
    """Current column values of ``obj`` as the log stores them, keyed by column name.

    Binary values become digests (their bytes are added to ``blobs`` by SHA-256), secret
    columns markers (``changed`` names those a change just set).
    """
    blobs = {} if blobs is None else blobs
    mapper = inspect(obj).mapper
    table = _name_of(obj.__table__)
    return {
        attr.columns[0].name: _json_of(
            table, attr.columns[0].name, getattr(obj, attr.key), blobs, attr.columns[0].name in changed
        )
        for attr in mapper.column_attrs
    }


def _values_before(obj: Base, blobs: dict[str, bytes]) -> tuple[dict[str, Any], frozenset[str]]:
    """The row before the pending change, and the secret columns that change sets."""
    state = inspect(obj)
    table = _name_of(obj.__table__)
    values, changed = {}, set()
    for attr in state.mapper.column_attrs:
        name = attr.columns[0].name
        hist = state.attrs[attr.key].history
        current = getattr(obj, attr.key)
        value = hist.deleted[0] if hist.deleted else current
        if (table, name) in SECRET_COLUMNS and hist.deleted and hist.deleted[0] != current:
            changed.add(name)
        values[name] = _json_of(table, name, value, blobs)
    return values, frozenset(changed)


OWN_PERSON_COLUMNS = frozenset({"email", "notify_channels", "quiet_hours"})
"""A person's notification settings (e-mail, channels, quiet hours): the person's own account may
change them on its own record without ``org.write``; every other column of a person needs it."""

SELF_SERVICE = {"users": SELF_SERVICE_COLUMNS, "persons": OWN_PERSON_COLUMNS}
"""The columns an account may change on its own rows without the table's write permission: its own
password (``users``) and its own person's notification settings (``persons``)."""


def _self_service_change(session: Session, actor: Actor | None, obj: Base, action: str) -> bool:
    """Whether a change is an account changing only :data:`SELF_SERVICE` columns of its own row."""
    table = _name_of(obj.__table__)
    allowed = SELF_SERVICE.get(table)
    if actor is None or actor.user_id is None or action != "update" or allowed is None:
        return False
    own_id = actor.user_id if table == "users" else getattr(session.get(User, actor.user_id), "person_id", None)
    if own_id is None or own_id != getattr(obj, "id", None):
        return False
    state = inspect(obj)
    changed = {attr.key for attr in state.mapper.column_attrs if state.attrs[attr.key].history.has_changes()}
    return changed <= allowed


def _refuse_audit_changes(session: Session) -> None:
    for obj in session.new:
        if isinstance(obj, AuditEntry):
            raise PermissionDenied(
                f"{APPEND_ONLY_MESSAGE}；修改记录只能由系统在保存数据时自动写入",
                "audit_log is append-only: entries are written by the audit listener only",
            )
    for obj in session.deleted:
        if isinstance(obj, AuditEntry):
            raise PermissionDenied(APPEND_ONLY_MESSAGE, f"audit_log is append-only: delete of entry {obj.id} refused")
    for obj in session.dirty:
        if isinstance(obj, AuditEntry) and session.is_modified(obj, include_collections=False):
            raise PermissionDenied(APPEND_ONLY_MESSAGE, f"audit_log is append-only: update of entry {obj.id} refused")


@event.listens_for(AuditedSession, "before_flush")
def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    actor: Actor | None = session.info.get("actor")
    pending: list[tuple[str, Base, dict[str, Any] | None, frozenset[str]]] = []
    blobs: dict[str, bytes] = {}
    with session.no_autoflush:
        _refuse_audit_changes(session)
        for action, objs in (("insert", session.new), ("update", session.dirty), ("delete", session.deleted)):
            for obj in list(objs):
                table = _name_of(obj.__table__)
                if action == "update" and not session.is_modified(obj, include_collections=False):
                    continue
                if not _self_service_change(session, actor, obj, action):
                    require(actor, TABLE_WRITE_PERMISSION[table])
                before: dict[str, Any] | None = None
                changed: frozenset[str] = frozenset()
                if action == "update":
                    before, changed = _values_before(obj, blobs)
                elif action == "delete":
                    before = row_values(obj, blobs=blobs)
                pending.append((action, obj, before, changed))
        if pending:
            lock_chain(session)  # before this flush takes any row lock (PostgreSQL)
    # kept only once every check passed (a refused flush leaves nothing for the next one)
    session.info.setdefault(_PENDING, []).extend(pending)
    session.info.setdefault(_BLOBS, {}).update(blobs)


@event.listens_for(AuditedSession, "after_flush")
def _after_flush(session: Session, flush_context: Any) -> None:
    pending = session.info.pop(_PENDING, [])
    blobs: dict[str, bytes] = session.info.pop(_BLOBS, {})
    if not pending:
        return
    actor: Actor = session.info["actor"]
    undo_of: tuple[int, str, int | None] | None = session.info.get(_UNDO_OF)
    now = utcnow()
    rows = []
    for action, obj, before, changed in pending:
        after = None if action == "delete" else row_values(obj, blobs=blobs, changed=changed)
        if action == "update" and after == before:
            continue
        table = _name_of(obj.__table__)
        row_id = inspect(obj).mapper.primary_key_from_instance(obj)[0]
        rows.append(
            {
                "at": now,
                "username": actor.username,
                "action": action,
                "table_name": table,
                "row_id": row_id,
                "before": before,
                "after": after,
                "batch": session.info.get("batch", ""),
                "undo_of": undo_of[0] if undo_of is not None and undo_of[1:] == (table, row_id) else None,
            }
        )
    if blobs:
        files = BlobStore()
        for data in blobs.values():
            files.put(data)
    with session.no_autoflush:
        append(session, rows)


@event.listens_for(AuditedSession, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_BLOBS, None)


@event.listens_for(AuditedSession, "do_orm_execute")
def _refuse_bulk_audit_changes(state: ORMExecuteState) -> None:
    """``UPDATE``/``DELETE`` statements on the audit log bypass the flush: refused here."""
    stmt = state.statement
    target = getattr(stmt, "table", None)
    if (state.is_update or state.is_delete) and getattr(target, "name", None) == AuditEntry.__tablename__:
        raise PermissionDenied(APPEND_ONLY_MESSAGE, "audit_log is append-only: bulk update/delete refused")
    if isinstance(stmt, TextClause) and _DML_ON_AUDIT_LOG.match(stmt.text):
        raise PermissionDenied(APPEND_ONLY_MESSAGE, "audit_log is append-only: SQL update/delete refused")


def record_event(
    session: Session,
    *,
    actor_name: str,
    action: str,
    table: str,
    row_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """An audit entry that is not a row change: a sign-in lock, an unlock, who read a reporter's
    contact (action ``read``). Appended to the chain in the session's transaction, like the
    entries of row changes; the session must be one that writes (see :mod:`gis.store.audit_chain`)."""
    append(
        session,
        [
            {
                "at": utcnow(),
                "username": actor_name,
                "action": action,
                "table_name": table,
                "row_id": row_id,
                "before": before,
                "after": after,
                "batch": session.info.get("batch", ""),
            }
        ],
    )


def _local_stamp(at: datetime) -> str:
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _restorable_changes(entry: AuditEntry) -> set[str]:
    """Columns an insert or update entry set (version and secret columns left out)."""
    before, after = entry.before or {}, entry.after or {}
    skip = {"version"} | {c for t, c in SECRET_COLUMNS if t == entry.table_name}
    return {k for k in after if k not in skip and after[k] != before.get(k)}


def _refuse_if_referenced(session: Session, entry: AuditEntry) -> None:
    """Undoing an insert removes the row: refused, in Chinese, while other rows still point to it
    (the database would refuse the delete with a bare integrity error). A batch undo removes the
    newer rows of its transaction first, so undoing the whole batch works."""
    referencing = 0
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            cascades = (fk.ondelete or "").upper() in ("CASCADE", "SET NULL")  # the database follows
            if fk.column.table.name == entry.table_name and not cascades:
                referencing += (
                    session.scalar(select(func.count()).select_from(table).where(fk.parent == entry.row_id)) or 0
                )
    if referencing:
        raise ConflictError(
            f"无法单独撤销：还有 {referencing} 条其他记录引用这一行（例如同一次操作中一并保存的记录），"
            "请在修改记录中撤销整批修改，或先撤销引用它的修改",
            f"{referencing} rows still reference {entry.table_name} #{entry.row_id}",
        )


def _restore(session: Session, entry: AuditEntry) -> None:
    model = _model_for_table(entry.table_name)
    current = session.get(model, entry.row_id)
    stamp = _local_stamp(entry.at)
    before, after = entry.before or {}, entry.after or {}
    changed: set[str] = set()
    if entry.action in ("insert", "update"):
        if current is None:
            raise ConflictError(
                f"无法撤销：该记录（{entry.table_name} #{entry.row_id}）已被删除",
                "row no longer exists",
            )
        changed = _restorable_changes(entry)
        if entry.action == "update" and not changed:
            raise ValidationError(
                "无法撤销：这次修改只涉及密码、上报人联系方式等不记入修改记录的内容",
                f"entry {entry.id} changed only columns the log does not keep",
            )
        now = row_values(current)
        if any(now.get(k) != after[k] for k in changed):
            raise ConflictError(
                f"无法撤销：该记录在 {stamp} 之后又被修改过，请先撤销之后的修改",
                "row changed again after this entry",
            )
    if entry.action == "insert":
        _refuse_if_referenced(session, entry)
        session.delete(current)
    elif entry.action == "update":
        for attr in inspect(model).column_attrs:
            col = attr.columns[0]
            if col.name in changed and col.name in before:
                setattr(current, attr.key, _from_json_value(col, before[col.name]))
    else:  # delete
        if current is not None:
            raise ConflictError("无法撤销：该记录已存在", "row exists")
        values = {}
        for attr in inspect(model).column_attrs:
            col = attr.columns[0]
            if col.name not in before:
                continue
            key = (entry.table_name, col.name)
            values[attr.key] = (
                _RESTORED_SECRET[key] if key in SECRET_COLUMNS else _from_json_value(col, before[col.name])
            )
        if (entry.table_name, "password_hash") in REDACTED_COLUMNS:
            values["must_change_password"] = True  # and an unusable password: an administrator resets it
        session.add(model(**values))


def _undone(session: Session, entry_id: int) -> bool:
    return session.scalar(select(AuditEntry.id).where(AuditEntry.undo_of == entry_id).limit(1)) is not None


def _check_undoable(actor: Actor, entry: AuditEntry) -> None:
    if entry.action not in ("insert", "update", "delete"):
        raise ValidationError("查看记录不能撤销", f"entry {entry.id} is a {entry.action}, not a change")
    if entry.username == actor.username:
        raise PermissionDenied(
            "不能撤销本人所做的修改，请由其他管理员撤销",
            f"user {actor.username} may not undo their own entry {entry.id}",
        )


def _undo_one(session: Session, entry: AuditEntry) -> None:
    _restore(session, entry)
    session.info[_UNDO_OF] = (entry.id, entry.table_name, entry.row_id)
    try:
        session.flush()
    finally:
        session.info.pop(_UNDO_OF, None)
    if not _undone(session, entry.id):
        raise ConflictError("无法撤销：记录已是这次修改之前的状态", f"undo of entry {entry.id} changed nothing")


def undo(session: Session, entry_id: int) -> None:
    """Put the row of audit entry ``entry_id`` back as it was before; the undo is audited too
    (its entry carries ``undo_of = entry_id``).

    Raises
    ------
    PermissionDenied
        The actor may not undo (``audit.undo``), or made this change themself.
    ConflictError
        Already undone, or the row changed again since.
    """
    entry = session.get(AuditEntry, entry_id)
    if entry is None:
        require(session.info.get("actor"), "audit.undo")
        raise NotFoundError(f"没有编号为 {entry_id} 的修改记录", f"no audit entry {entry_id}")
    actor = require(session.info.get("actor"), undo_permission(entry.table_name))
    _check_undoable(actor, entry)
    if _undone(session, entry.id):
        raise ConflictError("该修改已经撤销过", f"entry {entry_id} already undone")
    _undo_one(session, entry)


def undo_batch(session: Session, batch: str) -> int:
    """Undo every entry written in transaction ``batch`` that is not undone yet, newest first;
    returns how many. Refused as a whole when the actor made any of them, or may not undo one
    of them (:func:`undo_permission`)."""
    actor = session.info.get("actor")
    if actor is None or not (actor.can("audit.undo") or actor.can("user.manage")):
        require(actor, "audit.undo")  # raises: not signed in, or no role that may undo
    undoing = aliased(AuditEntry)
    entries = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.batch == batch,
            AuditEntry.action.in_(("insert", "update", "delete")),
            ~exists().where(undoing.undo_of == AuditEntry.id),
        )
        .order_by(AuditEntry.seq.desc())
    ).all()
    if not entries:
        raise NotFoundError("没有可撤销的修改", f"nothing to undo in batch {batch!r}")
    for entry in entries:
        _check_undoable(require(actor, undo_permission(entry.table_name)), entry)
    for entry in entries:
        _undo_one(session, entry)
    return len(entries)


UNDO_PERMISSIONS = {"users": "user.manage"}
"""Changes to accounts are undone by the security administrator (三员分立), the rest by the
system administrator (``audit.undo``)."""


def undo_permission(table_name: str) -> str:
    """The permission needed to undo an entry of ``table_name``."""
    return UNDO_PERMISSIONS.get(table_name, "audit.undo")

"""Audit log of every write, and undo.

A listener on :class:`AuditedSession` runs at each flush:

* before it, the session's actor must hold the permission of every table touched
  (:data:`gis.auth.TABLE_WRITE_PERMISSION`), otherwise nothing is written;
* after it, one :class:`~gis.store.schema.AuditEntry` per inserted, changed or deleted row is
  written in the same transaction, with the full row before and after as JSON.

:func:`undo` puts a row back as it was before an entry; :func:`undo_batch` undoes every entry of
one transaction (for example a whole import).
"""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Date, LargeBinary, event, func, insert, inspect, select
from sqlalchemy.orm import Session

from gis import clock
from gis.auth import TABLE_WRITE_PERMISSION, Actor, require
from gis.errors import ConflictError, NotFoundError
from gis.store.schema import AuditEntry, Base, utcnow
from gis.store.types import Geometry, UTCDateTime

_PENDING = "_audit_pending"

SELF_SERVICE_COLUMNS = frozenset({"password_hash", "must_change_password", "password_changed_at"})
"""Columns of their own ``users`` row that every signed-in user may change (a new password)."""


class AuditedSession(Session):
    """Session whose writes are permission-checked and audited.

    ``info["actor"]`` holds the :class:`~gis.auth.Actor`; ``info["batch"]`` a transaction id.
    """


def _model_for_table(table_name: str) -> type[Base]:
    for mapper in Base.registry.mappers:
        if mapper.local_table.name == table_name:
            return mapper.class_
    raise KeyError(table_name)


def to_json_value(value: Any) -> Any:
    """A JSON-safe form of a column value (geometry → WKT, datetime → ISO 8601, bytes → base64)."""
    if isinstance(value, BaseGeometry):
        return shapely.to_wkt(value, rounding_precision=-1)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    return value


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
        return base64.b64decode(value["base64"])
    return value


def row_values(obj: Base) -> dict[str, Any]:
    """Current column values of ``obj`` as JSON-safe values, keyed by column name."""
    mapper = inspect(obj).mapper
    return {attr.columns[0].name: to_json_value(getattr(obj, attr.key)) for attr in mapper.column_attrs}


def _values_before(obj: Base) -> dict[str, Any]:
    state = inspect(obj)
    values = {}
    for attr in state.mapper.column_attrs:
        hist = state.attrs[attr.key].history
        value = hist.deleted[0] if hist.deleted else getattr(obj, attr.key)
        values[attr.columns[0].name] = to_json_value(value)
    return values


def _own_password_change(session: Session, actor: Actor | None, obj: Base, action: str) -> bool:
    """Whether a change is a user changing their own password (allowed without ``user.manage``)."""
    if actor is None or action != "update" or obj.__table__.name != "users" or obj.id != actor.user_id:
        return False
    state = inspect(obj)
    changed = {attr.key for attr in state.mapper.column_attrs if state.attrs[attr.key].history.has_changes()}
    return changed <= SELF_SERVICE_COLUMNS


def record_event(session: Session, *, actor_name: str, action: str, table: str, row_id: int | None = None,
                 before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    """An audit entry that is not a row change: a sign-in lock, an unlock, who read a reporter's
    contact. Written in the session's transaction, like the entries of row changes."""
    session.execute(insert(AuditEntry), [{
        "at": clock.now(), "username": actor_name, "action": action, "table_name": table, "row_id": row_id,
        "before": before, "after": after, "batch": session.info.get("batch", ""),
    }])


@event.listens_for(AuditedSession, "before_flush")
def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    actor: Actor | None = session.info.get("actor")
    pending: list[tuple[str, Base, dict[str, Any] | None]] = session.info.setdefault(_PENDING, [])
    with session.no_autoflush:
        for action, objs in (("insert", session.new), ("update", session.dirty), ("delete", session.deleted)):
            for obj in list(objs):
                table = obj.__table__.name
                if table == AuditEntry.__tablename__:
                    continue
                if action == "update" and not session.is_modified(obj, include_collections=False):
                    continue
                if not _own_password_change(session, actor, obj, action):
                    require(actor, TABLE_WRITE_PERMISSION[table])
                before = None
                if action == "update":
                    before = _values_before(obj)
                elif action == "delete":
                    before = row_values(obj)
                pending.append((action, obj, before))


@event.listens_for(AuditedSession, "after_flush")
def _after_flush(session: Session, flush_context: Any) -> None:
    pending = session.info.pop(_PENDING, [])
    if not pending:
        return
    actor: Actor = session.info["actor"]
    now = utcnow()
    rows = []
    for action, obj, before in pending:
        after = None if action == "delete" else row_values(obj)
        if action == "update" and after == before:
            continue
        ident = inspect(obj).mapper.primary_key_from_instance(obj)
        rows.append(
            {
                "at": now,
                "username": actor.username,
                "action": action,
                "table_name": obj.__table__.name,
                "row_id": ident[0],
                "before": before,
                "after": after,
                "batch": session.info.get("batch", ""),
            }
        )
    if rows:
        session.execute(insert(AuditEntry), rows)


@event.listens_for(AuditedSession, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _restore(session: Session, entry: AuditEntry) -> None:
    model = _model_for_table(entry.table_name)
    current = session.get(model, entry.row_id)
    stamp = entry.at.strftime("%Y-%m-%d %H:%M")
    if entry.action in ("insert", "update"):
        if current is None:
            raise ConflictError(
                f"无法撤销：该记录（{entry.table_name} #{entry.row_id}）已被删除",
                "row no longer exists",
            )
        now = row_values(current)
        changed = {k for k in (entry.after or {}) if k != "version" and (entry.after or {})[k] != (entry.before or {}).get(k)}
        if any(now.get(k) != entry.after[k] for k in changed):
            raise ConflictError(
                f"无法撤销：该记录在 {stamp} 之后又被修改过，请先撤销之后的修改",
                "row changed again after this entry",
            )
    if entry.action == "insert":
        session.delete(current)
    elif entry.action == "update":
        mapper = inspect(model)
        for attr in mapper.column_attrs:
            col = attr.columns[0]
            if col.name in ("id", "version") or col.name not in entry.before:
                continue
            setattr(current, attr.key, _from_json_value(col, entry.before[col.name]))
    else:  # delete
        if current is not None:
            raise ConflictError("无法撤销：该记录已存在", "row exists")
        values = {
            attr.key: _from_json_value(attr.columns[0], entry.before.get(attr.columns[0].name))
            for attr in inspect(model).column_attrs
            if attr.columns[0].name in entry.before
        }
        session.add(model(**values))


def undo(session: Session, entry_id: int) -> None:
    """Put the row of audit entry ``entry_id`` back as it was before; the undo is audited too."""
    require(session.info.get("actor"), "audit.undo")
    entry = session.get(AuditEntry, entry_id)
    if entry is None:
        raise NotFoundError(f"没有编号为 {entry_id} 的修改记录", f"no audit entry {entry_id}")
    if entry.undone_by is not None:
        raise ConflictError("该修改已经撤销过", f"entry {entry_id} already undone")
    _restore(session, entry)
    session.flush()
    entry.undone_by = session.scalar(select(func.max(AuditEntry.id)))


def undo_batch(session: Session, batch: str) -> int:
    """Undo every entry written in transaction ``batch``, newest first; returns how many."""
    require(session.info.get("actor"), "audit.undo")
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.batch == batch, AuditEntry.undone_by.is_(None))
        .order_by(AuditEntry.id.desc())
    ).all()
    if not entries:
        raise NotFoundError("没有可撤销的修改", f"nothing to undo in batch {batch!r}")
    for entry in entries:
        _restore(session, entry)
        session.flush()
    last = session.scalar(select(func.max(AuditEntry.id)))
    for entry in entries:
        entry.undone_by = last
    return len(entries)


ACTION_LABELS = {"insert": "新增", "update": "修改", "delete": "删除", "lock": "锁定登录", "lock_ip": "锁定地址",
                 "unlock": "解除锁定", "read": "查看"}

TABLE_LABELS = {
    "rivers": "河流", "reaches": "河段", "grids": "网格", "grid_versions": "网格历史版本", "persons": "人员", "grid_roles": "网格职务",
    "reach_chiefs": "河长", "org_bodies": "领导机构", "org_members": "机构成员", "supervised_objects": "监管对象",
    "patrol_tracks": "巡河轨迹", "incidents": "事件", "incident_events": "事件流转", "attachments": "事件附件", "users": "用户",
    "evaluations": "考核评价", "sign_in": "登录",
}

_HIDDEN_FIELDS = {"password_hash", "source_data", "version"}


def changed_fields(entry: AuditEntry) -> list[str]:
    """Names of the columns an entry changed (all columns for inserts and deletes)."""
    before, after = entry.before or {}, entry.after or {}
    keys = after.keys() if entry.action == "insert" else before.keys() if entry.action == "delete" else [
        k for k in after if after.get(k) != before.get(k)
    ]
    return [k for k in keys if k not in _HIDDEN_FIELDS]


def recent_entries(session: Session, *, table: str | None = None, username: str | None = None,
                   limit: int = 200) -> list[dict[str, Any]]:
    """The newest audit entries as display rows (geometry and secrets summarised, not shown)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if table:
        query = query.where(AuditEntry.table_name == table)
    if username:
        query = query.where(AuditEntry.username == username)
    rows = []
    for e in session.scalars(query):
        state = e.after or e.before or {}
        rows.append({
            "id": e.id,
            "at": e.at,
            "username": e.username,
            "action": ACTION_LABELS.get(e.action, e.action),
            "table": TABLE_LABELS.get(e.table_name, e.table_name),
            "row_id": e.row_id,
            "name": str(state.get("name") or state.get("title") or state.get("code") or state.get("username") or ""),
            "fields": "、".join(changed_fields(e)),
            "batch": e.batch,
            "undone": e.undone_by is not None,
        })
    return rows


def batch_of(session: Session, entry_id: int) -> str:
    """The transaction id of audit entry ``entry_id``."""
    entry = session.get(AuditEntry, entry_id)
    if entry is None:
        raise NotFoundError(f"没有编号为 {entry_id} 的修改记录", f"no audit entry {entry_id}")
    return entry.batch

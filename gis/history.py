"""修改记录 (the change history): reading it and undoing changes, for pages, the CLI and the API.

Every write goes through the audited session of :mod:`gis.store.audit`, which records it (who,
when, before/after) and whose :func:`undo` / :func:`undo_batch` put a row back; this module reads
the record as display rows and is the one place pages and later surfaces call for both.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.errors import NotFoundError
from gis.store.audit import undo, undo_batch
from gis.store.schema import AuditEntry

__all__ = [
    "ACTION_LABELS",
    "SECURITY_TABLES",
    "TABLE_LABELS",
    "batch_of",
    "changed_fields",
    "latest_entry_id",
    "latest_entry_ids",
    "recent_entries",
    "undo",
    "undo_batch",
]


ACTION_LABELS = {
    "insert": "新增",
    "update": "修改",
    "delete": "删除",
    "lock": "锁定登录",
    "lock_ip": "锁定地址",
    "unlock": "解除锁定",
    "read": "查看",
}

TABLE_LABELS = {
    "rivers": "河流",
    "reaches": "河段",
    "grids": "网格",
    "grid_versions": "网格历史版本",
    "persons": "人员",
    "grid_roles": "网格职务",
    "reach_chiefs": "河长",
    "org_bodies": "领导机构",
    "org_members": "机构成员",
    "supervised_objects": "监管对象",
    "patrol_tracks": "巡河轨迹",
    "incidents": "事件",
    "incident_events": "事件流转",
    "attachments": "事件附件",
    "users": "用户",
    "evaluations": "考核评价",
    "sign_in": "登录",
}

_HIDDEN_FIELDS = {"password_hash", "source_data", "version"}


def changed_fields(entry: AuditEntry) -> list[str]:
    """Names of the columns an entry changed (all columns for inserts and deletes, the column
    read for a read)."""
    before, after = entry.before or {}, entry.after or {}
    if entry.action == "read":
        return [str(after["field"])] if after.get("field") else []
    keys = (
        after.keys()
        if entry.action == "insert"
        else before.keys()
        if entry.action == "delete"
        else [k for k in after if after.get(k) != before.get(k)]
    )
    return [k for k in keys if k not in _HIDDEN_FIELDS]


SECURITY_TABLES = frozenset({"users", "api_keys", "sign_in"})
"""Entries of these tables, and every ``read`` entry (who read a reporter's contact), belong to the
security audit: shown only to holders of ``audit.security`` (the auditor, 三员分立)."""


def recent_entries(
    session: Session, *, table: str | None = None, username: str | None = None, limit: int = 200, security: bool = True
) -> list[dict[str, Any]]:
    """The newest audit entries as display rows (geometry and secrets summarised, not shown);
    ``undone`` says whether an undo put the entry back, ``undo_of`` which entry an undo undid.
    ``security=False`` leaves out the security audit (:data:`SECURITY_TABLES`, ``read`` entries)."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if not security:
        query = query.where(AuditEntry.table_name.not_in(sorted(SECURITY_TABLES)), AuditEntry.action != "read")
    if table:
        query = query.where(AuditEntry.table_name == table)
    if username:
        query = query.where(AuditEntry.username == username)
    entries = session.scalars(query).all()
    ids = [e.id for e in entries]
    undone = set(session.scalars(select(AuditEntry.undo_of).where(AuditEntry.undo_of.in_(ids)))) if ids else set()
    rows = []
    for e in entries:
        state = e.after or e.before or {}
        rows.append(
            {
                "id": e.id,
                "at": e.at,
                "username": e.username,
                "action": ACTION_LABELS.get(e.action, e.action),
                "table": TABLE_LABELS.get(e.table_name, e.table_name),
                "row_id": e.row_id,
                "name": str(
                    state.get("name") or state.get("title") or state.get("code") or state.get("username") or ""
                ),
                "fields": "、".join(changed_fields(e)),
                "batch": e.batch,
                "undone": e.id in undone,
                "undo_of": e.undo_of,
            }
        )
    return rows


def batch_of(session: Session, entry_id: int) -> str:
    """The transaction id of audit entry ``entry_id``."""
    entry = session.get(AuditEntry, entry_id)
    if entry is None:
        raise NotFoundError(f"没有编号为 {entry_id} 的修改记录", f"no audit entry {entry_id}")
    return entry.batch


def latest_entry_id(session: Session) -> int:
    """Id of the newest audit entry (0 for none): it changes whenever anything is written."""
    return int(session.scalar(select(func.max(AuditEntry.id))) or 0)


def latest_entry_ids(session: Session) -> dict[str, int]:
    """Id of the newest audit entry of each table."""
    rows = session.execute(select(AuditEntry.table_name, func.max(AuditEntry.id)).group_by(AuditEntry.table_name)).all()
    return {str(t): int(v or 0) for t, v in rows}

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
    "COLUMN_LABELS",
    "SECURITY_TABLES",
    "TABLE_LABELS",
    "batch_of",
    "changed_fields",
    "field_label",
    "latest_entry_id",
    "latest_entry_ids",
    "operator_label",
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
    "api_keys": "接口密钥",
    "field_submissions": "手机端提交",
    "sign_in": "登录",
    # issue 17
    "river_plans": "一河一策",
    "meetings": "会议",
    "ledger_documents": "台账文件",
    "ledger_files": "会议及文件附件",
    "object_inspections": "对象巡查记录",
    # issue 17: departments, 协办, 移交/移送, 延期
    "departments": "成员单位",
    "incident_cotasks": "协办任务",
    "incident_transfers": "移交移送记录",
    "deadline_extensions": "延期申请",
    # issue 18
    "report_editions": "信息报送",
}

COLUMN_LABELS: dict[str, dict[str, str]] = {
    "rivers": {"id": "编号", "name": "河流名称", "code": "河流编码", "level": "河流级别", "note": "备注"},
    "reaches": {
        "id": "编号",
        "river_id": "所属河流",
        "name": "河段名称",
        "code": "河段编码",
        "level": "河段级别",
        "start_station_m": "起点桩号（米）",
        "note": "备注",
        "geom": "河段线位",
        "deleted_at": "删除时间",
        "version": "版本",
    },
    "grids": {
        "id": "编号",
        "name": "网格名称",
        "code": "网格编码",
        "level": "网格层级",
        "parent_id": "上级网格",
        "responsible_body": "责任主体",
        "area_desc": "定区域",
        "personnel_desc": "定人员",
        "duties": "定职责",
        "tasks": "定任务",
        "rewards": "定奖惩",
        "hotline": "监督电话",
        "illustrative": "边界为示意",
        "geom": "网格边界",
        "deleted_at": "删除时间",
        "version": "版本",
    },
    "grid_versions": {
        "id": "编号",
        "grid_id": "网格",
        "version": "版本号",
        "name": "网格名称",
        "level": "网格层级",
        "parent_id": "上级网格",
        "geom": "网格边界",
        "attributes": "属性",
        "deleted": "已删除",
        "author": "修改人",
        "saved_at": "保存时间",
        "note": "说明",
    },
    "persons": {
        "id": "编号",
        "name": "姓名",
        "title": "职务",
        "unit": "单位",
        "phone": "电话",
        "phone_public": "电话公开",
        "status": "状态",
        "note": "备注",
        "version": "版本",
    },
    "grid_roles": {
        "id": "编号",
        "grid_id": "网格",
        "person_id": "人员",
        "role": "网格职务",
        "valid_from": "任职开始日期",
        "valid_to": "任职结束日期",
        "sort": "排序",
    },
    "reach_chiefs": {
        "id": "编号",
        "reach_id": "河段",
        "person_id": "人员",
        "level": "河长级别",
        "valid_from": "任职开始日期",
        "valid_to": "任职结束日期",
    },
    "org_bodies": {
        "id": "编号",
        "name": "机构名称",
        "kind": "机构类型",
        "parent_id": "上级机构",
        "grid_id": "所属网格",
        "duties": "职责",
    },
    "org_members": {"id": "编号", "body_id": "所属机构", "person_id": "人员", "position": "职位", "sort": "排序"},
    "supervised_objects": {
        "id": "编号",
        "name": "名称",
        "category": "类别",
        "grid_id": "所属网格",
        "description": "说明",
        "geom": "位置",
        "subtype": "对象细类",
        "responsible_id": "责任人",
        "inspect_every_days": "巡查周期（天）",
        "tasks": "监管任务",
        "rewards": "奖惩措施",
    },
    "patrol_tracks": {
        "id": "编号",
        "name": "轨迹名称",
        "person_id": "巡查人员",
        "grid_id": "巡查网格",
        "started_at": "开始时间",
        "ended_at": "结束时间",
        "geom": "轨迹线",
        "times": "各点时间",
        "source_name": "原始文件名",
        "source_data": "原始文件",
    },
    "incidents": {
        "id": "编号",
        "code": "事件编号",
        "title": "标题",
        "category": "类别",
        "severity": "严重程度",
        "status": "状态",
        "description": "事件描述",
        "source": "来源",
        "reporter": "上报人",
        "reporter_contact": "上报人联系方式",
        "reported_at": "上报时间",
        "grid_id": "所属网格",
        "reach_id": "所在河段",
        "object_id": "关联监管对象",
        "track_id": "关联巡河轨迹",
        "accept_due_at": "受理期限",
        "close_due_at": "办结期限",
        "closed_at": "办结时间",
        "deadline_estimated": "期限为估算",
        "geom": "位置",
        "version": "版本",
    },
    "incident_events": {
        "id": "编号",
        "incident_id": "事件",
        "action": "办理操作",
        "from_status": "原状态",
        "to_status": "新状态",
        "at": "办理时间",
        "by": "办理人",
        "note": "办理说明",
    },
    "attachments": {
        "id": "编号",
        "incident_id": "事件",
        "event_id": "办理步骤",
        "sha256": "文件摘要",
        "original_name": "原文件名",
        "mime": "文件类型",
        "size_bytes": "文件大小",
        "width_px": "宽度（像素）",
        "height_px": "高度（像素）",
        "uploaded_by": "上传人",
        "uploaded_at": "上传时间",
    },
    "users": {
        "id": "编号",
        "username": "用户名",
        "display_name": "显示名称",
        "role": "角色",
        "password_hash": "密码",
        "person_id": "关联人员",
        "grid_id": "绑定网格（数据权限）",
        "active": "启用",
        "must_change_password": "须修改密码",
        "password_changed_at": "密码修改时间",
        "created_at": "建立时间",
        "department_id": "所属成员单位",
    },
    "api_keys": {
        "id": "编号",
        "user_id": "所属账号",
        "name": "用途",
        "prefix": "密钥前缀",
        "key_hash": "密钥摘要",
        "created_at": "建立时间",
        "created_by": "建立人",
        "revoked_at": "吊销时间",
    },
    "field_submissions": {
        "id": "编号",
        "kind": "提交类型",
        "owner": "提交人",
        "client_id": "手机端编号",
        "user_id": "所属账号",
        "track_id": "巡河轨迹",
        "incident_id": "事件",
        "patrol_client_id": "所属巡河（手机端编号）",
        "query_code": "查询码",
        "challenge": "防刷验证",
        "created_at": "提交时间",
        "inspection_id": "对象巡查记录",
    },
    "evaluations": {
        "id": "编号",
        "grid_id": "被考核网格",
        "year": "年度",
        "kind": "评价类型",
        "edition": "版次",
        "evaluator_grid_id": "评价网格",
        "scores": "各项得分",
        "total": "总分",
        "comment": "评语",
        "change_reason": "修改原因",
        "status": "状态",
        "author": "填写人",
        "created_at": "建立时间",
        "submitted_at": "提交时间",
        "submitted_by": "提交人",
        "version": "版本",
    },
    "sign_in": {"username": "用户名", "ip": "客户端地址"},
    # issue 17: 一河一策, meetings, the document shelf
    "river_plans": {
        "id": "编号",
        "river_id": "河流",
        "year": "年度",
        "targets": "年度目标",
        "tasks": "年度任务",
        "note": "备注",
    },
    "meetings": {
        "id": "编号",
        "grid_id": "网格",
        "held_on": "会议日期",
        "title": "会议名称",
        "place": "地点",
        "attendee_ids": "参会人员",
        "minutes": "会议纪要",
        "created_by": "登记人",
        "created_at": "登记时间",
    },
    "ledger_documents": {
        "id": "编号",
        "grid_id": "网格",
        "kind": "文件类别",
        "title": "文件名称",
        "issued_on": "印发日期",
        "note": "备注",
        "created_by": "登记人",
        "created_at": "登记时间",
    },
    "ledger_files": {
        "id": "编号",
        "meeting_id": "会议",
        "document_id": "文件",
        "sha256": "文件摘要",
        "original_name": "文件名",
        "mime": "文件类型",
        "size_bytes": "大小（字节）",
        "uploaded_by": "上传人",
        "uploaded_at": "上传时间",
    },
    "object_inspections": {
        "id": "编号",
        "object_id": "监管对象",
        "person_id": "巡查人员",
        "at": "巡查时间",
        "note": "巡查情况",
        "photo_sha256": "照片",
        "photo_mime": "照片格式",
        "photo_name": "照片文件名",
        "source": "来源",
        "recorded_by": "记录人",
    },
    # issue 17: departments, 协办, 移交/移送, 延期
    "departments": {
        "id": "编号",
        "name": "单位名称",
        "kind": "单位类别",
        "contact_name": "联系人",
        "contact_phone": "联系电话",
        "address": "地址",
        "note": "备注",
        "active": "启用",
        "version": "版本",
    },
    "incident_cotasks": {
        "id": "编号",
        "incident_id": "事件",
        "department_id": "协办单位",
        "request": "协办要求",
        "due_at": "协办期限",
        "created_at": "发起时间",
        "created_by": "发起人",
        "answer": "协办答复",
        "answered_at": "答复时间",
        "answered_by": "答复人",
        "answer_event_id": "答复步骤",
        "version": "版本",
    },
    "incident_transfers": {
        "id": "编号",
        "incident_id": "事件",
        "event_id": "办理步骤",
        "receiver": "接收机关",
        "department_id": "接收单位",
        "sent_on": "移送日期",
        "sent_by": "移送人",
        "receipt_on": "回执日期",
        "receipt_note": "回执说明",
        "outcome": "处理结果",
        "outcome_on": "结果日期",
        "version": "版本",
    },
    "deadline_extensions": {
        "id": "编号",
        "incident_id": "事件",
        "days": "延期工作日数",
        "reason": "延期理由",
        "status": "审批状态",
        "requested_at": "申请时间",
        "requested_by": "申请人",
        "decided_at": "审批时间",
        "decided_by": "审批人",
        "decision_note": "审批意见",
        "old_due_at": "原办结期限",
        "new_due_at": "新办结期限",
        "version": "版本",
    },
    # issue 18: 信息报送
    "report_editions": {
        "id": "编号",
        "grid_id": "报送网格",
        "period": "报告期",
        "kind": "报表类型",
        "edition": "版次",
        "figures": "报表数据",
        "xlsx_sha256": "电子表格文件摘要",
        "xlsx_bytes": "电子表格文件大小（字节）",
        "pdf_sha256": "版式文件摘要",
        "pdf_bytes": "版式文件大小（字节）",
        "change_reason": "新版本原因",
        "submitted_by": "报送人",
        "submitted_at": "报送时间",
    },
}
"""Chinese name of every column of every audited table (``gis.store.schema.AUDITED_TABLES``), and
of the fields of the entries that are not row changes (``sign_in`` locks): what 修改记录 shows in
涉及字段 instead of the database's column names."""
COLUMN_LABELS["rivers"].update(  # 一河一档 (issue 17)
    {
        "length_km": "河流长度（公里）",
        "basin": "所属流域",
        "source": "河源",
        "mouth": "河口",
        "water_function_zone": "水功能区",
        "water_quality_target": "水质目标",
        "works": "涉河工程",
    }
)
COLUMN_LABELS["reaches"].update(
    {"water_function_zone": "水功能区", "water_quality_target": "水质目标", "works": "涉河工程"}
)
COLUMN_LABELS["incidents"].update({"public_reply": "公开答复"})
COLUMN_LABELS["persons"].update(  # issue 18: notifications
    {"email": "电子邮箱", "notify_channels": "接收渠道", "quiet_hours": "免打扰时段"}
)

_HIDDEN_FIELDS = {"password_hash", "source_data", "version"}


def field_label(table: str, column: str) -> str:
    """The Chinese name of ``column`` of ``table`` (:data:`COLUMN_LABELS`); an unknown column
    (a newer schema than this table knows) is named as such, never by its code."""
    return COLUMN_LABELS.get(table, {}).get(column) or "其他字段"


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
                "username": operator_label(e.username),
                "action": ACTION_LABELS.get(e.action, e.action),
                "table": TABLE_LABELS.get(e.table_name, e.table_name),
                "row_id": e.row_id,
                "name": str(
                    state.get("name") or state.get("title") or state.get("code") or state.get("username") or ""
                ),
                "fields": "、".join(dict.fromkeys(field_label(e.table_name, f) for f in changed_fields(e))),
                "batch": e.batch,
                "undone": e.id in undone,
                "undo_of": e.undo_of,
            }
        )
    return rows


def operator_label(username: str) -> str:
    """Who made an entry, as 修改记录 shows it: the user name, ``系统`` for the system itself,
    ``命令行:<登录名>`` as written by the command line."""
    return "系统" if username == "system" else username


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

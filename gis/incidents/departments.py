"""Member departments (成员单位): the registry of functional departments a case can be sent to.

条块结合、块为主体: the township grid handles its cases and calls in the functional departments
(生态环境分局, 水利局, 农业农村局, 综合执法局, …) for 协办 (:mod:`gis.incidents.cooperation`) or
hands cases over to them (移交/移送). A department has a name (unique), a kind
(:data:`DEPARTMENT_KINDS`), a contact person and phone, an address and a note. Accounts of the
``department`` role are bound to one department (``users.department_id``): they see the cases
sent to it and answer them (数据权限, :func:`gis.store.scope.scope_of`).

Changes need ``department.manage`` (staff, administrators) and go through the audited session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.auth import Actor, require
from gis.errors import DuplicateNameError, NotFoundError, ValidationError, checked_text
from gis.store.schema import Department, User

__all__ = [
    "DEPARTMENT_KINDS",
    "DepartmentInfo",
    "add_department",
    "department_of",
    "get_department",
    "list_departments",
    "update_department",
]

DEPARTMENT_KINDS: dict[str, str] = {
    "functional": "职能部门",
    "enforcement": "执法机关",
    "judicial": "司法机关",
    "other": "其他单位",
}
"""Kinds of departments: code → Chinese name."""


@dataclass(frozen=True)
class DepartmentInfo:
    """One department as listed (with its number of accounts)."""

    id: int
    name: str
    kind: str
    kind_label: str
    contact_name: str
    contact_phone: str
    address: str
    note: str
    active: bool
    accounts: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _kind(kind: str) -> str:
    key = (kind or "functional").strip()
    for code, label in DEPARTMENT_KINDS.items():
        if key in (code, label):
            return code
    names = "、".join(f"{c}（{lab}）" for c, lab in DEPARTMENT_KINDS.items())
    raise ValidationError(f"未知的单位类别“{kind}”，可选：{names}", f"unknown department kind {kind!r}")


def get_department(session: Session, department: int | str) -> Department:
    """The department with this id or name (NotFoundError in Chinese otherwise)."""
    dept = None
    if isinstance(department, int) or str(department).strip().isdigit():
        dept = session.get(Department, int(department))
    if dept is None:
        dept = session.scalar(select(Department).where(Department.name == str(department).strip()))
    if dept is None:
        raise NotFoundError(f"没有成员单位“{department}”", f"no department {department!r}")
    return dept


def add_department(
    session: Session,
    name: str,
    *,
    kind: str = "functional",
    contact_name: str = "",
    contact_phone: str = "",
    address: str = "",
    note: str = "",
) -> Department:
    """Add a department to the registry (``department.manage``)."""
    require(session.info.get("actor"), "department.manage")
    clean = checked_text(name, "单位名称", required=True, max_len=100)
    if session.scalar(select(Department.id).where(Department.name == clean)) is not None:
        raise DuplicateNameError(f"成员单位“{clean}”已存在", f"department {clean!r} exists")
    dept = Department(
        name=clean,
        kind=_kind(kind),
        contact_name=checked_text(contact_name, "联系人", max_len=50),
        contact_phone=checked_text(contact_phone, "联系电话", max_len=50),
        address=checked_text(address, "地址", max_len=200),
        note=checked_text(note, "备注", max_len=2000),
        active=True,
    )
    session.add(dept)
    session.flush()
    return dept


def update_department(session: Session, department: int | str, **changes: Any) -> Department:
    """Change a department's kind, contacts, address, note or ``active`` flag (``department.manage``)."""
    require(session.info.get("actor"), "department.manage")
    dept = get_department(session, department)
    limits = {"contact_name": ("联系人", 50), "contact_phone": ("联系电话", 50), "address": ("地址", 200)}
    for key, value in changes.items():
        if value is None:
            continue
        if key == "kind":
            dept.kind = _kind(value)
        elif key == "active":
            dept.active = bool(value)
        elif key in limits:
            what, n = limits[key]
            setattr(dept, key, checked_text(value, what, max_len=n))
        elif key == "note":
            dept.note = checked_text(value, "备注", max_len=2000)
        else:
            raise ValidationError(f"成员单位没有可修改的字段“{key}”", f"unknown department field {key!r}")
    session.flush()
    return dept


def list_departments(session: Session, *, active_only: bool = False) -> list[DepartmentInfo]:
    """Every department by name (readable by every signed-in role: the registry is not secret)."""
    counts: dict[int, int] = {}
    for dept_id in session.scalars(select(User.department_id).where(User.department_id.is_not(None))):
        if dept_id is not None:
            counts[dept_id] = counts.get(dept_id, 0) + 1
    query = select(Department).order_by(Department.name)
    if active_only:
        query = query.where(Department.active.is_(True))
    return [
        DepartmentInfo(
            id=d.id,
            name=d.name,
            kind=d.kind,
            kind_label=DEPARTMENT_KINDS.get(d.kind, d.kind),
            contact_name=d.contact_name,
            contact_phone=d.contact_phone,
            address=d.address,
            note=d.note,
            active=bool(d.active),
            accounts=counts.get(d.id, 0),
        )
        for d in session.scalars(query)
    ]


def department_of(session: Session, actor: Actor | None) -> int | None:
    """The department the actor's account is bound to (None: none, or no account)."""
    if actor is None or actor.installer:
        return None
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        user = session.scalar(select(User).where(User.username == actor.username))
    return None if user is None else user.department_id

"""Roles, permissions and password hashing (argon2).

Permissions are checked here, in ``gis/``, for every write: the store refuses to flush a change
to a table unless the session's :class:`Actor` holds the permission that table needs (see
:data:`TABLE_WRITE_PERMISSION`). Pages only hide what a role cannot do; they do not enforce it.

Three administrators are kept apart, as government systems require (三员分立): the system
administrator (``admin``: data, imports, settings, undo), the security administrator
(``security``: accounts, passwords, locks) and the auditor (``auditor``: reads and verifies the
audit log). None of them holds another's permission. Accounts themselves are managed in
:mod:`gis.accounts.users`, sign-in in :mod:`gis.accounts.signin`, what an account may see in :mod:`gis.store.scope`.

Password hashes are Argon2id with the parameters in :data:`HASHER` (``bench/password_hash.py``
prints the cost of one check on this machine against argon2-cffi's defaults). Hashes made with
other parameters still verify and are upgraded at the next successful sign-in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_

from gis.errors import PermissionDenied, ValidationError
from gis.model import UserRole

ARGON2_TIME_COST = 5
ARGON2_MEMORY_KIB = 64 * 1024
ARGON2_PARALLELISM = 1
HASHER = PasswordHasher(time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_PARALLELISM)
"""Argon2id, 64 MiB, 5 passes, one lane: about 0.2 s of one core per check on the 2-core machine
this was tuned on (argon2-cffi's default, 3 passes over 4 lanes, keeps both cores busy). One lane
lets two sign-ins run side by side on two cores."""

MIN_PASSWORD_LENGTH = 10

L, S, P, A = UserRole.LEADER, UserRole.STAFF, UserRole.PATROLLER, UserRole.ADMIN
V = UserRole.VOLUNTEER  # 志愿者/协管员 of a village grid: read, report incidents, upload own patrols
SEC, AUD = UserRole.SECURITY, UserRole.AUDITOR
DEPT = UserRole.DEPARTMENT  # 成员单位: sees and answers only the cases sent to its department (issue 17)

PERMISSIONS: dict[str, frozenset[UserRole]] = {
    "read": frozenset({L, S, P, A, V, SEC, AUD, DEPT}),
    "geodata.write": frozenset({S, A}),  # rivers, reaches, grids, objects, imports
    "org.write": frozenset({S, A}),  # persons, posts, leading group
    "patrol.write": frozenset({P, S, A, V}),
    "incident.report": frozenset({P, S, A, V, DEPT}),  # 成员单位: its 协办 answers are case steps
    "incident.handle": frozenset({S, A}),
    "user.manage": frozenset({SEC}),  # accounts, passwords, roles, locks
    "audit.read": frozenset({L, S, A, AUD}),  # the history of the data (修改记录)
    "audit.security": frozenset({AUD}),  # sign-ins, locks, accounts, who read a reporter's contact
    "audit.undo": frozenset({A}),
    "assessment.write": frozenset({S, A}),  # self-evaluations and evaluations of lower grids
    # issue 17: 成员单位 (department accounts) read and answer the cases sent to their department
    "incident.cooperate": frozenset({DEPT, S, A}),  # answer 协办, record a transfer's receipt/outcome
    "department.manage": frozenset({S, A}),  # the departments registry (成员单位)
    # issue 18: the notifications' delivery log (消息投递), for the system administrator
    "notify.log": frozenset({A}),
    # issue 18: 信息报送, a grid's periodic report submitted to the upper grid
    "report.submit": frozenset({S, A}),
}
"""What each role may do. Leaders read everything and write nothing."""

INSERT_ONLY_ROLES: frozenset[UserRole] = frozenset({V})
"""Roles that may add rows (an incident report, a patrol track) but never change or delete any:
volunteers report, they do not edit (checked on every flush, see :mod:`gis.store.rules`)."""

TABLE_WRITE_PERMISSION: dict[str, str] = {
    "rivers": "geodata.write",
    "reaches": "geodata.write",
    "grids": "geodata.write",
    "grid_versions": "geodata.write",
    "supervised_objects": "geodata.write",
    "persons": "org.write",
    "grid_roles": "org.write",
    "reach_chiefs": "org.write",
    "org_bodies": "org.write",
    "org_members": "org.write",
    "patrol_tracks": "patrol.write",
    "incidents": "incident.report",
    "incident_events": "incident.report",
    "attachments": "incident.report",
    "users": "user.manage",
    "api_keys": "user.manage",
    "field_submissions": "incident.report",
    "evaluations": "assessment.write",
    # issue 17: 一河一策 (geodata), meetings and the document shelf (org)
    "river_plans": "geodata.write",
    "meetings": "org.write",
    "ledger_documents": "org.write",
    "ledger_files": "org.write",
    "object_inspections": "patrol.write",
    # issue 17: departments, 协办, 移交/移送, 延期
    "departments": "department.manage",
    "incident_cotasks": "incident.cooperate",
    "incident_transfers": "incident.cooperate",
    "deadline_extensions": "incident.handle",
    # issue 18: 信息报送
    "report_editions": "report.submit",
}
"""The permission needed to insert, change or delete rows of each table."""

PERMISSION_LABELS = {
    "geodata.write": "编辑河流、网格和监管对象",
    "org.write": "编辑人员和职务",
    "patrol.write": "上传巡河轨迹",
    "incident.report": "上报事件",
    "incident.handle": "处置事件",
    "user.manage": "管理用户账号",
    "audit.read": "查看修改记录",
    "audit.security": "查看安全审计记录",
    "audit.undo": "撤销修改",
    "assessment.write": "填写考核评价",
    "read": "查看",
    "incident.cooperate": "办理协办任务",
    "department.manage": "管理成员单位",
    "notify.log": "查看消息投递记录",
    # issue 18
    "report.submit": "报送信息报表",
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, the command line's operator or the ``system`` actor."""

    username: str
    role: UserRole
    display_name: str = ""
    user_id: int | None = None
    installer: bool = False

    def can(self, permission: str) -> bool:
        return self.installer or self.role in PERMISSIONS[permission]


SYSTEM = Actor("system", UserRole.ADMIN, "系统", installer=True)
"""Actor for installation tasks (creating the schema, loading the demo data with its accounts):
the only one that holds every permission."""


def require(actor: Actor | None, permission: str) -> Actor:
    """Return ``actor`` if it may do ``permission``; raise :class:`PermissionDenied` otherwise."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    if actor is None:
        raise PermissionDenied("请先登录后再进行此操作", f"sign-in required for {permission}")
    if not actor.can(permission):
        raise PermissionDenied(
            f"当前角色“{actor.role.label}”无权{PERMISSION_LABELS.get(permission, permission)}",
            f"role {actor.role.value} lacks permission {permission}",
        )
    return actor


def hash_password(password: str) -> str:
    """Argon2id hash of ``password`` (at least :data:`MIN_PASSWORD_LENGTH` characters)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符", f"password shorter than {MIN_PASSWORD_LENGTH}"
        )
    return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a (verified) hash was made with other parameters than :data:`HASHER`'s."""
    try:
        return HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@dataclass(frozen=True)
class Scope:
    """The grids an account may see: ``grid_ids`` (its grid and those below) or everything
    (``grid_ids`` None). ``home_grid_id`` is the grid it is bound to."""

    grid_ids: frozenset[int] | None = None
    home_grid_id: int | None = None

    @property
    def everything(self) -> bool:
        return self.grid_ids is None

    def covers(self, grid_id: int | None) -> bool:
        """Whether a record of grid ``grid_id`` is visible (a record of no grid: only to all)."""
        return self.grid_ids is None or (grid_id is not None and grid_id in self.grid_ids)

    def where(self, column: Any) -> Any:
        """A SQL condition on a grid id column, or None when everything is visible."""
        return None if self.grid_ids is None else column.in_(sorted(self.grid_ids))

    def filter(self, grid_ids: Iterable[int | None]) -> list[bool]:
        """:meth:`covers` of each grid id (for a data frame column)."""
        return [self.covers(g) for g in grid_ids]

    # issue 17: a department account (成员单位) sees no grid, only the cases sent to its department
    department_id: int | None = None
    case_ids: frozenset[int] = frozenset()

    def covers_case(self, incident_id: int | None, grid_id: int | None) -> bool:
        """Whether a case is visible: by its grid, or sent to the account's department."""
        return self.covers(grid_id) or (incident_id is not None and incident_id in self.case_ids)

    def where_case(self, id_column: Any, grid_column: Any) -> Any:
        """:meth:`where` for cases: the grids' cases and those sent to the department."""
        if self.grid_ids is None:
            return None
        if not self.case_ids:
            return self.where(grid_column)
        return or_(grid_column.in_(sorted(self.grid_ids)), id_column.in_(sorted(self.case_ids)))


EVERYTHING = Scope()
"""Everything visible: accounts bound to no grid, and sessions without an actor."""

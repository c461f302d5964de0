"""Domain vocabulary: grid levels, roles, focus categories, incident states, user roles.

Each enumeration maps a stable English code (stored in the database) to its Chinese label
(shown in the UI). Codes never change; labels may.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self
from zoneinfo import ZoneInfo

from gis.errors import ValidationError


class _Labelled(StrEnum):
    """A string enum whose members carry a Chinese label."""

    @property
    def label(self) -> str:
        return _LABELS[(type(self), self.value)]

    @classmethod
    def from_any(cls, value: str) -> Self:
        """Accept either the code (``village``) or the Chinese label (``村级网格``)."""
        text = str(value).strip()
        for member in cls:
            if text in (member.value, member.label):
                return member
        choices = "、".join(m.label for m in cls)
        raise ValidationError(
            f"无法识别的取值“{text}”，可选：{choices}",
            f"unknown {cls.__name__} value {text!r}; expected one of {[m.value for m in cls]}",
        )


class GridLevel(_Labelled):
    """Level of a grid in the hierarchy county → township → village."""

    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"

    @property
    def rank(self) -> int:
        """0 for county, 1 for township, 2 for village."""
        return list(GridLevel).index(self)

    @property
    def parent_level(self) -> GridLevel | None:
        return None if self is GridLevel.COUNTY else list(GridLevel)[self.rank - 1]


class GridRole(_Labelled):
    """A person's post in a grid."""

    MAIN_RESPONSIBLE = "main_responsible"
    TOWNSHIP_SUPERVISOR = "township_supervisor"
    SUPERVISOR = "supervisor"
    ASSISTANT = "assistant"
    VOLUNTEER = "volunteer"


class ReachChiefLevel(_Labelled):
    """Level of a river chief (河长) of a reach."""

    COUNTY = "county_chief"
    TOWNSHIP = "township_chief"
    VILLAGE = "village_chief"


class RiverLevel(_Labelled):
    """Administrative level at which a river or reach is managed."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


class Category(_Labelled):
    """The nine focus objects of the plan; also the incident categories, with 其他 (``other``) for
    what residents report that fits none of them (garbage in the river, say)."""

    DISCHARGE_ENTERPRISE = "discharge_enterprise"
    ECOLOGY = "ecology"
    PETITION = "petition"
    POLLUTION_DISPUTE = "pollution_dispute"
    SAFETY_HAZARD = "safety_hazard"
    ILLEGAL_CONSTRUCTION = "illegal_construction"
    DRINKING_WATER_SOURCE = "drinking_water_source"
    NATURE_RESERVE = "nature_reserve"
    LIVESTOCK_POLLUTION = "livestock_pollution"
    OTHER = "other"

    @classmethod
    def focus_objects(cls) -> tuple[Category, ...]:
        """The nine focus objects of the plan (every category but 其他)."""
        return tuple(c for c in cls if c is not cls.OTHER)


class IncidentStatus(_Labelled):
    """Workflow states of an incident (事件)."""

    REPORTED = "reported"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REVIEW = "review"
    ARCHIVED = "archived"
    TRANSFERRED = "transferred"

    @property
    def is_open(self) -> bool:
        return self not in (IncidentStatus.REJECTED, IncidentStatus.ARCHIVED, IncidentStatus.TRANSFERRED)


class Severity(_Labelled):
    NORMAL = "normal"
    MAJOR = "major"
    URGENT = "urgent"


class IncidentSource(_Labelled):
    PATROL = "patrol"
    PUBLIC_COMPLAINT = "public_complaint"
    ASSIGNED_BY_UPPER = "assigned_by_upper"
    VOLUNTEER = "volunteer"


class UserRole(_Labelled):
    """Roles of sign-in accounts. ``admin``, ``security`` and ``auditor`` are the three
    administrators that government systems keep apart (三员分立): the system administrator
    (data and settings), the security administrator (accounts) and the auditor (audit log)."""

    LEADER = "leader"
    STAFF = "staff"
    PATROLLER = "patroller"
    ADMIN = "admin"
    VOLUNTEER = "volunteer"
    SECURITY = "security"
    AUDITOR = "auditor"
    DEPARTMENT = "department"  # 成员单位 (issue 17): answers the cases sent to its department


class PersonStatus(_Labelled):
    ACTIVE = "active"
    LEFT = "left"


class OrgBodyKind(_Labelled):
    LEADING_GROUP = "leading_group"
    OFFICE = "office"


_LABELS: dict[tuple[type, str], str] = {
    (GridLevel, GridLevel.COUNTY.value): "县级网格",
    (GridLevel, GridLevel.TOWNSHIP.value): "乡级网格",
    (GridLevel, GridLevel.VILLAGE.value): "村级网格",
    (GridRole, GridRole.MAIN_RESPONSIBLE.value): "主要责任人",
    (GridRole, GridRole.TOWNSHIP_SUPERVISOR.value): "乡级监管责任人",
    (GridRole, GridRole.SUPERVISOR.value): "监管人员",
    (GridRole, GridRole.ASSISTANT.value): "协管员",
    (GridRole, GridRole.VOLUNTEER.value): "志愿者",
    (ReachChiefLevel, ReachChiefLevel.COUNTY.value): "县级河长",
    (ReachChiefLevel, ReachChiefLevel.TOWNSHIP.value): "乡级河长",
    (ReachChiefLevel, ReachChiefLevel.VILLAGE.value): "村级河长",
    (RiverLevel, RiverLevel.PROVINCE.value): "省级",
    (RiverLevel, RiverLevel.CITY.value): "市级",
    (RiverLevel, RiverLevel.COUNTY.value): "县级",
    (RiverLevel, RiverLevel.TOWNSHIP.value): "乡级",
    (RiverLevel, RiverLevel.VILLAGE.value): "村级",
    (Category, Category.DISCHARGE_ENTERPRISE.value): "排污企业",
    (Category, Category.ECOLOGY.value): "生态环境",
    (Category, Category.PETITION.value): "信访案件",
    (Category, Category.POLLUTION_DISPUTE.value): "污染纠纷",
    (Category, Category.SAFETY_HAZARD.value): "环境安全隐患",
    (Category, Category.ILLEGAL_CONSTRUCTION.value): "违法建设项目",
    (Category, Category.DRINKING_WATER_SOURCE.value): "饮用水源地",
    (Category, Category.NATURE_RESERVE.value): "自然保护区",
    (Category, Category.OTHER.value): "其他",
    (Category, Category.LIVESTOCK_POLLUTION.value): "畜禽养殖污染",
    (IncidentStatus, IncidentStatus.REPORTED.value): "上报",
    (IncidentStatus, IncidentStatus.ACCEPTED.value): "受理",
    (IncidentStatus, IncidentStatus.REJECTED.value): "不予受理",
    (IncidentStatus, IncidentStatus.ASSIGNED.value): "交办",
    (IncidentStatus, IncidentStatus.IN_PROGRESS.value): "处置中",
    (IncidentStatus, IncidentStatus.RESOLVED.value): "办结",
    (IncidentStatus, IncidentStatus.REVIEW.value): "审核",
    (IncidentStatus, IncidentStatus.ARCHIVED.value): "归档",
    (IncidentStatus, IncidentStatus.TRANSFERRED.value): "转执法/移送司法",
    (Severity, Severity.NORMAL.value): "一般",
    (Severity, Severity.MAJOR.value): "较大",
    (Severity, Severity.URGENT.value): "紧急",
    (IncidentSource, IncidentSource.PATROL.value): "日常巡查",
    (IncidentSource, IncidentSource.PUBLIC_COMPLAINT.value): "群众投诉举报",
    (IncidentSource, IncidentSource.ASSIGNED_BY_UPPER.value): "上级交办",
    (IncidentSource, IncidentSource.VOLUNTEER.value): "志愿者/协管员",
    (UserRole, UserRole.LEADER.value): "领导",
    (UserRole, UserRole.STAFF.value): "工作人员",
    (UserRole, UserRole.PATROLLER.value): "巡查员",
    (UserRole, UserRole.ADMIN.value): "系统管理员",
    (UserRole, UserRole.SECURITY.value): "安全管理员",
    (UserRole, UserRole.AUDITOR.value): "审计员",
    (UserRole, UserRole.VOLUNTEER.value): "志愿者/协管员",
    (UserRole, UserRole.DEPARTMENT.value): "成员单位",
    (PersonStatus, PersonStatus.ACTIVE.value): "在岗",
    (PersonStatus, PersonStatus.LEFT.value): "已离任",
    (OrgBodyKind, OrgBodyKind.LEADING_GROUP.value): "领导小组",
    (OrgBodyKind, OrgBodyKind.OFFICE.value): "领导小组办公室",
}

STORE_CRS = "EPSG:4326"
"""CRS of every geometry in the store: WGS84 longitude/latitude in decimal degrees."""

STORE_SRID = 4326

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
"""Time zone in which dates are shown, days and months counted, and posts are current."""

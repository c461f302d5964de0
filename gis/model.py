"""Domain vocabulary: grid levels, roles, focus categories, incident states, user roles.

Each enumeration maps a stable English code (stored in the database) to its Chinese label
(shown in the UI). Codes never change; labels may.
"""

from __future__ import annotations

from enum import StrEnum


class _Labelled(StrEnum):
    """A string enum whose members carry a Chinese label."""

    @property
    def label(self) -> str:
        return _LABELS[self]

    @classmethod
    def from_any(cls, value: str) -> "_Labelled":
        """Accept either the code (``village``) or the Chinese label (``村级网格``)."""
        text = str(value).strip()
        for member in cls:
            if text in (member.value, _LABELS[member]):
                return member
        choices = "、".join(_LABELS[m] for m in cls)
        from gis.errors import ValidationError

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
    def parent_level(self) -> "GridLevel | None":
        return None if self is GridLevel.COUNTY else list(GridLevel)[self.rank - 1]


class GridRole(_Labelled):
    """A person's post in a grid."""

    MAIN_RESPONSIBLE = "main_responsible"
    TOWNSHIP_SUPERVISOR = "township_supervisor"
    SUPERVISOR = "supervisor"
    ASSISTANT = "assistant"


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
    """The nine focus objects of the plan; also the incident categories."""

    DISCHARGE_ENTERPRISE = "discharge_enterprise"
    ECOLOGY = "ecology"
    PETITION = "petition"
    POLLUTION_DISPUTE = "pollution_dispute"
    SAFETY_HAZARD = "safety_hazard"
    ILLEGAL_CONSTRUCTION = "illegal_construction"
    DRINKING_WATER_SOURCE = "drinking_water_source"
    NATURE_RESERVE = "nature_reserve"
    LIVESTOCK_POLLUTION = "livestock_pollution"


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
    """Roles of sign-in accounts."""

    LEADER = "leader"
    STAFF = "staff"
    PATROLLER = "patroller"
    ADMIN = "admin"


class PersonStatus(_Labelled):
    ACTIVE = "active"
    LEFT = "left"


class OrgBodyKind(_Labelled):
    LEADING_GROUP = "leading_group"
    OFFICE = "office"


_LABELS: dict[StrEnum, str] = {
    GridLevel.COUNTY: "县级网格",
    GridLevel.TOWNSHIP: "乡级网格",
    GridLevel.VILLAGE: "村级网格",
    GridRole.MAIN_RESPONSIBLE: "主要责任人",
    GridRole.TOWNSHIP_SUPERVISOR: "乡级监管责任人",
    GridRole.SUPERVISOR: "监管人员",
    GridRole.ASSISTANT: "协管员/志愿者",
    ReachChiefLevel.COUNTY: "县级河长",
    ReachChiefLevel.TOWNSHIP: "乡级河长",
    ReachChiefLevel.VILLAGE: "村级河长",
    RiverLevel.PROVINCE: "省级",
    RiverLevel.CITY: "市级",
    RiverLevel.COUNTY: "县级",
    RiverLevel.TOWNSHIP: "乡级",
    RiverLevel.VILLAGE: "村级",
    Category.DISCHARGE_ENTERPRISE: "排污企业",
    Category.ECOLOGY: "生态环境",
    Category.PETITION: "信访案件",
    Category.POLLUTION_DISPUTE: "污染纠纷",
    Category.SAFETY_HAZARD: "环境安全隐患",
    Category.ILLEGAL_CONSTRUCTION: "违法建设项目",
    Category.DRINKING_WATER_SOURCE: "饮用水源地",
    Category.NATURE_RESERVE: "自然保护区",
    Category.LIVESTOCK_POLLUTION: "畜禽养殖污染",
    IncidentStatus.REPORTED: "上报",
    IncidentStatus.ACCEPTED: "受理",
    IncidentStatus.REJECTED: "不予受理",
    IncidentStatus.ASSIGNED: "交办",
    IncidentStatus.IN_PROGRESS: "处置中",
    IncidentStatus.RESOLVED: "办结",
    IncidentStatus.REVIEW: "审核",
    IncidentStatus.ARCHIVED: "归档",
    IncidentStatus.TRANSFERRED: "转执法/移送司法",
    Severity.NORMAL: "一般",
    Severity.MAJOR: "较大",
    Severity.URGENT: "紧急",
    IncidentSource.PATROL: "日常巡查",
    IncidentSource.PUBLIC_COMPLAINT: "群众投诉举报",
    IncidentSource.ASSIGNED_BY_UPPER: "上级交办",
    IncidentSource.VOLUNTEER: "志愿者/协管员",
    UserRole.LEADER: "领导",
    UserRole.STAFF: "工作人员",
    UserRole.PATROLLER: "巡查员",
    UserRole.ADMIN: "管理员",
    PersonStatus.ACTIVE: "在岗",
    PersonStatus.LEFT: "已离任",
    OrgBodyKind.LEADING_GROUP: "领导小组",
    OrgBodyKind.OFFICE: "领导小组办公室",
}

STORE_CRS = "EPSG:4326"
"""CRS of every geometry in the store: WGS84 longitude/latitude in decimal degrees."""

STORE_SRID = 4326

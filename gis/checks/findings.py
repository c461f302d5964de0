"""A finding of a check (topology, vertical completeness, coverage): one row of the 盲区检查 report,
and the Chinese label of every rule (:data:`RULE_LABELS`, :func:`rule_label`): a rule's code is for
logs, JSON and the API; pages, Excel and CSV show its label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

COVERAGE_RULE_LABELS: dict[str, str] = {
    "uncovered": "未覆盖河段（盲区）",
    "overlap": "重复覆盖河段",
    "boundary": "界河段（沿共同边界）",
}
"""Rules of the horizontal check (横向到边)."""

TOPOLOGY_RULE_LABELS: dict[str, str] = {
    "no_geometry": "未绘制边界",
    "invalid_geometry": "边界图形无效",
    "level_mismatch": "上下级层级不符",
    "multi_part": "网格由多块组成",
    "sliver": "细小碎片",
    "outside_parent": "超出上级网格",
    "overlap_siblings": "同级网格重叠",
    "gap_in_parent": "上级网格内的空白区",
    "not_edge_matched": "边界未接边",
}
"""Rules of :func:`gis.checks.topology.check_topology`."""

VERTICAL_RULE_LABELS: dict[str, str] = {
    "no_main_responsible": "缺主要责任人",
    "no_township_supervisor": "缺乡级监管责任人",
    "work_group_too_small": "监管人员不足",
    "person_outside_branch": "跨条线任职",
    "reach_without_chief": "河段无河长",
    "post_held_by_departed": "离任人员仍在岗",
    "expired_only": "任期届满无人接替",
    "object_without_responsible": "监管对象无责任人",
}
"""Rules of :func:`gis.checks.vertical.check_vertical`, in the order findings are returned."""

RULE_LABELS: dict[str, str] = {**COVERAGE_RULE_LABELS, **TOPOLOGY_RULE_LABELS, **VERTICAL_RULE_LABELS}
"""Every rule code a check reports → its short Chinese label."""

UNKNOWN_RULE_LABEL = "其他问题"
"""Shown for a rule code without a label (never the code itself)."""


def rule_label(rule: str) -> str:
    """The Chinese label of a rule code (:data:`UNKNOWN_RULE_LABEL` for an unknown one)."""
    return RULE_LABELS.get(rule, UNKNOWN_RULE_LABEL)


@dataclass(frozen=True)
class Finding:
    """One problem found by a check.

    Attributes
    ----------
    rule
        Stable English code of the rule (``gap_in_parent``, ``no_main_responsible``, …).
    object_id
        Id of the grid, reach, person or assignment concerned (the store id, or the file's id).
    message
        One Chinese sentence for users, naming the object(s) and the size.
    severity
        ``error`` (breaks 横向到边/纵向到底) or ``warning`` (worth a look).
    geometry
        Where it is, in EPSG:4326 lon/lat (``None`` for non-spatial findings).
    area_m2, length_m
        Size of the problem measured in a projected CRS (``None`` when not applicable).
    related_ids
        Other objects involved (e.g. the sibling of an overlap).
    level
        Grid level concerned (``county``/``township``/``village``), if any.
    """

    rule: str
    object_id: Any
    message: str
    severity: str = "error"
    geometry: BaseGeometry | None = None
    area_m2: float | None = None
    length_m: float | None = None
    related_ids: tuple[Any, ...] = field(default_factory=tuple)
    level: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; geometry as WKT."""
        return {
            "rule": self.rule,
            "object_id": self.object_id,
            "message": self.message,
            "severity": self.severity,
            "area_m2": self.area_m2,
            "length_m": self.length_m,
            "related_ids": list(self.related_ids),
            "level": self.level,
            "geometry": None if self.geometry is None else shapely.to_wkt(self.geometry, rounding_precision=7),
        }

"""The assessment's rubric (评分细则): items, weights, deductions, and the score of one grid's
indicators. Pure: plain values in and out; :mod:`gis.assessment.indicators` computes the
indicators and applies :func:`score_indicators`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gis.errors import ValidationError

__all__ = [
    "DEFAULT_RUBRIC",
    "DEFAULT_WEIGHTS",
    "DISCOVERY_COUNTS",
    "ITEMS",
    "Rubric",
    "ratio",
    "score_indicators",
    "with_weights",
]

ITEMS: dict[str, tuple[str, str]] = {
    "patrol": ("巡河履职", "按巡河完成率折算"),
    "patrol_coverage": ("河道巡查覆盖", "按网格内河道被巡查长度占比折算"),
    "discovery": ("问题发现", "每发现 1 件{discovery_what}得 {points_per_incident:g} 分，满分为止"),
    "acceptance": ("及时受理", "按时受理率折算"),
    "handling": ("事件处置", "按时办结率折算，每件超期扣 {overdue_deduction:g} 分"),
    "coverage": ("横向到边", "按网格覆盖率折算，每处盲区或重复覆盖扣 {coverage_deduction:g} 分（微小缝隙不扣分）"),
    "vertical": ("纵向到底", "每个问题扣 {vertical_deduction:g} 分，每条提示扣 {vertical_warning_deduction:g} 分"),
    "signboard": ("公示牌", "公示牌内容为最新得满分，过期不得分"),
}
"""Rubric item code → (Chinese label, how it is scored)."""

DISCOVERY_COUNTS: dict[str, tuple[str, str]] = {
    "accepted": ("incidents_accepted", "经受理的问题（受理及之后各环节，含转执法；未受理、不予受理的不计）"),
    "reported": ("incidents_found", "上报的问题（不论是否受理）"),
}
"""问题发现 counts (rubric ``discovery_counts``) → (indicator counted, what it is in Chinese).
``accepted`` (the default) counts the cases taken up (受理) or later, so that reports made to meet a
quota (a plastic bottle a month) earn nothing until someone accepts them as real problems."""

DEFAULT_WEIGHTS: dict[str, float] = {
    "patrol": 20,
    "patrol_coverage": 10,
    "discovery": 10,
    "acceptance": 10,
    "handling": 15,
    "coverage": 15,
    "vertical": 15,
    "signboard": 5,
}


# ---------------------------------------------------------------------------------------------
# Rubric
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rubric:
    """Weights (points) per item and the deductions; see :data:`ITEMS`.

    Parameters
    ----------
    weights
        Item code → full points (≥ 0). Items left out score nothing and are not counted.
    points_per_incident
        问题发现: points per incident found, up to the item's weight.
    discovery_counts
        问题发现: which incidents count (:data:`DISCOVERY_COUNTS`): ``accepted`` (default: accepted
        or later, transferred included) or ``reported`` (every report).
    overdue_deduction
        事件处置: points off per overdue case.
    coverage_deduction
        横向到边: points off per blind spot or double claim of the grid.
    vertical_deduction, vertical_warning_deduction
        纵向到底: points off per error and per warning.
    """

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    points_per_incident: float = 2.0
    overdue_deduction: float = 2.0
    coverage_deduction: float = 3.0
    vertical_deduction: float = 3.0
    vertical_warning_deduction: float = 1.0
    discovery_counts: str = "accepted"

    def __post_init__(self) -> None:
        if self.discovery_counts not in DISCOVERY_COUNTS:
            raise ValidationError(
                f"评分细则的 discovery_counts（问题发现计数）应为 accepted（经受理的问题）或 reported（所有上报），"
                f"当前为“{self.discovery_counts}”",
                f"discovery_counts must be one of {sorted(DISCOVERY_COUNTS)}, got {self.discovery_counts!r}",
            )
        unknown = [k for k in self.weights if k not in ITEMS]
        if unknown:
            raise ValidationError(
                f"评分细则中有未知的考核项：{'、'.join(map(str, unknown))}；可用："
                + "、".join(f"{k}（{v[0]}）" for k, v in ITEMS.items()),
                f"unknown rubric items {unknown}",
            )
        numbers = {
            **self.weights,
            "points_per_incident": self.points_per_incident,
            "overdue_deduction": self.overdue_deduction,
            "coverage_deduction": self.coverage_deduction,
            "vertical_deduction": self.vertical_deduction,
            "vertical_warning_deduction": self.vertical_warning_deduction,
        }
        bad = [k for k, v in numbers.items() if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0]
        if bad:
            raise ValidationError(f"评分细则的分值须为不小于 0 的数：{'、'.join(bad)}", f"bad rubric numbers {bad}")

    @property
    def full_marks(self) -> float:
        return float(sum(self.weights.values()))

    def items(self) -> list[dict[str, Any]]:
        """``code``, ``label``, ``weight`` and ``basis`` (Chinese) of each item, in :data:`ITEMS` order."""
        values = {**vars(self), "discovery_what": DISCOVERY_COUNTS[self.discovery_counts][1]}
        return [
            {"code": code, "label": label, "weight": float(self.weights[code]), "basis": basis.format(**values)}
            for code, (label, basis) in ITEMS.items()
            if code in self.weights
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": dict(self.weights),
            "points_per_incident": self.points_per_incident,
            "overdue_deduction": self.overdue_deduction,
            "coverage_deduction": self.coverage_deduction,
            "vertical_deduction": self.vertical_deduction,
            "vertical_warning_deduction": self.vertical_warning_deduction,
            "discovery_counts": self.discovery_counts,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rubric:
        """A rubric from :meth:`to_dict`'s shape; missing keys keep the defaults."""
        known = {
            "weights",
            "points_per_incident",
            "overdue_deduction",
            "coverage_deduction",
            "vertical_deduction",
            "vertical_warning_deduction",
            "discovery_counts",
        }
        extra = set(data) - known
        if extra:
            raise ValidationError(
                f"评分细则中有未知的设置：{'、'.join(sorted(extra))}", f"unknown rubric keys {sorted(extra)}"
            )
        kwargs: dict[str, Any] = {k: (dict(v) if k == "weights" else v) for k, v in data.items()}
        return cls(**kwargs)

    @classmethod
    def from_file(cls, path: str | Path) -> Rubric:
        """A rubric from a JSON file (see :meth:`to_dict`)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValidationError(f"无法读取评分细则文件“{path}”：{exc}", f"cannot read rubric {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise ValidationError("评分细则文件应为 JSON 对象", "rubric file is not a JSON object")
        return cls.from_dict(data)


DEFAULT_RUBRIC = Rubric()


def ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def score_indicators(ind: Mapping[str, Any], rubric: Rubric = DEFAULT_RUBRIC) -> dict[str, float | None]:
    """Points per rubric item for one grid's indicators (``None``: not applicable, not counted)."""
    w = rubric.weights
    out: dict[str, float | None] = {}

    def put(code: str, value: float | None) -> None:
        if code in w:
            out[code] = None if value is None else round(max(0.0, min(float(w[code]), value)), 2)

    put("patrol", None if ind.get("patrol_rate") is None else w.get("patrol", 0) * ind["patrol_rate"])
    share = ind.get("river_patrolled_share")
    put("patrol_coverage", None if share is None else w.get("patrol_coverage", 0) * share)
    put("discovery", ind.get(DISCOVERY_COUNTS[rubric.discovery_counts][0], 0) * rubric.points_per_incident)
    acc = ind.get("accept_rate")
    put("acceptance", None if acc is None else w.get("acceptance", 0) * acc)
    close, overdue = ind.get("close_rate"), ind.get("overdue", 0)
    if close is None and not overdue:
        put("handling", None)
    else:
        put("handling", w.get("handling", 0) * (1.0 if close is None else close) - overdue * rubric.overdue_deduction)
    cov = ind.get("coverage_rate")
    put(
        "coverage",
        None
        if cov is None
        else w.get("coverage", 0) * cov - len(ind.get("coverage_findings", [])) * rubric.coverage_deduction,
    )
    put(
        "vertical",
        w.get("vertical", 0)
        - ind.get("vertical_errors", 0) * rubric.vertical_deduction
        - ind.get("vertical_warnings", 0) * rubric.vertical_warning_deduction,
    )
    sign = ind.get("signboard")
    put("signboard", None if sign is None else (w.get("signboard", 0) if sign else 0.0))
    return out


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


def with_weights(rubric: Rubric, **weights: float) -> Rubric:
    """A copy of ``rubric`` with some weights changed."""
    return replace(rubric, weights={**rubric.weights, **weights})

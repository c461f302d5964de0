"""The leaders' dashboard (河湖一张图, pages/home.py): its layout, KPI cards and their period.

Layout (:data:`HOME_CSS`): the page uses the whole width of the main area; the map spans it
(about 1,070 of 1,400 pixels beside the navigation, ≥ 70 % of the window); the responsibility
chain floats over the map's left edge (:data:`PANEL_KEY`), a one-line hint while nothing is
selected, the chain of the clicked place once something is; on a narrow screen it drops below
the map. The legend inside the map folds (图例 ▸).

KPI cards (:func:`kpi_cards`): the fixed figures (reaches, coverage, open and overdue cases) and
the monthly ones (patrols, mileage, new reports) with the change against the month before and a
six-month series in
its help. The month is the latest one with records (:func:`gis.overview.overview_kpis`),
and :func:`period_note` says so when it is not the current month.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from ui.map_state import MAP_HEIGHT_PX

PANEL_KEY = "chain_panel"
"""Key of the floating responsibility-chain panel (its CSS class is ``st-key-chain_panel``)."""

IDLE_KEY = "chain_idle"
"""Key of the hint the panel shows while nothing is selected (the panel is then compact)."""

STAGE_KEY = "home_stage"
"""Key of the container holding the map and the floating panel (positioned: the panel's frame)."""

HOME_CSS = f"""<style>
[data-testid="stMainBlockContainer"]{{padding-top:2.4rem;padding-left:1rem;padding-right:1rem;max-width:none}}
.st-key-{STAGE_KEY}{{position:relative}}
.st-key-{STAGE_KEY} [data-testid="stLayoutWrapper"]:has(> .st-key-{PANEL_KEY}),
.st-key-{STAGE_KEY} > .st-key-{PANEL_KEY}{{position:absolute;top:10px;left:56px;z-index:1000;width:370px}}
.st-key-{PANEL_KEY}{{max-height:{MAP_HEIGHT_PX - 20}px;overflow-y:auto;background:rgba(255,255,255,.97);
  border-radius:8px;box-shadow:0 2px 10px rgba(0,0,0,.28);padding:10px 12px}}
.st-key-{STAGE_KEY} [data-testid="stLayoutWrapper"]:has(> .st-key-{PANEL_KEY}):has(.st-key-{IDLE_KEY}),
.st-key-{STAGE_KEY} > .st-key-{PANEL_KEY}:has(.st-key-{IDLE_KEY}){{width:auto;max-width:420px}}
.st-key-{PANEL_KEY}:has(.st-key-{IDLE_KEY}){{padding:5px 10px;overflow:visible}}
.st-key-{IDLE_KEY} [data-testid="stMarkdownContainer"]{{margin-bottom:0}}
.st-key-{IDLE_KEY} [data-testid="stMarkdownContainer"] p{{margin:0;font-size:13px;line-height:20px}}
.st-key-{IDLE_KEY} [data-testid="stMarkdown"]{{margin:0}}
[data-testid="stMetricValue"]{{font-size:1.7rem}}
[data-testid="stMetric"] label p{{white-space:nowrap}}
@media (max-width: 800px){{
  .st-key-{STAGE_KEY} [data-testid="stLayoutWrapper"]:has(> .st-key-{PANEL_KEY}),
  .st-key-{STAGE_KEY} > .st-key-{PANEL_KEY}{{position:static;width:auto;max-width:none}}
  .st-key-{PANEL_KEY}{{max-height:none;box-shadow:none;border:1px solid #d5dde5}}
}}
</style>"""
"""Page style of the dashboard (a ``<style>`` element only: it takes no room on the page)."""


CARD_HEIGHT_PX = 118
"""Height of every KPI card, in pixels (cards with and without a trend line up)."""


def month_label(month: str) -> str:
    """``2026-11`` as ``2026年11月``."""
    year, mon = month.split("-")
    return f"{int(year)}年{int(mon)}月"


def period_label(kpi: Mapping[str, Any]) -> str:
    """The monthly cards' period as their labels say it: 本月, or the month itself (``11月`` in the
    current year, else ``2025年12月``)."""
    month, current = str(kpi["month"]), str(kpi["current_month"])
    if month == current:
        return "本月"
    return f"{int(month[5:])}月" if month[:4] == current[:4] else month_label(month)


def period_note(kpi: Mapping[str, Any]) -> str | None:
    """What the cards say about their month when it is not the current one (else None)."""
    if kpi["month"] == kpi["current_month"]:
        return None
    return (
        f"本月（{month_label(str(kpi['current_month']))}）还没有巡河轨迹和事件记录；"
        f"巡河与上报显示有记录的最近一个月：{month_label(str(kpi['month']))}，"
        f"并与上月（{month_label(str(kpi['previous_month']))}）比较。"
    )


def trend_text(kpi: Mapping[str, Any], key: str, unit: str) -> str:
    """``近 6 个月：6月 0 次、7月 1 次…`` for the monthly series ``kpi[key]``."""
    months = [f"{int(m[5:])}月 {n} {unit}" for m, n in zip(kpi["trend_months"], kpi[key], strict=True)]
    return f"近 {len(months)} 个月：" + "、".join(months)


def _km(value: float) -> str:
    return f"{value:,.0f} 公里" if value >= 100 else f"{value:g} 公里"


def kpi_cards(kpi: Mapping[str, Any], coverage: Any) -> None:
    """The dashboard's six KPI cards (bordered ``st.metric``; monthly ones with their trend).

    ``kpi``: :func:`gis.overview.overview_kpis`; ``coverage``: :class:`ui.map_state.CoverageSummary`.
    """
    period = period_label(kpi)
    cols = st.columns(6)
    cols[0].metric(
        f"河段（{kpi['reaches']} 段）",
        _km(float(kpi["reach_km"])),
        help=f"登记的河段总长；网格 {kpi['grids']} 个，其中村级网格 {kpi['village_grids']} 个",
        border=True,
        height=CARD_HEIGHT_PX,
    )
    cols[1].metric(
        "网格覆盖率",
        f"{coverage.rate:.1%}" if coverage.rate is not None else "—",
        help="村级网格覆盖的河段长度占河段总长的比例（盲区检查·横向到边）"
        + (
            f"；未覆盖 {coverage.uncovered_count} 段，共 {coverage.uncovered_length_m:,.0f} 米"
            if coverage.rate is not None
            else f"；{coverage.note}"
        ),
        border=True,
        height=CARD_HEIGHT_PX,
    )
    cols[2].metric(
        "在办事件", f"{kpi['incidents_open']} 件", help="尚未办结的事件（全部时段）", border=True, height=CARD_HEIGHT_PX
    )
    cols[3].metric(
        "超期事件",
        f"{kpi['incidents_overdue']} 件",
        help="受理或办结已超过期限的在办事件（按工作日计算）",
        border=True,
        height=CARD_HEIGHT_PX,
    )
    cols[4].metric(
        f"{period}巡河",
        f"{kpi['patrols']} 次",
        delta=int(kpi["patrols"]) - int(kpi["patrols_prev"]),
        delta_description="较上月",
        help=f"{period}开始的巡河轨迹 {kpi['patrols']} 条，共 {kpi['patrol_km']:g} 公里"
        f"（上月 {kpi['patrols_prev']} 条、{kpi['patrol_km_prev']:g} 公里）；{trend_text(kpi, 'patrols_trend', '次')}",
        border=True,
        height=CARD_HEIGHT_PX,
    )
    cols[5].metric(
        f"{period}上报事件",
        f"{kpi['reported']} 件",
        delta=int(kpi["reported"]) - int(kpi["reported_prev"]),
        delta_color="off",  # more reports is neither good nor bad by itself
        delta_description="较上月",
        help=f"{period}上报的事件（上月 {kpi['reported_prev']} 件）；{trend_text(kpi, 'reported_trend', '件')}",
        border=True,
        height=CARD_HEIGHT_PX,
    )


__all__ = [
    "HOME_CSS",
    "IDLE_KEY",
    "PANEL_KEY",
    "STAGE_KEY",
    "kpi_cards",
    "month_label",
    "period_label",
    "period_note",
    "trend_text",
]

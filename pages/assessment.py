"""考核评价: indicators and scores per grid, monthly trend, comparison of grids, yearly self and
upper evaluations, and the Excel summary in the county offices' shape.

Charts name grids by short unique labels (东兴村, 东兴村（二）: :func:`gis.assessment.labels.chart_labels`)
with the full grid path on hover, never by names an axis would cut to the same text."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from gis import clock
from gis.assessment.evaluations import (
    KINDS,
    STATUS_LABELS,
    editions,
    home_grid,
    new_edition,
    rollup,
    save_evaluation,
)
from gis.assessment.excel import write_assessment_xlsx
from gis.assessment.indicators import INDICATOR_LABELS, assess, limit_assessment, monthly_trend
from gis.assessment.labels import chart_labels
from gis.auth import Scope
from gis.errors import RiverGridError
from gis.formatting import grid_label
from gis.model import GridLevel
from ui.state import current_actor, data_version, get_store, scope_key, show_error


@st.cache_data(show_spinner="正在计算考核指标…", max_entries=16)
def run_assessment(version: int, period: str):  # type: ignore[no-untyped-def]
    with get_store().session() as s:
        result = assess(s, period)
        return result, rollup(s, result.period.start.year, result)


@st.cache_data(show_spinner="正在计算逐月趋势…", max_entries=8)
def run_trend(version: int, year: int) -> pd.DataFrame:
    with get_store().session() as s:
        return monthly_trend(s, year)


def score_bars(frame: pd.DataFrame) -> dict[str, Any]:
    """Vega-Lite bars of 百分制得分 by short label (columns 网格, 网格路径, 百分制得分, 同级排名)."""
    return {
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": "网格", "type": "nominal", "sort": "-x", "title": None, "axis": {"labelLimit": 0}},
            "x": {"field": "百分制得分", "type": "quantitative", "scale": {"domain": [0, 100]}},
            "tooltip": [
                {"field": "网格路径", "type": "nominal", "title": "网格"},
                {"field": "百分制得分", "type": "quantitative", "format": ".1f"},
                {"field": "同级排名", "type": "nominal"},
            ],
        },
        "height": max(120, 44 * len(frame)),
    }


def trend_lines(value: str, title: str, fmt: str) -> dict[str, Any]:
    """Vega-Lite lines of ``value`` by month, one per grid (short label; the path on hover)."""
    return {
        "mark": {"type": "line", "point": True, "tooltip": True},
        "encoding": {
            "x": {"field": "month", "type": "ordinal", "title": "月份"},
            "y": {"field": value, "type": "quantitative", "title": title, "axis": {"format": fmt}},
            "color": {"field": "网格", "type": "nominal", "legend": {"labelLimit": 0, "title": None}},
            "tooltip": [
                {"field": "网格路径", "type": "nominal", "title": "网格"},
                {"field": "month", "type": "ordinal", "title": "月份"},
                {"field": value, "type": "quantitative", "title": title, "format": fmt},
            ],
        },
        "height": 260,
    }


def excel_bytes(result, rows) -> bytes:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        return write_assessment_xlsx(result, Path(tmp) / "assessment.xlsx", rows).read_bytes()


st.title("考核评价")
st.caption(
    "按巡河、事件处置、横向到边、纵向到底和公示牌等指标，对各级网格计算得分并在同级网格间排名；"
    "每年各网格自评，上级网格评价下级网格，结果逐级汇总。"
)

this_year = clock.today().year
# a link opens one evaluation form (/assessment?year=2026&grid=3&kind=upper, from 待办); applied once
link = {k: st.query_params.pop(k) for k in ("year", "grid", "kind") if k in st.query_params}
if link:  # the form's widgets start again from the linked grid and kind, which stay their defaults
    st.session_state.pop("eval_grid", None)
    st.session_state.pop("eval_kind", None)
    st.session_state["eval_link"] = link
years = [this_year, this_year - 1, this_year - 2]
c1, c2, c3 = st.columns([1, 1, 2])
if link.get("year") in map(str, years):
    st.session_state["assess_year"] = int(link["year"])
year = c1.selectbox("考核年度", years, key="assess_year")
month = c2.selectbox("时段", ["全年", *[f"{m} 月" for m in range(1, 13)]])
period = str(year) if month == "全年" else f"{year}-{int(month.split()[0]):02d}"
version = data_version()
try:
    result, rows = run_assessment(version, period)
except RiverGridError as exc:
    show_error(exc)
    st.stop()
visible = scope_key()  # an account bound to a grid: its grid and those below
if visible is not None:
    result, rows = limit_assessment(result, rows, Scope(frozenset(visible)))
levels = [lv.value for lv in GridLevel if any(g.level == lv.value for g in result.grids)]
level = c3.radio("网格层级", levels, index=len(levels) - 1, horizontal=True, format_func=lambda v: GridLevel(v).label)
for note in result.warnings:
    st.info(note)

grids = [g for g in result.grids if g.level == level]
labels = chart_labels([(g.grid_id, g.grid, g.parent_id) for g in result.grids], [g.grid_id for g in grids])
tab_scores, tab_trend, tab_eval = st.tabs(["指标与得分", "逐月趋势", "年度评价"], default="年度评价" if link else None)

with tab_scores:
    if grids:
        best = max(grids, key=lambda g: -1 if g.score is None else g.score)
        done = sum(g.indicators["patrol_done"] for g in grids)
        required = sum(g.indicators["patrol_required"] for g in grids)
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("网格数", len(grids))
        m2.metric("巡河完成率", "不考核" if not required else f"{done / required:.0%}")
        m3.metric(
            "发现问题 / 超期",
            f"{sum(g.indicators['incidents_found'] for g in grids)} / {sum(g.indicators['overdue'] for g in grids)}",
        )
        m4.metric("同级最高分", "—" if best.score is None else f"{best.score:.1f}")
    table = result.table(level)
    pct = {
        h: st.column_config.NumberColumn(h, format="percent")
        for h in (
            INDICATOR_LABELS[k]
            for k in ("patrol_rate", "river_patrolled_share", "accept_rate", "close_rate", "coverage_rate")
        )
        if h in table
    }
    st.dataframe(table, hide_index=True, width="stretch", column_config=pct)
    st.subheader("各网格得分比较")
    chart = pd.DataFrame(
        {
            "网格": [labels[g.grid_id][0] for g in grids],
            "网格路径": [labels[g.grid_id][1] for g in grids],
            "百分制得分": [g.score for g in grids],
            "同级排名": [f"{g.rank}/{g.siblings}" if g.rank is not None else "" for g in grids],
        }
    )
    if len(chart):
        st.vega_lite_chart(chart, score_bars(chart), width="stretch")
        st.caption("图中网格名称已省略上级名称，鼠标悬停可见完整网格路径。")
    names = {g.grid_id: g.grid for g in grids}
    if names:
        pick = st.selectbox("查看网格的问题明细", list(names), format_func=lambda i: names[i], key="detail_grid")
        ind = result.get(pick).indicators
        details = [("横向到边", m) for m in ind["coverage_findings"]] + [
            ("纵向到底", m) for m in ind["vertical_findings"]
        ]
        if details:
            st.dataframe(pd.DataFrame(details, columns=["类别", "说明"]), hide_index=True, width="stretch")
        else:
            st.success("该网格没有盲区、重复覆盖或缺员问题。")
    st.download_button(
        "下载考核汇总表 Excel",
        excel_bytes(result, rows),
        file_name=f"考核评价_{period}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    with st.expander("评分细则"):
        st.dataframe(
            pd.DataFrame(result.rubric.items()).rename(
                columns={"code": "代码", "label": "考核项", "weight": "分值", "basis": "评分方法"}
            ),
            hide_index=True,
            width="stretch",
        )

with tab_trend:
    trend = run_trend(version, int(year))
    if trend.empty:
        st.info(f"{year} 年还没有已开始的月份。")
    else:
        shown = trend[trend["grid_id"].isin([g.grid_id for g in grids])].copy()
        shown["网格"] = shown["grid_id"].map(lambda i: labels[i][0])
        shown["网格路径"] = shown["grid_id"].map(lambda i: labels[i][1])
        lines = shown[["month", "网格", "网格路径", "score", "patrol_rate"]]
        st.markdown("**百分制得分（逐月）**")
        st.vega_lite_chart(lines, trend_lines("score", "百分制得分", ".1f"), width="stretch")
        st.markdown("**巡河完成率（逐月）**")
        st.vega_lite_chart(lines, trend_lines("patrol_rate", "巡河完成率", ".0%"), width="stretch")
        counts = (
            shown.groupby("month")[["incidents_found", "overdue"]]
            .sum()
            .rename(columns={"incidents_found": "发现问题", "overdue": "超期"})
        )
        st.markdown("**发现问题与超期（件，逐月合计）**")
        st.bar_chart(counts, height=240, stack=False)

with tab_eval:
    roll = pd.DataFrame(rows)
    if len(roll):
        view = roll[roll["level"] == level][
            ["grid", "parent", "system_score", "self_total", "upper_total", "final", "final_source_label", "lower_mean"]
        ]
        st.dataframe(
            view.astype(object)
            .where(view.notna(), "—")
            .rename(
                columns={
                    "grid": "网格",
                    "parent": "上级网格",
                    "system_score": "系统评分",
                    "self_total": "自评得分",
                    "upper_total": "上级评价得分",
                    "final": "最终得分",
                    "final_source_label": "最终得分来源",
                    "lower_mean": "下级平均分",
                }
            ),
            hide_index=True,
            width="stretch",
        )
    st.caption(
        "最终得分：有已提交的上级评价取上级评价，否则取已提交的自评，否则取系统评分。提交后即锁定，修改须新建版本并说明原因。"
    )
    actor = current_actor()
    if actor is None or not actor.can("assessment.write"):
        st.info("登录具有“填写考核评价”权限的账号（工作人员、管理员）后可填写自评和上级评价。")
        st.stop()
    all_names = {g.grid_id: grid_label(g.grid, g.level) for g in result.grids}
    with get_store().session() as s:
        home = home_grid(s, actor)
    ids = list(all_names)
    f1, f2 = st.columns(2)
    opened = st.session_state.get("eval_link", {})
    linked = int(opened["grid"]) if opened.get("grid", "").isdigit() else None
    gid = f1.selectbox(
        "评价的网格",
        ids,
        index=ids.index(linked) if linked in ids else ids.index(home) if home in ids else 0,
        format_func=lambda i: all_names[i],
        key="eval_grid",
    )
    kinds = list(KINDS)
    kind = f2.radio(
        "评价类型",
        kinds,
        index=kinds.index(opened["kind"]) if opened.get("kind") in kinds else 0,
        format_func=lambda k: KINDS[k],
        horizontal=True,
        key="eval_kind",
    )
    with get_store().session() as s:
        history = editions(s, gid, year, kind)
    current = history[-1] if history else None
    if history:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "版本": e.edition,
                        "状态": STATUS_LABELS.get(e.status, e.status),
                        "总分": e.total,
                        "填写人": e.author,
                        "更改原因": e.change_reason,
                    }
                    for e in history
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    if current is not None and current.status == "submitted":
        st.warning(f"第 {current.edition} 版已提交并锁定。")
        reason = st.text_input("更改原因（新建版本时必填）", key="eval_reason")
        if st.button("新建版本", key="eval_new"):
            try:
                with get_store().session(actor) as s:
                    new_edition(s, gid, year, kind, reason)
            except RiverGridError as exc:
                show_error(exc)
            else:
                st.rerun()
    else:
        system = result.get(gid).scores
        with st.form(f"eval_form_{gid}_{kind}"):
            scores = {}
            cols = st.columns(4)
            for k, item in enumerate(result.rubric.items()):
                start = (current.scores or {}).get(item["code"]) if current is not None else None
                if start is None:
                    start = system.get(item["code"]) or 0.0
                scores[item["code"]] = cols[k % 4].number_input(
                    f"{item['label']}（满分 {item['weight']:g}）",
                    min_value=0.0,
                    max_value=float(item["weight"]),
                    value=float(min(start, item["weight"])),
                    step=0.5,
                    key=f"eval_{gid}_{kind}_{item['code']}",
                )
            comment = st.text_area("评价说明", value=current.comment if current is not None else "", max_chars=4000)
            b1, b2 = st.columns(2)
            save = b1.form_submit_button("保存草稿")
            submit = b2.form_submit_button("提交（提交后锁定）", type="primary")
        if save or submit:
            try:
                with get_store().session(actor) as s:
                    save_evaluation(
                        s,
                        gid,
                        year,
                        kind,
                        scores,
                        comment,
                        submit=submit,
                        expected_version=current.version if current is not None else None,
                    )
            except RiverGridError as exc:
                show_error(exc)
            else:
                st.success("已提交并锁定。" if submit else "草稿已保存。")
                st.rerun()

"""信息报送 — a grid's monthly, quarterly and yearly report (Excel/PDF), its submission upward in
locked editions, and the status of the lower grids (已报送/未报送/逾期) with their reports.
Signed-in accounts; submitting needs 报送信息报表. Wires widgets to :mod:`ui.reports`."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gis import clock
from gis.errors import RiverGridError
from gis.reports.periods import KIND_LABELS, latest_ended, report_period
from gis.reports.render import FORMATS
from ui.reports import build, choices, download, history, status, submit
from ui.state import current_actor, show_error

actor = current_actor()
st.title("信息报送")
if actor is None:
    st.info("请先登录。")
    st.stop()
try:
    grids, home = choices(actor)
except RiverGridError as exc:
    show_error(exc)
    st.stop()
if not grids:
    st.info("没有可报送或查看的网格。")
    st.stop()


def _periods(kind: str) -> list[str]:
    """Recent periods of ``kind``, the latest ended one first (the running one after it)."""
    today = clock.today()
    last = latest_ended(kind, today)
    out = [last.label]
    y = last.period.start.year
    if kind == "month":
        m = last.period.start.month
        for _ in range(11):
            y, m = (y, m - 1) if m > 1 else (y - 1, 12)
            out.append(f"{y}-{m:02d}")
    elif kind == "quarter":
        q = (last.period.start.month - 1) // 3 + 1
        for _ in range(7):
            y, q = (y, q - 1) if q > 1 else (y - 1, 4)
            out.append(f"{y}-Q{q}")
    else:
        out += [str(y - k) for k in range(1, 5)]
    return out


if "period" in st.query_params:  # a link opens one report (/reports?period=2026-11&grid=3, from 待办); applied once
    try:
        wanted = report_period(st.query_params.pop("period"))
        st.session_state["reports_kind"] = wanted.kind
        if wanted.label in _periods(wanted.kind):
            st.session_state[f"reports_period_{wanted.kind}"] = wanted.label
    except RiverGridError as exc:
        show_error(exc)
    wanted_grid = st.query_params.pop("grid", "")
    if wanted_grid.isdigit() and int(wanted_grid) in grids:
        st.session_state["reports_grid"] = int(wanted_grid)

c1, c2, c3 = st.columns([1, 1, 2])
kind = c1.selectbox("报表类型", list(KIND_LABELS), format_func=KIND_LABELS.get, key="reports_kind")
period = c2.selectbox(
    "报告期", _periods(kind), format_func=lambda p: report_period(p).title, key=f"reports_period_{kind}"
)
ids = list(grids)
grid_id = c3.selectbox(
    "网格", ids, index=ids.index(home) if home in grids else 0, format_func=grids.get, key="reports_grid"
)
rp = report_period(period)

tab_status, tab_build = st.tabs(["报送情况", "生成与报送"])


def _download_buttons(edition: dict, prefix: str) -> None:
    cols = st.columns(2)
    for col, fmt in zip(cols, FORMATS, strict=True):
        try:
            name, mime, data = download(actor, edition["id"], fmt)
        except RiverGridError as exc:
            show_error(exc)
            continue
        col.download_button(
            f"下载 {'Excel' if fmt == 'xlsx' else 'PDF'}",
            data,
            file_name=name,
            mime=mime,
            key=f"{prefix}_{edition['id']}_{fmt}",
        )


with tab_status:
    try:
        info = status(actor, grid_id, period)
    except RiverGridError as exc:
        show_error(exc)
        st.stop()
    st.caption(
        f"{rp.title}{rp.kind_label}的报送期限：{info['due_at_local']}（次期第 {info['due_workdays']} 个工作日结束前）"
    )
    rows = [("本网格", info["own"]), *(("下级网格", r) for r in info["lower"])]
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "": who,
                    "网格": r["grid"],
                    "层级": r["level_label"],
                    "状态": r["status_label"],
                    "版次": f"第 {r['latest']['edition']} 版" if r["latest"] else "",
                    "报送人": r["latest"]["submitted_by"] if r["latest"] else "",
                    "报送时间": r["latest"]["submitted_at_local"] if r["latest"] else "",
                }
                for who, r in rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    submitted = [r for _, r in rows if r["latest"]]
    if submitted:
        pick = st.selectbox(
            "查看已报送的报表",
            [r["grid_id"] for r in submitted],
            format_func=lambda g: next(
                f"{r['grid']}（第 {r['latest']['edition']} 版）" for r in submitted if r["grid_id"] == g
            ),
            key="reports_open",
        )
        chosen = next(r for r in submitted if r["grid_id"] == pick)
        _download_buttons(chosen["latest"], "reports_status")
        try:
            past = history(actor, pick, period)
        except RiverGridError as exc:
            show_error(exc)
            past = []
        if len(past) > 1:
            st.markdown("**历次版本**")
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "版次": e["edition"],
                            "报送人": e["submitted_by"],
                            "报送时间": e["submitted_at_local"],
                            "更正原因": e["change_reason"],
                        }
                        for e in past
                    ]
                ),
                hide_index=True,
                width="stretch",
            )

with tab_build:
    st.markdown(
        f"按巡河考核、事件列表、考核评价的同一口径生成 **{grids[grid_id]} {rp.title}{rp.kind_label}**（含下级网格）。"
    )
    key = f"reports_built_{grid_id}_{period}"
    if st.button("生成报表", key="reports_build"):
        try:
            with st.spinner("正在统计……"):
                st.session_state[key] = build(actor, grid_id, period)
        except RiverGridError as exc:
            show_error(exc)
    built = st.session_state.get(key)
    if built is not None:
        f = built.figures
        m = st.columns(4)
        m[0].metric("巡河轨迹（有效）", f"{f['patrol']['track_count']}（{f['patrol']['counted_count']}）")
        m[1].metric("本期上报/办结事件", f"{f['cases']['reported']}/{f['cases']['closed']}")
        m[2].metric("超期事件", f["cases"]["overdue"])
        score = f["assessment"]["score"]
        m[3].metric("考核得分", "—" if score is None else f"{score:.1f}")
        st.caption(f"统计截至 {f['as_of_local']}")
        d1, d2 = st.columns(2)
        d1.download_button(
            "下载 Excel", built.xlsx, file_name=f"{built.title}.xlsx", mime=FORMATS["xlsx"], key="reports_dl_xlsx"
        )
        d2.download_button(
            "下载 PDF", built.pdf, file_name=f"{built.title}.pdf", mime=FORMATS["pdf"], key="reports_dl_pdf"
        )
        if actor.can("report.submit"):
            with st.form("reports_submit"):
                reason = st.text_input("更正原因（已报送过时必填）", max_chars=2000, key="reports_reason")
                st.caption("报送后锁定，不能修改；如需更正，请说明原因后报送新版本。")
                if st.form_submit_button("报送", type="primary"):
                    try:
                        done = submit(actor, built, reason)
                    except RiverGridError as exc:
                        show_error(exc)
                    else:
                        del st.session_state[key]
                        st.success(f"已报送第 {done['edition']} 版（{done['submitted_at_local']}），已锁定。")

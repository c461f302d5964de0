"""盲区检查: coverage of every reach by grids (横向到边), grid topology and 纵向到底, with the map;
微小缝隙 (stretches shorter than the standard) listed apart for data cleaning. Every rule shows its
Chinese label (:func:`gis.checks.findings.rule_label`), never its code."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st
from streamlit_folium import st_folium

from gis.checks.findings import rule_label
from gis.checks.report import KIND_LABELS, check_store
from gis.config import settings
from gis.errors import RiverGridError
from gis.model import GridLevel
from layers.basemap import finish_map, make_map, view_for_bounds
from layers.blindspots import findings_layer
from layers.grids import grids_layer
from layers.rivers import reaches_layer
from ui.state import data_version, get_store, map_data, show_error
from ui.text import md_text

FOCUS = "blind_spot_focus"


@st.cache_data(show_spinner="正在检查…", max_entries=8)
def run_check(version: int, level: str, min_gap_m: float):  # type: ignore[no-untyped-def]
    with get_store().session() as s:
        return check_store(s, level=level, min_gap_m=min_gap_m)


st.title("盲区检查")
st.caption("横向到边：每段河道是否都在网格内、有无重复划分；纵向到底：每个网格是否都有责任人；以及网格边界的拓扑问题。")
c1, c2 = st.columns([1, 1])
level = c1.selectbox("检查层级", [lv.value for lv in GridLevel][::-1], format_func=lambda v: GridLevel(v).label)
min_gap = c2.number_input(
    "微小缝隙标准（米）",
    min_value=0.0,
    value=float(settings().min_gap_m),
    step=0.5,
    help="短于此长度的未覆盖或重复覆盖河段列为微小缝隙（多为数据误差），供数据清理，不算盲区、不扣分；0 表示不区分。",
)
try:
    report = run_check(data_version(), level, float(min_gap))
except RiverGridError as exc:
    show_error(exc)
    st.stop()

s = report.summary()
slivers = report.slivers_table()
m1, m2, m3, m4, m5, m6 = st.columns(6)
m1.metric("覆盖率", f"{s['coverage_rate']:.2%}")
m2.metric(
    f"未覆盖（{s['uncovered_count']} 段）",
    f"{s['blind_spot_length_m']:,.0f} 米",
    help="盲区：在上级网格范围内、不属于任何本级网格的河段（不含微小缝隙）",
)
m3.metric(f"重复覆盖（{s['overlap_count']} 段）", f"{s['overlap_length_m'] - s['overlap_sliver_length_m']:,.0f} 米")
m4.metric("微小缝隙", f"{len(slivers)} 处", help="短于微小缝隙标准的未覆盖或重复段，供数据清理，不计为问题")
m5.metric("拓扑问题", s["topology_count"])
m6.metric("纵向到底问题", s["vertical_count"])
for note in report.warnings + report.coverage.warnings:
    st.warning(md_text(note))

findings = report.findings()
left, right = st.columns([2, 3])
with left:
    st.subheader(f"问题清单（{len(findings)}）")
    if findings.empty:
        st.success("未发现问题：河道全部在网格内，网格边界和责任人完整。")
    with st.container(height=520):
        for i, row in enumerate(findings.itertuples()):
            text, button = st.columns([3, 1], vertical_alignment="center")
            label = rule_label(row.rule)
            text.markdown(f"**{KIND_LABELS[row.kind]} · {label}**")
            text.caption(md_text(row.message))
            if row.geometry is not None and not row.geometry.is_empty:
                if button.button("定位", key=f"focus_{i}", help="在地图上显示此处"):
                    st.session_state[FOCUS] = i
    if len(slivers):
        with st.expander(f"微小缝隙（{len(slivers)} 处，数据清理，不计为问题）"):
            st.caption(
                f"短于 {report.coverage.min_gap_m:g} 米的未覆盖或重复覆盖河段，多为边界或河段数据的误差；"
                "请核对数据后清理，它们不算盲区，不影响考核得分。"
            )
            st.dataframe(
                slivers.drop(columns=["河段编号"]),
                hide_index=True,
                width="stretch",
                column_config={"长度（米）": st.column_config.NumberColumn("长度（米）", format="%.3f")},
            )
    d1, d2 = st.columns(2)
    d1.download_button(
        "下载问题清单 CSV",
        report.findings_table().to_csv(index=False).encode("utf-8-sig"),
        file_name=f"盲区检查_{GridLevel(level).label}.csv",
        mime="text/csv",
    )
    with tempfile.TemporaryDirectory() as tmp:
        xlsx = report.to_excel(Path(tmp) / "report.xlsx").read_bytes()
    d2.download_button(
        "下载完整报告 Excel",
        xlsx,
        file_name=f"盲区检查_{GridLevel(level).label}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )

with right:
    cfg = settings()
    data = map_data(data_version())
    m = make_map(basemap=cfg.basemap, tianditu_key=cfg.tianditu_key)
    shown = data.grids[data.grids["level"].isin([level, GridLevel(level).parent_level or level])]
    if len(shown):
        grids_layer(shown, labels=True).add_to(m)
    if len(data.reaches):
        reaches_layer(data.reaches).add_to(m)
    findings_layer(findings).add_to(m)
    finish_map(m)
    focus = st.session_state.get(FOCUS)
    if focus is not None and focus < len(findings):
        center, zoom = view_for_bounds(
            tuple(findings.geometry.iloc[focus].bounds), width_px=800, height_px=560, max_zoom=16
        )
        zoom = max(zoom - 1, 1)  # a little context around the finding
        st.caption(f"当前定位：{md_text(findings['message'].iloc[focus])}")
    else:
        bounds = shown.total_bounds if len(shown) else data.reaches.total_bounds
        center, zoom = view_for_bounds(tuple(bounds), width_px=800, height_px=560)
    st_folium(
        m, height=580, use_container_width=True, center=center, zoom=zoom, returned_objects=[], key="blind_spot_map"
    )

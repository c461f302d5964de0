"""责任公示 — the public page: open without sign-in, even when reading needs it elsewhere.

Shows, per grid, what the plan publishes (五定, responsible persons, supervised reaches and their
chiefs, hotline) and the grid's signboard for download. Its only data source is
:mod:`gis.disclosure.public` (public fields; phones only when marked public) through
:mod:`ui.disclosure`: no incident, patrol, user or audit entry is read for this view. ``?grid=ID``
selects a grid (signboard QR codes link here), ``&reach=ID`` emphasises a reach.

Two more views (``&view=rivers``, ``&view=results``): 一河一档 (the archive and this year's
一河一策 of the rivers of the grid's reaches, :mod:`gis.disclosure.archives`) and 曝光台 (closed
cases with public fields only and the monthly figures, :mod:`gis.disclosure.results`).
"""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from gis import clock
from gis.config import settings
from gis.disclosure.public import grid_of_reach
from gis.errors import RiverGridError
from gis.model import GridLevel
from layers.public import disclosure_map
from ui.disclosure import (
    archive_cards_html,
    case_cards_html,
    figures_html,
    person_cards_html,
    published_archives,
    published_grids,
    published_results,
    reach_cards_html,
    signboard_files,
)
from ui.state import data_version, show_error
from ui.text import md_text

GRID_KEY = "public_grid"
VIEW_KEY = "public_view"
VIEWS = {"duty": "责任公示", "rivers": "一河一档", "results": "曝光台"}


def _int_param(name: str) -> int | None:
    value = st.query_params.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


cfg = settings()
today = clock.today()
version = data_version()
st.title("责任公示")
st.caption(
    "依据《临江市森工街道河长制工作网格化管理实施方案》，向社会公开各级网格的区域、人员、职责、任务和奖惩（五定）。"
    "欢迎监督举报。"
)

try:
    grids = published_grids(version, today)
except RiverGridError as exc:
    show_error(exc)
    st.stop()
if not grids:
    st.info("暂无公示信息。")
    st.stop()

by_id = {g.id: g for g in grids}
reach_id = _int_param("reach")
wanted = _int_param("grid")
if wanted not in by_id and reach_id is not None:
    found = grid_of_reach(grids, reach_id)
    wanted = found.id if found is not None else None
if wanted in by_id and st.session_state.get("_public_param") != (wanted, reach_id):
    st.session_state[GRID_KEY] = wanted  # a link (QR code) chose the grid
    st.session_state["_public_param"] = (wanted, reach_id)
if st.session_state.get(GRID_KEY) not in by_id:
    villages = [g.id for g in grids if g.level == GridLevel.VILLAGE.value]
    st.session_state[GRID_KEY] = villages[0] if villages else grids[0].id

ids = [g.id for g in grids]
grid_id = st.selectbox("选择网格", ids, key=GRID_KEY, format_func=lambda i: f"{by_id[i].level_label} · {by_id[i].name}")
grid = by_id[grid_id]
if st.query_params.get("grid") != str(grid_id):
    st.query_params["grid"] = str(grid_id)
    if reach_id is not None and all(r.id != reach_id for r in grid.reaches):
        del st.query_params["reach"]
        reach_id = None

st.header(md_text(grid.name) + ("（边界示意）" if grid.illustrative else ""), divider="blue")
st.metric("监督举报电话", grid.hotline)
# the phone app's report form for this grid (or reach): no account, a photo, a 查询码 to follow it
report_url = f"m/report?grid={grid.id}" + (f"&reach={reach_id}" if reach_id is not None else "")
st.link_button(
    "我要举报：拍照上报河湖问题",
    report_url,
    type="primary",
    icon=":material/photo_camera:",
    width="stretch",
    help="无需登录；提交后得到查询码，可随时查看办理进度",
)
st.markdown(
    f"**网格层级**：{md_text(grid.level_label)}"
    + (f"　**上级网格**：{md_text(grid.parent_name)}" if grid.parent_name else "")
)
if grid.responsible_body:
    st.markdown(f"**责任主体**：{md_text(grid.responsible_body)}")

view_param = st.query_params.get("view")
if view_param in VIEWS and st.session_state.get("_public_view_param") != view_param:
    st.session_state[VIEW_KEY] = view_param  # a link chose the view
    st.session_state["_public_view_param"] = view_param
view = st.radio("查看", list(VIEWS), key=VIEW_KEY, format_func=VIEWS.__getitem__, horizontal=True)
if view != "duty":
    st.query_params["view"] = view
elif "view" in st.query_params:
    del st.query_params["view"]

if view == "rivers":
    st.subheader("一河一档 · 一河一策")
    try:
        archives = published_archives(version, today, tuple(r.id for r in grid.reaches))
    except RiverGridError as exc:
        show_error(exc)
        st.stop()
    if archives:
        st.html(archive_cards_html(archives))
        st.caption("标注“示意”的内容为演示数据，非真实资料。")
    else:
        st.caption("本网格内暂无登记的河流。")
    st.stop()

if view == "results":
    st.subheader("曝光台：问题办理结果")
    st.caption("公开本网格（含下级网格）已办结、已移送的问题及处理结果；不公开举报人及其联系方式。")
    try:
        cases, months = published_results(version, today, grid.id)
    except RiverGridError as exc:
        show_error(exc)
        st.stop()
    st.markdown("**月度情况**")
    st.html(figures_html(months))
    st.markdown(f"**已办结问题**（{len(cases)} 件）")
    if cases:
        st.html(case_cards_html(cases))
    else:
        st.caption("暂无已办结的问题。")
    st.stop()
st.subheader("责任人及监管人员")
if grid.persons:
    st.html(person_cards_html(grid.persons))  # cards, not a data grid: readable on a phone
else:
    st.caption("待补充")
for upper_name, level_label, persons in grid.upper:
    st.markdown(
        f"**{md_text(level_label)}（{md_text(upper_name)}）主要责任人**："
        + ("、".join(md_text(f"{p.name}（{p.title}）" if p.title else p.name) for p in persons) or "待补充")
    )

left, right = st.columns([3, 2], gap="medium")  # on a phone the columns stack: the map, then the reaches
with left:
    try:
        m = disclosure_map(grid, basemap=cfg.basemap, tianditu_key=cfg.tianditu_key, reach_id=reach_id)
    except RiverGridError as exc:
        show_error(exc)
    else:
        st_folium(m, key=f"public_map_{grid.id}_{reach_id}", height=420, use_container_width=True, returned_objects=[])
    if grid.illustrative:
        st.caption("网格边界为示意范围，非精确边界。")

with right:
    st.markdown("**监管河段及河长**")
    chosen_id = reach_id if reach_id is not None and any(r.id == reach_id for r in grid.reaches) else None
    if grid.reaches:
        st.html(reach_cards_html(grid.reaches, chosen=chosen_id))
    else:
        st.caption("本网格内暂无登记的河段。")
    if chosen_id is not None:
        chosen = next(r for r in grid.reaches if r.id == chosen_id)
        st.info(f"所选河段：{md_text(chosen.name)}（地图上以深蓝色加粗显示）")
        try:
            pdf, _, printed_on, stem = signboard_files(version, today, reach_id=chosen.id)
        except RiverGridError as exc:
            show_error(exc)
        else:
            st.download_button(
                f"下载河段公示牌 PDF（更新日期 {printed_on}）",
                pdf,
                file_name=f"{stem}.pdf",
                mime="application/pdf",
                icon=":material/picture_as_pdf:",
                key="reach_board_pdf",
            )
    try:
        pdf, png, printed_on, stem = signboard_files(version, today, grid_id=grid.id)
    except RiverGridError as exc:
        show_error(exc)
    else:
        st.markdown(f"**网格公示牌**（更新日期 {printed_on}）")
        a, b = st.columns(2)
        a.download_button(
            "下载公示牌 PDF",
            pdf,
            file_name=f"{stem}.pdf",
            mime="application/pdf",
            icon=":material/picture_as_pdf:",
            key="board_pdf",
        )
        b.download_button(
            "下载公示牌图片", png, file_name=f"{stem}.png", mime="image/png", icon=":material/image:", key="board_png"
        )

st.subheader("五定")
for title, body in (
    ("定区域", grid.area_desc),
    ("定人员", grid.personnel_desc),
    ("定职责", grid.duties),
    ("定任务", grid.tasks),
    ("定奖惩", grid.rewards),
):
    st.markdown(f"**{title}**")
    st.markdown(md_text(body) if body else "待补充")

"""河湖一张图: the overview map of rivers, grids, patrols, incidents and supervised objects."""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from gis.config import settings
from gis.errors import RiverGridError
from gis.store.queries import overview_kpis
from layers.overview import overview_map
from ui.state import data_version, map_data, show_error

BASEMAP_LABELS = {"tianditu_vec": "天地图矢量", "tianditu_img": "天地图影像", "osm": "OpenStreetMap", "none": "无底图"}

cfg = settings()
st.title("河湖一张图")
data = map_data(data_version())
kpi = overview_kpis(data)
cols = st.columns(5)
cols[0].metric("河段", f"{kpi['reaches']} 段 · {kpi['reach_km']:g} 公里")
cols[1].metric("网格", f"{kpi['grids']} 个（村级 {kpi['village_grids']} 个）")
cols[2].metric("在办事件", kpi["incidents_open"])
cols[3].metric("超期事件", kpi["incidents_overdue"])
cols[4].metric("本月巡河", f"{kpi['patrols_month']} 次")

choices = [b for b in BASEMAP_LABELS if cfg.tianditu_key or not b.startswith("tianditu")]
basemap = st.sidebar.selectbox(
    "底图", choices, index=choices.index(cfg.basemap), format_func=BASEMAP_LABELS.__getitem__, key="basemap"
)
try:
    m = overview_map(data, basemap=basemap, tianditu_key=cfg.tianditu_key)
except RiverGridError as exc:
    show_error(exc)
    st.stop()
st_folium(m, height=620, use_container_width=True, returned_objects=[], key="home_map")
st.caption(
    "网格边界、支流、监管对象、轨迹和事件均为示意数据；鸭绿江中心线来自 World Data Bank II。"
)

"""河湖一张图: KPI cards with their trend, the leaders' map across the page and, floating over its
edge, the responsibility chain of whatever is clicked (layout and cards: :mod:`ui.dashboard`)."""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from gis import clock
from gis.config import settings
from gis.errors import RiverGridError
from layers.home_map import available_basemaps, home_map
from ui.chain_panel import incident_options, render_selection
from ui.dashboard import HOME_CSS, IDLE_KEY, PANEL_KEY, STAGE_KEY, kpi_cards, period_note
from ui.map_state import (
    MAP_HEIGHT_PX,
    MAP_KEY,
    PICK_KEY,
    RETURNED_OBJECTS,
    cached_kpis,
    click_tolerance_m,
    coverage_summary,
    home_key,
    home_layers,
    incident_card,
    index_near,
    layer_key,
    map_state,
    panel_info,
    parse_output,
    reach_at_click,
    river_tiles_info,
    table_versions,
)
from ui.state import current_actor, data_version, scope_key, show_error

cfg = settings()
entering = PICK_KEY not in st.session_state  # first run of this page since it was opened
st.html(HOME_CSS)
title_col, pick_col = st.columns([3, 1], vertical_alignment="bottom")
title_col.title("河湖一张图")

version = data_version()
today = clock.today()
visible = scope_key()  # an account bound to a grid sees the cases and tracks of its grids only
kpi = cached_kpis(version, today, visible)
tiled = river_tiles_info(version) is not None  # many reaches: drawn from vector tiles
coverage = coverage_summary(layer_key(table_versions(version), "gaps"), tiled)
kpi_cards(kpi, coverage)
if note := period_note(kpi):
    st.caption(note)

try:
    layers = home_layers(home_key(version, today, visible), version)
except RiverGridError as exc:
    show_error(exc)
    st.stop()

state = map_state()
choices = available_basemaps(cfg.tianditu_key)
if entering or state.mount is None or state.mount.data_key != layers.key:
    state.remount(layers.key, basemap=state.basemap if state.basemap in choices else cfg.basemap)
mount = state.mount


def pick_incident() -> None:
    """The picker chose an incident: show it, move the map there, empty the picker."""
    if st.session_state.get(PICK_KEY) is not None:
        state.select_incident(st.session_state[PICK_KEY], layers.incidents)
    st.session_state[PICK_KEY] = None


drawn = sum(o.layer.n_features for o in layers.overlays) + (1 if layers.river_tiles is not None else 0)
with pick_col:
    options = incident_options(layers.incidents)
    st.selectbox(
        "快速查看事件",
        list(options),
        index=None,
        format_func=options.get,
        key=PICK_KEY,
        placeholder="快速查看事件…" if options else "暂无事件",
        disabled=not options,
        label_visibility="collapsed",
        on_change=pick_incident,
    )
if not kpi["reaches"] and not kpi["grids"]:
    st.info(
        "地图上还没有河段和网格：工作人员可在“网格管理”中绘制或导入网格，"
        "系统管理员可用命令 `gis import 河段文件 --kind rivers` 导入河段。导入后这里即显示河湖一张图。",
        icon=":material/info:",
    )

with st.container(key=STAGE_KEY):
    try:
        m = home_map(
            layers.overlays,
            basemap=mount.basemap,
            tianditu_key=cfg.tianditu_key,
            center=layers.center,
            zoom=layers.zoom,
            shown=mount.overlays,
            legend=layers.legend,
            fit=layers.bounds,
            river_tiles=layers.river_tiles,
        )
    except RiverGridError as exc:
        show_error(exc)
        st.stop()
    out = st_folium(
        m,
        key=MAP_KEY,
        height=MAP_HEIGHT_PX,
        use_container_width=True,
        returned_objects=RETURNED_OBJECTS,
        center=mount.center,
        zoom=mount.zoom,
    )
    click = state.absorb(
        parse_output(out),
        overlay_keys=[
            o.key for o in layers.overlays if o.layer.n_features or (o.key == "reaches" and layers.river_tiles)
        ],
        incidents=layers.incidents,
        grids=layers.grids,
    )
    if click is not None and layers.river_tiles is not None:
        try:
            state.selection = reach_at_click(version, click)
        except RiverGridError as exc:
            show_error(exc)
    with st.container(key=PANEL_KEY):  # floats over the map's left edge (ui.dashboard.HOME_CSS)
        sel = state.selection
        if sel is None:
            with st.container(key=IDLE_KEY):
                st.markdown(
                    "点击地图上的**事件**、**河段**、**网格**或任意位置，查看责任链"
                    if drawn
                    else "地图上暂无可点击的要素"
                )
        else:
            if st.button("清除选择", key="home_clear", icon=":material/close:", help="关闭责任链，回到地图"):
                state.selection = None
                st.rerun()
            try:
                render_selection(
                    sel,
                    info=panel_info(layers),
                    index=index_near(version, sel.lon, sel.lat, click_tolerance_m(sel.lat, sel.zoom)),
                    card=incident_card(version, sel.ref_id) if sel.kind == "incident" else None,
                    signed_in=current_actor() is not None,
                    reach_tolerance_m=click_tolerance_m(sel.lat, sel.zoom),
                )
            except RiverGridError as exc:
                show_error(exc)
st.caption(
    "网格边界、支流、监管对象、轨迹和事件均为示意数据；鸭绿江中心线来自 World Data Bank II。"
    "右上角可切换底图和图层，右下角的图例可折叠。"
)

"""河湖一张图: KPIs, the leaders' map and the responsibility chain of whatever is clicked."""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from gis import clock
from gis.config import settings
from gis.errors import RiverGridError
from layers.home_map import available_basemaps, home_map
from ui.chain_panel import incident_options, render_placeholder, render_selection
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
    layer_key,
    map_state,
    parse_output,
    responsibility_index,
    table_versions,
)
from ui.state import current_actor, data_version, scope_key, show_error

cfg = settings()
entering = PICK_KEY not in st.session_state  # first run of this page since it was opened
st.title("河湖一张图")

version = data_version()
today = clock.today()
visible = scope_key()  # an account bound to a grid sees the cases and tracks of its grids only
kpi = cached_kpis(version, today, visible)
coverage = coverage_summary(layer_key(table_versions(version), "gaps"))
cols = st.columns(6)
km = kpi["reach_km"]
cols[0].metric(f"河段（{kpi['reaches']} 段）", f"{km:,.0f} 公里" if km >= 100 else f"{km:g} 公里")
cols[1].metric(
    "网格覆盖率",
    f"{coverage.rate:.1%}" if coverage.rate is not None else "—",
    help="村级网格覆盖的河段长度占河段总长的比例（盲区检查·横向到边）"
    + (
        f"；未覆盖 {coverage.uncovered_count} 段，共 {coverage.uncovered_length_m:,.0f} 米"
        if coverage.rate is not None
        else f"；{coverage.note}"
    ),
)
cols[2].metric(f"网格（村级 {kpi['village_grids']} 个）", f"{kpi['grids']} 个")
cols[3].metric("在办事件", kpi["incidents_open"])
cols[4].metric("超期事件", kpi["incidents_overdue"])
cols[5].metric("本月巡河", f"{kpi['patrols_month']} 次")

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

left, right = st.columns([7, 3], gap="medium")
with left:
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
    st.caption("网格边界、支流、监管对象、轨迹和事件均为示意数据；鸭绿江中心线来自 World Data Bank II。")

state.absorb(
    parse_output(out),
    overlay_keys=[o.key for o in layers.overlays if o.layer.n_features],
    incidents=layers.incidents,
    grids=layers.grids,
)


def pick_incident() -> None:
    """The picker chose an incident: show it, move the map there, empty the picker."""
    if st.session_state.get(PICK_KEY) is not None:
        state.select_incident(st.session_state[PICK_KEY], layers.incidents)
    st.session_state[PICK_KEY] = None


with right, st.container(height=MAP_HEIGHT_PX + 40, border=False, key="chain_panel"):
    sel = state.selection
    if sel is None:
        render_placeholder(kpi["incidents_open"])
    else:
        try:
            render_selection(
                sel,
                info=layers.info,
                index=responsibility_index(version),
                card=incident_card(version, sel.ref_id) if sel.kind == "incident" else None,
                signed_in=current_actor() is not None,
                reach_tolerance_m=click_tolerance_m(sel.lat, sel.zoom),
            )
        except RiverGridError as exc:
            show_error(exc)
        if st.button("清除选择", key="home_clear", icon=":material/close:"):
            state.selection = None
            st.rerun()
    options = incident_options(layers.incidents)
    st.selectbox(
        "快速查看事件",
        list(options),
        index=None,
        format_func=options.get,
        key=PICK_KEY,
        placeholder="选择一个事件…",
        on_change=pick_incident,
    )

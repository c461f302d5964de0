"""事件处置: report an incident (click the map or type coordinates), the filtered list with its map
and Excel export, and one incident's details, responsibility chain, timeline with photos and the
transitions the current user may do. Rules and permissions live in gis.incidents.workflow."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gis import clock
from gis.config import settings
from gis.errors import NotFoundError, RiverGridError, TooFarError
from gis.formatting import grid_label
from gis.grids.posts import grid_labels, person_labels
from gis.incidents.attachments import MAX_BYTES, photo_counts
from gis.incidents.contact import reveal_reporter_contact
from gis.incidents.export import COLUMNS, incident_rows, incidents_excel
from gis.incidents.lists import grid_and_below, list_incidents
from gis.incidents.reporting import report_incident
from gis.incidents.states import allowed_actions
from gis.incidents.workflow import can_move, get_incident, move
from gis.model import (
    LOCAL_TZ,
    Category,
    GridLevel,
    IncidentSource,
    IncidentStatus,
    Severity,
)
from layers.basemap import finish_map, make_map, view_for_bounds
from layers.grids import grid_style, grids_layer
from layers.incidents import incidents_layer, picked_point_layer
from layers.rivers import reach_style, reaches_layer
from ui import zh
from ui.chain_panel import (
    render_chain,
    render_history,
    render_incident,
    render_location,
)
from ui.cooperation import cooperation_section, department_choices
from ui.map_state import incident_card, responsibility_index
from ui.public_reply import public_reply_section
from ui.state import current_actor, data_version, get_store, map_data, show_error
from ui.text import md_text

LON, LAT, CLICK = "inc_report_lon", "inc_report_lat", "inc_report_click"
SELECTED, PICK, FLASH, MODE, NEXT_MODE = "inc_selected", "inc_pick", "inc_flash", "inc_mode", "inc_mode_next"
RESET_POINT, LIST_CLICK = "inc_report_reset", "inc_list_click"
PHOTO_TYPES = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"]
PHOTO_MB = MAX_BYTES // (1024 * 1024)  # the browser refuses bigger files early; gis.incidents.attachments decides
MODE_LIST, MODE_REPORT = "事件列表", "上报事件"

cfg = settings()
actor = current_actor()
version = data_version()
data = map_data(version)
index = responsibility_index(version)
may_report = actor is not None and actor.can("incident.report")

st.title("事件处置")
flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash)
modes = [MODE_LIST, MODE_REPORT] if may_report else [MODE_LIST]
if NEXT_MODE in st.session_state:  # set by the previous run (a widget's value cannot change after it is drawn)
    st.session_state[MODE] = st.session_state.pop(NEXT_MODE)
mode = st.radio("功能", modes, horizontal=True, label_visibility="collapsed", key=MODE)
if not may_report:
    st.caption("登录巡查员、工作人员或管理员账号后可上报事件；领导账号只读。")


def inert(style_function):  # type: ignore[no-untyped-def]
    """``style_function`` plus ``interactive: false``: the shapes take no clicks, so every click
    reaches the map (a click on a grid would otherwise open its popup and not pick the point)."""
    return lambda feature: {**style_function(feature), "interactive": False}


def base_map(*, center: tuple[float, float] | None = None, zoom: int | None = None, picking: bool = False):  # type: ignore[no-untyped-def]
    """The base map with the township and village grids and the reaches (``picking``: for
    choosing a point, shapes without popups and grids without name labels)."""
    grids = data.grids[data.grids["level"] != GridLevel.COUNTY.value]
    bounds = grids.total_bounds if len(grids) else data.reaches.total_bounds
    if center is None or zoom is None:
        center, zoom = view_for_bounds(tuple(bounds), width_px=760, height_px=520)
    m = make_map(basemap=cfg.basemap, tianditu_key=cfg.tianditu_key, center=center, zoom=zoom)
    if len(grids):
        grids_layer(
            grids, labels=False if picking else None, **({"style": inert(grid_style)} if picking else {})
        ).add_to(m)
    if len(data.reaches):
        reaches_layer(data.reaches, **({"style": inert(reach_style)} if picking else {})).add_to(m)
    return m


# =============================================================================================
# Report
# =============================================================================================


def report_section() -> None:
    if st.session_state.pop(RESET_POINT, False):
        st.session_state[LON] = st.session_state[LAT] = None
    st.session_state.setdefault(LON, None)
    st.session_state.setdefault(LAT, None)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.markdown("**在地图上点击事件位置**（或在右侧输入经纬度）")
        m = base_map(picking=True)
        finish_map(m)
        lon, lat = st.session_state[LON], st.session_state[LAT]
        marker = picked_point_layer(lon, lat) if lon is not None and lat is not None else None
        out = st_folium(
            m,
            key="inc_report_map",
            height=520,
            use_container_width=True,
            returned_objects=["last_clicked"],
            feature_group_to_add=marker,
        )
        click = (out or {}).get("last_clicked")
        if click and click != st.session_state.get(CLICK):
            st.session_state[CLICK] = click
            st.session_state[LON] = round(float(click["lng"]), 6)
            st.session_state[LAT] = round(float(click["lat"]), 6)
            st.rerun()
        st.caption("网格边界为示意数据。")
    with right:
        c1, c2 = st.columns(2)
        lon = c1.number_input("经度", key=LON, min_value=-180.0, max_value=180.0, format="%.6f", placeholder="点击地图")
        lat = c2.number_input("纬度", key=LAT, min_value=-90.0, max_value=90.0, format="%.6f", placeholder="点击地图")
        if lon is not None and lat is not None and index is not None:
            with st.expander("派往（按位置自动确定）", expanded=True):
                chain = index.lookup(lon, lat)
                render_location(chain)
                persons = [link.person for link in chain.chain if link.person]
                if persons:
                    st.markdown("**责任人**：" + "、".join(md_text(p) for p in dict.fromkeys(persons)))
                for warning in chain.warnings:
                    st.warning(md_text(warning), icon=":material/warning:")
        report_form(lon, lat)


def report_form(lon: float | None, lat: float | None) -> None:
    objects = {int(r.id): f"{r.name}（{r.grid_name or '无网格'}）" for r in data.objects.itertuples()}
    tracks = {
        int(r.id): f"{r.person_name or '巡河轨迹'} {pd.Timestamp(r.started_at).tz_convert(LOCAL_TZ):%Y-%m-%d}"
        if pd.notna(r.started_at)
        else f"巡河轨迹 {r.id}"
        for r in data.tracks.itertuples()
    }
    if far := st.session_state.get("inc_far"):  # the last report was refused for distance
        st.error(md_text(far))
    with st.form("inc_report_form"):
        c1, c2 = st.columns(2)
        category = c1.selectbox(
            "类别",
            list(Category),
            index=None,  # no default: a report filed under a preselected category is a wrong report
            format_func=lambda c: c.label,
            placeholder="请选择类别…",
            key="inc_report_category",
        )
        severity = c2.selectbox("严重程度", list(Severity), format_func=lambda c: c.label)
        c3, c4 = st.columns(2)
        source = c3.selectbox("来源", list(IncidentSource), format_func=lambda c: c.label)
        reporter = c4.text_input("上报人", value=actor.display_name if actor else "", max_chars=100)
        contact = st.text_input("上报人联系方式（可不填；只有处置人员查看时可见，每次查看都有记录）", max_chars=100)
        description = st.text_area("事件描述", max_chars=2000, placeholder="发现了什么、在哪里、规模多大")
        photos = zh.file_uploader(
            f"现场照片（每张不超过 {PHOTO_MB} MB）",
            key="inc_report_photos",
            type=PHOTO_TYPES,
            accept_multiple_files=True,
            max_mb=PHOTO_MB,
        )
        c5, c6 = st.columns(2)
        object_id = c5.selectbox(
            "关联监管对象（可选）", list(objects), index=None, format_func=objects.get, placeholder="不关联"
        )
        track_id = c6.selectbox(
            "关联巡河轨迹（可选）", list(tracks), index=None, format_func=tracks.get, placeholder="不关联"
        )
        allow_far = st.checkbox("仍然上报（确认位置属于本辖区）", key="inc_allow_far") if far else False
        submitted = st.form_submit_button("上报", type="primary")
    if not submitted:
        return
    missing = [
        text
        for text, absent in (
            ("在地图上点击事件位置（或输入经纬度）", lon is None or lat is None),
            ("选择事件类别（九类重点对象之一，都不是时选“其他”）", category is None),
        )
        if absent
    ]
    if missing or category is None:
        st.error("尚未上报：请先" + "，并".join(missing) + "。")
        return
    try:
        with get_store().session(actor) as s:
            inc = report_incident(
                s,
                lon=lon,
                lat=lat,
                category=category.value,
                severity=severity.value,
                source=source.value,
                reporter=reporter,
                reporter_contact=contact,
                description=description,
                photos=photos or None,
                object_id=object_id,
                track_id=track_id,
                index=index,
                allow_far=allow_far,
            )
            code, new_id, routing = inc.code, inc.id, inc.routing
    except TooFarError as exc:
        st.session_state["inc_far"] = exc.message_zh  # shown above the form with the confirm box
        st.rerun()
    except RiverGridError as exc:
        show_error(exc)
        return
    st.session_state.pop("inc_far", None)
    notes = [f"已上报事件 {code}，派往“{routing.grid_name or '未定网格'}”。"] + [f"提示：{w}" for w in routing.warnings]
    st.session_state[FLASH] = "  \n".join(md_text(n) for n in notes)
    st.session_state[SELECTED] = new_id
    st.session_state[PICK] = new_id
    st.session_state[RESET_POINT] = True
    st.session_state[NEXT_MODE] = MODE_LIST
    st.rerun()


# =============================================================================================
# List, map, export
# =============================================================================================


def filters() -> dict:
    grid_names = {int(r.id): grid_label(r.name, r.level) for r in data.grids.itertuples()}
    c1, c2, c3 = st.columns([2, 2, 2])
    states = c1.multiselect("状态", list(IncidentStatus), format_func=lambda s: s.label, placeholder="全部状态")
    cats = c2.multiselect("类别", list(Category), format_func=lambda c: c.label, placeholder="全部类别")
    grid = c3.selectbox(
        "网格（含下级）", list(grid_names), index=None, format_func=grid_names.get, placeholder="全部网格"
    )
    c4, c5, c6 = st.columns([2, 1, 3], vertical_alignment="bottom")
    period = zh.date_input("上报时间", value=(), where=c4, help="选择起止日期（含两端）")
    overdue = c5.checkbox("只看超期", help="受理或办结已超过期限的在办事件")
    due_soon = c6.checkbox("只看即将到期", help="一个工作日内（紧急事件 2 小时内）到期的在办事件")
    since = until = None
    if isinstance(period, (tuple, list)) and period:
        start: date = period[0]
        end: date = period[1] if len(period) > 1 else period[0]
        since = datetime.combine(start, time(), LOCAL_TZ)
        until = datetime.combine(end + timedelta(days=1), time(), LOCAL_TZ)
    return {
        "status": [s.value for s in states] or None,
        "category": [c.value for c in cats] or None,
        "grid": grid,
        "overdue": True if overdue else None,
        "due_soon": True if due_soon else None,
        "since": since,
        "until": until,
    }


def list_section() -> None:
    f = filters()
    with get_store().session(actor, write=False) as s:  # only the cases of the account's grids
        grid_ids = grid_and_below(s, f["grid"]) if f["grid"] is not None else None
        rows = list_incidents(
            s,
            status=f["status"],
            category=f["category"],
            grid_id=grid_ids,
            overdue=f["overdue"],
            due_soon=f["due_soon"],
            since=f["since"],
            until=f["until"],
        )
        ids = [i.id for i in rows]
        counts = photo_counts(s, ids)
        table = incident_rows(rows, photo_counts=counts)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        overdue_n = sum(r["overdue"] == "是" for r in table)
        st.markdown(f"**共 {len(table)} 件**" + (f"，其中超期 {overdue_n} 件" if overdue_n else ""))
        frame = pd.DataFrame(table, columns=list(COLUMNS))
        shown = ["code", "title", "status", "deadline", "category", "severity", "grid", "reported_at", "photos"]
        st.dataframe(frame[shown].rename(columns=COLUMNS), hide_index=True, height=420, key="inc_table")
        stamp = clock.local_now().strftime("%Y%m%d_%H%M")
        st.download_button(
            "导出 Excel（当前筛选）",
            incidents_excel(table),
            file_name=f"事件清单_{stamp}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            icon=":material/download:",
            disabled=not table,
        )
    with right:
        points = data.incidents[data.incidents["id"].isin(ids)]
        if len(points):
            minx, miny, maxx, maxy = points.total_bounds
            pad = 0.01
            center, zoom = view_for_bounds(
                (minx - pad, miny - pad, maxx + pad, maxy + pad), width_px=520, height_px=460, max_zoom=15
            )
            m = base_map(center=center, zoom=zoom)
            incidents_layer(points, name="筛选出的事件").add_to(m)
        else:
            m = base_map()
        finish_map(m)
        out = st_folium(
            m, key="inc_list_map", height=460, use_container_width=True, returned_objects=["last_object_clicked"]
        )
        st.caption("点击地图上的事件，下方显示其详情。")
        hit = (out or {}).get("last_object_clicked")
        if hit and hit != st.session_state.get(LIST_CLICK) and len(points):
            st.session_state[LIST_CLICK] = hit
            d2 = (points.geometry.x - float(hit["lng"])) ** 2 + (points.geometry.y - float(hit["lat"])) ** 2
            if float(d2.min()) < 1e-12:  # the click's object is one of the dots (not a grid or reach)
                st.session_state[PICK] = int(points["id"].loc[d2.idxmin()])
    if not ids:
        st.info("没有符合条件的事件。")
        return
    labels = {i.id: f"{i.code} {i.title}" for i in rows}
    if "case" in st.query_params:  # a link opens one case (/incidents?case=SJ-2026-012, from 待办); applied once
        wanted = st.query_params.pop("case")
        hit = next((i.id for i in rows if wanted in (i.code, str(i.id))), None)
        if hit is not None:
            st.session_state[PICK] = hit
    if st.session_state.get(PICK) not in labels:
        remembered = st.session_state.get(SELECTED)
        st.session_state[PICK] = remembered if remembered in labels else ids[0]
    picked = st.selectbox("查看事件", list(labels), format_func=labels.get, key=PICK)
    st.session_state[SELECTED] = picked
    detail_section(int(picked))


# =============================================================================================
# One incident
# =============================================================================================


def detail_section(incident_id: int) -> None:
    st.divider()
    try:
        card = incident_card(version, incident_id)
    except RiverGridError as exc:
        show_error(exc)
        return
    left, right = st.columns([1, 1], gap="large")
    with left:
        render_incident(card)
        render_history(card)
    with right:
        if index is None:
            st.warning("还没有绘制边界的网格，无法查询责任链。")
        else:
            try:
                chain = index.lookup_incident(incident_id)
            except RiverGridError as exc:
                show_error(exc)
            else:
                render_location(chain)
                render_chain(chain, signed_in=actor is not None)
        actions_section(incident_id)
        cooperation_section(actor, incident_id, flash_key=FLASH)  # 协办, 延期, 移交移送 (issue 17)
        public_reply_section(actor, incident_id, flash_key=FLASH)  # what the 曝光台 shows


def actions_section(incident_id: int) -> None:
    st.markdown("##### 办理")
    if actor is None or not actor.can("incident.handle"):
        st.caption("工作人员和管理员登录后可在此受理、交办、办结、审核事件；领导账号只读。")
        return
    if st.button("查看上报人联系方式", key=f"inc_contact_{incident_id}", help="每次查看都会记入修改记录"):
        try:
            with get_store().session(actor) as s:
                contact = reveal_reporter_contact(s, incident_id)
        except RiverGridError as exc:
            show_error(exc)
        else:
            st.info(f"上报人联系方式：{md_text(contact) if contact else '未留联系方式'}（本次查看已记入修改记录）")
    with get_store().session() as s:
        try:
            inc = get_incident(s, incident_id)
        except NotFoundError:
            st.warning("该事件已不存在。")
            return
        status = IncidentStatus(inc.status)
        permitted = [a for a in allowed_actions(status) if can_move(s, actor, inc, a)]
        current_version, grid_now = inc.version, inc.grid_id
        grid_names = grid_labels(s)
        persons = person_labels(s)
    seen_key = f"inc_seen_version_{incident_id}"
    expected = st.session_state.get(seen_key, current_version)
    st.session_state[seen_key] = current_version
    if not permitted:
        closed = not status.is_open
        st.caption("该事件已结束。" if closed else "当前状态下，您没有可办理的操作（需由其他网格的工作人员办理）。")
        return
    needs_note = [f"{a.label}须填写{a.note_required}" for a in permitted if a.note_required]
    with st.form(f"inc_move_{incident_id}", clear_on_submit=True):
        note = st.text_area("办理说明", max_chars=2000, help="；".join(needs_note) or None)
        to_grid = to_person = None
        if any(a.code == "assign" for a in permitted):
            c1, c2 = st.columns(2)
            ids = list(grid_names)
            to_grid = c1.selectbox(
                "交办网格", ids, index=ids.index(grid_now) if grid_now in ids else None, format_func=grid_names.get
            )
            to_person = c2.selectbox(
                "交办责任人（可选）", list(persons), index=None, format_func=persons.get, placeholder="不指定"
            )
        receiver, receiver_dept = "", None
        if any(a.code == "transfer" for a in permitted):
            c1, c2 = st.columns(2)
            receiver = c1.text_input("移送接收机关（转执法/移送司法时填写）", max_chars=200)
            depts = department_choices(actor)
            receiver_dept = c2.selectbox(
                "接收的成员单位（可选）", list(depts), index=None, format_func=depts.get, placeholder="不是成员单位"
            )
        photos = zh.file_uploader(
            f"照片（可选，每张不超过 {PHOTO_MB} MB）",
            key=f"inc_move_photos_{incident_id}",
            type=PHOTO_TYPES,
            accept_multiple_files=True,
            max_mb=PHOTO_MB,
        )
        st.caption("可执行的操作：")
        cols = st.columns(min(len(permitted), 4))
        clicked = None
        for n, action in enumerate(permitted):
            kind = "primary" if action.target is not None and n == 0 else "secondary"
            if cols[n % len(cols)].form_submit_button(action.label, type=kind, key=f"inc_do_{action.code}"):
                clicked = action
    if clicked is None:
        return
    try:
        with get_store().session(actor) as s:
            inc = move(
                s,
                incident_id,
                clicked.code,
                note=note,
                to_grid_id=to_grid if clicked.code == "assign" else None,
                to_person_id=to_person if clicked.code == "assign" else None,
                expected_version=expected,
                attachments=photos or None,
                receiver=receiver if clicked.code == "transfer" else "",
                receiver_department_id=receiver_dept if clicked.code == "transfer" else None,
            )
            label, code, new_version = IncidentStatus(inc.status).label, inc.code, inc.version
    except RiverGridError as exc:
        show_error(exc)
        return
    st.session_state[seen_key] = new_version
    st.session_state[FLASH] = f"事件 {md_text(code)}：已{md_text(clicked.label)}，当前状态“{md_text(label)}”。"
    st.rerun()


if mode == MODE_REPORT and may_report:
    report_section()
else:
    list_section()

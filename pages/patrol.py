"""巡河管理: upload a track, patrol coverage and compliance for a period, track summary and playback."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gis import clock
from gis.config import settings
from gis.errors import RiverGridError, TooFarError
from gis.model import LOCAL_TZ
from gis.patrol.rules import parse_period, period_choices
from gis.patrol.track_import import import_track_file
from gis.patrol.tracks import Track, local_text, path_length_m, position_at
from layers.home_map import available_basemaps, home_map
from layers.patrol_map import patrol_legend_html, playback_group
from ui import zh
from ui.map_state import RETURNED_OBJECTS, click_since, parse_output
from ui.patrol import (
    FAR_CONFIRM,
    UPLOAD_TYPES,
    checked_upload,
    compliance_table,
    coverage_table,
    latest_patrol,
    matched_text,
    people_and_grids,
    period_data,
    period_options,
    period_overlays,
    person_of_user,
    saved_upload,
)
from ui.state import current_actor, data_version, get_store, scope_key, show_error
from ui.text import md_text

TRACK_KEY = "patrol_track"  # id of the track shown in the summary and played back
HANDLED_KEY = "patrol_map_handled"  # map key → last click handled
TABLE_TAB_KEY = "patrol_table_tab"  # the tables' open tab
MAP_HEIGHT_PX = 560

cfg = settings()
actor = current_actor()
st.title("巡河管理")
version = data_version()
today = clock.today()


# ---------------------------------------------------------------------------------------------
# Upload (patrol.write only; the store checks the permission again)
# ---------------------------------------------------------------------------------------------


@st.fragment
def upload_panel() -> None:
    persons, grids = people_and_grids(version)
    file = zh.file_uploader(
        "轨迹文件（GPX、KML/KMZ，或含经度、纬度、时间列的 CSV）",
        type=UPLOAD_TYPES,
        key=f"patrol_upload_{st.session_state.get('patrol_uploads', 0)}",
    )
    c1, c2 = st.columns(2)
    ids = [p[0] for p in persons]
    mine = person_of_user(version, actor.user_id if actor is not None else None)
    person = c1.selectbox(
        "巡查人员",
        ids,
        format_func=dict(persons).get,
        index=ids.index(mine) if mine in ids else None,
        placeholder="选择巡查人员…",
        key="patrol_person",
    )
    grid = c2.selectbox(
        "巡查网格",
        [None] + [g[0] for g in grids],
        format_func=lambda g: "按人员岗位自动确定" if g is None else dict(grids)[g],
        key="patrol_grid",
    )
    if file is None:
        st.caption("原始文件随轨迹一并保存。高德/腾讯地图导出的轨迹（GCJ-02 坐标）会被识别并提示纠偏。")
        return
    st.session_state.pop("patrol_flash", None)  # a new file: the last import's confirmation has been read
    data = file.getvalue()
    allow_far = False
    try:
        try:
            check = checked_upload(version, data, file.name, None)
        except TooFarError as far:  # far from the top-level grid: the user may confirm
            show_error(far)
            if not st.checkbox(FAR_CONFIRM, key=f"patrol_allow_far_{st.session_state.get('patrol_uploads', 0)}"):
                st.caption("文件未导入，数据库没有任何改动。")
                return
            allow_far = True
            check = checked_upload(version, data, file.name, None, True)
    except RiverGridError as exc:
        show_error(exc)
        st.caption("文件未导入，数据库没有任何改动。")
        return
    convert = None
    if check.suggested_from_crs:
        st.warning(check.warnings[0])
        if st.checkbox(f"按 {check.suggested_from_crs.upper()} 纠偏后导入（推荐）", value=True, key="patrol_convert"):
            convert = check.suggested_from_crs
            try:
                check = checked_upload(version, data, file.name, convert, allow_far)
            except RiverGridError as exc:
                show_error(exc)
                return
    rows = [r.to_dict() for r in check.results]
    st.dataframe(
        pd.DataFrame(
            {
                "轨迹": [r["name"] or check.source_name for r in rows],
                "开始（北京时间）": [r["start_local"] for r in rows],
                "历时（分钟）": [round(r["duration_s"] / 60, 1) for r in rows],
                "长度（公里）": [round(r["length_m"] / 1000, 2) for r in rows],
                "沿河（公里）": [round(r["river_length_m"] / 1000, 2) for r in rows],
                "点数（保留/读入）": [f"{r['points_kept']}/{r['points_in']}" for r in rows],
                "疑似问题": ["、".join(f["label"] for f in r["flags"]) or "无" for r in rows],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    for w in check.warnings[1 if check.suggested_from_crs else 0 :]:
        st.caption(w)
    if st.button(
        "导入",
        type="primary",
        disabled=person is None,
        key="patrol_import",
        help=None if person is not None else "请先选择巡查人员",
    ):
        try:
            with get_store().session(actor) as s, saved_upload(data, file.name) as path:
                done = import_track_file(s, path, person=person, grid=grid, from_crs=convert, allow_far=allow_far)
        except RiverGridError as exc:
            show_error(exc)
            st.caption("文件未导入，数据库没有任何改动。")
            return
        st.session_state[TRACK_KEY] = done.ids[0]
        st.session_state["patrol_uploads"] = st.session_state.get("patrol_uploads", 0) + 1  # empty the uploader
        st.session_state["patrol_flash"] = (
            f"已导入 {len(done.ids)} 条轨迹（{done.person}" + (f"，{done.grid}" if done.grid else "") + "）。"
            "导错了可由系统管理员在“修改记录”中整批撤销这次导入"
        )
        st.rerun(scope="app")


if actor is not None and actor.can("patrol.write"):
    with st.expander("上传巡河轨迹", expanded=False, icon=":material/upload_file:"):
        upload_panel()
if flash := st.session_state.get("patrol_flash"):  # stays until the next file is chosen: a rerun by the new
    st.success(flash)  # map (it reports its first view) must not wipe the confirmation of the import

# ---------------------------------------------------------------------------------------------
# Period and its data
# ---------------------------------------------------------------------------------------------

visible = scope_key()  # an account bound to a grid: its grids' people and tracks
latest = latest_patrol(version, today, visible)
choices, opening = period_options(period_choices(today), latest)
top = st.columns([2, 5])
label = top[0].selectbox(
    "考核时段",
    choices,
    index=opening,
    accept_new_options=True,
    key="patrol_period",
    help="可输入：2026、2026-Q4、2026-11、2026-11-上旬/中旬/下旬、2026-W45、2026-11-04、"
    "2026-11-01..2026-11-15（北京时间）",
)
try:
    period = parse_period(label or choices[0])
    data = period_data(version, period.label, visible)
    overlays = period_overlays(version, period.label, visible)
except RiverGridError as exc:
    show_error(exc)
    st.stop()
report = data.report
p = period.to_dict()
inside = data.inside
counted = sum(t["counted"] for t in inside)
cov_len = sum(c["length_m"] for c in report.coverage)
cov_done = sum(c["covered_m"] for c in report.coverage)
this_month = f"{today.year}-{today.month:02d}"
top[1].caption(
    f"{p['start']} 至 {p['end']}（北京时间）"
    + (
        f"。本月（{this_month}）还没有巡河轨迹，默认显示有轨迹的最近一个月 {latest.month}；可在左侧改选时段"
        if latest.month is not None and latest.month != this_month and period.label == latest.month
        else ""
    )
)
m = st.columns(4)
m[0].metric("巡河轨迹", f"{len(inside)} 条", help="本时段开始的轨迹")
m[1].metric("有效巡查", f"{counted} 次", help="历时、沿河里程达标且无疑似虚假巡查标记")
m[2].metric(
    "河段巡查覆盖率",
    f"{cov_done / cov_len:.1%}" if cov_len else "—",
    help="本时段至少巡查过一次的河段长度占河段总长的比例",
)
m[3].metric("疑似问题轨迹", f"{sum(bool(t['flags']) for t in inside)} 条")

# ---------------------------------------------------------------------------------------------
# Map, summary, playback
# ---------------------------------------------------------------------------------------------

if not inside:  # an empty period explains itself (and the all-red map below)
    st.info(
        f"本时段（{period.label}）没有开始的巡河轨迹，所以下图中河段全部显示为未巡查（红色），完成率为 0。"
        + (
            f"最近一次巡河在 {latest.day}（可选择时段 {latest.month}）。"
            if latest.day
            else "还没有任何巡河轨迹：巡查员上传轨迹后，这里显示巡查覆盖与考核。"
        ),
        icon=":material/info:",
    )

tracks_by_id = {t["track_id"]: t for t in inside}
ids = [t for t in data.tracks["id"].tolist() if t in tracks_by_id]
if st.session_state.get(TRACK_KEY) not in ids:
    st.session_state[TRACK_KEY] = ids[0] if ids else None

left, right = st.columns([7, 3], gap="medium")
map_slot = left.container()
playback = left.container()

fg = None
with playback:
    st.markdown("**轨迹回放**")
    if not ids:
        st.caption("本时段没有巡河轨迹。")
    else:

        def track_label(i: int) -> str:
            t = tracks_by_id[i]
            return f"{t['start_local'][:16]} {t['person'] or '-'} · {t['name'] or ''}"

        chosen = st.selectbox("回放的轨迹", ids, format_func=track_label, key=TRACK_KEY)
        row = data.tracks[data.tracks["id"] == chosen].iloc[0]
        coords = np.asarray(row.geometry.coords)
        track = Track(lon=coords[:, 0], lat=coords[:, 1], times=list(row["times"]))
        t0, t1 = (
            pd.Timestamp(track.times[0]).tz_localize("UTC").tz_convert(LOCAL_TZ).to_pydatetime(),
            pd.Timestamp(track.times[-1]).tz_localize("UTC").tz_convert(LOCAL_TZ).to_pydatetime(),
        )
        span = max((t1 - t0).total_seconds(), 1.0)
        at = st.slider(
            "回放时间（北京时间）",
            min_value=t0.replace(tzinfo=None),
            max_value=t1.replace(tzinfo=None),
            value=t0.replace(tzinfo=None),
            step=timedelta(seconds=max(1, int(span // 200))),
            format="HH:mm:ss",
            key=f"patrol_play_{chosen}",
        )
        when = pd.Timestamp(at).tz_localize(LOCAL_TZ).tz_convert("UTC").tz_localize(None).to_datetime64()
        lon, lat, k = position_at(track, when)
        path = [*map(tuple, coords[:k]), (lon, lat)]
        walked = path_length_m(path)
        st.caption(
            f"{local_text(when)}：已走约 {walked / 1000:.2f} 公里，用时 {(at - t0.replace(tzinfo=None))}"
            f"，已记录 {k}/{len(track)} 个点"
        )
        fg = playback_group(path, label=f"{tracks_by_id[chosen]['person'] or ''} {local_text(when)}")

with map_slot:
    choices_b = available_basemaps(cfg.tianditu_key)
    basemap = cfg.basemap if cfg.basemap in choices_b else choices_b[0]
    b = data.bounds or (126.8, 41.7, 127.0, 41.9)
    try:
        fmap = home_map(
            overlays,
            basemap=basemap,
            tianditu_key=cfg.tianditu_key,
            center=((b[1] + b[3]) / 2, (b[0] + b[2]) / 2),
            zoom=11,
            legend=patrol_legend_html(),
            fit=b,
        )
    except RiverGridError as exc:
        show_error(exc)
        st.stop()
    map_key = f"patrol_map_{period.label}_{version}"
    out = st_folium(
        fmap,
        key=map_key,
        height=MAP_HEIGHT_PX,
        use_container_width=True,
        returned_objects=RETURNED_OBJECTS,
        feature_group_to_add=fg,
    )
    st.caption("绿色为本时段巡查过的河段区段，红色为未巡查区段；点击轨迹查看摘要，点击河段查看覆盖情况。")

handled = st.session_state.setdefault(HANDLED_KEY, {})
output = parse_output(out)
click = click_since(output, handled.get(map_key))
handled[map_key] = output.token
if click is not None and click.kind == "track" and click.ref_id in tracks_by_id:
    if st.session_state.get(TRACK_KEY) != click.ref_id:
        st.session_state[TRACK_KEY] = click.ref_id
        st.session_state.pop("patrol_reach", None)
        st.rerun()
elif click is not None and click.kind == "reach":
    st.session_state["patrol_reach"] = click.ref_id

with right, st.container(height=MAP_HEIGHT_PX + 200, border=False, key="patrol_panel"):
    reach_id = st.session_state.get("patrol_reach")
    cov = next((c for c in report.coverage if c["reach_id"] == reach_id), None)
    if cov is not None:
        st.markdown(f"#### {md_text(cov['reach'])}")
        st.write(
            f"本时段覆盖率 **{cov['share']:.0%}**（已巡 {cov['covered_m'] / 1000:.2f} / "
            f"{cov['length_m'] / 1000:.2f} 公里）"
        )
        if cov["never_patrolled"]:
            st.write("从未巡查的区段：")
            st.markdown(
                "\n".join(f"- {s['stations']}（{s['length_m'] / 1000:.2f} 公里）" for s in cov["never_patrolled"])
            )
        if st.button("返回轨迹摘要", key="patrol_reach_close"):
            st.session_state.pop("patrol_reach", None)
            st.rerun()
    elif (sel := tracks_by_id.get(st.session_state.get(TRACK_KEY))) is not None:
        st.markdown(f"#### 巡河轨迹：{md_text(sel['person']) or '未指定人员'}")
        st.caption(md_text(sel["name"]))
        st.write(f"所属网格：{md_text(sel['grid']) or '—'}")
        st.write(f"开始：{sel['start_local']}（北京时间）")
        st.write(
            f"历时 {sel['duration_s'] / 60:.1f} 分钟，全长 {sel['length_m'] / 1000:.2f} 公里，"
            f"沿河 {sel['river_length_m'] / 1000:.2f} 公里"
        )
        if sel["counted"]:
            st.success("计入考核（有效巡查）")
        else:
            st.warning("不计入考核：" + md_text("；".join(sel["not_counted_because"])))
        for f in sel["flags"]:
            st.error(f"{md_text(f['label'])}：{md_text(f.get('message', ''))}")
        lines = matched_text(sel["matched"], data.stations)
        st.write("巡查的河段：")
        st.markdown("\n".join(f"- {x}" for x in lines) if lines else "（未沿任何河段）")
    else:
        st.info("点击地图上的轨迹查看摘要，或点击河段查看本时段的巡查覆盖。")

# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------

# Only the open tab is drawn (a switch reruns the page): four data grids cost the browser more
# than one, and the page opens faster.
by_person, by_grid, by_reach, track_list = st.tabs(
    ["按人员", "按网格", "河段覆盖", "轨迹列表"], key=TABLE_TAB_KEY, on_change="rerun"
)
if by_person.open:
    with by_person:
        st.dataframe(compliance_table(report.persons, "人员", "person"), hide_index=True, width="stretch")
if by_grid.open:
    with by_grid:
        st.dataframe(compliance_table(report.grids, "网格", "grid"), hide_index=True, width="stretch")
if by_reach.open:
    with by_reach:
        st.dataframe(coverage_table(report), hide_index=True, width="stretch")
if track_list.open:
    with track_list:
        st.dataframe(
            pd.DataFrame(
                {
                    "开始（北京时间）": [t["start_local"] for t in inside],
                    "人员": [t["person"] or "" for t in inside],
                    "网格": [t["grid"] or "" for t in inside],
                    "历时（分钟）": [round(t["duration_s"] / 60, 1) for t in inside],
                    "沿河（公里）": [round(t["river_length_m"] / 1000, 2) for t in inside],
                    "计入考核": ["是" if t["counted"] else "否" for t in inside],
                    "原因/疑似问题": ["；".join(t["not_counted_because"]) for t in inside],
                }
            ),
            hide_index=True,
            width="stretch",
        )
for w in report.warnings:
    st.caption(f"提示：{md_text(w)}")

"""Parts of the 网格管理 page (pages/grids.py): cached reads, the session's incremental check,
safe text output, and the tabs under the map. Streamlit code only; the logic is in gis/."""

from __future__ import annotations

import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from gis import clock, io
from gis.auth import Actor
from gis.checks.report import IncrementalCheck, check_layers, store_layers
from gis.errors import RiverGridError, TooFarError
from gis.formatting import format_area
from gis.geometry.crs import metric_crs_for
from gis.grids import versions
from gis.grids.fit import are_neighbours, merged_boundary
from gis.grids.posts import add_post, end_post, grid_posts
from gis.importing import import_file
from gis.io.writers import write_layer
from gis.limits import check_size
from gis.model import LOCAL_TZ, STORE_CRS, GridLevel, GridRole
from gis.overview import MapData
from gis.store.schema import Grid, Person, not_deleted
from layers._common import esc
from layers.editing import merge_overlays, merge_preview_svg
from ui import zh
from ui.state import data_version, get_store, show_error
from ui.text import md_text

FAR_CONFIRM = "仍然导入（确认这些要素属于本辖区）"
"""The box shown after an import was refused for distance (:class:`gis.errors.TooFarError`)."""

GAP_RULES = ("uncovered", "overlap", "gap_in_parent", "overlap_siblings", "outside_parent")
"""The findings listed as remaining gaps: uncovered and doubly claimed stretches, gaps, overlaps."""

S = st.session_state


@dataclass
class Screen:
    """What the page shows: the selected grid (``selected`` is its row of :func:`grid_rows`),
    every grid, the versions the screen was built from, the user and what they may do."""

    selected_id: int
    selected: pd.Series
    rows: pd.DataFrame
    seen: dict
    actor: Actor | None
    can_edit: bool
    can_org: bool
    shown_version: Any
    data: MapData


# ---------------------------------------------------------------------------------------------
# Reads (cached by data version)
# ---------------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=4)
def grid_rows(version: int) -> pd.DataFrame:
    """Every live grid (drawn or not) with its version, ordered as a tree."""
    with get_store().session() as s:
        grids = s.query(Grid).filter(not_deleted(Grid)).all()
        rows = [
            {
                "id": g.id,
                "name": g.name,
                "level": g.level,
                "parent_id": g.parent_id,
                "version": g.version,
                "drawn": g.geom is not None,
                "responsible_body": g.responsible_body or "",
            }
            for g in grids
        ]
    by_parent: dict[Any, list[dict]] = {}
    ids = {r["id"] for r in rows}
    for r in rows:
        by_parent.setdefault(r["parent_id"] if r["parent_id"] in ids else None, []).append(r)
    ordered: list[dict] = []

    def walk(parent: Any, depth: int) -> None:
        for r in sorted(by_parent.get(parent, []), key=lambda r: (GridLevel(r["level"]).rank, r["name"], r["id"])):
            ordered.append({**r, "depth": depth})
            walk(r["id"], depth + 1)

    walk(None, 0)
    return pd.DataFrame(
        ordered, columns=["id", "name", "level", "parent_id", "version", "drawn", "responsible_body", "depth"]
    )


def current_check(version: int) -> IncrementalCheck | None:
    """The 盲区检查 (village level) of the live data, kept in the session and updated
    incrementally after this user's saves."""
    kept = S.get("ge_check")
    if kept is not None and kept[0] == version:
        return kept[1]
    try:
        with get_store().session() as s:
            reaches, grids = store_layers(s)
        check = IncrementalCheck(reaches, grids, level="village")
    except RiverGridError as exc:
        S["ge_check_error"] = exc.message_zh
        return None
    S["ge_check"] = (version, check)
    S.pop("ge_check_error", None)
    return check


def after_save(grid_id: int | None, geometry: Any, *, incremental: bool, message: str) -> None:
    """Refresh the check (incrementally for a one-grid save) and leave a message for the rerun."""
    kept = S.get("ge_check")
    started = time.perf_counter()
    if incremental and kept is not None and grid_id is not None:
        try:
            kept[1].update_grid(grid_id, geometry)
            S["ge_check"] = (data_version(), kept[1])
            message += f"；盲区检查已增量重算（{(time.perf_counter() - started) * 1000:.0f} 毫秒）"
        except RiverGridError:
            S.pop("ge_check", None)
    else:
        S.pop("ge_check", None)
    S["ge_flash"] = message
    S.pop("ge_draft", None)
    S.pop("ge_conflict", None)
    S["ge_token"] = uuid.uuid4().hex[:8]


def text_list(items: list[str]) -> None:
    """A bullet list of user-derived text as escaped HTML (Markdown would autolink URLs in names)."""
    if items:
        st.html(
            "<ul style='margin:0 0 0.5rem 0;padding-left:1.2rem;font-size:0.95rem'>"
            + "".join(f"<li style='margin:0.15rem 0'>{esc(item)}</li>" for item in items)
            + "</ul>"
        )


def area_short(area_m2: float) -> str:
    """An area for a metric tile: hectares from one hectare on, square metres below."""
    return f"{area_m2 / 10_000:,.2f} 公顷" if area_m2 >= 10_000 else f"{area_m2:,.0f} m²"


def label_of(row: pd.Series) -> str:
    mark = "" if row["drawn"] else "（未绘制）"
    return f"{'　' * int(row['depth'])}{'└ ' if row['depth'] else ''}{row['name']}{mark}"


def attributes_tab(c: Screen) -> None:
    """属性与五定: the attributes form (saved as a new version)."""
    selected_id, selected, rows, seen, actor, can_edit = c.selected_id, c.selected, c.rows, c.seen, c.actor, c.can_edit
    with get_store().session() as s:
        g = s.get(Grid, int(selected_id))
        attrs = {k: getattr(g, k) for k in versions.EDITABLE_FIELDS}
    with st.form("ge_attrs"):
        c1, c2, c3 = st.columns(3)
        name = c1.text_input("名称", value=attrs["name"])
        levels = [lv.value for lv in GridLevel]
        level = c2.selectbox(
            "层级", levels, index=levels.index(attrs["level"]), format_func=lambda v: GridLevel(v).label
        )
        parent_opts = [None] + [i for i in rows["id"].tolist() if i != selected_id]
        parent = c3.selectbox(
            "上级网格",
            parent_opts,
            index=parent_opts.index(attrs["parent_id"]) if attrs["parent_id"] in parent_opts else 0,
            format_func=lambda i: "（无）" if i is None else rows.set_index("id").at[i, "name"],
        )
        body = st.text_input("责任主体", value=attrs["responsible_body"] or "")
        area_desc = st.text_area("定区域", value=attrs["area_desc"] or "")
        personnel = st.text_area("定人员", value=attrs["personnel_desc"] or "")
        duties = st.text_area("定职责", value=attrs["duties"] or "")
        tasks = st.text_area("定任务", value=attrs["tasks"] or "")
        rewards = st.text_area("定奖惩", value=attrs["rewards"] or "")
        c4, c5 = st.columns(2)
        hotline = c4.text_input("监督电话", value=attrs["hotline"] or "")
        illustrative = c5.checkbox("边界为示意范围", value=bool(attrs["illustrative"]))
        submitted = st.form_submit_button("保存属性", type="primary", disabled=not can_edit)
    if submitted and can_edit:
        new = {
            "name": name,
            "level": level,
            "parent_id": parent,
            "responsible_body": body,
            "area_desc": area_desc,
            "personnel_desc": personnel,
            "duties": duties,
            "tasks": tasks,
            "rewards": rewards,
            "hotline": hotline,
            "illustrative": illustrative,
        }
        try:
            with get_store().session(actor) as s:
                result = versions.save_grid(
                    s,
                    int(selected_id),
                    geometry=None,
                    attributes=new,
                    expected_version=seen.get(selected_id, int(selected["version"])),
                )
        except RiverGridError as exc:
            show_error(exc)
        else:
            seen[selected_id] = result.version
            after_save(
                None,
                None,
                incremental=False,
                message=f"已保存“{result.name}”的属性" if result.changed else "属性没有变化",
            )
            st.rerun()


def posts_tab(c: Screen) -> None:
    """人员任职: posts with validity dates; adding and ending them needs ``org.write``."""
    selected_id, actor, can_org = c.selected_id, c.actor, c.can_org
    with get_store().session() as s:
        posts = grid_posts(s, int(selected_id))
        people = {p.id: p.name for p in s.query(Person).order_by(Person.name).all()}
    if posts:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "编号": p.id,
                        "职务": p.role_label,
                        "姓名": p.person_name,
                        "开始": p.valid_from,
                        "结束": p.valid_to,
                        "在任": p.current,
                    }
                    for p in posts
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.info("该网格还没有任职人员。")
    if can_org:
        with st.form("ge_add_post"):
            c1, c2, c3, c4 = st.columns(4)
            person_id = c1.selectbox("人员", list(people), format_func=people.get)
            role = c2.selectbox("职务", [r.value for r in GridRole], format_func=lambda v: GridRole(v).label)
            valid_from = zh.date_input("开始日期", value=clock.today(), where=c3)
            valid_to = zh.date_input("结束日期（可空）", value=None, where=c4)
            if st.form_submit_button("添加任职"):
                try:
                    with get_store().session(actor) as s:
                        add_post(s, int(selected_id), int(person_id), role, valid_from=valid_from, valid_to=valid_to)
                except RiverGridError as exc:
                    show_error(exc)
                else:
                    S["ge_flash"] = f"已添加任职：{people[person_id]}（{GridRole(role).label}）"
                    st.rerun()
        current = [p for p in posts if p.valid_to is None]
        if current:
            with st.form("ge_end_post"):
                c1, c2 = st.columns(2)
                post_id = c1.selectbox(
                    "结束任职",
                    [p.id for p in current],
                    format_func=lambda i: next(f"{p.person_name}（{p.role_label}）" for p in current if p.id == i),
                )
                end = zh.date_input("最后在任日期", value=clock.today(), where=c2)
                if st.form_submit_button("结束任职"):
                    try:
                        with get_store().session(actor) as s:
                            end_post(s, int(post_id), end)
                    except RiverGridError as exc:
                        show_error(exc)
                    else:
                        S["ge_flash"] = "已结束任职（记录保留；结束错了可由系统管理员在“修改记录”中撤销）"
                        st.rerun()


UNDO_HINT = (
    "可以撤销：系统管理员在“修改记录”页选中这次修改的任一条，勾选“撤销与之同一批次的全部修改”后撤销，"
    "或在服务器上运行 `gis undo --batch 批次`（批次见修改记录）"
)
"""How to undo a destructive action of this page (shown before and after it)."""


@dataclass(frozen=True)
class MergePlan:
    """What merging ``other`` into ``keep`` would do, for the preview (nothing written)."""

    keep_name: str
    other_name: str
    keep_geom: Any
    other_geom: Any
    merged: Any
    areas_m2: tuple[float, float, float]  # kept, deleted, merged
    posts: list[str]  # current posts of the deleted grid
    children: list[str]  # child grids that move to the kept grid
    incidents: int  # incidents and tracks recorded under the deleted grid
    tracks: int
    refusal: str | None  # why the merge cannot be done (not neighbours), else None


def merge_plan(c: Screen, other_id: int) -> MergePlan:
    """Preview of merging grid ``other_id`` into the selected grid (pure reads)."""
    keep_id = c.selected_id
    with get_store().session() as s:
        keep_geom = versions.grid_geometry(s, keep_id)
        other_geom = versions.grid_geometry(s, other_id)
        posts = [f"{p.person_name}（{p.role_label}）" for p in grid_posts(s, other_id) if p.current]
    names = c.rows.set_index("id")["name"]
    children = [str(r["name"]) for _, r in c.rows.iterrows() if r["parent_id"] == other_id]
    refusal = None
    merged = None
    if keep_geom is None or other_geom is None:
        refusal = "两个网格都需要有边界才能合并"
    elif not are_neighbours(keep_geom, other_geom):
        refusal = f"“{names[keep_id]}”与“{names[other_id]}”不相邻（没有共同边界），不能合并"
    else:
        merged = merged_boundary(keep_geom, other_geom)
    shapes = [g for g in (keep_geom, other_geom, merged) if g is not None]
    metric = metric_crs_for(tuple(gpd.GeoSeries(shapes, crs=STORE_CRS).total_bounds)) if shapes else None
    areas = (
        tuple(float(a) for a in gpd.GeoSeries([keep_geom, other_geom, merged], crs=STORE_CRS).to_crs(metric).area)
        if metric is not None
        else (0.0, 0.0, 0.0)
    )
    grid_ids = lambda frame: frame["grid_id"] if len(frame) and "grid_id" in frame else pd.Series(dtype=float)  # noqa: E731
    return MergePlan(
        keep_name=str(names[keep_id]),
        other_name=str(names[other_id]),
        keep_geom=keep_geom,
        other_geom=other_geom,
        merged=merged,
        areas_m2=(areas[0] or 0.0, areas[1] or 0.0, areas[2] or 0.0),
        posts=posts,
        children=children,
        incidents=int((grid_ids(c.data.incidents) == other_id).sum()),
        tracks=int((grid_ids(c.data.tracks) == other_id).sum()),
        refusal=refusal,
    )


def merge_overlay_for(c: Screen) -> list[dict]:
    """The merge preview drawn on the editor map while a partner is chosen (else nothing)."""
    other = S.get("ge_merge_other")
    if not c.can_edit or other is None or other == c.selected_id:
        return []
    try:
        plan = merge_plan(c, int(other))
    except (RiverGridError, KeyError):
        return []
    if plan.merged is None:
        return []
    return merge_overlays(plan.keep_geom, plan.other_geom, plan.merged, names=(plan.keep_name, plan.other_name))


def merge_delete_tab(c: Screen) -> None:
    """合并与删除: merge with a neighbouring sibling after a preview and an explicit confirmation,
    soft delete with confirmation, restore; each says how to undo it."""
    selected_id, selected, seen, actor, can_edit = c.selected_id, c.selected, c.seen, c.actor, c.can_edit
    if not can_edit:
        st.info("合并、删除与恢复网格需要工作人员或管理员账号。")
        return
    with get_store().session() as s:
        sibs = [(g.id, g.name, g.version) for g in versions.siblings(s, int(selected_id))]
        gone = [(g.id, g.name, g.version, g.deleted_at) for g in versions.deleted_grids(s)]
    st.markdown(
        f"**合并相邻网格**：所选网格“{md_text(selected['name'])}”保留（编号、人员、属性不变），"
        "选中的相邻网格并入后被删除。合并前先看预览，再明确确认。"
    )
    if not sibs:
        st.caption("没有同一上级下的同级网格可合并。")
    else:
        ids = [x[0] for x in sibs]
        if S.get("ge_merge_other") not in ids:
            S.pop("ge_merge_other", None)  # a partner of another grid: choose again
        other = st.selectbox(
            "并入的相邻网格（该网格将被删除）",
            ids,
            index=None,  # never preselected: the user names the grid that will be deleted
            format_func=lambda i: next(n for j, n, _ in sibs if j == i),
            placeholder="选择要并入并删除的网格…",
            key="ge_merge_other",
        )
        if other is None:
            st.caption("选择一个相邻网格后，这里显示合并后的范围和将被删除的内容，确认后才会合并。")
        else:
            merge_section(c, int(other), next(v for j, _, v in sibs if j == other))
    st.divider()
    st.markdown("**删除网格**（软删除：保留全部历史，可在下方恢复，或在“修改记录”中撤销）")
    sure = st.checkbox(f"确认删除网格“{selected['name']}”", key="ge_delete_sure")
    if st.button("删除", disabled=not sure, key="ge_delete") and sure:
        try:
            with get_store().session(actor) as s:
                versions.delete_grid(
                    s, int(selected_id), expected_version=seen.get(selected_id, int(selected["version"]))
                )
        except RiverGridError as exc:
            show_error(exc)
        else:
            after_save(
                None,
                None,
                incremental=False,
                message=f"已删除网格“{selected['name']}”。可在“合并与删除”页下方的“已删除的网格”中恢复，"
                "或由系统管理员在“修改记录”中撤销。",
            )
            st.rerun()
    if gone:
        st.markdown("**已删除的网格**")
        for gid, gname, gver, when in gone[:20]:
            c1, c2 = st.columns([3, 1])
            c1.markdown(md_text(f"{gname}（删除于 {when.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}）"))
            if c2.button("恢复", key=f"ge_restore_{gid}"):
                try:
                    with get_store().session(actor) as s:
                        versions.restore_grid(s, gid, expected_version=gver)
                except RiverGridError as exc:
                    show_error(exc)
                else:
                    after_save(None, None, incremental=False, message=f"已恢复网格“{gname}”")
                    st.rerun()


def merge_section(c: Screen, other: int, other_version: int) -> None:
    """The preview of one merge, the confirmation and the button."""
    selected_id, selected, seen, actor = c.selected_id, c.selected, c.seen, c.actor
    try:
        plan = merge_plan(c, other)
    except RiverGridError as exc:
        show_error(exc)
        return
    if plan.refusal is not None:
        st.warning(md_text(plan.refusal))
        return
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.html(merge_preview_svg(plan.keep_geom, plan.other_geom, plan.merged))
        st.caption("蓝色：保留的网格；红色：将删除的网格；粗虚线：合并后的边界（地图上同样标出）。")
    with right, st.container(key="ge_merge_preview"):
        keep_a, other_a, merged_a = plan.areas_m2
        st.markdown(
            f"**合并后**：“{md_text(plan.keep_name)}”的面积由 {format_area(keep_a)} 变为 {format_area(merged_a)}。"
        )
        st.markdown("**将删除或改变的内容：**")
        items = [f"网格“{plan.other_name}”（{format_area(other_a)}）被删除（保留历史，可恢复）"]
        items.append(
            f"“{plan.other_name}”的在任人员 {len(plan.posts)} 人不再在任何网格中显示：" + "、".join(plan.posts)
            if plan.posts
            else f"“{plan.other_name}”没有在任人员"
        )
        if plan.children:
            items.append(f"下级网格 {len(plan.children)} 个改由“{plan.keep_name}”管辖：" + "、".join(plan.children))
        if plan.incidents or plan.tracks:
            items.append(
                f"记在“{plan.other_name}”名下的事件 {plan.incidents} 件、巡河轨迹 {plan.tracks} 条保持原样"
                "（按原网格统计）"
            )
        text_list(items)
    name = st.text_input("合并后的名称", value=plan.keep_name, key=f"ge_merge_name_{other}")
    st.caption(UNDO_HINT + "。")
    sure = st.checkbox(
        f"我已看过预览，确认把“{plan.other_name}”并入“{plan.keep_name}”并删除“{plan.other_name}”",
        key=f"ge_merge_sure_{other}",
    )
    if st.button("确认合并", type="primary", disabled=not sure, key="ge_merge") and sure:
        try:
            with get_store().session(actor) as s:
                result = versions.merge_grids(
                    s,
                    int(selected_id),
                    int(other),
                    expected_versions=(seen.get(selected_id, int(selected["version"])), other_version),
                    name=name,
                )
        except RiverGridError as exc:
            show_error(exc)
        else:
            after_save(
                None,
                None,
                incremental=False,
                message=f"已将“{plan.other_name}”并入“{result.name}”，“{plan.other_name}”已删除。{UNDO_HINT}。",
            )
            st.rerun()


def history_tab(c: Screen) -> None:
    """历史版本: the versions of the grid, one shown on the map, any restorable."""
    selected_id, selected, seen, actor, can_edit = c.selected_id, c.selected, c.seen, c.actor, c.can_edit
    shown_version = c.shown_version
    with get_store().session() as s:
        history = versions.grid_history(s, int(selected_id))
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "版本": v.version,
                    "名称": v.name,
                    "修改人": v.author_name or v.author or "不详",
                    "时间": v.saved_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if v.saved_at else "不详",
                    "说明": v.note,
                    "当前": v.current,
                    "已删除": v.deleted,
                }
                for v in reversed(history)
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    numbers = [v.version for v in history]
    c1, c2, c3 = st.columns([2, 1, 1])
    pick = c1.selectbox("版本", numbers[::-1], format_func=lambda n: f"第 {n} 版", key="ge_hist_pick")
    if c2.button("在地图上显示", key="ge_hist_show"):
        S["ge_show_version"] = (selected_id, next(v for v in history if v.version == pick))
        st.rerun()
    if shown_version is not None and shown_version[0] == selected_id and c2.button("隐藏", key="ge_hist_hide"):
        S.pop("ge_show_version", None)
        st.rerun()
    if can_edit and c3.button("恢复此版本", key="ge_hist_restore", disabled=pick == history[-1].version):
        try:
            with get_store().session(actor) as s:
                result = versions.restore_version(
                    s, int(selected_id), int(pick), expected_version=seen.get(selected_id, int(selected["version"]))
                )
        except RiverGridError as exc:
            show_error(exc)
        else:
            seen[selected_id] = result.version
            after_save(
                result.grid_id,
                result.geometry,
                incremental=True,
                message=f"已恢复为第 {pick} 版（现为第 {result.version} 版）。原来的各版都保留，可再恢复",
            )
            st.rerun()


def past_check_tab(c: Screen) -> None:
    """按日期检查: the 盲区检查 against the boundaries valid at a past date and time."""
    st.caption("按某一时刻有效的网格边界进行盲区检查（村级）。")
    c1, c2, c3 = st.columns([1, 1, 1])
    day = zh.date_input("日期", value=clock.today(), key="ge_past_day", where=c1)
    at = c2.time_input("时间", value=dtime(23, 59), key="ge_past_time")
    if c3.button("检查", key="ge_past_check"):
        when = datetime.combine(day, at).replace(tzinfo=LOCAL_TZ)
        try:
            with get_store().session() as s:
                reaches, _ = store_layers(s)
                past = versions.grids_as_of(s, when)
            report = check_layers(reaches, past, level="village")
        except RiverGridError as exc:
            show_error(exc)
        else:
            summary = report.summary()
            st.write(
                f"{when:%Y-%m-%d %H:%M} 时有效的网格 {len(past)} 个；覆盖率 {summary['coverage_rate']:.2%}，"
                f"未覆盖 {summary['uncovered_count']} 段（{summary['uncovered_length_m']:,.0f} 米），"
                f"拓扑问题 {summary['topology_count']} 处。"
            )
            past_gaps = report.findings()
            text_list(past_gaps[past_gaps["rule"].isin(GAP_RULES)]["message"].tolist())


def import_export_tab(c: Screen) -> None:
    """导入与导出: export the grids; import boundaries from a file with a field-mapping step."""
    rows, actor, can_edit, data = c.rows, c.actor, c.can_edit, c.data
    st.markdown("**导出网格**")
    c1, c2 = st.columns([1, 1])
    fmt = c1.selectbox("格式", ["gpkg", "geojson", "shp", "kml"], key="ge_export_fmt")
    if c2.button("生成导出文件", key="ge_export"):
        with tempfile.TemporaryDirectory() as tmp:
            path = write_layer(data.grids, Path(tmp) / f"网格.{fmt}", fmt=fmt, layer="grids")
            S["ge_export_file"] = (path.name, path.read_bytes())
    if S.get("ge_export_file"):
        fname, payload = S["ge_export_file"]
        st.download_button(f"下载 {fname}", payload, file_name=fname, key="ge_export_dl")
    if can_edit:
        st.markdown("**从文件导入网格边界**（Shapefile 压缩包、GeoPackage、KML/KMZ、GeoJSON）")
        upload = zh.file_uploader("边界文件", type=["zip", "gpkg", "kml", "kmz", "geojson", "json"], key="ge_upload")
        if upload is not None:
            folder = Path(tempfile.gettempdir()) / f"rivergrid-upload-{S.setdefault('ge_upload_dir', uuid.uuid4().hex)}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / Path(upload.name).name
            try:
                check_size(upload.size, upload.name)  # before anything is written to disk
                path.write_bytes(upload.getvalue())
                layers = io.inspect(path)
                layer = st.selectbox("图层", [li.name for li in layers], key="ge_import_layer")
                frame = io.read_layer(path, layer=layer).gdf
            except RiverGridError as exc:
                show_error(exc)
            else:
                columns = [c for c in frame.columns if c != frame.geometry.name]
                st.caption(f"共 {len(frame)} 个要素；字段：{md_text('、'.join(map(str, columns)))}")
                auto = "（自动识别）"
                fields = {
                    "name": "名称字段",
                    "level": "层级字段",
                    "parent": "上级网格字段",
                    "responsible_body": "责任主体字段",
                }
                mapping = {}
                cols = st.columns(4)
                for (key, text), col in zip(fields.items(), cols, strict=True):
                    chosen = col.selectbox(text, [auto, *columns], key=f"ge_map_{key}")
                    if chosen != auto:
                        mapping[key] = chosen
                c1, c2 = st.columns(2)
                d_level = c1.selectbox(
                    "缺省层级",
                    [lv.value for lv in GridLevel],
                    index=2,
                    format_func=lambda v: GridLevel(v).label,
                    key="ge_import_level",
                )
                d_parent = c2.selectbox(
                    "缺省上级网格",
                    [""] + rows["name"].tolist(),
                    key="ge_import_parent",
                    format_func=lambda n: n or "（无）",
                )
                st.dataframe(frame.drop(columns=frame.geometry.name).head(10), width="stretch")
                # after a refusal for distance (TooFarError) the user may confirm and import again
                far_seen = S.get("ge_far_for") == upload.file_id
                allow_far = bool(st.checkbox(FAR_CONFIRM, key="ge_allow_far")) if far_seen else False
                if st.button("导入", type="primary", key="ge_import"):
                    defaults = {"level": d_level, **({"parent": d_parent} if d_parent else {})}
                    try:
                        with get_store().session(actor) as s:
                            rep = import_file(
                                s, path, "grids", layer=layer, mapping=mapping, defaults=defaults, allow_far=allow_far
                            )
                    except TooFarError as exc:
                        show_error(exc)
                        if not far_seen:
                            S["ge_far_for"] = upload.file_id
                            st.checkbox(FAR_CONFIRM, key="ge_allow_far")
                    except RiverGridError as exc:
                        show_error(exc)
                    else:
                        after_save(
                            None,
                            None,
                            incremental=False,
                            message=f"已导入 {len(rep.ids)} 个网格（可在“修改记录”中整批撤销）",
                        )
                        st.rerun()

"""网格管理: the grid tree, attributes and posts, and the boundary editor (draw, edit vertices,
split, merge, delete/restore, import, export), fitted on save, versioned and conflict-safe.

Everyone who may read sees the grids, their history and the past-date check; the editing tools
are shown only to roles with ``geodata.write`` (posts: ``org.write``). The store enforces both.
"""

from __future__ import annotations

import re
import tempfile
import time
import uuid
from datetime import datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from gis import editing
from gis.checks import IncrementalCheck, check_layers, store_layers
from gis.errors import ConflictError, RiverGridError
from gis.formatting import format_area
from gis.model import LOCAL_TZ, GridLevel, GridRole, local_today
from gis.posts import add_post, end_post, grid_posts
from gis.store.schema import Grid, Person
from layers._common import esc
from layers.editing import (
    bounds_of,
    findings_overlay,
    fit_overlays,
    grids_collection,
    reaches_overlay,
    split_overlays,
    version_overlay,
)
from ui.components.grid_draw import grid_draw
from ui.state import current_actor, data_version, get_store, map_data, show_error

GAP_RULES = ("uncovered", "overlap", "gap_in_parent", "overlap_siblings", "outside_parent")
MODE_LABELS = {"view": "浏览", "draw": "绘制新网格", "edit": "编辑边界顶点", "split": "分割网格"}
S = st.session_state


# ---------------------------------------------------------------------------------------------
# Reads (cached by data version)
# ---------------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=4)
def grid_rows(version: int) -> pd.DataFrame:
    """Every live grid (drawn or not) with its version, ordered as a tree."""
    with get_store().session() as s:
        grids = s.query(Grid).filter(Grid.deleted_at.is_(None)).all()
        rows = [{"id": g.id, "name": g.name, "level": g.level, "parent_id": g.parent_id, "version": g.version,
                 "drawn": g.geom is not None, "responsible_body": g.responsible_body or ""} for g in grids]
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
    return pd.DataFrame(ordered, columns=["id", "name", "level", "parent_id", "version", "drawn", "responsible_body",
                                          "depth"])


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


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:@])")  # ":" and "@": no autolinks either


def md(text: object) -> str:
    """User text made literal for st.markdown/st.success/…: Markdown punctuation escaped, so a
    grid name like ``![x](http://…)`` stays text (no image, no link, no request)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def text_list(items: list[str]) -> None:
    """A bullet list of user-derived text as escaped HTML (Markdown would autolink URLs in names)."""
    if items:
        st.html("<ul style='margin:0 0 0.5rem 0;padding-left:1.2rem;font-size:0.95rem'>"
                + "".join(f"<li style='margin:0.15rem 0'>{esc(item)}</li>" for item in items) + "</ul>")


def label_of(row: pd.Series) -> str:
    mark = "" if row["drawn"] else "（未绘制）"
    return f"{'　' * int(row['depth'])}{'└ ' if row['depth'] else ''}{row['name']}{mark}"


# ---------------------------------------------------------------------------------------------
# Page
# ---------------------------------------------------------------------------------------------

actor = current_actor()
can_edit = actor is not None and actor.can("geodata.write")
can_org = actor is not None and actor.can("org.write")
version_now = data_version()
rows = grid_rows(version_now)
data = map_data(version_now)
S.setdefault("ge_token", "t0")

st.title("网格管理")
st.caption("网格树、属性与“五定”、人员任职；绘制、修改、分割、合并网格边界，保存时自动贴合上级与相邻网格，"
           "每次保存都留有历史版本，可恢复。" + ("" if can_edit else "当前为只读浏览：编辑网格需要工作人员或管理员账号。"))
with st.container():  # always there, so the elements below (e.g. the open tab) keep their place
    if S.get("ge_flash"):
        st.success(md(S.pop("ge_flash")))

left, right = st.columns([1, 2], gap="medium")

# --- tree and selection -------------------------------------------------------------------
with left:
    st.subheader("网格树")
    if rows.empty:
        st.info("还没有网格。")
        selected_id = None
    else:
        ids = rows["id"].tolist()
        if "ge_select_next" in S:
            S["ge_selected"] = S.pop("ge_select_next")
        if S.get("ge_selected") not in ids:
            S["ge_selected"] = next((i for i, lv in zip(ids, rows["level"]) if lv == "village"), ids[0])
        labels = {r["id"]: label_of(r) for _, r in rows.iterrows()}
        selected_id = st.selectbox("选择网格", ids, key="ge_selected", format_func=lambda i: labels[i])
    table = rows.assign(层级=rows["level"].map(lambda v: GridLevel(v).label),
                        名称=[label_of(r) for _, r in rows.iterrows()])
    st.dataframe(table[["名称", "层级", "version"]].rename(columns={"version": "版本"}), hide_index=True,
                 width="stretch", height=min(38 + 35 * len(table), 280))

selected = rows.set_index("id").loc[selected_id] if selected_id is not None else None
seen: dict = S.setdefault("ge_seen", {})
base_version = seen.get(selected_id, int(selected["version"])) if selected is not None else None

# --- map and drawing ------------------------------------------------------------------------
with right:
    mode = "view"
    if can_edit:
        if "ge_mode_next" in S:
            S["ge_mode"] = S.pop("ge_mode_next")
        mode = st.radio("操作", list(MODE_LABELS), format_func=MODE_LABELS.get, horizontal=True, key="ge_mode")
    map_slot = st.container()  # the map is drawn here, above the controls below (which feed its overlays)
    draft = S.get("ge_draft")
    if draft is not None and (draft["mode"] != mode or (mode in ("edit", "split") and draft["target_id"] != selected_id)):
        S.pop("ge_draft", None)
        S.pop("ge_conflict", None)
        draft = None
    check = current_check(version_now)
    overlays: list[dict] = [reaches_overlay(data.reaches)] if len(data.reaches) else []
    if check is not None:
        gaps = check.report.findings()
        gaps = gaps[gaps["rule"].isin(GAP_RULES)].reset_index(drop=True)
        overlays.append(findings_overlay(gaps))
    else:
        gaps = None

    preview: Any = None
    preview_error: RiverGridError | None = None
    fit_on = True
    new_attrs: dict[str, Any] = {}
    if draft is not None and draft.get("geometry") and mode in ("draw", "edit"):
        fit_on = st.checkbox("保存时自动贴合（修复、吸附、裁剪到上级、去除重叠与碎片）", value=True, key="ge_fit_on")
        tol = st.number_input("吸附距离（米）", min_value=0.0, max_value=100.0, value=5.0, step=1.0, key="ge_tol")
        if mode == "draw":
            c1, c2, c3 = st.columns(3)
            level_codes = [lv.value for lv in GridLevel]
            new_level = c2.selectbox("层级", level_codes, index=2, format_func=lambda v: GridLevel(v).label,
                                     key="ge_new_level")
            parents = rows[rows["level"].map(lambda v: GridLevel(v).rank) == GridLevel(new_level).rank - 1]
            parent_ids = parents["id"].tolist()
            new_parent = c3.selectbox("上级网格", parent_ids or [None], key="ge_new_parent",
                                      format_func=lambda i: "（无）" if i is None else rows.set_index("id").at[i, "name"])
            new_name = c1.text_input("网格名称", key="ge_new_name")
            new_attrs = {"name": new_name, "level": new_level, "parent_id": new_parent, "illustrative": True}
        if fit_on:
            try:
                with get_store().session() as s:
                    preview = editing.preview_fit(
                        s, draft["target_id"] if mode == "edit" else None, draft["geometry"],
                        level=new_attrs.get("level"), snap_tolerance_m=float(tol),
                        **({"parent_id": new_attrs.get("parent_id")} if mode == "draw" else {}))
                overlays.extend(fit_overlays(preview))
            except RiverGridError as exc:
                preview_error = exc
    split_preview: Any = None
    if draft is not None and draft.get("geometry") and mode == "split" and selected is not None:
        with get_store().session() as s:
            grid_geom = s.get(Grid, int(selected_id)).geom
        try:
            split_preview = editing.split_parts(grid_geom, draft["geometry"])
            default_names = (str(selected["name"]), f"{selected['name']}（二）")
            overlays.extend(split_overlays(list(split_preview), default_names))
        except RiverGridError as exc:
            preview_error = exc
    shown_version = S.get("ge_show_version")
    if shown_version is not None and shown_version[0] == selected_id:
        overlays.append(version_overlay(shown_version[1]))

    target = int(selected_id) if selected_id is not None and mode in ("edit", "split") else None
    drawn_grids = data.grids
    focus = drawn_grids[drawn_grids["id"] == selected_id].geometry.tolist() if selected_id is not None else []
    bounds = bounds_of(focus) or bounds_of(drawn_grids[drawn_grids["level"] != "county"].geometry.tolist())
    with map_slot:
        drawing = grid_draw(
            grids_collection(drawn_grids[drawn_grids["level"] != "county"], selected_id=selected_id),
            mode=mode, target_id=target, draft=draft["geometry"] if draft else None, overlays=overlays,
            bounds=bounds, view_key=f"{selected_id}", token=S["ge_token"], key="grid_editor_map",
        )
    if drawing is not None and drawing.token == S["ge_token"] and drawing.mode == mode \
            and drawing.seq != S.get("ge_seq", {}).get(drawing.token):
        S.setdefault("ge_seq", {})[drawing.token] = drawing.seq
        if drawing.geometry is None:
            S.pop("ge_draft", None)
        else:
            old = S.get("ge_draft")
            base = old["base_version"] if old and old.get("target_id") == drawing.target_id else base_version
            S["ge_draft"] = {"mode": drawing.mode, "target_id": drawing.target_id, "geometry": drawing.geometry,
                             "base_version": base}
        st.rerun()

    # --- confirming a drawing ------------------------------------------------------------
    if mode != "view" and can_edit:
        if draft is None:
            st.info({"draw": "在地图上单击添加顶点，单击第一个顶点闭合，即可预览并保存新网格。",
                     "edit": "在地图上拖动所选网格的顶点（拖动边中点可增加顶点），即可预览并保存。",
                     "split": "在地图上画一条穿过所选网格的线（两端在网格外），即可预览并分割。"}[mode])
        if preview_error is not None:
            show_error(preview_error)
        if preview is not None:
            m1, m2, m3, m4 = st.columns(4)
            m1.metric("绘制面积", format_area(preview.area_before_m2))
            m2.metric("调整后面积", format_area(preview.area_after_m2))
            m3.metric("增加 / 减少", f"{format_area(preview.added_m2)} / {format_area(preview.removed_m2)}")
            m4.metric("去除的块数", len(preview.dropped_pieces))
            with st.container(key="ge_changes"):
                text_list(preview.changes)
                st.caption("地图上：蓝色为调整后边界，绿色为增加的面积，红色为减少的面积，棕色为去除的部分。")
        conflict = S.get("ge_conflict")
        if conflict:
            st.error(md(conflict))
            if st.button("在最新版本上重新应用我的图形", key="ge_reapply"):
                S["ge_draft"]["base_version"] = int(selected["version"])
                S.pop("ge_conflict", None)
                st.rerun()
        if (draft is not None and draft.get("geometry") and mode in ("draw", "edit") and preview_error is None
                and st.button("确认保存", type="primary", key="ge_save")):
            try:
                with get_store().session(actor) as s:
                    if mode == "draw":
                        result = editing.save_grid(s, None, geometry=draft["geometry"], attributes=new_attrs,
                                                   expected_version=None, fit=fit_on,
                                                   **({"snap_tolerance_m": float(S["ge_tol"])} if fit_on else {}))
                    else:
                        result = editing.save_grid(s, int(selected_id), geometry=draft["geometry"],
                                                   expected_version=draft["base_version"], fit=fit_on,
                                                   **({"snap_tolerance_m": float(S["ge_tol"])} if fit_on else {}))
            except ConflictError as exc:
                S["ge_conflict"] = exc.message_zh
                st.rerun()
            except RiverGridError as exc:
                show_error(exc)
            else:
                seen[result.grid_id] = result.version
                if result.created:
                    S["ge_select_next"] = result.grid_id  # the selectbox exists already in this run
                    S["ge_mode_next"] = "view"
                after_save(result.grid_id, result.geometry, incremental=not result.created,
                           message=f"已保存网格“{result.name}”（第 {result.version} 版）")
                st.rerun()
        if draft is not None and split_preview is not None:
            c1, c2 = st.columns(2)
            name_a = c1.text_input("保留部分（较大）的名称", value=str(selected["name"]), key="ge_split_a")
            name_b = c2.text_input("新网格的名称", value=f"{selected['name']}（二）", key="ge_split_b")
            if st.button("确认分割", type="primary", key="ge_split"):
                try:
                    with get_store().session(actor) as s:
                        kept, new = editing.split_grid(s, int(selected_id), draft["geometry"],
                                                       expected_version=draft["base_version"], names=(name_a, name_b))
                except ConflictError as exc:
                    S["ge_conflict"] = exc.message_zh
                    st.rerun()
                except RiverGridError as exc:
                    show_error(exc)
                else:
                    seen[kept.grid_id] = kept.version
                    S["ge_mode_next"] = "view"
                    after_save(None, None, incremental=False,
                               message=f"已将网格分割为“{kept.name}”和“{new.name}”")
                    st.rerun()

# --- remaining gaps (under the tree; recomputed after every save) -------------------------------
with left, st.container(key="grid_gaps"):
    if gaps is None:
        st.warning(S.get("ge_check_error", "无法进行盲区检查"))
    else:
        uncovered = gaps[gaps["rule"] == "uncovered"]
        st.markdown(f"**剩余盲区（村级）：未覆盖河段 {len(uncovered)} 段，网格问题 {len(gaps) - len(uncovered)} 处**")
        if gaps.empty:
            st.success("没有未覆盖河段、空白区或重叠：横向到边。")
        text_list(gaps["message"].tolist())

if selected is None:
    st.stop()

# --- tabs: attributes, posts, merge/delete, history, past check, import/export -----------------
tabs = st.tabs(["属性与五定", "人员任职", "合并与删除", "历史版本", "按日期检查", "导入与导出"])

with tabs[0]:
    with get_store().session() as s:
        g = s.get(Grid, int(selected_id))
        attrs = {k: getattr(g, k) for k in editing.EDITABLE_FIELDS}
    with st.form("ge_attrs"):
        c1, c2, c3 = st.columns(3)
        name = c1.text_input("名称", value=attrs["name"])
        levels = [lv.value for lv in GridLevel]
        level = c2.selectbox("层级", levels, index=levels.index(attrs["level"]), format_func=lambda v: GridLevel(v).label)
        parent_opts = [None] + [i for i in rows["id"].tolist() if i != selected_id]
        parent = c3.selectbox("上级网格", parent_opts, index=parent_opts.index(attrs["parent_id"])
                              if attrs["parent_id"] in parent_opts else 0,
                              format_func=lambda i: "（无）" if i is None else rows.set_index("id").at[i, "name"])
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
        new = {"name": name, "level": level, "parent_id": parent, "responsible_body": body, "area_desc": area_desc,
               "personnel_desc": personnel, "duties": duties, "tasks": tasks, "rewards": rewards, "hotline": hotline,
               "illustrative": illustrative}
        try:
            with get_store().session(actor) as s:
                result = editing.save_grid(s, int(selected_id), geometry=None, attributes=new,
                                           expected_version=seen.get(selected_id, int(selected["version"])))
        except RiverGridError as exc:
            show_error(exc)
        else:
            seen[selected_id] = result.version
            after_save(None, None, incremental=False,
                       message=f"已保存“{result.name}”的属性" if result.changed else "属性没有变化")
            st.rerun()

with tabs[1]:
    with get_store().session() as s:
        posts = grid_posts(s, int(selected_id))
        people = {p.id: p.name for p in s.query(Person).order_by(Person.name).all()}
    if posts:
        st.dataframe(pd.DataFrame([{"编号": p.id, "职务": p.role_label, "姓名": p.person_name,
                                    "开始": p.valid_from, "结束": p.valid_to, "在任": p.current} for p in posts]),
                     hide_index=True, width="stretch")
    else:
        st.info("该网格还没有任职人员。")
    if can_org:
        with st.form("ge_add_post"):
            c1, c2, c3, c4 = st.columns(4)
            person_id = c1.selectbox("人员", list(people), format_func=people.get)
            role = c2.selectbox("职务", [r.value for r in GridRole], format_func=lambda v: GridRole(v).label)
            valid_from = c3.date_input("开始日期", value=local_today())
            valid_to = c4.date_input("结束日期（可空）", value=None)
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
                post_id = c1.selectbox("结束任职", [p.id for p in current],
                                       format_func=lambda i: next(f"{p.person_name}（{p.role_label}）" for p in current
                                                                  if p.id == i))
                end = c2.date_input("最后在任日期", value=local_today())
                if st.form_submit_button("结束任职"):
                    try:
                        with get_store().session(actor) as s:
                            end_post(s, int(post_id), end)
                    except RiverGridError as exc:
                        show_error(exc)
                    else:
                        S["ge_flash"] = "已结束任职（记录保留，可在修改记录中查看）"
                        st.rerun()

with tabs[2]:
    if not can_edit:
        st.info("合并、删除与恢复网格需要工作人员或管理员账号。")
    else:
        with get_store().session() as s:
            sibs = [(g.id, g.name, g.version) for g in editing.siblings(s, int(selected_id))]
            gone = [(g.id, g.name, g.version, g.deleted_at) for g in editing.deleted_grids(s)]
        st.markdown("**合并相邻网格**：所选网格保留（编号、人员、属性不变），另一个并入后删除。")
        if sibs:
            c1, c2 = st.columns([2, 1])
            other = c1.selectbox("并入的相邻网格", [x[0] for x in sibs],
                                 format_func=lambda i: next(n for j, n, _ in sibs if j == i), key="ge_merge_other")
            if c2.button("合并", key="ge_merge"):
                try:
                    with get_store().session(actor) as s:
                        result = editing.merge_grids(
                            s, int(selected_id), int(other),
                            expected_versions=(seen.get(selected_id, int(selected["version"])),
                                               next(v for j, _, v in sibs if j == other)))
                except RiverGridError as exc:
                    show_error(exc)
                else:
                    after_save(None, None, incremental=False, message=f"已合并为“{result.name}”")
                    st.rerun()
        else:
            st.caption("没有同一上级下的同级网格可合并。")
        st.markdown("**删除网格**（软删除：保留全部历史，可恢复）")
        sure = st.checkbox(f"确认删除网格“{selected['name']}”", key="ge_delete_sure")
        if st.button("删除", disabled=not sure, key="ge_delete"):
            try:
                with get_store().session(actor) as s:
                    editing.delete_grid(s, int(selected_id), expected_version=seen.get(selected_id,
                                                                                      int(selected["version"])))
            except RiverGridError as exc:
                show_error(exc)
            else:
                after_save(None, None, incremental=False, message=f"已删除网格“{selected['name']}”，可在下方恢复")
                st.rerun()
        if gone:
            st.markdown("**已删除的网格**")
            for gid, gname, gver, when in gone[:20]:
                c1, c2 = st.columns([3, 1])
                c1.markdown(md(f"{gname}（删除于 {when.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}）"))
                if c2.button("恢复", key=f"ge_restore_{gid}"):
                    try:
                        with get_store().session(actor) as s:
                            editing.restore_grid(s, gid, expected_version=gver)
                    except RiverGridError as exc:
                        show_error(exc)
                    else:
                        after_save(None, None, incremental=False, message=f"已恢复网格“{gname}”")
                        st.rerun()

with tabs[3]:
    with get_store().session() as s:
        history = editing.grid_history(s, int(selected_id))
    st.dataframe(pd.DataFrame([{
        "版本": v.version, "名称": v.name, "修改人": v.author_name or v.author or "不详",
        "时间": v.saved_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if v.saved_at else "不详",
        "说明": v.note, "当前": v.current, "已删除": v.deleted} for v in reversed(history)]),
        hide_index=True, width="stretch")
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
                result = editing.restore_version(s, int(selected_id), int(pick),
                                                 expected_version=seen.get(selected_id, int(selected["version"])))
        except RiverGridError as exc:
            show_error(exc)
        else:
            seen[selected_id] = result.version
            after_save(result.grid_id, result.geometry, incremental=True,
                       message=f"已恢复为第 {pick} 版（现为第 {result.version} 版）")
            st.rerun()

with tabs[4]:
    st.caption("按某一时刻有效的网格边界进行盲区检查（村级）。")
    c1, c2, c3 = st.columns([1, 1, 1])
    day = c1.date_input("日期", value=local_today(), key="ge_past_day")
    at = c2.time_input("时间", value=dtime(23, 59), key="ge_past_time")
    if c3.button("检查", key="ge_past_check"):
        when = datetime.combine(day, at).replace(tzinfo=LOCAL_TZ)
        try:
            with get_store().session() as s:
                reaches, _ = store_layers(s)
                past = editing.grids_as_of(s, when)
            report = check_layers(reaches, past, level="village")
        except RiverGridError as exc:
            show_error(exc)
        else:
            summary = report.summary()
            st.write(f"{when:%Y-%m-%d %H:%M} 时有效的网格 {len(past)} 个；覆盖率 {summary['coverage_rate']:.2%}，"
                     f"未覆盖 {summary['uncovered_count']} 段（{summary['uncovered_length_m']:,.0f} 米），"
                     f"拓扑问题 {summary['topology_count']} 处。")
            past_gaps = report.findings()
            text_list(past_gaps[past_gaps["rule"].isin(GAP_RULES)]["message"].tolist())

with tabs[5]:
    st.markdown("**导出网格**")
    c1, c2 = st.columns([1, 1])
    fmt = c1.selectbox("格式", ["gpkg", "geojson", "shp", "kml"], key="ge_export_fmt")
    if c2.button("生成导出文件", key="ge_export"):
        from gis.io import write_layer

        with tempfile.TemporaryDirectory() as tmp:
            path = write_layer(data.grids, Path(tmp) / f"网格.{fmt}", fmt=fmt, layer="grids")
            S["ge_export_file"] = (path.name, path.read_bytes())
    if S.get("ge_export_file"):
        fname, payload = S["ge_export_file"]
        st.download_button(f"下载 {fname}", payload, file_name=fname, key="ge_export_dl")
    if can_edit:
        st.markdown("**从文件导入网格边界**（Shapefile 压缩包、GeoPackage、KML/KMZ、GeoJSON）")
        upload = st.file_uploader("选择文件", type=["zip", "gpkg", "kml", "kmz", "geojson", "json"], key="ge_upload")
        if upload is not None:
            from gis import io
            from gis.importing import import_file

            folder = Path(tempfile.gettempdir()) / f"rivergrid-upload-{S.setdefault('ge_upload_dir', uuid.uuid4().hex)}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / Path(upload.name).name
            path.write_bytes(upload.getvalue())
            try:
                layers = io.inspect(path)
                layer = st.selectbox("图层", [li.name for li in layers], key="ge_import_layer")
                frame = io.read_layer(path, layer=layer).gdf
            except RiverGridError as exc:
                show_error(exc)
            else:
                columns = [c for c in frame.columns if c != frame.geometry.name]
                st.caption(f"共 {len(frame)} 个要素；字段：{'、'.join(map(str, columns))}")
                auto = "（自动识别）"
                fields = {"name": "名称字段", "level": "层级字段", "parent": "上级网格字段", "responsible_body": "责任主体字段"}
                mapping = {}
                cols = st.columns(4)
                for (key, text), col in zip(fields.items(), cols, strict=True):
                    chosen = col.selectbox(text, [auto, *columns], key=f"ge_map_{key}")
                    if chosen != auto:
                        mapping[key] = chosen
                c1, c2 = st.columns(2)
                d_level = c1.selectbox("缺省层级", [lv.value for lv in GridLevel], index=2,
                                       format_func=lambda v: GridLevel(v).label, key="ge_import_level")
                d_parent = c2.selectbox("缺省上级网格", [""] + rows["name"].tolist(), key="ge_import_parent",
                                        format_func=lambda n: n or "（无）")
                st.dataframe(frame.drop(columns=frame.geometry.name).head(10), width="stretch")
                if st.button("导入", type="primary", key="ge_import"):
                    defaults = {"level": d_level, **({"parent": d_parent} if d_parent else {})}
                    try:
                        with get_store().session(actor) as s:
                            rep = import_file(s, path, "grids", layer=layer, mapping=mapping, defaults=defaults)
                    except RiverGridError as exc:
                        show_error(exc)
                    else:
                        after_save(None, None, incremental=False,
                                   message=f"已导入 {len(rep.ids)} 个网格（可在“修改记录”中整批撤销）")
                        st.rerun()

# the version this screen showed: a save from it must still find the grid at this version
seen[selected_id] = int(selected["version"])

"""网格管理: the grid tree, attributes and posts, and the boundary editor (draw, edit vertices,
split, merge, delete/restore, import, export), fitted on save, versioned and conflict-safe.

Everyone who may read sees the grids, their history and the past-date check; the editing tools
are shown only to roles with ``geodata.write`` (posts: ``org.write``). The store enforces both.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from gis.errors import ConflictError, RiverGridError
from gis.grids import versions
from gis.grids.fit import split_parts
from gis.model import GridLevel
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
from ui.grid_editor import (
    GAP_RULES,
    UNDO_HINT,
    Screen,
    after_save,
    area_short,
    attributes_tab,
    current_check,
    grid_rows,
    history_tab,
    import_export_tab,
    label_of,
    merge_delete_tab,
    merge_overlay_for,
    past_check_tab,
    posts_tab,
    text_list,
)
from ui.state import current_actor, data_version, get_store, map_data, show_error
from ui.text import md_text

MODE_LABELS = {"view": "浏览", "draw": "绘制新网格", "edit": "编辑边界顶点", "split": "分割网格"}
S = st.session_state

actor = current_actor()
can_edit = actor is not None and actor.can("geodata.write")
can_org = actor is not None and actor.can("org.write")
version_now = data_version()
rows = grid_rows(version_now)
data = map_data(version_now)
S.setdefault("ge_token", "t0")

st.title("网格管理")
st.caption(
    "网格树、属性与“五定”、人员任职；绘制、修改、分割、合并网格边界，保存时自动贴合上级与相邻网格，"
    "每次保存都留有历史版本，可恢复。" + ("" if can_edit else "当前为只读浏览：编辑网格需要工作人员或管理员账号。")
)
with st.container():  # always there, so the elements below (e.g. the open tab) keep their place
    if S.get("ge_flash"):
        st.success(md_text(S.pop("ge_flash")))

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
    table = rows.assign(
        层级=rows["level"].map(lambda v: GridLevel(v).label), 名称=[label_of(r) for _, r in rows.iterrows()]
    )
    st.dataframe(
        table[["名称", "层级", "version"]].rename(columns={"version": "版本"}),
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(table), 280),
    )

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
    if draft is not None and (
        draft["mode"] != mode or (mode in ("edit", "split") and draft["target_id"] != selected_id)
    ):
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
            new_level = c2.selectbox(
                "层级", level_codes, index=2, format_func=lambda v: GridLevel(v).label, key="ge_new_level"
            )
            parents = rows[rows["level"].map(lambda v: GridLevel(v).rank) == GridLevel(new_level).rank - 1]
            parent_ids = parents["id"].tolist()
            new_parent = c3.selectbox(
                "上级网格",
                parent_ids or [None],
                key="ge_new_parent",
                format_func=lambda i: "（无）" if i is None else rows.set_index("id").at[i, "name"],
            )
            new_name = c1.text_input("网格名称", key="ge_new_name")
            new_attrs = {"name": new_name, "level": new_level, "parent_id": new_parent, "illustrative": True}
        if fit_on:
            try:
                with get_store().session() as s:
                    preview = versions.preview_fit(
                        s,
                        draft["target_id"] if mode == "edit" else None,
                        draft["geometry"],
                        level=new_attrs.get("level"),
                        snap_tolerance_m=float(tol),
                        **({"parent_id": new_attrs.get("parent_id")} if mode == "draw" else {}),
                    )
                overlays.extend(fit_overlays(preview))
            except RiverGridError as exc:
                preview_error = exc
    split_preview: Any = None
    if draft is not None and draft.get("geometry") and mode == "split" and selected is not None:
        with get_store().session() as s:
            grid_geom = versions.grid_geometry(s, int(selected_id))
        try:
            split_preview = split_parts(grid_geom, draft["geometry"])
            default_names = (str(selected["name"]), f"{selected['name']}（二）")
            overlays.extend(split_overlays(list(split_preview), default_names))
        except RiverGridError as exc:
            preview_error = exc
    shown_version = S.get("ge_show_version")
    if shown_version is not None and shown_version[0] == selected_id:
        overlays.append(version_overlay(shown_version[1]))
    if mode == "view" and selected is not None:  # a merge partner chosen below: its preview on the map
        overlays.extend(
            merge_overlay_for(
                Screen(int(selected_id), selected, rows, seen, actor, can_edit, can_org, shown_version, data)
            )
        )

    target = int(selected_id) if selected_id is not None and mode in ("edit", "split") else None
    drawn_grids = data.grids
    focus = drawn_grids[drawn_grids["id"] == selected_id].geometry.tolist() if selected_id is not None else []
    bounds = bounds_of(focus) or bounds_of(drawn_grids[drawn_grids["level"] != "county"].geometry.tolist())
    with map_slot:
        drawing = grid_draw(
            grids_collection(drawn_grids[drawn_grids["level"] != "county"], selected_id=selected_id),
            mode=mode,
            target_id=target,
            draft=draft["geometry"] if draft else None,
            overlays=overlays,
            bounds=bounds,
            view_key=f"{selected_id}",
            token=S["ge_token"],
            key="grid_editor_map",
        )
    if (
        drawing is not None
        and drawing.token == S["ge_token"]
        and drawing.mode == mode
        and drawing.seq != S.get("ge_seq", {}).get(drawing.token)
    ):
        S.setdefault("ge_seq", {})[drawing.token] = drawing.seq
        if drawing.geometry is None:
            S.pop("ge_draft", None)
        else:
            old = S.get("ge_draft")
            base = old["base_version"] if old and old.get("target_id") == drawing.target_id else base_version
            S["ge_draft"] = {
                "mode": drawing.mode,
                "target_id": drawing.target_id,
                "geometry": drawing.geometry,
                "base_version": base,
            }
        st.rerun()

    # --- confirming a drawing ------------------------------------------------------------
    if mode != "view" and can_edit:
        if draft is None:
            st.info(
                {
                    "draw": "在地图上单击添加顶点，单击第一个顶点闭合，即可预览并保存新网格。",
                    "edit": "在地图上拖动所选网格的顶点（拖动边中点可增加顶点），即可预览并保存。",
                    "split": "在地图上画一条穿过所选网格的线（两端在网格外），即可预览并分割。",
                }[mode]
            )
        if preview_error is not None:
            show_error(preview_error)
        if preview is not None:
            m1, m2, m3, m4 = st.columns(4)
            m1.metric("绘制面积", area_short(preview.area_before_m2))
            m2.metric("调整后面积", area_short(preview.area_after_m2))
            m3.metric("增加 / 减少", f"{area_short(preview.added_m2)} / {area_short(preview.removed_m2)}")
            m4.metric("去除的块数", len(preview.dropped_pieces))
            with st.container(key="ge_changes"):
                text_list(preview.changes)
                st.caption("地图上：蓝色为调整后边界，绿色为增加的面积，红色为减少的面积，棕色为去除的部分。")
        conflict = S.get("ge_conflict")
        if conflict:
            st.error(md_text(conflict))
            if st.button("在最新版本上重新应用我的图形", key="ge_reapply"):
                S["ge_draft"]["base_version"] = int(selected["version"])
                S.pop("ge_conflict", None)
                st.rerun()
        if (
            draft is not None
            and draft.get("geometry")
            and mode in ("draw", "edit")
            and preview_error is None
            and st.button("确认保存", type="primary", key="ge_save")
        ):
            try:
                with get_store().session(actor) as s:
                    if mode == "draw":
                        result = versions.save_grid(
                            s,
                            None,
                            geometry=draft["geometry"],
                            attributes=new_attrs,
                            expected_version=None,
                            fit=fit_on,
                            **({"snap_tolerance_m": float(S["ge_tol"])} if fit_on else {}),
                        )
                    else:
                        result = versions.save_grid(
                            s,
                            int(selected_id),
                            geometry=draft["geometry"],
                            expected_version=draft["base_version"],
                            fit=fit_on,
                            **({"snap_tolerance_m": float(S["ge_tol"])} if fit_on else {}),
                        )
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
                after_save(
                    result.grid_id,
                    result.geometry,
                    incremental=not result.created,
                    message=f"已保存网格“{result.name}”（第 {result.version} 版）",
                )
                st.rerun()
        if draft is not None and split_preview is not None:
            c1, c2 = st.columns(2)
            name_a = c1.text_input("保留部分（较大）的名称", value=str(selected["name"]), key="ge_split_a")
            name_b = c2.text_input("新网格的名称", value=f"{selected['name']}（二）", key="ge_split_b")
            if st.button("确认分割", type="primary", key="ge_split"):
                try:
                    with get_store().session(actor) as s:
                        kept, new = versions.split_grid(
                            s,
                            int(selected_id),
                            draft["geometry"],
                            expected_version=draft["base_version"],
                            names=(name_a, name_b),
                        )
                except ConflictError as exc:
                    S["ge_conflict"] = exc.message_zh
                    st.rerun()
                except RiverGridError as exc:
                    show_error(exc)
                else:
                    seen[kept.grid_id] = kept.version
                    S["ge_mode_next"] = "view"
                    after_save(
                        None,
                        None,
                        incremental=False,
                        message=f"已将网格分割为“{kept.name}”和“{new.name}”。{UNDO_HINT}。",
                    )
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
screen = Screen(int(selected_id), selected, rows, seen, actor, can_edit, can_org, shown_version, data)
for tab, part in zip(
    tabs, (attributes_tab, posts_tab, merge_delete_tab, history_tab, past_check_tab, import_export_tab), strict=True
):
    with tab:
        part(screen)

# the version this screen showed: a save from it must still find the grid at this version
seen[selected_id] = int(selected["version"])

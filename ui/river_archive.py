"""一河一档 / 一河一策 forms: one river's archive fields and its plan (targets, tasks) for a year,
read and written through :mod:`gis.disclosure.archives`. Everyone who may read sees them; accounts
with 编辑河流、网格和监管对象 (``geodata.write``, checked by the store on flush) get the forms."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gis.auth import Actor
from gis.disclosure.archives import (
    RIVER_ARCHIVE_FIELDS,
    RiverArchive,
    river_archives,
    save_river_archive,
    save_river_plan,
)
from gis.errors import RiverGridError
from ui.state import get_store, show_error
from ui.text import md_text

__all__ = ["river_archive_section"]

FLASH = "rivers_flash"
TEXT_LIMITS = {"basin": 100, "source": 200, "mouth": 200, "water_function_zone": 200, "water_quality_target": 100}


def _overview(archives: list[RiverArchive]) -> pd.DataFrame:
    rows = []
    for a in archives:
        rows.append(
            {
                "河流": a.name,
                "等级": a.level_label,
                **{label: a.to_dict()[key] for key, label in RIVER_ARCHIVE_FIELDS.items() if key != "works"},
                "河段": "、".join(a.reaches),
                "年度一河一策": "已制定" if a.plan is not None else "未制定",
            }
        )
    return pd.DataFrame(rows)


def _archive_form(actor: Actor, a: RiverArchive) -> None:
    with st.form(f"rivers_archive_{a.id}"):
        st.markdown(f"**一河一档：{md_text(a.name)}**")
        c1, c2 = st.columns(2)
        length = c1.number_input(
            RIVER_ARCHIVE_FIELDS["length_km"],
            value=a.length_km,
            min_value=0.0,
            step=0.1,
            format="%.2f",
            key=f"rivers_length_{a.id}",
            placeholder="未填",
        )
        values: dict[str, object] = {"length_km": length}
        cols = [c2, *st.columns(2), *st.columns(2)]
        for col, key in zip(cols, TEXT_LIMITS, strict=True):
            values[key] = col.text_input(
                RIVER_ARCHIVE_FIELDS[key], value=getattr(a, key), max_chars=TEXT_LIMITS[key], key=f"rivers_{key}_{a.id}"
            )
        values["works"] = st.text_area(
            RIVER_ARCHIVE_FIELDS["works"], value=a.works, max_chars=5000, key=f"rivers_works_{a.id}"
        )
        submitted = st.form_submit_button("保存一河一档", type="primary")
    if submitted:
        try:
            with get_store().session(actor) as s:
                save_river_archive(s, a.id, values)
        except RiverGridError as exc:
            show_error(exc)
            return
        st.session_state[FLASH] = f"已保存“{md_text(a.name)}”的一河一档。"
        st.rerun()


def _plan_form(actor: Actor, a: RiverArchive, year: int) -> None:
    plan = a.plan
    with st.form(f"rivers_plan_{a.id}_{year}"):
        st.markdown(f"**{year} 年一河一策：{md_text(a.name)}**")
        targets = st.text_area(
            "年度目标（每行一条）",
            value="\n".join(plan.targets) if plan else "",
            max_chars=5000,
            key=f"rivers_targets_{a.id}_{year}",
        )
        tasks = st.text_area(
            "年度任务（每行一条）",
            value="\n".join(plan.tasks) if plan else "",
            max_chars=5000,
            key=f"rivers_tasks_{a.id}_{year}",
        )
        note = st.text_input("备注", value=plan.note if plan else "", max_chars=500, key=f"rivers_note_{a.id}_{year}")
        submitted = st.form_submit_button("保存一河一策", type="primary")
    if submitted:
        try:
            with get_store().session(actor) as s:
                save_river_plan(s, a.id, year, targets=targets, tasks=tasks, note=note)
        except RiverGridError as exc:
            show_error(exc)
            return
        st.session_state[FLASH] = f"已保存“{md_text(a.name)}”{year} 年一河一策。"
        st.rerun()


def _plan_view(a: RiverArchive, year: int) -> None:
    if a.plan is None:
        st.caption(f"{year} 年一河一策尚未制定。")
        return
    st.markdown(f"**{year} 年一河一策**")
    st.markdown("目标：\n\n" + "\n".join(f"- {md_text(t)}" for t in a.plan.targets) if a.plan.targets else "目标：无")
    st.markdown("任务：\n\n" + "\n".join(f"- {md_text(t)}" for t in a.plan.tasks) if a.plan.tasks else "任务：无")


def river_archive_section(actor: Actor | None, *, this_year: int) -> None:
    """The table of every river's archive, then one river's archive and plan, with forms when allowed."""
    if flash := st.session_state.pop(FLASH, None):
        st.success(flash)
    year = st.selectbox("年度", list(range(this_year + 1, this_year - 5, -1)), index=1, key="rivers_year")
    try:
        with get_store().session(actor, write=False) as s:
            archives = river_archives(s, year=year)
    except RiverGridError as exc:
        show_error(exc)
        return
    if not archives:
        st.info("还没有河流。先在“网格管理”导入河流和河段。")
        return
    st.dataframe(_overview(archives), hide_index=True, width="stretch", key="rivers_table")
    by_id = {a.id: a for a in archives}
    chosen = st.selectbox("河流", list(by_id), format_func=lambda i: by_id[i].name, key="rivers_pick")
    a = by_id[chosen]
    may_write = actor is not None and actor.can("geodata.write")
    if not may_write:
        for label, value in a.facts():
            st.markdown(f"**{label}**：{md_text(value)}")
        _plan_view(a, year)
        st.caption("工作人员和管理员登录后可编辑一河一档和一河一策。")
        return
    left, right = st.columns(2, gap="large")
    with left:
        _archive_form(actor, a)
    with right:
        _plan_form(actor, a, year)

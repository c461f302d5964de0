"""监管对象 (object ledger): the 五定 of every supervised object, its last inspection and whether it
is overdue in a period; the 五定 of one object, its inspection records and a new record."""

from __future__ import annotations

import streamlit as st

from gis import clock
from gis.config import settings
from gis.errors import RiverGridError
from gis.patrol.object_ledger import record_inspection, set_object_duties
from gis.patrol.objects import INTERVAL_CHOICES, SUBTYPE_LABELS
from gis.patrol.rules import period_choices
from ui import zh
from ui.objects import ledger, ledger_table, persons, photo_of, visits, visits_table
from ui.patrol import person_of_user
from ui.state import current_actor, data_version, get_store, scope_key, show_error

FLASH = "objects_flash"
PHOTO_TYPES = ["jpg", "jpeg", "png", "webp"]

actor = current_actor()
version = data_version()
st.title("监管对象")
st.caption(
    "九类监管对象（含排污口、取水口）的五定：定区域（所属网格）、定人员（责任人）、定职责与任务、定巡查周期、定奖惩。"
    f"巡河轨迹经过对象 {settings().object_visit_m:g} 米以内即计为一次巡查；"
    "也可在下方为对象添加巡查记录（情况说明和照片）。"
)
flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash)

period = st.selectbox("统计期间", period_choices(clock.today()), key="objects_period")
rows = ledger(version, period, scope_key())
if not rows:
    st.info("还没有监管对象（可在“网格管理”或命令 `gis import objects` 导入）。")
    st.stop()

c1, c2, c3 = st.columns(3)
c1.metric("监管对象", f"{len(rows)} 个")
c2.metric("逾期未巡查", f"{sum(r['overdue'] for r in rows)} 个")
c3.metric("未落实责任人", f"{sum(r['responsible'] is None for r in rows)} 个")
st.dataframe(ledger_table(rows), hide_index=True, use_container_width=True)

# ---------------------------------------------------------------------------------------------
# One object
# ---------------------------------------------------------------------------------------------

st.subheader("对象详情")
by_id = {r["object_id"]: r for r in rows}
chosen = st.selectbox(
    "选择监管对象", list(by_id), format_func=lambda i: f"{by_id[i]['name']}（{by_id[i]['category_label']}）"
)
obj = by_id[chosen]
left, right = st.columns(2)
with left:
    st.markdown("**五定**")
    people = persons(version)
    can_edit = actor is not None and actor.can("geodata.write")
    with st.form("object_duties"):
        ids = [None, *people]
        responsible = st.selectbox(
            "责任人",
            ids,
            index=ids.index(obj["responsible_id"]) if obj["responsible_id"] in ids else 0,
            format_func=lambda i: "（未落实）" if i is None else people[i],
            disabled=not can_edit,
        )
        intervals = [None, *INTERVAL_CHOICES]
        current = obj["interval_days"]
        if current is not None and current not in intervals:
            intervals.append(current)
        interval = st.selectbox(
            "巡查周期",
            intervals,
            index=intervals.index(current),
            format_func=lambda d: "（未定）" if d is None else INTERVAL_CHOICES.get(d, f"每 {d} 天"),
            disabled=not can_edit,
        )
        other_days = st.number_input(
            "或自定周期（天，0 表示按上面选择）", min_value=0, max_value=3660, value=0, step=1, disabled=not can_edit
        )
        subtypes = [None, *SUBTYPE_LABELS]
        subtype = st.selectbox(
            "细类",
            subtypes,
            index=subtypes.index(obj["subtype"]) if obj["subtype"] in subtypes else 0,
            format_func=lambda c: "（无）" if c is None else SUBTYPE_LABELS[c],
            disabled=not can_edit,
        )
        tasks = st.text_area("监管任务", obj["tasks"], disabled=not can_edit)
        rewards = st.text_area("奖惩措施", obj["rewards"], disabled=not can_edit)
        if st.form_submit_button("保存五定", disabled=not can_edit):
            try:
                with get_store().session(actor) as s:
                    set_object_duties(
                        s,
                        chosen,
                        responsible=responsible,
                        interval=int(other_days) if other_days else interval,
                        tasks=tasks,
                        rewards=rewards,
                        subtype=subtype,
                    )
            except RiverGridError as exc:
                show_error(exc)
            else:
                st.session_state[FLASH] = f"已保存“{obj['name']}”的五定。"
                st.rerun()
    if not can_edit:
        st.caption("修改五定需要“编辑河流、网格和监管对象”的权限（工作人员、系统管理员）。")

with right:
    st.markdown("**添加巡查记录**")
    can_record = actor is not None and actor.can("patrol.write")
    if not can_record:
        st.caption("添加巡查记录需要登录，且为巡查员、工作人员、志愿者/协管员或系统管理员。")
    else:
        mine = person_of_user(version, actor.user_id if actor is not None else None)
        with st.form("object_inspection", clear_on_submit=True):
            ids = list(people)
            who = st.selectbox(
                "巡查人员",
                ids,
                index=ids.index(mine) if mine in ids else None,
                format_func=people.get,
                placeholder="选择巡查人员…",
            )
            note = st.text_area("巡查情况", placeholder="例如：排口无异常出水，周边无垃圾堆放")
            photo = zh.file_uploader("现场照片（可选，1 张）", type=PHOTO_TYPES, key="object_photo")
            if st.form_submit_button("保存巡查记录", type="primary"):
                try:
                    with get_store().session(actor) as s:
                        record_inspection(s, chosen, note=note, photo=photo, person=who)
                except RiverGridError as exc:
                    show_error(exc)
                else:
                    st.session_state[FLASH] = f"已记录对“{obj['name']}”的巡查。"
                    st.rerun()

st.markdown("**巡查历史**（巡河轨迹经过和巡查记录，最新在前）")
history = visits(version, chosen)
if not history:
    st.info("该对象还没有任何巡查。")
else:
    st.dataframe(visits_table(history), hide_index=True, use_container_width=True)
    shots = [(h, photo_of(h)) for h in history if h["photo_sha256"]]
    for h, path in shots[:6]:
        if path is not None:
            st.image(str(path), caption=f"{h['at'][:16].replace('T', ' ')} {h['person']}", width=240)

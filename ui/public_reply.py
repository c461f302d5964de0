"""公开答复 of a case, in the case detail of 事件处置: the text the public page's 曝光台 shows
beside a closed case. Who may write it is decided by :func:`gis.disclosure.results.set_public_reply`
(处置事件 and the case in the account's data scope); the form is offered to the same accounts."""

from __future__ import annotations

import streamlit as st

from gis.auth import Actor
from gis.disclosure.results import MAX_REPLY_CHARS, set_public_reply
from gis.errors import RiverGridError
from gis.incidents.public import is_listed
from gis.incidents.workflow import get_incident
from gis.store.scope import scope_of
from ui.state import get_store, show_error
from ui.text import md_text

__all__ = ["public_reply_section"]


def public_reply_section(actor: Actor | None, incident_id: int, *, flash_key: str) -> None:
    """The public reply of one case: shown to staff, written by those who may handle the case."""
    if actor is None or not actor.can("incident.handle"):
        return
    try:
        with get_store().session(actor, write=False) as s:
            incident = get_incident(s, incident_id)
            code, reply, listed = incident.code, incident.public_reply or "", is_listed(incident.category)
            may_write = scope_of(s, actor).covers(incident.grid_id)
    except RiverGridError as exc:
        show_error(exc)
        return
    st.markdown("##### 公开答复")
    if not listed:
        st.caption("该类事件不在曝光台公开。")
        return
    if not may_write:
        st.caption("该事件不在您的数据权限内，不能填写公开答复。")
        return
    st.caption("办结或移送后，曝光台（责任公示页）公开显示此答复；请勿写入姓名、电话、身份证号。")
    with st.form(f"inc_reply_{incident_id}"):
        text = st.text_area("公开答复", value=reply, max_chars=MAX_REPLY_CHARS, key=f"inc_reply_text_{incident_id}")
        submitted = st.form_submit_button("保存公开答复")
    if not submitted:
        return
    try:
        with get_store().session(actor) as s:
            set_public_reply(s, incident_id, text)
    except RiverGridError as exc:
        show_error(exc)
        return
    st.session_state[flash_key] = f"事件 {md_text(code)}：已保存公开答复。"
    st.rerun()

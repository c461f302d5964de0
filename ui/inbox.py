"""The 待办 inbox in the app: the sidebar's counts, the page's item cards (:mod:`gis.inbox.service`) and the
account's messages, read and unread (:mod:`gis.notify.messages`)."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import streamlit as st

from gis.auth import Actor
from gis.config import settings
from gis.errors import RiverGridError
from gis.inbox.core import KIND_LABELS, Item
from gis.inbox.service import Inbox, count_for, inbox
from gis.notify.core import CHANNEL_LABELS, PERSON_CHANNELS
from gis.notify.events import available_channels
from gis.notify.messages import mark_read, messages_for, unread_count
from gis.notify.preferences import my_preferences, set_my_preferences
from ui.state import data_version, get_store, show_error

__all__ = [
    "PAGE_FILES",
    "inbox_count",
    "inbox_nav_title",
    "load_inbox",
    "load_messages",
    "render_empty",
    "render_items",
    "render_messages",
    "render_preferences",
    "unread_messages",
]

PAGE_FILES = {
    "incidents": "pages/incidents.py",
    "assessment": "pages/assessment.py",
    "patrol": "pages/patrol.py",
    "reports": "pages/reports.py",
}
"""URL path of an item's page → the page file ``st.page_link`` opens (in the same browser session,
so the sign-in is kept)."""

INBOX_CSS = """<style>
.rg-inbox-item{display:flex;gap:.6rem;align-items:baseline;flex-wrap:wrap;margin:.1rem 0 .2rem 0}
.rg-inbox-flag{font-size:.8rem;padding:.05rem .45rem;border-radius:.6rem;white-space:nowrap}
.rg-inbox-flag.overdue{background:#fde2e1;color:#b42318}
.rg-inbox-flag.soon{background:#fff1d6;color:#9a5b00}
.rg-inbox-title{font-weight:600}
.rg-inbox-due{color:#555;font-size:.9rem;white-space:nowrap}
.rg-inbox-detail{color:#666;font-size:.85rem;width:100%}
</style>"""


@st.cache_data(show_spinner=False, ttl=60, max_entries=64)
def inbox_count(version: int, username: str) -> int:
    """:func:`gis.inbox.service.count_for` as of ``version`` (:func:`ui.state.data_version`); kept a
    minute at most, since deadlines pass and weeks end without any write."""
    with get_store().session() as s:
        return count_for(s, username)


def inbox_nav_title(actor: Actor | None) -> tuple[str, int | None]:
    """``("待办 (3)", 3)`` for a signed-in account, ``("待办", None)`` otherwise or on a read error."""
    if actor is None:
        return "待办", None
    try:
        n = inbox_count(data_version(), actor.username)
    except RiverGridError:
        return "待办", None
    return (f"待办 ({n})" if n else "待办"), n


def load_inbox(actor: Actor) -> Inbox:
    with get_store().session(actor, write=False) as s:
        return inbox(s, actor)


def _card(item: Item) -> str:
    flag = ""
    if item.overdue:
        flag = '<span class="rg-inbox-flag overdue">已超期</span>'
    elif item.due_soon:
        flag = '<span class="rg-inbox-flag soon">即将到期</span>'
    due = f'<span class="rg-inbox-due">期限 {escape(item.due_text)}</span>' if item.due_at is not None else ""
    return (
        f'<div class="rg-inbox-item" data-testid="inbox-item" data-key="{escape(item.key)}">'
        f'{flag}<span class="rg-inbox-title">{escape(item.title)}</span>{due}'
        f'<span class="rg-inbox-detail">{escape(item.detail)}</span></div>'
    )


def render_items(box: Inbox) -> None:
    """The items grouped by kind, the group of the most urgent item first, each with a link to the
    page where it is done."""
    st.html(INBOX_CSS)
    first: dict[str, int] = {}  # the group holding the most urgent item comes first (the items are sorted by urgency)
    for n, item in enumerate(box.items):
        first.setdefault(item.kind, n)
    for kind, label in sorted(KIND_LABELS.items(), key=lambda kv: first.get(kv[0], len(box.items))):
        mine = [i for i in box.items if i.kind == kind]
        if not mine:
            continue
        late = sum(i.overdue for i in mine)
        st.markdown(f"##### {label}（{len(mine)}" + (f"，已超期 {late}" if late else "") + "）")
        for n, item in enumerate(mine):
            with st.container(border=True, key=f"inbox_{kind}_{n}"):
                st.html(_card(item))
                st.page_link(
                    PAGE_FILES[item.page],
                    label="去办理",
                    icon=":material/arrow_forward:",
                    query_params=dict(item.params) or None,
                )


def render_empty() -> None:
    st.html(
        '<div data-testid="inbox-empty">'
        "<p><b>当前没有待办事项。</b></p>"
        "<p>这里会列出：等待您办理的事件（受理、交办、处置、办结、审核，以及延期审批、协办答复、移送回执）、"
        "您所辖网格中一个工作日内到期或已超期的事件、本年度待填写或提交的考核评价、本网格尚未报送的月报季报年报，"
        "以及本周（本月）尚未完成的巡河。事项办理完成后会自动从这里消失。</p></div>"
    )


# ---------------------------------------------------------------------------------------------
# 消息: the account's in-app messages (written by the notification runner, gis notify run)
# ---------------------------------------------------------------------------------------------


def unread_messages(actor: Actor | None) -> int | None:
    """How many of the account's messages are unread (one count query, not cached: the runner writes
    messages without changing the data version); None when signed out or on a read error."""
    if actor is None:
        return None
    try:
        with get_store().session(actor, write=False) as s:
            return unread_count(s, actor)
    except RiverGridError:
        return None


def load_messages(actor: Actor, *, unread_only: bool = False) -> list[dict[str, Any]]:
    with get_store().session(actor, write=False) as s:
        return messages_for(s, actor, unread_only=unread_only)


def _target_of(link: str) -> tuple[str, str, dict[str, str]] | None:
    """(page, label, query) of a message's link: the case on 事件处置, the report on 信息报送."""
    parts = urlsplit(link)
    query = {k: v[0] for k, v in parse_qs(parts.query).items() if v}
    page = parts.path.rstrip("/").rsplit("/", 1)[-1]
    if page == "incidents" and "case" in query:
        return "incidents", "查看事件", {"case": query["case"]}
    if page == "reports" and "period" in query:
        return "reports", "打开报表", {k: query[k] for k in ("period", "grid") if k in query}
    return None


def _mark_read(actor: Actor, message_id: int) -> None:
    try:
        with get_store().session(actor) as s:
            mark_read(s, actor, message_id)
    except RiverGridError as exc:
        st.session_state["inbox_message_error"] = exc


def render_messages(actor: Actor, messages: list[dict[str, Any]]) -> None:
    """Messages newest first, unread ones marked, each with 标为已读 (its own only) and a link to the
    case it is about."""
    error = st.session_state.pop("inbox_message_error", None)
    if error is not None:
        show_error(error)
    if not messages:
        st.html(
            '<div data-testid="message-empty"><p>没有消息。事件交办、督办、退回、即将到期、超期、超期升级，'
            "以及所辖网格的群众举报，都会在这里通知您（也可按人员设置的渠道发送邮件、短信）。</p></div>"
        )
        return
    for m in messages:
        with st.container(border=True, key=f"message_{m['id']}"):
            state = "已读" if m["read"] else "未读"
            flag = "" if m["read"] else '<span class="rg-inbox-flag soon">未读</span>'
            st.html(
                f'<div class="rg-inbox-item" data-testid="message-item" data-id="{int(m["id"])}" data-read="{state}">'
                f'{flag}<span class="rg-inbox-title">{escape(m["title"])}</span>'
                f'<span class="rg-inbox-due">{escape(m["created_at"][:16].replace("T", " "))}</span>'
                f'<span class="rg-inbox-detail">{escape(m["body"])}</span></div>'
            )
            cols = st.columns([1, 1, 4])
            target = _target_of(m["link"])
            if target is not None:
                page, label, query = target
                with cols[0]:
                    st.page_link(PAGE_FILES[page], label=label, icon=":material/arrow_forward:", query_params=query)
            if not m["read"]:
                with cols[1]:
                    st.button(
                        "标为已读", key=f"message_read_{m['id']}", on_click=_mark_read, args=(actor, int(m["id"]))
                    )


def render_preferences(actor: Actor) -> None:
    """消息接收设置 of the account's own person: e-mail, channels, quiet hours (saved, audited)."""
    try:
        with get_store().session(actor, write=False) as s:
            prefs = my_preferences(s, actor)
    except RiverGridError as exc:
        st.caption(exc.message_zh)
        return
    available = available_channels(settings())
    missing = [CHANNEL_LABELS[c] for c in PERSON_CHANNELS if c not in available]
    with st.form("inbox_preferences"):
        chosen = st.multiselect(
            "接收渠道",
            list(PERSON_CHANNELS),
            default=[c for c in prefs["channels"] if c in PERSON_CHANNELS],
            format_func=CHANNEL_LABELS.get,
            help="不选则按人员记录中可用的全部渠道发送",
        )
        email = st.text_input("电子邮箱", value=prefs["email"] or "")
        quiet = st.text_input(
            "免打扰时段", value=prefs["quiet_hours"] or "", placeholder="如 22:00-07:00，留空用系统默认"
        )
        st.caption(
            f"短信发往人员记录中的电话（{prefs['phone'] or '未登记'}）。"
            + (f"本系统尚未配置{'、'.join(missing)}，选了也暂不发送。" if missing else "")
            + "免打扰时段内的消息顺延到时段结束后发送，不会丢失。"
        )
        if st.form_submit_button("保存接收设置"):
            try:
                with get_store().session(actor) as s:
                    set_my_preferences(s, actor, email=email, channels=",".join(chosen), quiet_hours=quiet)
                st.success("已保存")
            except RiverGridError as exc:
                show_error(exc)

"""Per-process store and per-browser-session user state."""

from __future__ import annotations

import streamlit as st

from gis.auth import Actor, authenticate, require
from gis.config import settings
from gis.errors import AuthenticationError, PermissionDenied, RiverGridError
from gis.store import Store
from ui.text import md_text

ACTOR_KEY = "actor"


@st.cache_resource(show_spinner="正在打开数据库…")
def get_store() -> Store:
    """The store of this app process; loads the demo data into an empty database on first start."""
    from gis.demo import load_demo

    store = Store()
    load_demo(store, reset=False)
    return store


def current_actor() -> Actor | None:
    return st.session_state.get(ACTOR_KEY)


def sign_in(username: str, password: str) -> Actor:
    with get_store().session() as s:
        actor = authenticate(s, username, password)
    st.session_state[ACTOR_KEY] = actor
    return actor


def sign_out() -> None:
    st.session_state.pop(ACTOR_KEY, None)


def reading_allowed() -> bool:
    """Whether the current visitor may read pages (always, unless ``RIVERGRID_READ_LOGIN=1``)."""
    return current_actor() is not None or not settings().read_requires_login


def require_permission(permission: str) -> Actor:
    """The signed-in actor if it holds ``permission``; otherwise show why and stop the page."""
    try:
        return require(current_actor(), permission)
    except PermissionDenied as exc:
        st.warning(exc.message_zh)
        st.stop()
        raise  # unreachable: st.stop() ends the script


def actor_label(actor: Actor) -> str:
    """``孙凤海（领导）``: the user's name with the role, once."""
    name = actor.display_name or actor.username
    return name if actor.role.label in name else f"{name}（{actor.role.label}）"


def show_error(exc: RiverGridError) -> None:
    """A domain error as a Chinese message (the English reason in a small caption)."""
    st.error(md_text(exc.message_zh))  # messages quote names and file fields: shown as typed
    if exc.reason_en:
        st.caption(md_text(exc.reason_en))


__all__ = [
    "AuthenticationError",
    "current_actor",
    "get_store",
    "reading_allowed",
    "require_permission",
    "show_error",
    "sign_in",
    "sign_out",
]


def data_version() -> int:
    """Id of the newest audit entry: changes whenever anything is written (cache key for reads)."""
    from sqlalchemy import func, select

    from gis.store.schema import AuditEntry

    with get_store().session() as s:
        return int(s.scalar(select(func.max(AuditEntry.id))) or 0)


@st.cache_data(show_spinner="正在读取地图数据…", max_entries=4)
def map_data(version: int):  # type: ignore[no-untyped-def]
    """All map features as of ``version`` (see :func:`data_version`)."""
    from gis.store.queries import load_map_data

    with get_store().session() as s:
        return load_map_data(s)

"""Per-process store and per-browser-session user state: sign-in, idle expiry, password change."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

import streamlit as st

from gis import clock
from gis.accounts.installation import has_accounts, open_reading
from gis.accounts.signin import client_address
from gis.accounts.signin import sign_in as check_sign_in
from gis.accounts.users import current_actor as account_now
from gis.auth import Actor, Scope, require
from gis.config import settings
from gis.errors import AuthenticationError, PermissionDenied, RiverGridError
from gis.history import latest_entry_id
from gis.overview import limit_map_data, load_map_data
from gis.serving import process_store
from gis.store import Store
from gis.store.scope import scope_of
from ui.text import md_text

ACTOR_KEY = "actor"
MUST_CHANGE_KEY = "must_change_password"
ACTIVE_KEY = "last_active_at"
EXPIRED_KEY = "session_expired"

log = logging.getLogger(__name__)
ui_log = logging.getLogger("rivergrid.ui")


@st.cache_resource(show_spinner="正在打开数据库…")
def get_store() -> Store:
    """The store of this app process, shared with the HTTP API (:func:`gis.serving.process_store`)."""
    return process_store()


def needs_first_account() -> bool:
    """Whether the database has no account yet (the app then shows how to create one)."""
    with get_store().session() as s:
        return not has_accounts(s)


def _still_valid(actor: Actor) -> Actor | None:
    """The actor as the database describes the account now (role changes apply at once), or None
    when the account was disabled or removed since sign-in."""
    with get_store().session() as s:
        return account_now(s, actor)


def current_actor() -> Actor | None:
    """The signed-in actor, or None. A session idle for longer than ``RIVERGRID_SESSION_IDLE_S``
    (default 8 hours) is signed out (the sign-in page says why); each call counts as activity."""
    actor: Actor | None = st.session_state.get(ACTOR_KEY)
    if actor is None:
        return None
    now = clock.now()
    last: datetime | None = st.session_state.get(ACTIVE_KEY)
    if last is not None and (now - last).total_seconds() > settings().session_idle_s:
        sign_out()
        st.session_state[EXPIRED_KEY] = True
        return None
    checked = _still_valid(actor)
    if checked is None:
        sign_out()
        return None
    if checked is not actor:
        st.session_state[ACTOR_KEY] = checked
    st.session_state[ACTIVE_KEY] = now
    return checked


def must_change_password() -> bool:
    """Whether the signed-in user must choose a new password before anything else."""
    return bool(st.session_state.get(MUST_CHANGE_KEY)) and st.session_state.get(ACTOR_KEY) is not None


def password_changed() -> None:
    st.session_state.pop(MUST_CHANGE_KEY, None)


def sign_in(username: str, password: str) -> Actor:
    """Sign in with the throttling of :mod:`gis.accounts.signin` (per user name and client address)."""
    headers = st.context.headers
    ip = client_address(st.context.ip_address, dict(headers.items()) if isinstance(headers, Mapping) else None)
    result = check_sign_in(get_store(), username, password, ip=ip)
    st.session_state[ACTOR_KEY] = result.actor
    st.session_state[MUST_CHANGE_KEY] = result.must_change_password
    st.session_state[ACTIVE_KEY] = clock.now()
    st.session_state.pop(EXPIRED_KEY, None)
    return result.actor


def sign_out() -> None:
    for key in (ACTOR_KEY, MUST_CHANGE_KEY, ACTIVE_KEY):
        st.session_state.pop(key, None)


def session_expired() -> bool:
    """Whether this browser session was just signed out for being idle (shown once)."""
    return bool(st.session_state.pop(EXPIRED_KEY, False))


def reading_allowed() -> bool:
    """Whether the current visitor may read pages: signed in, or reading is open
    (:func:`gis.accounts.installation.open_reading`: ``RIVERGRID_READ_LOGIN=0``, or a demo database)."""
    if current_actor() is not None:
        return True
    with get_store().session() as s:
        return open_reading(s)


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
    """A domain error as a Chinese message on the page; its English reason goes to the log
    (logger ``rivergrid.ui``, WARNING), with the error's kind, for the operator."""
    st.error(md_text(exc.message_zh))  # messages quote names and file fields: shown as typed
    ui_log.warning("%s: %s", type(exc).__name__, exc.reason_en or exc.message_zh)


__all__ = [
    "AuthenticationError",
    "current_actor",
    "get_store",
    "must_change_password",
    "needs_first_account",
    "reading_allowed",
    "require_permission",
    "session_expired",
    "show_error",
    "sign_in",
    "sign_out",
]


def data_version() -> int:
    """Id of the newest audit entry: changes whenever anything is written (cache key for reads)."""
    with get_store().session() as s:
        return latest_entry_id(s)


@st.cache_data(show_spinner="正在读取地图数据…", max_entries=4)
def map_data(version: int):  # type: ignore[no-untyped-def]
    """All map features as of ``version`` (see :func:`data_version`)."""

    with get_store().session() as s:
        return load_map_data(s)


def scope_key() -> tuple[int, ...] | None:
    """The grids the signed-in account may see, as a cache key (None: everything; see
    :mod:`gis.store.scope`)."""

    actor = current_actor()
    if actor is None:
        return None
    with get_store().session() as s:
        scope = scope_of(s, actor)
    return None if scope.grid_ids is None else tuple(sorted(scope.grid_ids))


@st.cache_data(show_spinner=False, max_entries=8)
def visible_map_data(version: int, scope: tuple[int, ...] | None):  # type: ignore[no-untyped-def]
    """:func:`map_data` with only the cases and tracks of ``scope`` (from :func:`scope_key`)."""

    data = map_data(version)
    return data if scope is None else limit_map_data(data, Scope(frozenset(scope)))

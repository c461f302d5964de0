"""Signing in: passwords checked with throttling by user name and by client address.

Rules (numbers from :func:`gis.config.settings`):

* ``lock_attempts`` (5) failed sign-ins of one user name within ``lock_window_s`` (15 minutes)
  lock that name for ``lock_s`` (15 minutes); a user name that does not exist is counted and
  locked exactly like one that does, with the same messages, so the answers reveal nothing
  about which names exist;
* ``ip_attempts`` (20) failed sign-ins from one client address (whatever the names) lock the
  address for ``lock_s``;
* while locked, the password is not even checked; a successful sign-in or an administrator's
  ``unlock`` (:func:`unlock`, ``gis user unlock``) starts the count again;
* an unknown name costs the same Argon2 work as a known one (a check against a dummy hash), so
  the time of the answer does not tell either.

Every attempt is a row of ``sign_in_attempts`` (outcomes ``ok``, ``failed``, ``refused`` while
locked, ``lock`` / ``lock_ip`` when a lock begins, ``unlock``); a lock and an unlock are also
written to the audit log. Times come from :mod:`gis.clock`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from gis import clock
from gis.auth import HASHER, Actor, needs_rehash, require, verify_password
from gis.config import settings
from gis.errors import AuthenticationError, NotFoundError
from gis.model import LOCAL_TZ, UserRole
from gis.store.audit import record_event
from gis.store.engine import Store
from gis.store.schema import SignInAttempt, User

__all__ = ["LockState", "SignInResult", "authenticate", "client_address", "lock_state", "sign_in", "unlock"]

WRONG = "用户名或密码错误"


@dataclass(frozen=True)
class SignInResult:
    """A successful sign-in: who, and whether a new password must be chosen first."""

    actor: Actor
    must_change_password: bool


@dataclass(frozen=True)
class LockState:
    """Whether a user name (or a client address) is locked, and until when (UTC)."""

    locked: bool
    until: datetime | None = None
    failures: int = 0

    def message(self) -> str:
        if not self.locked or self.until is None:
            return ""
        minutes = max(1, round((self.until - clock.now()).total_seconds() / 60))
        return (
            f"登录失败次数过多，已暂停登录，请约 {minutes} 分钟后（"
            f"{self.until.astimezone(LOCAL_TZ).strftime('%H:%M')} 以后）再试，或联系安全管理员解锁"
        )


_DUMMY_HASH = "$argon2id$v=19$m=65536,t=5,p=1$Vn4v3wi9s/M6idZq/x1WlA$b6rvO96oxBpnEJw6B97QwYgwHxJvY02o/0K5HHv2e3s"
"""A hash of a random password nobody knows, with :data:`gis.auth.HASHER`'s parameters: checked
against for unknown user names, so that they cost what known ones cost from the first attempt."""


@cache
def _dummy_hash() -> str:
    return HASHER.hash("rivergrid: a password nobody has") if needs_rehash(_DUMMY_HASH) else _DUMMY_HASH


def client_address(peer: str | None, headers: Mapping[str, str] | None = None) -> str:
    """The client's address: ``peer`` (the socket's; None or empty means this machine, as
    Streamlit reports local connections), or, when the peer is this machine (a reverse proxy such
    as nginx in front of the app), the address the proxy passes on in ``X-Real-IP`` or
    ``X-Forwarded-For``. Headers from other peers are ignored (they could be forged to dodge the
    per-address throttle)."""
    peer = (peer.strip() if isinstance(peer, str) else "") or "127.0.0.1"
    if not isinstance(headers, Mapping):
        headers = None
    try:
        loopback = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        loopback = False
    if loopback and headers:
        lowered = {k.lower(): v for k, v in headers.items()}
        forwarded = (lowered.get("x-real-ip") or lowered.get("x-forwarded-for") or "").split(",")[0].strip()
        if forwarded:
            return forwarded[:64]
    return peer[:64]


def _since_reset(session: Session, column: Any, key: str, resets: tuple[str, ...]) -> datetime | None:
    return session.scalar(select(func.max(SignInAttempt.at)).where(column == key, SignInAttempt.outcome.in_(resets)))


def _state(session: Session, *, username: str | None = None, ip: str | None = None) -> LockState:
    cfg = settings()
    now = clock.now()
    if username is not None:
        column, key, lock, limit = SignInAttempt.username, username, "lock", cfg.lock_attempts
        resets: tuple[str, ...] = ("ok", "unlock", "lock")
    else:
        column, key, lock, limit = SignInAttempt.ip, ip or "", "lock_ip", cfg.ip_attempts
        resets = ("unlock_ip", "lock_ip")
    if not key:
        return LockState(False)
    locked_at = session.scalar(select(func.max(SignInAttempt.at)).where(column == key, SignInAttempt.outcome == lock))
    cleared = _since_reset(session, column, key, ("ok", "unlock") if username is not None else ("unlock_ip",))
    if locked_at is not None and (cleared is None or cleared < locked_at):
        until = locked_at + timedelta(seconds=cfg.lock_s)
        if until > now:
            return LockState(True, until, limit)
    start = now - timedelta(seconds=cfg.lock_window_s)
    reset = _since_reset(session, column, key, resets)
    if reset is not None and reset > start:
        start = reset
    failures = (
        session.scalar(
            select(func.count())
            .select_from(SignInAttempt)
            .where(column == key, SignInAttempt.outcome == "failed", SignInAttempt.at > start)
        )
        or 0
    )
    return LockState(False, None, int(failures))


def lock_state(session: Session, username: str) -> LockState:
    """Whether ``username`` is locked now (known or not)."""
    return _state(session, username=username.strip())


def _record(session: Session, username: str, ip: str, outcome: str) -> None:
    session.execute(insert(SignInAttempt).values(at=clock.now(), username=username[:100], ip=ip, outcome=outcome))


def _audit_lock(session: Session, username: str, ip: str, what: str) -> None:

    user_id = session.scalar(select(User.id).where(User.username == username)) if username else None
    record_event(
        session,
        actor_name="system",
        action=what,
        table="sign_in",
        row_id=user_id,
        after={"username": username, "ip": ip},
    )


def sign_in(store: Store, username: str, password: str, *, ip: str = "") -> SignInResult:
    """Check ``username`` and ``password`` with the throttling rules of this module.

    Raises
    ------
    AuthenticationError
        Wrong name or password (one message for both), a locked name or address, or a disabled
        account (the same message as a wrong password).
    """
    cfg = settings()
    name = (username or "").strip()[:100]
    ip = (ip or "").strip()[:64]
    with store.session(write=True) as s:
        for state in (_state(s, username=name), _state(s, ip=ip)):
            if state.locked:
                _record(s, name, ip, "refused")
                error = AuthenticationError(state.message(), "locked")
                break
        else:
            error = None
    if error is not None:
        raise error

    with store.session() as s:
        user = s.scalar(select(User).where(User.username == name)) if name else None
        stored = user.password_hash if user is not None else _dummy_hash()
        ok = verify_password(stored, password) and user is not None and user.active
        actor = Actor(user.username, UserRole(user.role), user.display_name, user.id) if ok and user else None
        must_change = bool(user.must_change_password) if ok and user else False
        rehash = ok and user is not None and needs_rehash(stored)

    with store.session(write=True) as s:
        if actor is not None:
            _record(s, name, ip, "ok")
            if rehash:
                s.info["actor"] = actor
                row = s.get(User, actor.user_id)
                if row is not None:
                    row.password_hash = HASHER.hash(password)
            return SignInResult(actor, must_change)
        _record(s, name, ip, "failed")
        messages = [WRONG]
        name_state = _state(s, username=name)
        if name and name_state.failures >= cfg.lock_attempts:
            _record(s, name, "", "lock")
            _audit_lock(s, name, ip, "lock")
            messages.append(f"该用户名连续失败 {cfg.lock_attempts} 次，已锁定 {cfg.lock_s / 60:g} 分钟")
        ip_state = _state(s, ip=ip)
        if ip and ip_state.failures >= cfg.ip_attempts:
            _record(s, "", ip, "lock_ip")
            _audit_lock(s, "", ip, "lock_ip")
            messages.append(f"本机地址登录失败过多，已暂停登录 {cfg.lock_s / 60:g} 分钟")
    raise AuthenticationError("；".join(messages), "invalid credentials")


def unlock(session: Session, username: str) -> None:
    """Lift the lock of ``username`` (``user.manage``); the unlock is audited."""
    actor = require(session.info.get("actor"), "user.manage")
    name = username.strip()
    if session.scalar(select(User.id).where(User.username == name)) is None:
        raise NotFoundError(f"没有用户“{name}”", f"no user {name!r}")
    _record(session, name, "", "unlock")

    record_event(
        session,
        actor_name=actor.username,
        action="unlock",
        table="sign_in",
        row_id=session.scalar(select(User.id).where(User.username == name)),
        after={"username": name},
    )


def authenticate(session: Session, username: str, password: str) -> Actor:
    """Check a user name and password against the users table (no throttling: pages and the API
    sign in through :func:`gis.accounts.signin.sign_in`, which locks names and addresses).

    Raises :class:`AuthenticationError` with one message for every failure, so the form does
    not tell which of the two was wrong.
    """
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.active or not verify_password(user.password_hash, password):
        raise AuthenticationError("用户名或密码错误", "invalid credentials")
    return Actor(user.username, UserRole(user.role), user.display_name, user.id)

"""API keys (接口密钥): create, list, revoke, and find the account a key acts as.

A key acts as its user: the same role checks as the pages (:mod:`gis.auth`), the same data scope
(:mod:`gis.store.scope`), and every write it makes is audited under that user's name. Keys are
managed by the security administrator (``user.manage``, like accounts); the command line
(``gis token create|list|revoke``) acts as its operator.

A key is ``rg_`` followed by 43 URL-safe characters (32 random bytes from :mod:`secrets`). It is
shown once, when created; the database keeps only its SHA-256 (``api_keys.key_hash``, never
written to the audit log). A fast hash is right here, unlike for passwords: a key has 256 bits of
entropy, so no dictionary helps, and each API request checks one (Argon2's 0.2 s per request
would make the API unusable). ``prefix`` (``rg_`` and the next 6 characters) names a key in lists
and logs without revealing it.

A key of a disabled account, or a revoked key, authenticates nobody (the same Chinese message as
an unknown key: the caller learns nothing about which keys exist).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis import clock
from gis.auth import Actor, require
from gis.errors import AuthenticationError, NotFoundError, ValidationError, checked_text
from gis.model import LOCAL_TZ, UserRole
from gis.store.schema import ApiKey, User

__all__ = ["KEY_PREFIX", "ApiKeyInfo", "NewKey", "actor_for_key", "create_key", "key_digest", "list_keys", "revoke_key"]

KEY_PREFIX = "rg_"
SHOWN_PREFIX_CHARS = 6
"""Characters after ``rg_`` kept in ``prefix`` to tell keys apart in lists."""

UNKNOWN_KEY_MESSAGE = "接口密钥无效、已吊销或其账号已停用"


def _unknown() -> AuthenticationError:
    return AuthenticationError(UNKNOWN_KEY_MESSAGE, "invalid, revoked or disabled API key")


def key_digest(key: str) -> str:
    """The SHA-256 (hex) a key is stored and looked up by."""
    return hashlib.sha256(key.strip().encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKeyInfo:
    """A key as lists show it (never the key itself)."""

    id: int
    username: str
    name: str
    prefix: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.username,
            "name": self.name,
            "prefix": self.prefix,
            "created_at": self.created_at.astimezone(LOCAL_TZ).isoformat(),
            "created_by": self.created_by,
            "revoked_at": None if self.revoked_at is None else self.revoked_at.astimezone(LOCAL_TZ).isoformat(),
            "active": self.active,
        }


@dataclass(frozen=True)
class NewKey:
    """A key just created: ``key`` is the only time the secret is available."""

    info: ApiKeyInfo
    key: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.info.to_dict(), "key": self.key}


def _info(row: ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id,
        username=row.user.username,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
    )


def create_key(session: Session, username: str, name: str) -> NewKey:
    """Create a key for the active account ``username``, named ``name`` (what it is for: 县平台,
    手机 App…; unique among that account's active keys). Needs ``user.manage``."""
    actor = require(session.info.get("actor"), "user.manage")
    label = checked_text(name, "密钥名称", required=True, max_len=100)
    user = session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise NotFoundError(f"用户“{username}”不存在", f"no user {username!r}")
    if not user.active:
        raise ValidationError(f"用户“{username}”已停用，不能为其创建接口密钥", "account disabled")
    taken = session.scalar(
        select(ApiKey.id).where(ApiKey.user_id == user.id, ApiKey.name == label, ApiKey.revoked_at.is_(None))
    )
    if taken is not None:
        raise ValidationError(
            f"用户“{username}”已有名为“{label}”的有效密钥；请换一个名称或先吊销旧密钥", "duplicate key name"
        )
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        user_id=user.id,
        user=user,
        name=label,
        prefix=key[: len(KEY_PREFIX) + SHOWN_PREFIX_CHARS],
        key_hash=key_digest(key),
        created_at=clock.now(),
        created_by=actor.username,
    )
    session.add(row)
    session.flush()
    return NewKey(_info(row), key)


def list_keys(session: Session, username: str | None = None) -> list[ApiKeyInfo]:
    """Keys (all accounts', or ``username``'s), newest first. Needs ``user.manage``."""
    require(session.info.get("actor"), "user.manage")
    query = select(ApiKey).options(selectinload(ApiKey.user)).order_by(ApiKey.id.desc())
    if username:
        query = query.join(User, ApiKey.user_id == User.id).where(User.username == username.strip())
    return [_info(row) for row in session.scalars(query)]


def revoke_key(session: Session, key_id: int) -> ApiKeyInfo:
    """Revoke a key (it stops working at once; the row stays, with its revocation time). Needs
    ``user.manage``. Revoking a revoked key changes nothing."""
    require(session.info.get("actor"), "user.manage")
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFoundError(f"没有编号为 {key_id} 的接口密钥", f"no API key {key_id}")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        session.flush()
    return _info(row)


def actor_for_key(session: Session, key: str) -> Actor:
    """The account ``key`` acts as (its current role and name), or :class:`AuthenticationError`
    when the key is unknown, revoked, or its account is disabled."""
    key = (key or "").strip()
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        raise _unknown()
    row = session.scalar(select(ApiKey).options(selectinload(ApiKey.user)).where(ApiKey.key_hash == key_digest(key)))
    if row is None or row.revoked_at is not None or not row.user.active:
        raise _unknown()
    user = row.user
    return Actor(user.username, UserRole(user.role), user.display_name, user.id)

"""In-app messages (站内消息) of an account: list, unread count, mark read.

For the inbox page: ``user`` is the signed-in :class:`~gis.auth.Actor` (or a
:class:`~gis.store.schema.User` row, or a user id). Each account sees only its own messages;
marking another account's message read is refused.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gis import clock
from gis.auth import Actor
from gis.errors import NotFoundError, PermissionDenied
from gis.incidents.deadlines import as_utc, local_iso
from gis.notify.core import KIND_LABELS
from gis.store.schema import NotifyMessage, User

__all__ = ["mark_read", "message_dict", "messages_for", "unread_count"]


def _user_id(session: Session, user: Actor | User | int) -> int:
    if isinstance(user, int):
        return user
    if isinstance(user, User):
        return user.id
    if user.user_id is not None:
        return user.user_id
    found = session.scalar(select(User.id).where(User.username == user.username))
    if found is None:
        raise NotFoundError(f"用户“{user.username}”不存在", f"no user {user.username!r}")
    return int(found)


def message_dict(m: NotifyMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "kind": m.kind,
        "kind_label": KIND_LABELS.get(m.kind, m.kind),
        "title": m.title,
        "body": m.body,
        "link": m.link,
        "incident_id": m.incident_id,
        "grid_id": m.grid_id,
        "created_at": local_iso(as_utc(m.created_at)),
        "read": m.read_at is not None,
        "read_at": local_iso(as_utc(m.read_at)),
    }


def messages_for(session: Session, user: Actor | User | int, *, unread_only: bool = False) -> list[dict[str, Any]]:
    """The account's messages, newest first (only the unread ones with ``unread_only``)."""
    query = select(NotifyMessage).where(NotifyMessage.user_id == _user_id(session, user))
    if unread_only:
        query = query.where(NotifyMessage.read_at.is_(None))
    return [message_dict(m) for m in session.scalars(query.order_by(NotifyMessage.id.desc()))]


def unread_count(session: Session, user: Actor | User | int) -> int:
    """How many of the account's messages are unread (the sidebar's count)."""
    uid = _user_id(session, user)
    query = (
        select(func.count())
        .select_from(NotifyMessage)
        .where(NotifyMessage.user_id == uid, NotifyMessage.read_at.is_(None))
    )
    return int(session.scalar(query) or 0)


def mark_read(session: Session, user: Actor | User | int, message_id: int) -> None:
    """Mark message ``message_id`` of the account read (again: no change).

    Raises
    ------
    NotFoundError
        No such message.
    PermissionDenied
        The message belongs to another account.
    """
    uid = _user_id(session, user)
    owner = session.scalar(select(NotifyMessage.user_id).where(NotifyMessage.id == message_id))
    if owner is None:
        raise NotFoundError(f"没有编号为 {message_id} 的消息", f"no message {message_id}")
    if owner != uid:
        raise PermissionDenied("不能将他人的消息标为已读", f"message {message_id} belongs to another account")
    session.execute(
        update(NotifyMessage)
        .where(NotifyMessage.id == message_id, NotifyMessage.read_at.is_(None))
        .values(read_at=clock.now())
    )

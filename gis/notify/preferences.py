"""A person's notification settings: e-mail, chosen channels, quiet hours (session-bound).

Written through the audited session on the ``persons`` row, so 修改记录 shows and can undo them:
by staff for anyone (permission ``org.write``, like every change of a person's record), and by each
account for its own person (:func:`set_my_preferences`; only these three columns).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gis.auth import Actor
from gis.errors import ConflictError, NotFoundError, ValidationError
from gis.notify.core import PERSON_CHANNELS, parse_channels, parse_quiet_hours
from gis.store.schema import Person, User

__all__ = ["my_preferences", "preferences_dict", "set_my_preferences", "set_preferences"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def preferences_dict(p: Person) -> dict[str, Any]:
    return {
        "person_id": p.id,
        "name": p.name,
        "email": p.email,
        "phone": p.phone,
        "channels": sorted(parse_channels(p.notify_channels)) or list(PERSON_CHANNELS),
        "channels_chosen": bool(p.notify_channels),
        "quiet_hours": p.quiet_hours,
    }


def set_preferences(
    session: Session,
    person_id: int,
    *,
    email: str | None = None,
    channels: str | None = None,
    quiet_hours: str | None = None,
) -> dict[str, Any]:
    """Change what is given (None: keep): ``email`` (empty clears it), ``channels``
    (``inapp,email,sms``; empty: every channel the record allows), ``quiet_hours`` (``22:00-07:00``;
    empty: the installation's default)."""
    p = session.get(Person, person_id)
    if p is None:
        raise NotFoundError(f"没有编号为 {person_id} 的人员", f"no person {person_id}")
    if email is not None:
        email = email.strip()
        if email and not _EMAIL.match(email):
            raise ValidationError(f"电子邮箱格式无效：{email}", f"bad e-mail {email!r}")
        p.email = email
    if channels is not None:
        p.notify_channels = ",".join(c for c in PERSON_CHANNELS if c in parse_channels(channels))
    if quiet_hours is not None:
        parse_quiet_hours(quiet_hours)
        p.quiet_hours = quiet_hours.strip()
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError("人员信息已被他人修改，请刷新后重试", f"stale person: {exc}") from exc
    return preferences_dict(p)


def _own_person(session: Session, actor: Actor) -> Person:
    account = session.get(User, actor.user_id) if actor.user_id is not None else None
    person = session.get(Person, account.person_id) if account is not None and account.person_id else None
    if person is None:
        raise ValidationError(
            "本账号没有关联人员，无法设置消息接收方式；请安全管理员在“用户管理”中为本账号关联人员",
            f"account {actor.username!r} has no person",
        )
    return person


def my_preferences(session: Session, actor: Actor) -> dict[str, Any]:
    """The notification settings of the account's own person."""
    return preferences_dict(_own_person(session, actor))


def set_my_preferences(
    session: Session,
    actor: Actor,
    *,
    email: str | None = None,
    channels: str | None = None,
    quiet_hours: str | None = None,
) -> dict[str, Any]:
    """:func:`set_preferences` on the account's own person (each person chooses their channels)."""
    return set_preferences(
        session, _own_person(session, actor).id, email=email, channels=channels, quiet_hours=quiet_hours
    )

"""A person's notification settings: e-mail, chosen channels, quiet hours (session-bound).

Written through the audited session on the ``persons`` row (permission ``org.write``, like
every change of a person's record), so 修改记录 shows and can undo them.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gis.errors import ConflictError, NotFoundError, ValidationError
from gis.notify.core import PERSON_CHANNELS, parse_channels, parse_quiet_hours
from gis.store.schema import Person

__all__ = ["preferences_dict", "set_preferences"]

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

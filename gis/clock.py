"""The one source of "now" for pages, the command line, services and jobs.

Every time the application records or judges (when a case is reported, which month a page opens
on, whether a deadline has passed, which posts are current, when a row was audited or a sign-in
lock ends) comes from :func:`now` or :func:`today`, never from ``datetime.now()`` directly.

``RIVERGRID_NOW`` (ISO 8601, e.g. ``2026-11-28T08:00+08:00``; a time without zone is Beijing
time) sets the clock to that moment; it then runs on at the speed of real time, so durations,
orderings and lock times behave as usual. It starts at ``RIVERGRID_NOW_SINCE`` (real Unix
seconds) when given, otherwise when this module is first imported: processes that share both
variables (the test suite, the CLI and app servers it starts) share one clock. The tests set
both, so that the suite gives the same result on any real date; a training installation can set
``RIVERGRID_NOW`` to live on a chosen date. Unset, it is the system clock.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime

from gis.errors import ValidationError
from gis.model import LOCAL_TZ

ENV = "RIVERGRID_NOW"
SINCE_ENV = "RIVERGRID_NOW_SINCE"
_IMPORTED_AT = time.time()


def parse_moment(text: str, *, what: str = ENV) -> datetime:
    """An aware datetime from ISO 8601 ``text`` (a naive time is Beijing time)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(
            f"{what} 的时间格式无效：{text}（应为 ISO 8601，如 2026-11-28T08:00+08:00）",
            f"bad ISO 8601 time {text!r} in {what}",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TZ)
    return moment


def offset_seconds() -> float:
    """Seconds to add to the system clock (0 unless ``RIVERGRID_NOW`` is set)."""
    text = (os.environ.get(ENV) or "").strip()
    if not text:
        return 0.0
    since_text = (os.environ.get(SINCE_ENV) or "").strip()
    try:
        since = float(since_text) if since_text else _IMPORTED_AT
    except ValueError:
        raise ValidationError(f"{SINCE_ENV} 应为 Unix 秒数：{since_text}", f"bad {SINCE_ENV} {since_text!r}") from None
    return parse_moment(text).timestamp() - since


def now() -> datetime:
    """The current moment, timezone-aware UTC (see ``RIVERGRID_NOW``)."""
    return datetime.fromtimestamp(time.time() + offset_seconds(), UTC)


def local_now() -> datetime:
    """The current moment in Beijing time (:data:`gis.model.LOCAL_TZ`)."""
    return now().astimezone(LOCAL_TZ)


def today() -> date:
    """Today's date in Beijing time."""
    return local_now().date()

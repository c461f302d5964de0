"""What every collection shares: the query (bbox, limit/offset, datetime), a page of features,
who is asking and what they may read, and the paging engine (bbox in SQL on PostGIS, in
shapely on SQLite).

* :class:`FeatureQuery` holds a request's filters; :meth:`FeatureQuery.parse` reads them from
  text as the OGC API gives them (``bbox=126.8,41.7,127.0,41.9``, ``limit``, ``offset``,
  ``datetime=2026-11-01T00:00:00+08:00/..``) and refuses bad ones with a Chinese message.
* :class:`Viewer` is who asks (:func:`viewer_of`); :data:`DISCLOSED`, :data:`PUBLIC` and
  :data:`SIGNED_IN` are the three access levels of collections (:func:`require_access`).
* :func:`paged_rows` runs a collection's SELECT with the filters and returns one page of rows,
  in id order, and the number matched.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import LoaderOption

from gis.accounts.installation import open_reading
from gis.auth import EVERYTHING, Actor, Scope, require
from gis.errors import AuthenticationError, ValidationError
from gis.model import LOCAL_TZ, STORE_SRID
from gis.store.scope import scope_of

__all__ = [
    "ALL",
    "DEFAULT_LIMIT",
    "DISCLOSED",
    "MAX_LIMIT",
    "PUBLIC",
    "SIGNED_IN",
    "BBox",
    "Feature",
    "FeaturePage",
    "FeatureQuery",
    "Spatial",
    "TimeInterval",
    "Viewer",
    "column_spatial",
    "envelope",
    "is_postgis",
    "may_read",
    "page_in_python",
    "paged_rows",
    "parse_bbox",
    "parse_datetime",
    "require_access",
    "viewer_of",
]

DEFAULT_LIMIT = 100
"""Features per page when the request names no ``limit``."""
MAX_LIMIT = 10_000
"""Most features per page; a larger ``limit`` is lowered to it (as OGC API Features asks)."""

DISCLOSED = "disclosed"
"""Access level of what the public disclosure page shows (rivers, reaches, grids): anyone, always."""
PUBLIC = "public"
"""Access level of public fields of the rest (objects, blind spots, incidents): anyone while
reading is open to anonymous visitors (:func:`gis.accounts.installation.open_reading`), else a key."""
SIGNED_IN = "signed_in"
"""Access level of what needs an account (tracks): an API key, always."""

BBox = tuple[float, float, float, float]
"""(min lon, min lat, max lon, max lat) in WGS84 decimal degrees."""


# ---------------------------------------------------------------------------------------------
# The query
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeInterval:
    """A closed interval of time (either end may be open: None); aware datetimes."""

    start: datetime | None = None
    end: datetime | None = None

    def where(self, column: Any) -> list[ColumnElement[bool]]:
        """SQL conditions for ``column`` to lie in the interval."""
        out: list[ColumnElement[bool]] = []
        if self.start is not None:
            out.append(column >= self.start)
        if self.end is not None:
            out.append(column <= self.end)
        return out

    def contains(self, moment: datetime | None) -> bool:
        if moment is None:
            return self.start is None and self.end is None
        return (self.start is None or moment >= self.start) and (self.end is None or moment <= self.end)


@dataclass(frozen=True)
class FeatureQuery:
    """Filters of one request.

    ``bbox`` in WGS84 degrees; ``limit`` None: every feature (the overview map, exports);
    ``offset`` features skipped (in id order); ``interval`` applies where the collection has a
    time (incidents: reported, tracks: started); ``ids`` selects features by id.
    """

    bbox: BBox | None = None
    limit: int | None = None
    offset: int = 0
    interval: TimeInterval | None = None
    ids: tuple[int, ...] | None = None

    @classmethod
    def parse(
        cls,
        *,
        bbox: str | None = None,
        limit: str | None = None,
        offset: str | None = None,
        datetime_: str | None = None,
        bbox_crs: str | None = None,
    ) -> FeatureQuery:
        """A query from request parameters (text); ``limit`` defaults to :data:`DEFAULT_LIMIT`.

        Raises
        ------
        ValidationError
            A parameter that cannot be read (the message names it and what is expected).
        """
        return cls(
            bbox=None if bbox is None else parse_bbox(bbox, crs=bbox_crs),
            limit=_parse_limit(limit),
            offset=_parse_int(offset, "offset", minimum=0, default=0),
            interval=None if datetime_ is None else parse_datetime(datetime_),
        )


ALL = FeatureQuery()
"""Every feature."""


def _parse_int(text: str | None, name: str, *, minimum: int, default: int) -> int:
    if text is None or not text.strip():
        return default
    try:
        value = int(text.strip())
    except ValueError:
        raise ValidationError(f"参数 {name} 须为整数，收到“{text}”", f"{name} is not an integer: {text!r}") from None
    if value < minimum:
        raise ValidationError(f"参数 {name} 不能小于 {minimum}", f"{name} below {minimum}: {value}")
    return value


def _parse_limit(text: str | None) -> int:
    return min(_parse_int(text, "limit", minimum=1, default=DEFAULT_LIMIT), MAX_LIMIT)


CRS84_URIS = frozenset(
    {
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        "https://www.opengis.net/def/crs/OGC/1.3/CRS84",
        "[OGC:CRS84]",
        "OGC:CRS84",
    }
)


def parse_bbox(text: str, *, crs: str | None = None) -> BBox:
    """``minlon,minlat,maxlon,maxlat`` (or the six numbers of a 3D box) in WGS84 degrees.

    Raises
    ------
    ValidationError
        Not four or six numbers, outside the longitude/latitude ranges, min above max (a box
        across the antimeridian is not supported), or ``crs`` other than CRS84.
    """
    if crs is not None and crs.strip() and crs.strip() not in CRS84_URIS:
        raise ValidationError(
            "参数 bbox-crs 只支持 CRS84（http://www.opengis.net/def/crs/OGC/1.3/CRS84，经度在前）",
            f"unsupported bbox-crs {crs!r}",
        )
    parts = [p.strip() for p in text.split(",")]
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) not in (4, 6) or not all(math.isfinite(n) for n in numbers):
        raise ValidationError(
            f"参数 bbox 须为“最小经度,最小纬度,最大经度,最大纬度”四个数，收到“{text}”",
            f"bbox is not 4 or 6 numbers: {text!r}",
        )
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    minx, miny, maxx, maxy = numbers
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
        raise ValidationError(
            f"参数 bbox 超出经纬度范围（经度 -180 至 180，纬度 -90 至 90）：{text}", f"bbox out of range: {text!r}"
        )
    if minx > maxx or miny > maxy:
        raise ValidationError(
            f"参数 bbox 的最小值大于最大值（不支持跨越 180° 经线的范围）：{text}", f"bbox min above max: {text!r}"
        )
    return (minx, miny, maxx, maxy)


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _moment(text: str, *, end: bool) -> datetime | None:
    """One end of a datetime parameter: None for an open end (``..`` or empty)."""
    text = text.strip()
    if text in ("", ".."):
        return None
    try:
        if _DATE_ONLY.match(text):  # a whole day in Beijing time
            day = date.fromisoformat(text)
            start = datetime.combine(day, time(0), tzinfo=LOCAL_TZ)
            moment = start + timedelta(days=1) - timedelta(microseconds=1) if end else start
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"参数 datetime 无法识别“{text}”：须为 RFC 3339 时间（如 2026-11-01T08:00:00+08:00）"
            "或区间“开始/结束”（开放一端写 ..）",
            f"unreadable datetime {text!r}",
        ) from None
    if moment.tzinfo is None:  # a wall clock in Beijing time
        moment = moment.replace(tzinfo=LOCAL_TZ)
    return moment.astimezone(UTC)


def parse_datetime(text: str) -> TimeInterval:
    """An RFC 3339 instant or interval ``start/end`` (``..`` or empty for an open end).

    An instant selects that moment; a date alone (``2026-11-01``) the whole day in Beijing
    time, as does a date at either end of an interval. Times without an offset are Beijing time.

    Raises
    ------
    ValidationError
        Unreadable text, or a start after the end.
    """
    if "/" in text:
        first, _, second = text.partition("/")
        interval = TimeInterval(_moment(first, end=False), _moment(second, end=True))
    else:
        interval = TimeInterval(_moment(text, end=False), _moment(text, end=True))
        if interval.start is None:
            raise ValidationError("参数 datetime 不能为空", "empty datetime")
    if interval.start is not None and interval.end is not None and interval.start > interval.end:
        raise ValidationError(f"参数 datetime 的开始时间晚于结束时间：{text}", f"datetime start after end: {text!r}")
    return interval


# ---------------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(LOCAL_TZ).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Feature:
    """One feature: its id, geometry (shapely, WGS84 lon/lat; None when not drawn) and
    properties (plain values; times as aware datetimes)."""

    id: int
    geometry: BaseGeometry | None
    properties: dict[str, Any] = field(default_factory=dict)

    def json_properties(self) -> dict[str, Any]:
        """The properties ready for JSON: times in RFC 3339, Beijing time (``+08:00``)."""
        return {k: _json_value(v) for k, v in self.properties.items()}


@dataclass(frozen=True)
class FeaturePage:
    """One page of a collection: ``features`` (in id order) and ``number_matched``, the count of
    every feature the filters select (all pages)."""

    features: list[Feature]
    number_matched: int
    offset: int = 0
    limit: int | None = None

    @property
    def number_returned(self) -> int:
        return len(self.features)

    @property
    def has_next(self) -> bool:
        return self.offset + self.number_returned < self.number_matched

    def column(self, name: str) -> list[Any]:
        """The property ``name`` of every feature, in order."""
        return [f.properties.get(name) for f in self.features]


def page_in_python(features: Sequence[Feature], query: FeatureQuery) -> FeaturePage:
    """Filter features built in memory (by id order): ids, bbox (shapely intersects), page."""
    chosen = sorted(features, key=lambda f: f.id)
    if query.ids is not None:
        wanted = set(query.ids)
        chosen = [f for f in chosen if f.id in wanted]
    if query.bbox is not None and chosen:
        hit = shapely.intersects(np.array([f.geometry for f in chosen], dtype=object), shapely.box(*query.bbox))
        chosen = [f for f, h in zip(chosen, hit.tolist(), strict=True) if h]
    end = None if query.limit is None else query.offset + query.limit
    return FeaturePage(chosen[query.offset : end], len(chosen), query.offset, query.limit)


# ---------------------------------------------------------------------------------------------
# Who asks
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """Who asks: an account (``actor``, with its data ``scope``), an anonymous caller, or the
    trusted ``operator`` (no caller: the command line, the pages' map data)."""

    actor: Actor | None
    scope: Scope
    operator: bool = False

    @property
    def anonymous(self) -> bool:
        return self.actor is None and not self.operator


def viewer_of(session: Session, *, operator: bool = False) -> Viewer:
    """The viewer of ``session``: its actor (None: anonymous unless ``operator``)."""
    actor = session.info.get("actor")
    if actor is None:
        return Viewer(None, EVERYTHING, operator)
    require(actor, "read")
    return Viewer(actor, scope_of(session, actor), operator)


def require_access(session: Session, viewer: Viewer, access: str, title: str) -> None:
    """Refuse an anonymous ``viewer`` a collection of level ``access`` it may not read.

    Raises
    ------
    AuthenticationError
        ``access`` is :data:`SIGNED_IN`, or :data:`PUBLIC` while anonymous reading is limited
        to the disclosure (``RIVERGRID_READ_LOGIN``).
    """
    if not viewer.anonymous or access == DISCLOSED:
        return
    if access == SIGNED_IN:
        raise AuthenticationError(
            f"“{title}”需要接口密钥才能查看（请求头 X-API-Key）", f"an API key is needed to read {title}"
        )
    if not open_reading(session):
        raise AuthenticationError(
            "本系统设置为登录后才能查看，未使用接口密钥时只能查看公示的河流、河段和网格；"
            f"“{title}”需要接口密钥（请求头 X-API-Key）",
            "anonymous reading is limited to the disclosed collections (RIVERGRID_READ_LOGIN)",
        )


def may_read(session: Session, viewer: Viewer, access: str) -> bool:
    """Whether ``viewer`` may read a collection of level ``access`` (no error)."""
    try:
        require_access(session, viewer, access, "")
    except AuthenticationError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Paging engine
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spatial:
    """How a collection's rows are filtered by a bbox.

    ``sql(envelope)``: the PostGIS condition, given ``ST_MakeEnvelope(...)``; ``pairs(where)``:
    a SELECT of ``(id, geometry, ...)`` rows for the shapely path (a row id may come several
    times: it matches when any of its geometries does); ``shown(row)`` the geometry the caller
    will see (default: the row's second column); ``sql_ok`` False forces the shapely path (when
    the geometry shown differs from the stored one, e.g. a coarsened location).
    """

    sql: Callable[[ColumnElement[Any]], ColumnElement[bool]]
    pairs: Callable[[Sequence[ColumnElement[bool]]], Select[Any]]
    shown: Callable[[Any], BaseGeometry | None] = field(default=lambda row: row[1])
    sql_ok: bool = True

    def without_sql(self, shown: Callable[[Any], BaseGeometry | None]) -> Spatial:
        """This filter on the shown geometry, in shapely only."""
        return replace(self, shown=shown, sql_ok=False)


def column_spatial(model: Any, column: Any) -> Spatial:
    """The bbox filter of a table with one geometry column: ``column && envelope AND
    ST_Intersects(column, envelope)`` on PostGIS (the GiST index serves ``&&``)."""

    def sql(envelope: ColumnElement[Any]) -> ColumnElement[bool]:
        overlaps: ColumnElement[bool] = column.op("&&", is_comparison=True)(envelope)
        return overlaps & func.ST_Intersects(column, envelope).is_(True)

    def pairs(where: Sequence[ColumnElement[bool]]) -> Select[Any]:
        return select(model.id, column).where(*where)

    return Spatial(sql, pairs)


def envelope(bbox: BBox) -> ColumnElement[Any]:
    """``ST_MakeEnvelope`` of ``bbox`` in the store's SRID."""
    return func.ST_MakeEnvelope(bbox[0], bbox[1], bbox[2], bbox[3], STORE_SRID)


def is_postgis(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _ids_in_bbox(ordered_ids: Iterable[int], rows: Sequence[Any], spatial: Spatial, bbox: BBox) -> list[int]:
    geoms = np.array([spatial.shown(r) for r in rows], dtype=object)
    hit = shapely.intersects(geoms, shapely.box(*bbox)) if len(rows) else np.zeros(0, bool)
    matched = {int(r[0]) for r, h in zip(rows, hit.tolist(), strict=True) if h}
    return [i for i in ordered_ids if i in matched]


def paged_rows(
    session: Session,
    model: Any,
    where: Sequence[ColumnElement[bool]],
    query: FeatureQuery,
    *,
    spatial: Spatial,
    options: Sequence[LoaderOption] = (),
) -> tuple[list[Any], int]:
    """One page of ``model`` rows selected by ``where`` and ``query``, in id order, and the
    number of rows matched.

    The bbox is a SQL condition on PostGIS (``spatial.sql``: the GiST index is used) and a
    shapely intersection elsewhere (``spatial.pairs``), or when ``spatial.sql_ok`` is False.
    """
    conditions = list(where)
    if query.ids is not None:
        conditions.append(model.id.in_(query.ids))
    if query.bbox is not None and not (spatial.sql_ok and is_postgis(session)):
        ordered = session.scalars(select(model.id).where(*conditions).order_by(model.id)).all()
        rows = session.execute(spatial.pairs(conditions)).all()
        ids = _ids_in_bbox(ordered, rows, spatial, query.bbox)
        end = None if query.limit is None else query.offset + query.limit
        page = ids[query.offset : end]
        if not page:
            return [], len(ids)
        found = session.scalars(select(model).where(model.id.in_(page)).options(*options).order_by(model.id)).all()
        return list(found), len(ids)
    if query.bbox is not None:
        conditions.append(spatial.sql(envelope(query.bbox)))
    stmt = select(model).where(*conditions)
    if query.limit is None and query.offset == 0:
        rows_all = list(session.scalars(stmt.options(*options).order_by(model.id)).all())
        return rows_all, len(rows_all)
    paged = stmt.options(*options).order_by(model.id).offset(query.offset)
    if query.limit is not None:
        paged = paged.limit(query.limit)
    rows = list(session.scalars(paged).all())
    if rows and (query.limit is None or len(rows) < query.limit):  # the last page: no need to count
        return rows, query.offset + len(rows)
    matched = int(session.scalar(select(func.count()).select_from(select(model.id).where(*conditions).subquery())) or 0)
    return rows, matched

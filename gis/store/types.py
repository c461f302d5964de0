"""Column types that behave the same on SQLite and PostgreSQL + PostGIS.

* :class:`Geometry` holds a shapely geometry. On PostgreSQL it is a real PostGIS
  ``geometry(<type>, <srid>)`` column (so PostGIS functions and GiST indexes work on it); on
  SQLite it is a WKB blob, and spatial work happens in shapely with an STRtree.
* :class:`UTCDateTime` stores timezone-aware datetimes as UTC on both backends and always
  returns timezone-aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import DateTime, LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

from gis.model import STORE_SRID


class PostGISGeometry(UserDefinedType[Any]):
    """DDL-only PostGIS ``geometry(type, srid)`` type; values travel as hex EWKB text."""

    cache_ok = True

    def __init__(self, geometry_type: str = "Geometry", srid: int = STORE_SRID) -> None:
        self.geometry_type = geometry_type
        self.srid = srid

    def get_col_spec(self, **kw: Any) -> str:
        return f"geometry({self.geometry_type},{self.srid})"


class Geometry(TypeDecorator[Any]):
    """A shapely geometry column in the store CRS (EPSG:4326 unless ``srid`` says otherwise).

    Parameters
    ----------
    geometry_type
        PostGIS type name: ``Geometry`` (any), ``Point``, ``LineString``, ``Polygon``, …
    srid
        Spatial reference id stored with every value.
    """

    impl = LargeBinary
    cache_ok = True

    def __init__(self, geometry_type: str = "Geometry", srid: int = STORE_SRID) -> None:
        super().__init__()
        self.geometry_type = geometry_type
        self.srid = srid

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(PostGISGeometry(self.geometry_type, self.srid))
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: BaseGeometry | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, BaseGeometry):
            raise TypeError(f"expected a shapely geometry, got {type(value).__name__}")
        if dialect.name == "postgresql":
            return shapely.to_wkb(shapely.set_srid(value, self.srid), hex=True, include_srid=True)
        return shapely.to_wkb(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> BaseGeometry | None:
        if value is None:
            return None
        if isinstance(value, memoryview):
            value = value.tobytes()
        geom = shapely.from_wkb(value)
        return shapely.set_srid(geom, 0)

    def compare_values(self, x: Any, y: Any) -> bool:
        if x is None or y is None:
            return x is y
        return bool(shapely.equals_exact(x, y, tolerance=0.0)) and x.geom_type == y.geom_type


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetime stored as UTC; naive input is refused."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(DateTime(timezone=True))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a timezone-aware datetime (UTC)")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _register_reflection() -> None:
    """Let SQLAlchemy reflect PostGIS ``geometry`` columns (Alembic's schema comparison)."""
    from sqlalchemy.dialects.postgresql.base import ischema_names  # noqa: PLC0415 — the PostgreSQL dialect only when reflecting PostGIS

    ischema_names.setdefault("geometry", PostGISGeometry)


_register_reflection()

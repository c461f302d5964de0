"""The store: SQLite by default, PostgreSQL + PostGIS through ``DATABASE_URL``."""

from gis.store.engine import Store, make_engine, upgrade

__all__ = ["Store", "make_engine", "upgrade"]

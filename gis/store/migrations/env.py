"""Alembic environment: runs on the connection handed over by :func:`gis.store.upgrade`."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine

from gis.config import settings
from gis.store.schema import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # the alembic command line: use DATABASE_URL or the default SQLite file
    engine = create_engine(settings().database_url)
    after_commit: list[Any] = []  # work a revision leaves for after the commit (see gis.store.upgrade)
    config.attributes["after_commit"] = after_commit
    with engine.begin() as conn:
        _run(conn)
    with engine.begin() as conn:
        for work in after_commit:
            work(conn)

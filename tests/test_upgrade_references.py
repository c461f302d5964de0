"""Upgrading a database whose rows refer to a table that a later revision rebuilds.

SQLite alters a table by copying it and dropping the old one; with references enforced, rows of
another table pointing at it (a case linked to a supervised object) stopped the upgrade of every
database written before revision 0012 (the object ledger). The upgrade now runs with references
unenforced and checks all of them before it commits.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from shapely.geometry import Point
from sqlalchemy import Column, Integer, MetaData, Table, text
from sqlalchemy import inspect as sa_inspect

from gis.errors import RiverGridError
from gis.store.engine import make_engine, upgrade
from gis.store.schema import SupervisedObject
from tests.test_photo_privacy import two_cases_at_an_old_revision


def _object_at_old_revision(engine) -> int:  # type: ignore[no-untyped-def]
    have = {c["name"] for c in sa_inspect(engine).get_columns("supervised_objects")}
    values = {"name": "旧版本中的排污口", "category": "sewage_outlet", "description": "", "geom": Point(126.95, 41.79)}
    table = Table(
        "supervised_objects",
        MetaData(),
        Column("id", Integer, primary_key=True),
        *[Column(c.name, c.type) for c in SupervisedObject.__table__.c if c.name in have and c.name in values],
    )
    with engine.begin() as conn:
        return int(conn.execute(table.insert().values({k: v for k, v in values.items() if k in have})).inserted_primary_key[0])


def test_an_old_database_with_cases_linked_to_objects_upgrades(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RIVERGRID_BACKUP_ON_UPGRADE", "0")
    engine = make_engine(store_url)
    upgrade(engine, "0008")
    two_cases_at_an_old_revision(engine)
    obj = _object_at_old_revision(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE incidents SET object_id = :o WHERE code = 'SJ-OLD-1'"), {"o": obj})

    upgrade(engine)  # through 0012, which rebuilds supervised_objects

    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0015"
        linked = conn.execute(text("SELECT code, object_id FROM incidents ORDER BY code")).all()
        assert [tuple(r) for r in linked] == [("SJ-OLD-1", obj), ("SJ-OLD-2", None)]
        assert conn.execute(text("SELECT name FROM supervised_objects WHERE id = :o"), {"o": obj}).scalar_one() == (
            "旧版本中的排污口"
        )
        if engine.dialect.name == "sqlite":  # references are enforced again on the pooled connection
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    engine.dispose()


def test_a_broken_reference_left_by_an_upgrade_undoes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """References are checked before the upgrade commits: a dangling one stops it, in Chinese, and
    the database stays at its old revision with its rows."""
    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RIVERGRID_BACKUP_ON_UPGRADE", "0")
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    upgrade(engine, "0008")
    two_cases_at_an_old_revision(engine)
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA foreign_keys=OFF")
        raw.driver_connection.execute("UPDATE incidents SET object_id = 9999 WHERE code = 'SJ-OLD-1'")
        raw.driver_connection.execute("PRAGMA foreign_keys=ON")
    finally:
        raw.close()
    with pytest.raises(RiverGridError, match="引用对不上"):
        upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0008"
        assert conn.execute(text("SELECT count(*) FROM incidents")).scalar_one() == 2
    engine.dispose()

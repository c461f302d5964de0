"""Shared fixtures. ``store`` runs each test on SQLite and on PostgreSQL + PostGIS.

PostGIS comes from ``RIVERGRID_TEST_PG_URL`` (``scripts/run_tests.sh`` starts a local cluster and
sets it). Without it the PostGIS runs are skipped on a developer machine, but fail under
``CI=true``: CI must never pass with the server tests silently skipped.

Templates: a store migrated to head and one holding the demo (:func:`gis.demo.load.load_demo`) are
built once per test session (per xdist worker) and per store kind, under the session's pinned
clock; ``store``, ``demo_store`` and ``app_env`` give each test its own writable copy (a SQLite
file copied with SQLite's backup API, a PostgreSQL schema rebuilt from a ``pg_dump`` of the
template schema). Tests about the migrations or about loading the demo run them in their body.

Under pytest-xdist each worker is a process of its own: schemas are named by a random UUID (never
by the worker), so workers, and other test runs on the same server, never share one.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from gis.store import Store

TEST_NOW = "2026-11-28T08:00:00+08:00"
"""Where the clock of every test starts (:mod:`gis.clock`): the demo's reference time, a Saturday.
It runs on in real time from the start of the session; set in the environment, so that the CLI
and app processes started by tests share it. The suite gives the same result on any real date."""
os.environ["RIVERGRID_NOW"] = TEST_NOW
os.environ["RIVERGRID_NOW_SINCE"] = repr(time.time())
os.environ.setdefault("RIVERGRID_BACKUP_ON_UPGRADE", "0")  # no backup before each test's migrations (test_backup.py)
os.environ.setdefault("RIVERGRID_NOTIFY_INTERVAL_S", "0")  # app servers of tests run no notification pass (test_notify.py)

PG_URL = os.environ.get("RIVERGRID_TEST_PG_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests (``e2e``) run outside the parallel workers too (``serial``)."""
    for item in items:
        if item.get_closest_marker("e2e") is not None and item.get_closest_marker("serial") is None:
            item.add_marker(pytest.mark.serial)


def _require_pg() -> str:
    if not PG_URL:
        if IN_CI:
            pytest.fail("RIVERGRID_TEST_PG_URL is not set: PostGIS tests must run in CI")
        pytest.skip("RIVERGRID_TEST_PG_URL not set (start PostGIS with scripts/run_tests.sh)")
    return PG_URL


def _schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema},public"


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """Name of a fresh, empty schema in the PostGIS test database (dropped afterwards)."""
    base = _require_pg()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield schema
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def pg_url(pg_schema: str) -> str:
    """URL of a fresh, empty schema in the PostGIS test database (dropped afterwards)."""
    return _schema_url(PG_URL, pg_schema)


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return request.getfixturevalue("pg_url")


# --- templates: built once per session, copied per test ---------------------------------------------------
# A store migrated to head (``store``) and one holding the demo (``demo_store``, ``app_env``), for each
# kind. Built lazily, under the session's pinned clock, by the code under test; never written to after.


def _fill_empty(store: Store) -> None:
    """Nothing: the migrations that ``Store()`` ran are the whole template."""


def _fill_demo(store: Store) -> None:
    from gis.demo.load import load_demo

    load_demo(store)


def _sqlite_template(factory: pytest.TempPathFactory, name: str, fill: Callable[[Store], None]) -> Path:
    path = factory.mktemp(f"{name}-template") / f"{name}.sqlite"
    store = Store(f"sqlite:///{path}")
    try:
        fill(store)
    finally:
        store.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def empty_template_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file as ``Store()`` leaves a new one: the schema at head, no data."""
    return _sqlite_template(tmp_path_factory, "empty", _fill_empty)


@pytest.fixture(scope="session")
def demo_template_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding the demo as ``load_demo`` leaves a new store."""
    return _sqlite_template(tmp_path_factory, "demo", _fill_demo)


def copy_sqlite_file(template: Path, target: Path) -> None:
    """Make the SQLite database ``target`` (new, or open elsewhere) a copy of ``template``.
    SQLite's online backup copies every page and leaves ``target`` in WAL mode like the template."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(template)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


@pytest.fixture
def demo_sqlite_copy(demo_template_sqlite: Path) -> Callable[[Path], Path]:
    """Factory: ``demo_sqlite_copy(path)`` makes ``path`` a SQLite file holding a fresh copy of the
    demo (as ``load_demo`` on a new store there would) and returns it."""

    def copy(path: Path) -> Path:
        copy_sqlite_file(demo_template_sqlite, path)
        return path

    return copy


def _pg_template(name: str, fill: Callable[[Store], None]) -> tuple[str, str]:
    """(schema name, SQL): ``pg_dump`` of a schema that ``Store()`` migrated and ``fill`` filled.
    Running the SQL with the schema's name replaced rebuilds an identical schema (tables, data,
    sequences, constraints, indexes, the audit log's trigger and its function)."""
    base = _require_pg()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    schema = f"{name}_template_{worker}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        store = Store(_schema_url(base, schema))
        try:
            fill(store)
        finally:
            store.dispose()
        url = make_url(base)
        dumped = subprocess.run(
            ["pg_dump", "--host", url.host or "localhost", "--port", str(url.port or 5432),
             "--username", url.username or "", "--dbname", url.database or "", "--schema", schema,
             "--no-owner", "--no-privileges", "--inserts", "--rows-per-insert=1000"],
            env={**os.environ, "PGPASSWORD": url.password or ""}, capture_output=True, text=True, check=False)
        if dumped.returncode != 0:
            pytest.fail(f"pg_dump of the {name} template failed: {dumped.stderr}")
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()
    # psql's meta-commands (\restrict …) are not SQL
    return schema, "\n".join(line for line in dumped.stdout.splitlines() if not line.startswith("\\"))


@pytest.fixture(scope="session")
def empty_template_pg() -> tuple[str, str]:
    """The PostGIS counterpart of ``empty_template_sqlite`` (see :func:`_pg_template`)."""
    return _pg_template("empty", _fill_empty)


@pytest.fixture(scope="session")
def demo_template_pg() -> tuple[str, str]:
    """The PostGIS counterpart of ``demo_template_sqlite`` (see :func:`_pg_template`)."""
    return _pg_template("demo", _fill_demo)


def copy_pg_schema(template: tuple[str, str], schema: str) -> None:
    """Make ``schema`` (empty, or holding tables) a copy of the template schema."""
    name, sql = template
    admin = create_engine(PG_URL)
    raw = admin.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE;\n" + sql.replace(name, schema))
        cur.close()
        raw.commit()
    finally:
        raw.close()
        admin.dispose()


def _store_from_template(store_url: str, request: pytest.FixtureRequest, name: str) -> Store:
    """A Store at ``store_url`` (a test's own SQLite file or schema) holding a copy of the
    session's ``name`` template (``empty`` or ``demo``)."""
    if store_url.startswith("sqlite"):
        copy_sqlite_file(request.getfixturevalue(f"{name}_template_sqlite"), Path(make_url(store_url).database or ""))
    else:
        copy_pg_schema(request.getfixturevalue(f"{name}_template_pg"), request.getfixturevalue("pg_schema"))
    return Store(store_url, migrate=False)  # the template was migrated to head in this session


@pytest.fixture
def demo_store(store_url: str, request: pytest.FixtureRequest) -> Iterator[Store]:
    """The store of ``store_url`` (both kinds) holding a fresh copy of the demo: what
    ``load_demo(Store(store_url))`` gives, copied from the session's template."""
    s = _store_from_template(store_url, request, "demo")
    yield s
    s.dispose()


@pytest.fixture
def app_env(tmp_path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator:  # type: ignore[no-untyped-def]
    """A fresh data folder for the app in demo mode, no basemap tiles, and Streamlit's process-wide
    caches emptied before and after. The folder's database already holds the demo, a copy of the
    session's template (what the app's first start in demo mode would load); a test marked
    ``first_start`` gets an empty folder, and the app loads the demo itself."""
    import streamlit as st

    if request.node.get_closest_marker("first_start") is None:
        copy_sqlite_file(request.getfixturevalue("demo_template_sqlite"), tmp_path / "rivergrid.sqlite")
    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RIVERGRID_DEMO", "1")
    monkeypatch.setenv("RIVERGRID_BASEMAP", "none")
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("RIVERGRID_READ_LOGIN", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield tmp_path
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def store(store_url: str, request: pytest.FixtureRequest) -> Iterator[Store]:
    """A new, empty store at ``store_url`` (both kinds): what ``Store(store_url)`` gives, the
    migrations copied from the session's template."""
    s = _store_from_template(store_url, request, "empty")
    yield s
    s.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def api_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real server (pages and API, ``python -m ui.serve``) on a copy of the demo, on SQLite and
    on PostGIS, shared by the tests of one module (:mod:`tests.api_server`)."""
    from tests.api_server import start_server

    data_dir = tmp_path_factory.mktemp("api")
    schema = None
    if request.param == "sqlite":
        copy_sqlite_file(request.getfixturevalue("demo_template_sqlite"), data_dir / "rivergrid.sqlite")
        url = f"sqlite:///{data_dir / 'rivergrid.sqlite'}"
    else:
        base = _require_pg()
        schema = f"t_{uuid.uuid4().hex[:12]}"
        copy_pg_schema(request.getfixturevalue("demo_template_pg"), schema)
        url = _schema_url(base, schema)
    server = start_server(url, data_dir)
    yield server
    server.stop()
    if schema is not None:
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()

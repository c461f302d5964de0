"""Shared fixtures. ``store`` runs each test on SQLite and on PostgreSQL + PostGIS.

PostGIS comes from ``RIVERGRID_TEST_PG_URL`` (``scripts/run_tests.sh`` starts a local cluster and
sets it). Without it the PostGIS runs are skipped on a developer machine, but fail under
``CI=true``: CI must never pass with the server tests silently skipped.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from gis.store import Store

TEST_NOW = "2026-11-28T08:00:00+08:00"
"""Where the clock of every test starts (:mod:`gis.clock`): the demo's reference time, a Saturday.
It runs on in real time from the start of the session; set in the environment, so that the CLI
and app processes started by tests share it. The suite gives the same result on any real date."""
os.environ["RIVERGRID_NOW"] = TEST_NOW
os.environ["RIVERGRID_NOW_SINCE"] = repr(time.time())
os.environ.setdefault("RIVERGRID_BACKUP_ON_UPGRADE", "0")  # no backup before each test's migrations (test_backup.py)

PG_URL = os.environ.get("RIVERGRID_TEST_PG_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _require_pg() -> str:
    if not PG_URL:
        if IN_CI:
            pytest.fail("RIVERGRID_TEST_PG_URL is not set: PostGIS tests must run in CI")
        pytest.skip("RIVERGRID_TEST_PG_URL not set (start PostGIS with scripts/run_tests.sh)")
    return PG_URL


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a fresh, empty schema in the PostGIS test database (dropped afterwards)."""
    base = _require_pg()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema},public"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def app_env(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator:  # type: ignore[no-untyped-def]
    """A fresh data folder for the app in demo mode (demo loaded on first run), no basemap tiles, and
    Streamlit's process-wide caches emptied before and after."""
    import streamlit as st

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
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    yield s
    s.dispose()

"""The command line starts light: commands that do no geometry or table work load neither pandas
nor geopandas (issue 19, part 6), and what they print is what it was.

Each command runs as a real ``python -m gis`` process under ``-X importtime``, which names every
module the process imported on stderr.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from gis.formatting import local_time
from gis.store import Store
from gis.store.engine import MIGRATIONS_DIR, is_at_head, make_engine, script_heads

PROJECT_DIR = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "geopandas", "pyproj")


def imported(*args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The top-level modules a ``python -m gis ARGS`` process imported, and the process."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gis", *args],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120,
    )
    names = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    return names, proc


def test_help_loads_no_data_stack() -> None:
    names, proc = imported("--help")
    assert proc.returncode == 0 and "河长网格" in proc.stdout
    assert "argparse" in names  # the importtime listing was read
    assert not names & {*HEAVY, "sqlalchemy", "shapely", "alembic"}


@pytest.mark.serial
@pytest.mark.parametrize(
    "command",
    [["calendar", "2025-10-01"], ["info"], ["incident", "list"], ["incident", "list", "--overdue"]],
    ids=["calendar", "info", "incident-list", "incident-list-overdue"],
)
def test_light_commands_load_neither_pandas_nor_geopandas(demo_store: Store, command: list[str]) -> None:
    names, proc = imported(*command, "--json", "--database-url", demo_store.url)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "sqlalchemy" in names or command[0] == "calendar"  # the listing was read
    assert not names & set(HEAVY), sorted(names & set(HEAVY))
    assert "alembic" not in names  # the store is at head: opening it asks alembic nothing
    data = json.loads(proc.stdout)
    if command[:2] == ["incident", "list"] and len(command) == 2:
        assert data and all(row["code"] and row["status"] for row in data)  # the demo's cases, as before
    if command[0] == "calendar":
        assert data["working_day"] is False and data["name"] == "国庆节"


def test_geometry_commands_still_work_with_the_stack(demo_store: Store) -> None:
    names, proc = imported("who", "--lon", "127.02", "--lat", "41.81", "--json", "--database-url", demo_store.url)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "geopandas" in names  # routing a point uses the grids' geometry
    assert json.loads(proc.stdout)["grids"]


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 11, 28, 0, 30),  # naive: UTC, as the store keeps it
        datetime(2026, 11, 28, 0, 30, tzinfo=UTC),
        datetime(2026, 11, 28, 20, 30, tzinfo=timezone(timedelta(hours=-5))),
        datetime(1988, 6, 1, 12, 0, tzinfo=UTC),  # China kept summer time in 1986-1991
    ],
)
def test_local_time_without_pandas_agrees_with_pandas(value: datetime) -> None:
    stamp = pd.Timestamp(value)
    oracle = (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).tz_convert("Asia/Shanghai")
    assert local_time(value) == oracle.strftime("%Y-%m-%d %H:%M")
    assert local_time(stamp) == local_time(value)  # a pandas timestamp: the same text


def test_local_time_missing_and_text() -> None:
    assert local_time(None) == local_time(pd.NaT) == local_time(float("nan")) == ""
    assert local_time("2026-11-28T00:30:00Z") == "2026-11-28 08:30"


def test_the_scripts_heads_are_alembics_heads() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert script_heads() == set(ScriptDirectory.from_config(cfg).get_heads())
    assert len(script_heads()) == 1


def test_only_a_database_at_head_skips_alembic(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    assert not is_at_head(engine)  # no tables yet: alembic creates them
    store = Store(engine.url.render_as_string(hide_password=False))
    assert is_at_head(store.engine)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0014'")
    assert not is_at_head(store.engine)  # one revision behind: alembic migrates as before
    engine.dispose()
    store.dispose()

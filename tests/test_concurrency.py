"""Nothing is lost under simultaneous use, on SQLite and on PostGIS.

Real processes, released together by a barrier: 50 reports through the library and 30 through
the command line are all stored with unique case numbers; two people saving one grid at the same
moment: one save wins, the other gets the Chinese conflict message (never a raw database error)
and nothing of the winner's is overwritten.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import re
import subprocess
import sys
from typing import Any

import pytest
import shapely
from sqlalchemy import func, select

from gis.config import PROJECT_DIR
from gis.store import Store
from gis.store.schema import Grid, GridVersion, Incident

pytestmark = pytest.mark.serial  # dozens of processes racing: outside the parallel workers

FORK = mp.get_context("fork")  # children start from this process's imports (no re-import per child)
DONGXING = "森工街道东兴村"
POINT = (127.0, 41.84)  # inside 东兴村


@pytest.fixture
def demo(demo_store: Store) -> Store:
    demo_store.dispose()  # children open their own connections
    return demo_store  # the demo, copied from the session's template (tests/conftest.py)


def _codes(store: Store) -> list[str]:
    with store.session() as s:
        return list(s.scalars(select(Incident.code).order_by(Incident.id)))


def _report_worker(url: str, number: int, barrier: Any, results: Any) -> None:
    from gis.accounts.users import actor_for
    from gis.errors import RiverGridError
    from gis.incidents.reporting import report_incident

    store = Store(url, migrate=False)
    try:
        with store.session() as s:
            actor = actor_for(s, "patroller")
        barrier.wait(timeout=120)
        with store.session(actor) as s:
            incident = report_incident(s, lon=POINT[0], lat=POINT[1], category="生态环境",
                                       description=f"同时上报 第 {number} 件")
            results.put(("ok", number, incident.code))
    except RiverGridError as exc:
        results.put(("refused", number, exc.message_zh))
    except BaseException as exc:  # noqa: BLE001 - a raw database error is exactly what must not happen
        results.put(("raw", number, f"{type(exc).__name__}: {exc}"))
    finally:
        store.dispose()


def test_fifty_simultaneous_reports_through_the_library_are_all_stored(demo: Store) -> None:
    before = _codes(demo)
    n = 50
    barrier, results = FORK.Barrier(n), FORK.Queue()
    workers = [FORK.Process(target=_report_worker, args=(demo.url, i, barrier, results)) for i in range(n)]
    for w in workers:
        w.start()
    outcomes = [results.get(timeout=300) for _ in range(n)]
    for w in workers:
        w.join(timeout=60)
    assert [o for o in outcomes if o[0] != "ok"] == []
    codes = [o[2] for o in outcomes]
    assert len(set(codes)) == n and all(re.fullmatch(r"SJ-2026-\d{3}", c) for c in codes)
    stored = _codes(demo)
    assert len(stored) == len(before) + n and set(stored) - set(before) == set(codes)
    # numbered on from the demo's last case, without gaps: nothing was lost in between
    numbers = sorted(int(c.rsplit("-", 1)[1]) for c in codes)
    last = max(int(c.rsplit("-", 1)[1]) for c in before)
    assert numbers == list(range(last + 1, last + n + 1))


def test_thirty_simultaneous_reports_through_the_cli_are_all_stored(demo: Store) -> None:
    before = _codes(demo)
    n = 30
    command = [sys.executable, "-m", "gis", "incident", "report", "--lon", str(POINT[0]), "--lat", str(POINT[1]),
               "--category", "生态环境", "--as", "patroller", "--json", "--database-url", demo.url]
    procs = [subprocess.Popen([*command, "--description", f"命令行同时上报 第 {i} 件"], cwd=PROJECT_DIR,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(n)]
    outputs = [p.communicate(timeout=600) for p in procs]
    failures = [(p.returncode, err) for p, (_, err) in zip(procs, outputs, strict=True) if p.returncode != 0]
    assert failures == []
    codes = [json.loads(out)["code"] for out, _ in outputs]
    assert len(set(codes)) == n
    stored = _codes(demo)
    assert len(stored) == len(before) + n and set(stored) - set(before) == set(codes)


def _save_worker(url: str, grid_id: int, version: int, name: str, barrier: Any, results: Any) -> None:
    from gis.accounts.users import actor_for
    from gis.errors import RiverGridError
    from gis.grids.versions import save_grid

    store = Store(url, migrate=False)
    try:
        with store.session() as s:
            actor = actor_for(s, "staff")
        barrier.wait(timeout=120)
        with store.session(actor) as s:
            save_grid(s, grid_id, geometry=None, attributes={"responsible_body": name}, expected_version=version)
        results.put(("saved", name, ""))
    except RiverGridError as exc:
        results.put(("refused", name, exc.message_zh))
    except BaseException as exc:  # noqa: BLE001
        results.put(("raw", name, f"{type(exc).__name__}: {exc}"))
    finally:
        store.dispose()


@pytest.mark.parametrize("rounds", [3])
def test_two_simultaneous_saves_of_one_grid_one_wins_the_other_is_told_in_chinese(demo: Store, rounds: int) -> None:
    with demo.session() as s:
        grid = s.scalar(select(Grid).where(Grid.name == DONGXING))
        grid_id, version, geom = grid.id, grid.version, grid.geom
    for r in range(rounds):  # a few rounds: the race is real, each must end the same way
        barrier, results = FORK.Barrier(2), FORK.Queue()
        names = [f"第{r}轮 甲", f"第{r}轮 乙"]
        workers = [FORK.Process(target=_save_worker, args=(demo.url, grid_id, version, n, barrier, results))
                   for n in names]
        for w in workers:
            w.start()
        outcomes = sorted(results.get(timeout=300) for _ in workers)
        for w in workers:
            w.join(timeout=60)
        kinds = [o[0] for o in outcomes]
        assert kinds == ["refused", "saved"], outcomes
        refused, saved = outcomes
        assert "已被" in refused[2] and "修改" in refused[2] and "刷新" in refused[2]  # the Chinese conflict message
        with demo.session() as s:
            grid = s.get(Grid, grid_id)
            assert grid.responsible_body == saved[1] and grid.version == version + 1
            assert shapely.equals(grid.geom, geom)
            assert s.scalar(select(func.count()).select_from(GridVersion).where(
                GridVersion.grid_id == grid_id, GridVersion.version == grid.version)) == 1
            version = grid.version

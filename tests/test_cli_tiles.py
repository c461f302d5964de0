"""``gis check --tile-km --scheduler``: the check's tiles run on a real dask cluster named on the
command line, and the report is the one of a plain run (issue 19, part 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.synthetic import make_case

PROJECT_DIR = Path(__file__).resolve().parents[1]


def gis(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gis", *args], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def layers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tiles")
    reaches, grids = make_case("small", seed=5)
    rivers, grid_file = folder / "rivers.gpkg", folder / "grids.gpkg"
    reaches.to_file(rivers)
    grids.to_file(grid_file)
    return rivers, grid_file


def test_check_runs_its_tiles_on_the_named_dask_scheduler(layers: tuple[Path, Path]) -> None:
    from distributed import Client, LocalCluster

    rivers, grids = layers
    plain = gis("check", "--json", "--rivers", str(rivers), "--grids", str(grids), "--scheduler", "inline")
    assert plain.returncode == 0, plain.stderr
    with (
        LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        before = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.transition_log))
        tiled = gis(
            "check", "--json", "--rivers", str(rivers), "--grids", str(grids),
            "--tile-km", "2", "--scheduler", cluster.scheduler_address,
        )
        assert tiled.returncode == 0, tiled.stderr
        after = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.transition_log))
    assert after > before  # the scheduler ran the tiles
    a, b = json.loads(plain.stdout), json.loads(tiled.stdout)
    assert a["total_length_m"] == b["total_length_m"] > 0
    assert a["blind_spot_length_m"] == b["blind_spot_length_m"] > 0
    assert a["uncovered"] == b["uncovered"]
    assert a["overlaps"] == b["overlaps"]


def test_a_scheduler_that_is_not_one_is_refused_in_chinese(layers: tuple[Path, Path]) -> None:
    rivers, grids = layers
    bad = gis("check", "--rivers", str(rivers), "--grids", str(grids), "--scheduler", "spark://x:7077")
    assert bad.returncode != 0
    assert "无法识别的并行计算调度器" in bad.stderr + bad.stdout
    zero = gis("check", "--rivers", str(rivers), "--grids", str(grids), "--tile-km", "0")
    assert zero.returncode != 0
    assert "--tile-km 必须大于 0" in zero.stderr + zero.stdout

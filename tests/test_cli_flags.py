"""The command line's flags spelled one way (old spellings still accepted) and its logging boundary.

``--as USER`` is the acting account everywhere (``--user`` still works), ``--from gcj02|bd09`` the
offset of the input (``--from-crs`` still works), ``--kind`` the kind of an import (``--as KIND``
still works). A refused command prints one Chinese line and logs the English reason.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box
from sqlalchemy import select

from gis.cli import main
from gis.cli.run import LOG_LEVEL_ENV, configure_logging
from gis.demo.load import load_demo
from gis.patrol.matching import reaches_frame
from gis.store import Store
from gis.store.schema import Grid

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
PARENT = "parent=临江市森工街道办事处"


@pytest.fixture
def demo(store: Store) -> Store:
    load_demo(store)
    return store


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> object:
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def grid_file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.geojson"
    gpd.GeoDataFrame({"name": [name]}, geometry=[box(126.93, 41.80, 126.94, 41.81)],
                     crs="EPSG:4326").to_file(path, driver="GeoJSON")
    return path


def test_the_acting_account_is_as_and_user_still_works(demo: Store, capsys: pytest.CaptureFixture[str]) -> None:
    url = ["--database-url", demo.url]
    everything = {row["code"] for row in run_json(capsys, "incident", "list", *url)}  # type: ignore[attr-defined]
    as_ = {row["code"] for row in run_json(capsys, "incident", "list", "--as", "dongxing", *url)}  # type: ignore[attr-defined]
    user = {row["code"] for row in run_json(capsys, "incident", "list", "--user", "dongxing", *url)}  # type: ignore[attr-defined]
    assert as_ == user and as_ and as_ < everything  # the village account sees its own grid's cases only
    # the same account refused the same way under either spelling
    for flag in ("--as", "--user"):
        assert main(["calendar", "refresh", flag, "patroller", *url]) == 2
        assert "无权" in capsys.readouterr().err


def test_import_kind_and_account_in_the_new_and_the_old_spelling(demo: Store, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    url = ["--database-url", demo.url]
    new, old = grid_file(tmp_path, "森工街道甲村"), grid_file(tmp_path, "森工街道乙村")
    # a leader may not import, whichever way the account and the kind are written
    for spelling in (["--kind", "grids", "--as", "leader"], ["--as", "grids", "--user", "leader"],
                     ["--kind", "grids", "--user", "leader"]):
        assert main(["import", str(new), *spelling, "--default", PARENT, *url]) == 2, spelling
        assert "无权" in capsys.readouterr().err
    assert run_json(capsys, "import", str(new), "--kind", "grids", "--as", "admin", "--default", PARENT,
                    *url)["written"] == {"grids": 1}  # type: ignore[index]
    assert run_json(capsys, "import", str(old), "--as", "grids", "--default", PARENT,
                    *url)["written"] == {"grids": 1}  # type: ignore[index]
    with demo.session() as s:
        assert {"森工街道甲村", "森工街道乙村"} <= set(s.scalars(select(Grid.name)))
    # the rolled-back check takes the same spellings
    third = grid_file(tmp_path, "森工街道丙村")
    checked = run_json(capsys, "inspect", str(third), "--kind", "grids", "--as", "admin", "--default", PARENT, *url)
    assert checked["kind"] == "grids" and checked["features"] == 1  # type: ignore[index]
    assert main(["inspect", str(third), "--kind", "grids", "--as", "leader", "--default", PARENT, *url]) == 2
    assert "无权" in capsys.readouterr().err
    with demo.session() as s:
        assert "森工街道丙村" not in set(s.scalars(select(Grid.name)))
    with pytest.raises(SystemExit) as exit_:
        main(["import", str(new), *url])
    assert exit_.value.code == 2 and "--kind" in capsys.readouterr().err


def test_the_offset_is_from_and_from_crs_still_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gis.demo.data import build_demo_data

    data = build_demo_data()
    reaches = reaches_frame(gpd.GeoDataFrame({"id": [r.code for r in data.reaches]},
                                             geometry=[r.geom for r in data.reaches], crs="EPSG:4326"))
    rivers = tmp_path / "reaches.geojson"
    reaches.reset_index().rename(columns={"index": "id"}).to_file(rivers, driver="GeoJSON")
    track = str(DEMO / "2026-11-04_zhaochunmei_BSG-01.gpx")  # recorded by a phone map app: GCJ-02
    as_is = run_json(capsys, "patrol", track, "--rivers", str(rivers))
    new = run_json(capsys, "patrol", track, "--rivers", str(rivers), "--from", "gcj02")
    old = run_json(capsys, "patrol", track, "--rivers", str(rivers), "--from-crs", "gcj02")
    assert new == old and new != as_is
    assert new["flags"] == [] and new["matched"][0]["reach_id"] == "BSG-01"  # type: ignore[index]


def test_a_refusal_is_one_chinese_line_and_its_english_reason_is_logged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    missing = tmp_path / "没有.gpkg"
    with caplog.at_level(logging.WARNING, logger="rivergrid.cli"):
        assert main(["inspect", str(missing), "--database-url", "sqlite://"]) == 2
    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()  # the log record is not printed a second time
    assert line.startswith("错误：找不到文件“没有.gpkg”") and captured.out == ""
    [record] = [r for r in caplog.records if r.name == "rivergrid.cli"]
    assert record.levelno == logging.WARNING
    assert "inspect" in record.getMessage() and f"no such file: {missing}" in record.getMessage()
    assert "找不到" not in record.getMessage()  # the English reason, for the logs


def test_the_log_level_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    other = logging.getLogger("rivergrid.test")
    try:
        monkeypatch.setenv(LOG_LEVEL_ENV, "error")
        assert configure_logging() == logging.ERROR
        other.warning("below the level")
        other.error("at the level")
        err = capsys.readouterr().err
        assert "at the level" in err and "below the level" not in err and "rivergrid.test" in err
        monkeypatch.delenv(LOG_LEVEL_ENV)
        assert configure_logging() == logging.WARNING  # the default
        other.warning("now shown")
        assert "now shown" in capsys.readouterr().err
        assert sum(1 for h in logging.getLogger().handlers if type(h).__name__ == "_CurrentStderr") == 1
    finally:
        monkeypatch.delenv(LOG_LEVEL_ENV, raising=False)
        configure_logging()

"""The command line, run as a user would: ``python -m gis …`` in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

from gis.config import PROJECT_DIR


def run(*args: str, url: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "gis", *args, "--database-url", url],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


@pytest.fixture
def demo_url(store_url: str) -> str:
    run("init-demo", "--json", url=store_url)
    return store_url


def people(grid: dict, role: str) -> list[str]:
    return [p["name"] for p in grid["persons"].get(role, [])]


def test_init_demo_then_info_lists_the_grids_of_the_plan(demo_url: str) -> None:
    info = json.loads(run("info", "--json", url=demo_url).stdout)
    grids = {g["name"]: g for g in info["grids"]}
    town = grids["临江市森工街道办事处"]
    assert town["level"] == "township" and town["parent"] == "临江市"
    assert people(town, "main_responsible") == ["孙凤海", "李鑫"]
    dongxing, sengong = grids["森工街道东兴村"], grids["森工街道森工社区"]
    assert (people(dongxing, "main_responsible"), people(dongxing, "township_supervisor")) == (["何兆花"], ["张力文"])
    assert (people(sengong, "main_responsible"), people(sengong, "township_supervisor")) == (["管荣波"], ["崔雪冰"])
    assert dongxing["parent"] == sengong["parent"] == "临江市森工街道办事处"
    assert all(len(people(g, "supervisor")) >= 1 for g in (dongxing, sengong))  # work group ≥ 1 supervisor
    assert grids["临江市"]["level"] == "county"
    group = {b["kind"]: b for b in info["organisation"]}
    assert [(m["position"], m["name"]) for m in group["leading_group"]["members"]][:3] == [
        ("组长", "孙凤海"), ("组长", "李鑫"), ("副组长", "崔雪冰")]
    office = group["office"]["members"]
    assert office[0] == {"position": "主任", "name": "崔雪冰", "title": "办事处副主任"}
    assert [m["name"] for m in office[1:]] == ["秦伟", "高雪", "唐延磊", "何兆花", "管荣波"]
    counts = info["counts"]
    assert counts["patrol_tracks"] >= 5 and counts["incidents"] >= 10 and counts["users"] >= 4
    assert counts["audit_log"] > 0  # the demo itself is audited


def test_init_demo_never_overwrites_existing_data(demo_url: str) -> None:
    again = json.loads(run("init-demo", "--json", url=demo_url).stdout)
    assert again["skipped"] is True
    assert again["counts"]["grids"] == 4


def test_inspect_reports_layers_counts_crs_and_bounds(tmp_path: Path) -> None:
    path = tmp_path / "两层.gpkg"
    gpd.GeoDataFrame({"name": ["甲", "乙"]}, geometry=[box(126.8, 41.7, 126.9, 41.8), box(126.9, 41.7, 127.0, 41.8)],
                     crs="EPSG:4326").to_file(path, layer="村级网格")
    gpd.GeoDataFrame({"name": ["丙"]}, geometry=[box(126.85, 41.75, 126.86, 41.76)],
                     crs="EPSG:4326").to_crs("EPSG:4551").to_file(path, layer="监管对象范围")
    out = json.loads(run("inspect", str(path), "--json", url="sqlite://").stdout)
    layers = {l["name"]: l for l in out["layers"]}
    assert set(layers) == {"村级网格", "监管对象范围"}
    assert (layers["村级网格"]["features"], layers["村级网格"]["crs"]) == (2, "EPSG:4326")
    assert layers["村级网格"]["bounds_wgs84"] == pytest.approx([126.8, 41.7, 127.0, 41.8])
    assert layers["监管对象范围"]["crs"] == "EPSG:4551"
    # a projected layer's extent, taken back to lon/lat, encloses the data and hugs it (< 20 m)
    minx, miny, maxx, maxy = layers["监管对象范围"]["bounds_wgs84"]
    assert minx <= 126.85 and miny <= 41.75 and maxx >= 126.86 and maxy >= 41.76
    assert [minx, miny, maxx, maxy] == pytest.approx([126.85, 41.75, 126.86, 41.76], abs=2e-4)


@pytest.mark.parametrize(
    ("content", "name", "expect"),
    [(b"", "empty.geojson", "空"), (b"PK\x03\x04broken", "broken.zip", "zip"), (None, "missing.gpkg", "找不到文件")],
)
def test_errors_are_one_chinese_line_without_traceback(tmp_path: Path, content, name, expect) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    proc = run("inspect", str(path), url="sqlite://", check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误：") and expect in lines[0]
    assert "Traceback" not in proc.stderr


def test_import_export_round_trip_and_refused_duplicates(demo_url: str, tmp_path: Path) -> None:
    src = tmp_path / "新村.geojson"
    gpd.GeoDataFrame({"name": ["森工街道新村"]}, geometry=[box(126.93, 41.80, 126.94, 41.81)],
                     crs="EPSG:4326").to_file(src, driver="GeoJSON")
    args = ("import", str(src), "--as", "grids", "--default", "parent=临江市森工街道办事处", "--json")
    report = json.loads(run(*args, url=demo_url).stdout)
    assert report["written"] == {"grids": 1}
    dup = run(*args, url=demo_url, check=False)
    assert dup.returncode == 2 and "已有名为“森工街道新村”" in dup.stderr
    out = tmp_path / "grids.gpkg"
    result = json.loads(run("export", "--layer", "grids", "--format", "gpkg", "-o", str(out), "--json", url=demo_url).stdout)
    assert result["features"] == 5
    back = gpd.read_file(out)
    assert "森工街道新村" in set(back["name"]) and back.crs.to_epsg() == 4326
    info = json.loads(run("info", "--json", url=demo_url).stdout)
    assert info["counts"]["grids"] == 5


def test_leader_cannot_import_from_the_command_line(demo_url: str, tmp_path: Path) -> None:
    src = tmp_path / "x.geojson"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[box(126.93, 41.80, 126.94, 41.81)], crs="EPSG:4326").to_file(src, driver="GeoJSON")
    proc = run("import", str(src), "--as", "grids", "--user", "leader", url=demo_url, check=False)
    assert proc.returncode == 2 and "无权" in proc.stderr

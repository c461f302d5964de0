"""The 盲区检查 report: store and files, JSON shape, CSV/Excel, CLI and page."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import openpyxl
import pytest
from shapely.geometry import LineString, box

from gis.checks.report import check_files, check_store
from gis.config import PROJECT_DIR
from gis.demo.load import load_demo
from gis.store import Store
from ui.text import md_text


def test_store_check_finds_exactly_the_demo_flaws_with_stationing(demo_store: Store) -> None:
    with demo_store.session() as s:
        report = check_store(s)
        from gis.store.schema import Grid, Reach
        names = {r.id: r.name for r in s.query(Reach)}
        grids = {g.id: g.name for g in s.query(Grid)}
    data = report.to_dict()
    (gap,) = data["uncovered"]
    assert names[gap["reach_id"]] == "鸭绿江森工街道段（下段）" and gap["station"] == "K26+223–K26+940"
    assert grids[gap["nearest_grid_id"]] == "森工街道森工社区"
    assert [names[o["reach_id"]] for o in data["overlaps"]] == ["鸭绿江森工街道段（上段）", "鸭绿江森工街道段（下段）"]
    assert all({grids[g] for g in o["grid_ids"]} == {"森工街道东兴村", "森工街道森工社区"} for o in data["overlaps"])
    assert sorted(f["rule"] for f in data["topology"]) == ["gap_in_parent", "overlap_siblings"]
    assert [f["rule"] for f in data["vertical"]] == ["object_without_responsible"]  # the demo's 沿江加油站
    total = data["total_length_m"]
    assert data["covered_length_m"] + data["uncovered_length_m"] == pytest.approx(total, rel=1e-12)
    assert data["coverage_rate"] == pytest.approx(1 - gap["length_m"] / total)
    for key in ("total_length_m", "covered_length_m", "uncovered_length_m", "overlap_length_m", "coverage_rate",
                "uncovered", "overlaps", "topology", "vertical"):
        assert key in data
    json.dumps(data, ensure_ascii=False)  # serialisable as is


def test_csv_and_excel_exports(demo_store: Store, tmp_path: Path) -> None:
    with demo_store.session() as s:
        report = check_store(s)
    csv = report.to_csv(tmp_path / "f.csv").read_text(encoding="utf-8-sig")
    assert csv.splitlines()[0].startswith("类别,规则,级别") and "K26+223–K26+940" in csv
    book = openpyxl.load_workbook(report.to_excel(tmp_path / "r.xlsx"))
    assert book.sheetnames == ["汇总", "问题清单", "河段", "网格", "微小缝隙"]  # issue 15: the 微小缝隙 sheet
    summary = {row[0].value: row[1].value for row in book["汇总"].iter_rows(min_row=2)}
    assert summary["检查层级"] == "村级网格" and summary["盲区段数"] == 1 and summary["重复覆盖段数"] == 2
    assert book["问题清单"].max_row == 1 + len(report.findings())


def test_files_use_the_id_property_or_the_feature_index(tmp_path: Path) -> None:
    x, y = 500_000, 4_630_000  # near Linjiang in CGCS2000 / 3-degree GK CM 126E
    grids = gpd.GeoDataFrame({"name": ["甲", "乙"]},
                             geometry=[box(x, y, x + 1000, y + 1000), box(x + 1000, y, x + 2000, y + 1000)],
                             crs="EPSG:4551")
    rivers = gpd.GeoDataFrame({"id": [77], "name": ["河"]},
                              geometry=[LineString([(x - 100, y + 500), (x + 1500, y + 500)])], crs="EPSG:4551")
    grids.to_file(tmp_path / "g.gpkg")
    rivers.to_file(tmp_path / "r.geojson", driver="GeoJSON")
    report = check_files(tmp_path / "r.geojson", tmp_path / "g.gpkg")
    assert report.coverage.crs.to_epsg() == 4551  # files are read to lon/lat, then measured in GK
    (u,) = report.coverage.uncovered()
    assert (u["reach_id"], u["nearest_grid_id"]) == (77, 0)  # grids have no id: feature index
    assert (u["from_m"], u["to_m"]) == pytest.approx((0, 100), abs=1e-6)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gis", *args], cwd=PROJECT_DIR, capture_output=True, text=True,
                          timeout=180)


def test_cli_check_of_files_and_of_the_store(tmp_path: Path, store_url: str) -> None:
    x, y = 500_000, 4_630_000
    grids = gpd.GeoDataFrame({"id": [5, 6], "level": ["village", "village"]},
                             geometry=[box(x, y, x + 1000, y + 1000), box(x + 900, y, x + 2000, y + 1000)],
                             crs="EPSG:4551")
    rivers = gpd.GeoDataFrame(geometry=[LineString([(x - 100, y + 500), (x + 2100, y + 500)])], crs="EPSG:4551")
    grids.to_file(tmp_path / "g.geojson", driver="GeoJSON")
    rivers.to_file(tmp_path / "r.geojson", driver="GeoJSON")
    out = cli("check", "--rivers", str(tmp_path / "r.geojson"), "--grids", str(tmp_path / "g.geojson"), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    got = [(u["reach_id"], round(u["from_m"], 6), round(u["to_m"], 6)) for u in data["uncovered"]]
    assert got == [(0, 0, 100), (0, 2100, 2200)]
    assert [(round(o["from_m"], 6), round(o["to_m"], 6), o["grid_ids"]) for o in data["overlaps"]] == [
        (1000, 1100, [5, 6])]
    assert data["overlap_length_m"] == pytest.approx(100) and data["uncovered_length_m"] == pytest.approx(200)
    assert any(t["rule"] == "overlap_siblings" for t in data["topology"])
    assert cli("init-demo", "--database-url", store_url).returncode == 0
    out = cli("check", "--database-url", store_url, "--min-gap-m", "800", "--json")
    data = json.loads(out.stdout)
    # the 718 m gap is below 800 m: a 微小缝隙 by that standard, and the totals stay exact (issue 15)
    assert data["uncovered"] == [] and data["blind_spot_length_m"] == 0
    assert data["uncovered_length_m"] == pytest.approx(data["sliver_length_m"]) and data["uncovered_length_m"] > 717
    bad = cli("check", "--rivers", str(tmp_path / "r.geojson"))
    assert bad.returncode == 2 and "--grids" in bad.stderr


def test_page_lists_findings_and_zooms_to_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RIVERGRID_DEMO", "1")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=120).run()
    at = at.switch_page("pages/blind_spots.py").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["覆盖率"] == "98.64%" and metrics["未覆盖（1 段）"] == "718 米"
    assert metrics["重复覆盖（2 段）"] == "204 米"
    zoom = [b for b in at.button if b.label == "定位"]
    assert len(zoom) == 5
    zoom[2].click()
    at = at.run()
    assert any("当前定位" in c.value and md_text("K26+223–K26+940") in c.value for c in at.caption)
    st.cache_resource.clear()
    st.cache_data.clear()


def _topology_key(findings) -> list[tuple]:  # type: ignore[no-untyped-def]
    return sorted((f.rule, f.object_id, tuple(f.related_ids), round(f.area_m2 or 0, 3), round(f.length_m or 0, 3))
                  for f in findings)


def test_incremental_check_equals_a_full_check_after_each_edit(tmp_path: Path) -> None:
    import shapely

    from gis.checks.report import IncrementalCheck, check_layers, store_layers

    store = Store(f"sqlite:///{tmp_path / 's.sqlite'}")
    load_demo(store)
    with store.session() as s:
        reaches, grids = store_layers(s)
    ids = dict(zip(grids["name"], grids["id"]))
    live = IncrementalCheck(reaches, grids)
    dongxing = grids.set_index("id").geometry[ids["森工街道东兴村"]]
    township = grids.set_index("id").geometry[ids["临江市森工街道办事处"]]
    edits = [
        (ids["森工街道东兴村"], shapely.buffer(dongxing, -0.002)),  # pull back from the overlap
        (ids["森工街道森工社区"], shapely.buffer(grids.set_index("id").geometry[ids["森工街道森工社区"]], 0.003)),
        (ids["临江市森工街道办事处"], shapely.buffer(township, -0.001)),  # the scope itself
        (ids["森工街道东兴村"], None),  # boundary removed
    ]
    for grid_id, geom in edits:
        incremental = live.update_grid(grid_id, geom)
        full = check_layers(reaches, live.grids)
        a, b = incremental.to_dict(), full.to_dict()
        for key in ("total_length_m", "covered_length_m", "uncovered_length_m", "overlap_length_m"):
            assert a[key] == pytest.approx(b[key], rel=1e-12, abs=1e-9)
        assert [(u["reach_id"], u["station"]) for u in a["uncovered"]] == [(u["reach_id"], u["station"]) for u in b["uncovered"]]
        assert [(o["reach_id"], o["station"]) for o in a["overlaps"]] == [(o["reach_id"], o["station"]) for o in b["overlaps"]]
        assert _topology_key(incremental.topology) == _topology_key(full.topology)
    assert all(f.rule != "overlap_siblings" for f in live.report.topology)  # the edits removed the overlap
    store.dispose()

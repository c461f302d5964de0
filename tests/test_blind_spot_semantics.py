"""Issue 15, items 5 and 9: what a blind spot (盲区) is, as a user meets it.

* stretches shorter than ``min_gap_m`` (``RIVERGRID_MIN_GAP_M``, default 0.5 m; ``gis check
  --min-gap-m``) are 微小缝隙 for data cleaning: listed apart, never a blind spot, no points, and
  the totals stay exact (the demo's 9 mm sliver at the start of the Yalu reach);
* a blind spot lies inside the parent grid: a river outside the township is not the villages'
  business, and a river outside the top grid is outside the jurisdiction;
* a point outside the township altogether is "不在本街道（县）网格范围内", with the nearest grid
  and its distance, not "盲区"; a report there is routed and marked 【辖区外】, not counted as a
  coverage problem.

Oracles: shapely on the stored geometry (naive difference and distance), and hand-computed boxes.
"""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import LineString, box
from sqlalchemy import select

from gis.accounts.users import actor_for
from gis.assessment.indicators import DEFAULT_RUBRIC, assess
from gis.checks.report import check_layers, check_store, store_layers
from gis.config import PROJECT_DIR, settings
from gis.grids.chain import ResponsibilityIndex
from gis.incidents.lists import blind_spot_incidents
from gis.incidents.reporting import BLIND_SPOT_MARK, OUTSIDE_MARK, report_incident
from gis.store import Store
from gis.store.schema import IncidentEvent

YALU_UPSTREAM = "鸭绿江临江市段（上游段）"
COUNTY = "临江市"
TOWNSHIP = "临江市森工街道办事处"
DONGXING = "森工街道东兴村"
SENGONG = "森工街道森工社区"
IN_COUNTY_OUTSIDE_TOWNSHIP = (127.2, 41.6)  # 临江市, some 20 km east of 森工街道
GAP_POINT = (126.812, 41.729)  # in 森工街道, in no village grid: the demo's blind spot


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    folder = tmp_path / "data"
    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(folder))
    monkeypatch.delenv("RIVERGRID_MIN_GAP_M", raising=False)
    return folder


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "gis", *args], cwd=PROJECT_DIR, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


# --- the demo's 9 mm sliver ---------------------------------------------------------------------


def test_the_9mm_sliver_of_the_yalu_reach_is_a_tiny_gap_and_the_county_keeps_full_coverage_points(
        demo_store: Store) -> None:
    with demo_store.session() as s:
        reaches, grids = store_layers(s)
        report = check_store(s, level="county")
        a = assess(s, "2026-11")
    # oracle: the reach minus the county polygon, measured in the check's own CRS
    crs = report.coverage.crs
    reach = reaches[reaches["name"] == YALU_UPSTREAM].to_crs(crs).geometry.iloc[0]
    county = grids[grids["name"] == COUNTY].to_crs(crs).geometry.iloc[0]
    outside = reach.difference(county)
    assert 0.005 < outside.length < 0.02  # the 9 mm of the issue
    assert shapely.distance(outside, shapely.Point(reach.coords[0])) == 0  # at the reach's start

    assert report.coverage.uncovered() == []  # not a blind spot
    assert not [f for f in report.findings().itertuples() if f.rule == "uncovered"]
    (sliver,) = report.coverage.slivers()
    assert sliver["kind"] == "gap" and sliver["from_m"] == 0
    assert sliver["length_m"] == pytest.approx(outside.length, abs=1e-6)
    table = report.slivers_table()
    assert list(table["类别"]) == ["微小缝隙"] and list(table["河段"]) == [YALU_UPSTREAM]
    assert "9.3 毫米" in table["说明"].iloc[0] and "不计为问题" in table["说明"].iloc[0]
    # the totals stay exact: the sliver's metres are not counted as covered
    summary = report.summary()
    assert summary["uncovered_length_m"] == pytest.approx(outside.length, abs=1e-6)
    assert summary["sliver_length_m"] == pytest.approx(outside.length, abs=1e-6)
    assert summary["blind_spot_length_m"] == 0 and summary["uncovered_count"] == 0 and summary["sliver_count"] == 1
    assert summary["covered_length_m"] + summary["uncovered_length_m"] == pytest.approx(summary["total_length_m"],
                                                                                        rel=1e-12)
    # 考核评价: the county's 横向到边 is full, with nothing to explain
    county_score = next(g for g in a.grids if g.grid == COUNTY)
    assert county_score.scores["coverage"] == DEFAULT_RUBRIC.weights["coverage"] == 15
    assert county_score.indicators["coverage_findings"] == [] and county_score.indicators["coverage_count"] == 0


def test_the_standard_is_a_setting_and_a_command_line_option(demo_store: Store,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings().min_gap_m == 0.5
    for text, value in (("0", 0.0), ("2.5", 2.5), ("-1", 0.5), ("半米", 0.5)):
        monkeypatch.setenv("RIVERGRID_MIN_GAP_M", text)
        assert settings().min_gap_m == value
    monkeypatch.setenv("RIVERGRID_MIN_GAP_M", "800")  # the demo's 718 m gap becomes a 微小缝隙
    with demo_store.session() as s:
        report = check_store(s)
    assert report.coverage.uncovered() == [] and report.coverage.min_gap_m == 800
    assert any(sl["length_m"] > 717 for sl in report.coverage.slivers())
    # the option wins over the setting
    out = cli("check", "--database-url", demo_store.url, "--json", "--min-gap-m", "0.5",
              env={"RIVERGRID_MIN_GAP_M": "800"})
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [u["station"] for u in data["uncovered"]] == ["K26+223–K26+940"] and data["min_gap_m"] == 0.5
    monkeypatch.delenv("RIVERGRID_MIN_GAP_M")  # the default, 0.5 m
    text = cli("check", "--database-url", demo_store.url, "--level", "county").stdout
    assert "盲区 0.0 米（0 段）" in text and "微小缝隙/重叠 1 处（短于 0.5 米" in text and YALU_UPSTREAM in text


# --- a blind spot lies inside the parent grid (hand-computed boxes) ----------------------------

X, Y = 500_000.0, 4_630_000.0  # CGCS2000 / 3-degree GK CM 126E, near Linjiang


def gk(*geoms, **cols) -> gpd.GeoDataFrame:  # type: ignore[no-untyped-def]
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs="EPSG:4551")


def boxes() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """County x 0–10 km; township x 1–7 km; villages 1–3 km and 3.5–7 km (a 500 m gap between).
    Reach 1 runs from x = −500 m to 11 km; reach 2 starts 9 mm west of the county line."""
    grids = gk(box(X, Y, X + 10_000, Y + 4_000), box(X + 1_000, Y, X + 7_000, Y + 4_000),
               box(X + 1_000, Y, X + 3_000, Y + 4_000), box(X + 3_500, Y, X + 7_000, Y + 4_000),
               id=[1, 2, 3, 4], name=["县", "街道", "甲村", "乙村"], level=["county", "township", "village", "village"],
               parent_id=[None, 1, 2, 2])
    reaches = gk(LineString([(X - 500, Y + 2_000), (X + 11_000, Y + 2_000)]),
                 LineString([(X - 0.009, Y + 1_000), (X + 800, Y + 1_000)]), id=[1, 2], name=["江", "沟"])
    return reaches, grids


def stretches(rows: list[dict]) -> list[tuple]:  # type: ignore[type-arg]
    return [(r["reach_id"], round(r["from_m"], 4), round(r["to_m"], 4)) for r in rows]


def test_a_blind_spot_lies_inside_the_parent_grid_and_nothing_outside_the_top_grid_is_one() -> None:
    reaches, grids = boxes()
    village = check_layers(reaches, grids, level="village")
    assert stretches(village.coverage.uncovered()) == [(1, 3_500, 4_000)]  # the gap between the villages only
    assert village.summary()["total_length_m"] == pytest.approx(6_000)  # the river inside the township
    township = check_layers(reaches, grids, level="township")
    # inside the county, outside the township: blind spots of the township level (reach 2's first
    # 9 mm, outside the county, run on into its blind spot)
    assert stretches(township.coverage.uncovered()) == [(1, 500, 1_500), (1, 7_500, 10_500), (2, 0, 800.009)]
    county = check_layers(reaches, grids, level="county")
    assert county.coverage.uncovered() == []  # 500 m west and 1 km east of the county: outside, not blind
    (sliver,) = county.coverage.slivers()
    assert stretches([sliver]) == [(2, 0, 0.009)] and sliver["kind"] == "gap"
    t = county.summary()
    assert t["total_length_m"] == pytest.approx(10_000 + 800.009)
    assert t["uncovered_length_m"] == pytest.approx(0.009) and t["blind_spot_length_m"] == 0
    assert county.warnings == []
    # with no level above drawn, blind spots and outside cannot be told apart: said so
    villages_only = check_layers(reaches, grids[grids["level"] == "village"], level="village")
    assert stretches(villages_only.coverage.uncovered())[0] == (1, 0, 1_500)
    assert any("无法区分盲区与辖区外" in w for w in villages_only.warnings)


# --- a point outside the township altogether ----------------------------------------------------


def test_a_point_outside_the_township_is_not_in_the_jurisdiction_with_the_nearest_grid(demo_store: Store) -> None:
    with demo_store.session() as s:
        index = ResponsibilityIndex.from_session(s)
        _, grids = store_layers(s)
    chain = index.lookup(*IN_COUNTY_OUTSIDE_TOWNSHIP)
    assert [g.name for g in chain.grids] == [COUNTY]
    assert not chain.blind_spot and chain.outside
    # oracle: the nearest village grid by a naive distance in the index's metric CRS
    villages = grids[grids["level"] == "village"].to_crs(index.crs)
    pt = gpd.GeoSeries(gpd.points_from_xy([IN_COUNTY_OUTSIDE_TOWNSHIP[0]], [IN_COUNTY_OUTSIDE_TOWNSHIP[1]]),
                       crs="EPSG:4326").to_crs(index.crs).iloc[0]
    dist = villages.distance(pt)
    nearest = villages.loc[dist.idxmin()]
    assert chain.nearest_grid is not None and chain.nearest_grid.name == nearest["name"] == DONGXING
    assert chain.nearest_grid.distance_m == pytest.approx(dist.min(), abs=1.0)
    said = f"该点不在本街道（县）网格范围内；最近的网格是村级网格“{DONGXING}”，距离约 {dist.min():,.0f} 米"
    assert said in chain.warnings
    assert not any("盲区" in w for w in chain.warnings)
    text = chain.to_text()
    assert "不在本街道（县）网格范围内" in text and "盲区" not in text
    assert chain.to_dict()["outside"] is True and chain.to_dict()["blind_spot"] is False
    # a point in no grid at all says the same; the demo's gap inside the township is still a 盲区
    far = index.lookup(126.7, 41.6)
    assert far.grids == [] and far.outside and not far.blind_spot
    gap = index.lookup(*GAP_POINT)
    assert gap.blind_spot and not gap.outside and any("盲区" in w for w in gap.warnings)


def test_a_report_outside_the_township_is_routed_and_marked_but_is_no_coverage_problem(demo_store: Store) -> None:
    with demo_store.session() as s:
        staff = actor_for(s, "staff")
    with demo_store.session(staff) as s:
        inc = report_incident(s, lon=IN_COUNTY_OUTSIDE_TOWNSHIP[0], lat=IN_COUNTY_OUTSIDE_TOWNSHIP[1],
                              category="ecology", description="江边堆放垃圾")
        routing, iid = inc.routing, inc.id
    assert routing.outside and not routing.blind_spot and routing.grid_name == DONGXING
    assert routing.warnings[0].startswith(f"该点不在本街道（县）网格范围内，已派往最近的网格“{DONGXING}”（距离约 ")
    assert routing.to_dict()["outside"] is True
    assert not any("盲区" in w for w in routing.warnings)
    with demo_store.session() as s:
        note = s.scalar(select(IncidentEvent.note).where(IncidentEvent.incident_id == iid))
        assert note.startswith(OUTSIDE_MARK) and BLIND_SPOT_MARK not in note
        assert iid not in [i.id for i in blind_spot_incidents(s)]

"""Issue 15, item 10: volunteers are stored with their own post (and, private citizens, never
published); 问题发现 counts accepted incidents by default, by the rubric file; the 考核评价 charts
label 东兴村 and 东兴村（二） apart, with the full grid path on hover."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from gis.accounts.users import actor_for
from gis.assessment.indicators import DEFAULT_RUBRIC, Rubric, assess
from gis.assessment.labels import chart_labels, short_name
from gis.auth import SYSTEM
from gis.cli import main
from gis.config import PROJECT_DIR
from gis.disclosure.public import public_grids
from gis.disclosure.signboard import signboard_content
from gis.disclosure.volunteers import volunteers_of
from gis.errors import ValidationError
from gis.incidents.reporting import report_incident
from gis.incidents.workflow import move
from gis.model import LOCAL_TZ, GridRole
from gis.store import Store
from gis.store.schema import Grid, GridRoleAssignment, Person

SENGONG = "森工街道森工社区"
DONGXING = "森工街道东兴村"
DONGXING_POINT = (126.975, 41.80)  # inside 东兴村
NOW = datetime(2026, 11, 28, 8, 0, tzinfo=LOCAL_TZ)


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RIVERGRID_PUBLIC_URL", "https://hezhang.example.gov.cn")


def grid_id(store: Store, name: str) -> int:
    with store.session() as s:
        return s.scalar(select(Grid.id).where(Grid.name == name))


# --- the volunteer's post -----------------------------------------------------------------------


def test_the_demo_volunteer_holds_a_volunteer_post_and_is_not_published(demo_store: Store) -> None:
    sengong = grid_id(demo_store, SENGONG)
    with demo_store.session() as s:
        posts = {a.person.name: a.role for a in s.scalars(
            select(GridRoleAssignment).where(GridRoleAssignment.grid_id == sengong))}
        assert posts["赵春梅"] == GridRole.VOLUNTEER.value and posts["吴玉华"] == GridRole.ASSISTANT.value
        assert {(r["name"], r["post"]) for r in volunteers_of(s, sengong)} == {("赵春梅", "志愿者"), ("吴玉华", "协管员")}
        published = next(g for g in public_grids(s) if g.id == sengong)
        board = signboard_content(s, grid_id=sengong).text()
    names = {p.name for p in published.persons}
    assert "吴玉华" in names and "赵春梅" not in names  # 协管员 are the grid's staff, 志愿者 private citizens
    assert "吴玉华" in board and "赵春梅" not in board


def test_the_public_page_of_the_volunteer_s_grid_does_not_show_her(app_env: Path) -> None:
    at = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=240).run()
    from ui.state import get_store

    at.query_params["grid"] = str(grid_id(get_store(), SENGONG))
    at = at.switch_page("pages/public.py").run()
    assert not at.exception
    shown = "\n".join([m.value for m in (*at.markdown, *at.caption)] + [d.value.to_string() for d in at.dataframe])
    assert "吴玉华" in shown and "赵春梅" not in shown  # nor in the published 定人员 text
    assert "志愿者：1 名" in shown


# --- 问题发现 counts accepted cases ---------------------------------------------------------------


def discovery(store: Store, rubric: Rubric = DEFAULT_RUBRIC) -> tuple[float | None, int, int]:
    with store.session() as s:
        g = assess(s, "2026-11", rubric=rubric, now=NOW).get(grid_id(store, DONGXING))
    return g.scores["discovery"], g.indicators["incidents_found"], g.indicators["incidents_accepted"]


def test_quota_reports_earn_nothing_until_accepted(demo_store: Store, tmp_path: Path) -> None:
    points, found, accepted = discovery(demo_store)
    assert points == accepted * DEFAULT_RUBRIC.points_per_incident < DEFAULT_RUBRIC.weights["discovery"]
    with demo_store.session() as s:
        patroller = actor_for(s, "patroller")
    with demo_store.session(patroller) as s:  # two reports to meet a monthly target
        bottle = report_incident(s, lon=DONGXING_POINT[0], lat=DONGXING_POINT[1], category="ecology",
                                 description="江边一个塑料瓶", reported_at=datetime(2026, 11, 27, 9, tzinfo=LOCAL_TZ)).id
        other = report_incident(s, lon=DONGXING_POINT[0], lat=DONGXING_POINT[1], category="ecology",
                                description="江边又一个塑料瓶", reported_at=datetime(2026, 11, 27, 10, tzinfo=LOCAL_TZ)).id
    assert discovery(demo_store) == (points, found + 2, accepted)  # reported: counted as found, no points
    with demo_store.session(SYSTEM) as s:
        move(s, bottle, "reject", note="非河湖问题", at=datetime(2026, 11, 27, 11, tzinfo=LOCAL_TZ))
        move(s, other, "accept", at=datetime(2026, 11, 27, 11, tzinfo=LOCAL_TZ))
    assert discovery(demo_store) == (points + 2, found + 2, accepted + 1)  # the accepted one earns its 2 points
    # the rule lives in the rubric file: counting every report is a choice written there
    rubric_file = tmp_path / "评分细则.json"
    rubric_file.write_text(json.dumps({"discovery_counts": "reported"}), encoding="utf-8")
    every = Rubric.from_file(rubric_file)
    assert discovery(demo_store, every)[0] == min(10.0, (found + 2) * 2.0)
    assert "经受理的问题" in next(i["basis"] for i in DEFAULT_RUBRIC.items() if i["code"] == "discovery")
    assert DEFAULT_RUBRIC.to_dict()["discovery_counts"] == "accepted"
    assert Rubric.from_dict(DEFAULT_RUBRIC.to_dict()) == DEFAULT_RUBRIC
    with pytest.raises(ValidationError, match="discovery_counts（问题发现计数）应为 accepted"):
        Rubric.from_dict({"discovery_counts": "all"})


def test_the_command_reads_the_rule_from_the_rubric_file(demo_store: Store, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    rubric_file = tmp_path / "r.json"
    rubric_file.write_text(json.dumps({"discovery_counts": "reported"}), encoding="utf-8")
    args = ["assess", "--period", "2026-11", "--json", "--now", "2026-11-28T08:00", "--database-url", demo_store.url]
    assert main(args) == 0
    default = {g["grid"]: g for g in json.loads(capsys.readouterr().out)["grids"]}
    assert main([*args, "--rubric", str(rubric_file)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rubric"]["discovery_counts"] == "reported"
    reported = {g["grid"]: g for g in out["grids"]}
    for name, g in default.items():
        ind = g["indicators"]
        assert g["scores"]["discovery"] == min(10.0, 2.0 * ind["incidents_accepted"])
        assert reported[name]["scores"]["discovery"] == min(10.0, 2.0 * ind["incidents_found"])


# --- chart labels ---------------------------------------------------------------------------------


def test_short_labels_drop_the_ancestor_names_and_stay_unique() -> None:
    rows = [(1, "临江市", None), (2, "临江市森工街道办事处", 1), (3, "森工街道东兴村", 2),
            (4, "森工街道东兴村（二）", 2), (5, "森工街道森工社区", 2), (6, "东兴村", 2)]
    assert short_name("森工街道东兴村", ["临江市", "临江市森工街道办事处"]) == "东兴村"
    assert short_name("临江市森工街道办事处", ["临江市"]) == "森工街道办事处"
    labels = chart_labels(rows, [3, 4, 5])
    assert {g: v[0] for g, v in labels.items()} == {3: "东兴村", 4: "东兴村（二）", 5: "森工社区"}
    assert labels[4][1] == "临江市 › 临江市森工街道办事处 › 森工街道东兴村（二）"
    clash = chart_labels(rows, [3, 6])  # 东兴村 twice once shortened: the full names
    assert {g: v[0] for g, v in clash.items()} == {3: "森工街道东兴村", 6: "东兴村"}


def chart_frames(at: AppTest) -> list[tuple[dict, object]]:  # type: ignore[type-arg]
    out = []
    for e in at.get("vega_lite_chart"):
        table = pa.ipc.open_stream(e.proto.data.data).read_pandas() if e.proto.data.data else None
        out.append((json.loads(e.proto.spec), table))
    return out


def test_the_chart_tells_dongxing_from_dongxing_two_with_the_path_on_hover(app_env: Path) -> None:
    at = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=240).run()
    from ui.state import get_store

    store = get_store()
    with store.session(SYSTEM) as s:  # a second village named like the first (a split, say)
        township = s.scalars(select(Grid).where(Grid.level == "township")).one()
        s.add(Grid(name="森工街道东兴村（二）", level="village", parent=township))
        person = Person(name="新书记")
        s.add(person)
    at = at.switch_page("pages/assessment.py").run()
    assert not at.exception
    charts = chart_frames(at)
    spec, bars = charts[0]
    assert spec["mark"]["type"] == "bar" and spec["encoding"]["y"]["field"] == "网格"
    assert spec["encoding"]["y"]["axis"]["labelLimit"] == 0  # never cut
    assert sorted(bars["网格"]) == ["东兴村", "东兴村（二）", "森工社区"]
    paths = dict(zip(bars["网格"], bars["网格路径"]))
    assert paths["东兴村（二）"] == "临江市 › 临江市森工街道办事处 › 森工街道东兴村（二）"
    assert paths["东兴村"] == "临江市 › 临江市森工街道办事处 › 森工街道东兴村"
    assert {"field": "网格路径", "type": "nominal", "title": "网格"} in spec["encoding"]["tooltip"]
    # the monthly lines use the same labels and hover
    lines_charts = [c for c in charts if c[0]["mark"]["type"] == "line"]
    assert len(lines_charts) == 2
    for spec, lines in lines_charts:
        assert spec["encoding"]["color"]["field"] == "网格" and spec["encoding"]["tooltip"][0]["field"] == "网格路径"
        assert set(lines["网格"]) == {"东兴村", "东兴村（二）", "森工社区"}

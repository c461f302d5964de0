"""Cached data and small helpers of the page 巡河管理 (pages/patrol.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st

from gis import clock
from gis.accounts.users import person_of_user as linked_person
from gis.auth import EVERYTHING, Scope
from gis.geometry.linref import format_range
from gis.grids.posts import grid_labels, person_labels
from gis.limits import check_size
from gis.model import LOCAL_TZ, GridLevel
from gis.overview import latest_month_with_data
from gis.patrol.rules import FREQUENCIES
from gis.patrol.service import (
    PatrolReport,
    coverage_frame,
    patrol_report,
    store_reaches,
    track_frame,
)
from gis.patrol.track_import import TrackFileCheck, check_track_file
from layers.home_map import Overlay
from layers.patrol_map import patrol_overlays
from ui.state import get_store, visible_map_data

UPLOAD_TYPES = ["gpx", "kml", "kmz", "csv"]
FAR_CONFIRM = "仍然导入（确认这些要素属于本辖区）"
"""The box shown after a refusal for distance (:class:`gis.errors.TooFarError`)."""


@dataclass
class PeriodData:
    """Everything the page shows for one period, as of one data version."""

    report: PatrolReport
    inside: list[dict[str, Any]]  # report.tracks started in the period
    stretches: gpd.GeoDataFrame
    tracks: gpd.GeoDataFrame
    stations: dict[int, tuple[str, float]]  # reach id → (name, start station in metres)
    bounds: tuple[float, float, float, float] | None


@st.cache_data(show_spinner="正在统计巡河考核…", max_entries=8)
def period_data(version: int, period: str, scope: tuple[int, ...] | None = None) -> PeriodData:
    """:func:`gis.patrol.service.patrol_report` for ``period`` with its map frames (``version``:
    :func:`ui.state.data_version`, the cache key), limited to the grids of ``scope``
    (:func:`ui.state.scope_key`; None: everything)."""
    with get_store().session() as s:
        report = patrol_report(s, period, scope=EVERYTHING if scope is None else Scope(frozenset(scope)))
        reaches = store_reaches(s)
        # the report also analyses tracks of slots reaching outside the period (a quarter, a week
        # that began last month): the map and the lists show those started inside it
        inside = [
            t
            for t in report.tracks
            if t["track_id"] is not None
            and t["start"] is not None
            and report.period.contains(np.datetime64(t["start"].rstrip("Z"), "ns"))
        ]
        tracks = track_frame(s, [t["track_id"] for t in inside])
    stretches = coverage_frame(report, reaches)
    focus = tracks if len(tracks) else reaches  # the period's tracks, else every reach
    if len(focus):
        x0, y0, x1, y1 = (float(v) for v in focus.total_bounds)
        pad = max(x1 - x0, y1 - y0, 0.02) * 0.15
        bounds: tuple[float, float, float, float] | None = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    else:
        bounds = None
    stations = {int(k): (str(r["name"]), float(r["start_station_m"] or 0.0)) for k, r in reaches.iterrows()}
    return PeriodData(report, inside, stretches, tracks, stations, bounds)  # type: ignore[arg-type]


@st.cache_data(show_spinner=False, max_entries=8)
def period_overlays(version: int, period: str, scope: tuple[int, ...] | None = None) -> list[Overlay]:
    """The packed map layers of :func:`period_data` (built once per version, period and scope)."""
    data = period_data(version, period, scope)
    uncounted = {t["track_id"] for t in data.inside if not t["counted"]}
    return patrol_overlays(data.stretches, data.tracks, uncounted=uncounted)


@st.cache_data(show_spinner=False, max_entries=4)
def people_and_grids(version: int) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(id, name) of persons and (id, "name（level）") of live grids, for the upload form."""
    with get_store().session() as s:
        persons = list(person_labels(s, active_only=False, with_title=False).items())
        grids = list(grid_labels(s, by_level=True).items())
    return persons, grids


@st.cache_data(show_spinner=False, max_entries=16)
def person_of_user(version: int, user_id: int | None) -> int | None:
    """The person id linked to a user account (the upload form's default patroller)."""
    if user_id is None:
        return None
    with get_store().session() as s:
        return linked_person(s, user_id)


@contextmanager
def saved_upload(data: bytes, name: str) -> Iterator[Path]:
    """The uploaded bytes in a private temporary file named like the upload (the name reduced to
    its last part: readers pick the format by the suffix), removed again on leaving the block."""
    with tempfile.TemporaryDirectory(prefix="rivergrid-upload-") as folder:
        path = Path(folder) / (Path(name).name or "track")
        path.write_bytes(data)
        yield path


@st.cache_data(show_spinner="正在检查轨迹…", max_entries=4)
def checked_upload(
    version: int, data: bytes, name: str, from_crs: str | None, allow_far: bool = False
) -> TrackFileCheck:
    """:func:`gis.patrol.track_import.check_track_file` of an upload (raises its Chinese errors; the
    size limit before anything is written to disk)."""
    check_size(len(data), name)
    with get_store().session() as s, saved_upload(data, name) as path:
        return check_track_file(s, path, from_crs=from_crs, allow_far=allow_far)


def _rate(v: Any) -> str:
    return "不考核" if v is None else f"{v:.0%}"


def compliance_table(rows: list[dict[str, Any]], subject: str, key: str) -> pd.DataFrame:
    """Persons' or grids' compliance rows of a report as a Chinese table."""
    return pd.DataFrame(
        {
            subject: [r[key] for r in rows],
            "层级": [
                GridLevel(r["level"]).label if r["level"] in GridLevel._value2member_map_ else "无岗位" for r in rows
            ],
            "频次": [FREQUENCIES.get(r["frequency"] or "", "—") for r in rows],
            "应巡": [r["required"] for r in rows],
            "达标": [r["done"] for r in rows],
            "巡查次数": [r["patrols"] for r in rows],
            "有效次数": [r["counted"] for r in rows],
            "完成率": [_rate(r["rate"]) for r in rows],
            "未完成时段": ["、".join(r["missing_slots"]) for r in rows],
        }
    )


def coverage_table(report: PatrolReport) -> pd.DataFrame:
    """Per reach: length, patrolled share and the never-patrolled stretches with 桩号."""
    return pd.DataFrame(
        {
            "河段": [c["reach"] for c in report.coverage],
            "编码": [c["code"] for c in report.coverage],
            "长度（公里）": [round(c["length_m"] / 1000, 2) for c in report.coverage],
            "已巡（公里）": [round(c["covered_m"] / 1000, 2) for c in report.coverage],
            "覆盖率": [f"{c['share']:.0%}" for c in report.coverage],
            "从未巡查的区段（桩号）": [
                "；".join(s["stations"] for s in c["never_patrolled"]) or "无" for c in report.coverage
            ],
        }
    )


def matched_text(matched: list[dict[str, Any]], stations: dict[int, tuple[str, float]]) -> list[str]:
    """``河段名 K1+000–K4+200（3.20 公里）`` per matched interval of a track."""
    out = []
    for m in matched:
        name, start = stations.get(int(m["reach_id"]), (str(m["reach_id"]), 0.0))
        out.append(f"{name} {format_range(m['from_m'] + start, m['to_m'] + start)}（{m['length_m'] / 1000:.2f} 公里）")
    return out


@dataclass(frozen=True)
class LatestPatrol:
    """When the latest patrol the viewer may see started: its month (``YYYY-MM``) and day (local
    ``YYYY-MM-DD``); both None when there is no track up to now."""

    month: str | None
    day: str | None


@st.cache_data(show_spinner=False, max_entries=8, ttl=300)
def latest_patrol(version: int, today: date, scope: tuple[int, ...] | None = None) -> LatestPatrol:
    """The latest patrol up to now among the tracks ``scope`` may see (the page opens on its month
    when the current month has none: :func:`gis.overview.latest_month_with_data`)."""
    started = visible_map_data(version, scope).tracks["started_at"]
    month = latest_month_with_data(started, now=clock.now())
    if month is None:
        return LatestPatrol(None, None)
    days = [d for d in local_days(started) if d[:7] <= month]
    return LatestPatrol(month, max(days) if days else None)


def local_days(times: Any) -> list[str]:
    """Local dates (``YYYY-MM-DD``, Asia/Shanghai) of moments (missing ones left out)."""
    stamps = pd.to_datetime(pd.Series(list(times), dtype=object), utc=True).dropna()
    return [str(d) for d in stamps.dt.tz_convert(LOCAL_TZ).dt.strftime("%Y-%m-%d")]


def period_options(choices: list[str], latest: LatestPatrol) -> tuple[list[str], int]:
    """The period choices with the latest month with tracks first when the current month (the
    first choice) has none, and the index the page opens on."""
    if latest.month is None or latest.month == choices[0]:
        return choices, 0
    options = [latest.month, *[c for c in choices if c != latest.month]]
    return options, 0

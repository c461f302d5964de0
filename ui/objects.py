"""Helpers of the page 监管对象 (object ledger): cached reads and the ledger as a Chinese table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from gis.auth import Scope
from gis.grids.posts import person_labels
from gis.incidents.attachments import AttachmentStore
from gis.patrol.object_ledger import inspections_of, object_ledger
from ui.state import get_store

LEDGER_COLUMNS = {
    "name": "监管对象",
    "category_label": "类别",
    "subtype_label": "细类",
    "grid": "所属网格",
    "responsible": "责任人",
    "interval": "巡查周期",
    "last_visit": "最近巡查",
    "last_visit_source": "来源",
    "days_since": "距今（天）",
    "overdue": "逾期未巡查",
}
"""Ledger row keys → column titles of the table, in order."""

SOURCE_LABELS = {"patrol": "巡河轨迹", "record": "巡查记录"}


@st.cache_data(show_spinner="正在统计监管对象巡查情况…", max_entries=8)
def ledger(version: int, period: str, scope: tuple[int, ...] | None) -> list[dict[str, Any]]:
    """:func:`gis.patrol.object_ledger.object_ledger` of ``period`` for the grids ``scope``
    (None: everything); ``version`` is the cache key of the data."""
    with get_store().session() as s:
        return object_ledger(s, period, scope=Scope(frozenset(scope)) if scope is not None else Scope())


@st.cache_data(show_spinner=False, max_entries=16)
def visits(version: int, object_id: int) -> list[dict[str, Any]]:
    """Every visit of one object, newest first (:func:`gis.patrol.object_ledger.inspections_of`)."""
    with get_store().session() as s:
        return inspections_of(s, object_id)


@st.cache_data(show_spinner=False, max_entries=4)
def persons(version: int) -> dict[int, str]:
    """Active persons, id → name（title）, for the 责任人 and 巡查人员 pick lists."""
    with get_store().session() as s:
        return person_labels(s)


def ledger_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The ledger as a table with Chinese titles (missing values read 未落实/未定/无)."""
    frame = pd.DataFrame(rows, columns=list(LEDGER_COLUMNS))
    frame["responsible"] = frame["responsible"].fillna("未落实")
    frame["interval"] = frame["interval"].fillna("未定")
    frame["subtype_label"] = frame["subtype_label"].fillna("")
    frame["grid"] = frame["grid"].fillna("")
    frame["last_visit"] = frame["last_visit"].map(lambda t: t[:16].replace("T", " ") if isinstance(t, str) else "无")
    frame["last_visit_source"] = frame["last_visit_source"].map(
        lambda s: SOURCE_LABELS.get(s, "") if isinstance(s, str) else ""
    )
    frame["days_since"] = frame["days_since"].astype("Int64")
    frame["overdue"] = frame["overdue"].map(lambda b: "逾期" if b else "")
    return frame.rename(columns=LEDGER_COLUMNS)


def visits_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Visits of one object as a table with Chinese titles."""
    frame = pd.DataFrame(rows, columns=["at", "source_label", "person", "note"])
    frame["at"] = frame["at"].map(lambda t: t[:16].replace("T", " "))
    return frame.rename(columns={"at": "时间", "source_label": "来源", "person": "巡查人员", "note": "情况"})


def photo_of(row: dict[str, Any]) -> Path | None:
    """The thumbnail of a record's photo (None when it has none or the file is missing)."""
    if not row.get("photo_sha256") or not row.get("photo_mime"):
        return None
    return AttachmentStore().thumbnail(str(row["photo_sha256"]), str(row["photo_mime"]))

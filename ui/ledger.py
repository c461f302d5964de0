"""Reads and writes of the page 会议与台账 (:mod:`gis.ledger`), under the signed-in account (its
data scope decides what is listed and where it may file)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from gis.auth import Actor
from gis.ledger.records import (
    DOC_KINDS,
    FileIn,
    add_document,
    add_meeting,
    document_rows,
    file_bytes,
    ledger_grids,
    meeting_rows,
    organisation_people,
)
from ui.state import get_store

__all__ = [
    "DOC_KINDS",
    "choices",
    "download_file",
    "export_ledger",
    "list_records",
    "save_document",
    "save_meeting",
    "uploaded",
]


def uploaded(files: Any) -> list[FileIn]:
    """Streamlit uploads as :class:`gis.ledger.records.FileIn`."""
    return [FileIn(f.name, f.getvalue()) for f in (files or [])]


def choices(actor: Actor | None) -> tuple[dict[int, str], dict[int, str]]:
    """Grids the account may file under and the persons who can attend (id → label)."""
    with get_store().session(actor, write=False) as s:
        return ledger_grids(s), organisation_people(s)


def list_records(actor: Actor | None, *, year: int | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Meetings and documents the account sees (of ``year`` when given)."""
    with get_store().session(actor, write=False) as s:
        return meeting_rows(s, year=year), document_rows(s, year=year)


def save_meeting(actor: Actor | None, **fields: Any) -> int:
    with get_store().session(actor) as s:
        return add_meeting(s, **fields).id


def save_document(actor: Actor | None, **fields: Any) -> int:
    with get_store().session(actor) as s:
        return add_document(s, **fields).id


def download_file(actor: Actor | None, file_id: int) -> tuple[str, str, bytes]:
    with get_store().session(actor, write=False) as s:
        return file_bytes(s, file_id)


def export_ledger(actor: Actor | None, grid_id: int, year: int) -> tuple[bytes, dict[str, int], str]:
    """The workbook's bytes, its record counts per sheet and a file name."""
    from gis.ledger.export import build_ledger, write_ledger_xlsx  # noqa: PLC0415 — openpyxl and the assessment only when exporting

    with get_store().session(actor, write=False) as s:
        ledger = build_ledger(s, grid_id, year)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_ledger_xlsx(ledger, Path(tmp) / "台账.xlsx")
        data = path.read_bytes()
    return data, ledger.counts(), f"台账-{ledger.grid}-{ledger.year}.xlsx"

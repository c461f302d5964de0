"""Reads and writes of the page 信息报送 (:mod:`gis.reports`), under the signed-in account (its
data scope decides which grids it reports on and which lower grids it sees)."""

from __future__ import annotations

from typing import Any

from gis.auth import Actor
from gis.reports.editions import (
    BuiltReport,
    build_report,
    edition_dict,
    edition_file,
    editions,
    lower_status,
    report_grids,
    submit_report,
)
from gis.store.scope import home_grid
from ui.state import get_store

__all__ = ["build", "choices", "download", "history", "status", "submit"]


def choices(actor: Actor | None) -> tuple[dict[int, str], int | None]:
    """Grids the account may report on (id → label) and its own grid (None: unbound)."""
    with get_store().session(actor, write=False) as s:
        return report_grids(s), home_grid(s, actor)


def status(actor: Actor | None, grid_id: int, period: str) -> dict[str, Any]:
    with get_store().session(actor, write=False) as s:
        return lower_status(s, grid_id, period)


def history(actor: Actor | None, grid_id: int, period: str) -> list[dict[str, Any]]:
    with get_store().session(actor, write=False) as s:
        return [edition_dict(e) for e in editions(s, grid_id, period)]


def build(actor: Actor | None, grid_id: int, period: str) -> BuiltReport:
    with get_store().session(actor, write=False) as s:
        return build_report(s, grid_id, period)


def submit(actor: Actor | None, built: BuiltReport, reason: str) -> dict[str, Any]:
    with get_store().session(actor) as s:
        return edition_dict(submit_report(s, built, reason=reason))


def download(actor: Actor | None, edition_id: int, fmt: str) -> tuple[str, str, bytes]:
    with get_store().session(actor, write=False) as s:
        return edition_file(s, edition_id, fmt)

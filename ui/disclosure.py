"""Cached reads of the public page (责任公示): only :mod:`gis.disclosure.public` and :mod:`gis.disclosure.signboard`."""

from __future__ import annotations

from datetime import date

import streamlit as st

from gis.disclosure.public import PublicGrid, public_grids
from gis.disclosure.signboard import make_signboard
from ui.state import get_store


@st.cache_data(show_spinner="正在读取公示信息…", max_entries=8)
def published_grids(version: int, today: date) -> list[PublicGrid]:
    """Every grid as published, as of data version ``version`` and posts current on ``today``."""
    with get_store().session() as s:
        return public_grids(s, today=today)


@st.cache_data(show_spinner="正在生成公示牌…", max_entries=16)
def signboard_files(
    version: int, today: date, *, grid_id: int | None = None, reach_id: int | None = None
) -> tuple[bytes, bytes, str, str]:
    """PDF bytes, PNG bytes, printed date (ISO) and file stem of the current signboard.

    The board is redrawn by :func:`gis.disclosure.signboard.make_signboard` only when what it shows changed.
    """

    with get_store().session() as s:
        board = make_signboard(s, grid_id=grid_id, reach_id=reach_id)
    stem = f"公示牌-{board.content.subject}"
    return board.pdf_path.read_bytes(), board.png_path.read_bytes(), board.generated_on.isoformat(), stem

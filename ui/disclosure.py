"""Cached reads of the public page (责任公示): only :mod:`gis.disclosure.public` and :mod:`gis.disclosure.signboard`."""

from __future__ import annotations

from datetime import date
from html import escape

import streamlit as st

from gis.disclosure.public import PublicGrid, PublicPerson, PublicReach, public_grids
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


# ---------------------------------------------------------------------------------------------
# Cards (readable on a phone: no data grid, no toolbar, nothing cut off)
# ---------------------------------------------------------------------------------------------

CARD_CSS = (
    "<style>"
    ".rg-cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:8px;margin:4px 0 10px}"
    ".rg-card{border:1px solid #d5dde5;border-radius:6px;padding:8px 10px;background:#fff;line-height:1.5}"
    ".rg-card .rg-post{font-size:12px;color:#1565c0;font-weight:600}"
    ".rg-card .rg-name{font-size:17px;font-weight:600;color:#1f2933}"
    ".rg-card .rg-title{font-size:13px;color:#52606d;overflow-wrap:anywhere}"
    ".rg-card .rg-phone{font-size:16px;margin-top:2px;white-space:nowrap}"
    ".rg-card .rg-phone a{color:#0d47a1;text-decoration:none;font-variant-numeric:tabular-nums}"
    ".rg-card .rg-none{font-size:13px;color:#7b8794}"
    "</style>"
)


def _tel(phone: str) -> str:
    """The digits (and a leading +) of a phone number, for a ``tel:`` link."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return ("+" if phone.strip().startswith("+") else "") + digits


def person_cards_html(persons: list[PublicPerson] | tuple[PublicPerson, ...]) -> str:
    """The people of a grid as cards: post, name, title, and the phone where it is public (as
    text and a ``tel:`` link, so a phone can call it). Every stored text is escaped."""
    cards = []
    for p in persons:
        phone = (
            f'<div class="rg-phone">☎ <a href="tel:{escape(_tel(p.phone), quote=True)}">{escape(p.phone)}</a></div>'
            if p.phone and _tel(p.phone)
            else '<div class="rg-none">电话不公开，可拨打监督举报电话</div>'
        )
        cards.append(
            '<div class="rg-card rg-person">'
            f'<div class="rg-post">{escape(p.post)}</div>'
            f'<div class="rg-name">{escape(p.name)}</div>'
            + (f'<div class="rg-title">{escape(p.title)}</div>' if p.title else "")
            + phone
            + "</div>"
        )
    return CARD_CSS + '<div class="rg-cards">' + "".join(cards) + "</div>"


def reach_cards_html(reaches: list[PublicReach] | tuple[PublicReach, ...], *, chosen: int | None = None) -> str:
    """The reaches a grid supervises as cards: name, river, length inside the grid, river chiefs."""
    cards = []
    for r in reaches:
        chiefs = "、".join(f"{escape(c.name)}（{escape(c.post)}）" for c in r.chiefs) or "待补充"
        mark = ' style="border-color:#0d47a1;border-width:2px"' if chosen == r.id else ""
        cards.append(
            f'<div class="rg-card rg-reach"{mark}>'
            f'<div class="rg-name">{escape(r.name)}</div>'
            f'<div class="rg-title">所属河流：{escape(r.river)}　网格内长度：{r.length_km:g} 公里</div>'
            f'<div class="rg-title">河长：{chiefs}</div>'
            "</div>"
        )
    return CARD_CSS + '<div class="rg-cards">' + "".join(cards) + "</div>"

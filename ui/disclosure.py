"""Cached reads of the public page (责任公示): only :mod:`gis.disclosure` (public fields: the grid's
五定 and people, signboards, 一河一档/一河一策 and the 曝光台 of closed cases)."""

from __future__ import annotations

from datetime import date
from html import escape

import streamlit as st

from gis.disclosure.archives import ReachArchive, RiverArchive, archives_of_reaches, reach_archive
from gis.disclosure.public import PublicGrid, PublicPerson, PublicReach, public_grids
from gis.disclosure.results import MonthFigures, PublicCase, closed_cases, monthly_figures
from gis.disclosure.signboard import make_signboard
from gis.errors import NotFoundError
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


# ---------------------------------------------------------------------------------------------
# 一河一档 / 一河一策 and 曝光台 (issue 17)
# ---------------------------------------------------------------------------------------------


@st.cache_data(show_spinner="正在读取河流档案…", max_entries=32)
def published_archives(version: int, today: date, reach_ids: tuple[int, ...]) -> list[RiverArchive]:
    """The archives and this year's plans of the rivers of ``reach_ids``."""
    with get_store().session() as s:
        return archives_of_reaches(s, reach_ids, year=today.year)


@st.cache_data(show_spinner=False, max_entries=64)
def published_reach_archive(version: int, today: date, reach_id: int) -> ReachArchive | None:
    """A reach's archive with its river's archive and this year's plan (None: no such live reach)."""
    with get_store().session() as s:
        try:
            return reach_archive(s, reach_id, year=today.year)
        except NotFoundError:
            return None


@st.cache_data(show_spinner="正在读取办理结果…", max_entries=16)
def published_results(version: int, today: date, grid_id: int) -> tuple[list[PublicCase], list[MonthFigures]]:
    """Closed cases (public fields only) and monthly figures of a grid and the grids below it."""
    with get_store().session() as s:
        return closed_cases(s, grid_id), monthly_figures(s, grid_id, today=today)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def figures_html(months: list[MonthFigures] | tuple[MonthFigures, ...]) -> str:
    """The monthly figures as a small table (readable on a phone, no toolbar)."""
    head = "<tr><th>月份</th><th>收到问题</th><th>办结</th><th>按时办结</th><th>巡河完成率</th></tr>"
    rows = "".join(
        f"<tr><td>{escape(m.month)}</td><td>{m.received}</td><td>{m.closed}</td>"
        f"<td>{m.closed_on_time}（{_percent(m.on_time_rate)}）</td><td>{_percent(m.patrol_rate)}</td></tr>"
        for m in months
    )
    return (
        "<style>.rg-figs{border-collapse:collapse;font-size:14px;width:100%}"
        ".rg-figs th,.rg-figs td{border:1px solid #d5dde5;padding:4px 6px;text-align:center}"
        ".rg-figs th{background:#f0f4f8}</style>"
        f'<table class="rg-figs">{head}{rows}</table>'
    )


def case_cards_html(cases: list[PublicCase] | tuple[PublicCase, ...]) -> str:
    """Closed cases as cards: number, category, title, place, dates, state and the public reply.
    Every stored text is escaped (the records hold public fields only, numbers already masked)."""
    cards = []
    for c in cases:
        reply = (
            f'<div class="rg-title"><b>处理结果：</b>{escape(c.reply)}</div>'
            if c.reply
            else '<div class="rg-none">处理结果待公开</div>'
        )
        cards.append(
            '<div class="rg-card rg-case">'
            f'<div class="rg-post">{escape(c.code)} · {escape(c.category)} · {escape(c.status)}</div>'
            f'<div class="rg-name">{escape(c.title)}</div>'
            f'<div class="rg-title">地点：{escape(c.place or "—")}</div>'
            f'<div class="rg-title">上报 {escape(c.reported_on)}　办结 {escape(c.closed_on or "—")}</div>'
            + reply
            + "</div>"
        )
    return CARD_CSS + '<div class="rg-cards">' + "".join(cards) + "</div>"


def archive_cards_html(archives: list[RiverArchive] | tuple[RiverArchive, ...]) -> str:
    """一河一档 and this year's 一河一策 of rivers as cards (escaped)."""
    cards = []
    for a in archives:
        facts = "".join(f'<div class="rg-title">{escape(k)}：{escape(v)}</div>' for k, v in a.facts())
        plan = ""
        if a.plan is not None:
            targets = "".join(f"<li>{escape(t)}</li>" for t in a.plan.targets)
            tasks = "".join(f"<li>{escape(t)}</li>" for t in a.plan.tasks)
            plan = (
                f'<div class="rg-post" style="margin-top:6px">{a.plan.year} 年一河一策</div>'
                + (
                    f'<div class="rg-title">目标：<ul style="margin:0 0 0 18px;padding:0">{targets}</ul></div>'
                    if targets
                    else ""
                )
                + (
                    f'<div class="rg-title">任务：<ul style="margin:0 0 0 18px;padding:0">{tasks}</ul></div>'
                    if tasks
                    else ""
                )
            )
        else:
            plan = '<div class="rg-none">本年度一河一策待公开</div>'
        cards.append(
            '<div class="rg-card rg-river">'
            f'<div class="rg-name">{escape(a.name)}</div>'
            f'<div class="rg-title">{escape(a.level_label)}</div>'
            + (facts or '<div class="rg-none">档案待补充</div>')
            + plan
            + "</div>"
        )
    return CARD_CSS + '<div class="rg-cards">' + "".join(cards) + "</div>"

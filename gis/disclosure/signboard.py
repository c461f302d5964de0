"""Signboards (公示牌) of a grid or a reach: printable PNG and PDF, cached by content.

A signboard shows what the plan asks to publish on site: a map of the grid or reach, the
responsible persons and river chiefs at each level (county → township → village), the duties
(定职责), the targets (定任务), the supervision hotline and a QR code linking to the public page
(``RIVERGRID_PUBLIC_URL/public?grid=ID``, see :func:`gis.disclosure.public.public_url`). Everything on
it comes from :mod:`gis.disclosure.public`, so it shows public fields only (no private phone numbers).

One drawing (Pillow, A4 portrait at :data:`DPI` dots per inch, Noto Sans CJK) is saved as PNG
and as a one-page PDF of the same pixels. Files live under ``<data dir>/signboards/`` named after
a fingerprint (SHA-256) of the content: when a person, post, duty or the hotline changes, the
next request draws a new board dated that day; an unchanged board is served from the cache with
its original date. :func:`signboard_status` tells whether the newest board of a grid still
matches the data (for the assessment's "公示牌更新及时" item).

A board is printed only for an address the public can open: while ``RIVERGRID_PUBLIC_URL`` is
unset (its default is ``http://localhost:8501``) or names this machine (``localhost``,
``127.0.0.1``, ``::1``, ``0.0.0.0``), :func:`make_signboard` refuses with a Chinese message that
says how to set it (:func:`check_public_url`); a QR code on a riverbank must not lead to
``http://localhost:8501/public?grid=3``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import shapely
from PIL import Image, ImageDraw, ImageFont
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis import clock
from gis.config import settings
from gis.disclosure.public import (
    PublicGrid,
    PublicPerson,
    grid_of_reach,
    public_grids,
    public_url,
)
from gis.errors import NotFoundError, RiverGridError, ValidationError
from gis.geometry.crs import metric_crs_for, to_crs
from gis.model import LOCAL_TZ, GridRole
from gis.store.schema import AuditEntry, Grid, GridRoleAssignment, ReachChief

__all__ = [
    "DPI",
    "Signboard",
    "SignboardContent",
    "check_public_url",
    "font_files",
    "make_signboard",
    "render_signboard",
    "signboard_content",
    "signboard_status",
]

DPI = 200
"""Resolution of the drawing; the page is A4 portrait (210 × 297 mm)."""

PAGE_PX = (round(210 / 25.4 * DPI), round(297 / 25.4 * DPI))
"""Page size in pixels (width, height)."""

FONT_FAMILY = "Noto Sans CJK SC"
"""Font of every text on the board (Debian package ``fonts-noto-cjk``)."""

_BLUE = (11, 61, 145)
_RIVER = (21, 101, 192)
_GRID = (106, 27, 154)
_INK = (33, 33, 33)
_GREY = (117, 117, 117)
_PAPER = (255, 255, 255)


# =============================================================================================
# Content
# =============================================================================================


@dataclass(frozen=True)
class ChiefLine:
    """One row of the board's table: level (县级/乡级/村级…), post, name, title, public phone."""

    level: str
    post: str
    name: str
    title: str
    phone: str = ""


@dataclass(frozen=True)
class SignboardContent:
    """Everything printed on one board (public fields only).

    ``kind`` is ``grid`` or ``reach`` and ``ref_id`` that grid's or reach's id; ``grid_id`` is
    the grid the QR code selects (for a reach, the finest grid holding most of it). Geometries
    are WGS84 longitude/latitude: ``area`` the grid, ``lines`` the reaches drawn, ``focus`` the
    reach of a reach board.
    """

    kind: str
    ref_id: int
    grid_id: int
    heading: str
    subject: str
    subtitle: str
    chiefs: tuple[ChiefLine, ...]
    reaches: tuple[str, ...]
    duties: str
    targets: str
    hotline: str
    url: str
    illustrative: bool
    area: BaseGeometry | None = field(default=None, repr=False)
    lines: tuple[tuple[str, BaseGeometry], ...] = field(default=(), repr=False)
    focus: BaseGeometry | None = field(default=None, repr=False)

    def fingerprint(self) -> str:
        """SHA-256 (hex) of all printed content; the date is not part of it."""

        def wkt(g: BaseGeometry | None) -> str | None:
            return None if g is None else shapely.to_wkt(g, rounding_precision=6)

        data = {
            "kind": self.kind,
            "ref_id": self.ref_id,
            "grid_id": self.grid_id,
            "heading": self.heading,
            "subject": self.subject,
            "subtitle": self.subtitle,
            "chiefs": [list(c.__dict__.values()) for c in self.chiefs],
            "reaches": list(self.reaches),
            "duties": self.duties,
            "targets": self.targets,
            "hotline": self.hotline,
            "url": self.url,
            "illustrative": self.illustrative,
            "area": wkt(self.area),
            "lines": [[n, wkt(g)] for n, g in self.lines],
            "focus": wkt(self.focus),
        }
        return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True).encode()).hexdigest()

    def text(self) -> str:
        """Every printed text, one item per line (for tests and the command line)."""
        rows = [self.heading, self.subject, self.subtitle]
        rows += [" ".join(x for x in (c.level, c.post, c.name, c.title, c.phone) if x) for c in self.chiefs]
        rows += list(self.reaches) + [self.duties, self.targets, f"监督电话：{self.hotline}", self.url]
        return "\n".join(r for r in rows if r)


_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _local_host(host: str) -> bool:
    """True for a name or address of this machine (loopback or unspecified)."""
    host = host.strip("[]").rstrip(".").lower()
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def check_public_url(base_url: str | None = None) -> str:
    """The address printed in signboard QR codes (``base_url`` or ``RIVERGRID_PUBLIC_URL``),
    checked: an ``http``/``https`` address with a host that is not this machine.

    Raises
    ------
    ValidationError
        The address is unset (the default ``http://localhost:8501``), local (``localhost``,
        ``127.0.0.1``, ``::1``, ``0.0.0.0``) or not a web address; the message says how to set it.
    """
    url = (base_url or settings().public_url).strip().rstrip("/")
    parts = urlsplit(url)
    host = parts.hostname or ""
    how = (
        "请把环境变量 RIVERGRID_PUBLIC_URL 设为公众手机能打开的本系统网址（如 https://hezhang.example.gov.cn），"
        "重启后再生成；命令行也可用 --base-url 指定"
    )
    if parts.scheme not in ("http", "https") or not host:
        raise ValidationError(
            f"公示牌二维码的网址“{url}”不是有效的网页地址，暂不能生成公示牌。{how}",
            f"public URL {url!r} is not an http(s) address",
        )
    if _local_host(host):
        unset = not (os.environ.get("RIVERGRID_PUBLIC_URL") or "").strip() and not base_url
        why = "尚未设置对外网址（RIVERGRID_PUBLIC_URL），" if unset else ""
        raise ValidationError(
            f"{why}公示牌二维码会指向本机地址 {url}，群众扫码无法打开，暂不能生成公示牌。{how}",
            f"public URL {url!r} is local; set RIVERGRID_PUBLIC_URL",
        )
    return url


def _level_short(level_label: str) -> str:
    return level_label.removesuffix("网格")


def _grid_chiefs(g: PublicGrid) -> list[ChiefLine]:
    rows = []
    for grid_name, level_label, persons in reversed(g.upper):
        rows += [
            ChiefLine(_level_short(level_label), f"{level_label}{p.post}", p.name, p.title, p.phone) for p in persons
        ] or [ChiefLine(_level_short(level_label), f"{level_label}主要责任人", "待补充", grid_name)]
    short = _level_short(g.level_label)
    for post in (GridRole.MAIN_RESPONSIBLE, GridRole.TOWNSHIP_SUPERVISOR, GridRole.SUPERVISOR, GridRole.ASSISTANT):
        people = g.people(post)
        if not people and post in (GridRole.MAIN_RESPONSIBLE,):
            rows.append(ChiefLine(short, post.label, "待补充", ""))
        rows += [ChiefLine(short, post.label, p.name, p.title, p.phone) for p in people]
    return rows


def _chief_names(persons: Sequence[PublicPerson]) -> str:
    return "、".join(f"{p.name}（{p.post}）" for p in persons) or "待补充"


def _data_version(session: Session) -> int:

    return int(session.scalar(select(func.max(AuditEntry.id))) or 0)


def _public_grids(session: Session, today: date) -> list[PublicGrid]:
    """:func:`gis.disclosure.public.public_grids`, computed once per session while nothing is written
    (every write adds audit entries, which changes the key), so that checking the boards of many
    grids (the assessment does) reads the store once."""
    key = (_data_version(session), today, settings().hotline)
    cached = session.info.get("_signboard_public_grids")
    if cached is None or cached[0] != key:
        cached = (key, public_grids(session, today=today))
        session.info["_signboard_public_grids"] = cached
    return cached[1]


def signboard_content(
    session: Session,
    *,
    grid_id: int | None = None,
    reach_id: int | None = None,
    base_url: str | None = None,
    today: date | None = None,
) -> SignboardContent:
    """What the board of a grid or of a reach shows (exactly one of ``grid_id``, ``reach_id``).

    Raises
    ------
    ValidationError
        Neither or both ids given.
    NotFoundError
        No such live grid, or the reach lies in no grid (or does not exist).
    """
    if (grid_id is None) == (reach_id is None):
        raise ValidationError("请指定一个网格或一个河段（二选一）", "give exactly one of grid_id and reach_id")
    grids = _public_grids(session, today or clock.today())
    if grid_id is not None:
        g = next((x for x in grids if x.id == int(grid_id)), None)
        if g is None:
            raise NotFoundError(f"没有编号为 {grid_id} 的网格", f"no live grid {grid_id!r}")
        return SignboardContent(
            kind="grid",
            ref_id=g.id,
            grid_id=g.id,
            heading="河长制网格化管理公示牌",
            subject=g.name,
            subtitle="　".join(
                x for x in (g.level_label, f"责任主体：{g.responsible_body}" if g.responsible_body else "") if x
            ),
            chiefs=tuple(_grid_chiefs(g)),
            reaches=tuple(f"{r.name}（{r.length_km:g} 公里）河长：{_chief_names(r.chiefs)}" for r in g.reaches),
            duties=g.duties,
            targets=g.tasks,
            hotline=g.hotline,
            url=public_url(g.id, base_url=base_url),
            illustrative=g.illustrative,
            area=g.geometry,
            lines=tuple((r.name, r.geometry) for r in g.reaches),
        )
    g = grid_of_reach(grids, int(reach_id))  # type: ignore[arg-type]
    if g is None:
        raise NotFoundError(
            f"没有编号为 {reach_id} 的河段，或该河段不在任何网格内", f"reach {reach_id!r} missing or inside no grid"
        )
    reach = next(r for r in g.reaches if r.id == int(reach_id))  # type: ignore[arg-type]
    chiefs = [ChiefLine(p.post.removesuffix("河长"), p.post, p.name, p.title, p.phone) for p in reach.chiefs]
    chiefs += [
        ChiefLine(_level_short(g.level_label), f"网格{p.post}", p.name, p.title, p.phone)
        for post in (GridRole.MAIN_RESPONSIBLE, GridRole.TOWNSHIP_SUPERVISOR)
        for p in g.people(post)
    ]
    return SignboardContent(
        kind="reach",
        ref_id=reach.id,
        grid_id=g.id,
        heading="河长公示牌",
        subject=reach.name,
        subtitle=f"所属河流：{reach.river}　所在网格：{g.name}",
        chiefs=tuple(chiefs),
        reaches=(),
        duties=g.duties,
        targets=g.tasks,
        hotline=g.hotline,
        url=public_url(g.id, reach_id=reach.id, base_url=base_url),
        illustrative=g.illustrative,
        area=g.geometry,
        lines=tuple((r.name, r.geometry) for r in g.reaches if r.id != reach.id),
        focus=reach.geometry,
    )


# =============================================================================================
# Drawing
# =============================================================================================


@lru_cache(maxsize=1)
def _font_file() -> tuple[str, int, str, int]:
    """(regular file, face index, bold file, face index) of :data:`FONT_FAMILY`."""

    def match(style: str) -> tuple[str, int] | None:
        if shutil.which("fc-match"):
            out = subprocess.run(
                ["fc-match", "-f", "%{file}:%{index}:%{family}", f"{FONT_FAMILY}:style={style}"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            path, _, rest = out.partition(":")
            index, _, family = rest.partition(":")
            if path and FONT_FAMILY in family and Path(path).exists():
                return path, int(index or 0)
        name = "NotoSansCJK-Bold.ttc" if style == "Bold" else "NotoSansCJK-Regular.ttc"
        for folder in ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype/noto"):
            p = Path(folder) / name
            if p.exists():
                for i in range(8):
                    try:
                        if ImageFont.truetype(str(p), 10, index=i).getname()[0] == FONT_FAMILY:
                            return str(p), i
                    except OSError:
                        break
        return None

    regular, bold = match("Regular"), match("Bold")
    if regular is None:
        raise RiverGridError(
            "缺少中文字体，无法生成公示牌，请安装 fonts-noto-cjk",
            f"font {FONT_FAMILY!r} not found (apt-get install fonts-noto-cjk)",
        )
    bold = bold or regular
    return regular[0], regular[1], bold[0], bold[1]


def font_files() -> tuple[str, int, str, int]:
    """(regular file, face index, bold file, face index) of :data:`FONT_FAMILY` (Noto Sans CJK SC):
    the project's one finder of its Chinese font (signboards; the PDFs of :mod:`gis.reports`).

    Raises
    ------
    RiverGridError
        The font is not installed (Debian package ``fonts-noto-cjk``).
    """
    return _font_file()


@lru_cache(maxsize=32)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    reg, ri, bld, bi = _font_file()
    return ImageFont.truetype(bld if bold else reg, size, index=bi if bold else ri)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Lines of ``text`` no wider than ``width`` pixels (Chinese breaks anywhere)."""
    lines: list[str] = []
    for para in (text or "").splitlines() or [""]:
        line = ""
        for ch in para:
            if font.getlength(line + ch) > width and line:
                lines.append(line)
                line = ch.lstrip() if ch == " " else ch
            else:
                line += ch
        lines.append(line)
    return lines


def _fit(lines: list[str], n: int, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """At most ``n`` lines, the last ending in … when text was cut."""
    if len(lines) <= n:
        return lines
    kept = lines[:n]
    last = kept[-1]
    while last and font.getlength(last + "…") > width:
        last = last[:-1]
    kept[-1] = last + "…"
    return kept


def _text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    size: int,
    *,
    bold: bool = False,
    fill: tuple[int, int, int] = _INK,
    anchor: str = "la",
) -> None:
    draw.text(xy, text, font=_font(size, bold), fill=fill, anchor=anchor)


def _nice_length(max_m: float) -> float:
    """The largest 1, 2 or 5 × 10^k metres not above ``max_m``."""
    exp = 10 ** math.floor(math.log10(max_m))
    return float(max(m * exp for m in (1, 2, 5) if m * exp <= max_m))


def _draw_map(img: Image.Image, box: tuple[int, int, int, int], c: SignboardContent) -> None:
    x0, y0, x1, y1 = box
    draw = ImageDraw.Draw(img, "RGBA")
    draw.rectangle(box, fill=(244, 246, 248), outline=(189, 189, 189), width=3)
    geoms = [g for g in [c.area, c.focus, *[g for _, g in c.lines]] if g is not None and not g.is_empty]
    if not geoms:
        _text(draw, ((x0 + x1) / 2, (y0 + y1) / 2), "暂无地图", 40, fill=_GREY, anchor="mm")
        return
    import geopandas as gpd  # noqa: PLC0415 — geopandas only for drawing a signboard's map

    crs = metric_crs_for(shapely.GeometryCollection(geoms).bounds)

    def metric(g: BaseGeometry | None) -> BaseGeometry | None:
        return None if g is None else to_crs(gpd.GeoSeries([g], crs="EPSG:4326"), crs).iloc[0]

    area, focus = metric(c.area), metric(c.focus)
    lines = [(n, metric(g)) for n, g in c.lines]
    frame = focus if focus is not None else (area if area is not None else shapely.union_all([g for _, g in lines]))
    minx, miny, maxx, maxy = frame.bounds
    pad = 0.08
    w, h = max(maxx - minx, 1.0), max(maxy - miny, 1.0)
    minx, maxx, miny, maxy = minx - w * pad, maxx + w * pad, miny - h * pad, maxy + h * pad
    scale = min((x1 - x0) / (maxx - minx), (y1 - y0) / (maxy - miny))
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    view = shapely.box(
        cx - (x1 - x0) / 2 / scale, cy - (y1 - y0) / 2 / scale, cx + (x1 - x0) / 2 / scale, cy + (y1 - y0) / 2 / scale
    )

    def px(coords: np.ndarray) -> list[tuple[float, float]]:
        return [(mx + (x - cx) * scale, my - (y - cy) * scale) for x, y in coords[:, :2]]

    def parts(g: BaseGeometry) -> list[BaseGeometry]:
        g = shapely.intersection(g, view)
        return [p for p in shapely.get_parts(g) if not p.is_empty]

    if area is not None:
        for poly in parts(area):
            if poly.geom_type != "Polygon":
                continue
            draw.polygon(px(np.asarray(poly.exterior.coords)), fill=(*_GRID, 28))
            for ring in [poly.exterior, *poly.interiors]:
                draw.line(px(np.asarray(ring.coords)), fill=(*_GRID, 255), width=5, joint="curve")
    labels = []
    for name, g in lines:
        for part in parts(g):
            if part.geom_type == "LineString":
                draw.line(
                    px(np.asarray(part.coords)), fill=(*_RIVER, 255), width=7 if focus is None else 5, joint="curve"
                )
        inside = shapely.intersection(g, area if area is not None else view)
        if focus is None and inside.length > 0.15 * (view.bounds[2] - view.bounds[0]):
            labels.append((name, inside))
    if focus is not None:
        for part in parts(focus):
            if part.geom_type == "LineString":
                draw.line(px(np.asarray(part.coords)), fill=(13, 71, 161, 255), width=14, joint="curve")
        labels.append((c.subject, shapely.intersection(focus, view)))
    placed: list[tuple[float, float, float, float]] = []
    for name, g in labels:  # at the middle of the longest part; skipped where it would cover another
        longest = max(shapely.get_parts(g), key=lambda p: p.length)
        pt = (
            shapely.line_interpolate_point(longest, 0.5, normalized=True)
            if longest.geom_type == "LineString"
            else longest.representative_point()
        )
        ((lx, ly),) = px(np.asarray([[pt.x, pt.y]]))
        bbox = draw.textbbox((lx, ly - 14), name, font=_font(30, True), anchor="mb")
        if any(bbox[0] < b[2] and b[0] < bbox[2] and bbox[1] < b[3] and b[1] < bbox[3] for b in placed):
            continue
        placed.append(bbox)
        _text(draw, (lx, ly - 14), name, 30, bold=True, fill=_RIVER, anchor="mb")
    # scale bar (bottom left) and north arrow (top right)
    bar_m = _nice_length((x1 - x0) / 4 / scale)
    bar_px = bar_m * scale
    bx, by = x0 + 40, y1 - 50
    draw.rectangle((bx - 12, by - 58, bx + bar_px + 12, by + 16), fill=(255, 255, 255, 200))
    draw.line([(bx, by), (bx + bar_px, by)], fill=_INK, width=6)
    for x in (bx, bx + bar_px):
        draw.line([(x, by - 14), (x, by + 6)], fill=_INK, width=4)
    label = f"{bar_m / 1000:g} 公里" if bar_m >= 1000 else f"{bar_m:g} 米"
    _text(draw, (bx + bar_px / 2, by - 18), label, 28, anchor="mb")
    ax, ay = x1 - 70, y0 + 40
    draw.polygon([(ax, ay), (ax - 22, ay + 60), (ax, ay + 46), (ax + 22, ay + 60)], fill=_INK)
    _text(draw, (ax, ay + 66), "北", 32, bold=True, anchor="ma")


def _qr_image(url: str, size_px: int) -> Image.Image:
    import qrcode  # noqa: PLC0415 — qrcode only for a printed signboard
    from qrcode.constants import ERROR_CORRECT_M  # noqa: PLC0415 — qrcode only for a printed signboard

    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    matrix = qr.get_matrix()  # with the quiet zone
    n = len(matrix)
    module = max(1, size_px // n)
    img = Image.new("L", (n, n), 255)
    img.putdata([0 if cell else 255 for row in matrix for cell in row])
    return img.resize((n * module, n * module), Image.Resampling.NEAREST).convert("RGB")


def _allocate(need: list[int], room: int) -> list[int]:
    """Share ``room`` text lines among sections needing ``need`` lines: all they need when it
    fits; otherwise at least 2 each and the rest in proportion to what is missing."""
    room = max(int(room), 2 * len(need))
    if sum(need) <= room:
        return list(need)
    budget = [min(n, 2) for n in need]
    spare = room - sum(budget)
    extra = [n - b for n, b in zip(need, budget, strict=True)]
    total = sum(extra) or 1
    return [b + spare * e // total for b, e in zip(budget, extra, strict=True)]


def render_signboard(content: SignboardContent, *, generated_on: date) -> Image.Image:
    """Draw the board (RGB, :data:`PAGE_PX`, :data:`DPI` dots per inch)."""
    W, H = PAGE_PX
    M = 90
    img = Image.new("RGB", PAGE_PX, _PAPER)
    draw = ImageDraw.Draw(img)
    # header
    draw.rectangle((0, 0, W, 250), fill=_BLUE)
    _text(draw, (W / 2, 70), content.heading, 76, bold=True, fill=(255, 255, 255), anchor="mt")
    _text(draw, (W / 2, 172), content.subject, 46, bold=True, fill=(255, 255, 255), anchor="mt")
    y = 280
    _text(draw, (W / 2, y), content.subtitle, 32, fill=_GREY, anchor="mt")
    y += 60
    footer_top = H - 380
    body = _font(30)
    width = W - 2 * M
    chiefs = content.chiefs[:12]
    row_h, line_h, head_h = 50, 44, 64
    table_h = 60 + len(chiefs) * row_h + 16
    sections = [("管护河段", "\n".join(content.reaches))] if content.reaches else []
    sections += [("职责", content.duties), ("目标任务", content.targets)]
    wrapped = [(t, _wrap(s, body, width)) for t, s in sections]
    text_h = len(wrapped) * head_h + sum(len(lines) for _, lines in wrapped) * line_h
    # the map takes what the text leaves, within bounds
    map_h = int(min(max(footer_top - 20 - y - 36 - table_h - text_h, 520), 820))
    _draw_map(img, (M, y, W - M, y + map_h), content)
    if content.illustrative:
        _text(draw, (W - M - 16, y + map_h - 16), "边界为示意", 28, fill=_GREY, anchor="rd")
    draw = ImageDraw.Draw(img)
    y += map_h + 36

    # responsible persons table
    _text(draw, (M, y), "责任人", 40, bold=True, fill=_BLUE)
    y += 60
    cols = (M, M + 150, M + 560, M + 800)
    for c in chiefs:
        _text(draw, (cols[0], y), c.level, 32, fill=_GREY)
        _text(draw, (cols[1], y), c.post, 32)
        _text(draw, (cols[2], y), c.name, 32, bold=True)
        extra = "　".join(x for x in (c.title, f"电话 {c.phone}" if c.phone else "") if x)
        _text(
            draw,
            (cols[3], y),
            _fit(_wrap(extra, _font(28), W - M - cols[3]), 1, _font(28), W - M - cols[3])[0],
            28,
            fill=_GREY,
        )
        y += row_h
    y += 16
    budgets = _allocate([len(lines) for _, lines in wrapped], (footer_top - 20 - y - len(wrapped) * head_h) // line_h)
    for (title, lines), budget in zip(wrapped, budgets, strict=True):
        _text(draw, (M, y), title, 36, bold=True, fill=_BLUE)
        y += head_h - 8
        for line in _fit(lines, budget, body, width):
            _text(draw, (M, y), line, 30)
            y += line_h
        y += 8
    # footer: hotline, date, QR
    draw.rectangle((0, footer_top, W, H), fill=(232, 240, 254))
    qr_px = 320
    qr = _qr_image(content.url, qr_px)
    qx, qy = W - M - qr.width, footer_top + 24
    img.paste(qr, (qx, qy))
    _text(draw, (qx + qr.width / 2, qy + qr.height + 6), "扫码查看责任公示", 28, fill=_INK, anchor="ma")
    _text(draw, (M, footer_top + 50), "监督电话", 40, bold=True, fill=_BLUE)
    _text(draw, (M, footer_top + 110), content.hotline, 64, bold=True)
    _text(draw, (M, footer_top + 220), f"更新日期：{generated_on.year}年{generated_on.month}月{generated_on.day}日", 32)
    _text(draw, (M, footer_top + 272), "欢迎社会各界监督举报", 30, fill=_GREY)
    return img


# =============================================================================================
# Cache
# =============================================================================================


@dataclass(frozen=True)
class Signboard:
    """A drawn board: its files, content fingerprint and the day it was drawn."""

    content: SignboardContent
    fingerprint: str
    generated_at: datetime
    png_path: Path
    pdf_path: Path
    regenerated: bool

    @property
    def generated_on(self) -> date:
        """The date printed on the board (Asia/Shanghai)."""
        return self.generated_at.astimezone(LOCAL_TZ).date()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.content.kind,
            "id": self.content.ref_id,
            "grid_id": self.content.grid_id,
            "url": self.content.url,
            "fingerprint": self.fingerprint,
            "generated_on": self.generated_on.isoformat(),
            "png": str(self.png_path),
            "pdf": str(self.pdf_path),
            "regenerated": self.regenerated,
        }


def signboard_dir(data_dir: Path | str | None = None) -> Path:
    """Folder of the cached boards: ``<data dir>/signboards``."""
    return Path(data_dir or settings().data_dir) / "signboards"


def _write_atomically(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def make_signboard(
    session: Session,
    *,
    grid_id: int | None = None,
    reach_id: int | None = None,
    data_dir: Path | str | None = None,
    base_url: str | None = None,
    now: datetime | None = None,
) -> Signboard:
    """The current board of a grid or reach, drawn now if its content changed since the last one.

    Parameters
    ----------
    session : Session
        Open store session (read only).
    grid_id, reach_id : int, keyword-only
        Exactly one.
    data_dir : path, keyword-only
        Default ``RIVERGRID_DATA_DIR``; the files go to its ``signboards/`` folder.
    base_url : str, keyword-only
        Address of the app for the QR code (default ``RIVERGRID_PUBLIC_URL``).
    now : datetime, keyword-only
        Time of drawing (default now); its Asia/Shanghai date is printed.

    Raises
    ------
    ValidationError
        The QR code's address is unset or local (:func:`check_public_url`): nothing is drawn.
    """
    base_url = check_public_url(base_url)
    now = (now or clock.now()).astimezone(UTC)
    today = now.astimezone(LOCAL_TZ).date()
    content = signboard_content(session, grid_id=grid_id, reach_id=reach_id, base_url=base_url, today=today)
    fp = content.fingerprint()
    folder = signboard_dir(data_dir)
    stem = f"{content.kind}-{content.ref_id}-{fp[:16]}"
    meta_path, png_path, pdf_path = (folder / f"{stem}.{ext}" for ext in ("json", "png", "pdf"))
    if meta_path.exists() and png_path.exists() and pdf_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        return Signboard(content, fp, datetime.fromisoformat(meta["generated_at"]), png_path, pdf_path, False)
    folder.mkdir(parents=True, exist_ok=True)
    img = render_signboard(content, generated_on=today)
    _write_atomically(png_path, lambda p: img.save(p, "PNG", dpi=(DPI, DPI), optimize=True))
    _write_atomically(
        pdf_path,
        lambda p: img.save(
            p,
            "PDF",
            resolution=float(DPI),
            title=f"{content.heading}：{content.subject}",
            author="河长网格",
            creator="RiverGrid",
        ),
    )
    meta = {
        "kind": content.kind,
        "id": content.ref_id,
        "grid_id": content.grid_id,
        "fingerprint": fp,
        "generated_at": now.isoformat(),
        "url": content.url,
    }
    _write_atomically(meta_path, lambda p: p.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8"))
    return Signboard(content, fp, now, png_path, pdf_path, True)


def _shown_table_changes(session: Session) -> list[tuple[str, int | None, set[Any], datetime]]:
    """Audit entries of the tables a board shows: (table, row id, grid or reach ids the row
    referred to before or after, time); read once per session while nothing is written."""

    key = _data_version(session)
    cached = session.info.get("_signboard_changes")
    if cached is None or cached[0] != key:
        rows = []
        for e in session.scalars(
            select(AuditEntry).where(
                AuditEntry.table_name.in_(("grids", "grid_roles", "persons", "reaches", "reach_chiefs"))
            )
        ):
            ref = {"grid_roles": "grid_id", "reach_chiefs": "reach_id"}.get(e.table_name)
            refs = {r.get(ref) for r in (e.before, e.after) if r} if ref else set()
            rows.append((e.table_name, e.row_id, refs, e.at))
        cached = (key, rows)
        session.info["_signboard_changes"] = cached
    return cached[1]


def _content_changed_at(session: Session, grid_id: int) -> datetime | None:
    """Time of the newest audited change to the rows a grid's board shows (grid and upper
    grids, their posts and persons, the reaches and their chiefs)."""

    grid_ids: set[int] = set()
    gid: int | None = grid_id
    while gid is not None and gid not in grid_ids:
        grid_ids.add(gid)
        gid = session.scalar(select(Grid.parent_id).where(Grid.id == gid))
    grids = _public_grids(session, clock.today())
    reach_ids = {r.id for g in grids if g.id == grid_id for r in g.reaches}
    person_ids = set(
        session.scalars(select(GridRoleAssignment.person_id).where(GridRoleAssignment.grid_id.in_(grid_ids)))
    )
    person_ids |= set(session.scalars(select(ReachChief.person_id).where(ReachChief.reach_id.in_(reach_ids or {-1}))))
    newest: datetime | None = None
    for table, row_id, refs, at in _shown_table_changes(session):
        hit = (
            (table == "grids" and row_id in grid_ids)
            or (table == "persons" and row_id in person_ids)
            or (table == "reaches" and row_id in reach_ids)
            or (table == "grid_roles" and bool(refs & grid_ids))
            or (table == "reach_chiefs" and bool(refs & reach_ids))
        )
        if hit and (newest is None or at > newest):
            newest = at
    return newest


def signboard_status(
    session: Session,
    grid_id: int,
    *,
    data_dir: Path | str | None = None,
    base_url: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Whether the newest board drawn for a grid still shows the current data.

    Returns
    -------
    dict
        ``grid_id``; ``generated_at`` (ISO time the newest board was drawn, or None if none
        was); ``generated_on`` (its printed date); ``changed_at`` (ISO time of the newest
        audited change to the grid, its posts, persons, reaches or river chiefs shown on it,
        or None); ``up_to_date`` (True when a board was drawn and its content equals the
        current content, so nothing shown changed since); ``fingerprint`` of the current
        content.

    Raises
    ------
    NotFoundError
        No live grid ``grid_id``.
    """
    content = signboard_content(session, grid_id=grid_id, base_url=base_url, today=today or clock.today())
    fp = content.fingerprint()
    newest: dict[str, Any] | None = None
    folder = signboard_dir(data_dir)
    for meta_path in folder.glob(f"grid-{int(grid_id)}-*.json") if folder.exists() else []:
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if newest is None or meta["generated_at"] > newest["generated_at"]:
            newest = meta
    changed = _content_changed_at(session, int(grid_id))
    generated = datetime.fromisoformat(newest["generated_at"]) if newest else None
    return {
        "grid_id": int(grid_id),
        "generated_at": generated.isoformat() if generated else None,
        "generated_on": generated.astimezone(LOCAL_TZ).date().isoformat() if generated else None,
        "changed_at": changed.isoformat() if changed else None,
        "up_to_date": bool(newest and newest["fingerprint"] == fp),
        "fingerprint": fp,
    }

"""A signboard (公示牌) drawn: what is printed on one board (:class:`SignboardContent`, public
fields only) and the A4 portrait drawing of it (:func:`render_signboard`, Pillow, Noto Sans CJK).
Pure: plain values in, an image out; reading the content from the store and caching the files is
:mod:`gis.disclosure.signboard`."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import shapely
from PIL import Image, ImageDraw, ImageFont
from shapely.geometry.base import BaseGeometry

from gis.fonts import cjk_font
from gis.geometry.crs import metric_crs_for, to_crs

__all__ = ["DPI", "PAGE_PX", "ChiefLine", "SignboardContent", "render_signboard"]

DPI = 200
"""Resolution of the drawing; the page is A4 portrait (210 × 297 mm)."""

PAGE_PX = (round(210 / 25.4 * DPI), round(297 / 25.4 * DPI))
"""Page size in pixels (width, height)."""

_BLUE = (11, 61, 145)
_RIVER = (21, 101, 192)
_GRID = (106, 27, 154)
_INK = (33, 33, 33)
_GREY = (117, 117, 117)
_PAPER = (255, 255, 255)


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
    draw.text(xy, text, font=cjk_font(size, bold), fill=fill, anchor=anchor)


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
        bbox = draw.textbbox((lx, ly - 14), name, font=cjk_font(30, True), anchor="mb")
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
    body = cjk_font(30)
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
            _fit(_wrap(extra, cjk_font(28), W - M - cols[3]), 1, cjk_font(28), W - M - cols[3])[0],
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

"""Signboards (公示牌) of a grid or a reach: printable PNG and PDF, cached by content.

A signboard shows what the plan asks to publish on site: a map of the grid or reach, the
responsible persons and river chiefs at each level (county → township → village), the duties
(定职责), the targets (定任务), the supervision hotline and a QR code linking to the public page
(``RIVERGRID_PUBLIC_URL/public?grid=ID``, see :func:`gis.disclosure.public.public_url`). Everything on
it comes from :mod:`gis.disclosure.public`, so it shows public fields only (no private phone numbers).

One drawing (:mod:`gis.disclosure.signboard_drawing`: Pillow, A4 portrait, Noto Sans CJK) is saved as PNG
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

import ipaddress
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
from gis.disclosure.signboard_drawing import DPI, ChiefLine, SignboardContent, render_signboard
from gis.errors import NotFoundError, ValidationError
from gis.model import LOCAL_TZ, GridRole
from gis.store.schema import AuditEntry, Grid, GridRoleAssignment, ReachChief

__all__ = [
    "Signboard",
    "check_public_url",
    "make_signboard",
    "signboard_content",
    "signboard_status",
]

# =============================================================================================
# Content
# =============================================================================================


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

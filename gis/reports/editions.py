"""Submitting reports upward (报送) and what the upper grid sees (报送情况).

Build, then submit
    :func:`build_report` computes the figures (:func:`gis.reports.figures.build_figures`) and
    renders the workbook and the PDF (read only: run it in a read session);
    :func:`submit_report` writes them as the next edition of (grid, period), in a write session
    as the submitting account. The files go to the blob store (:mod:`gis.store.blobs`), the row
    keeps their SHA-256 and size, and the figures as JSON.
Editions and locking
    Every submission is a new edition, locked from the start (the flush rules of
    :mod:`gis.store.rules` refuse any change or deletion). Edition 1 needs no reason; a later
    edition needs one (更正原因), like a new edition of an evaluation
    (:func:`gis.assessment.evaluations.new_edition`). Submissions are audited like every write.
Who
    ``report.submit`` (工作人员, administrators). An account bound to a grid submits its own grid's
    report; administrators and unbound accounts any grid's. A report may be submitted once its
    period has ended.
Status of the lower grids
    :func:`lower_status`: for a grid and a period, each live grid directly below it is 已报送 (an
    edition exists), 逾期 (none, and the deadline of :func:`gis.reports.periods.due_at` has
    passed) or 未报送 (none yet, before the deadline); a report submitted after the deadline is
    已报送 with ``late``. The grid must be in the reader's data scope, and so the lower grids are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis import clock
from gis.auth import require
from gis.config import settings
from gis.errors import NotFoundError, PermissionDenied, ValidationError
from gis.formatting import local_time
from gis.model import LOCAL_TZ, GridLevel, UserRole
from gis.reports.figures import build_figures, report_grid
from gis.reports.periods import ReportPeriod, due_at, latest_ended, report_period
from gis.reports.render import FORMATS, render, report_title
from gis.reports.upstream import upstream_payload
from gis.store.blobs import BlobStore
from gis.store.queries import live_grids
from gis.store.schema import Grid, ReportEdition
from gis.store.scope import home_grid, scope_of

__all__ = [
    "MAX_REASON",
    "STATUS_LABELS",
    "BuiltReport",
    "build_report",
    "due_reports",
    "edition_dict",
    "edition_file",
    "edition_payload",
    "editions",
    "file_name",
    "lower_status",
    "report_grids",
    "submit_report",
]

MAX_REASON = 2000
STATUS_LABELS = {"submitted": "已报送", "missing": "未报送", "overdue": "逾期"}


@dataclass(frozen=True)
class BuiltReport:
    """A report ready to save or submit: its figures and both files."""

    grid_id: int
    period: ReportPeriod
    figures: dict[str, Any]
    xlsx: bytes
    pdf: bytes

    @property
    def title(self) -> str:
        return report_title(self.figures)

    def file(self, fmt: str) -> bytes:
        if fmt not in FORMATS:
            raise ValidationError(f"报表格式“{fmt}”无效，可选：xlsx、pdf", f"unknown report format {fmt!r}")
        return self.xlsx if fmt == "xlsx" else self.pdf


def build_report(
    session: Session,
    grid_id: int,
    period: str | ReportPeriod,
    *,
    now: datetime | None = None,
    formats: tuple[str, ...] = ("xlsx", "pdf"),
) -> BuiltReport:
    """Figures and files of grid ``grid_id``'s report for ``period`` (read only).

    ``formats`` limits the files rendered (a format left out is empty bytes).
    """
    rp = report_period(period) if isinstance(period, str) else period
    figures = build_figures(session, grid_id, rp, now=now)
    return BuiltReport(
        grid_id=grid_id,
        period=rp,
        figures=figures,
        xlsx=render(figures, "xlsx") if "xlsx" in formats else b"",
        pdf=render(figures, "pdf") if "pdf" in formats else b"",
    )


def editions(session: Session, grid_id: int, period: str | ReportPeriod) -> list[ReportEdition]:
    """Every edition of (grid, period), oldest first (the grid must be in the reader's scope)."""
    rp = report_period(period) if isinstance(period, str) else period
    report_grid(session, grid_id)
    return list(
        session.scalars(
            select(ReportEdition)
            .where(ReportEdition.grid_id == grid_id, ReportEdition.period == rp.label)
            .order_by(ReportEdition.edition)
        )
    )


def _check_submitter(session: Session, grid: Grid) -> str:
    actor = require(session.info.get("actor"), "report.submit")
    if actor.role is UserRole.ADMIN:
        return actor.username
    home = home_grid(session, actor)
    if home is not None and home != grid.id:
        raise PermissionDenied(
            f"“{grid.name}”的报表须由本网格的工作人员报送",
            f"{actor.username} (grid {home}) may not submit the report of grid {grid.id}",
        )
    return actor.username


def submit_report(
    session: Session, built: BuiltReport, *, reason: str = "", now: datetime | None = None
) -> ReportEdition:
    """Submit ``built`` as the next edition of its (grid, period), as the session's actor.

    Raises
    ------
    PermissionDenied
        No ``report.submit``, or another grid than the account's own.
    ValidationError
        The period has not ended; a later edition without a reason; a reason too long.
    ConflictError
        Someone submitted the same edition number at the same moment (the unique constraint).
    """
    grid = report_grid(session, built.grid_id)
    username = _check_submitter(session, grid)
    moment = now if now is not None else clock.now()
    if moment < built.period.end_utc:
        raise ValidationError(
            f"报告期 {built.period.title} 尚未结束，结束后才能报送", f"period {built.period.label} has not ended"
        )
    text = str(reason or "").strip()
    if len(text) > MAX_REASON:
        raise ValidationError(f"原因最多 {MAX_REASON} 字", "reason too long")
    last = session.scalar(
        select(func.max(ReportEdition.edition)).where(
            ReportEdition.grid_id == grid.id, ReportEdition.period == built.period.label
        )
    )
    if last is not None and not text:
        raise ValidationError(
            f"“{grid.name}”{built.period.title}{built.period.kind_label}已报送第 {last} 版并锁定；"
            "如需更正，请说明原因后报送新版本",
            f"report of grid {grid.id} for {built.period.label} already submitted (edition {last}); a reason is needed",
        )
    blobs = BlobStore()
    xlsx = built.xlsx or render(built.figures, "xlsx")
    pdf = built.pdf or render(built.figures, "pdf")
    edition = ReportEdition(
        grid_id=grid.id,
        period=built.period.label,
        kind=built.period.kind,
        edition=(last or 0) + 1,
        figures=built.figures,
        xlsx_sha256=blobs.put(xlsx),
        xlsx_bytes=len(xlsx),
        pdf_sha256=blobs.put(pdf),
        pdf_bytes=len(pdf),
        change_reason=text,
        submitted_by=username,
        submitted_at=moment.astimezone(UTC),
    )
    session.add(edition)
    session.flush()
    return edition


def file_name(grid: str, period: ReportPeriod | str, fmt: str, edition: int | None = None) -> str:
    """``临江市森工街道办事处-2026-11-月报-第1版.xlsx``."""
    rp = report_period(period) if isinstance(period, str) else period
    tail = f"-第{edition}版" if edition else ""
    return f"{grid}-{rp.label}-{rp.kind_label}{tail}.{fmt}"


def edition_dict(ed: ReportEdition) -> dict[str, Any]:
    """An edition without its figures (JSON-friendly; times ISO 8601 UTC and Beijing)."""
    return {
        "id": ed.id,
        "grid_id": ed.grid_id,
        "grid": ed.figures.get("grid", {}).get("name") if ed.figures else None,
        "period": ed.period,
        "kind": ed.kind,
        "edition": ed.edition,
        "change_reason": ed.change_reason,
        "submitted_by": ed.submitted_by,
        "submitted_at": _utc(ed.submitted_at).isoformat(),
        "submitted_at_local": local_time(ed.submitted_at),
        "xlsx": {"sha256": ed.xlsx_sha256, "bytes": ed.xlsx_bytes},
        "pdf": {"sha256": ed.pdf_sha256, "bytes": ed.pdf_bytes},
    }


def _last_day(deadline: datetime) -> date:
    """The last day of a deadline at local midnight (the day before, Beijing time)."""
    return (deadline.astimezone(LOCAL_TZ) - timedelta(days=1)).date()


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def edition_file(session: Session, edition_id: int, fmt: str) -> tuple[str, str, bytes]:
    """(file name, media type, bytes) of a submitted edition's workbook or PDF, for a reader whose
    data scope covers its grid (the grid's own staff and every grid above it).

    Raises
    ------
    NotFoundError, PermissionDenied, ValidationError, ConflictError (the blob is missing or damaged)
    """
    ed = session.get(ReportEdition, edition_id)
    if ed is None:
        raise NotFoundError(f"没有编号为 {edition_id} 的报表", f"no report edition {edition_id}")
    if not scope_of(session).covers(ed.grid_id):
        raise PermissionDenied("该报表不在您的数据权限内", f"report edition {edition_id} outside the actor's scope")
    if fmt not in FORMATS:
        raise ValidationError(f"报表格式“{fmt}”无效，可选：xlsx、pdf", f"unknown report format {fmt!r}")
    sha = ed.xlsx_sha256 if fmt == "xlsx" else ed.pdf_sha256
    name = (ed.figures or {}).get("grid", {}).get("name") or f"网格{ed.grid_id}"
    return file_name(name, ed.period, fmt, ed.edition), FORMATS[fmt], BlobStore().get(sha)


def _status(eds: list[ReportEdition], deadline: datetime, moment: datetime) -> dict[str, Any]:
    first = eds[0] if eds else None
    last = eds[-1] if eds else None
    if first is not None:
        code = "submitted"
        late = _utc(first.submitted_at) > deadline
    else:
        code = "overdue" if moment > deadline else "missing"
        late = False
    return {
        "status": code,
        "status_label": STATUS_LABELS[code] + ("（逾期报送）" if late else ""),
        "late": late,
        "editions": len(eds),
        "latest": None if last is None else edition_dict(last),
        "first_submitted_at": None if first is None else _utc(first.submitted_at).isoformat(),
    }


def lower_status(
    session: Session, grid_id: int, period: str | ReportPeriod, *, now: datetime | None = None
) -> dict[str, Any]:
    """The report status of ``grid_id`` itself and of each live grid directly below it for ``period``.

    Returns ``{"grid", "period", "due_at", "due_at_local", "own", "lower": [...]}``; each status
    row has ``grid_id``, ``grid``, ``level_label``, ``status`` (``submitted``/``missing``/
    ``overdue``), ``status_label`` (已报送/未报送/逾期), ``late``, ``editions`` and ``latest``.
    """
    rp = report_period(period) if isinstance(period, str) else period
    grid = report_grid(session, grid_id)
    moment = _utc(now) if now is not None else clock.now()
    deadline = due_at(rp, settings().report_due_workdays)
    children = list(
        session.scalars(select(Grid).where(Grid.parent_id == grid.id, Grid.deleted_at.is_(None)).order_by(Grid.id))
    )
    ids = [grid.id, *(c.id for c in children)]
    by_grid: dict[int, list[ReportEdition]] = {}
    for ed in session.scalars(
        select(ReportEdition)
        .where(ReportEdition.grid_id.in_(ids), ReportEdition.period == rp.label)
        .order_by(ReportEdition.edition)
    ):
        by_grid.setdefault(ed.grid_id, []).append(ed)

    def row(g: Grid) -> dict[str, Any]:
        return {
            "grid_id": g.id,
            "grid": g.name,
            "level": g.level,
            "level_label": GridLevel(g.level).label,
            **_status(by_grid.get(g.id, []), deadline, moment),
        }

    return {
        "grid": {"id": grid.id, "name": grid.name, "level_label": GridLevel(grid.level).label},
        "period": rp.to_dict(),
        "due_at": deadline.isoformat(),
        "due_date": _last_day(deadline).isoformat(),
        "due_at_local": f"{_last_day(deadline).isoformat()} 24:00",
        "due_workdays": settings().report_due_workdays,
        "as_of": moment.isoformat(),
        "own": row(grid),
        "lower": [row(c) for c in children],
    }


def edition_payload(session: Session, edition_id: int, fmt: str = "xlsx") -> tuple[dict[str, Any], str]:
    """The upstream push of a submitted edition (:func:`gis.reports.upstream.upstream_payload`):
    the JSON body with its file, and the idempotency key; read for a reader whose scope covers it."""
    name, _media, data = edition_file(session, edition_id, fmt)
    ed = session.get(ReportEdition, edition_id)
    assert ed is not None  # edition_file found it
    return upstream_payload(edition_dict(ed), ed.figures, data, file_name=name, fmt=fmt, source=settings().public_url)


def report_grids(session: Session) -> dict[int, str]:
    """The live grids the session's actor may report on or look at (its data scope), id → label,
    upper levels first."""
    scope = scope_of(session)
    return {g.id: f"{g.name}（{GridLevel(g.level).label}）" for g in live_grids(session) if scope.covers(g.id)}


def due_reports(
    session: Session,
    grid_id: int,
    *,
    now: datetime | None = None,
    kinds: tuple[str, ...] = ("month", "quarter", "year"),
) -> list[dict[str, Any]]:
    """The reports grid ``grid_id`` still owes: for each kind, the latest period that has ended,
    when no edition of it is submitted (for the 待办 inbox and the 报送提醒 notifications).

    Each item: ``period`` (:meth:`ReportPeriod.to_dict`), ``due_at`` (ISO, UTC), ``due_at_local``,
    ``status`` (``missing`` or ``overdue``) and ``status_label``; oldest deadline first.
    """
    moment = _utc(now) if now is not None else clock.now()
    today = moment.astimezone(LOCAL_TZ).date()
    out = []
    for kind in kinds:
        rp = latest_ended(kind, today)
        own = lower_status(session, grid_id, rp, now=moment)
        if own["own"]["status"] != "submitted":
            out.append(
                {
                    "grid_id": grid_id,
                    "grid": own["grid"]["name"],
                    "period": own["period"],
                    "due_at": own["due_at"],
                    "due_at_local": own["due_at_local"],
                    "status": own["own"]["status"],
                    "status_label": own["own"]["status_label"],
                }
            )
    return sorted(out, key=lambda d: d["due_at"])

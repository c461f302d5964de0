"""Meetings (会议) and the document shelf (文件柜: plans, rules, reports), with their files.

A meeting has a date, a title, a place, its attendees (persons of the organisation, by id), its
minutes and files; a document a kind (:data:`DOC_KINDS`), a title, a date, a note and files. Files
go to the content-addressed blob store (:class:`gis.store.blobs.BlobStore`, under the data folder,
backed up with it); their rows keep name, type, size and SHA-256. Writes need 编辑人员和职务
(``org.write``, checked by the store on flush) and are audited; reads follow the data scope: an
account bound to a grid sees the records of its grid and the grids below it (and the office's,
filed under no grid).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis import clock
from gis.errors import NotFoundError, PermissionDenied, ValidationError
from gis.limits import check_size
from gis.model import PersonStatus
from gis.store.blobs import BlobStore
from gis.store.queries import live_grids
from gis.store.schema import Grid, LedgerDocument, LedgerFile, Meeting, Person
from gis.store.scope import scope_of

__all__ = [
    "DOC_KINDS",
    "FileIn",
    "add_document",
    "add_meeting",
    "document_rows",
    "file_bytes",
    "ledger_grids",
    "meeting_rows",
    "organisation_people",
]

DOC_KINDS: dict[str, str] = {
    "plan": "方案计划",
    "rule": "规章制度",
    "report": "工作报告",
    "notice": "通知通报",
    "other": "其他",
}
"""Kinds of the document shelf: code → Chinese name."""


@dataclass(frozen=True)
class FileIn:
    """A file given with a meeting or a document: its name and bytes."""

    name: str
    data: bytes


def _actor_name(session: Session) -> str:
    actor = session.info.get("actor")
    return actor.username if actor is not None else ""


def _text(value: str | None, what: str, *, required: bool = False, max_len: int = 200) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(f"请填写{what}", f"{what} required")
    if len(text) > max_len:
        raise ValidationError(f"{what}不能超过 {max_len} 个字", f"{what} too long")
    return text


def _grid(session: Session, grid_id: int | None) -> int | None:
    if grid_id is None:
        return None
    grid = session.get(Grid, grid_id)
    if grid is None or grid.deleted_at is not None:
        raise NotFoundError(f"没有编号为 {grid_id} 的网格", f"no live grid {grid_id!r}")
    scope = scope_of(session)
    if not scope.covers(grid_id):
        raise PermissionDenied(f"网格“{grid.name}”不在您的数据权限内", f"grid {grid_id} outside the actor's scope")
    return grid_id


def _store_files(session: Session, files: Iterable[FileIn], **owner: Any) -> list[LedgerFile]:
    blobs = BlobStore()
    rows = []
    for f in files:
        if not f.data:
            raise ValidationError(f"文件“{f.name}”是空的", f"empty file {f.name!r}")
        check_size(len(f.data), f.name)  # RIVERGRID_MAX_FILE_MB, as for every upload
        sha = blobs.put(f.data)
        mime = mimetypes.guess_type(f.name)[0] or "application/octet-stream"
        row = LedgerFile(
            sha256=sha,
            original_name=_text(f.name, "文件名", max_len=255) or "未命名文件",
            mime=mime,
            size_bytes=len(f.data),
            uploaded_by=_actor_name(session),
            **owner,
        )
        session.add(row)
        rows.append(row)
    return rows


def add_meeting(
    session: Session,
    *,
    held_on: date,
    title: str,
    grid_id: int | None = None,
    place: str = "",
    attendee_ids: Sequence[int] = (),
    minutes: str = "",
    files: Iterable[FileIn] = (),
) -> Meeting:
    """Record a meeting; attendees are ids of persons of the organisation (unknown ids are refused)."""
    if held_on > clock.today():
        raise ValidationError("会议日期不能晚于今天", f"meeting date {held_on} in the future")
    ids = list(dict.fromkeys(int(i) for i in attendee_ids))
    if ids:
        known = set(session.scalars(select(Person.id).where(Person.id.in_(ids))))
        missing = [i for i in ids if i not in known]
        if missing:
            raise NotFoundError(f"没有编号为 {'、'.join(map(str, missing))} 的人员", f"no persons {missing}")
    meeting = Meeting(
        grid_id=_grid(session, grid_id),
        held_on=held_on,
        title=_text(title, "会议名称", required=True),
        place=_text(place, "地点"),
        attendee_ids=ids,
        minutes=_text(minutes, "会议纪要", max_len=20000),
        created_by=_actor_name(session),
    )
    session.add(meeting)
    session.flush()
    _store_files(session, files, meeting_id=meeting.id)
    session.flush()
    return meeting


def add_document(
    session: Session,
    *,
    kind: str,
    title: str,
    issued_on: date | None = None,
    grid_id: int | None = None,
    note: str = "",
    files: Iterable[FileIn] = (),
) -> LedgerDocument:
    """Put a document on the shelf; ``kind`` is a code or Chinese name of :data:`DOC_KINDS`."""
    code = kind if kind in DOC_KINDS else next((k for k, v in DOC_KINDS.items() if v == kind), None)
    if code is None:
        raise ValidationError(
            f"文件类别“{kind}”无效，可选：{'、'.join(DOC_KINDS.values())}", f"unknown document kind {kind!r}"
        )
    doc = LedgerDocument(
        grid_id=_grid(session, grid_id),
        kind=code,
        title=_text(title, "文件名称", required=True),
        issued_on=issued_on,
        note=_text(note, "备注", max_len=5000),
        created_by=_actor_name(session),
    )
    session.add(doc)
    session.flush()
    _store_files(session, files, document_id=doc.id)
    session.flush()
    return doc


def _visible(session: Session, grid_ids: Iterable[int] | None) -> list[int] | None:
    """The grid ids the session's actor (and the filter) lets through; None: every grid."""
    scope = scope_of(session)
    wanted = None if grid_ids is None else set(grid_ids)
    allowed = None if scope.grid_ids is None else set(scope.grid_ids)
    if wanted is None and allowed is None:
        return None
    if wanted is None:
        return sorted(allowed or ())
    return sorted(wanted if allowed is None else wanted & allowed)


def _files(session: Session, of_meetings: bool, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    if not ids:
        return out
    column = LedgerFile.meeting_id if of_meetings else LedgerFile.document_id
    for f in session.scalars(select(LedgerFile).where(column.in_(ids)).order_by(LedgerFile.id)):
        key = f.meeting_id if of_meetings else f.document_id
        if key is not None:
            out.setdefault(key, []).append(
                {"id": f.id, "name": f.original_name, "mime": f.mime, "size_bytes": f.size_bytes, "sha256": f.sha256}
            )
    return out


def meeting_rows(
    session: Session, *, grid_ids: Iterable[int] | None = None, year: int | None = None
) -> list[dict[str, Any]]:
    """Meetings (newest first) of ``grid_ids`` (default: all the actor sees) and ``year``, as plain
    dicts: attendees by name, files by name."""
    query = select(Meeting).order_by(Meeting.held_on.desc(), Meeting.id.desc())
    visible = _visible(session, grid_ids)
    if visible is not None:
        query = (
            query.where(Meeting.grid_id.in_(visible) | Meeting.grid_id.is_(None))
            if grid_ids is None
            else query.where(Meeting.grid_id.in_(visible))
        )
    if year is not None:
        query = query.where(Meeting.held_on >= date(year, 1, 1), Meeting.held_on < date(year + 1, 1, 1))
    meetings = list(session.scalars(query))
    people = {
        p.id: p.name
        for p in session.scalars(
            select(Person).where(Person.id.in_(sorted({i for m in meetings for i in (m.attendee_ids or [])})))
        )
    }
    files = _files(session, True, [m.id for m in meetings])
    grids = {g.id: g.name for g in session.scalars(select(Grid))}
    return [
        {
            "id": m.id,
            "grid_id": m.grid_id,
            "grid": grids.get(m.grid_id, "") if m.grid_id is not None else "",
            "held_on": m.held_on.isoformat(),
            "title": m.title,
            "place": m.place,
            "attendees": [people.get(i, f"人员{i}") for i in (m.attendee_ids or [])],
            "minutes": m.minutes,
            "files": files.get(m.id, []),
            "created_by": m.created_by,
        }
        for m in meetings
    ]


def document_rows(
    session: Session, *, grid_ids: Iterable[int] | None = None, year: int | None = None
) -> list[dict[str, Any]]:
    """Documents of the shelf (newest first), as plain dicts with the kind's Chinese name."""
    query = select(LedgerDocument).order_by(LedgerDocument.issued_on.desc(), LedgerDocument.id.desc())
    visible = _visible(session, grid_ids)
    if visible is not None:
        cond = LedgerDocument.grid_id.in_(visible)
        query = query.where(cond | LedgerDocument.grid_id.is_(None) if grid_ids is None else cond)
    if year is not None:
        query = query.where(
            LedgerDocument.issued_on >= date(year, 1, 1), LedgerDocument.issued_on < date(year + 1, 1, 1)
        )
    docs = list(session.scalars(query))
    files = _files(session, False, [d.id for d in docs])
    grids = {g.id: g.name for g in session.scalars(select(Grid))}
    return [
        {
            "id": d.id,
            "grid_id": d.grid_id,
            "grid": grids.get(d.grid_id, "") if d.grid_id is not None else "",
            "kind": d.kind,
            "kind_label": DOC_KINDS.get(d.kind, d.kind),
            "title": d.title,
            "issued_on": d.issued_on.isoformat() if d.issued_on else "",
            "note": d.note,
            "files": files.get(d.id, []),
            "created_by": d.created_by,
        }
        for d in docs
    ]


def file_bytes(session: Session, file_id: int) -> tuple[str, str, bytes]:
    """Name, MIME type and bytes of a ledger file the actor may see."""
    f = session.get(LedgerFile, file_id)
    if f is None:
        raise NotFoundError(f"没有编号为 {file_id} 的文件", f"no ledger file {file_id!r}")
    owner = (
        session.get(Meeting, f.meeting_id) if f.meeting_id is not None else session.get(LedgerDocument, f.document_id)
    )
    grid_id = getattr(owner, "grid_id", None)
    if grid_id is not None and not scope_of(session).covers(grid_id):
        raise PermissionDenied("该文件不在您的数据权限内", f"ledger file {file_id} outside the actor's scope")
    return f.original_name, f.mime, BlobStore().get(f.sha256)


def organisation_people(session: Session) -> dict[int, str]:
    """Persons who can attend a meeting (id → ``name（title）``), serving ones first by name; those who
    left (已离任) are left out."""
    rows = session.scalars(select(Person).where(Person.status != PersonStatus.LEFT.value).order_by(Person.id))
    return {p.id: f"{p.name}（{p.title}）" if p.title else p.name for p in rows}


def ledger_grids(session: Session) -> dict[int, str]:
    """Live grids the session's actor may file records under (id → name), top-down."""
    scope = scope_of(session)
    return {g.id: g.name for g in live_grids(session) if scope.covers(g.id)}

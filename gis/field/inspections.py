"""Inspection records of supervised objects sent by the phone app (对象巡查, ``POST
/api/field/v1/inspections``): once per ``client_id`` of the account, like patrols and reports
(:mod:`gis.field.service`): ``field_submissions`` keeps ``(inspection, user:<id>, client_id)``
unique, so a record sent again is found and answered again, never stored twice. The record
itself is made by :func:`gis.patrol.object_ledger.record_inspection` (note, one photo, the
account's person, now), as on the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.auth import require
from gis.errors import NotFoundError, ValidationError
from gis.field.core import check_client_id
from gis.model import LOCAL_TZ
from gis.patrol.object_ledger import record_inspection
from gis.store.schema import FieldSubmission, ObjectInspection

__all__ = ["INSPECTION", "submit_inspection"]

INSPECTION = "inspection"
"""``field_submissions.kind`` of an inspection record."""


def _answer(session: Session, sub: FieldSubmission) -> dict[str, Any]:
    row = session.get(ObjectInspection, sub.inspection_id) if sub.inspection_id is not None else None
    if row is None:
        raise NotFoundError("该巡查记录已被删除", f"inspection of {sub.client_id} is gone")
    return {
        "client_id": sub.client_id,
        "inspection_id": row.id,
        "object": {"id": row.object.id, "name": row.object.name},
        "person": row.person.name if row.person is not None else None,
        "at": row.at.astimezone(LOCAL_TZ).isoformat(timespec="seconds"),
        "note": row.note,
        "photo": row.photo_sha256 is not None,
    }


def submit_inspection(
    session: Session, *, client_id: Any, object_id: Any, note: Any, photos: Sequence[Any] = ()
) -> tuple[dict[str, Any], bool]:
    """Record an inspection of object ``object_id`` from the phone (a note and at most one
    photo), once per ``client_id`` of the account. Returns the answer and whether it was
    recorded now (False: sent before, the first answer again)."""
    actor = require(session.info.get("actor"), "patrol.write")
    cid = check_client_id(client_id)
    owner = f"user:{actor.user_id}"
    known = session.scalar(
        select(FieldSubmission).where(
            FieldSubmission.kind == INSPECTION, FieldSubmission.owner == owner, FieldSubmission.client_id == cid
        )
    )
    if known is not None:
        return _answer(session, known), False
    if len(photos) > 1:
        raise ValidationError(f"每条巡查记录最多 1 张照片（收到 {len(photos)} 张）", "more than one photo")
    row = record_inspection(session, object_id, note=note, photo=photos[0] if photos else None)
    sub = FieldSubmission(kind=INSPECTION, owner=owner, client_id=cid, user_id=actor.user_id, inspection_id=row.id)
    session.add(sub)
    session.flush()
    return _answer(session, sub), True

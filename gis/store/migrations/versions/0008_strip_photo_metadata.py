"""strip GPS, device and other metadata from the photos stored before (事件照片去除位置和设备信息)

Photos stored by earlier versions kept what the phone wrote into them: the reporter's GPS
position, camera make, model and serial numbers and the like. New photos lose all of it on upload
(:func:`gis.incidents.attachments.strip_metadata`); this revision does the same to the photos already
stored, under ``<RIVERGRID_DATA_DIR>/attachments`` (:func:`gis.config.settings`).

For every stored photo (distinct ``sha256`` and ``mime`` of ``attachments``): read its file, strip
it (upright, no metadata), write the result under its own hash with a new thumbnail (write-once,
as :class:`gis.incidents.attachments.AttachmentStore` always does) and point every row of it at the new file
(``sha256``, ``size_bytes``, ``width_px``, ``height_px``). The old original and its thumbnail are
removed only after this revision's transaction has committed, and only when no row refers to
them then (:func:`gis.store.upgrade` and the Alembic command line run that step): a rolled-back
upgrade leaves every old file in place.

Idempotent: a stripped photo strips to the same bytes, so running again changes nothing, and a
run that was rolled back is simply done again. A missing or unreadable file is logged (logger
``gis.migrations``) and its rows are left as they are; the others go on.

The audit log keeps the hashes the rows had when they were written (history); the files under
those hashes are removed. ``downgrade`` changes nothing: the metadata is gone.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from gis.config import settings
from gis.errors import ValidationError
from gis.incidents.attachments import ALLOWED_FORMATS, AttachmentStore, CheckedPhoto, strip_metadata

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

log = logging.getLogger("gis.migrations")


def upgrade() -> None:
    conn = op.get_bind()
    files = AttachmentStore(settings().data_dir / "attachments")
    stored = conn.execute(sa.text("SELECT DISTINCT sha256, mime FROM attachments ORDER BY sha256")).all()
    replaced: list[tuple[str, Path]] = []
    for old, mime in stored:
        path = files.find(old, mime)
        if path is None:
            log.warning("attachment %s (%s): file missing under %s, row left as it is", old, mime, files.root)
            continue
        try:
            stripped = strip_metadata(path.read_bytes(), name=path.name)
        except (OSError, ValidationError) as exc:
            log.warning("attachment %s: cannot strip %s (%s), left as it is", old, path, exc)
            continue
        new = hashlib.sha256(stripped.data).hexdigest()
        if new == old:
            continue
        new_mime, ext = ALLOWED_FORMATS[stripped.format]
        files.save(
            CheckedPhoto(
                path.name, stripped.data, new, new_mime, ext, stripped.width_px, stripped.height_px, stripped.thumbnail
            )
        )
        conn.execute(
            sa.text(
                "UPDATE attachments SET sha256 = :new, mime = :new_mime, size_bytes = :size, width_px = :w, height_p"
                "x = :h"
                " WHERE sha256 = :old AND mime = :mime"
            ),
            {
                "new": new,
                "new_mime": new_mime,
                "size": len(stripped.data),
                "w": stripped.width_px,
                "h": stripped.height_px,
                "old": old,
                "mime": mime,
            },
        )
        replaced.append((old, path))
        log.info("attachment %s stripped: now %s", old, new)
    if not replaced:
        return

    def remove_old_files(connection: Any) -> None:
        for old, path in replaced:
            if connection.execute(
                sa.text("SELECT count(*) FROM attachments WHERE sha256 = :old"), {"old": old}
            ).scalar():
                continue
            for leftover in (path, files.thumbnail_path(old)):
                leftover.unlink(missing_ok=True)

    after_commit = context.config.attributes.get("after_commit")
    if after_commit is None:  # run by something that does not run after-commit work: keep the old files
        log.warning(
            "%d photo files with metadata are no longer used and were kept: %s",
            len(replaced),
            ", ".join(str(p) for _, p in replaced),
        )
    else:
        after_commit.append(remove_old_files)


def downgrade() -> None:
    pass

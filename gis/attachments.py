"""Photos of incidents (事件附件): checked, stored by content hash outside the database, thumbnailed.

Files
    An accepted photo is written once to ``<root>/<aa>/<sha256>.<ext>`` (``aa``: the first two
    hex digits of its SHA-256, ``ext`` from the detected format, not from the upload's name) and
    never overwritten: the same content uploaded again reuses the file, and a file is created
    with an exclusive hard link from a temporary file, so two uploads of one photo at the same
    time cannot clobber each other. A JPEG thumbnail (at most :data:`THUMB_PX` pixels on its
    longer side) goes to ``<root>/thumbs/<aa>/<sha256>.jpg``. ``root`` defaults to
    ``<RIVERGRID_DATA_DIR>/attachments`` (:func:`gis.config.settings`).

Rows
    One :class:`~gis.store.schema.Attachment` per photo and event (incident, transition event,
    hash, original name, MIME type, size, pixels, who and when), added in the caller's audited
    session. Files are written before the rows; when the transaction is rolled back the files
    stay unreferenced (harmless: named by content, re-used by a later upload of the same photo).

Checks (:func:`check_uploads`, all before anything is written)
    Empty, larger than :data:`MAX_BYTES`, not an image Pillow can decode (JPEG, PNG, WebP, GIF,
    BMP, TIFF), or more than :data:`MAX_PIXELS` pixels: :class:`~gis.errors.ValidationError` with
    a Chinese message naming the file.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis import clock
from gis.config import settings
from gis.errors import ValidationError

__all__ = [
    "ALLOWED_FORMATS",
    "MAX_BYTES",
    "MAX_FILES",
    "MAX_PIXELS",
    "THUMB_PX",
    "AttachmentStore",
    "CheckedPhoto",
    "Upload",
    "attach",
    "attachments_of",
    "check_uploads",
    "to_upload",
]

MAX_BYTES = 10 * 1024 * 1024
"""Largest photo accepted, in bytes (10 MiB)."""

MAX_PIXELS = 50_000_000
"""Largest photo accepted, in pixels (decompression bombs are refused)."""

MAX_FILES = 20
"""Most photos given with one report or transition."""

THUMB_PX = 320
"""Longer side of a thumbnail, in pixels."""

ALLOWED_FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
    "BMP": ("image/bmp", "bmp"),
    "TIFF": ("image/tiff", "tif"),
}
"""Pillow format → (MIME type, file extension) of the accepted image formats."""


@dataclass(frozen=True)
class Upload:
    """A file as given by a user: its original name and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class CheckedPhoto:
    """An upload that passed :func:`check_uploads`."""

    name: str
    data: bytes
    sha256: str
    mime: str
    ext: str
    width_px: int
    height_px: int
    thumbnail: bytes = b""

    @property
    def size_bytes(self) -> int:
        return len(self.data)


def to_upload(item: Any) -> Upload:
    """An :class:`Upload` from a path (``str``/``Path``, read from disk), a ``(name, bytes)``
    pair, or an object with ``name`` and ``getvalue()``/``read()`` (a web upload)."""
    if isinstance(item, Upload):
        return item
    if isinstance(item, (str, os.PathLike)):
        path = Path(item)
        if not str(item).strip():
            raise ValidationError("照片的文件名不能为空", "empty photo path")
        try:
            return Upload(path.name, path.read_bytes())
        except FileNotFoundError:
            raise ValidationError(f"找不到照片文件“{path}”", f"no such file {path}") from None
        except OSError as exc:
            raise ValidationError(f"无法读取照片文件“{path}”：{exc.strerror or exc}", f"cannot read {path}") from None
    if isinstance(item, tuple) and len(item) == 2:
        name, data = item
        return Upload(str(name), bytes(data))
    if hasattr(item, "name") and (hasattr(item, "getvalue") or hasattr(item, "read")):
        data = item.getvalue() if hasattr(item, "getvalue") else item.read()
        return Upload(str(item.name), bytes(data))
    raise ValidationError("无法识别的照片（应为文件路径或上传的文件）", f"unsupported photo {type(item).__name__}")


def _size_label(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def _check_one(upload: Upload, *, max_bytes: int, max_pixels: int) -> CheckedPhoto:
    name = os.path.basename(upload.name.replace("\\", "/")).strip() or "照片"
    if len(name) > 255:
        name = name[-255:]
    size = len(upload.data)
    if size == 0:
        raise ValidationError(f"照片“{name}”是空文件", f"{name}: empty file")
    if size > max_bytes:
        raise ValidationError(
            f"照片“{name}”太大（{_size_label(size)}），每张不能超过 {_size_label(max_bytes)}，请压缩后再上传",
            f"{name}: {size} bytes > {max_bytes}",
        )
    refuse = ValidationError(
        f"“{name}”不是可识别的图片文件，只能上传 JPEG、PNG、WebP、GIF、BMP、TIFF 格式的照片",
        f"{name}: not a decodable image",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(upload.data)) as im:
                fmt, (width, height) = im.format, im.size
                if width * height > max_pixels:
                    raise ValidationError(
                        f"照片“{name}”像素过多（{width}×{height}），不能超过 {max_pixels / 1e6:g} 百万像素",
                        f"{name}: {width}x{height} pixels > {max_pixels}",
                    )
                im.verify()
            with Image.open(io.BytesIO(upload.data)) as im:
                im.load()  # verify() does not decode the pixels; a truncated file fails here
            thumb = _thumbnail_bytes(upload.data)  # made now, so an odd image is refused, not half-stored
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning, EOFError):
        raise refuse from None
    if fmt not in ALLOWED_FORMATS:
        raise refuse
    mime, ext = ALLOWED_FORMATS[fmt]
    return CheckedPhoto(name, upload.data, hashlib.sha256(upload.data).hexdigest(), mime, ext, width, height, thumb)


def check_uploads(items: Iterable[Any] | None, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS,
                  max_files: int = MAX_FILES) -> list[CheckedPhoto]:
    """Read and check every photo (see the module's "Checks"); nothing is written.

    Raises
    ------
    ValidationError
        The first refused photo, by name, with the reason in Chinese.
    """
    uploads = [to_upload(item) for item in items or []]
    if len(uploads) > max_files:
        raise ValidationError(f"一次最多上传 {max_files} 张照片（收到 {len(uploads)} 张）",
                              f"{len(uploads)} photos > {max_files}")
    return [_check_one(u, max_bytes=max_bytes, max_pixels=max_pixels) for u in uploads]


class AttachmentStore:
    """The folder of photo files (content-addressed, write-once).

    Parameters
    ----------
    root
        Folder; default ``<RIVERGRID_DATA_DIR>/attachments``.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else settings().data_dir / "attachments"

    def path(self, sha256: str, ext: str) -> Path:
        """Where the photo with this hash and extension is stored."""
        return self.root / sha256[:2] / f"{sha256}.{ext}"

    def thumbnail_path(self, sha256: str) -> Path:
        """Where its thumbnail (JPEG) is stored."""
        return self.root / "thumbs" / sha256[:2] / f"{sha256}.jpg"

    def find(self, sha256: str, mime: str) -> Path | None:
        """The stored file of a photo, None when it is missing."""
        ext = next((e for m, e in ALLOWED_FORMATS.values() if m == mime), None)
        path = self.path(sha256, ext) if ext else None
        return path if path is not None and path.is_file() else None

    def thumbnail(self, sha256: str, mime: str) -> Path | None:
        """The thumbnail of a photo (made now from the photo if it is missing), None when the
        photo itself is missing."""
        thumb = self.thumbnail_path(sha256)
        if thumb.is_file():
            return thumb
        original = self.find(sha256, mime)
        if original is None:
            return None
        try:
            data = _thumbnail_bytes(original.read_bytes())
        except (OSError, ValueError, SyntaxError):
            return None
        self._write_once(thumb, data)
        return thumb

    def save(self, photo: CheckedPhoto) -> Path:
        """Store ``photo`` (and its thumbnail) unless a file with its hash exists; never overwrites."""
        path = self.path(photo.sha256, photo.ext)
        self._write_once(path, photo.data)
        thumb = self.thumbnail_path(photo.sha256)
        if not thumb.exists():
            self._write_once(thumb, photo.thumbnail or _thumbnail_bytes(photo.data))
        return path

    @staticmethod
    def _write_once(path: Path, data: bytes) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)  # atomic, and fails rather than replace an existing file
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)


def _thumbnail_bytes(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        im = ImageOps.exif_transpose(im)
        im.thumbnail((THUMB_PX, THUMB_PX))
        if im.mode not in ("RGB", "L"):
            background = Image.new("RGB", im.size, "white")
            rgba = im.convert("RGBA")
            background.paste(rgba, mask=rgba.getchannel("A"))
            im = background
        out = io.BytesIO()
        im.save(out, format="JPEG", quality=82)
        return out.getvalue()


def attach(session: Session, photos: Sequence[CheckedPhoto], *, incident_id: int, event_id: int | None,
           by: str, at: datetime | None = None, files: AttachmentStore | None = None) -> list[Any]:
    """Store the checked ``photos`` and add one :class:`~gis.store.schema.Attachment` row each
    to ``session`` (flushed, so the audited session checks the actor's permission)."""
    from gis.store.schema import Attachment

    files = files or AttachmentStore()
    when = at or clock.now()
    rows = []
    for photo in photos:
        files.save(photo)
        rows.append(Attachment(incident_id=incident_id, event_id=event_id, sha256=photo.sha256,
                               original_name=photo.name, mime=photo.mime, size_bytes=photo.size_bytes,
                               width_px=photo.width_px, height_px=photo.height_px, uploaded_by=by, uploaded_at=when))
    session.add_all(rows)
    if rows:
        session.flush()
    return rows


def attachments_of(session: Session, incident_id: int) -> list[Any]:
    """The attachments of an incident, oldest first."""
    from gis.store.schema import Attachment

    return list(session.scalars(select(Attachment).where(Attachment.incident_id == incident_id)
                                .order_by(Attachment.uploaded_at, Attachment.id)))

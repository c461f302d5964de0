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
    a Chinese message naming the file. The pixel count is checked on the size that
    ``Image.open`` reads from the header, before any pixel is decoded; Pillow's own limit
    (``Image.MAX_IMAGE_PIXELS``) is set to :data:`MAX_PIXELS` as well, and its warning is an error
    here, so a decompression bomb is refused before it is decoded whoever opens it.

Privacy (:func:`strip_metadata`, part of the checks)
    A phone photo carries where and with what it was taken: the GPS IFD of its EXIF, camera make,
    model and serial numbers, lens serial, owner name, maker notes, XMP and IPTC blocks (which
    repeat the location), PNG text chunks, a second image inside an MPO file or a video appended
    after the JPEG ("motion photos"), each with its own EXIF. None of it is stored. The EXIF
    orientation is applied to the pixels first (``ImageOps.exif_transpose``), so the stored
    picture stands upright without any metadata. Only the colour profile (ICC: how to show the
    colours, nothing about the place or the device that took the picture) and the frame timing
    and transparency of animations are kept. The SHA-256 that names the stored file is that of
    the stripped bytes.

    Re-encode or rewrite the metadata only? A photo is re-encoded from its decoded pixels whenever
    it carries anything to remove; one that carries nothing but pixels and a colour profile (for
    JPEG, PNG and WebP: only allow-listed segments or chunks and nothing after the end of the
    image, see :func:`_is_clean`) is stored byte for byte as it came. The reasons:

    * orientation: a portrait photo from a phone is usually stored sideways with an orientation
      tag; making it upright without a tag means moving its pixels, which Pillow can only do by
      re-encoding (a lossless JPEG rotation needs jpegtran and whole MCU blocks);
    * completeness: an encoder fed with pixels writes nothing it is not given, whatever a camera
      maker hid where (vendor APP segments, MPF secondary images, trailers after the image); a
      metadata filter has to know every such place, per format;
    * cost: the check decodes every photo anyway (a truncated file must be refused), so the
      re-encode adds only the encoder. ``bench/photos.py`` on a 12 MP JPEG (4000×3000, 3.7 MB,
      quality 90; CPU time, median of 5, range of two runs on this shared 2-core machine):
      decoding alone 62–65 ms; the old check (verify, decode, decode again for the thumbnail)
      184–193 ms; the new check with re-encoding 110–113 ms, cheaper than before because the
      pixels are decoded once and the thumbnail is made from them; a clean photo 59–60 ms; the
      metadata-only alternative (decode, thumbnail, segments cut out) 76–80 ms, so it would save
      about 35 ms per photo but leave portrait photos sideways;
    * quality: a JPEG is re-encoded with its own quantisation tables (transposed with the pixels
      for a quarter turn) and its own chroma subsampling, so it loses one generation at the
      quality the camera chose: in the bench 44.7 dB PSNR against the original's pixels turned
      upright, and a file 1.8 % smaller. PNG, GIF, BMP, TIFF and lossless WebP are re-encoded
      losslessly; lossy WebP at quality 90.

    Stripping a stripped photo changes nothing: a clean file is kept as it is, and GIF, BMP and
    TIFF, which are always rewritten, are rewritten losslessly (to the same bytes, in the tests).
    So the migration that strips the photos stored before (``0008_strip_photo_metadata``) can run
    again safely. Multi-frame images keep all their
    frames; an MPO (a JPEG with MPF images appended) keeps its first, main image only, as a JPEG.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import warnings
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, JpegImagePlugin, UnidentifiedImageError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis import clock
from gis.config import settings
from gis.errors import ValidationError
from gis.store.blobs import write_once
from gis.store.schema import Attachment

__all__ = [
    "ALLOWED_FORMATS",
    "AttachmentStore",
    "CheckedPhoto",
    "MAX_BYTES",
    "MAX_FILES",
    "MAX_PIXELS",
    "StrippedImage",
    "THUMB_PX",
    "Upload",
    "attach",
    "attachments_of",
    "check_uploads",
    "photo_counts",
    "strip_metadata",
    "to_upload",
]

MAX_BYTES = 10 * 1024 * 1024
"""Largest photo accepted, in bytes (10 MiB)."""

MAX_PIXELS = 50_000_000
"""Largest photo accepted, in pixels, all frames together (decompression bombs are refused)."""

Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow refuses bombs at the same size, whoever opens the image

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
class StrippedImage:
    """An image as it is stored: upright, without metadata (see the module's "Privacy")."""

    data: bytes
    format: str
    """Pillow format of ``data`` (an MPO is stored as ``JPEG``)."""
    width_px: int
    height_px: int
    thumbnail: bytes
    """JPEG, at most :data:`THUMB_PX` pixels on its longer side, without metadata."""
    rewritten: bool
    """False when the input had nothing to remove and ``data`` is the input itself."""


@dataclass(frozen=True)
class CheckedPhoto:
    """An upload that passed :func:`check_uploads`; ``data`` is what is stored (metadata removed,
    upright) and ``sha256`` its hash."""

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
    stripped = strip_metadata(upload.data, name=name, max_pixels=max_pixels)
    mime, ext = ALLOWED_FORMATS[stripped.format]
    return CheckedPhoto(
        name,
        stripped.data,
        hashlib.sha256(stripped.data).hexdigest(),
        mime,
        ext,
        stripped.width_px,
        stripped.height_px,
        stripped.thumbnail,
    )


def check_uploads(
    items: Iterable[Any] | None, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS, max_files: int = MAX_FILES
) -> list[CheckedPhoto]:
    """Read and check every photo (see the module's "Checks"); nothing is written.

    Raises
    ------
    ValidationError
        The first refused photo, by name, with the reason in Chinese.
    """
    uploads = [to_upload(item) for item in items or []]
    if len(uploads) > max_files:
        raise ValidationError(
            f"一次最多上传 {max_files} 张照片（收到 {len(uploads)} 张）", f"{len(uploads)} photos > {max_files}"
        )
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
        write_once(path, data)


def strip_metadata(data: bytes, *, name: str = "照片", max_pixels: int = MAX_PIXELS) -> StrippedImage:
    """Decode ``data`` completely and return it as it is to be stored: upright, without GPS,
    device or any other metadata, with its thumbnail (see the module's "Privacy").

    Parameters
    ----------
    data
        The bytes of an image in one of :data:`ALLOWED_FORMATS` (or MPO, stored as JPEG).
    name
        How the image is named in error messages.
    max_pixels
        Most pixels, all frames together; checked on the header's size before decoding.

    Raises
    ------
    ValidationError
        Not a decodable image of an accepted format (truncated files included), or too many
        pixels; the Chinese message names ``name``.
    """
    refuse = ValidationError(
        f"“{name}”不是可识别的图片文件，只能上传 JPEG、PNG、WebP、GIF、BMP、TIFF 格式的照片",
        f"{name}: not a decodable image",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                fmt = im.format or ""
                if fmt not in ALLOWED_FORMATS and fmt != "MPO":
                    raise refuse
                width, height = im.size
                frames = 1 if fmt == "MPO" else int(getattr(im, "n_frames", 1) or 1)
                if width * height * frames > max_pixels:
                    what = f"{width}×{height}" + (f"，{frames} 帧" if frames > 1 else "")
                    raise ValidationError(
                        f"照片“{name}”像素过多（{what}），不能超过 {max_pixels / 1e6:g} 百万像素",
                        f"{name}: {width}x{height}x{frames} pixels > {max_pixels}",
                    )
                return _strip_open(im, data, fmt, frames)
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(
            f"照片“{name}”像素过多，不能超过 {min(max_pixels, MAX_PIXELS) / 1e6:g} 百万像素",
            f"{name}: more pixels than Image.MAX_IMAGE_PIXELS",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error, MemoryError):
        raise refuse from None


_KEEP_INFO = frozenset({"icc_profile", "transparency", "duration", "loop", "disposal", "blend", "background"})
"""What a re-encoded image keeps of Pillow's ``info``: colours and animation, nothing else."""

_TRANSPOSING = frozenset({5, 6, 7, 8})
"""EXIF orientations that swap width and height."""


def _strip_open(im: Image.Image, data: bytes, fmt: str, frames: int) -> StrippedImage:
    im.load()  # every pixel decoded: a truncated or corrupt file fails here, before anything is stored
    if fmt != "MPO" and _is_clean(data, fmt):
        upright = ImageOps.exif_transpose(im)  # a clean file has no orientation: a plain copy
        return StrippedImage(data, fmt, upright.width, upright.height, _thumbnail_of(upright), rewritten=False)
    out_fmt = "JPEG" if fmt == "MPO" else fmt
    orientation = im.getexif().get(0x0112, 1)
    pictures = []
    for k in range(frames):
        if frames > 1:
            im.seek(k)
        picture = ImageOps.exif_transpose(im)  # a plain Image: none of the file's tags or segments
        picture.info = {key: value for key, value in picture.info.items() if key in _KEEP_INFO}
        pictures.append(picture)
    first = pictures[0]
    params = _encoder_params(im, data, out_fmt, orientation)
    if first.info.get("icc_profile") and out_fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        params["icc_profile"] = first.info["icc_profile"]
    if len(pictures) > 1:
        params.update(save_all=True, append_images=pictures[1:])
    out = io.BytesIO()
    first.save(out, format=out_fmt, **params)
    return StrippedImage(out.getvalue(), out_fmt, first.width, first.height, _thumbnail_of(first), rewritten=True)


def _encoder_params(im: Image.Image, data: bytes, fmt: str, orientation: int) -> dict[str, Any]:
    """How to re-encode ``im`` (the opened original) without losing more than necessary."""
    if fmt == "JPEG":
        params: dict[str, Any] = {}
        tables = getattr(im, "quantization", None)
        if tables:  # the camera's own tables: one generation at the quality it chose
            if orientation in _TRANSPOSING:
                tables = {k: [t[c * 8 + r] for r in range(8) for c in range(8)] for k, t in tables.items()}
            params["qtables"] = [tables[k] for k in sorted(tables)]
        sampling = JpegImagePlugin.get_sampling(im)
        if sampling != -1:
            params["subsampling"] = sampling
        return params
    if fmt == "WEBP":
        return {"lossless": True} if b"VP8L" in (_riff_chunks(data) or []) else {"quality": 90}
    if fmt == "TIFF":
        return {"compression": "tiff_adobe_deflate"}
    return {}


# --- is there anything to remove? (allow-lists; anything unknown or malformed counts as "yes") ------

_JPEG_KEEP = {0xE0: b"JFIF\0", 0xE2: b"ICC_PROFILE\0", 0xEE: b"Adobe"}
"""APPn segments a clean JPEG may hold (by marker, with the identifier they must start with)."""

_PNG_KEEP = frozenset(
    {
        b"IHDR",
        b"PLTE",
        b"IDAT",
        b"IEND",
        b"tRNS",
        b"gAMA",
        b"cHRM",
        b"sRGB",
        b"iCCP",
        b"sBIT",
        b"bKGD",
        b"pHYs",
        b"acTL",
        b"fcTL",
        b"fdAT",
    }
)
"""PNG chunks that describe pixels, colours or animation (no text, no eXIf, no private chunks)."""

_WEBP_KEEP = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"})
"""WebP chunks that describe pixels, colours or animation (no EXIF, no XMP, no unknown chunks)."""


def _is_clean(data: bytes, fmt: str) -> bool:
    """Whether ``data`` holds nothing but pixels, colours and animation and ends where the image
    ends; GIF, BMP and TIFF are never taken as clean (always rewritten, losslessly)."""
    if fmt == "JPEG":
        return _jpeg_is_clean(data)
    if fmt == "PNG":
        return _png_is_clean(data)
    if fmt == "WEBP":
        chunks = _riff_chunks(data)
        return chunks is not None and all(c in _WEBP_KEEP for c in chunks)
    return False


def _jpeg_is_clean(data: bytes) -> bool:
    n = len(data)
    if not data.startswith(b"\xff\xd8"):
        return False
    i = 2
    while i + 1 < n:
        if data[i] != 0xFF:
            return False
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xD9:  # end of image: nothing may follow
            return i + 2 == n
        if 0xD0 <= marker <= 0xD7 or marker in (0x01, 0xD8):
            return False
        if i + 4 > n:
            return False
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2 or i + 2 + length > n:
            return False
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:  # APPn and comments: only the allow-listed ones
            keep = _JPEG_KEEP.get(marker)
            if keep is None or not data.startswith(keep, i + 4):
                return False
        i += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next real marker
            while True:
                j = data.find(b"\xff", i)
                if j < 0 or j + 1 >= n:
                    return False
                following = data[j + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:  # stuffed byte, restart marker
                    i = j + 2
                    continue
                i = j
                break
    return False


def _png_is_clean(data: bytes) -> bool:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return False
    i, n = 8, len(data)
    while i + 12 <= n:
        length = int.from_bytes(data[i : i + 4], "big")
        kind = data[i + 4 : i + 8]
        end = i + 12 + length
        if end > n or kind not in _PNG_KEEP:
            return False
        if zlib.crc32(data[i + 4 : end - 4]) != int.from_bytes(data[end - 4 : end], "big"):
            return False  # re-encoding repairs it
        if kind == b"IEND":
            return end == n
        i = end
    return False


def _riff_chunks(data: bytes) -> list[bytes] | None:
    """The chunk names of a WebP file, None when it is malformed or has bytes after its end."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    end = 8 + int.from_bytes(data[4:8], "little")
    if end != len(data):
        return None
    chunks, i = [], 12
    while i + 8 <= end:
        size = int.from_bytes(data[i + 4 : i + 8], "little")
        chunks.append(data[i : i + 4])
        i += 8 + size + (size & 1)
    return chunks if i == end else None


def _thumbnail_bytes(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        return _thumbnail_of(ImageOps.exif_transpose(im))


def _thumbnail_of(upright: Image.Image) -> bytes:
    """A JPEG thumbnail of an upright picture, without metadata (``upright`` is changed)."""
    im = upright
    im.thumbnail((THUMB_PX, THUMB_PX))
    if im.mode not in ("RGB", "L"):
        background = Image.new("RGB", im.size, "white")
        rgba = im.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        im = background
    im.info = {}  # Pillow would copy a JPEG comment into the thumbnail
    out = io.BytesIO()
    im.save(out, format="JPEG", quality=82)
    return out.getvalue()


def attach(
    session: Session,
    photos: Sequence[CheckedPhoto],
    *,
    incident_id: int,
    event_id: int | None,
    by: str,
    at: datetime | None = None,
    files: AttachmentStore | None = None,
) -> list[Any]:
    """Store the checked ``photos`` and add one :class:`~gis.store.schema.Attachment` row each
    to ``session`` (flushed, so the audited session checks the actor's permission)."""
    files = files or AttachmentStore()
    when = at or clock.now()
    rows = []
    for photo in photos:
        files.save(photo)
        rows.append(
            Attachment(
                incident_id=incident_id,
                event_id=event_id,
                sha256=photo.sha256,
                original_name=photo.name,
                mime=photo.mime,
                size_bytes=photo.size_bytes,
                width_px=photo.width_px,
                height_px=photo.height_px,
                uploaded_by=by,
                uploaded_at=when,
            )
        )
    session.add_all(rows)
    if rows:
        session.flush()
    return rows


def attachments_of(session: Session, incident_id: int) -> list[Any]:
    """The attachments of an incident, oldest first."""
    return list(
        session.scalars(
            select(Attachment)
            .where(Attachment.incident_id == incident_id)
            .order_by(Attachment.uploaded_at, Attachment.id)
        )
    )


def photo_counts(session: Session, incident_ids: list[int]) -> dict[int, int]:
    """Number of photos of each of ``incident_ids`` that has any (for the case list)."""
    if not incident_ids:
        return {}
    rows = session.execute(
        select(Attachment.incident_id, func.count())
        .where(Attachment.incident_id.in_(incident_ids))
        .group_by(Attachment.incident_id)
    ).all()
    return {int(i): int(n) for i, n in rows}

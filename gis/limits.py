"""Limits on what one file may make RiverGrid read: size, archives, XML, number of points.

Every reader of :mod:`gis.io.files` and :mod:`gis.patrol.tracks` goes through these checks before it parses,
so that a hostile or broken upload is refused quickly with a Chinese message naming the limit
and its environment variable (:mod:`gis.config`):

=============================== ========================================================== =========
check                           what is refused                                            default
=============================== ========================================================== =========
:func:`check_file_size`         a file larger than ``RIVERGRID_MAX_FILE_MB``               50 MB
:func:`check_archive`           a zip (Shapefile ``.zip``, KMZ) whose members would unpack 500 MB,
                                to more than ``RIVERGRID_MAX_UNPACKED_MB`` in all, a       100:1,
                                member compressed more than ``RIVERGRID_MAX_RATIO`` : 1    1,000
                                (members above 1 MiB), or more than
                                :data:`MAX_ARCHIVE_MEMBERS` members
:class:`PointCounter`           more than ``RIVERGRID_MAX_TRACK_POINTS`` points (GPX,      2,000,000
                                KML tracks, CSV rows), counted while reading
:func:`iter_xml`                an XML file declaring entities (“billion laughs”) or
                                referring to external ones (``defusedxml``)
=============================== ========================================================== =========

Archives are judged from their central directory (the sizes every member declares) before any
member is decompressed; members are then read in chunks and the read stops as soon as a member
yields more than it declared (plus :data:`READ_MARGIN_BYTES`), so a lying header cannot make it
unpack more. XML is parsed as a stream: :func:`iter_xml` detaches every element once its end has
been handled, so memory does not grow with the file. MB here are MiB (1,048,576 bytes), as in
Streamlit's ``server.maxUploadSize`` (set to the same 50 in ``.streamlit/config.toml``).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError
from zlib import error as _zlib_error

import defusedxml
import defusedxml.ElementTree as DET

from gis.config import settings
from gis.errors import FileFormatError, LimitError

__all__ = [
    "MAX_ARCHIVE_MEMBERS",
    "MB",
    "RATIO_FLOOR_BYTES",
    "READ_MARGIN_BYTES",
    "Limits",
    "PointCounter",
    "check_archive",
    "check_file_size",
    "check_size",
    "copy_member",
    "iter_xml",
    "local_name",
    "open_archive",
    "open_member",
    "read_member",
]

MB = 1024 * 1024
"""Bytes in one MB of the limits (MiB, as Streamlit counts ``server.maxUploadSize``)."""

MAX_ARCHIVE_MEMBERS = 1000
"""Most members (files and folders) one archive may list."""

RATIO_FLOOR_BYTES = 1 * MB
"""Members that unpack to at most this many bytes are not judged by their compression ratio (a
small, blank-padded .dbf legitimately compresses several hundred times)."""

READ_MARGIN_BYTES = 64 * 1024
"""How far past its declared size a member may run before the read is stopped."""

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The limits in force (from :func:`gis.config.settings`, read anew on each call)."""

    max_file_mb: float
    max_unpacked_mb: float
    max_ratio: float
    max_points: int

    @classmethod
    def current(cls) -> Limits:
        s = settings()
        return cls(s.max_file_mb, s.max_unpacked_mb, s.max_ratio, s.max_track_points)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * MB)

    @property
    def max_unpacked_bytes(self) -> int:
        return int(self.max_unpacked_mb * MB)


def _mb(nbytes: float) -> str:
    return f"{nbytes / MB:,.1f} MB"


def _limit(value: float) -> str:
    return f"{value:,g}"


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def check_size(nbytes: int, name: str) -> None:
    """Refuse ``nbytes`` (a file or an upload called ``name``) above ``RIVERGRID_MAX_FILE_MB``.

    Raises
    ------
    LimitError
        “文件过大：120.0 MB，上限 50 MB（RIVERGRID_MAX_FILE_MB）”.
    """
    limits = Limits.current()
    if nbytes > limits.max_file_bytes:
        raise LimitError(
            f"文件过大：{_mb(nbytes)}，上限 {_limit(limits.max_file_mb)} MB（RIVERGRID_MAX_FILE_MB）（文件“{name}”）",
            f"{name} has {nbytes} bytes, more than RIVERGRID_MAX_FILE_MB={limits.max_file_mb}",
        )


def check_file_size(path: str | os.PathLike[str]) -> int:
    """The size of the file at ``path`` in bytes, after :func:`check_size`."""
    p = Path(path)
    nbytes = p.stat().st_size
    check_size(nbytes, p.name)
    return nbytes


# ---------------------------------------------------------------------------------------------
# Archives
# ---------------------------------------------------------------------------------------------


def check_archive(zf: zipfile.ZipFile, name: str) -> list[zipfile.ZipInfo]:
    """Judge an open zip archive by its central directory only (nothing is decompressed).

    Parameters
    ----------
    zf : zipfile.ZipFile
        The archive, opened for reading.
    name : str
        Its file name, for the messages.

    Returns
    -------
    list of zipfile.ZipInfo
        Every member, as declared.

    Raises
    ------
    LimitError
        More than :data:`MAX_ARCHIVE_MEMBERS` members; declared sizes adding up to more than
        ``RIVERGRID_MAX_UNPACKED_MB``; a member above :data:`RATIO_FLOOR_BYTES` compressed more
        than ``RIVERGRID_MAX_RATIO`` times (a “zip bomb”).
    """
    limits = Limits.current()
    infos = zf.infolist()
    if len(infos) > MAX_ARCHIVE_MEMBERS:
        raise LimitError(
            f"压缩包“{name}”中有 {len(infos):,} 个文件，超过 {MAX_ARCHIVE_MEMBERS:,} 个的上限，未解压",
            f"{name} lists {len(infos)} members, more than {MAX_ARCHIVE_MEMBERS}",
        )
    for info in infos:
        if info.file_size > RATIO_FLOOR_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                raise LimitError(
                    f"压缩包“{name}”中的“{info.filename}”声明解压后 {_mb(info.file_size)}，压缩比约 {ratio:,.0f}:1，"
                    f"超过 {_limit(limits.max_ratio)}:1 的上限（RIVERGRID_MAX_RATIO），疑似压缩炸弹，未解压",
                    f"member {info.filename!r} of {name} declares {info.file_size} bytes from {info.compress_size} "
                    f"(ratio {ratio:.0f} > RIVERGRID_MAX_RATIO={limits.max_ratio})",
                )
    total = sum(info.file_size for info in infos)
    if total > limits.max_unpacked_bytes:
        raise LimitError(
            f"压缩包“{name}”解压后共 {_mb(total)}，超过 {_limit(limits.max_unpacked_mb)} MB 的上限"
            "（RIVERGRID_MAX_UNPACKED_MB），未解压",
            f"{name} declares {total} unpacked bytes, more than RIVERGRID_MAX_UNPACKED_MB={limits.max_unpacked_mb}",
        )
    return infos


class _Bounded:
    """A member's stream that fails once it yields more than the member declared (+ margin)."""

    def __init__(self, raw: IO[bytes], info: zipfile.ZipInfo, archive: str) -> None:
        self._raw = raw
        self._info = info
        self._archive = archive
        self._left = info.file_size + READ_MARGIN_BYTES

    def read(self, n: int = -1) -> bytes:
        n = _CHUNK if n is None or n < 0 else min(n, _CHUNK)
        data = self._raw.read(n)
        self._left -= len(data)
        if self._left < 0:
            raise LimitError(
                f"压缩包“{self._archive}”中的“{self._info.filename}”解压后超过其声明的大小，已停止读取",
                f"member {self._info.filename!r} of {self._archive} yields more than its declared "
                f"{self._info.file_size} bytes",
            )
        return data

    def close(self) -> None:
        self._raw.close()


def _member_error(exc: Exception, info: zipfile.ZipInfo, archive: str) -> FileFormatError:
    return FileFormatError(
        f"压缩包“{archive}”中的文件“{info.filename}”已损坏，无法解压",
        f"cannot decompress {info.filename!r} of {archive}: {type(exc).__name__}: {exc}",
    )


@contextmanager
def open_archive(path: str | os.PathLike[str]) -> Iterator[tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]]:
    """Open the zip at ``path`` and :func:`check_archive` it: (archive, its members).

    Raises
    ------
    FileFormatError
        Not a zip archive, or its directory is broken.
    LimitError
        See :func:`check_archive`.
    """
    p = Path(path)
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise FileFormatError(f"压缩包“{p.name}”已损坏或不是 zip 文件", f"bad zip {p}: {exc}") from exc
    with zf:
        yield zf, check_archive(zf, p.name)


@contextmanager
def open_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive: str) -> Iterator[_Bounded]:
    """A bounded stream of one member (for streaming parsers); broken data → FileFormatError."""
    try:
        raw = zf.open(info)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, ValueError) as exc:
        raise _member_error(exc, info, archive) from exc
    stream = _Bounded(raw, info, archive)
    try:
        yield stream
    except (zipfile.BadZipFile, EOFError, OSError, _zlib_error) as exc:
        raise _member_error(exc, info, archive) from exc
    finally:
        stream.close()


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive: str) -> bytes:
    """The bytes of one member, read in chunks and stopped past its declared size."""
    parts = []
    with open_member(zf, info, archive) as stream:
        while chunk := stream.read(_CHUNK):
            parts.append(chunk)
    return b"".join(parts)


def copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive: str, target: Path) -> Path:
    """Write one member to ``target`` (chunked and bounded like :func:`read_member`)."""
    with open_member(zf, info, archive) as stream, open(target, "wb") as out:
        while chunk := stream.read(_CHUNK):
            out.write(chunk)
    return target


# ---------------------------------------------------------------------------------------------
# Points
# ---------------------------------------------------------------------------------------------


class PointCounter:
    """Counts the points read from one file and refuses the file past ``RIVERGRID_MAX_TRACK_POINTS``."""

    def __init__(self, name: str, limit: int | None = None) -> None:
        self.name = name
        self.limit = Limits.current().max_points if limit is None else limit
        self.count = 0

    def add(self, n: int = 1) -> None:
        """Count ``n`` more points; :class:`~gis.errors.LimitError` once past the limit."""
        self.count += n
        if self.count > self.limit:
            raise LimitError(
                f"文件“{self.name}”中的点超过 {self.limit:,} 个的上限（RIVERGRID_MAX_TRACK_POINTS），未导入",
                f"{self.name} has more than RIVERGRID_MAX_TRACK_POINTS={self.limit} points",
            )


# ---------------------------------------------------------------------------------------------
# XML
# ---------------------------------------------------------------------------------------------


def local_name(tag: Any) -> str:
    """``{namespace}name`` → ``name`` (comments and processing instructions → "")."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def iter_xml(
    source: str | os.PathLike[str] | IO[bytes] | _Bounded, name: str
) -> Iterator[tuple[Element, tuple[str, ...]]]:
    """Stream the elements of an XML document through ``defusedxml``, at their end.

    Yields ``(element, path)`` for every element when its end tag has been read: ``path`` holds
    the local names (namespace dropped) of its ancestors, outermost first, and the element's own
    local name last. The element has its attributes and text; its children have already been
    yielded and detached. After the consumer has handled it, the element is cleared and detached
    from its parent (copy what you need, not the ``attrib`` dict itself), so memory holds only the
    open path, whatever the size of the file.

    Raises
    ------
    LimitError
        The document declares entities (“billion laughs”), a DTD's external entities or refers
        to external resources.
    FileFormatError
        Not well-formed XML.
    """
    stack: list[Element] = []
    tags: list[str] = []
    try:
        for event, elem in DET.iterparse(
            source, events=("start", "end"), forbid_dtd=False, forbid_entities=True, forbid_external=True
        ):
            if event == "start":
                stack.append(elem)
                tags.append(local_name(elem.tag))
                continue
            yield elem, tuple(tags)
            stack.pop()
            tags.pop()
            elem.clear()
            if stack:
                stack[-1].remove(elem)
    except defusedxml.DefusedXmlException as exc:
        raise LimitError(
            f"文件“{name}”含有 XML 实体声明或外部引用（可能是“XML 炸弹”），出于安全原因拒绝读取",
            f"unsafe XML in {name}: {type(exc).__name__}: {exc}",
        ) from exc
    except ParseError as exc:
        raise FileFormatError(f"无法读取文件“{name}”：XML 格式错误（{exc}）", f"bad XML in {name}: {exc}") from exc

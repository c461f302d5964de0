"""Shapefile text encodings: what to hand GDAL for a shapefile layer.

Without a ``.cpg`` the encoding is guessed from the ``.dbf`` (GBK when it is not UTF-8); UTF-8
field names that GDAL cut inside a character at the dBASE limit of 10 bytes are repaired in a
temporary copy (:func:`ogr_dataset`). :data:`SHP_FIELD_BYTES` and :func:`truncate_utf8` serve the
writer too.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gis.io.sources import SHAPEFILE_PARTS, LayerRef, sibling

SHP_FIELD_BYTES = 10
"""Longest dBASE field name, in bytes."""


@dataclass(frozen=True)
class _DbfField:
    descriptor_pos: int
    name: bytes
    text: bool
    offset: int
    length: int


def _dbf_fields(dbf: bytes) -> list[_DbfField]:
    """Field descriptors of a dBASE (.dbf) header."""
    if len(dbf) < 32:
        return []
    header_len = int.from_bytes(dbf[8:10], "little")
    fields = []
    offset = 1  # each record starts with its deletion flag
    pos = 32
    while pos + 32 <= min(header_len, len(dbf)) and dbf[pos] != 0x0D:
        descriptor = dbf[pos : pos + 32]
        length = descriptor[16]
        name = descriptor[:11].split(b"\x00", 1)[0]
        fields.append(_DbfField(pos, name, descriptor[11:12] in (b"C", b"M"), offset, length))
        offset += length
        pos += 32
    return fields


def _utf8_or_none(chunk: bytes) -> str | None:
    try:
        return chunk.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _is_utf8(chunk: bytes) -> bool:
    """True for UTF-8, also when cut inside the last character (as at a dBASE field width)."""
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.reason == "unexpected end of data"
    return True


def _dbf_encoding(dbf: bytes) -> str | None:
    """ "UTF-8" or "GBK" from a .dbf's field names and text values; ``None`` when all ASCII."""
    fields = _dbf_fields(dbf)
    if not fields:
        return None
    n_records = int.from_bytes(dbf[4:8], "little")
    header_len = int.from_bytes(dbf[8:10], "little")
    record_len = int.from_bytes(dbf[10:12], "little")
    chunks = [f.name for f in fields]
    text_fields = [f for f in fields if f.text]
    for i in range(n_records):
        record = dbf[header_len + i * record_len : header_len + (i + 1) * record_len]
        chunks.extend(record[f.offset : f.offset + f.length].rstrip(b" \x00") for f in text_fields)
    non_ascii = [c for c in chunks if any(b > 0x7F for b in c)]
    if not non_ascii:
        return None
    return "UTF-8" if all(_is_utf8(c) for c in non_ascii) else "GBK"


def truncate_utf8(name: str, limit: int) -> str:
    """``name`` cut to at most ``limit`` bytes of UTF-8, on a character boundary."""
    while len(name.encode("utf-8")) > limit:
        name = name[:-1]
    return name


def _repair_utf8_field_names(dbf: bytes) -> tuple[bytes, dict[str, str]]:
    """Drop the partial last character of UTF-8 field names cut at 10 bytes.

    GDAL (and so QGIS, geopandas) cuts long UTF-8 field names at the dBASE limit even inside a
    character; such names cannot be decoded. Returns the fixed .dbf and {shown name: new name}.
    """
    fields = _dbf_fields(dbf)
    names = [_utf8_or_none(f.name) for f in fields]
    used = {n for n in names if n is not None}
    out = bytearray(dbf)
    renamed: dict[str, str] = {}
    for f, name in zip(fields, names, strict=True):
        if name is not None:
            continue
        if not _is_utf8(f.name):
            return dbf, {}  # not a cut name: the .dbf is not UTF-8 after all
        stem = f.name.decode("utf-8", "ignore")
        new, n = stem, 1
        while not new or new in used:
            suffix = f"_{n}"
            new = truncate_utf8(stem, SHP_FIELD_BYTES - len(suffix)) + suffix
            n += 1
        used.add(new)
        out[f.descriptor_pos : f.descriptor_pos + 11] = new.encode("utf-8").ljust(11, b"\x00")
        renamed[f.name.decode("utf-8", "replace")] = new
    return bytes(out), renamed


def _shapefile_sidecar(ref: LayerRef, ext: str) -> bytes | None:
    """Bytes of the shapefile part with extension ``ext`` (any letter case) beside the .shp (a
    zipped shapefile has been unpacked by then, see :func:`gis.io.sources.layer_refs`)."""
    found = sibling(Path(ref.dataset), ext)
    return found.read_bytes() if found is not None else None


def _cpg_encoding(cpg: bytes) -> str:
    text = cpg.decode("ascii", "replace").strip().upper()
    return "UTF-8" if text in ("UTF-8", "UTF8", "65001") else text


@contextmanager
def ogr_dataset(ref: LayerRef) -> Iterator[tuple[str, str | None, list[str]]]:
    """What to hand GDAL for ``ref``: (dataset path, encoding or None, Chinese warnings).

    Shapefiles get their text encoding guessed when there is no .cpg (GBK when the .dbf is not
    UTF-8), and a temporary copy with repaired field names when GDAL cut UTF-8 names inside a
    character (unreadable otherwise).
    """
    if ref.kind != "shp":
        yield ref.dataset, None, []
        return
    warns: list[str] = []
    cpg = _shapefile_sidecar(ref, ".cpg")
    dbf = _shapefile_sidecar(ref, ".dbf") or b""
    encoding: str | None
    read_encoding: str | None
    if cpg is not None:
        encoding = _cpg_encoding(cpg)
        read_encoding = None  # GDAL honours the .cpg itself
    else:
        encoding = read_encoding = _dbf_encoding(dbf)
        if encoding == "GBK":
            warns.append(f"Shapefile“{ref.name}”缺少 .cpg 编码文件，属性不是 UTF-8，已按 GBK 编码读取中文")
    renamed: dict[str, str] = {}
    if encoding == "UTF-8":
        dbf, renamed = _repair_utf8_field_names(dbf)
    if not renamed:
        yield ref.dataset, read_encoding, warns
        return
    changes = "、".join(f"“{new}”" for new in renamed.values())
    warns.append(f"Shapefile“{ref.name}”的字段名被截断在半个汉字处（字段名最多 10 字节），已改为 {changes}")
    with tempfile.TemporaryDirectory() as tmp:
        for ext in SHAPEFILE_PARTS:
            data = dbf if ext == ".dbf" else _shapefile_sidecar(ref, ext)
            if data is not None:
                (Path(tmp) / f"layer{ext}").write_bytes(data)
        yield str(Path(tmp) / "layer.shp"), read_encoding, warns

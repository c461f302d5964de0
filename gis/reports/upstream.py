"""The body pushed to the county or provincial platform (上级平台) for a submitted report: pure.

RiverGrid does not send it here: the delivery log of :mod:`gis.notify` does (at-least-once,
with retries), to ``RIVERGRID_REPORT_UPSTREAM_URL``, as ``POST`` with
``Content-Type: application/json`` and the header ``Idempotency-Key: <key>``. The key is the
same for every attempt of one edition, whichever process sends it, so the platform can drop
repeats; a new edition (a correction) has a new key.

Body (``schema`` 1)::

    {
      "schema": "rivergrid.report/1",
      "idempotency_key": "rivergrid-report-<sha256 hex>",
      "source": "<RIVERGRID_PUBLIC_URL>",
      "grid": {"id": 2, "name": "…", "level": "township", "level_label": "乡级网格",
               "parent_id": 1, "parent": "临江市"},
      "period": {"label": "2026-11", "kind": "month", "kind_label": "月报",
                 "start": "2026-11-01", "end": "2026-11-30", "title": "2026年11月"},
      "edition": 1, "change_reason": "", "submitted_by": "staff",
      "submitted_at": "2026-12-03T02:00:00+00:00",
      "figures": {… the figures of gis.reports.figures …},
      "file": {"name": "….xlsx", "media_type": "application/vnd.openxmlformats-…",
               "sha256": "…", "bytes": 12345, "content_base64": "…"}
    }

A platform that takes files as ``multipart/form-data`` gets the same content as two parts
(:func:`multipart_parts`): ``report`` (the JSON above without ``file.content_base64``) and
``file`` (the bytes, with the file's name and media type).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from gis.errors import ValidationError
from gis.reports.render import FORMATS

__all__ = ["SCHEMA", "idempotency_key", "multipart_parts", "upstream_payload"]

SCHEMA = "rivergrid.report/1"


def idempotency_key(grid_id: int, period: str, edition: int, file_sha256: str) -> str:
    """A stable key of one edition's push: the same inputs give the same key, in any process."""
    basis = json.dumps(
        {"grid_id": int(grid_id), "period": str(period), "edition": int(edition), "sha256": str(file_sha256)},
        sort_keys=True,
    )
    return "rivergrid-report-" + hashlib.sha256(basis.encode("utf-8")).hexdigest()


def _file(name: str, fmt: str, data: bytes) -> dict[str, Any]:
    if fmt not in FORMATS:
        raise ValidationError(f"报表格式“{fmt}”无效，可选：xlsx、pdf", f"unknown report format {fmt!r}")
    return {"name": name, "media_type": FORMATS[fmt], "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def upstream_payload(
    edition: Mapping[str, Any],
    figures: Mapping[str, Any],
    data: bytes,
    *,
    file_name: str,
    fmt: str = "xlsx",
    source: str = "",
) -> tuple[dict[str, Any], str]:
    """The JSON body and the idempotency key of an edition's push.

    Parameters
    ----------
    edition
        :func:`gis.reports.editions.edition_dict` of the submitted edition.
    figures
        Its stored figures (``ReportEdition.figures``).
    data
        The file sent with it (the stored workbook, or the PDF with ``fmt="pdf"``).
    file_name, fmt
        The file's name and format (``xlsx`` or ``pdf``).
    source
        Who sends it (``RIVERGRID_PUBLIC_URL``).

    Raises
    ------
    ValidationError
        Unknown format, or ``data`` is not the file the edition recorded (its SHA-256 differs).
    """
    meta = _file(file_name, fmt, data)
    recorded = (edition.get(fmt) or {}).get("sha256")
    if recorded and recorded != meta["sha256"]:
        raise ValidationError("报送文件与登记的文件摘要不一致", f"{fmt} sha256 {meta['sha256']} != recorded {recorded}")
    key = idempotency_key(edition["grid_id"], edition["period"], edition["edition"], meta["sha256"])
    body = {
        "schema": SCHEMA,
        "idempotency_key": key,
        "source": source,
        "grid": dict(figures.get("grid") or {}),
        "period": dict(figures.get("period") or {}),
        "edition": edition["edition"],
        "change_reason": edition.get("change_reason") or "",
        "submitted_by": edition.get("submitted_by") or "",
        "submitted_at": edition.get("submitted_at"),
        "figures": dict(figures),
        "file": {**meta, "content_base64": base64.b64encode(data).decode("ascii")},
    }
    return body, key


def multipart_parts(body: Mapping[str, Any], data: bytes) -> list[tuple[str, str, str, bytes]]:
    """The multipart shape of :func:`upstream_payload`'s body: ``(field, file name, media type,
    bytes)`` for the parts ``report`` (JSON, without the base64 content) and ``file``."""
    meta = {k: v for k, v in body["file"].items() if k != "content_base64"}
    report = {**body, "file": meta}
    return [
        ("report", "report.json", "application/json", json.dumps(report, ensure_ascii=False).encode("utf-8")),
        ("file", meta["name"], meta["media_type"], data),
    ]

"""Chinese texts for the Streamlit widgets whose texts are fixed in Streamlit's frontend bundle.

Streamlit's file uploader says "Upload", "200MB per file • GPX, KML" and "Add files"; its date
input shows ``yyyy/mm/dd`` until a date is chosen. Neither can be configured, so these wrappers
draw the widget and a style sheet (a ``<style>`` element only: Streamlit puts it outside the page
flow, it takes no space) that hides the English text and writes the Chinese text in its place
with CSS ``content``. Every page draws uploaders and date inputs through :func:`file_uploader` and
:func:`date_input` (a test checks that no page calls Streamlit's directly).

The style sheets are plain constants built from numbers and file extensions (no user text), and
each uploader's rules are scoped to its widget key (``.st-key-<key>``), so two uploaders on one
page state their own size limits and file types.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import streamlit as st

from gis.config import settings

_KEY = re.compile(r"^[A-Za-z0-9_-]+$")

UPLOAD_BUTTON = "选择文件"
ADD_FILES = "添加文件"
DATE_PLACEHOLDERS = {"year": "年", "month": "月", "day": "日"}
"""What the empty parts of a date input show (instead of ``yyyy``, ``mm``, ``dd``)."""

DATE_FORMAT = "YYYY-MM-DD"
"""How every date input writes a date (as the rest of the app: 2026-11-28)."""


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal (only our own constants reach here)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ") + '"'


def format_mb(mb: float) -> str:
    """A size limit in MB as the instructions show it: ``50 MB``, ``2.5 MB``."""
    return f"{mb:g} MB"


def uploader_instructions(types: Sequence[str] | None, max_mb: float, *, multiple: bool = False) -> str:
    """The line beside the uploader's button: size limit and accepted file types, in Chinese."""
    limit = f"每个文件不超过 {format_mb(max_mb)}" if multiple else f"文件不超过 {format_mb(max_mb)}"
    shown: list[str] = []
    for t in types or ():
        name = str(t).lstrip(".").upper()
        if name and name not in shown:
            shown.append(name)
    kinds = "、".join(shown[:4]) + (f" 等 {len(shown)} 种" if len(shown) > 4 else "")
    return limit + ("；" + kinds if kinds else "") + "；可拖入此处"


def uploader_css(key: str, instructions: str) -> str:
    """Style sheet that writes the Chinese texts into the uploader with widget key ``key``."""
    if not _KEY.match(key):
        raise ValueError(f"widget key {key!r}: letters, digits, '-' and '_' only")
    root = f".st-key-{key}"
    return (
        "<style>"
        # the button: "Upload" (its icon is the ligature "upload" in a font, hidden with it)
        f"{root} [data-testid='stFileUploaderDropzone'] button[kind='secondary'] p{{font-size:0;line-height:0}}"
        f"{root} [data-testid='stFileUploaderDropzone'] button[kind='secondary'] p::after"
        f"{{content:{_css_string(UPLOAD_BUTTON)};font-size:14px;line-height:22.4px}}"
        # "200MB per file • GPX, KML"
        f"{root} [data-testid='stFileUploaderDropzoneInstructions'] span{{font-size:0}}"
        f"{root} [data-testid='stFileUploaderDropzoneInstructions'] span::after"
        f"{{content:{_css_string(instructions)};font-size:14px}}"
        # a refused file ("Error: text/plain files are not allowed." only in a tooltip)
        f"{root} [data-testid='stFileChip'][aria-invalid='true']::after"
        f"{{content:{_css_string('不接受此文件（类型或大小不符）')};font-size:12px;color:#b71c1c;margin-left:6px}}"
        "</style>"
    )


def file_uploader(
    label: str,
    *,
    key: str,
    type: Sequence[str] | None = None,  # noqa: A002 — Streamlit's own parameter name
    max_mb: float | None = None,
    accept_multiple_files: bool = False,
    where: Any = None,
    **kwargs: Any,
) -> Any:
    """``st.file_uploader`` with Chinese texts (see the module docstring).

    Parameters
    ----------
    label
        The widget's label (Chinese).
    key
        Widget key (needed: the Chinese texts are attached to it).
    type
        Accepted file extensions, as for ``st.file_uploader``.
    max_mb
        Largest file in MB (``max_upload_size``); default the server's limit
        (``RIVERGRID_MAX_FILE_MB``, which ``python -m ui.serve`` gives Streamlit).
    where
        Container to draw in (a column, a form); default the page.
    kwargs
        Passed on to ``st.file_uploader``.
    """
    target = st if where is None else where
    limit = float(max_mb) if max_mb is not None else float(settings().max_file_mb)
    st.html(uploader_css(key, uploader_instructions(type, limit, multiple=accept_multiple_files)))
    if max_mb is not None:
        kwargs["max_upload_size"] = max_mb
    return target.file_uploader(label, type=type, accept_multiple_files=accept_multiple_files, key=key, **kwargs)


DATE_CSS = (
    "<style>"
    + "".join(
        f"[data-testid='stDateInput'] [role='spinbutton'][data-placeholder='true'][data-type='{part}']"
        f"{{font-size:0}}"
        f"[data-testid='stDateInput'] [role='spinbutton'][data-placeholder='true'][data-type='{part}']::after"
        f"{{content:{_css_string(text)};font-size:14px;color:#8a94a6}}"
        for part, text in DATE_PLACEHOLDERS.items()
    )
    + "</style>"
)
"""Style sheet for every date input: empty parts read 年-月-日 (Streamlit shows yyyy-mm-dd)."""


def date_input(label: str, value: Any = "today", *, key: str | None = None, where: Any = None, **kwargs: Any) -> Any:
    """``st.date_input`` writing dates as ``2026-11-28`` whose empty parts read 年-月-日.

    ``value``: as for ``st.date_input`` (``None`` for an empty input, ``()`` for an empty range);
    ``where``: container to draw in (a column, a form); other arguments go to ``st.date_input``.
    """
    target = st if where is None else where
    st.html(DATE_CSS)
    kwargs.setdefault("format", DATE_FORMAT)
    return target.date_input(label, value=value, key=key, **kwargs)


__all__ = [
    "DATE_CSS",
    "DATE_FORMAT",
    "DATE_PLACEHOLDERS",
    "UPLOAD_BUTTON",
    "date_input",
    "file_uploader",
    "format_mb",
    "uploader_css",
    "uploader_instructions",
]

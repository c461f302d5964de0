"""Stored text (names, descriptions, file fields, error messages quoting them) shown inertly in
Streamlit elements that render Markdown (``st.markdown``, ``st.caption``, ``st.error``, …).

:func:`md_text` is the one way user text reaches such an element: it shows as typed and never
becomes markup, an image, HTML or a link.
"""

from __future__ import annotations

import re
from typing import Any

_MD_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:$=^\"'@])")
_WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(https?|ftp|mailto|www)")


def md_text(value: Any) -> str:
    """``value`` as inert Markdown text: shown literally, never as markup or HTML.

    Markdown punctuation is backslash-escaped, ``&``, ``<``, ``>`` become HTML entities (which
    Markdown shows as the characters), line breaks become spaces, and an invisible word joiner
    after ``http``, ``www``, … keeps GitHub-style autolinks from turning an address into a
    live link.
    """
    text = "" if value is None else str(value)
    text = _AUTOLINK.sub(lambda m: m.group(1) + _WORD_JOINER, text)
    text = _MD_PUNCTUATION.sub(r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"\s*[\r\n]+\s*", " ", text)


__all__ = ["md_text"]

"""Close a template-injection hole in branca/folium.

``branca.element.MacroElement.render`` wraps the already-rendered header, html and script of
every element in a new ``Element(text)``, and ``Element`` treats its text as a Jinja template:
when the figure is rendered, that text is evaluated a second time. Any user text that reached a
map (a grid named ``{{ 7*7 }}`` shows as ``49``; worse expressions run code on the server) would
be executed. :func:`install` replaces that render with one that adds the text as a literal,
evaluated never. The one thing folium relied on the second pass for — style values that name
another element, written ``{{'element_name'}}`` by ``GeoJsonStyleMapper`` — is resolved here
with a regular expression instead, as streamlit-folium does.

Imported by ``layers/__init__.py``, so every map built through ``layers`` is safe.
"""

from __future__ import annotations

import re
from typing import Any

from branca.element import Element, Figure, MacroElement
from jinja2 import Template

_ELEMENT_REF = re.compile(r"\{\{\s*'([A-Za-z_$][A-Za-z0-9_$]*)'\s*\}\}")


class LiteralElement(Element):
    """Text put into the page exactly as it is (never evaluated as a template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._template = Template("{{ this.text }}")
        self.text = _ELEMENT_REF.sub(r"\1", text)


def _render(self: MacroElement, **kwargs: Any) -> None:
    """``MacroElement.render`` of branca 0.8, with literal (not template) children."""
    figure = self.get_root()
    assert isinstance(figure, Figure), "You cannot render this Element if it is not in a Figure."
    module = self._template.module.__dict__
    for part in ("header", "html", "script"):
        macro = module.get(part)
        if macro is not None:
            getattr(figure, part).add_child(LiteralElement(str(macro(self, kwargs))), name=self.get_name())
    for element in self._children.values():
        element.render(**kwargs)


_ORIGINAL_RENDER = MacroElement.render
"""branca's own render (kept for the test that shows the hole it leaves)."""


def install() -> None:
    """Make every MacroElement render its parts as literals (idempotent)."""
    MacroElement.render = _render  # type: ignore[method-assign]


install()

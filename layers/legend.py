"""A map legend drawn inside the map (so it stays visible in full-screen), built from the styles."""

from __future__ import annotations

from html import escape

from branca.element import MacroElement
from folium.template import Template

from gis.model import GridLevel
from layers.grids import GRID_LEVEL_STYLE
from layers.incidents import STATUS_COLORS
from layers.rivers import REACH_BASE_STYLE

_TEMPLATE = Template(
    """
    {% macro script(this, kwargs) %}
    (function () {
        var legend = L.control({position: "bottomright"});
        legend.onAdd = function () {
            var div = L.DomUtil.create("div", "rivergrid-legend");
            div.innerHTML = {{ this.html|tojson }};
            div.style.cssText = "background:rgba(255,255,255,.92);padding:6px 8px;border-radius:4px;" +
                "box-shadow:0 1px 4px rgba(0,0,0,.3);font-size:12px;line-height:18px;max-width:220px";
            return div;
        };
        legend.addTo({{ this._parent.get_name() }});
    })();
    {% endmacro %}
    """
)


def _swatch(kind: str, color: str, label: str) -> str:
    if kind == "line":
        mark = (
            f'<span style="display:inline-block;width:18px;height:0;border-top:3px solid {color};vertical-align:midd'
            'le"></span>'
        )
    elif kind == "area":
        mark = (
            f'<span style="display:inline-block;width:14px;height:10px;border:2px solid {color};vertical-align:middl'
            'e"></span>'
        )
    else:
        mark = (
            f'<span style="display:inline-block;width:10px;height:10px;border-radius:50%;background:{color};vertical'
            '-align:middle"></span>'
        )
    return f"<div>{mark}&nbsp;{escape(label)}</div>"


def legend_html() -> str:
    """Legend rows: reaches, grid levels, incident states (open and closed), in a box that folds
    (a click on 图例)."""
    rows = [_swatch("line", REACH_BASE_STYLE["color"], "河段")]
    rows += [_swatch("area", GRID_LEVEL_STYLE[level]["color"], level.label) for level in GridLevel]
    seen: dict[str, list[str]] = {}
    for status, color in STATUS_COLORS.items():
        seen.setdefault(color, []).append(status.label)
    rows += [_swatch("point", color, "事件：" + "、".join(labels)) for color, labels in seen.items()]
    rows.append('<div style="color:#666">虚线边界为示意</div>')
    return "<details open><summary><b>图例</b></summary>" + "".join(rows) + "</details>"


class Legend(MacroElement):
    """A Leaflet control in the bottom-right corner holding :func:`legend_html`."""

    _template = _TEMPLATE

    def __init__(self, html: str | None = None) -> None:
        super().__init__()
        self._name = "Legend"
        self.html = html if html is not None else legend_html()


__all__ = ["Legend", "legend_html"]

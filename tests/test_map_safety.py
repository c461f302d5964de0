"""User text never runs as a template on the server (branca renders element output twice)."""

from __future__ import annotations

import re

import geopandas as gpd
import pytest
from shapely.geometry import LineString, box

from layers import finish_map, grids_layer, make_map, reaches_layer

# payload, what evaluating it would produce
PAYLOADS = [
    ("{{ 7*7 }}", "村49"),
    ("{% if true %}TRUE{% endif %}", "村TRUE"),
    ("{{ cycler.__init__.__globals__ }}", "<module"),
    ("{#comment#}", "村\""),
]


def render_with_name(payload: str) -> str:
    grids = gpd.GeoDataFrame(
        {"id": [1], "name": [f"村{payload}"], "level": ["village"], "parent_name": [""],
         "responsible_body": [payload], "main_responsible": [payload], "township_supervisor": [""],
         "illustrative": [True]},
        geometry=[box(126.9, 41.8, 126.95, 41.85)], crs="EPSG:4326",
    )
    reaches = gpd.GeoDataFrame({"id": [1], "name": [payload], "river_name": [payload], "code": ["A"],
                                "level": ["village"]},
                               geometry=[LineString([(126.9, 41.8), (126.95, 41.85)])], crs="EPSG:4326")
    m = make_map(basemap="none", tianditu_key=None)
    grids_layer(grids, labels=True).add_to(m)
    reaches_layer(reaches).add_to(m)
    html = finish_map(m).get_root().render()
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda x: chr(int(x.group(1), 16)), html)  # undo JSON escapes


@pytest.mark.parametrize(("payload", "evaluated"), PAYLOADS)
def test_template_syntax_in_names_is_shown_not_run(payload: str, evaluated: str) -> None:
    html = render_with_name(payload)
    assert f"村{payload}" in html  # the name arrives as typed
    assert evaluated not in html  # and was never evaluated


def test_folium_element_references_still_resolve() -> None:
    from layers.safety import LiteralElement

    assert LiteralElement("var x = {{'pattern_abc123'}};").text == "var x = pattern_abc123;"


def test_without_the_fix_branca_would_evaluate_user_text(monkeypatch: pytest.MonkeyPatch) -> None:
    from branca.element import MacroElement

    from layers import safety

    monkeypatch.setattr(MacroElement, "render", safety._ORIGINAL_RENDER)
    assert "村49" in render_with_name("{{ 7*7 }}")  # the hole this module closes

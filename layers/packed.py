"""Compact, pre-serialised map layers for big data sets (thousands of reaches), and the click bridge.

folium's ``GeoJson`` re-serialises every coordinate, style and popup on every render, and
streamlit-folium renders a map twice per Streamlit rerun: 5,000 reaches of 50 vertices are
11 MB of GeoJSON and seconds of Python per rerun. A :class:`PackedLayer` is built once per data
version (the page caches it) and holds the layer as one compact JSON text:

* geometries simplified in metres (:data:`DISPLAY_TOLERANCE_M`, in a projected CRS) and written
  as Google encoded polylines at precision 1e-6 (coordinates rounded to 6 decimals, ~6 bytes a
  vertex instead of ~23 in GeoJSON text);
* each feature as ``[id, style index, tooltip line indexes, geometry]``: its style looked up in a
  short table of distinct styles (computed in Python by the layers' pure style functions), its
  tooltip lines in a table of distinct texts (river names and levels repeat);
* tooltips as plain text lines that the browser puts into the page with ``textContent``: user
  text never passes through an HTML parser, so it cannot become markup;
* big line and area layers drawn on one canvas (:data:`CANVAS_THRESHOLD`), which Leaflet draws
  far faster than thousands of SVG paths.

:class:`PackedFeatures` puts a layer into a ``folium.FeatureGroup``; its script is the cached text
plus one call, so a rerun costs string concatenation only. :class:`Runtime` (the decoder and the
layer builder, added once per map) and :class:`MapBridge` (clicks and the layer control's state
back to Python through streamlit-folium, see below) complete the map. The browser side is
JavaScript of its own, ``static/rivergrid/packed-layers.js`` (with ``packed-layers.css``), which
Streamlit serves like the vendored assets of :mod:`layers.assets`: no CDN, gzipped once per
process by :mod:`ui.static_gzip`.

The click bridge
----------------
streamlit-folium 0.27 reports a click on a feature only as coordinates plus the feature's tooltip
text, attaches its handlers only to layers on the map when it starts (not to clustered markers nor
to overlays switched on later) and sends nothing when the same marker is clicked twice. Every
packed feature therefore gets its own click handler which, after streamlit-folium's handlers have
run, writes ``rg:<kind>:<id>`` into ``last_object_clicked_tooltip``, increments
``last_object_clicked_count`` (so a repeated click is a new value) and asks streamlit-folium to
send (it sends on ``moveend``). The layer control's state travels the same way, as entries of
``selected_layers`` (``{"name": <layer name>, "url": "rg:overlay"}`` for each overlay shown,
``"rg:base"`` for the base map). If a later streamlit-folium drops ``window.__GLOBAL_DATA__`` the
bridge does nothing and the page falls back to the clicked coordinates.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium.elements
import geopandas as gpd
import numpy as np
import pyproj
import shapely
from branca.element import Element, MacroElement
from folium.template import Template

from gis.errors import ValidationError
from gis.geometry.crs import metric_crs_for
from gis.model import STORE_CRS
from layers._common import Style

DISPLAY_TOLERANCE_M = 5.0
"""Simplification tolerance of drawn lines and areas, in metres: a fifth of a pixel at zoom 12
(about 28 m a pixel at Linjiang's latitude), a pixel at zoom 14."""

PRECISION = 6
"""Decimals kept of longitude/latitude (1e-6 degree is about 0.1 m)."""

CANVAS_THRESHOLD = 300
"""Line and area layers with more features than this are drawn on a canvas instead of SVG."""

CLUSTER_THRESHOLD = 50
"""Point layers with more features than this are clustered (same as ``layers._common``)."""

REF_PREFIX = "rg:"
"""Prefix of the references the bridge sends back: ``rg:<kind>:<id>``."""

GEOMETRY_KINDS = ("line", "area", "dot", "pin")
"""``line``: (multi)lines; ``area``: (multi)polygons; ``dot``: points drawn as coloured dots
(circle markers, or HTML dots when clustered); ``pin``: points drawn as awesome-marker pins."""

_JINJA_OPEN = re.compile(r"\{(?=[{%#])")
_SCALE = 10**PRECISION
_MAX_CHUNKS = 8  # 5 bits each: zigzag values below 2**40 (longitudes are below 2**29 at 1e6)


# =============================================================================================
# Encoded polylines
# =============================================================================================


def encode_polyline(coords: Sequence[Sequence[float]], *, precision: int = PRECISION) -> str:
    """Google's encoded polyline of ``(lon, lat)`` pairs (written lat first, as the format wants).

    The plain, one-vertex-at-a-time version; :func:`encode_parts` is the vectorised one and the
    tests check that both agree.
    """
    scale = 10**precision
    out: list[str] = []
    prev_lat = prev_lon = 0
    for lon, lat in coords:
        ilat, ilon = round(lat * scale), round(lon * scale)
        for delta in (ilat - prev_lat, ilon - prev_lon):
            value = ~(delta << 1) if delta < 0 else delta << 1
            while value >= 0x20:
                out.append(chr((0x20 | (value & 0x1F)) + 63))
                value >>= 5
            out.append(chr(value + 63))
        prev_lat, prev_lon = ilat, ilon
    return "".join(out)


def decode_polyline(text: str, *, precision: int = PRECISION) -> list[tuple[float, float]]:
    """``(lon, lat)`` pairs of an encoded polyline (inverse of :func:`encode_polyline`)."""
    scale = 10**precision
    coords: list[tuple[float, float]] = []
    values: list[int] = []
    i = 0
    while i < len(text):
        result = shift = 0
        while True:
            b = ord(text[i]) - 63
            i += 1
            result |= (b & 0x1F) << shift
            shift += 5
            if b < 0x20:
                break
        values.append(~(result >> 1) if result & 1 else result >> 1)
    lat = lon = 0
    for k in range(0, len(values), 2):
        lat += values[k]
        lon += values[k + 1]
        coords.append((lon / scale, lat / scale))
    return coords


def encode_parts(coords: np.ndarray, part_index: np.ndarray, n_parts: int) -> list[str]:
    """Encoded polylines of many parts at once.

    Parameters
    ----------
    coords
        ``(n, 2)`` array of longitude, latitude in decimal degrees, the parts one after another.
    part_index
        For each row of ``coords``, the part it belongs to (non-decreasing, ``0 … n_parts-1``).
    n_parts
        Number of parts (a part without vertices gives ``""``).
    """
    if len(coords) == 0:
        return [""] * n_parts
    ints = np.rint(np.asarray(coords, dtype=float)[:, ::-1] * _SCALE).astype(np.int64)  # lat, lon
    deltas = np.diff(ints, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    starts = np.r_[True, part_index[1:] != part_index[:-1]]
    deltas[starts] = ints[starts]  # every part starts from absolute values
    values = deltas.reshape(-1)
    zigzag = np.where(values < 0, ~(values << 1), values << 1).astype(np.uint64)
    shifts = np.arange(_MAX_CHUNKS, dtype=np.uint64) * np.uint64(5)
    chunks = (zigzag[:, None] >> shifts[None, :]) & np.uint64(0x1F)
    remaining = zigzag[:, None] >> shifts[None, :]
    n_chunks = np.maximum((remaining > 0).sum(axis=1), 1)
    position = np.arange(_MAX_CHUNKS)[None, :]
    keep = position < n_chunks[:, None]
    more = position < (n_chunks[:, None] - 1)
    codes = (chunks + np.where(more, 0x20, 0).astype(np.uint64) + np.uint64(63)).astype(np.uint8)
    text = codes[keep].tobytes().decode("ascii")
    # characters per part: sum of chunk counts of its two values per vertex
    chars_per_vertex = n_chunks.reshape(-1, 2).sum(axis=1)
    per_part = np.bincount(part_index, weights=chars_per_vertex, minlength=n_parts).astype(np.int64)
    ends = np.cumsum(per_part)
    begins = ends - per_part
    return [text[b:e] for b, e in zip(begins.tolist(), ends.tolist(), strict=True)]


# =============================================================================================
# Geometry for display
# =============================================================================================


def display_geometries(
    geometries: gpd.GeoSeries, *, tolerance_m: float = DISPLAY_TOLERANCE_M, crs: Any = None
) -> np.ndarray:
    """Geometries simplified by ``tolerance_m`` metres, as a shapely array in EPSG:4326.

    Parameters
    ----------
    geometries
        Lines or polygons with a CRS (any; reprojected).
    tolerance_m
        Douglas–Peucker tolerance in metres, applied in ``crs`` (topology preserved, so a
        polygon never collapses); ``0`` keeps every vertex.
    crs
        Projected CRS in metres; default :func:`gis.geometry.crs.metric_crs_for` of the data.

    Raises
    ------
    gis.errors.ValidationError
        Missing CRS, or a geographic ``crs`` (degrees are no tolerance).
    """
    if geometries.crs is None:
        raise ValidationError("图层数据没有坐标参考系", "display_geometries: the GeoSeries has no CRS")
    lonlat = geometries.to_crs(STORE_CRS) if not geometries.crs.equals(STORE_CRS) else geometries
    if tolerance_m <= 0 or len(lonlat) == 0:
        return np.asarray(lonlat.array, dtype=object)
    metric = pyproj.CRS(crs) if crs is not None else metric_crs_for(tuple(lonlat.total_bounds))
    if not metric.is_projected:
        raise ValidationError(
            "简化图形需要以米为单位的投影坐标系",
            f"display_geometries: crs must be projected (metres), got {metric.name}",
        )
    projected = lonlat.to_crs(metric)
    simple = shapely.simplify(np.asarray(projected.array, dtype=object), tolerance_m, preserve_topology=True)
    back = gpd.GeoSeries(simple, crs=metric).to_crs(STORE_CRS)
    return np.asarray(back.array, dtype=object)


def pack_lines(geoms: np.ndarray) -> list[list[str]]:
    """Per (multi)line: the list of its parts as encoded polylines."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    coords, part_of = shapely.get_coordinates(parts, return_index=True)
    encoded = encode_parts(coords, part_of, len(parts))
    out: list[list[str]] = [[] for _ in range(len(geoms))]
    for o, text in zip(owner.tolist(), encoded, strict=True):
        if text:
            out[o].append(text)
    return out


def pack_areas(geoms: np.ndarray) -> list[list[list[str]]]:
    """Per (multi)polygon: its polygons, each the list of its rings as encoded polylines (the
    closing vertex left out: Leaflet closes rings itself)."""
    polys, owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_owner = shapely.get_rings(polys, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    if len(coords):
        last = np.r_[ring_of[1:] != ring_of[:-1], True]
        coords, ring_of = coords[~last], ring_of[~last]
    encoded = encode_parts(coords, ring_of, len(rings))
    poly_rings: list[list[str]] = [[] for _ in range(len(polys))]
    for r, text in zip(ring_owner.tolist(), encoded, strict=True):
        if text:
            poly_rings[r].append(text)
    out: list[list[list[str]]] = [[] for _ in range(len(geoms))]
    for o, rings_of_poly in zip(owner.tolist(), poly_rings, strict=True):
        if rings_of_poly:
            out[o].append(rings_of_poly)
    return out


def pack_points(geoms: np.ndarray) -> list[list[float]]:
    """Per point: ``[lat, lon]`` rounded to :data:`PRECISION` decimals."""
    xy = shapely.get_coordinates(geoms)
    return [[round(float(y), PRECISION), round(float(x), PRECISION)] for x, y in xy]


# =============================================================================================
# Layers
# =============================================================================================


def js_literal(value: Any) -> str:
    """``value`` as compact JSON that is also safe inside an HTML ``<script>``.

    ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e``, ``\\u0026`` (no ``</script>`` or
    comment can be closed), and U+2028/U+2029 are escaped for old JavaScript parsers.

    A ``{`` followed by ``{``, ``%`` or ``#`` becomes ``\\u007b`` too: branca compiles the output
    of every element's script macro once more as a Jinja template, so user text such as
    ``{{ 7*7 }}`` would otherwise be *executed on the server*. (Compact JSON never has such a
    pair outside strings: an object's first token is a key in quotes.)
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = _JINJA_OPEN.sub(r"\\u007b", text)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


@dataclass(frozen=True)
class PackedLayer:
    """One layer ready for the browser: the JSON text that :class:`PackedFeatures` embeds.

    Attributes
    ----------
    kind
        What the features are (``reach``, ``grid``, ``incident``…); clicks report
        ``rg:<kind>:<id>``.
    geometry
        One of :data:`GEOMETRY_KINDS`.
    js
        The layer as a JavaScript object literal (see :func:`pack_layer`).
    n_features, n_vertices
        Counts, for tests and the benchmark.
    clustered
        Whether the points are clustered.
    info
        Feature id → its tooltip lines (plain text), for showing the feature elsewhere.
    """

    kind: str
    geometry: str
    js: str
    n_features: int
    n_vertices: int
    clustered: bool = False
    info: Mapping[Any, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def size_bytes(self) -> int:
        """Size of :attr:`js` in UTF-8, in bytes."""
        return len(self.js.encode("utf-8"))


def _plain_id(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer():
            return int(value)
    return value if isinstance(value, (int, str)) else str(value)


def pack_layer(
    kind: str,
    geometries: gpd.GeoSeries,
    *,
    geometry: str,
    ids: Sequence[Any],
    styles: Sequence[Style],
    tooltips: Sequence[Sequence[str]],
    labels: Sequence[tuple[float, float, str, str]] | None = None,
    label_min_zoom: int | None = None,
    hover_weight: float = 0.0,
    tolerance_m: float = DISPLAY_TOLERANCE_M,
    crs: Any = None,
    canvas: bool | None = None,
    cluster: bool | None = None,
) -> PackedLayer:
    """Pack features for :class:`PackedFeatures`.

    Parameters
    ----------
    kind
        Feature kind sent back on click (``rg:<kind>:<id>``); letters only.
    geometries
        The features' geometries, with a CRS (reprojected to EPSG:4326; lines and areas are
        simplified by ``tolerance_m`` metres first). Rows without geometry are left out.
    geometry
        ``line``, ``area``, ``dot`` or ``pin`` (see :data:`GEOMETRY_KINDS`).
    ids
        Feature ids (JSON numbers or strings), one per row.
    styles
        Leaflet options per row: path options for lines, areas and dots; awesome-marker
        options (``icon``, ``prefix``, ``markerColor``, ``iconColor``) for pins.
    tooltips
        Per row, the tooltip's lines as plain text: the first in bold. Put into the page with
        ``textContent`` (never parsed as HTML).
    labels
        Text written on the map: ``(lat, lon, text, css colour)``, plain text.
    label_min_zoom
        Hide the labels below this zoom level (they would pile up); None: always shown.
    hover_weight
        Extra line width in pixels while the mouse is over a line or area (0: no highlight).
    tolerance_m, crs
        See :func:`display_geometries`.
    canvas
        Draw lines/areas on a canvas; default when there are more than
        :data:`CANVAS_THRESHOLD` features.
    cluster
        Cluster points; default when there are more than :data:`CLUSTER_THRESHOLD`.

    Raises
    ------
    gis.errors.ValidationError
        Unknown ``geometry`` or ``kind``, lengths that differ, or a missing CRS.
    """
    if geometry not in GEOMETRY_KINDS:
        raise ValidationError("未知的图层几何类型", f"geometry must be one of {GEOMETRY_KINDS}, got {geometry!r}")
    if not kind.isalpha():
        raise ValidationError("图层类型名称无效", f"kind must be letters only, got {kind!r}")
    n = len(geometries)
    if not (len(ids) == len(styles) == len(tooltips) == n):
        raise ValidationError(
            "图层数据的行数不一致",
            f"{kind}: {n} geometries, {len(ids)} ids, {len(styles)} styles, {len(tooltips)} tooltips",
        )
    if geometries.crs is None:
        raise ValidationError("图层数据没有坐标参考系", f"{kind}: the GeoSeries has no CRS")
    present = ~(geometries.isna().to_numpy() | geometries.is_empty.to_numpy()) if n else np.zeros(0, bool)
    keep = np.flatnonzero(present)
    geoms_series = geometries.iloc[keep]

    if geometry in ("line", "area"):
        geoms = display_geometries(geoms_series, tolerance_m=tolerance_m, crs=crs)
        packed: list[Any] = pack_lines(geoms) if geometry == "line" else pack_areas(geoms)
    else:
        lonlat = geoms_series.to_crs(STORE_CRS) if not geoms_series.crs.equals(STORE_CRS) else geoms_series
        geoms = np.asarray(lonlat.array, dtype=object)
        packed = pack_points(geoms)
    n_vertices = int(shapely.get_num_coordinates(geoms).sum()) if len(geoms) else 0

    style_table: list[Style] = []
    style_index: dict[str, int] = {}
    text_table: list[str] = []  # tooltip lines repeat (river names, levels): sent once each
    text_index: dict[str, int] = {}
    features = []
    info: dict[Any, tuple[str, ...]] = {}
    for k, g in zip(keep.tolist(), packed, strict=True):
        key = json.dumps(styles[k], sort_keys=True)
        if key not in style_index:
            style_index[key] = len(style_table)
            style_table.append(dict(styles[k]))
        lines = [str(t) for t in tooltips[k] if t is not None and str(t) != ""]
        for line in lines:
            if line not in text_index:
                text_index[line] = len(text_table)
                text_table.append(line)
        ident = _plain_id(ids[k])
        info[ident] = tuple(lines)
        features.append([ident, style_index[key], [text_index[line] for line in lines], g])
    n_kept = len(features)
    spec: dict[str, Any] = {"k": kind, "g": geometry, "s": style_table, "t": text_table, "f": features}
    if hover_weight:
        spec["h"] = hover_weight
    if geometry in ("line", "area") and (canvas if canvas is not None else n_kept > CANVAS_THRESHOLD):
        spec["c"] = 1
    clustered = geometry in ("dot", "pin") and (cluster if cluster is not None else n_kept > CLUSTER_THRESHOLD)
    if clustered:
        spec["cl"] = 1
    if labels and label_min_zoom is not None:
        spec["lz"] = int(label_min_zoom)
    if labels:
        spec["lb"] = [
            [round(float(lat), PRECISION), round(float(lon), PRECISION), str(text), str(color)]
            for lat, lon, text, color in labels
        ]
    return PackedLayer(
        kind=kind,
        geometry=geometry,
        js=js_literal(spec),
        n_features=n_kept,
        n_vertices=n_vertices,
        clustered=bool(clustered),
        info=info,
    )


# =============================================================================================
# folium elements
# =============================================================================================

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "rivergrid"
"""Folder of RiverGrid's own browser files (``static/rivergrid`` at the top of the checkout)."""

STATIC_URL = "/app/static/rivergrid"
"""URL path at which Streamlit serves :data:`STATIC_DIR` (static serving of ``static/``, like the
vendored files of :mod:`layers.assets`)."""

RUNTIME_JS = "packed-layers.js"
"""The browser side of packed layers in :data:`STATIC_DIR`: decoder, feature builders, bridge."""

RUNTIME_CSS = "packed-layers.css"
"""Their stylesheet in :data:`STATIC_DIR` (labels, dots, tooltips, layer control, legend)."""


class _RawScript(Element):
    """Script text added to the figure as is.

    branca's ``MacroElement.render`` wraps each script macro's output in ``Element(output)``,
    which compiles the output as a Jinja template: slow for megabytes of data, and it would
    evaluate any ``{{ … }}`` in the data. This element returns its text unchanged.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "RawScript"
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class _RawMacro(MacroElement):
    """A MacroElement whose header and script output is added to the figure without being
    compiled again (see :class:`_RawScript`)."""

    def render(self, **kwargs: Any) -> None:
        figure = self.get_root()
        macros = self._template.module.__dict__
        if "header" in macros:
            figure.header.add_child(_RawScript(macros["header"](self, kwargs)), name=self.get_name())
        if "script" in macros:
            figure.script.add_child(_RawScript(macros["script"](self, kwargs)), name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)


class Runtime(folium.elements.JSCSSMixin, _RawMacro):
    """The browser side of packed layers (decoder, builders, bridge helpers) and their CSS.

    Add it once per map, before any :class:`PackedFeatures`. The script and the stylesheet are
    the files :data:`RUNTIME_JS` and :data:`RUNTIME_CSS` of :data:`STATIC_DIR`, loaded by URL
    like the vendored assets (streamlit-folium loads them before it runs the map's script).

    Parameters
    ----------
    prefer_canvas
        Draw every line and area layer on one shared canvas (for big data: thousands of SVG
        paths are slow, and a canvas above SVG paths would take their clicks).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            RG.preferCanvas = {{ "true" if this.prefer_canvas else "false" }};
        {% endmacro %}
        """
    )

    default_js = [("rivergrid_packed_layers", f"{STATIC_URL}/{RUNTIME_JS}")]
    default_css = [("rivergrid_packed_layers_css", f"{STATIC_URL}/{RUNTIME_CSS}")]

    def __init__(self, *, prefer_canvas: bool = False) -> None:
        super().__init__()
        self._name = "PackedRuntime"
        self.prefer_canvas = prefer_canvas


class PackedFeatures(_RawMacro):
    """A :class:`PackedLayer` drawn into its parent (a ``folium.FeatureGroup``).

    Parameters
    ----------
    layer
        The packed features.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            RG.add({{ this._parent.get_name() }}, {{ this.layer.js }});
        {% endmacro %}
        """
    )

    def __init__(self, layer: PackedLayer) -> None:
        super().__init__()
        self._name = "PackedFeatures"
        self.layer = layer


class LayerTag(MacroElement):
    """Registers its parent layer with the bridge as an overlay or a base map, by name."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            RG.tag({{ this._parent.get_name() }}, {{ this.role|tojson }}, {{ this.layer_name|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, role: str, layer_name: str) -> None:
        super().__init__()
        if role not in ("overlay", "base"):
            raise ValidationError("图层角色无效", f"role must be 'overlay' or 'base', got {role!r}")
        self._name = "LayerTag"
        self.role = role
        self.layer_name = layer_name


class MapBridge(MacroElement):
    """Starts the click and layer-state bridge on its parent map (add it after all layers)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            RG.start({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MapBridge"


def parse_ref(text: Any) -> tuple[str, str] | None:
    """``("incident", "12")`` from a reference ``rg:incident:12`` (surrounding whitespace allowed);
    None for anything else."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not text.startswith(REF_PREFIX):
        return None
    kind, sep, ident = text[len(REF_PREFIX) :].partition(":")
    if not sep or not kind.isalpha() or ident == "" or any(c.isspace() for c in ident):
        return None
    return kind, ident


__all__ = [
    "CANVAS_THRESHOLD",
    "CLUSTER_THRESHOLD",
    "DISPLAY_TOLERANCE_M",
    "LayerTag",
    "MapBridge",
    "PackedFeatures",
    "PackedLayer",
    "RUNTIME_CSS",
    "RUNTIME_JS",
    "Runtime",
    "STATIC_DIR",
    "STATIC_URL",
    "decode_polyline",
    "display_geometries",
    "encode_parts",
    "encode_polyline",
    "js_literal",
    "pack_layer",
    "parse_ref",
]

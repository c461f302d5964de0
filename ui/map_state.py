"""State and cached data of the 河湖一张图 map page.

Pure parts (no Streamlit session needed, tested directly):

* :func:`parse_output` turns what ``st_folium`` returns into a :class:`MapOutput`;
* :func:`click_since` tells whether it holds a click not handled yet (a :class:`Selection`);
* :func:`metres_per_pixel`, :func:`snap_to_point` for clicks that came back as coordinates only.

Streamlit parts: :class:`HomeMapState` in ``st.session_state`` (the user's view, base map and
overlays, what the current map component was built with, the last handled click, the selection),
and the caches (``st.cache_data`` / ``st.cache_resource``) keyed by data versions, so that a
rerun — every pan, zoom or click reruns the page — rebuilds nothing.

Why the map is "mounted": streamlit-folium re-creates its iframe whenever the map's script
changes (the script's hash is the component key). The script therefore only changes with the
data, or when the page is entered again; the user's later panning and layer switching are
recorded here but not fed back into the script, so reruns resend an identical element (Streamlit
then sends only a reference to it) and the map never reloads under the user's hands.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
import shapely.ops
import streamlit as st

from gis.auth import Scope
from gis.basemap.archives import TileSetInfo
from gis.checks.report import check_layers, store_layers
from gis.config import settings
from gis.errors import RiverGridError
from gis.grids.chain import ResponsibilityIndex, reach_frames
from gis.history import latest_entry_ids
from gis.incidents.card import load_incident_card
from gis.maptiles.service import reach_count, reach_ids_near, reach_totals, river_tiles
from gis.model import GridLevel
from gis.overview import MapData, limit_map_data, load_map_data, overview_kpis
from layers.basemap import DEFAULT_CENTER, DEFAULT_ZOOM, view_for_bounds
from layers.home_map import (
    Overlay,
    gap_layer_data,
    grid_layer_data,
    incident_layer_data,
    legend_html,
    object_layer_data,
    reach_layer_data,
    recent_tracks,
    track_layer_data,
)
from layers.packed import parse_ref
from ui.state import get_store, visible_map_data

MAP_KEY = "home_map"
"""``key`` of the ``st_folium`` call."""

STATE_KEY = "home_map_state"
"""Where :class:`HomeMapState` lives in ``st.session_state``."""

PICK_KEY = "home_incident_pick"
"""Key of the panel's incident picker; its absence at the top of a run means the page was just
entered (Streamlit drops the state of widgets that a run did not draw)."""

RETURNED_OBJECTS = [
    "last_clicked",
    "last_object_clicked",
    "last_object_clicked_tooltip",
    "last_object_clicked_count",
    "center",
    "zoom",
    "selected_layers",
]
"""What the page asks ``st_folium`` to send back."""

CLICK_RADIUS_PX = 8
"""How far (in screen pixels) from a marker a coordinate-only click still counts as on it."""

MIN_REACH_TOLERANCE_M = 50.0
"""Reach search radius of the chain for a click, in metres (grown with the zoom, see
:func:`click_tolerance_m`)."""

SELECTION_KINDS = ("incident", "reach", "grid", "object", "track", "gap", "point")


# =============================================================================================
# Pure parsing
# =============================================================================================


@dataclass(frozen=True)
class ClickToken:
    """The click-related part of one ``st_folium`` value; a new click makes a different token."""

    count: int = 0
    object_at: tuple[float, float] | None = None
    tooltip: str | None = None
    clicked_at: tuple[float, float] | None = None


@dataclass(frozen=True)
class MapOutput:
    """What ``st_folium`` returned, parsed.

    Attributes
    ----------
    center, zoom
        The browser's current view ((lat, lon) in decimal degrees), None before it reported.
    overlays
        Keys of the overlays shown, None when the map did not say (not started yet).
    basemap
        Code of the base map shown, None when unknown.
    token
        Click state, compared with the last handled one by :func:`click_since`.
    """

    center: tuple[float, float] | None
    zoom: int | None
    overlays: frozenset[str] | None
    basemap: str | None
    token: ClickToken


@dataclass(frozen=True)
class Selection:
    """What the chain panel shows: a feature or a point.

    Attributes
    ----------
    kind
        One of :data:`SELECTION_KINDS`; ``point`` is a click on no known feature.
    ref_id
        The feature's id (int when it is a number), None for a point.
    lat, lon
        Where the user clicked (or the feature's location), decimal degrees.
    zoom
        Map zoom at the click (sets the search radius), None when unknown.
    """

    kind: str
    ref_id: Any
    lat: float
    lon: float
    zoom: int | None = None


def _latlng(value: Any) -> tuple[float, float] | None:
    if isinstance(value, Mapping) and "lat" in value and "lng" in value:
        try:
            lat, lng = float(value["lat"]), float(value["lng"])
        except (TypeError, ValueError):
            return None
        if math.isfinite(lat) and math.isfinite(lng):
            return (lat, lng)
    if isinstance(value, (list, tuple)) and len(value) == 2:
        try:
            return (float(value[0]), float(value[1]))
        except (TypeError, ValueError):
            return None
    return None


def parse_output(out: Mapping[str, Any] | None) -> MapOutput:
    """Parse the dict ``st_folium`` returns (``None`` or partial before the map reports)."""
    out = out or {}
    zoom = out.get("zoom")
    try:
        zoom = int(zoom) if zoom is not None else None
    except (TypeError, ValueError):
        zoom = None
    overlays: frozenset[str] | None = None
    basemap = None
    layers = out.get("selected_layers")
    if isinstance(layers, list):
        names = [(str(x.get("name", "")), str(x.get("url", ""))) for x in layers if isinstance(x, Mapping)]
        overlays = frozenset(n for n, url in names if url == "rg:overlay")
        bases = [n for n, url in names if url == "rg:base"]
        basemap = bases[0] if bases else None
    count = out.get("last_object_clicked_count") or 0
    try:
        count = int(count)
    except (TypeError, ValueError):
        count = 0
    tooltip = out.get("last_object_clicked_tooltip")
    token = ClickToken(
        count=count,
        object_at=_latlng(out.get("last_object_clicked")),
        tooltip=str(tooltip) if tooltip is not None else None,
        clicked_at=_latlng(out.get("last_clicked")),
    )
    center = _latlng(out.get("center"))
    # before the map reports, st_folium returns its defaults: a zoom (the script's) but no centre
    return MapOutput(
        center=center, zoom=zoom if center is not None else None, overlays=overlays, basemap=basemap, token=token
    )


def click_since(output: MapOutput, handled: ClickToken | None) -> Selection | None:
    """The click in ``output`` that came after the ``handled`` one, if any.

    A click on a feature raises the click count (the bridge counts every click, so clicking the
    same marker twice is two clicks) and names the feature (``rg:<kind>:<id>``); a click on the
    map background only changes ``last_clicked``. When both changed (a click on a line or area
    reaches the map too), the feature wins. ``handled=None`` means a freshly started map.
    """
    old = handled or ClickToken()
    new = output.token
    if (
        new.count
        and new.object_at is not None
        and (new.count != old.count or new.object_at != old.object_at or new.tooltip != old.tooltip)
    ):
        lat, lon = new.object_at
        ref = parse_ref(new.tooltip)
        if ref is not None and ref[0] in SELECTION_KINDS:
            kind, ident = ref
            return Selection(kind, int(ident) if ident.lstrip("-").isdigit() else ident, lat, lon, output.zoom)
        return Selection("point", None, lat, lon, output.zoom)
    if new.clicked_at is not None and new.clicked_at != old.clicked_at:
        lat, lon = new.clicked_at
        return Selection("point", None, lat, lon, output.zoom)
    return None


def metres_per_pixel(lat: float, zoom: float) -> float:
    """Ground size of one web-mercator pixel at latitude ``lat`` (degrees) and ``zoom``, in metres."""
    return 156_543.03392 * math.cos(math.radians(lat)) / (2.0**zoom)


def click_tolerance_m(lat: float, zoom: int | None, *, pixels: float = CLICK_RADIUS_PX) -> float:
    """Search radius for a click: :data:`MIN_REACH_TOLERANCE_M`, or ``pixels`` on screen if more."""
    if zoom is None:
        return MIN_REACH_TOLERANCE_M
    return max(MIN_REACH_TOLERANCE_M, pixels * metres_per_pixel(lat, zoom))


def pixel_radius_m(lat: float, zoom: int | None, *, pixels: float = CLICK_RADIUS_PX) -> float:
    """``pixels`` screen pixels as metres on the ground (30 m when the zoom is unknown)."""
    if zoom is None:
        return 30.0
    return pixels * metres_per_pixel(lat, zoom)


def snap_to_point(points: gpd.GeoDataFrame, lat: float, lon: float, *, radius_m: float) -> Any:
    """Id (``id`` column) of the point of ``points`` nearest to (lat, lon) within ``radius_m``
    metres, else None. Distances on a local equirectangular plane (fine below a few km).

    ``points``: EPSG:4326 points with an ``id`` column.
    """
    if points is None or not len(points):
        return None
    xy = np.array([(g.x, g.y) if g is not None and not g.is_empty else (np.nan, np.nan) for g in points.geometry])
    k = math.cos(math.radians(lat))
    dx = (xy[:, 0] - lon) * 111_320.0 * k
    dy = (xy[:, 1] - lat) * 110_574.0
    d = np.hypot(dx, dy)
    if not np.isfinite(d).any():
        return None
    i = int(np.nanargmin(d))
    if d[i] > radius_m:
        return None
    value = points["id"].iloc[i]
    return value.item() if hasattr(value, "item") else value


def snap_click(click: Selection, incidents: gpd.GeoDataFrame) -> Selection:
    """A click that came back as coordinates only (``point``) on an incident marker, when one is
    within :data:`CLICK_RADIUS_PX` pixels; any other click unchanged."""
    if click.kind != "point":
        return click
    hit = snap_to_point(incidents, click.lat, click.lon, radius_m=pixel_radius_m(click.lat, click.zoom))
    return click if hit is None else Selection("incident", hit, click.lat, click.lon, click.zoom)


def snap_into_grid(selection: Selection, grids: gpd.GeoDataFrame) -> Selection:
    """A click on a grid moved onto that grid when it fell just outside it.

    A grid's outline is clickable a few pixels outside its boundary (the stroke, and the display
    geometry is simplified by a few metres), so the clicked point may lie outside the true
    polygon, which would make the chain report a blind spot for a grid the user clicked. Such a
    point is moved to the nearest point of the grid (1 cm inside). Other clicks are unchanged.

    ``grids``: EPSG:4326 polygons with an ``id`` column.
    """
    if selection.kind != "grid" or grids is None or not len(grids):
        return selection
    rows = grids[grids["id"] == selection.ref_id]
    if not len(rows):
        return selection
    grid = rows.geometry.iloc[0]
    here = shapely.Point(selection.lon, selection.lat)
    if grid is None or grid.is_empty or grid.covers(here):
        return selection
    inner = grid.buffer(-1e-7)  # ~1 cm
    target = inner if not inner.is_empty else grid.representative_point()
    moved = shapely.ops.nearest_points(target, here)[0]
    return replace(selection, lat=float(moved.y), lon=float(moved.x))


# =============================================================================================
# Per-session state
# =============================================================================================


@dataclass
class Mount:
    """What the current map component was built with.

    ``center``/``zoom`` are passed to ``st_folium`` (the browser moves there when they change);
    ``basemap`` and ``overlays`` go into the map's script; ``data_key`` names the data.
    """

    data_key: tuple
    basemap: str
    overlays: dict[str, bool] | None
    center: tuple[float, float] | None
    zoom: int | None


@dataclass
class HomeMapState:
    """The user's map: what the browser last reported, what the component was built with, the
    last handled click and what the chain panel shows."""

    center: tuple[float, float] | None = None
    zoom: int | None = None
    basemap: str | None = None
    overlays: dict[str, bool] | None = None
    mount: Mount | None = None
    handled: ClickToken | None = None
    selection: Selection | None = None

    def remount(self, data_key: tuple, *, basemap: str) -> Mount:
        """Start a new component from the user's latest view, base map and overlays."""
        self.mount = Mount(
            data_key=data_key,
            basemap=basemap,
            overlays=dict(self.overlays) if self.overlays else None,
            center=self.center,
            zoom=self.zoom,
        )
        self.handled = None
        return self.mount

    def absorb(
        self,
        output: MapOutput,
        *,
        overlay_keys: Iterable[str],
        incidents: gpd.GeoDataFrame | None = None,
        grids: gpd.GeoDataFrame | None = None,
    ) -> Selection | None:
        """Record the browser's view, base map and overlays; select and return a new click, if any.

        ``incidents`` (points with ``id``): a coordinates-only click near one selects it
        (:func:`snap_click`); ``grids`` (polygons with ``id``): a grid click just outside its grid
        is moved into it (:func:`snap_into_grid`).
        """
        if output.center is not None:
            self.center = output.center
        if output.zoom is not None:
            self.zoom = output.zoom
        if output.basemap is not None:
            self.basemap = output.basemap
        if output.overlays is not None:
            self.overlays = {k: k in output.overlays for k in overlay_keys}
        click = click_since(output, self.handled)
        self.handled = output.token
        if click is None:
            return None
        if incidents is not None:
            click = snap_click(click, incidents)
        if grids is not None:
            click = snap_into_grid(click, grids)
        self.selection = click
        return click

    def select_incident(self, incident_id: Any, incidents: gpd.GeoDataFrame, *, zoom: int = 15) -> None:
        """Show incident ``incident_id`` (a row of ``incidents``) in the panel and move the map there."""
        rows = incidents[incidents["id"] == incident_id]
        if not len(rows):
            return
        pt = rows.geometry.iloc[0]
        self.selection = Selection("incident", incident_id, pt.y, pt.x, self.zoom)
        self.move_to(pt.y, pt.x, zoom=zoom)

    def move_to(self, lat: float, lon: float, *, zoom: int) -> None:
        """Ask the mounted map to show (lat, lon) at ``zoom`` (at least the current zoom)."""
        if self.mount is None:
            return
        zoom = max(zoom, self.zoom or 0)
        old = self.mount.center
        if old is not None and abs(old[0] - lat) < 1e-9 and abs(old[1] - lon) < 1e-9:
            lat += 1e-7  # same request as last time: the component would see no change
        self.mount.center, self.mount.zoom = (lat, lon), zoom


def map_state() -> HomeMapState:
    """This session's :class:`HomeMapState` (created on first use)."""
    if STATE_KEY not in st.session_state:
        st.session_state[STATE_KEY] = HomeMapState()
    return st.session_state[STATE_KEY]


# =============================================================================================
# Cached data
# =============================================================================================

LAYER_TABLES: dict[str, tuple[str, ...]] = {
    "grids": ("grids", "grid_roles", "persons"),
    "reaches": ("reaches", "rivers"),
    "gaps": ("reaches", "grids"),
    "tracks": ("patrol_tracks", "persons", "grids"),
    "objects": ("supervised_objects", "grids"),
    "incidents": ("incidents", "grids"),
}
"""Tables whose changes each layer depends on (audit ``table_name`` values)."""


@st.cache_data(show_spinner=False, max_entries=16)
def table_versions(version: int) -> dict[str, int]:
    """Newest audit entry id per table as of the global ``version`` (see ``ui.state.data_version``)."""

    with get_store().session() as s:
        return latest_entry_ids(s)


def layer_key(versions: Mapping[str, int], layer: str) -> tuple[int, ...]:
    """The versions of the tables ``layer`` depends on (:data:`LAYER_TABLES`)."""
    return tuple(versions.get(t, 0) for t in LAYER_TABLES[layer])


@dataclass(frozen=True)
class CoverageSummary:
    """The coverage part of the 盲区检查 at village level: rate and the drawn findings."""

    rate: float | None
    total_length_m: float
    uncovered_length_m: float
    uncovered_count: int
    findings: gpd.GeoDataFrame | None = field(default=None, compare=False)
    note: str = ""


@st.cache_resource(show_spinner="正在计算网格覆盖率…", max_entries=4)
def coverage_summary(key: tuple[int, ...], tiles: bool = False) -> CoverageSummary:
    """Village-level coverage of the reaches (横向到边), for the KPI and the gap layer.

    ``key``: :func:`layer_key` of ``gaps`` (reaches and grids versions). ``tiles``: the map draws
    the reaches from tiles (too many to check on every visit): not computed here, the KPI points
    to the 盲区检查 page.
    """
    if tiles:
        return CoverageSummary(None, 0.0, 0.0, 0, None, "河段较多，覆盖率请在“盲区检查”页面计算")
    with get_store().session() as s:
        reaches, grids = store_layers(s)
    if reaches.empty:
        return CoverageSummary(None, 0.0, 0.0, 0, None, "还没有河段")
    try:
        report = check_layers(reaches, grids, level="village")
    except RiverGridError as exc:
        return CoverageSummary(None, 0.0, 0.0, 0, None, exc.message_zh)
    s = report.summary()
    findings = report.findings()
    findings = findings[findings["kind"] == "coverage"].reset_index(drop=True)
    return CoverageSummary(
        float(s["coverage_rate"]),
        float(s["total_length_m"]),
        float(s["uncovered_length_m"]),
        int(s["uncovered_count"]),
        findings,
    )


@st.cache_resource(show_spinner=False, max_entries=4)
def responsibility_index(version: int, reaches: bool = True):  # type: ignore[no-untyped-def]
    """The :class:`gis.grids.chain.ResponsibilityIndex` of the store as of ``version``
    (None when no grid is drawn); ``reaches=False``: without the reaches (see :func:`index_near`)."""

    with get_store().session() as s:
        try:
            return ResponsibilityIndex.from_session(s, reaches=reaches)
        except RiverGridError:
            return None


@st.cache_resource(show_spinner=False, max_entries=8)
def river_tiles_info(version: int) -> TileSetInfo | None:
    """The ``rivers`` tile set when the store holds more reaches than
    ``RIVERGRID_MAP_TILES_REACHES`` (the home map then draws them from tiles), else None."""
    store = get_store()
    if reach_count(store) <= settings().map_tiles_reaches:
        return None
    return river_tiles(store).info()


def index_near(version: int, lon: float, lat: float, radius_m: float):  # type: ignore[no-untyped-def]
    """The chain index for a click at (lon, lat): the cached one, or, when the map draws the
    reaches from tiles, the cached one without reaches plus the reaches within ``radius_m``
    metres (a point query: the index of every reach is never built)."""
    if river_tiles_info(version) is None:
        return responsibility_index(version)
    index = responsibility_index(version, reaches=False)
    if index is None:
        return None
    store = get_store()
    ids = reach_ids_near(store, lon, lat, radius_m)
    with store.session() as s:
        return index.with_reaches(**reach_frames(s, ids))


TILE_REACH_LINES_KEY = "home_tile_reach_lines"
"""Where the page keeps the heading lines of reaches found by a click on a map drawn from tiles."""


def reach_at_click(version: int, click: Selection) -> Selection:
    """A click on the map background or a grid turned into a click on the reach within
    :data:`CLICK_RADIUS_PX` pixels of it, when the map draws the reaches from tiles (there the
    lines take no clicks: with packed lines the line on top would have caught it); any other
    click unchanged. The reach's heading lines (name, river) are kept in
    ``st.session_state[TILE_REACH_LINES_KEY]`` for the panel."""
    if click.kind not in ("point", "grid") or river_tiles_info(version) is None:
        return click
    radius = pixel_radius_m(click.lat, click.zoom)
    index = index_near(version, click.lon, click.lat, radius)
    hit = index.lookup(click.lon, click.lat, tolerance_m=radius).reach if index is not None else None
    if hit is None:
        return click
    lines = st.session_state.setdefault(TILE_REACH_LINES_KEY, {})
    lines[hit.id] = [hit.name, f"所属河流：{hit.river}" if hit.river else ""]
    return Selection("reach", hit.id, click.lat, click.lon, click.zoom)


def panel_info(layers: HomeLayers) -> dict[str, dict[Any, list[str]]]:
    """``layers.info`` plus the heading lines of reaches found through :func:`reach_at_click`."""
    extra = st.session_state.get(TILE_REACH_LINES_KEY) or {}
    if not extra:
        return layers.info
    return {**layers.info, "reach": {**layers.info.get("reach", {}), **extra}}


@st.cache_data(show_spinner="正在读取地图数据…", max_entries=4)
def home_map_data(version: int, scope: tuple[int, ...] | None) -> MapData:
    """:func:`ui.state.visible_map_data`, but without the reaches when the map draws them from
    tiles (:func:`river_tiles_info`)."""
    if river_tiles_info(version) is None:
        return visible_map_data(version, scope)  # type: ignore[no-any-return]
    with get_store().session() as s:
        data = load_map_data(s, with_reaches=False)
    return data if scope is None else limit_map_data(data, Scope(frozenset(scope)))


@st.cache_data(show_spinner=False, max_entries=64, ttl=300)
def incident_card(version: int, incident_id: int):  # type: ignore[no-untyped-def]
    """:func:`gis.incidents.card.load_incident_card` as of ``version`` (overdue judged within 5 min)."""

    with get_store().session() as s:
        return load_incident_card(s, incident_id)


@st.cache_data(show_spinner=False, max_entries=4, ttl=300)
def cached_kpis(version: int, day: date, scope: tuple[int, ...] | None = None) -> dict[str, Any]:
    """``overview_kpis`` of the map data as of ``version`` that ``scope`` may see (recomputed at
    most every 5 minutes, so that overdue counts and the month move on); the monthly figures are
    those of the latest month with records (:func:`gis.overview.overview_kpis`)."""

    totals = reach_totals(get_store()) if river_tiles_info(version) is not None else None
    return overview_kpis(home_map_data(version, scope), reach_totals=totals)


# =============================================================================================
# The layers of the map
# =============================================================================================

MAP_WIDTH_PX = 1060
MAP_HEIGHT_PX = 600
"""Size of the map on the page (for the default view), in pixels: the whole width of the main
area beside the navigation in a 1,400-pixel window (see :mod:`ui.dashboard`)."""


@dataclass(frozen=True)
class HomeLayers:
    """Everything the page needs to draw the map, built once per data version.

    Attributes
    ----------
    overlays
        :class:`layers.home_map.Overlay` list, bottom to top.
    key
        Identifies the data drawn (changes when any layer's tables change, or the day).
    center, zoom
        Default view: the township and village grids (else everything) fill the map.
    bounds
        ``(minx, miny, maxx, maxy)`` of that view, decimal degrees (None without data).
    legend
        Legend HTML.
    info
        Per feature kind, id → tooltip lines (plain text) for the panel's heading.
    incidents
        Incident points (``id``, ``code``, ``title``, ``status``; EPSG:4326) for snapping and
        the picker.
    grids
        Grid polygons (``id``; EPSG:4326, not simplified) for :func:`snap_into_grid`.
    river_tiles
        The ``rivers`` tile set when the reaches are drawn from tiles (then the reach overlay is
        empty and the info holds no reach).
    """

    overlays: list
    key: tuple
    center: tuple[float, float]
    zoom: int
    bounds: tuple[float, float, float, float] | None
    legend: str
    info: dict[str, dict[Any, list[str]]]
    incidents: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    river_tiles: TileSetInfo | None = None


@st.cache_resource(show_spinner=False, max_entries=24)
def _packed(name: str, key: tuple, _build):  # type: ignore[no-untyped-def]
    """One layer, packed once per ``key`` (``_build`` is not part of the cache key)."""
    return _build()


@st.cache_resource(show_spinner="正在准备地图…", max_entries=4)
def home_layers(key: tuple, _version: int) -> HomeLayers:
    """The map's layers for ``key`` (from :func:`home_key`); ``_version`` loads the data."""

    versions = table_versions(_version)
    gk, scope, today = layer_key(versions, "grids"), key[-2], key[-1]
    tiles = river_tiles_info(_version)
    data = home_map_data(_version, scope)
    coverage = coverage_summary(layer_key(versions, "gaps"), tiles is not None)

    def grid_overlay(level: GridLevel) -> Overlay:
        layer = _packed(
            f"grids-{level.value}",
            gk,
            lambda: grid_layer_data(data.grids, level=level, labels=level is GridLevel.VILLAGE),
        )
        return Overlay(level.value, level.label, layer, show=level is not GridLevel.COUNTY)

    findings = (
        coverage.findings
        if coverage.findings is not None
        else gpd.GeoDataFrame({"kind": [], "rule": [], "message": []}, geometry=[], crs="EPSG:4326")
    )
    overlays = [grid_overlay(level) for level in GridLevel] + [
        Overlay(
            "reaches",
            "河段",
            _packed(
                "reaches", (*layer_key(versions, "reaches"), tiles is None), lambda: reach_layer_data(data.reaches)
            ),
        ),
        Overlay(
            "gaps",
            "覆盖盲区（盲区检查）",
            _packed("gaps", layer_key(versions, "gaps"), lambda: gap_layer_data(findings)),
        ),
        Overlay(
            "tracks",
            "巡河轨迹（近90天）",
            _packed(
                "tracks",
                (*layer_key(versions, "tracks"), scope, today),
                lambda: track_layer_data(recent_tracks(data.tracks)),
            ),
        ),
        Overlay(
            "objects",
            "重点监管对象",
            _packed("objects", layer_key(versions, "objects"), lambda: object_layer_data(data.objects)),
        ),
        Overlay(
            "incidents",
            "事件",
            _packed(
                "incidents", (*layer_key(versions, "incidents"), scope), lambda: incident_layer_data(data.incidents)
            ),
        ),
    ]
    grids = data.grids
    local = grids[grids["level"] != GridLevel.COUNTY.value] if len(grids) else grids
    frame = local if len(local) else (grids if len(grids) else data.reaches)
    bounds = None
    if len(frame):
        bounds = tuple(float(v) for v in frame.total_bounds)
    elif tiles is not None:
        bounds = tiles.bounds
    if bounds is not None:
        center, zoom = view_for_bounds(bounds, width_px=MAP_WIDTH_PX, height_px=MAP_HEIGHT_PX)
    else:
        center, zoom = DEFAULT_CENTER, DEFAULT_ZOOM
    categories = sorted({str(c) for c in data.objects["category"]}) if len(data.objects) else []
    legend = legend_html(
        categories=categories,
        gaps=any(o.key == "gaps" and o.layer.n_features for o in overlays),
        tracks=any(o.key == "tracks" and o.layer.n_features for o in overlays),
    )
    info: dict[str, dict[Any, list[str]]] = {}
    for o in overlays:
        info.setdefault(o.layer.kind, {}).update({k: list(v) for k, v in o.layer.info.items()})
    incidents = (
        data.incidents[["id", "code", "title", "status", "geometry"]].copy()
        if len(data.incidents)
        else gpd.GeoDataFrame({"id": [], "code": [], "title": [], "status": []}, geometry=[], crs="EPSG:4326")
    )
    return HomeLayers(
        overlays=overlays,
        key=key,
        center=(float(center[0]), float(center[1])),
        zoom=int(zoom),
        bounds=bounds,
        legend=legend,
        info=info,
        incidents=incidents,
        grids=data.grids[["id", "geometry"]].copy(),
        river_tiles=tiles,
    )


def home_key(version: int, day: date, scope: tuple[int, ...] | None = None) -> tuple:
    """Cache key of :func:`home_layers`: every layer's table versions, the grids the viewer may
    see (:func:`ui.state.scope_key`) and the day (recent tracks)."""
    versions = table_versions(version)
    return (*(layer_key(versions, name) for name in LAYER_TABLES), scope, day)


__all__ = [
    "MAP_KEY",
    "PICK_KEY",
    "RETURNED_OBJECTS",
    "ClickToken",
    "CoverageSummary",
    "HomeLayers",
    "HomeMapState",
    "MapOutput",
    "Mount",
    "Selection",
    "cached_kpis",
    "click_since",
    "click_tolerance_m",
    "coverage_summary",
    "home_key",
    "home_layers",
    "home_map_data",
    "index_near",
    "panel_info",
    "reach_at_click",
    "river_tiles_info",
    "incident_card",
    "layer_key",
    "map_state",
    "metres_per_pixel",
    "parse_output",
    "pixel_radius_m",
    "responsibility_index",
    "snap_click",
    "snap_into_grid",
    "snap_to_point",
    "table_versions",
]

"""Map of the page 巡河管理: reaches coloured patrolled / never patrolled for a period, the
period's tracks (click one for its summary) and the playback marker of one patrol.

Built on the packed layers and the click bridge of :mod:`layers.home_map` (the map itself is
:func:`layers.home_map.home_map`), so it looks and behaves like 河湖一张图. Clicks come back as
``rg:reach:<id>`` (a stretch: its reach) and ``rg:track:<id>``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import folium
import geopandas as gpd
import numpy as np

from gis.formatting import local_time
from layers._common import Style, esc, text
from layers.assets import localize
from layers.home_map import Overlay, legend_item, legend_row, legend_swatch, require_columns
from layers.packed import PackedLayer, pack_layer
from layers.patrol import TRACK_BASE_STYLE, format_length, track_style

COVERAGE_STYLES: dict[str, Style] = {
    "patrolled": {"color": "#66bb6a", "weight": 7, "opacity": 0.75, "lineCap": "butt"},
    "never": {"color": "#e53935", "weight": 7, "opacity": 0.6, "lineCap": "butt"},
}
"""Stretches patrolled at least once in the period (light green) and never patrolled (red); wide
and pale so that the tracks (dark dashed lines) stay visible on top."""

COVERAGE_LABELS = {"patrolled": "本期已巡查", "never": "本期未巡查"}

UNCOUNTED_TRACK_STYLE: Style = {"color": "#ef6c00"}
"""Tracks that do not count (too short, or a fake-patrol flag to review), over the base style."""

PLAYBACK_STYLE: Style = {"color": "#6a1b9a", "weight": 5, "opacity": 0.9}


def coverage_layer_data(stretches: gpd.GeoDataFrame) -> PackedLayer:
    """Stretches of :func:`gis.patrol.service.coverage_frame` coloured by ``status``; the tooltip
    names the reach, the 桩号 and the reach's share patrolled; a click selects the reach."""
    require_columns(stretches, ("reach_id", "reach", "status", "stations", "length_m", "share"), "河段巡查覆盖")
    styles, tips = [], []
    for row in stretches.itertuples(index=False):
        styles.append(dict(COVERAGE_STYLES.get(row.status, COVERAGE_STYLES["never"])))
        share = "" if row.share is None or not np.isfinite(row.share) else f"本期全河段覆盖率 {row.share:.0%}"
        what = f"{COVERAGE_LABELS.get(row.status, '')}：{row.stations}（{format_length(row.length_m)}）"
        tips.append([text(row.reach), what, share])
    return pack_layer(
        "reach",
        stretches.geometry,
        geometry="line",
        ids=list(stretches["reach_id"]),
        styles=styles,
        tooltips=tips,
        hover_weight=2,
    )


def track_layer_data(tracks: gpd.GeoDataFrame, *, uncounted: Collection[int] = ()) -> PackedLayer:
    """The period's tracks, dashed green; those in ``uncounted`` (ids) orange.

    ``tracks``: columns ``id, person_name, started_at, ended_at, length_m`` and lines
    (:func:`gis.patrol.service.track_frame`).
    """
    require_columns(tracks, ("id", "person_name", "started_at", "ended_at", "length_m"), "巡河轨迹")
    base = {**TRACK_BASE_STYLE, **track_style({}), "color": "#1b5e20", "weight": 3}
    styles, tips = [], []
    for row in tracks.itertuples(index=False):
        bad = row.id in uncounted
        styles.append({**base, **UNCOUNTED_TRACK_STYLE} if bad else dict(base))
        period = " — ".join(t for t in (local_time(row.started_at), local_time(row.ended_at)) if t)
        tips.append(
            [
                f"巡河轨迹：{text(row.person_name)}",
                period,
                format_length(row.length_m),
                "不计入考核（点击查看原因）" if bad else "点击查看摘要",
            ]
        )
    return pack_layer(
        "track", tracks.geometry, geometry="line", ids=list(tracks["id"]), styles=styles, tooltips=tips, hover_weight=3
    )


def patrol_overlays(
    stretches: gpd.GeoDataFrame, tracks: gpd.GeoDataFrame, *, uncounted: Collection[int] = ()
) -> list[Overlay]:
    """Overlays of the 巡河管理 map, bottom to top: coverage, tracks."""
    return [
        Overlay("coverage", "河段巡查覆盖", coverage_layer_data(stretches)),
        Overlay("tracks", "巡河轨迹", track_layer_data(tracks, uncounted=uncounted)),
    ]


def patrol_legend_html() -> str:
    """Legend of the 巡河管理 map (no user text)."""
    items = [
        legend_item(legend_swatch("line", COVERAGE_STYLES["patrolled"]), COVERAGE_LABELS["patrolled"]),
        legend_item(legend_swatch("line", COVERAGE_STYLES["never"]), COVERAGE_LABELS["never"]),
        legend_item(legend_swatch("line", {**TRACK_BASE_STYLE, "color": "#1b5e20"}), "巡河轨迹"),
        legend_item(legend_swatch("line", {**TRACK_BASE_STYLE, **UNCOUNTED_TRACK_STYLE}), "不计入考核的轨迹"),
        legend_item(legend_swatch("dot", PLAYBACK_STYLE), "回放位置"),
    ]
    return "<details open><summary>图例</summary>" + legend_row("", items) + "</details>"


def playback_group(path: Sequence[tuple[float, float]], *, label: str, name: str = "轨迹回放") -> folium.FeatureGroup:
    """The part of a patrol walked so far and a dot where the patroller is.

    Parameters
    ----------
    path
        (lon, lat) in decimal degrees from the start to the current position (its last item).
    label
        Tooltip of the dot (user text: escaped here).

    Meant for ``st_folium(feature_group_to_add=...)``: the map is not reloaded when it changes.
    """
    fg = folium.FeatureGroup(name=name, control=False)
    if not path:
        return localize(fg)
    latlon = [(float(lat), float(lon)) for lon, lat in path]
    if len(latlon) >= 2:
        folium.PolyLine(latlon, **PLAYBACK_STYLE).add_to(fg)
    folium.CircleMarker(
        latlon[-1],
        radius=8,
        color="#ffffff",
        weight=2,
        fill=True,
        fill_opacity=1.0,
        fill_color=PLAYBACK_STYLE["color"],
        tooltip=folium.Tooltip(esc(label)),
    ).add_to(fg)
    return localize(fg)


__all__ = [
    "COVERAGE_STYLES",
    "coverage_layer_data",
    "patrol_legend_html",
    "patrol_overlays",
    "playback_group",
    "track_layer_data",
]

"""Deterministic synthetic river reaches and grid polygons for coverage tests and benchmarks.

``make_case(size, seed=...)`` returns ``(reaches_gdf, grids_gdf)`` in EPSG:4551 (CGCS2000 3°
Gauss-Krüger, CM 126°E; metres), both with an ``int`` ``id`` column:

* grids: Voronoi cells of (once Lloyd-relaxed) random seeds clipped to a square extent centred
  on (500000, 4600000), about 10 km² each, segmentized to 20 m vertex spacing like digitised
  boundaries; 5% of the cells are dropped (gaps) and ``overlap_frac`` of the rest are grown by
  ``overlap_m`` (double-claimed strips along their neighbours). Because every cell is
  segmentized on its own, a shared edge carries different interpolated vertices on its two
  sides (nanometre slivers), as real data does.
* reaches: correlated random walks (50–200 m steps, 2–6 km long) kept inside the extent;
  about 10% are MultiLineStrings of two parts with a gap between them.

| size       | reaches | grids | extent   |
|------------|---------|-------|----------|
| `small`    | 200     | 20    | ~14.5 km |
| `county`   | 2,000   | 200   | ~46 km   |
| `province` | 20,000  | 2,000 | ~145 km  |
| `province5`| 100,000 | 10,000| ~325 km  |
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString

__all__ = ["CRS", "SIZES", "make_case", "make_reaches"]

CRS = "EPSG:4551"
CENTRE = (500_000.0, 4_600_000.0)
CELL_AREA_M2 = 10e6
SEGMENT_M = 20.0
GAP_FRAC = 0.05
MULTI_FRAC = 0.10

# size -> (reaches, grids kept after dropping the gap cells)
SIZES: dict[str, tuple[int, int]] = {
    "small": (200, 20),
    "county": (2_000, 200),
    "province": (20_000, 2_000),
    "province5": (100_000, 10_000),
}


def make_case(
    size: str,
    *,
    seed: int = 0,
    overlap_frac: float = 0.05,
    overlap_m: float = 25.0,
    grid_density: int = 1,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Reaches and grids of the named ``size`` (see module docstring); same seed, same data.

    ``grid_density``: that many times more, smaller grids over the same extent (10: grids of
    about 1 km², village-level; the reaches are the same)."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
    n_reaches, n_grids = SIZES[size]
    rng = np.random.default_rng([seed, list(SIZES).index(size)])
    n_cells = round(n_grids / (1 - GAP_FRAC))
    side = math.sqrt(n_cells * CELL_AREA_M2)
    if grid_density != 1:
        n_grids, n_cells = n_grids * grid_density, n_cells * grid_density
        reach_rng = np.random.default_rng([seed, list(SIZES).index(size), 1])
        x0, y0 = CENTRE[0] - side / 2, CENTRE[1] - side / 2
        bounds = (x0, y0, x0 + side, y0 + side)
        return _reaches(reach_rng, n_reaches, bounds), _grids(rng, n_cells, n_grids, bounds, overlap_frac, overlap_m)
    x0, y0 = CENTRE[0] - side / 2, CENTRE[1] - side / 2
    x1, y1 = x0 + side, y0 + side
    grids = _grids(rng, n_cells, n_grids, (x0, y0, x1, y1), overlap_frac, overlap_m)
    reaches = _reaches(rng, n_reaches, (x0, y0, x1, y1))
    return reaches, grids


def make_reaches(n: int, *, seed: int = 0) -> gpd.GeoDataFrame:
    """``n`` reaches as in :func:`make_case` (same density as its sizes: one per ~1 km²), in a
    square extent centred like them; EPSG:4551, ``int`` ``id`` column. Same seed, same data."""
    rng = np.random.default_rng([seed, n])
    side = math.sqrt(n * CELL_AREA_M2 / 10.0 / (1 - GAP_FRAC))
    x0, y0 = CENTRE[0] - side / 2, CENTRE[1] - side / 2
    return _reaches(rng, n, (x0, y0, x0 + side, y0 + side))


def _grids(
    rng: np.random.Generator,
    n_cells: int,
    n_keep: int,
    bounds: tuple[float, float, float, float],
    overlap_frac: float,
    overlap_m: float,
) -> gpd.GeoDataFrame:
    x0, y0, x1, y1 = bounds
    box = shapely.box(x0, y0, x1, y1)
    seeds = np.column_stack([rng.uniform(x0, x1, n_cells), rng.uniform(y0, y1, n_cells)])
    # One Lloyd step: the seeds move to their cells' centroids, so cells are more even in size.
    cells = _voronoi(seeds, box)
    seeds = shapely.get_coordinates(shapely.centroid(cells))
    cells = _voronoi(seeds, box)

    ids = np.arange(1, n_cells + 1)
    keep = np.sort(rng.choice(n_cells, size=n_keep, replace=False))
    cells, ids = cells[keep], ids[keep]
    n_grow = round(overlap_frac * n_keep)
    if n_grow:
        grow = rng.choice(n_keep, size=n_grow, replace=False)
        grown = shapely.buffer(cells[grow], overlap_m, join_style="mitre", mitre_limit=3.0)
        cells[grow] = shapely.intersection(grown, box)
    cells = shapely.segmentize(cells, SEGMENT_M)
    return gpd.GeoDataFrame({"id": ids.astype("int64")}, geometry=cells, crs=CRS)


def _voronoi(seeds: np.ndarray, box: shapely.Polygon) -> np.ndarray:
    """Voronoi cells of ``seeds`` (in seed order), clipped to ``box``."""
    diagram = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=box, ordered=True)
    cells = shapely.intersection(np.asarray(shapely.get_parts(diagram)), box)
    return np.asarray(cells)


def _reaches(rng: np.random.Generator, n: int, bounds: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    geoms = []
    for _ in range(n):
        length = rng.uniform(2_000.0, 6_000.0)
        if rng.random() < MULTI_FRAC:
            first = rng.uniform(0.3, 0.7) * length
            start = rng.uniform(bounds[:2], bounds[2:])
            heading = rng.uniform(0.0, 2 * math.pi)
            a, heading = _walk(rng, start, heading, first, bounds)
            jump = rng.uniform(100.0, 500.0)
            start = _inside(a[-1] + jump * np.array([math.cos(heading), math.sin(heading)]), bounds)
            b, _ = _walk(rng, start, heading, length - first, bounds)
            geoms.append(MultiLineString([a, b]))
        else:
            start = rng.uniform(bounds[:2], bounds[2:])
            coords, _ = _walk(rng, start, rng.uniform(0.0, 2 * math.pi), length, bounds)
            geoms.append(LineString(coords))
    ids = np.arange(1, n + 1, dtype="int64")
    return gpd.GeoDataFrame({"id": ids}, geometry=geoms, crs=CRS)


def _walk(
    rng: np.random.Generator,
    start: np.ndarray,
    heading: float,
    length: float,
    bounds: tuple[float, float, float, float],
) -> tuple[np.ndarray, float]:
    """A meandering walk of about ``length`` metres from ``start``, reflected at the extent."""
    x0, y0, x1, y1 = bounds
    pts = [np.asarray(start, dtype=float)]
    walked = 0.0
    while walked < length:
        step = min(rng.uniform(50.0, 200.0), max(length - walked, 10.0))
        heading += rng.normal(0.0, 0.3)
        dx, dy = step * math.cos(heading), step * math.sin(heading)
        x, y = pts[-1]
        if not x0 <= x + dx <= x1:
            dx = -dx
            heading = math.pi - heading
        if not y0 <= y + dy <= y1:
            dy = -dy
            heading = -heading
        pts.append(_inside(np.array([x + dx, y + dy]), bounds))
        walked += step
    return np.round(np.array(pts), 3), heading


def _inside(p: np.ndarray, bounds: tuple[float, float, float, float]) -> np.ndarray:
    return np.clip(p, bounds[:2], bounds[2:])

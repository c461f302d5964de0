"""Benchmark of the responsibility lookup (:class:`gis.grids.chain.ResponsibilityIndex`).

Generates a county of ``--townships`` township grids (Voronoi cells of the county's square) each
split into village grids (Voronoi cells clipped to their township, so villages nest exactly):
``--villages`` villages in all, about 1 km² each, boundaries segmentized to 20 m like digitised
data, in WGS84 lon/lat near Linjiang. Adds ``--reaches`` meandering reaches, one 主要责任人 per
grid, a 乡级监管责任人 per village, a river chief per reach and a leading group office per
township. Then:

1. builds the index from the frames (``build_s``, reprojection to the metric CRS included);
2. times ``--lookups`` random lookups (full chain: grids, neighbours, reach, people);
3. times a naive loop (``shapely.covers`` over every grid, nothing else) on ``--naive`` of the
   points and checks that both find the same grids.

Prints progress lines, then as its last line one JSON object
``{"grids", "lookups", "build_s", "ms_per_lookup", "naive_ms_per_lookup", "ratio"}``
(``ratio`` = naive / index time per lookup). Exits with status 1 when a lookup takes 5 ms or
more on average (the target of issue 4) or when the index and the naive loop disagree.

Run: ``python bench/lookup.py`` (about 10 s).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gis.grids.chain import ResponsibilityIndex
from gis.model import STORE_CRS, GridRole, ReachChiefLevel

METRIC_CRS = "EPSG:4551"
"""CGCS2000 / 3-degree Gauss-Krüger CM 126E, where the data is generated (metres)."""
CENTRE = (520_000.0, 4_630_000.0)
"""Near Linjiang (about lon 126.24, lat 41.8)."""
VILLAGE_AREA_M2 = 1e6
SEGMENT_M = 20.0
TARGET_MS = 5.0


def _voronoi(seeds: np.ndarray, extent: shapely.Geometry) -> np.ndarray:
    """Voronoi cells of ``seeds`` (in seed order), clipped to ``extent``."""
    diagram = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=extent, ordered=True)
    return np.asarray(shapely.intersection(np.asarray(shapely.get_parts(diagram)), extent))


def _seeds_in(rng: np.random.Generator, polygon: shapely.Geometry, n: int) -> np.ndarray:
    """``n`` uniform random points inside ``polygon`` (rejection sampling in its bounds)."""
    x0, y0, x1, y1 = polygon.bounds
    shapely.prepare(polygon)
    out = np.empty((0, 2))
    while len(out) < n:
        cand = np.column_stack([rng.uniform(x0, x1, 4 * n), rng.uniform(y0, y1, 4 * n)])
        out = np.vstack([out, cand[shapely.contains_xy(polygon, cand[:, 0], cand[:, 1])]])
    return out[:n]


def _relaxed(rng: np.random.Generator, extent: shapely.Geometry, n: int) -> np.ndarray:
    """Voronoi cells of ``n`` random seeds in ``extent`` after one Lloyd step (more even sizes)."""
    seeds = _seeds_in(rng, extent, n)
    if n < 2:
        return np.asarray([extent])
    cells = _voronoi(seeds, extent)
    return _voronoi(shapely.get_coordinates(shapely.centroid(cells)), extent)


def make_grids(rng: np.random.Generator, n_villages: int, n_townships: int) -> gpd.GeoDataFrame:
    """County → townships → villages, nested, in EPSG:4326."""
    side = math.sqrt(n_villages * VILLAGE_AREA_M2)
    county = shapely.box(CENTRE[0] - side / 2, CENTRE[1] - side / 2, CENTRE[0] + side / 2, CENTRE[1] + side / 2)
    townships = _relaxed(rng, county, n_townships)
    counts = np.full(n_townships, n_villages // n_townships)
    counts[: n_villages % n_townships] += 1
    rows = [{"id": 1, "name": "测试县", "level": "county", "parent_id": None, "geometry": county}]
    next_id = 2 + n_townships
    for t, (cell, n) in enumerate(zip(townships, counts)):
        tid = 2 + t
        rows.append({"id": tid, "name": f"乡{t + 1:03d}", "level": "township", "parent_id": 1, "geometry": cell})
        for v, village in enumerate(_relaxed(rng, cell, int(n))):
            rows.append(
                {
                    "id": next_id,
                    "name": f"乡{t + 1:03d}村{v + 1:03d}",
                    "level": "village",
                    "parent_id": tid,
                    "geometry": village,
                }
            )
            next_id += 1
    frame = pd.DataFrame(rows)
    geoms = shapely.segmentize(np.asarray(frame.pop("geometry")), SEGMENT_M)
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=METRIC_CRS).to_crs(STORE_CRS)


def make_reaches(rng: np.random.Generator, n: int, bounds: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    """``n`` meandering reaches (50–200 m steps, 2–6 km long) inside ``bounds``, in EPSG:4326."""
    x0, y0, x1, y1 = bounds
    lines = []
    for _ in range(n):
        pts = [np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])]
        heading, length, walked = rng.uniform(0, 2 * math.pi), rng.uniform(2_000, 6_000), 0.0
        while walked < length:
            step = rng.uniform(50, 200)
            heading += rng.normal(0, 0.3)
            nxt = pts[-1] + step * np.array([math.cos(heading), math.sin(heading)])
            if not (x0 <= nxt[0] <= x1 and y0 <= nxt[1] <= y1):
                heading += math.pi
                continue
            pts.append(nxt)
            walked += step
        lines.append(LineString(pts))
    ids = np.arange(1, n + 1)
    return gpd.GeoDataFrame(
        {"id": ids, "name": [f"河段{i}" for i in ids], "river": [f"河{i}" for i in ids], "start_station_m": 0.0},
        geometry=lines,
        crs=METRIC_CRS,
    ).to_crs(STORE_CRS)


def make_people(grids: gpd.GeoDataFrame, reaches: gpd.GeoDataFrame) -> dict[str, pd.DataFrame]:
    """One 主要责任人 per grid, a 乡级监管责任人 per village, a chief per reach, an office per township."""
    person = {"title": "书记", "phone": "0439-0000000", "phone_public": False, "status": "active", "sort": 0}
    posts = [
        {"grid_id": g, "role": GridRole.MAIN_RESPONSIBLE.value, "name": f"责任人{g}", **person} for g in grids["id"]
    ]
    posts += [
        {"grid_id": g, "role": GridRole.TOWNSHIP_SUPERVISOR.value, "name": f"监管{g}", **person}
        for g in grids.loc[grids["level"] == "village", "id"]
    ]
    chiefs = [
        {"reach_id": r, "level": ReachChiefLevel.VILLAGE.value, "name": f"河长{r}", **person} for r in reaches["id"]
    ]
    offices = [
        {"body": f"乡{g}领导小组办公室", "grid_id": g, "name": f"主任{g}", **person}
        for g in grids.loc[grids["level"] == "township", "id"]
    ]
    return {"posts": pd.DataFrame(posts), "reach_chiefs": pd.DataFrame(chiefs), "offices": pd.DataFrame(offices)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--villages", type=int, default=10_000)
    parser.add_argument("--townships", type=int, default=100)
    parser.add_argument("--reaches", type=int, default=2_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--naive", type=int, default=100, help="points timed with the naive loop")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    t = time.perf_counter()
    grids = make_grids(rng, args.villages, args.townships)
    metric_bounds = tuple(grids.to_crs(METRIC_CRS).total_bounds)
    reaches = make_reaches(rng, args.reaches, metric_bounds)  # type: ignore[arg-type]
    people = make_people(grids, reaches)
    vertices = int(shapely.get_num_coordinates(np.asarray(grids.geometry.array)).sum())
    print(
        f"generated {len(grids):,} grids ({vertices:,} vertices), {len(reaches):,} reaches "
        f"in {time.perf_counter() - t:.1f} s"
    )

    t = time.perf_counter()
    index = ResponsibilityIndex.from_frames(grids, reaches, **people)
    build_s = time.perf_counter() - t
    print(f"index built in {build_s:.2f} s (metric CRS EPSG:{index.crs.to_epsg()})")

    # points: the county's lon/lat box, a little beyond it (blind spots) included
    x0, y0, x1, y1 = grids.total_bounds
    pad = 0.02 * (x1 - x0)
    lon = rng.uniform(x0 - pad, x1 + pad, args.lookups)
    lat = rng.uniform(y0 - pad, y1 + pad, args.lookups)
    index.lookup(lon[0], lat[0])  # warm-up
    t = time.perf_counter()
    chains = [index.lookup(a, b) for a, b in zip(lon, lat)]
    ms = (time.perf_counter() - t) * 1000 / args.lookups
    with_reach = sum(c.reach is not None for c in chains)
    blind = sum(c.blind_spot for c in chains)
    warned = sum(bool(c.warnings) for c in chains)
    print(
        f"{args.lookups:,} lookups: {ms:.3f} ms/lookup ({with_reach} near a reach, {blind} blind spots, "
        f"{warned} with warnings)"
    )

    geoms = list(grids.geometry.array)
    ids = grids["id"].tolist()
    n = min(args.naive, args.lookups)
    agree = True
    t = time.perf_counter()
    naive_hits = []
    for a, b in zip(lon[:n], lat[:n]):
        pt = shapely.Point(a, b)
        naive_hits.append(sorted(i for i, g in zip(ids, geoms) if shapely.covers(g, pt)))
    naive_ms = (time.perf_counter() - t) * 1000 / n
    for hits, chain in zip(naive_hits, chains[:n]):
        agree &= hits == sorted(g.id for g in chain.grids)
    ratio = naive_ms / ms
    print(
        f"naive loop over all grids ({n} points): {naive_ms:.2f} ms/lookup; index is {ratio:,.0f}× faster; "
        f"same grids: {'yes' if agree else 'NO'}"
    )
    ok = agree and ms < TARGET_MS
    print(f"target < {TARGET_MS:g} ms/lookup: {'met' if ms < TARGET_MS else 'MISSED'}")
    print(
        json.dumps(
            {
                "grids": len(grids),
                "lookups": args.lookups,
                "build_s": round(build_s, 3),
                "ms_per_lookup": round(ms, 4),
                "naive_ms_per_lookup": round(naive_ms, 3),
                "ratio": round(ratio, 1),
            }
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

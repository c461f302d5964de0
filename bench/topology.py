"""Benchmark of the grid topology check (:func:`gis.checks.topology.check_topology`) against
indexed shapely and PostGIS.

    python bench/topology.py [--cells 2000] [--repeat 3] [--database-url URL] [--seed 7]

The case is the one of ``tests/test_topology.py::test_two_thousand_voronoi_cells_with_one_misplaced_village``
(the test asserts its findings; this bench times it): a 40 km square township of EPSG:4551
divided into ``--cells`` Voronoi villages whose shared linework is densified to 20 m (neighbours
keep identical vertices), one village moved 30 m east (an overlap on one side, a gap on the
other), everything in longitude/latitude (EPSG:4326) as stored.

It times, median of ``--repeat`` runs, wall and CPU time (``time.process_time`` of this
process: PostGIS works in the server, so its CPU figure is about 0):

``ours``
    ``check_topology(frame)``: every rule (levels, validity, parts, slivers, overhangs, sibling
    overlaps, gaps, edge matching), areas in m².
``shapely``
    What a careful hand-written check does for the three area rules only (overlap of siblings,
    gap in the parent, outside the parent): an STRtree query of the siblings, interiors-intersect
    test, pairwise intersections; the parent minus the union of its children; each child minus
    its parent; the pieces measured after projection to EPSG:4551.
``postgis``
    The same three rules in SQL on a temporary, GiST-indexed, ANALYZEd table (loaded untimed):
    a self join with ``ST_Relate(a, b, 'T********')`` and ``ST_Intersection``, ``ST_Difference``
    of the parent and ``ST_Union`` of the children, ``ST_Difference`` of child and parent; areas
    with ``ST_Area(ST_Transform(…, 4551))``. Runs when ``--database-url``, ``DATABASE_URL``
    (PostgreSQL) or ``RIVERGRID_TEST_PG_URL`` is given; otherwise skipped.

The references do less than ours (no edge matching, no validity or level checks), so a ratio
``reference_s / ours_s`` above 1 means ours is faster although it does more. The total overlap,
gap and overhang areas of the three must agree (0.1 %, 0.01 m² near zero; every approach drops
pieces under the noise threshold of 1e-3 m², ours counts its ``sliver`` pieces back to the rule
they came from); a WARNING line is printed otherwise. Prints one line per approach, the ratio
against the strongest (fastest) reference, the load average (the machine is shared) and as its
last line one JSON object with the figures.
Nothing is asserted.

Run: ``python bench/topology.py`` (about 30 s).

Memory, tiled against single pass (issue 19)::

    python bench/topology.py --memory [--townships 200] [--villages 20] [--tile-km 25] [--max-vertices N]

builds a three-level hierarchy (``make_hierarchy``: Voronoi villages with shared linework
densified to 20 m, townships and counties the unions of their villages, 3 % of the villages
moved 30 m), caches it under ``--cache-dir`` (GeoParquet), and runs, each in a fresh process,
``check_topology`` (single pass) and ``check_topology_tiled`` (in process, one tile at a time):
peak resident memory above the memory held after loading the frame (``VmHWM`` after resetting it
through ``/proc/self/clear_refs``: GEOS allocates outside Python, so ``tracemalloc`` would miss
it), wall and CPU time, and whether the findings are identical (a digest of every field and the
WKB of every geometry). One JSON line at the end.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import affinity

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gis.checks.topology import NOISE_AREA_M2, check_topology

X0, Y0 = 500_000.0, 4_600_000.0
METRIC = "EPSG:4551"
AREA_RULES = ("overlap_siblings", "gap_in_parent", "outside_parent")
REL_TOL, ABS_TOL_M2 = 1e-3, 1e-2


def make_case(n_cells: int, seed: int) -> gpd.GeoDataFrame:
    """A township divided into ``n_cells`` villages, village 1 moved 30 m east; EPSG:4326."""
    rng = np.random.default_rng(seed)
    side = 40_000.0
    frame = shapely.box(X0, Y0, X0 + side, Y0 + side)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(rng.uniform(0, side, (n_cells, 2)) + [X0, Y0]), extend_to=frame)
    )
    lines = shapely.segmentize(shapely.union_all(shapely.boundary(shapely.intersection(cells, frame))), 20.0)
    cells = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    cells[0] = affinity.translate(cells[0], 30.0, 0.0)  # one misplaced village
    rows: list[tuple[int, str, int | None, str, Any]] = [
        (0, "森工街道", None, "township", shapely.segmentize(frame, 20.0))
    ]
    rows += [(i + 1, f"村{i + 1}", 0, "village", c) for i, c in enumerate(cells)]
    ids, names, parents, levels, geoms = zip(*rows)
    return gpd.GeoDataFrame(
        {"id": list(ids), "name": list(names), "parent_id": list(parents), "level": list(levels)},
        geometry=list(geoms),
        crs=METRIC,
    ).to_crs("EPSG:4326")


def timed(fn: Callable[[], dict[str, float]], repeat: int) -> tuple[dict[str, float], dict[str, float]]:
    """(median wall/CPU seconds and range, the areas of the last run)."""
    walls, cpus = [], []
    areas: dict[str, float] = {}
    for _ in range(max(1, repeat)):
        w, c = time.perf_counter(), time.process_time()
        areas = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return (
        {
            "wall_s": round(statistics.median(walls), 3),
            "wall_min_s": round(min(walls), 3),
            "wall_max_s": round(max(walls), 3),
            "cpu_s": round(statistics.median(cpus), 3),
        },
        areas,
    )


def ours(frame: gpd.GeoDataFrame) -> dict[str, float]:
    """Areas of the three rules; a piece under the sliver threshold is reported as ``sliver`` and
    counted back to its rule (its related grid tells which: a sibling, the parent, or none)."""
    findings = check_topology(frame)
    parent_of = dict(zip(frame["id"], frame["parent_id"]))
    parents = set(frame["parent_id"].dropna())
    out = dict.fromkeys(AREA_RULES, 0.0)
    for f in findings:
        rule = f.rule
        if rule == "sliver" and f.related_ids:
            rule = "outside_parent" if parent_of.get(f.object_id) == f.related_ids[0] else "overlap_siblings"
        elif rule == "sliver" and f.object_id in parents:
            rule = "gap_in_parent"
        if rule in out:
            out[rule] += f.area_m2 or 0.0
    return out


def indexed_shapely(frame: gpd.GeoDataFrame) -> dict[str, float]:
    geoms = frame.geometry.to_numpy()
    parent = frame["parent_id"].to_numpy()
    pos = {gid: i for i, gid in enumerate(frame["id"])}

    def area_m2(pieces: np.ndarray) -> float:
        areas = gpd.GeoSeries(shapely.get_parts(pieces), crs="EPSG:4326").to_crs(METRIC).area
        return float(areas[areas >= NOISE_AREA_M2].sum())

    child = np.flatnonzero(pd.notna(parent))
    up = np.array([pos[parent[i]] for i in child])
    left, right = shapely.STRtree(geoms[child]).query(geoms[child], predicate="intersects")
    keep = (left < right) & (up[left] == up[right])
    a, b = child[left[keep]], child[right[keep]]
    inner = shapely.relate_pattern(geoms[a], geoms[b], "T********")
    overlap = area_m2(shapely.intersection(geoms[a[inner]], geoms[b[inner]]))
    gap = area_m2(
        np.array(
            [shapely.difference(geoms[p], shapely.union_all(geoms[child[up == p]])) for p in np.unique(up)],
            dtype=object,
        )
    )
    outside = area_m2(shapely.difference(geoms[child], geoms[up]))
    return {"overlap_siblings": overlap, "gap_in_parent": gap, "outside_parent": outside}


def resolve_database_url(explicit: str | None) -> str | None:
    for url in (explicit, os.environ.get("DATABASE_URL"), os.environ.get("RIVERGRID_TEST_PG_URL")):
        if url and url.startswith("postgresql"):
            return url
    return None


_PIECES_M2 = """
    SELECT coalesce(sum(area), 0) FROM (
        SELECT ST_Area(ST_Transform((ST_Dump(piece)).geom, 4551)) AS area FROM ({}) pieces
    ) parts WHERE area >= {}"""
POSTGIS_SQL = {
    rule: _PIECES_M2.format(sql, NOISE_AREA_M2)
    for rule, sql in {
        "overlap_siblings": """
        SELECT ST_Intersection(a.geom, b.geom) AS piece
        FROM topo_grids a JOIN topo_grids b
          ON a.id < b.id AND a.parent_id = b.parent_id AND a.geom && b.geom
         AND ST_Relate(a.geom, b.geom, 'T********')""",
        "gap_in_parent": """
        SELECT ST_Difference(p.geom, c.covered) AS piece
        FROM topo_grids p
        JOIN (SELECT parent_id, ST_Union(geom) AS covered FROM topo_grids
              WHERE parent_id IS NOT NULL GROUP BY parent_id) c ON c.parent_id = p.id""",
        "outside_parent": """
        SELECT ST_Difference(c.geom, p.geom) AS piece
        FROM topo_grids c JOIN topo_grids p ON c.parent_id = p.id""",
    }.items()
}


def postgis(url: str) -> tuple[Any, Callable[[gpd.GeoDataFrame], None], Callable[[], dict[str, float]]]:
    """(engine, load(frame) untimed, run() timed) on one connection."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    conn: Any = engine.raw_connection().driver_connection  # psycopg2
    conn.autocommit = True
    cur = conn.cursor()

    def load(frame: gpd.GeoDataFrame) -> None:
        cur.execute("SET work_mem = '256MB'")
        cur.execute("DROP TABLE IF EXISTS topo_grids")
        cur.execute(
            "CREATE TEMP TABLE topo_grids (id bigint PRIMARY KEY, parent_id bigint, "
            "geom geometry(Geometry, 4326) NOT NULL)"
        )
        wkb = shapely.to_wkb(shapely.set_srid(frame.geometry.to_numpy(), 4326), hex=True, include_srid=True)
        parents = ["\\N" if pd.isna(p) else str(int(p)) for p in frame["parent_id"]]
        buf = io.StringIO("".join(f"{i}\t{p}\t{w}\n" for i, p, w in zip(frame["id"], parents, wkb)))
        cur.copy_expert("COPY topo_grids (id, parent_id, geom) FROM STDIN", buf)
        cur.execute("CREATE INDEX ON topo_grids USING gist (geom)")
        cur.execute("CREATE INDEX ON topo_grids (parent_id)")
        cur.execute("ANALYZE topo_grids")

    def run() -> dict[str, float]:
        out = {}
        for rule, sql in POSTGIS_SQL.items():
            cur.execute(sql)
            (total,) = cur.fetchone()
            out[rule] = float(total)
        return out

    return engine, load, run


def agree(a: float, b: float) -> bool:
    return abs(a - b) <= max(ABS_TOL_M2, REL_TOL * max(abs(a), abs(b)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--memory", action="store_true", help="peak memory, tiled against single pass")
    parser.add_argument("--townships", type=int, default=200)
    parser.add_argument("--villages", type=int, default=20, help="villages per township")
    parser.add_argument("--tile-km", type=float, default=25.0)
    parser.add_argument("--max-vertices", type=int, default=None)
    parser.add_argument("--cache-dir", default=str(Path(__file__).resolve().parents[1] / "tmp" / "bench"))
    parser.add_argument("--memory-run", choices=("single", "tiled"), help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_run:
        print(json.dumps(memory_run(args.memory_run, Path(args.case), args.tile_km, args.max_vertices)))
        return 0
    if args.memory:
        return memory_main(args)

    t = time.perf_counter()
    frame = make_case(args.cells, args.seed)
    print(
        f"case: {len(frame) - 1} villages in one township, "
        f"{int(shapely.get_num_coordinates(frame.geometry.to_numpy()).sum())} vertices "
        f"(built in {time.perf_counter() - t:.1f} s)",
        flush=True,
    )
    figures: dict[str, Any] = {"cells": args.cells, "repeat": args.repeat}
    areas: dict[str, dict[str, float]] = {}
    figures["ours"], areas["ours"] = timed(lambda: ours(frame), args.repeat)
    figures["shapely"], areas["shapely"] = timed(lambda: indexed_shapely(frame), args.repeat)
    url = resolve_database_url(args.database_url)
    if url:
        engine, load, run = postgis(url)
        try:
            load(frame)
            figures["postgis"], areas["postgis"] = timed(run, args.repeat)
        finally:
            engine.dispose()
    else:
        print("postgis: skipped (no --database-url, DATABASE_URL or RIVERGRID_TEST_PG_URL)")
    figures["areas_m2"] = {k: {r: round(v, 3) for r, v in a.items()} for k, a in areas.items()}
    figures["load_average"] = [round(x, 2) for x in os.getloadavg()]
    figures["cpus"] = os.cpu_count()

    ok = True
    for name in areas:
        f = figures[name]
        print(
            f"{name:8s} wall {f['wall_s']:7.3f} s (range {f['wall_min_s']:.3f}–{f['wall_max_s']:.3f})  "
            f"CPU {f['cpu_s']:7.3f} s  " + "  ".join(f"{r} {areas[name][r]:.2f} m²" for r in AREA_RULES)
        )
        for rule in AREA_RULES:
            if name != "ours" and not agree(areas["ours"][rule], areas[name][rule]):
                ok = False
                print(f"WARNING: {rule} differs: ours {areas['ours'][rule]:.4f} m², {name} {areas[name][rule]:.4f} m²")
    references = [n for n in areas if n != "ours"]
    strongest = min(references, key=lambda n: figures[n]["wall_s"])
    figures["ratios"] = {n: round(figures[n]["wall_s"] / figures["ours"]["wall_s"], 2) for n in references}
    figures["strongest_reference"] = strongest
    figures["agree"] = ok
    print(
        f"strongest reference: {strongest}, {figures['ratios'][strongest]:.2f}× the time of ours "
        f"(ours does every rule, the references three); load {figures['load_average']}, {figures['cpus']} CPUs"
    )
    print(json.dumps(figures))
    return 0


# =============================================================================================
# Memory: tiled against single pass (issue 19)
# =============================================================================================

VILLAGE_M2 = 2e6


def make_hierarchy(n_townships: int, villages_per_township: int, seed: int = 7) -> gpd.GeoDataFrame:
    """Counties (one per 20 townships) > townships > villages, EPSG:4326, ids 1..n.

    Villages are Voronoi cells (one Lloyd step) whose shared linework is densified to 20 m once,
    so neighbours share their vertices; a township is the union of the villages nearest its seed,
    a county the union of its townships (exact coverages, no gap); then 3 % of the villages are
    moved 30 m east (overlaps, gaps, overhangs, near-miss edges).
    """
    rng = np.random.default_rng(seed)
    n_villages = n_townships * villages_per_township
    side = float(np.sqrt(n_villages * VILLAGE_M2))
    box = shapely.box(X0, Y0, X0 + side, Y0 + side)
    seeds = rng.uniform(0, side, (n_villages, 2)) + [X0, Y0]
    for _ in range(2):  # the second pass is one Lloyd step
        cells = shapely.intersection(
            shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=box, ordered=True)), box
        )
        seeds = shapely.get_coordinates(shapely.centroid(cells))
    lines = shapely.segmentize(shapely.union_all(shapely.boundary(cells)), 20.0)
    cells = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    centres = shapely.get_coordinates(shapely.centroid(cells))

    def nearest(points: np.ndarray, n: int) -> np.ndarray:
        targets = rng.uniform(0, side, (n, 2)) + [X0, Y0]
        return np.array([int(np.argmin(((targets - p) ** 2).sum(axis=1))) for p in points])

    town_of = nearest(centres, n_townships)
    towns = sorted(set(town_of.tolist()))
    town_geoms = [shapely.coverage_union_all(cells[town_of == t]) for t in towns]
    n_counties = max(1, n_townships // 20)
    county_of = nearest(shapely.get_coordinates(shapely.centroid(np.array(town_geoms, dtype=object))), n_counties)
    counties = sorted(set(county_of.tolist()))
    town_geoms_arr = np.array(town_geoms, dtype=object)
    rows: list[tuple[int, str, int | None, str, Any]] = []
    county_id = {c: i + 1 for i, c in enumerate(counties)}
    for c in counties:
        rows.append(
            (
                county_id[c],
                f"县{county_id[c]}",
                None,
                "county",
                shapely.coverage_union_all(town_geoms_arr[county_of == c]),
            )
        )
    town_id = {t: len(rows) + i + 1 for i, t in enumerate(towns)}
    for i, t in enumerate(towns):
        rows.append((town_id[t], f"乡镇{town_id[t]}", county_id[int(county_of[i])], "township", town_geoms[i]))
    moved = set(rng.choice(len(cells), size=max(1, len(cells) * 3 // 100), replace=False).tolist())
    first_village = len(rows) + 1
    for i, cell in enumerate(cells):
        geom = affinity.translate(cell, 30.0, 0.0) if i in moved else cell
        rows.append((first_village + i, f"村{first_village + i}", town_id[int(town_of[i])], "village", geom))
    ids, names, parents, levels, geoms = zip(*rows)
    return gpd.GeoDataFrame(
        {
            "id": list(ids),
            "name": list(names),
            "parent_id": pd.array(list(parents), dtype="Int64"),
            "level": list(levels),
        },
        geometry=list(geoms),
        crs=METRIC,
    ).to_crs("EPSG:4326")


def _proc_status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def findings_digest(findings: list[Any]) -> str:
    """sha256 of every field of every finding, geometries as WKB (identical findings, same digest)."""
    import hashlib

    h = hashlib.sha256()
    for f in findings:
        wkb = b"" if f.geometry is None else shapely.to_wkb(f.geometry)
        h.update(
            repr((f.rule, f.object_id, f.message, f.severity, f.area_m2, f.length_m, f.related_ids, f.level)).encode()
        )
        h.update(wkb)
    return h.hexdigest()


def memory_run(mode: str, case: Path, tile_km: float, max_vertices: int | None) -> dict[str, Any]:
    """One check in this (fresh) process: peak RSS above the RSS after loading, time, digest."""
    import gc

    from gis.checks.topology_tiled import DEFAULT_MAX_VERTICES, check_topology_tiled, plan_tiles

    frame = gpd.read_parquet(case)
    gc.collect()
    before_kb = _proc_status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    w, c = time.perf_counter(), time.process_time()
    if mode == "single":
        findings = check_topology(frame)
        tiles = 1
    else:
        mv = max_vertices or DEFAULT_MAX_VERTICES
        findings = check_topology_tiled(frame, tile_m=tile_km * 1000.0, max_vertices=mv, scheduler="inline")
        tiles = len(plan_tiles(frame, tile_m=tile_km * 1000.0, max_vertices=mv)[1])
    wall, cpu = time.perf_counter() - w, time.process_time() - c
    peak_kb = _proc_status_kb("VmHWM")
    return {
        "mode": mode,
        "tiles": tiles,
        "rss_after_load_mb": round(before_kb / 1024, 1),
        "peak_above_load_mb": round((peak_kb - before_kb) / 1024, 1),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "findings": len(findings),
        "digest": findings_digest(findings),
    }


def memory_main(args: argparse.Namespace) -> int:
    import subprocess

    cache = Path(args.cache_dir) / f"topology_hierarchy_{args.townships}x{args.villages}_s{args.seed}.parquet"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        make_hierarchy(args.townships, args.villages, args.seed).to_parquet(cache)
        print(f"built {cache} in {time.perf_counter() - t:.1f} s", flush=True)
    frame = gpd.read_parquet(cache)
    vertices = int(shapely.get_num_coordinates(frame.geometry.to_numpy()).sum())
    print(f"case: {frame['level'].value_counts().to_dict()}, {vertices} vertices", flush=True)
    del frame
    out: dict[str, Any] = {"townships": args.townships, "villages_per_township": args.villages, "vertices": vertices}
    for mode in ("single", "tiled"):
        cmd = [sys.executable, __file__, "--memory-run", mode, "--case", str(cache), "--tile-km", str(args.tile_km)]
        if args.max_vertices:
            cmd += ["--max-vertices", str(args.max_vertices)]
        result = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        out[mode] = result
        print(
            f"{mode:6s} tiles {result['tiles']:5d}  peak above load {result['peak_above_load_mb']:8.1f} MB  "
            f"wall {result['wall_s']:7.2f} s  CPU {result['cpu_s']:7.2f} s  findings {result['findings']}",
            flush=True,
        )
    out["identical"] = out["single"]["digest"] == out["tiled"]["digest"]
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(f"identical findings: {out['identical']}; load {out['load_average']}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

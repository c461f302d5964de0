"""National-size coverage check: time and peak memory, tiled in one process vs a dask cluster.

    python bench/national.py [--blocks 23] [--village] [--tile-km 25] [--workers 2]
                             [--scheduler tcp://HOST:8786] [--skip-single] [--skip-dask]

The case: ``--blocks`` province-size blocks of :func:`bench.synthetic.make_case` (20,000 reaches
and 2,000 township-level grids of ~10 km² each, on ~145 km squares) side by side, five to a row:
23 blocks are 460,000 reaches and 46,000 grids, the national river-chief platform's size.
``--village``: the same reaches with village-level grids (~1 km², ten times as many: 460,000).
The generated layers are cached as GeoParquet under ``tmp/bench/`` (git ignores it).

Each variant runs in a fresh process (so that its peak memory is its own):

* ``single``: ``check_coverage(..., tile_m=…, scheduler="inline")``: the tiles one after
  another in this process (:mod:`gis.checks.tiled`);
* ``dask``: the same on a dask ``LocalCluster`` of ``--workers`` single-threaded worker
  processes (started inside the timing, reported apart), or on the cluster at ``--scheduler``.

Printed per variant: wall time, CPU time of the process (workers' CPU apart), the 1-minute load
average, the peak resident memory (``ru_maxrss``) of the process and of every dask worker, and
the totals, which must be equal between the variants (``equal``). The last line is one JSON
object with both.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.synthetic import make_case

BLOCK_M = 150_000.0
PER_ROW = 5
CACHE = ROOT / "tmp" / "bench"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def case_dir(blocks: int, village: bool) -> Path:
    return CACHE / f"national-{blocks}-{'village' if village else 'township'}"


def make_national(blocks: int, village: bool) -> Path:
    """Generate (once) and cache the national case; its folder."""
    folder = case_dir(blocks, village)
    if (folder / "grids.parquet").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    reaches, grids = [], []
    t0 = time.perf_counter()
    for b in range(blocks):
        r, g = make_case("province", seed=100 + b, grid_density=10 if village else 1)
        dx, dy = (b % PER_ROW) * BLOCK_M, (b // PER_ROW) * BLOCK_M
        r["geometry"] = shapely.transform(r.geometry.to_numpy(), lambda xy, dx=dx, dy=dy: xy + (dx, dy))
        g["geometry"] = shapely.transform(g.geometry.to_numpy(), lambda xy, dx=dx, dy=dy: xy + (dx, dy))
        r["id"] += b * 10_000_000
        g["id"] += b * 10_000_000
        reaches.append(r)
        grids.append(g)
        log(f"  block {b + 1}/{blocks} generated ({time.perf_counter() - t0:.0f} s)")
    gpd.GeoDataFrame(pd.concat(reaches, ignore_index=True), crs=reaches[0].crs).to_parquet(folder / "reaches.parquet")
    gpd.GeoDataFrame(pd.concat(grids, ignore_index=True), crs=grids[0].crs).to_parquet(folder / "grids.parquet")
    return folder


def peak_gb() -> float:
    """Peak resident memory of this process so far, GB: ``VmHWM`` of ``/proc/self/status``
    (``ru_maxrss`` would carry the parent's peak over into a started worker process)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024**2, 3)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 3)


def child(variant: str, folder: Path, tile_m: float, workers: int, scheduler: str | None) -> dict[str, Any]:
    """One variant, in this (fresh) process."""
    from gis.checks.coverage import check_coverage  # noqa: PLC0415 — after the memory baseline

    cluster = None
    address = "inline"
    t_start = time.perf_counter()
    if variant == "dask":  # the workers start before the data is read: their memory is their own
        if scheduler:
            address = scheduler
        else:
            from distributed import LocalCluster  # noqa: PLC0415 — only for this variant

            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", memory_limit=0
            )
            address = cluster.scheduler_address
        from distributed import Client  # noqa: PLC0415 — only for this variant

        with Client(address) as client:  # workers import the check once, as a running cluster has
            client.run(lambda: __import__("gis.checks.tiled"))
    cluster_start_s = round(time.perf_counter() - t_start, 3)
    reaches = gpd.read_parquet(folder / "reaches.parquet")
    grids = gpd.read_parquet(folder / "grids.parquet")
    out: dict[str, Any] = {
        "variant": variant,
        "reaches": len(reaches),
        "grids": len(grids),
        "reach_vertices": int(shapely.get_num_coordinates(reaches.geometry.to_numpy()).sum()),
        "grid_vertices": int(shapely.get_num_coordinates(grids.geometry.to_numpy()).sum()),
        "tile_km": tile_m / 1000,
        "loaded_peak_gb": peak_gb(),
    }
    out["cluster_start_s"] = cluster_start_s
    t0, c0 = time.perf_counter(), time.process_time()
    res = check_coverage(reaches, grids, tile_m=tile_m, scheduler=address)
    totals = res.totals()
    out["check_s"] = round(time.perf_counter() - t0, 3)
    out["check_cpu_s"] = round(time.process_time() - c0, 3)
    out["load"] = round(os.getloadavg()[0], 2)
    out["pieces"] = len(res.reach_totals)
    out["totals"] = {k: round(v, 6) for k, v in totals.items()}
    out["peak_gb"] = peak_gb()
    if variant == "dask":
        from distributed import Client  # noqa: PLC0415 — only for this variant

        with Client(address) as client:
            rss = client.run(peak_gb)
        out["worker_peak_gb"] = sorted(rss.values())
        out["workers"] = len(rss)
        if cluster is not None:
            cluster.close()
    return out


def run_variant(variant: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        variant,
        "--blocks",
        str(args.blocks),
        "--tile-km",
        str(args.tile_km),
        "--workers",
        str(args.workers),
        *(["--village"] if args.village else []),
        *(["--scheduler", args.scheduler] if args.scheduler else []),
    ]
    log(f"== {variant} ==")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        log(proc.stderr[-3000:])
        return {"variant": variant, "error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_s"] = round(time.perf_counter() - t0, 3)
    log(json.dumps(result, ensure_ascii=False))
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--blocks", type=int, default=23, help="province-size blocks (23: ~460k reaches)")
    p.add_argument("--village", action="store_true", help="village-level grids (~1 km², 10x as many)")
    p.add_argument("--tile-km", type=float, default=25.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--scheduler", default=None, help="a running dask scheduler (default: a LocalCluster)")
    p.add_argument("--skip-single", action="store_true")
    p.add_argument("--skip-dask", action="store_true")
    p.add_argument("--child", choices=["single", "dask"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    folder = case_dir(args.blocks, args.village)
    if args.child:
        print(json.dumps(child(args.child, folder, args.tile_km * 1000, args.workers, args.scheduler)), flush=True)
        return 0
    t0 = time.perf_counter()
    make_national(args.blocks, args.village)
    log(f"case ready in {time.perf_counter() - t0:.0f} s: {folder}")
    runs = {}
    if not args.skip_single:
        runs["single"] = run_variant("single", args, folder)
    if not args.skip_dask:
        runs["dask"] = run_variant("dask", args, folder)
    final: dict[str, Any] = {"case": folder.name, "cpu_count": os.cpu_count(), **runs}
    if "single" in runs and "dask" in runs and "totals" in runs["single"] and "totals" in runs["dask"]:
        final["equal"] = runs["single"]["totals"] == runs["dask"]["totals"]
        final["speedup"] = round(runs["single"]["check_s"] / runs["dask"]["check_s"], 2)
        final["max_worker_peak_gb"] = max(runs["dask"]["worker_peak_gb"])
    print(json.dumps(final, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

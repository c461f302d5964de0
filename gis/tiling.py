"""Square spatial tiles, and one function run over many tiles: in this process, on a dask
``LocalCluster``, or on a dask cluster (``dask.distributed``).

National-scale checks (450,000 reaches, village grids) do not fit in one process's memory in one
piece. They are cut into square tiles of ``tile_m`` metres in the measuring CRS; each tile's work
is a pure, picklable function of the tile's own data, so the tiles can run one after another
(memory: one tile at a time) or side by side on dask workers, on this machine or on several
machines reading the same PostGIS.

Where they run (``scheduler``, or the setting ``RIVERGRID_DASK_SCHEDULER``):

============================  ==================================================================
``""`` / ``None`` (default)   a ``LocalCluster`` of one worker process per core when the work is
                              large (the caller says so: starting workers costs a second or
                              two), the machine has several cores and there is more than one
                              tile; else in process
``"inline"``                  in this process, one tile after another
``"local"``                   a ``LocalCluster`` (one single-threaded worker process per core)
``"tcp://HOST:8786"``         the dask scheduler at that address (``dask scheduler`` and
                              ``dask worker tcp://HOST:8786`` started on the machines; README)
============================  ==================================================================

dask itself is the engine (the issue asks for an existing distributed engine, and dask is what
geopandas' ecosystem uses, ``dask-geopandas``): this module only decides where to run, hands
the tasks over with ``Client.map`` and gives the results back in the tasks' order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from gis.config import settings
from gis.errors import ValidationError

__all__ = ["INLINE", "LOCAL", "default_tile_m", "resolve_scheduler", "run_tiles", "tile_keys"]

INLINE = "inline"
LOCAL = "local"

T = TypeVar("T")
R = TypeVar("R")


def default_tile_m() -> float:
    """The configured tile side in metres (``RIVERGRID_TILE_KM``, default 25 km)."""
    return settings().tile_km * 1000.0


def tile_keys(x: np.ndarray, y: np.ndarray, tile_m: float) -> tuple[np.ndarray, np.ndarray]:
    """The column and row of the ``tile_m``-metre square tile holding each point (tiles are
    aligned on multiples of ``tile_m``: the same point is in the same tile in every run)."""
    if not tile_m > 0:
        raise ValidationError("分块边长必须大于 0", f"tile_m must be > 0, got {tile_m!r}")
    return np.floor(np.asarray(x) / tile_m).astype(np.int64), np.floor(np.asarray(y) / tile_m).astype(np.int64)


def resolve_scheduler(scheduler: str | None, n_tasks: int, *, large: bool = False) -> str:
    """Where ``n_tasks`` tiles run: :data:`INLINE`, :data:`LOCAL` or a scheduler address
    (``large``: the work is worth starting workers for)."""
    chosen = (scheduler if scheduler is not None else settings().dask_scheduler).strip()
    if chosen in ("", "auto"):
        return LOCAL if large and (os.cpu_count() or 1) > 1 and n_tasks > 1 else INLINE
    if chosen in (INLINE, "none", "sync"):
        return INLINE
    if chosen == LOCAL or chosen.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        return chosen
    raise ValidationError(
        f"无法识别的并行计算调度器“{chosen}”：应为 inline、local 或 tcp://主机:端口",
        f"unknown dask scheduler {chosen!r}",
    )


def run_tiles(
    func: Callable[[T], R], tasks: Sequence[T], *, scheduler: str | None = None, large: bool = False
) -> list[R]:
    """``[func(t) for t in tasks]``, run where :func:`resolve_scheduler` says.

    ``func`` must be a top-level function and the tasks picklable (they travel to other
    processes). A failing tile raises its own exception here, as in process.
    """
    where = resolve_scheduler(scheduler, len(tasks), large=large)
    if where == INLINE or not tasks:
        return [func(t) for t in tasks]
    from distributed import Client, LocalCluster  # noqa: PLC0415 — dask only when tiles run in parallel

    if where == LOCAL:
        workers = max(1, min(os.cpu_count() or 1, len(tasks)))
        with (
            LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                memory_limit=0,
            ) as cluster,
            Client(cluster) as client,  # type: ignore[no-untyped-call]
        ):
            return _gather(client, func, tasks)
    with Client(where) as client:  # type: ignore[no-untyped-call]
        return _gather(client, func, tasks)


def _gather(client: Any, func: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
    """Run the tasks with at most two per worker in flight: a worker holds the data of the tiles
    it is working on, not its share of all of them (memory per worker bounded by the tile). Each
    task's data goes to the cluster on its own (``scatter``: the task graph stays small) and is
    let go as soon as its result is back."""
    from distributed import as_completed  # noqa: PLC0415 — dask only when tiles run in parallel

    window = 2 * max(1, len(client.scheduler_info().get("workers", {})))
    results: list[Any] = [None] * len(tasks)
    queue = iter(enumerate(tasks))
    running: dict[Any, tuple[int, Any]] = {}
    done = as_completed()  # type: ignore[no-untyped-call]

    def submit_next() -> None:
        for i, task in queue:
            data = client.scatter(task, hash=False)
            future = client.submit(func, data, pure=False)
            running[future.key] = (i, data)
            done.add(future)  # type: ignore[no-untyped-call]
            return

    for _ in range(window):
        submit_next()
    for future in done:
        i, data = running.pop(future.key)
        results[i] = future.result()
        future.release()
        data.release()
        submit_next()
    return results

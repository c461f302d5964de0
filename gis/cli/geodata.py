"""Commands ``inspect``, ``import`` and ``export``: geodata files in and out.

``inspect`` gives the verdict ``import`` would give, with the same message and exit status. With
``--kind KIND`` it runs the import itself (same options, as ``--as``) in a transaction that is
rolled back: every check of that kind, nothing written. Without it, it lists the layers and runs
every check that does not depend on the kind on the layer an import would read (``--layer``,
else the first): the limits of :mod:`gis.limits`, readable, CRS known and plausible, finite
coordinates, geometry repair, and the distance to the top-level grid when the database has one
(:mod:`gis.grids.jurisdiction`; ``--allow-far`` as for import; a new top-level grid needs
``--kind grids``). A SQLite database file that does not exist is not created by it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from gis import io
from gis.cli.common import acting_actor, open_store, show
from gis.config import settings
from gis.errors import RiverGridError
from gis.grids.jurisdiction import check_near
from gis.importing import KIND_LABELS, import_file
from gis.io.writers import write_layer
from gis.overview import load_map_data
from gis.store import Store


def _existing_store(args: argparse.Namespace) -> Store | None:
    """The store when its database exists (a SQLite file that is not there is not created)."""
    url = args.database_url or settings().database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and (
        not parsed.database or parsed.database == ":memory:" or not Path(parsed.database).is_file()
    ):
        return None
    return open_store(args)


def _pairs(items: Sequence[str] | None, what: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise RiverGridError(f"{what}的格式应为 键=值：{item}", f"expected key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _import_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "layer": args.layer,
        "crs": args.crs,
        "source_offset": args.from_offset,
        "mapping": _pairs(args.map, "--map"),
        "defaults": _pairs(args.default, "--default"),
        "allow_far": args.allow_far,
    }


def cmd_inspect(args: argparse.Namespace) -> int:
    if args.kind:
        return _inspect_as(args)
    layers = io.inspect(args.file, crs=args.crs)
    result = io.read_layer(args.file, layer=args.layer, crs=args.crs, source_offset=args.from_offset)
    store = _existing_store(args)
    if store is not None:
        with store.session() as s:
            check_near(s, list(result.gdf.geometry), labels=io.feature_labels(result.gdf), allow_far=args.allow_far)
    data = {"file": str(args.file), "layers": [layer.to_dict() for layer in layers]}
    text = "\n".join(
        f"{layer.name}: {layer.geometry_type}, {layer.features} 个要素, 坐标系 {layer.crs or '未知'}, "
        f"范围 {layer.bounds_wgs84}"
        for layer in layers
    )
    text += "".join(f"\n提示：{w}" for w in result.warnings)
    show(data, args.json, text)
    return 0


def _inspect_as(args: argparse.Namespace) -> int:
    """``inspect --kind KIND``: the import, rolled back."""
    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session(actor) as s:
        report = import_file(s, args.file, args.kind, **_import_options(args))
        s.rollback()  # a check: nothing is written
    data = {
        "file": str(args.file),
        "kind": args.kind,
        "layer": report.layer,
        "source_crs": report.source_crs,
        "features": len(report.ids),
        "warnings": report.warnings,
    }
    text = (
        f"可以导入：{len(report.ids)} 条{KIND_LABELS[args.kind]}（图层 {report.layer or '-'}，"
        f"原坐标系 {report.source_crs}）；仅检查，未写入"
    )
    text += "".join(f"\n提示：{w}" for w in report.warnings)
    show(data, args.json, text)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session(actor) as s:
        report = import_file(s, args.file, args.kind, **_import_options(args))
    text = (
        f"已导入 {len(report.ids)} 条{KIND_LABELS[args.kind]}（图层 {report.layer or '-'}，原坐标系 "
        f"{report.source_crs}）"
        ""
    )
    if report.warnings:
        text += "\n" + "\n".join(f"提示：{w}" for w in report.warnings)
    show(report.to_dict(), args.json, text)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    store = open_store(args)
    with store.session() as s:
        data = load_map_data(s)
    gdf = getattr(data, args.layer)
    path = write_layer(gdf, args.output, fmt=args.format, layer=args.layer)
    result = {"layer": args.layer, "format": args.format, "features": len(gdf), "path": str(path)}
    show(result, args.json, f"已导出 {len(gdf)} 个要素到 {path}")
    return 0

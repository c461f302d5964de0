"""``basemap build``: draw the bundled 简图 from the database (:mod:`gis.basemap.build`)."""

from __future__ import annotations

import argparse

from gis.basemap.build import build_simple_basemap
from gis.cli.common import open_store, show


def cmd_basemap_build(args: argparse.Namespace) -> int:
    store = open_store(args)
    result = build_simple_basemap(store, args.output, force=not args.if_stale)
    if result.built:
        west, south, east, north = result.bounds or (0.0, 0.0, 0.0, 0.0)
        text = (
            f"简图已生成：{result.path}（{result.features} 个要素，缩放级别 {result.minzoom}–{result.maxzoom}，"
            f"范围 {west:.3f}–{east:.3f}°E、{south:.3f}–{north:.3f}°N，{result.bytes / 1e6:.2f} MB，"
            f"{result.seconds:.1f} 秒）"
        )
    else:
        text = f"简图已是最新，未重新生成：{result.path}"
    show(result.to_dict(), args.json, text)
    return 0

"""Commands ``patrol`` (one track file analysed) and ``patrol-report`` (a period's patrol figures)."""

from __future__ import annotations

import argparse
from typing import Any

from gis.cli.common import open_store, show
from gis.errors import RiverGridError
from gis.io.files import read_layer
from gis.patrol.matching import MatchOptions, analyse_tracks, reaches_frame
from gis.patrol.service import patrol_report, store_reaches
from gis.patrol.tracks import read_tracks
from gis.tiling import default_tile_m


def cmd_patrol(args: argparse.Namespace) -> int:
    if args.rivers:
        reaches = reaches_frame(read_layer(args.rivers).gdf)
    else:
        store = open_store(args)
        with store.session() as s:
            reaches = store_reaches(s)
    if reaches.empty:
        raise RiverGridError("没有河段可供匹配（请用 --rivers 指定河段文件或先导入河段）", "no reaches")
    tracks = read_tracks(args.file)
    options = MatchOptions(corridor_m=args.corridor_m, max_speed_kmh=args.max_speed_kmh)
    results, _warnings = analyse_tracks(
        tracks, reaches, options=options, from_crs=args.from_offset, skip_unusable=False, tile_m=default_tile_m()
    )
    dicts = [r.to_dict() for r in results]
    data: Any = dicts[0] if len(dicts) == 1 else {"tracks": dicts}
    show(data, args.json, "\n\n".join(r.text() for r in results))
    return 0


def cmd_patrol_report(args: argparse.Namespace) -> int:
    store = open_store(args)
    with store.session() as s:
        report = patrol_report(
            s, args.period, options=MatchOptions(corridor_m=args.corridor_m), fix_offsets=args.fix_offsets
        )
    show(report.to_dict(), args.json, report.text())
    return 0

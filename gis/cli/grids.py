"""Command ``who``: the responsibility chain (责任链) of a point."""

from __future__ import annotations

import argparse

from gis.cli.common import open_store, show
from gis.grids.chain import ResponsibilityIndex


def cmd_who(args: argparse.Namespace) -> int:
    store = open_store(args)
    with store.session() as s:
        index = ResponsibilityIndex.from_session(s)
    chain = index.lookup(args.lon, args.lat, tolerance_m=args.tolerance_m)
    private = not args.public_phones_only
    show(chain.to_dict(include_private_phones=private), args.json, chain.to_text(include_private_phones=private))
    return 0

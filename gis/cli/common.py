"""What every command of the command line shares: printing its result, the store, the acting account."""

from __future__ import annotations

import argparse
import json
from typing import Any

from gis.accounts.users import actor_for
from gis.auth import Actor
from gis.store import Store

__all__ = ["acting_actor", "open_store", "show"]


def show(data: Any, as_json: bool, text: str) -> None:
    """Print ``data`` as JSON (``--json``) or ``text`` for a person."""
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print(text)


def open_store(args: argparse.Namespace) -> Store:
    """The store of ``--database-url`` (default: ``DATABASE_URL`` or the SQLite file under data/)."""
    return Store(args.database_url)


def acting_actor(store: Store, username: str) -> Actor:
    """The account a command acts as (``--as``), as the store knows it now."""
    with store.session() as s:
        return actor_for(s, username)

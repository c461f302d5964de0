"""Open311 GeoReport v2 at ``/api/open311/v2/`` (being written: see issue 14)."""

from __future__ import annotations

from starlette.routing import BaseRoute

__all__ = ["routes"]


def routes() -> list[BaseRoute]:
    return []

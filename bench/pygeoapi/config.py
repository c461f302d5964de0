"""pygeoapi's configuration for ``bench/api.py``: RiverGrid's PostGIS tables as OGC API Features
collections through pygeoapi's PostgreSQL provider.

    python bench/pygeoapi/config.py --database-url URL --port 5001 --output pygeoapi.yml

``URL`` is the database URL RiverGrid uses (``postgresql+psycopg2://user:password@host:port/db``,
optionally ``?options=-csearch_path%3D<schema>,public`` as the tests and the bench write it); the
schema comes from that ``search_path`` unless ``--schema`` names it. Standard library only, so
both the project's venv and pygeoapi's can run it.

Each collection (``grids``, ``reaches``) is one provider of pygeoapi 0.21.0's
``pygeoapi/provider/sql.py`` ``PostgreSQLProvider`` (name ``PostgreSQL``): ``data`` holds
``host``/``port``/``dbname``/``user``/``password`` and ``search_path`` (a list; the provider
reflects the table in its first schema), with ``id_field``, ``table`` and ``geom_field``; the
storage CRS is its default, CRS84 (RiverGrid stores EPSG:4326 longitude/latitude, the same axis
order). A bbox is ``ST_Intersects(ST_MakeEnvelope(minx, miny, maxx, maxy, 4326), geom)``, so the
GiST index on ``geom`` is used. ``properties`` limits the served columns to the public ones
(``load_only``): the provider otherwise serves every column of the table.

The provider reads the table as it is: rows that RiverGrid has soft-deleted (``deleted_at`` set)
are served too, unless ``table`` names a view that filters them (the bench keeps its data free of
them, so both servers serve the same rows).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["COLLECTIONS", "make_config", "parse_database_url", "to_yaml"]

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
LINJIANG_BBOX = [126.5, 41.4, 127.5, 42.1]
"""The extent advertised for the collections (临江市 and around), longitude/latitude."""

COLLECTIONS: dict[str, dict[str, Any]] = {
    "grids": {
        "title": "网格",
        "description": "河长制网格（县、乡、村三级）及其五定内容",
        "keywords": ["网格", "河长制"],
        "properties": [
            "name",
            "code",
            "level",
            "parent_id",
            "responsible_body",
            "area_desc",
            "personnel_desc",
            "duties",
            "tasks",
            "rewards",
            "hotline",
        ],
    },
    "reaches": {
        "title": "河段",
        "description": "河长制管理的河段",
        "keywords": ["河段", "河长制"],
        "properties": ["name", "code", "level", "river_id", "start_station_m"],
    },
}
"""Served collections: table name -> title, description, keywords and public columns."""


def parse_database_url(url: str, schema: str | None = None) -> dict[str, Any]:
    """The provider's ``data`` block from a SQLAlchemy PostgreSQL URL (``search_path`` from the
    URL's ``options=-csearch_path=…`` unless ``schema`` is given; ``public`` otherwise)."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgresql"):
        raise ValueError(f"a PostgreSQL database URL is needed, got {parts.scheme!r}")
    if schema is None:
        for option in parse_qs(parts.query).get("options", []):
            for word in unquote(option).split():
                if word.startswith("-csearch_path="):
                    schema = word.split("=", 1)[1].split(",")[0]
    return {
        "host": parts.hostname or "localhost",
        "port": parts.port or 5432,
        "dbname": unquote(parts.path.lstrip("/")),
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "search_path": [schema or "public", "public"],
    }


def make_config(
    database_url: str,
    *,
    port: int,
    schema: str | None = None,
    host: str = "127.0.0.1",
    max_items: int = 1000,
    bbox: list[float] | None = None,
) -> dict[str, Any]:
    """pygeoapi's whole configuration (``PYGEOAPI_CONFIG``) serving :data:`COLLECTIONS`."""
    data = parse_database_url(database_url, schema)
    extent = {"spatial": {"bbox": bbox or LINJIANG_BBOX, "crs": CRS84}}
    resources: dict[str, Any] = {}
    for table, meta in COLLECTIONS.items():
        resources[table] = {
            "type": "collection",
            "title": meta["title"],
            "description": meta["description"],
            "keywords": meta["keywords"],
            "links": [],
            "extents": extent,
            "providers": [
                {
                    "type": "feature",
                    "name": "PostgreSQL",
                    "data": data,
                    "id_field": "id",
                    "table": table,
                    "geom_field": "geom",
                    "properties": meta["properties"],
                }
            ],
        }
    return {
        "server": {
            "bind": {"host": host, "port": port},
            "url": f"http://{host}:{port}",
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["zh-CN"],
            "pretty_print": False,
            "limits": {"default_items": 10, "max_items": max_items},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OpenStreetMap"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "pygeoapi（RiverGrid 基准对照）",
                "description": "以 pygeoapi 的 PostgreSQL 数据源提供 RiverGrid 的网格与河段，供 bench/api.py 对比",
                "keywords": ["benchmark"],
                "keywords_type": "theme",
                "terms_of_service": "https://creativecommons.org/licenses/by/4.0/",
                "url": "https://pygeoapi.io",
            },
            "license": {"name": "CC-BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "RiverGrid bench", "url": "https://pygeoapi.io"},
            "contact": {"name": "RiverGrid bench", "role": "pointOfContact"},
        },
        "resources": resources,
    }


def to_yaml(value: Any, indent: int = 0) -> str:
    """Block-style YAML for dicts, lists and scalars (strings double-quoted, JSON escapes)."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return pad + "{}\n"
        out = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                out.append(f"{pad}{json.dumps(str(key))}:\n{to_yaml(item, indent + 1)}")
            else:
                out.append(f"{pad}{json.dumps(str(key))}: {_scalar(item)}\n")
        return "".join(out)
    if isinstance(value, list):
        if not value:
            return pad + "[]\n"
        out = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                body = to_yaml(item, indent + 1)
                out.append(f"{pad}- {body.lstrip()}")
            else:
                out.append(f"{pad}- {_scalar(item)}\n")
        return "".join(out)
    return pad + _scalar(value) + "\n"


def _scalar(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--schema", help="schema of the tables (default: the URL's search_path, else public)")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--max-items", type=int, default=1000)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    config = make_config(args.database_url, port=args.port, schema=args.schema, max_items=args.max_items)
    args.output.write_text(to_yaml(config), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

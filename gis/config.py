"""Settings read from the environment (no Streamlit here).

=========================== =========================================== ==========================
variable                    meaning                                     default
=========================== =========================================== ==========================
``DATABASE_URL``            any SQLAlchemy URL (``sqlite:///…``,        ``data/rivergrid.sqlite``
                            ``postgresql+psycopg2://…``)
``TIANDITU_KEY``            天地图 API key; enables Tianditu basemaps   unset
``RIVERGRID_BASEMAP``       ``tianditu_vec``, ``tianditu_img``,         ``tianditu_vec`` with a key,
                            ``osm`` or ``none``                         else ``osm``
``RIVERGRID_READ_LOGIN``    ``1``: reading pages needs sign-in          ``0`` (open, for the demo)
``RIVERGRID_DATA_DIR``      folder of the embedded database and uploads ``data/`` beside ``gis/``
``RIVERGRID_PUBLIC_URL``    address of the app as the public reaches it ``http://localhost:8501``
                            (QR codes on signboards link to its
                            public page ``/public?grid=ID``)
``RIVERGRID_HOTLINE``       supervision hotline shown where a grid has  ``12345``
                            none of its own (公示, 公示牌)
=========================== =========================================== ==========================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
"""The checkout's top folder (holds ``app.py``, ``gis/``, ``data/``)."""

BASEMAPS = ("tianditu_vec", "tianditu_img", "osm", "none")


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    tianditu_key: str | None
    basemap: str
    read_requires_login: bool
    public_url: str = "http://localhost:8501"
    hotline: str = "12345"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def settings() -> Settings:
    """Read the settings from the environment now (cheap; not cached so tests can change it)."""
    data_dir = Path(os.environ.get("RIVERGRID_DATA_DIR") or PROJECT_DIR / "data")
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'rivergrid.sqlite'}"
    key = (os.environ.get("TIANDITU_KEY") or "").strip() or None
    basemap = (os.environ.get("RIVERGRID_BASEMAP") or "").strip().lower()
    if basemap not in BASEMAPS:
        basemap = "tianditu_vec" if key else "osm"
    if basemap.startswith("tianditu") and not key:
        basemap = "osm"
    return Settings(
        database_url=url,
        data_dir=data_dir,
        tianditu_key=key,
        basemap=basemap,
        read_requires_login=_truthy(os.environ.get("RIVERGRID_READ_LOGIN")),
        public_url=(os.environ.get("RIVERGRID_PUBLIC_URL") or "").strip().rstrip("/") or "http://localhost:8501",
        hotline=(os.environ.get("RIVERGRID_HOTLINE") or "").strip() or "12345",
    )

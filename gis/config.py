"""Settings read from the environment (no Streamlit here).

=========================== =========================================== ==========================
variable                    meaning                                     default
=========================== =========================================== ==========================
``DATABASE_URL``            any SQLAlchemy URL (``sqlite:///…``,        ``data/rivergrid.sqlite``
                            ``postgresql+psycopg2://…``)
``TIANDITU_KEY``            天地图 API key; enables Tianditu basemaps   unset
                            (offered, never the default)
``RIVERGRID_TILE_URL``      intranet tile URL template(s) (XYZ, or a    unset
                            WMTS KVP URL with ``{z}``/``{x}``/``{y}``);
                            several separated by spaces are drawn one
                            over the other (base + annotation)
``RIVERGRID_TILES``         a local PMTiles or MBTiles file (raster or  unset
                            vector) served by the app at
                            ``/api/tiles/local/…``
``RIVERGRID_BASEMAP``       basemap shown first: ``simple`` (简图),     ``intranet`` when a tile URL
                            ``local``, ``intranet``, ``tianditu_vec``,  is set, else ``local`` when a
                            ``tianditu_img``, ``osm`` or ``none``       tile file is set, else
                                                                        ``simple``
``RIVERGRID_READ_LOGIN``    ``1``: reading pages needs sign-in;         ``1``, but ``0`` on a demo
                            ``0``: anyone may browse (公示 is always    database
                            public)
``RIVERGRID_DATA_DIR``      folder of the embedded database and uploads ``data/`` beside ``gis/``
``RIVERGRID_PUBLIC_URL``    address of the app as the public reaches it ``http://localhost:8501``
                            (QR codes on signboards link to its
                            public page ``/public?grid=ID``)
``RIVERGRID_HOTLINE``       supervision hotline shown where a grid has  ``12345``
                            none of its own (公示, 公示牌)
``RIVERGRID_DEMO``          ``1``: load the demo into an empty database ``0``
                            on start (``scripts/run_app.sh`` sets it)
``RIVERGRID_NOW``           start the clock at this moment (tests,      system clock
                            training; see :mod:`gis.clock`)
``RIVERGRID_MAX_FILE_MB``   largest uploaded or imported file, MB       ``50``
``RIVERGRID_MAX_UNPACKED_MB`` most bytes unpacked from one archive, MB  ``500``
``RIVERGRID_MAX_RATIO``     highest compression ratio of an archive     ``100``
                            member
``RIVERGRID_MAX_TRACK_POINTS`` most points in one imported track file   ``2000000``
``RIVERGRID_MAX_DISTANCE_KM`` how far from the top-level grid imported  ``50``
                            or reported features may lie, km
``RIVERGRID_LOCK_ATTEMPTS`` failed sign-ins of one user name that lock  ``5``
                            it
``RIVERGRID_LOCK_WINDOW_S`` within how many seconds they count          ``900``
``RIVERGRID_LOCK_S``        how long a lock lasts, seconds              ``900``
``RIVERGRID_IP_ATTEMPTS``   failed sign-ins from one client address     ``20``
                            (any names) that lock the address
``RIVERGRID_SESSION_IDLE_S`` idle time after which a browser session    ``28800`` (8 hours)
                            is signed out, seconds
``RIVERGRID_CALENDAR_FILE`` local holiday schedule (JSON) for years the ``<data dir>/calendar.json``
                            official one does not cover yet
``RIVERGRID_BACKUP_DIR``    where backups are written                   ``<data dir>/backups``
``RIVERGRID_API_RATE_KEY``  requests per minute one API key may make    ``600``
``RIVERGRID_API_RATE_IP``   requests per minute without a key from one  ``120``
                            client address
``RIVERGRID_API_CORS``      origins (comma-separated) whose web pages   none (CORS off)
                            may call the API from a browser
``RIVERGRID_API_RATE_TILES`` map tile requests (``/api/tiles/``) per    ``6000``
                            minute from one client address or key (a
                            separate budget: a map loads dozens at once)
``RIVERGRID_MIN_GAP_M``     盲区检查: uncovered or double-claimed       ``0.5``
                            stretches shorter than this (metres) are
                            微小缝隙/微小重叠, not 盲区 (0: none)
``RIVERGRID_PUBLIC_REPORT_RATE`` residents' reports from the signboard  ``10``
                            (``/api/field/v1/public/reports``) per hour
                            from one client address
``RIVERGRID_ACCESS_LOG``    a file that gets one line per HTTP request  none
                            (time, client, method, path, status)
``RIVERGRID_OBJECT_VISIT_M`` 对象台账: a patrol track passing within   ``50``
                            this many metres of a supervised object
                            counts as a visit (巡查) of it
``RIVERGRID_SMTP_HOST``     mail server for notifications (``_PORT``,   unset (no e-mail); port
                            ``_USER``, ``_PASSWORD``, ``_FROM``,        ``25``
                            ``_STARTTLS=1``)
``RIVERGRID_WEBHOOK_URL``   webhook for case messages (group robot or   unset
                            any JSON receiver; ``RIVERGRID_WEBHOOK_
                            FORMAT`` = json/wecom/dingtalk/auto)
``RIVERGRID_SMS_URL``       SMS gateway URL template; body template in  unset (no SMS)
                            ``RIVERGRID_SMS_BODY`` (JSON)
``RIVERGRID_NOTIFY_FILE``   escalation rules, per-grid webhooks (JSON)  ``<data dir>/notify.json``
``RIVERGRID_NOTIFY_INTERVAL_S`` how often the server runs a             ``300`` (0: off)
                            notification pass, seconds
``RIVERGRID_QUIET_HOURS``   default quiet hours, e.g. ``22:00-07:00``   none
``RIVERGRID_NOTIFY_LOOKBACK_H`` case steps this recent are notified, h  ``72``
``RIVERGRID_DASK_SCHEDULER`` where large checks run their tiles:        auto: a local cluster
                            ``inline`` (this process), ``local`` (a     when there are several
                            dask LocalCluster) or ``tcp://HOST:8786``   cores and tiles
                            (a dask cluster; :mod:`gis.tiling`)
``RIVERGRID_TILE_KM``       side of the square tiles large checks are   ``25``
                            cut into, km (memory per tile)
``RIVERGRID_MAP_TILES_REACHES`` above this many reaches the home map    ``3000``
                            draws them from vector tiles by viewport
=========================== =========================================== ==========================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
"""The checkout's top folder (holds ``app.py``, ``gis/``, ``data/``)."""

BASEMAPS = ("simple", "local", "intranet", "tianditu_vec", "tianditu_img", "osm", "none")
"""Basemap codes, in the order of the maps' switcher: the bundled 简图 (``simple``), the local tile
file (``local``, ``RIVERGRID_TILES``), the intranet tile service (``intranet``,
``RIVERGRID_TILE_URL``), Tianditu (with a key), OpenStreetMap, none."""


def default_basemap(*, tile_url: str | None, tiles: Path | None) -> str:
    """The basemap used when ``RIVERGRID_BASEMAP`` names none that is available: the intranet
    service, else the local tile file, else the bundled 简图 (never one that needs the internet)."""
    if tile_url:
        return "intranet"
    if tiles is not None:
        return "local"
    return "simple"


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    tianditu_key: str | None
    basemap: str
    """The basemap shown first (one of :data:`BASEMAPS` that is configured; see
    :func:`default_basemap`)."""
    read_requires_login: bool | None
    """``RIVERGRID_READ_LOGIN`` when set; None: open browsing only on a demo database."""
    public_url: str = "http://localhost:8501"
    hotline: str = "12345"
    demo: bool = False
    max_file_mb: float = 50.0
    max_unpacked_mb: float = 500.0
    max_ratio: float = 100.0
    max_track_points: int = 2_000_000
    max_distance_km: float = 50.0
    lock_attempts: int = 5
    lock_window_s: float = 900.0
    lock_s: float = 900.0
    ip_attempts: int = 20
    session_idle_s: float = 8 * 3600.0
    calendar_file: Path | None = None
    backup_dir: Path | None = None
    api_rate_key_per_min: int = 600
    api_rate_ip_per_min: int = 120
    api_cors_origins: tuple[str, ...] = ()
    tile_url: str | None = None
    """``RIVERGRID_TILE_URL``: one or more tile URL templates of an intranet service."""
    tiles: Path | None = None
    """``RIVERGRID_TILES``: a PMTiles or MBTiles file served at ``/api/tiles/local/…``."""
    api_rate_tiles_per_min: int = 6000
    min_gap_m: float = 0.5
    public_reports_per_hour: int = 10
    access_log: Path | None = None
    """``RIVERGRID_ACCESS_LOG``: a file that gets one line per HTTP request (:mod:`ui.access_log`)."""
    object_visit_m: float = 50.0
    """``RIVERGRID_OBJECT_VISIT_M``: how near (metres) a patrol track must pass to visit an object."""
    # issue 18: notifications (:mod:`gis.notify`)
    smtp_host: str | None = None
    """``RIVERGRID_SMTP_HOST``: the mail server; unset: no e-mail is sent."""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "rivergrid@localhost"
    smtp_starttls: bool = False
    webhook_url: str | None = None
    """``RIVERGRID_WEBHOOK_URL``: where case messages are POSTed (per-grid overrides: the notify file)."""
    webhook_format: str = "auto"
    """``json``, ``wecom`` (企业微信群机器人), ``dingtalk`` (钉钉群机器人) or ``auto`` (from the URL)."""
    sms_url: str | None = None
    """``RIVERGRID_SMS_URL``: the SMS gateway's URL template (``{phone}``, ``{text}``, ``{key}``)."""
    sms_body: str = ""
    """``RIVERGRID_SMS_BODY``: the JSON body template of the SMS gateway (default ``{"phone", "text", "key"}``)."""
    notify_file: Path | None = None
    """``RIVERGRID_NOTIFY_FILE``: escalation rules and per-grid webhooks (JSON; default ``<data dir>/notify.json``)."""
    notify_interval_s: float = 300.0
    """``RIVERGRID_NOTIFY_INTERVAL_S``: the server runs a notification pass this often; 0 turns it off."""
    quiet_hours: str = ""
    """``RIVERGRID_QUIET_HOURS``: default quiet hours (``22:00-07:00``) of persons who chose none."""
    notify_lookback_h: float = 72.0
    """``RIVERGRID_NOTIFY_LOOKBACK_H``: case steps (交办, 督办…) and public reports this recent are notified."""
    # issue 18: 信息报送
    report_due_workdays: int = 5
    """``RIVERGRID_REPORT_DUE_WORKDAYS``: a period's report is due by the end of this working day
    of the next period (default 5: the 5th working day, Beijing time; see :mod:`gis.reports.periods`)."""
    report_upstream_url: str | None = None
    """``RIVERGRID_REPORT_UPSTREAM_URL``: the county or provincial platform that submitted reports
    are pushed to (:func:`gis.reports.upstream.upstream_payload`); unset: no push."""
    # issue 19: tiles of the large checks
    dask_scheduler: str = ""
    """``RIVERGRID_DASK_SCHEDULER``: ``inline``, ``local`` or a dask scheduler address; empty: automatic."""
    tile_km: float = 25.0
    """``RIVERGRID_TILE_KM``: side of the square tiles the large checks are cut into, km."""
    # issue 19: map at any size
    map_tiles_reaches: int = 3000
    """``RIVERGRID_MAP_TILES_REACHES``: above this many reaches the home map draws them from vector
    tiles by viewport (``/api/tiles/rivers/…``) instead of sending every reach."""


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _number(name: str, default: float, *, minimum: float = 0.0) -> float:
    """A positive number from the environment (``default`` when unset or unreadable)."""
    text = (os.environ.get(name) or "").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        return default
    return value if value > minimum else default


def _non_negative(name: str, default: float) -> float:
    """A number ≥ 0 from the environment (``default`` when unset, unreadable or negative)."""
    text = (os.environ.get(name) or "").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        return default
    return value if value >= 0 and value < float("inf") else default


def settings() -> Settings:
    """Read the settings from the environment now (cheap; not cached so tests can change it)."""
    data_dir = Path(os.environ.get("RIVERGRID_DATA_DIR") or PROJECT_DIR / "data")
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'rivergrid.sqlite'}"
    key = (os.environ.get("TIANDITU_KEY") or "").strip() or None
    tile_url = " ".join((os.environ.get("RIVERGRID_TILE_URL") or "").split()) or None
    tiles_text = (os.environ.get("RIVERGRID_TILES") or "").strip()
    tiles = Path(tiles_text).expanduser() if tiles_text else None
    basemap = (os.environ.get("RIVERGRID_BASEMAP") or "").strip().lower()
    configured = {"simple", "osm", "none"}
    configured |= {"tianditu_vec", "tianditu_img"} if key else set()
    configured |= {"intranet"} if tile_url else set()
    configured |= {"local"} if tiles is not None else set()
    if basemap not in configured:
        basemap = default_basemap(tile_url=tile_url, tiles=tiles)
    return Settings(
        database_url=url,
        data_dir=data_dir,
        tianditu_key=key,
        basemap=basemap,
        read_requires_login=(
            _truthy(os.environ["RIVERGRID_READ_LOGIN"])
            if (os.environ.get("RIVERGRID_READ_LOGIN") or "").strip()
            else None
        ),
        public_url=(os.environ.get("RIVERGRID_PUBLIC_URL") or "").strip().rstrip("/") or "http://localhost:8501",
        hotline=(os.environ.get("RIVERGRID_HOTLINE") or "").strip() or "12345",
        demo=_truthy(os.environ.get("RIVERGRID_DEMO")),
        max_file_mb=_number("RIVERGRID_MAX_FILE_MB", 50.0),
        max_unpacked_mb=_number("RIVERGRID_MAX_UNPACKED_MB", 500.0),
        max_ratio=_number("RIVERGRID_MAX_RATIO", 100.0, minimum=1.0),
        max_track_points=int(_number("RIVERGRID_MAX_TRACK_POINTS", 2_000_000)),
        max_distance_km=_number("RIVERGRID_MAX_DISTANCE_KM", 50.0),
        lock_attempts=int(_number("RIVERGRID_LOCK_ATTEMPTS", 5)),
        lock_window_s=_number("RIVERGRID_LOCK_WINDOW_S", 900.0),
        lock_s=_number("RIVERGRID_LOCK_S", 900.0),
        ip_attempts=int(_number("RIVERGRID_IP_ATTEMPTS", 20)),
        session_idle_s=_number("RIVERGRID_SESSION_IDLE_S", 8 * 3600.0),
        calendar_file=Path(os.environ.get("RIVERGRID_CALENDAR_FILE") or data_dir / "calendar.json"),
        backup_dir=Path(os.environ.get("RIVERGRID_BACKUP_DIR") or data_dir / "backups"),
        api_rate_key_per_min=int(_number("RIVERGRID_API_RATE_KEY", 600)),
        api_rate_ip_per_min=int(_number("RIVERGRID_API_RATE_IP", 120)),
        api_cors_origins=tuple(o.strip() for o in (os.environ.get("RIVERGRID_API_CORS") or "").split(",") if o.strip()),
        tile_url=tile_url,
        tiles=tiles,
        api_rate_tiles_per_min=int(_number("RIVERGRID_API_RATE_TILES", 6000)),
        min_gap_m=_non_negative("RIVERGRID_MIN_GAP_M", 0.5),
        public_reports_per_hour=int(_number("RIVERGRID_PUBLIC_REPORT_RATE", 10)),
        access_log=Path(access_text).expanduser()
        if (access_text := os.environ.get("RIVERGRID_ACCESS_LOG", "").strip())
        else None,
        object_visit_m=_number("RIVERGRID_OBJECT_VISIT_M", 50.0),
        # issue 18: notifications
        smtp_host=(os.environ.get("RIVERGRID_SMTP_HOST") or "").strip() or None,
        smtp_port=int(_number("RIVERGRID_SMTP_PORT", 25)),
        smtp_user=(os.environ.get("RIVERGRID_SMTP_USER") or "").strip(),
        smtp_password=os.environ.get("RIVERGRID_SMTP_PASSWORD") or "",
        smtp_from=(os.environ.get("RIVERGRID_SMTP_FROM") or "").strip() or "rivergrid@localhost",
        smtp_starttls=_truthy(os.environ.get("RIVERGRID_SMTP_STARTTLS")),
        webhook_url=(os.environ.get("RIVERGRID_WEBHOOK_URL") or "").strip() or None,
        webhook_format=(os.environ.get("RIVERGRID_WEBHOOK_FORMAT") or "").strip().lower() or "auto",
        sms_url=(os.environ.get("RIVERGRID_SMS_URL") or "").strip() or None,
        sms_body=(os.environ.get("RIVERGRID_SMS_BODY") or "").strip(),
        notify_file=Path(os.environ.get("RIVERGRID_NOTIFY_FILE") or data_dir / "notify.json"),
        notify_interval_s=_non_negative("RIVERGRID_NOTIFY_INTERVAL_S", 300.0),
        quiet_hours=(os.environ.get("RIVERGRID_QUIET_HOURS") or "").strip(),
        notify_lookback_h=_number("RIVERGRID_NOTIFY_LOOKBACK_H", 72.0),
        # issue 18: 信息报送
        report_due_workdays=max(1, int(_number("RIVERGRID_REPORT_DUE_WORKDAYS", 5))),
        report_upstream_url=(os.environ.get("RIVERGRID_REPORT_UPSTREAM_URL") or "").strip() or None,
        # issue 19: tiles
        dask_scheduler=(os.environ.get("RIVERGRID_DASK_SCHEDULER") or "").strip(),
        tile_km=_number("RIVERGRID_TILE_KM", 25.0),
        # issue 19: map at any size
        map_tiles_reaches=int(_non_negative("RIVERGRID_MAP_TILES_REACHES", 3000)),
    )

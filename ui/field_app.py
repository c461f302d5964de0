"""The phone app (``field/``, a PWA of static files) at ``/m/``.

==========================================  ==============================================
``GET  /m``                                 redirect to ``/m/``
``GET  /m/``, ``/m/report``, ``/m/case``    ``field/index.html`` (one page, routed in the browser)
``GET  /m/{file}``                          a file of ``field/`` (``app.js``, ``sw.js``, icons …)
==========================================  ==============================================

The app talks to the field API (``/api/field/v1``) and keeps its own data in IndexedDB; the server
only hands out its files. Every file is sent with ``Cache-Control: no-cache`` (the browser
revalidates with the ETag; the service worker keeps the offline copy), and the service worker
``sw.js`` also with ``Service-Worker-Allowed: /m/`` so its scope is the whole app. The vendored
libraries it loads (Leaflet, protomaps-leaflet, idb-keyval) stay under ``/app/static/vendor/``.

``sw.js`` is sent with ``__SHELL_VERSION__`` replaced by a digest of the app's files and of the
static files it caches (:func:`shell_version`): a release that changes any of them changes the
service worker's bytes, so phones install the new one and drop the old cached shell.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from types import MappingProxyType

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

__all__ = ["CONTENT_TYPES", "FIELD_DIR", "PAGES", "routes", "shell_version"]

REPO = Path(__file__).resolve().parent.parent
FIELD_DIR = REPO / "field"
"""Folder of the phone app's files (``field/`` at the top of the checkout)."""

SHARED_FILES = (REPO / "static" / "vendor" / "VERSIONS.txt", REPO / "static" / "rivergrid" / "basemap.js")
"""Files outside ``field/`` whose change must renew the cached shell (the vendored libraries
change only with ``VERSIONS.txt``)."""

PAGES = ("", "report", "case")
"""Paths under ``/m/`` that open the app's page (``""``: the signed-in app)."""

CONTENT_TYPES = MappingProxyType(
    {
        ".html": "text/html; charset=utf-8",
        ".js": "text/javascript; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".webmanifest": "application/manifest+json",
        ".json": "application/json",
        ".png": "image/png",
        ".svg": "image/svg+xml",
    }
)
"""Content type by file extension; files of other types are not served."""

NO_CACHE = "no-cache"
SERVICE_WORKER = "sw.js"
SCOPE = "/m/"
VERSION_MARK = "__SHELL_VERSION__"


@cache
def shell_version() -> str:
    """Digest (16 hex digits) of every file of ``field/`` and of :data:`SHARED_FILES`, computed once
    per process (the files change only with a release)."""
    digest = hashlib.sha256()
    files = sorted(p for p in FIELD_DIR.rglob("*") if p.is_file()) + [p for p in SHARED_FILES if p.is_file()]
    for path in files:
        digest.update(path.relative_to(REPO).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@cache
def _service_worker_body() -> bytes:
    return (FIELD_DIR / SERVICE_WORKER).read_text(encoding="utf-8").replace(VERSION_MARK, shell_version()).encode()


def _not_found() -> Response:
    return PlainTextResponse("没有这个文件", status_code=404, headers={"Cache-Control": NO_CACHE})


def _file(relative: str, root_path: str = "") -> Response:
    path = (FIELD_DIR / relative).resolve()
    content_type = CONTENT_TYPES.get(path.suffix)
    if content_type is None or not path.is_relative_to(FIELD_DIR) or not path.is_file():
        return _not_found()
    headers = {"Cache-Control": NO_CACHE, "X-Content-Type-Options": "nosniff"}
    if relative == SERVICE_WORKER:
        headers["Service-Worker-Allowed"] = root_path.rstrip("/") + SCOPE  # behind a path prefix too
        return Response(_service_worker_body(), media_type=content_type, headers=headers)
    return FileResponse(path, media_type=content_type, headers=headers)


async def page(request: Request) -> Response:
    return _file("index.html")


async def asset(request: Request) -> Response:
    relative = str(request.path_params["path"])
    if relative in PAGES:
        return _file("index.html")
    return _file(relative, str(request.scope.get("root_path", "")))


async def to_app(request: Request) -> Response:
    return RedirectResponse(request.url.replace(path=request.url.path + "/"), status_code=308)


def routes() -> list[BaseRoute]:
    """The routes of the phone app, to be mounted at the server's root."""
    return [
        Route("/m", to_app, methods=["GET", "HEAD"]),
        Route("/m/", page, methods=["GET", "HEAD"]),
        Route("/m/{path:path}", asset, methods=["GET", "HEAD"]),
    ]

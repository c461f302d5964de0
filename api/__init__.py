"""RiverGrid's HTTP API, served under ``/api/`` by the same process as the pages (``asgi.py``).

* ``/api/open311/v2/``: Open311 GeoReport v2 (:mod:`api.open311`): the incident categories as
  services, reports in (a key needed), requests out with public fields only.
* ``/api/field/v1/``: the field app (:mod:`api.field`): device sign-in, patrols and reports
  from phones, residents' reports from the signboard and their 查询码.
* ``/api/ogc/``: OGC API Features (:mod:`api.ogc`): rivers, reaches, grids, objects, blind
  spots, incidents and tracks as GeoJSON collections, with an OpenAPI document.

Routes are thin: they read parameters, call the services of :mod:`gis` (the same ones the pages
and the command line call) in a session acting as the key's account (:mod:`api.common`), and
answer JSON (or XML where Open311 asks for it). Every error is a JSON body with a Chinese
``message`` and an English ``reason``; guards (:mod:`api.guards`) limit request rates and sizes.
The API holds no state between requests: behind nginx, any worker process can answer any API
request (the pages, unlike it, need sticky sessions).
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from api import field, ogc, open311, tiles
from api.common import ApiError, api_root, as_api_error, error_response
from api.guards import BodyLimit, RateLimits
from gis.config import settings
from gis.errors import RiverGridError

__all__ = ["api_app"]

log = logging.getLogger("rivergrid.api")


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if exc.status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc.reason)
    return error_response(exc.status, exc.message, exc.reason, exc.headers)


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RiverGridError)
    err = as_api_error(exc)
    log.info("%s %s: %s %s", request.method, request.url.path, err.status, err.reason)
    return error_response(err.status, err.message, err.reason)


HTTP_MESSAGES = {
    400: "请求格式有误",
    404: "没有这个接口地址",
    405: "该接口地址不支持此请求方法",
    413: "请求内容过大",
}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = HTTP_MESSAGES.get(exc.status_code, "请求无法处理")
    if exc.status_code == 404:
        message += f"：{request.url.path}"
    elif exc.status_code == 405:
        message += f"：{request.method}"
    return error_response(exc.status_code, message, str(exc.detail), exc.headers)


async def _internal(request: Request, exc: Exception) -> Response:
    log.exception("%s %s failed", request.method, request.url.path)
    return error_response(500, "内部错误，请联系管理员", f"internal error: {type(exc).__name__}")


async def _index(request: Request) -> Response:
    base = api_root(request)
    body: dict[str, Any] = {
        "title": "河长网格 RiverGrid 开放接口",
        "links": [
            {"rel": "service", "title": "Open311 GeoReport v2", "href": f"{base}/open311/v2/discovery.json"},
            {"rel": "service", "title": "OGC API - Features", "href": f"{base}/ogc/"},
            {"rel": "service-desc", "title": "OpenAPI 3", "href": f"{base}/ogc/openapi"},
        ],
    }
    return JSONResponse(body)


def api_app() -> Starlette:
    """The API as one ASGI application, to be mounted at ``/api``."""
    middleware = [Middleware(BodyLimit), Middleware(RateLimits)]
    origins = settings().api_cors_origins
    if origins:
        middleware.insert(
            0,
            Middleware(
                CORSMiddleware,
                allow_origins=list(origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["X-API-Key", "Authorization", "Content-Type"],
                max_age=600,
            ),
        )
    return Starlette(
        routes=[
            Route("/", _index),
            Mount("/open311/v2", routes=open311.routes()),
            Mount("/ogc", routes=ogc.routes()),
            Mount("/tiles", routes=tiles.routes()),
            Mount("/field/v1", routes=field.routes()),
        ],
        middleware=middleware,
        exception_handlers={
            ApiError: _api_error,
            RiverGridError: _domain_error,
            HTTPException: _http_error,
            Exception: _internal,
        },
    )

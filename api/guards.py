"""Guards in front of every API route: rate limits, body size, CORS.

* **Rate limits** (:class:`RateLimits`): requests with a key count against that key
  (``RIVERGRID_API_RATE_KEY`` per minute), requests without one against the client's address
  (``RIVERGRID_API_RATE_IP``). Over the limit: 429 with ``Retry-After`` (seconds) and the usual
  JSON error body. The counts are the `limits` library's moving window, kept in this process's
  memory: behind nginx with several worker processes each keeps its own count (README, 生产部署),
  so the limits hold per process. A key sent only inside a form body (Open311's ``api_key`` field)
  is counted by the route once it has read the form (:func:`check_form_rate`).
* **Map tiles** (``/api/tiles/``, :mod:`api.tiles`) have a budget of their own, much higher
  (``RIVERGRID_API_RATE_TILES`` per minute per address or key): one map view loads dozens of tiles
  at once, and they must neither be refused under the API's limit nor use it up.
* **Body size** (:class:`BodyLimit`): a request body larger than ``RIVERGRID_MAX_FILE_MB`` (the
  upload limit of issue "Production-safe") is refused with 413 before it is read whole, whether
  it announces its length or streams.
* **Public reports** of the field app (``POST /api/field/v1/public/reports``: residents, no
  account) have a budget of their own per client address, ``RIVERGRID_PUBLIC_REPORT_RATE`` per
  hour (:func:`check_public_report_rate`), counted before the form is read, on top of the
  per-address limit.
* **CORS** is off unless ``RIVERGRID_API_CORS`` names origins (Starlette's middleware).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from limits import RateLimitItemPerHour, RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers, QueryParams

from api.common import ApiError, carried_key, error_body
from gis.accounts.signin import client_address
from gis.config import settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = [
    "BodyLimit",
    "RateLimits",
    "check_form_rate",
    "check_public_report_rate",
    "check_rate",
    "is_tile_request",
    "limit_identity",
]


async def _send_error(send: Send, status: int, message: str, reason: str, headers: dict[str, str]) -> None:
    body = json.dumps(error_body(status, message, reason), ensure_ascii=False).encode("utf-8")
    raw = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _key_identity(key: str) -> str:
    """What a key's requests are counted under (a digest: the key itself is never kept)."""
    return "key:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def limit_identity(scope: Scope) -> tuple[str, bool]:
    """Who a request counts against: ``("key:<digest>", True)`` for a key in the header, bearer
    token or query string; ``("ip:<address>", False)`` otherwise."""
    headers = Headers(scope=scope)
    key = (carried_key(headers, QueryParams(scope.get("query_string", b""))) or "").strip()
    if key:
        return _key_identity(key), True
    peer = scope.get("client")
    return "ip:" + client_address(peer[0] if peer else None, dict(headers)), False


_limiter = MovingWindowRateLimiter(MemoryStorage())


TILE_PREFIX = "/tiles/"
"""Paths under the API (``/api/tiles/…``) counted against the tile budget."""


def is_tile_request(scope: Scope) -> bool:
    """Whether the request asks for map tiles (``/api/tiles/…``)."""
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", ""))
    if root and path.startswith(root):
        path = path[len(root) :]
    return path.startswith(TILE_PREFIX)


def check_rate(identity: str, keyed: bool, *, tiles: bool = False) -> None:
    """Count one request of ``identity`` (see :func:`limit_identity`); :class:`ApiError` 429 with
    ``Retry-After`` when it is over its limit. ``tiles``: a map tile, counted in its own budget."""
    config = settings()
    per_minute = config.api_rate_key_per_min if keyed else config.api_rate_ip_per_min
    if tiles:
        per_minute, identity = config.api_rate_tiles_per_min, "tiles:" + identity
    item = RateLimitItemPerMinute(per_minute)
    if _limiter.hit(item, identity):
        return
    reset_at, _ = _limiter.get_window_stats(item, identity)
    wait_s = max(1, math.ceil(reset_at - time.time()))
    who = "该接口密钥" if keyed else "该地址"
    raise ApiError(
        429,
        f"请求过于频繁：{who}每分钟最多 {per_minute} 次，请 {wait_s} 秒后再试",
        f"rate limit of {per_minute}/minute exceeded",
        {"Retry-After": str(wait_s)},
    )


def _form_post(scope: Scope) -> bool:
    content_type = Headers(scope=scope).get("content-type", "").lower()
    return scope.get("method") == "POST" and content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    )


class RateLimits:
    """ASGI middleware: per-key and per-address request limits (see the module notes).

    A form POST without a key in its headers or query string is not counted here: the route
    reads the form and counts it by the ``api_key`` field, or by address when it has none
    (:func:`check_form_rate`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        identity, keyed = limit_identity(scope)
        if not keyed and _form_post(scope):
            scope.setdefault("state", {})["rate_deferred"] = True
            await self.app(scope, receive, send)
            return
        try:
            check_rate(identity, keyed, tiles=is_tile_request(scope))
        except ApiError as exc:
            await _send_error(send, exc.status, exc.message, exc.reason, exc.headers)
            return
        await self.app(scope, receive, send)


def check_form_rate(scope: Scope, form_key: str | None) -> None:
    """Count a form POST the middleware left to its route: by the form's ``api_key``, else by
    address."""
    if not scope.get("state", {}).get("rate_deferred"):
        return
    if form_key:
        check_rate(_key_identity(form_key), True)
    else:
        check_rate(limit_identity(scope)[0], False)


def check_public_report_rate(scope: Scope) -> None:
    """Count one public report from the request's client address against
    ``RIVERGRID_PUBLIC_REPORT_RATE`` per hour; :class:`ApiError` 429 (Chinese, ``Retry-After``)
    when it is over."""
    per_hour = settings().public_reports_per_hour
    peer = scope.get("client")
    identity = "public-report:" + client_address(peer[0] if peer else None, dict(Headers(scope=scope)))
    item = RateLimitItemPerHour(per_hour)
    if _limiter.hit(item, identity):
        return
    reset_at, _ = _limiter.get_window_stats(item, identity)
    wait_s = max(1, math.ceil(reset_at - time.time()))
    raise ApiError(
        429,
        f"举报过于频繁：同一网络地址每小时最多提交 {per_hour} 次，请约 {max(1, math.ceil(wait_s / 60))} 分钟后再试；"
        "情况紧急请拨打监督电话",
        f"public report limit of {per_hour}/hour exceeded",
        {"Retry-After": str(wait_s)},
    )


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``RIVERGRID_MAX_FILE_MB`` with 413."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit_mb = settings().max_file_mb
        limit = int(limit_mb * 1024 * 1024)
        message = f"请求内容过大：最多 {limit_mb:g} MB"
        reason = f"request body over {limit} bytes"
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_error(send, 413, message, reason, {})
            return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return msg

        async def watched_send(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, counted_receive, watched_send)
        except _TooLarge:
            if not started:
                await _send_error(send, 413, message, reason, {})


class _TooLarge(Exception):
    """Raised inside the app when the body grows past the limit (answered with 413)."""

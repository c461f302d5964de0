"""Guards in front of every API route: rate limits, body size, CORS.

* **Rate limits** (:class:`RateLimits`): requests with a key count against that key
  (``RIVERGRID_API_RATE_KEY`` per minute), requests without one against the client's address
  (``RIVERGRID_API_RATE_IP``). Over the limit: 429 with ``Retry-After`` (seconds) and the usual
  JSON error body. The counts are the `limits` library's moving window, kept in this process's
  memory: behind nginx with several worker processes each keeps its own count (README, 生产部署),
  so the limits hold per process. A key sent only inside a form body (Open311's ``api_key`` field)
  is counted by address: the guard does not read bodies.
* **Body size** (:class:`BodyLimit`): a request body larger than ``RIVERGRID_MAX_FILE_MB`` (the
  upload limit of issue "Production-safe") is refused with 413 before it is read whole, whether
  it announces its length or streams.
* **CORS** is off unless ``RIVERGRID_API_CORS`` names origins (Starlette's middleware).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers, QueryParams

from api.common import error_body
from gis.accounts.signin import client_address
from gis.config import settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["BodyLimit", "RateLimits", "limit_identity"]


async def _send_error(send: Send, status: int, message: str, reason: str, headers: dict[str, str]) -> None:
    body = json.dumps(error_body(status, message, reason), ensure_ascii=False).encode("utf-8")
    raw = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def limit_identity(scope: Scope) -> tuple[str, bool]:
    """Who a request counts against: ``("key:<digest>", True)`` for a key in the header, bearer
    token or query string; ``("ip:<address>", False)`` otherwise."""
    headers = Headers(scope=scope)
    key = headers.get("x-api-key") or ""
    auth = headers.get("authorization", "")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:]
    if not key:
        key = QueryParams(scope.get("query_string", b"")).get("api_key") or ""
    key = key.strip()
    if key:
        return "key:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:24], True
    peer = scope.get("client")
    return "ip:" + client_address(peer[0] if peer else None, dict(headers)), False


class RateLimits:
    """ASGI middleware: per-key and per-address request limits (see the module notes)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        identity, keyed = limit_identity(scope)
        config = settings()
        per_minute = config.api_rate_key_per_min if keyed else config.api_rate_ip_per_min
        item = RateLimitItemPerMinute(per_minute)
        if not self.limiter.hit(item, identity):
            reset_at, _ = self.limiter.get_window_stats(item, identity)
            wait_s = max(1, math.ceil(reset_at - time.time()))
            who = "该接口密钥" if keyed else "该地址"
            await _send_error(
                send,
                429,
                f"请求过于频繁：{who}每分钟最多 {per_minute} 次，请 {wait_s} 秒后再试",
                f"rate limit of {per_minute}/minute exceeded",
                {"Retry-After": str(wait_s)},
            )
            return
        await self.app(scope, receive, send)


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

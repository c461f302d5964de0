"""Static files sent gzipped, each compressed once per server process.

Streamlit serves its frontend bundles (~3 MB of JavaScript) uncompressed, expecting a
compressing proxy in front, and compresses ``/app/static`` (our vendored Leaflet and plugins)
again on every request, on the event loop. An intranet deployment of RiverGrid usually has no
such proxy and slow links, so the bytes matter; but compressing on every request costs every
new visitor ~0.2 s of server CPU during which other requests wait.

:func:`install` makes Streamlit's gzip middleware answer ``GET`` requests for ``/static/…`` and
``/app/static/…`` itself: the response still comes from Streamlit's own handlers (headers,
caching rules, ETag, 304, 404 unchanged); only the body of a complete, compressible ``200``
response is replaced by its gzip, taken from a small in-memory cache keyed by path and ETag
(so a changed file is compressed anew). Everything else goes through Streamlit unchanged.

``RIVERGRID_GZIP_STATIC=0`` turns this off (e.g. behind nginx that compresses).
"""

from __future__ import annotations

import gzip
import os
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

STATIC_PREFIXES = ("/static/", "/app/static/")
"""Request paths (after the base URL) served from files that change only with a release."""

COMPRESSIBLE_TYPES = (
    "text/",
    "application/javascript",
    "application/json",
    "image/svg+xml",
    "application/xml",
    "application/wasm",
)
MINIMUM_SIZE = 500
COMPRESS_LEVEL = 6
CACHE_LIMIT_BYTES = 48_000_000


class GzipCache:
    """Compressed bodies by key, least recently used dropped beyond ``limit_bytes``."""

    def __init__(self, limit_bytes: int = CACHE_LIMIT_BYTES) -> None:
        self.limit_bytes = limit_bytes
        self._items: OrderedDict[tuple[str, str, int], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.compressions = 0

    def get(self, key: tuple[str, str, int], body: bytes) -> bytes:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        packed = gzip.compress(body, compresslevel=COMPRESS_LEVEL, mtime=0)
        with self._lock:
            self.compressions += 1
            if key not in self._items:
                self._items[key] = packed
                self._size += len(packed)
            while self._size > self.limit_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)
        return packed


CACHE = GzipCache()


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def wants_memo(scope: MutableMapping[str, Any], route_path: str) -> bool:
    """A ``GET`` of a whole static file (no ``Range``) from a client that accepts gzip."""
    if scope.get("type") != "http" or scope.get("method") != "GET":
        return False
    if not route_path.startswith(STATIC_PREFIXES):
        return False
    headers = dict((k.lower(), v) for k, v in scope.get("headers", ()))
    return b"gzip" in headers.get(b"accept-encoding", b"") and b"range" not in headers


async def serve_memoized(
    app: Callable[..., Awaitable[None]],
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[Message]],
    send: Send,
    cache: GzipCache = CACHE,
) -> None:
    """Run ``app`` for the request, then send its response with the body gzipped from ``cache``."""
    start: Message | None = None
    chunks: list[bytes] = []
    others: list[Message] = []

    async def capture(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
        else:
            others.append(message)

    await app(scope, receive, capture)
    if start is None:
        return
    body = b"".join(chunks)
    headers = [(k, v) for k, v in start.get("headers", [])]
    content_type = _header(headers, b"content-type")
    compress = (
        start["status"] == 200
        and not _header(headers, b"content-encoding")
        and len(body) >= MINIMUM_SIZE
        and content_type.startswith(COMPRESSIBLE_TYPES)
    )
    if compress:
        key = (scope.get("path", ""), _header(headers, b"etag") or _header(headers, b"last-modified"), len(body))
        body = cache.get(key, body)
        headers = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"content-encoding", b"vary")]
        headers += [
            (b"content-encoding", b"gzip"),
            (b"content-length", str(len(body)).encode()),
            (b"vary", b"Accept-Encoding"),
        ]
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
    for message in others:
        await send(message)


def install() -> bool:
    """Hook :func:`serve_memoized` into Streamlit's gzip middleware; False when turned off."""
    if os.environ.get("RIVERGRID_GZIP_STATIC", "1") == "0":
        return False
    from streamlit.web.server.starlette import starlette_gzip_middleware as gz  # noqa: PLC0415 — Streamlit's server internals only when serving

    middleware = gz.SelectiveGZipMiddleware
    if getattr(middleware, "_rivergrid_memo", False):
        return True
    original = middleware.__call__

    async def call(self: Any, scope: MutableMapping[str, Any], receive: Any, send: Send) -> None:
        if scope.get("type") == "http":
            route_path = gz._strip_base_url(gz._route_path(scope), self._base_url)
            if wants_memo(scope, route_path):
                await serve_memoized(self.app, scope, receive, send)
                return
        await original(self, scope, receive, send)

    middleware.__call__ = call  # type: ignore[method-assign]
    middleware._rivergrid_memo = True  # type: ignore[attr-defined]
    return True


__all__ = ["CACHE", "GzipCache", "install", "serve_memoized", "wants_memo"]

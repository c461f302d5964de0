"""ui.static_gzip: a static file's response is gzipped once per process and otherwise unchanged."""

from __future__ import annotations

import asyncio
import gzip
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ui.static_gzip import GzipCache, serve_memoized, wants_memo

JS = b"function f(){return 1}\n" * 200


def fake_app(status: int = 200, body: bytes = JS, content_type: bytes = b"application/javascript",
             extra: list[tuple[bytes, bytes]] | None = None):  # type: ignore[no-untyped-def]
    calls = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["path"])
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                   (b"etag", b'"v1"'), *(extra or [])]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        half = len(body) // 2  # like FileResponse: the body in chunks
        await send({"type": "http.response.body", "body": body[:half], "more_body": True})
        await send({"type": "http.response.body", "body": body[half:], "more_body": False})

    app.calls = calls  # type: ignore[attr-defined]
    return app


def run(app: Any, cache: GzipCache, path: str = "/static/js/x.js") -> tuple[dict, bytes]:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:
        return {"type": "http.request"}

    scope = {"type": "http", "method": "GET", "path": path, "headers": [(b"accept-encoding", b"gzip, br")]}
    # in a thread of its own: other tests (Playwright, AppTest) may leave an event loop running here
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(serve_memoized(app, scope, receive, send, cache))).result()
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:] if m["type"] == "http.response.body")
    return {k.decode(): v.decode() for k, v in start["headers"]} | {"status": start["status"]}, body


def test_compressed_once_and_the_same_file_after_decompressing() -> None:
    cache, app = GzipCache(), fake_app()
    first_headers, first = run(app, cache)
    second_headers, second = run(app, cache)
    assert cache.compressions == 1 and len(app.calls) == 2  # the handler still answers each request
    assert first == second and gzip.decompress(first) == JS
    assert first_headers["content-encoding"] == "gzip" and int(first_headers["content-length"]) == len(first)
    assert first_headers["etag"] == '"v1"' and first_headers["status"] == 200


def test_other_answers_pass_unchanged() -> None:
    cache = GzipCache()
    for app in (fake_app(status=304, body=b""), fake_app(status=404, body=b"Not Found" * 100),
                fake_app(content_type=b"image/png", body=b"\x89PNG" * 300), fake_app(body=b"tiny")):
        headers, body = run(app, cache)
        assert "content-encoding" not in headers
    assert cache.compressions == 0


def test_a_changed_file_is_compressed_anew() -> None:
    cache = GzipCache()
    run(fake_app(), cache)
    _, body = run(fake_app(body=JS + b"//2", extra=[]), cache)
    assert gzip.decompress(body) == JS + b"//2" and cache.compressions == 2


def test_cache_stays_within_its_limit() -> None:
    cache = GzipCache(limit_bytes=300)
    for i in range(20):
        run(fake_app(body=JS + str(i).encode()), cache, path=f"/static/js/{i}.js")
    assert sum(len(v) for v in cache._items.values()) <= 300


def test_only_whole_static_gets_from_gzip_clients() -> None:
    gz = [(b"accept-encoding", b"gzip")]
    assert wants_memo({"type": "http", "method": "GET", "headers": gz}, "/static/js/a.js")
    assert wants_memo({"type": "http", "method": "GET", "headers": gz}, "/app/static/vendor/leaflet/leaflet.js")
    assert not wants_memo({"type": "http", "method": "GET", "headers": gz}, "/_stcore/health")
    assert not wants_memo({"type": "http", "method": "GET", "headers": []}, "/static/js/a.js")
    assert not wants_memo({"type": "http", "method": "POST", "headers": gz}, "/static/js/a.js")
    assert not wants_memo({"type": "http", "method": "GET", "headers": gz + [(b"range", b"bytes=0-9")]},
                          "/static/js/a.js")

"""An access log of the one process that serves everything: one line per HTTP request, written
when ``RIVERGRID_ACCESS_LOG`` names a file (:func:`gis.config.settings`).

Each line is ``<UTC time ISO 8601> <client address> <method> <path> <status>``, tab-separated. The
query string is left out (an API key may travel in it), and so are WebSocket connections (the
pages' traffic after the first load). A deployment behind nginx has nginx's log too; this one
also sees what nginx does not forward and what reaches the process directly, and the browser
tests read it to know that nothing reached the server while a phone was offline.

An ASGI middleware (:class:`AccessLog`), given to ``st.App`` in ``asgi.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["AccessLog"]

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class AccessLog:
    """ASGI middleware appending one line per HTTP request to ``path`` (nothing when None)."""

    def __init__(self, app: ASGIApp, path: Path | None = None) -> None:
        self.app = app
        self.path = path
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.path is None or scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        request = (str(scope.get("method", "-")), str(scope.get("path", "")))
        client = scope.get("client")  # read now: the routes below rewrite the scope
        address = str(client[0]) if client else "-"
        written = False

        async def log_at_start(message: Message) -> None:
            # the line is written before the response goes out: whoever saw the answer finds it logged
            nonlocal written
            if message.get("type") == "http.response.start" and not written:
                written = True
                self._write(address, *request, int(message.get("status", 0)))
            await send(message)

        try:
            await self.app(scope, receive, log_at_start)
        finally:
            if not written:  # no response was started (the app failed or the client left)
                self._write(address, *request, 0)

    def _write(self, client: str, method: str, path: str, status: int) -> None:
        line = "\t".join(
            (
                datetime.now(UTC).isoformat(timespec="milliseconds"),
                client,
                method,
                path.replace("\t", " ").replace("\n", " "),
                str(status or "-"),
            )
        )
        assert self.path is not None
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")

"""What every API route shares: who is calling, sessions, errors as JSON, body limits.

* **Caller.** A key comes in the ``X-API-Key`` header, as ``Authorization: Bearer <key>``, or as
  the ``api_key`` parameter (query or form: Open311 clients send it so). :func:`caller` turns it
  into the account's :class:`~gis.auth.Actor` (:func:`gis.accounts.keys.actor_for_key`); no key is
  the anonymous caller (``None``); a wrong, revoked or disabled key is refused (401), never treated
  as anonymous.
* **Errors.** Every error is a JSON body ``{"code", "message", "reason", "description"}``: the
  Chinese ``message`` for people, the English ``reason`` for logs and programs (``description``
  repeats the message for Open311 and OGC clients, whose specifications name it so). Domain
  errors (:mod:`gis.errors`) map to HTTP statuses in :data:`STATUS_OF`.
* **Sessions.** Routes are plain functions run in Starlette's thread pool; each opens one
  session of the process's store (:func:`gis.serving.process_store`) acting as the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gis.accounts.keys import actor_for_key
from gis.accounts.signin import client_address
from gis.auth import Actor
from gis.errors import (
    AuthenticationError,
    ConflictError,
    LimitError,
    NotFoundError,
    PermissionDenied,
    RiverGridError,
    TooFarError,
)
from gis.serving import process_store

__all__ = [
    "ApiError",
    "STATUS_OF",
    "address_of",
    "api_root",
    "caller",
    "carried_key",
    "error_body",
    "error_response",
    "key_of",
    "session_for",
]

log = logging.getLogger("rivergrid.api")

STATUS_OF: tuple[tuple[type[RiverGridError], int], ...] = (
    (AuthenticationError, 401),
    (PermissionDenied, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (LimitError, 413),
    (TooFarError, 422),
)
"""HTTP status of each domain error (checked in this order); any other is 400."""


class ApiError(Exception):
    """An HTTP error with a Chinese message and an English reason (raised by routes)."""

    def __init__(self, status: int, message: str, reason: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.message = message
        self.reason = reason
        self.headers = dict(headers or {})


def error_body(status: int, message: str, reason: str) -> dict[str, Any]:
    return {"code": status, "message": message, "reason": reason, "description": message}


def error_response(status: int, message: str, reason: str, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse(error_body(status, message, reason), status_code=status, headers=dict(headers or {}))


def as_api_error(exc: RiverGridError) -> ApiError:
    """A domain error as the HTTP error it answers with."""
    status = next((code for kind, code in STATUS_OF if isinstance(exc, kind)), 400)
    return ApiError(status, exc.message_zh, exc.reason_en or type(exc).__name__)


def carried_key(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The API key in the ``X-API-Key`` header, a bearer token or the query's ``api_key``, if any
    (as sent: not stripped)."""
    key = headers.get("x-api-key")
    if not key:
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            key = auth[7:]
    return key or query.get("api_key") or None


def key_of(request: Request, form: Mapping[str, Any] | None = None) -> str | None:
    """The API key the request carries (header, bearer token, query or form ``api_key``), if any."""
    key = carried_key(request.headers, request.query_params)
    if not key and form is not None:
        value = form.get("api_key")
        key = value if isinstance(value, str) else None
    key = (key or "").strip()
    return key or None


def api_root(request: Request) -> str:
    """Absolute URL of ``/api`` as the client reached it (scheme, host and any path prefix)."""
    root = str(request.scope.get("root_path", ""))
    cut = root.find("/api")
    prefix = root[: cut + 4] if cut >= 0 else root + "/api"
    return f"{request.url.scheme}://{request.url.netloc}{prefix}"


def address_of(request: Request) -> str:
    """The client's address (the proxy's ``X-Real-IP`` when the peer is this machine)."""
    return client_address(request.client.host if request.client else None, request.headers)


def caller(session: Any, key: str | None) -> Actor | None:
    """The account a key acts as (None: no key, the anonymous caller); a bad key is a 401."""
    if key is None:
        return None
    try:
        return actor_for_key(session, key)
    except AuthenticationError as exc:
        raise ApiError(401, exc.message_zh, exc.reason_en, {"WWW-Authenticate": 'Bearer realm="rivergrid"'}) from None


@contextmanager
def session_for(key: str | None, *, write: bool = False) -> Iterator[tuple[Any, Actor | None]]:
    """One session of the process's store acting as the key's account (read-only without a key).

    The key is checked in a read session first; a write session then acts as that account (its
    role checked by the store on every flush, its name in the audit log)."""
    store = process_store()
    if not write:
        with store.session() as s:
            actor = caller(s, key)
            s.info["actor"] = actor
            yield s, actor
        return
    with store.session() as s:
        actor = caller(s, key)
    if actor is None:
        raise ApiError(401, "此操作需要接口密钥（X-API-Key 或 api_key 参数）", "API key required")
    with store.session(actor) as s:
        yield s, actor

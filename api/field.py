"""The field app's API at ``/api/field/v1/`` (the services: :mod:`gis.field.service`; the app: ``/m/``).

=============================================  ====================================================
``POST   session``                             sign a phone in (JSON ``username``, ``password``,
                                               ``device``): a key for the device
``DELETE session``                             sign out: revoke the key the request carries (204)
``GET    me``                                  我的: account, grids, reaches, categories, this
                                               period's patrols and the account's reports
``POST   patrols``                             a recorded patrol (JSON ``client_id``, ``fixes``,
                                               ``name``): 201 stored, 200 sent before
``POST   reports``                             a report (multipart: ``client_id``, ``category``,
                                               ``description``, ``lon``, ``lat``,
                                               ``patrol_client_id``, ``photo`` files): 201 / 200
``POST   inspections``                         an inspection record of a supervised object
                                               (multipart: ``client_id``, ``object_id``,
                                               ``note``, one ``photo``): 201 / 200
``GET    public/challenge``                    a proof-of-work challenge for a public report
``GET    public/place?grid=ID|reach=ID``       the grid (and reach) of a signboard, centre, bounds
``POST   public/reports``                      a resident's report (multipart: ``token``,
                                               ``nonce``, ``client_id``, ``category``,
                                               ``description``, ``phone``, ``lon``/``lat`` or
                                               ``grid``/``reach``, ``photo`` files): 201 / 200
``GET    public/cases/{query_code}``           the public state of a resident's case
=============================================  ====================================================

Signed-in routes take the device key as ``Authorization: Bearer <key>`` (or ``X-API-Key``). Every
error is the API's JSON error (Chinese ``message``, English ``reason``). Unusable patrols answer
422; a locked account or address 429; a password that must first be changed on the web page 403;
public reports have a per-address budget (429, :func:`api.guards.check_public_report_rate`), the
body limit (413) and the challenge (400).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.common import ApiError, address_of, key_of, session_for
from api.guards import check_form_rate, check_public_report_rate
from gis import clock
from gis.config import settings
from gis.errors import AuthenticationError, ValidationError
from gis.field import core
from gis.field import public as field_public
from gis.field import service as field
from gis.field.inspections import submit_inspection
from gis.incidents.attachments import MAX_BYTES, MAX_FILES
from gis.serving import process_store

__all__ = ["routes"]

MAX_FORM_FIELDS = 40
PHOTO_FIELDS = ("photo", "photos", "media")
MAX_PUBLIC_PHOTOS = 5
"""Most photos of one resident's report (an account's report: :data:`MAX_FILES`, as Open311)."""


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "请求内容不是有效的 JSON", "body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "请求内容应为 JSON 对象", "body is not a JSON object")
    return body


def _check_photo_sizes(photos: list[tuple[str, bytes]], max_files: int) -> None:
    """413 for too many photos or one over the photo limit (before anything is decoded)."""
    if len(photos) > max_files:
        raise ApiError(413, f"照片过多：一次最多 {max_files} 张（收到 {len(photos)} 张）", "too many photos")
    for name, data in photos:
        if len(data) > MAX_BYTES:
            raise ApiError(
                413,
                f"照片“{name}”过大：{len(data) / 1048576:.1f} MB，每张最多 {MAX_BYTES // 1048576} MB",
                "photo over the size limit",
            )


async def _form(request: Request) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    fields: dict[str, Any] = {}
    photos: list[tuple[str, bytes]] = []
    async with request.form(max_files=MAX_FILES, max_fields=MAX_FORM_FIELDS) as form:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name in PHOTO_FIELDS and value.filename:
                    photos.append((value.filename or "photo.jpg", await value.read()))
            elif name not in fields:
                fields[name] = value
    return fields, photos


def _required_key(request: Request) -> str:
    key = key_of(request)
    if key is None:
        raise ApiError(
            401, "请先登录（请求中缺少手机端的登录密钥）", "device key required", {"WWW-Authenticate": "Bearer"}
        )
    return key


def _answer(body: dict[str, Any], created: bool) -> Response:
    return JSONResponse(body, status_code=201 if created else 200)


# ---------------------------------------------------------------------------------------------
# Signed in
# ---------------------------------------------------------------------------------------------


async def sign_in(request: Request) -> Response:
    body = await _json(request)
    ip = address_of(request)

    def work() -> field.DeviceSession:
        return field.sign_in_device(
            process_store(),
            str(body.get("username") or ""),
            str(body.get("password") or ""),
            str(body.get("device") or ""),
            ip=ip,
        )

    try:
        done = await run_in_threadpool(work)
    except AuthenticationError as exc:
        if exc.reason_en == "locked":
            wait = {"Retry-After": str(int(settings().lock_s))}
            raise ApiError(429, exc.message_zh, "sign-in locked", wait) from None
        raise ApiError(401, exc.message_zh, exc.reason_en or "invalid credentials") from None
    return JSONResponse(done.body)


def sign_out(request: Request) -> Response:
    field.sign_out_device(process_store(), _required_key(request))
    return Response(status_code=204)


def me(request: Request) -> Response:
    with session_for(_required_key(request)) as (s, _actor):
        return JSONResponse(field.me(s))


async def patrols(request: Request) -> Response:
    key = _required_key(request)
    body = await _json(request)

    def work() -> tuple[dict[str, Any], bool]:
        with session_for(key, write=True) as (s, _actor):
            return field.submit_patrol(
                s,
                client_id=body.get("client_id"),
                fixes=body.get("fixes"),
                name=body.get("name"),
                max_points=settings().max_track_points,
            )

    try:
        answer, created = await run_in_threadpool(work)
    except ValidationError as exc:  # unusable fixes, too short, far away: nothing stored
        raise ApiError(422, exc.message_zh, exc.reason_en or "patrol not usable") from None
    return _answer(answer, created)


async def reports(request: Request) -> Response:
    key = _required_key(request)
    fields, photos = await _form(request)
    check_form_rate(request.scope, key)
    _check_photo_sizes(photos, MAX_FILES)

    def work() -> tuple[dict[str, Any], bool]:
        with session_for(key, write=True) as (s, _actor):
            return field.submit_report(
                s,
                client_id=fields.get("client_id"),
                category=fields.get("category"),
                description=fields.get("description"),
                lon=fields.get("lon"),
                lat=fields.get("lat"),
                patrol_client_id=fields.get("patrol_client_id"),
                photos=photos,
            )

    answer, created = await run_in_threadpool(work)
    return _answer(answer, created)


async def inspections(request: Request) -> Response:
    key = _required_key(request)
    fields, photos = await _form(request)
    check_form_rate(request.scope, key)
    _check_photo_sizes(photos, 1)

    def work() -> tuple[dict[str, Any], bool]:
        with session_for(key, write=True) as (s, _actor):
            return submit_inspection(
                s,
                client_id=fields.get("client_id"),
                object_id=fields.get("object_id"),
                note=fields.get("note"),
                photos=photos,
            )

    answer, created = await run_in_threadpool(work)
    return _answer(answer, created)


# ---------------------------------------------------------------------------------------------
# Public
# ---------------------------------------------------------------------------------------------


def challenge(request: Request) -> Response:
    made = core.make_challenge(core.server_secret(settings().data_dir), clock.now().timestamp())
    return JSONResponse(made.to_dict(), headers={"Cache-Control": "no-store"})


def place(request: Request) -> Response:
    q = request.query_params
    with session_for(None) as (s, _actor):
        return JSONResponse(field_public.public_place(s, grid=q.get("grid"), reach=q.get("reach")))


async def public_reports(request: Request) -> Response:
    check_public_report_rate(request.scope)  # before the form is read
    check_form_rate(request.scope, None)
    fields, photos = await _form(request)
    _check_photo_sizes(photos, MAX_PUBLIC_PHOTOS)
    secret = core.server_secret(settings().data_dir)

    def work() -> tuple[dict[str, Any], bool]:
        with process_store().session(field.PUBLIC_REPORTER) as s:
            return field_public.submit_public_report(
                s,
                secret=secret,
                token=fields.get("token"),
                nonce=fields.get("nonce"),
                client_id=fields.get("client_id"),
                category=fields.get("category"),
                description=fields.get("description"),
                phone=fields.get("phone"),
                lon=fields.get("lon"),
                lat=fields.get("lat"),
                grid=fields.get("grid"),
                reach=fields.get("reach"),
                photos=photos,
            )

    answer, created = await run_in_threadpool(work)
    return _answer(answer, created)


def case(request: Request) -> Response:
    with session_for(None) as (s, _actor):
        body = field_public.public_case(s, str(request.path_params["query_code"]))
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def routes() -> list[BaseRoute]:
    return [
        Route("/session", sign_in, methods=["POST"]),
        Route("/session", sign_out, methods=["DELETE"]),
        Route("/me", me, methods=["GET"]),
        Route("/patrols", patrols, methods=["POST"]),
        Route("/reports", reports, methods=["POST"]),
        Route("/inspections", inspections, methods=["POST"]),
        Route("/public/challenge", challenge, methods=["GET"]),
        Route("/public/place", place, methods=["GET"]),
        Route("/public/reports", public_reports, methods=["POST"]),
        Route("/public/cases/{query_code}", case, methods=["GET"]),
    ]

"""Open311 GeoReport v2 at ``/api/open311/v2/`` (the service: :mod:`gis.incidents.open311`).

==========================================  ==============================================
``GET  discovery.{json|xml}``               the endpoint, its formats and how to get a key
``GET  services.{json|xml}``                the categories (nine focus objects and 其他)
``GET  services/{code}.{json|xml}``         a category's one attribute (severity)
``GET  requests.{json|xml}``                cases, public fields only (filters as specified)
``POST requests.{json|xml}``                report a case (a key of a reporting account)
``GET  requests/{id}.{json|xml}``           one case by its code, e.g. ``SJ-2026-001``
``GET  tokens/{token}.{json|xml}``          not used: requests are created at once (404)
==========================================  ==============================================

A POST carries the key (``api_key`` field, ``X-API-Key`` header or bearer token) and the fields
of the specification as a form (``application/x-www-form-urlencoded`` or ``multipart/form-data``);
photos come as ``media`` files of a multipart form (RiverGrid's extension; checked like photos
uploaded on the page). Reading needs no key where reading is open (a demo database, or
``RIVERGRID_READ_LOGIN=0``); otherwise a key of any account. Errors are JSON in either format.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.common import ApiError, api_root, key_of, session_for
from api.guards import check_form_rate
from gis.accounts.installation import open_reading
from gis.config import settings
from gis.incidents import open311
from gis.incidents.attachments import MAX_FILES

__all__ = ["routes"]

FORMATS = ("json", "xml")
MAX_FORM_FIELDS = 100


def _fmt(request: Request) -> str:
    fmt = str(request.path_params.get("fmt", "")).lower()
    if fmt not in FORMATS:
        raise ApiError(404, f"不支持的格式“{fmt}”：请用 .json 或 .xml", "format must be json or xml")
    return fmt


def _xml_value(parent: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, dict):
        node = ET.SubElement(parent, name)
        for k, v in value.items():
            _xml_value(node, str(k), v)
    elif isinstance(value, (list, tuple)):
        node = ET.SubElement(parent, name)
        for v in value:
            _xml_value(node, "value" if not isinstance(v, dict) else "item", v)
    else:
        node = ET.SubElement(parent, name)
        if value is not None:
            node.text = str(value).lower() if isinstance(value, bool) else str(value)


def _xml_response(top: ET.Element, status: int = 200) -> Response:
    return Response(
        '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="unicode"),
        status_code=status,
        media_type="text/xml; charset=utf-8",
    )


def _answer(fmt: str, body: Any, *, root: str, item: str, status: int = 200) -> Response:
    if fmt == "json":
        return JSONResponse(body, status_code=status)
    top = ET.Element(root)
    rows = body if isinstance(body, list) else [body]
    for row in rows:
        node = ET.SubElement(top, item)
        for k, v in row.items():
            _xml_value(node, k, v)
    return _xml_response(top, status)


def discovery(request: Request) -> Response:
    fmt = _fmt(request)
    body = {
        "changeset": "2026-12-07T00:00:00+08:00",
        "contact": f"河长制办公室，监督电话 {settings().hotline}",
        "key_service": "接口密钥由安全管理员建立：python -m gis token create --user 用户名 --name 用途",
        "endpoints": [
            {
                "specification": open311.SPECIFICATION,
                "url": f"{api_root(request)}/open311/v2",
                "changeset": "2026-12-07T00:00:00+08:00",
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    if fmt == "json":
        return JSONResponse(body)
    top = ET.Element("discovery")
    for k, v in body.items():
        if k != "endpoints":
            _xml_value(top, k, v)
    endpoints = ET.SubElement(top, "endpoints")
    for e in body["endpoints"]:
        node = ET.SubElement(endpoints, "endpoint")
        for k, v in e.items():
            if k == "formats":
                formats = ET.SubElement(node, "formats")
                for f in v:
                    ET.SubElement(formats, "format").text = f
            else:
                ET.SubElement(node, k).text = v
    return _xml_response(top)


def service_list(request: Request) -> Response:
    return _answer(_fmt(request), open311.services(), root="services", item="service")


def service_definition(request: Request) -> Response:
    fmt = _fmt(request)
    body = open311.service_definition(str(request.path_params["code"]))
    if fmt == "json":
        return JSONResponse(body)
    top = ET.Element("service_definition")
    ET.SubElement(top, "service_code").text = body["service_code"]
    attributes = ET.SubElement(top, "attributes")
    for attr in body["attributes"]:
        node = ET.SubElement(attributes, "attribute")
        for k, v in attr.items():
            if k == "values":
                values = ET.SubElement(node, "values")
                for value in v:
                    _xml_value(values, "value", value)
            else:
                _xml_value(node, k, v)
    return _xml_response(top)


def _check_reading(session: Any, actor: Any) -> None:
    if actor is None and not open_reading(session):
        raise ApiError(
            401, "本系统的事件需登录后查看：请在请求中带上接口密钥（X-API-Key 或 api_key 参数）", "API key required"
        )


def request_list(request: Request) -> Response:
    fmt = _fmt(request)
    q = request.query_params
    with session_for(key_of(request)) as (s, actor):
        _check_reading(s, actor)
        rows = open311.list_requests(
            s,
            service_request_id=q.get("service_request_id"),
            service_code=q.get("service_code"),
            start_date=q.get("start_date"),
            end_date=q.get("end_date"),
            status=q.get("status"),
        )
    return _answer(fmt, rows, root="service_requests", item="request")


def request_one(request: Request) -> Response:
    fmt = _fmt(request)
    with session_for(key_of(request)) as (s, actor):
        _check_reading(s, actor)
        row = open311.get_request(s, str(request.path_params["request_id"]))
    return _answer(fmt, [row], root="service_requests", item="request")


async def request_create(request: Request) -> Response:
    fmt = _fmt(request)
    async with request.form(max_files=MAX_FILES, max_fields=MAX_FORM_FIELDS) as form:
        fields: dict[str, Any] = {}
        photos: list[tuple[str, bytes]] = []
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name == "media":
                    photos.append((value.filename or "photo", await value.read()))
            elif name not in fields:
                fields[name] = value
    media_url = fields.get("media_url")
    if isinstance(media_url, str) and media_url.strip() and isinstance(fields.get("description"), str):
        fields["description"] = f"{fields['description']}（图片链接：{media_url.strip()}）"
    key = key_of(request, fields)
    check_form_rate(request.scope, key)

    def work() -> dict[str, Any]:
        with session_for(key) as (s, _actor):  # the key checked, the routing index read
            index = open311.routing_index(s)
        with session_for(key, write=True) as (s, _actor):
            return open311.create_request(s, fields, photos=photos, index=index)

    created = await run_in_threadpool(work)
    return _answer(fmt, [created], root="service_requests", item="request", status=201)


def no_tokens(request: Request) -> Response:
    _fmt(request)
    raise ApiError(
        404, "本系统同步受理上报，不发放 token：请用 POST 返回的 service_request_id 查询", "tokens are not used"
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/discovery.{fmt}", discovery, methods=["GET"]),
        Route("/services.{fmt}", service_list, methods=["GET"]),
        Route("/services/{code}.{fmt}", service_definition, methods=["GET"]),
        Route("/requests.{fmt}", request_list, methods=["GET"]),
        Route("/requests.{fmt}", request_create, methods=["POST"]),
        Route("/requests/{request_id}.{fmt}", request_one, methods=["GET"]),
        Route("/tokens/{token}.{fmt}", no_tokens, methods=["GET"]),
    ]

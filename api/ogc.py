"""OGC API Features (Part 1: Core, GeoJSON, OpenAPI 3.0) at ``/api/ogc/``.

* ``/``: landing page; ``/conformance``; ``/openapi``: the OpenAPI 3.0 document of these routes.
* ``/collections`` and ``/collections/{collectionId}``: the collections the caller may read
  (:mod:`gis.features.catalog`): rivers, reaches, grids, objects, blind_spots, incidents, tracks.
* ``/collections/{collectionId}/items``: a GeoJSON FeatureCollection in CRS84
  (``application/geo+json``) with ``numberMatched``, ``numberReturned``, ``timeStamp`` and
  next/prev links; parameters ``bbox`` (CRS84), ``limit`` (default 100, at most 10000; more is
  lowered to 10000), ``offset``, ``datetime`` (RFC 3339 instant or interval ``a/b`` with ``..``
  for an open end; on incidents' report time and tracks' start time).
* ``/collections/{collectionId}/items/{featureId}``: one GeoJSON Feature.

Each collection is served by its query function (:mod:`gis.features`), the one the overview map
uses too; the route only reads parameters and writes JSON. Who calls is the API key's account
(:func:`api.common.session_for`): anonymous callers get public fields only, tracks need a key,
and under ``RIVERGRID_READ_LOGIN`` anonymous callers get only the disclosed collections (rivers,
reaches, grids). A collection refused for want of a key answers 401 with a Chinese message.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import numpy as np
import shapely
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.common import ApiError, api_root, key_of, session_for
from gis import clock
from gis.errors import AuthenticationError
from gis.features.base import DEFAULT_LIMIT, MAX_LIMIT, Feature, FeatureQuery
from gis.features.catalog import (
    COLLECTIONS,
    Collection,
    check_readable,
    collection,
    get_feature,
    readable_collections,
)

__all__ = ["CONFORMANCE", "openapi_document", "routes"]

GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONTENT_CRS = {"Content-Crs": f"<{CRS84}>"}
"""The CRS of every feature response (OGC API Features Part 2's header; GDAL reads it)."""

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
)
"""Conformance classes: Core, OpenAPI 3.0, GeoJSON (no HTML)."""

TITLE = "河长网格 RiverGrid 地图要素（OGC API - Features）"
DESCRIPTION = (
    "河流、河段、网格、监管对象、覆盖盲区、事件和巡河轨迹的地图要素，GeoJSON 格式，坐标为 WGS84 经纬度（CRS84）。"
    "未使用接口密钥时只给出公开信息；接口密钥放在请求头 X-API-Key 中。"
)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _json(body: Any, media_type: str = JSON) -> Response:
    return Response(_dumps(body).encode("utf-8"), media_type=media_type)


def _base(request: Request) -> str:
    return api_root(request) + "/ogc"


def _unauthorised(exc: AuthenticationError) -> ApiError:
    return ApiError(401, exc.message_zh, exc.reason_en, {"WWW-Authenticate": 'Bearer realm="rivergrid"'})


def _int_path(request: Request, name: str) -> int:
    text = str(request.path_params[name])
    try:
        return int(text)
    except ValueError:
        raise ApiError(404, f"没有编号为“{text}”的要素", f"feature id is not an integer: {text!r}") from None


# ---------------------------------------------------------------------------------------------
# Landing page, conformance, OpenAPI
# ---------------------------------------------------------------------------------------------


def landing(request: Request) -> Response:
    base = _base(request)
    return _json(
        {
            "title": TITLE,
            "description": DESCRIPTION,
            "links": [
                {"rel": "self", "type": JSON, "title": "本页", "href": f"{base}/"},
                {"rel": "service-desc", "type": OPENAPI, "title": "接口说明（OpenAPI 3.0）", "href": f"{base}/openapi"},
                {"rel": "conformance", "type": JSON, "title": "符合的标准", "href": f"{base}/conformance"},
                {"rel": "data", "type": JSON, "title": "图层列表", "href": f"{base}/collections"},
            ],
        }
    )


def conformance(request: Request) -> Response:
    return _json({"conformsTo": list(CONFORMANCE)})


def openapi(request: Request) -> Response:
    return _json(openapi_document(_base(request)), OPENAPI)


def openapi_document(base: str) -> dict[str, Any]:
    """The OpenAPI 3.0 document of the OGC routes served at ``base`` (``…/api/ogc``)."""
    ids = [c.id for c in COLLECTIONS]
    error = {"$ref": "#/components/responses/Error"}

    def op(op_id: str, summary: str, params: list[dict[str, Any]], ok: str, media: str) -> dict[str, Any]:
        return {
            "get": {
                "operationId": op_id,
                "summary": summary,
                "tags": ["OGC API - Features"],
                "parameters": params,
                "responses": {
                    "200": {"description": ok, "content": {media: {"schema": {"type": "object"}}}},
                    "400": error,
                    "401": error,
                    "404": error,
                    "429": error,
                },
            }
        }

    collection_id = {"$ref": "#/components/parameters/collectionId"}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": TITLE,
            "version": "1.0.0",
            "description": DESCRIPTION,
            "license": {"name": "见项目仓库"},
        },
        "servers": [{"url": base, "description": "本服务器"}],
        "tags": [{"name": "OGC API - Features", "description": "OGC API - Features 第 1 部分：核心"}],
        "paths": {
            "/": op("getLandingPage", "入口页", [], "入口页及其链接", JSON),
            "/conformance": op("getConformance", "符合的标准", [], "符合的标准（conformsTo）", JSON),
            "/openapi": op("getOpenAPI", "本接口说明（OpenAPI 3.0）", [], "OpenAPI 3.0 文档", OPENAPI),
            "/collections": op("getCollections", "图层列表", [], "调用者可查看的图层", JSON),
            "/collections/{collectionId}": op("describeCollection", "图层说明", [collection_id], "图层说明", JSON),
            "/collections/{collectionId}/items": op(
                "getFeatures",
                "图层要素（GeoJSON）",
                [
                    collection_id,
                    {"$ref": "#/components/parameters/bbox"},
                    {"$ref": "#/components/parameters/limit"},
                    {"$ref": "#/components/parameters/offset"},
                    {"$ref": "#/components/parameters/datetime"},
                ],
                "要素集合（FeatureCollection），含 numberMatched、numberReturned 和翻页链接",
                GEOJSON,
            ),
            "/collections/{collectionId}/items/{featureId}": op(
                "getFeature",
                "单个要素（GeoJSON）",
                [collection_id, {"$ref": "#/components/parameters/featureId"}],
                "要素（Feature）",
                GEOJSON,
            ),
        },
        "components": {
            "parameters": {
                "collectionId": {
                    "name": "collectionId",
                    "in": "path",
                    "required": True,
                    "description": "图层名",
                    "schema": {"type": "string", "enum": ids},
                },
                "featureId": {
                    "name": "featureId",
                    "in": "path",
                    "required": True,
                    "description": "要素编号",
                    "schema": {"type": "integer"},
                },
                "bbox": {
                    "name": "bbox",
                    "in": "query",
                    "required": False,
                    "description": "范围：最小经度,最小纬度,最大经度,最大纬度（WGS84，CRS84）",
                    "style": "form",
                    "explode": False,
                    "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
                },
                "limit": {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "description": f"每页最多要素数（默认 {DEFAULT_LIMIT}，最多 {MAX_LIMIT}，超过按 {MAX_LIMIT}）",
                    "style": "form",
                    "explode": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                },
                "offset": {
                    "name": "offset",
                    "in": "query",
                    "required": False,
                    "description": "跳过的要素数（按编号排序）；也可直接使用响应中的 next 链接翻页",
                    "schema": {"type": "integer", "minimum": 0, "default": 0},
                },
                "datetime": {
                    "name": "datetime",
                    "in": "query",
                    "required": False,
                    "description": "时间或时间区间（RFC 3339，如 2026-11-01T00:00:00+08:00/..，开放一端写 ..）；"
                    "事件按上报时间、巡河轨迹按开始时间筛选，其他图层没有时间",
                    "style": "form",
                    "explode": False,
                    "schema": {"type": "string"},
                },
            },
            "responses": {
                "Error": {
                    "description": "错误：message 为中文说明，reason 为英文原因",
                    "content": {
                        JSON: {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "code": {"type": "integer"},
                                    "message": {"type": "string"},
                                    "reason": {"type": "string"},
                                    "description": {"type": "string"},
                                },
                            }
                        }
                    },
                }
            },
            "securitySchemes": {
                "apiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-API-Key",
                    "description": "接口密钥（gis token create 生成）；不带密钥时只能查看公开信息",
                }
            },
        },
        "security": [{}, {"apiKey": []}],
    }


# ---------------------------------------------------------------------------------------------
# Collections
# ---------------------------------------------------------------------------------------------


def _collection_json(c: Collection, base: str) -> dict[str, Any]:
    here = f"{base}/collections/{c.id}"
    body: dict[str, Any] = {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "links": [
            {"rel": "self", "type": JSON, "title": c.title, "href": here},
            {"rel": "items", "type": GEOJSON, "title": f"{c.title}（GeoJSON）", "href": f"{here}/items"},
        ],
    }
    return body


def collections(request: Request) -> Response:
    base = _base(request)
    with session_for(key_of(request)) as (session, _):
        shown = readable_collections(session)
    return _json(
        {
            "links": [
                {"rel": "self", "type": JSON, "title": "图层列表", "href": f"{base}/collections"},
            ],
            "collections": [_collection_json(c, base) for c in shown],
        }
    )


def describe_collection(request: Request) -> Response:
    found = collection(str(request.path_params["collection_id"]))
    with session_for(key_of(request)) as (session, _):
        try:
            check_readable(session, found)
        except AuthenticationError as exc:
            raise _unauthorised(exc) from None
    return _json(_collection_json(found, _base(request)))


# ---------------------------------------------------------------------------------------------
# Items
# ---------------------------------------------------------------------------------------------


def _features_json(features: list[Feature]) -> list[str]:
    """Each feature as GeoJSON text (geometries written by shapely, vectorised)."""
    geoms = shapely.to_geojson(np.array([f.geometry for f in features], dtype=object)) if features else []
    return [
        f'{{"type":"Feature","id":{f.id},"geometry":{g if g is not None else "null"},'
        f'"properties":{_dumps(f.json_properties())}}}'
        for f, g in zip(features, list(geoms), strict=True)
    ]


def _query(request: Request) -> FeatureQuery:
    params = request.query_params
    return FeatureQuery.parse(
        bbox=params.get("bbox"),
        limit=params.get("limit"),
        offset=params.get("offset"),
        datetime_=params.get("datetime"),
        bbox_crs=params.get("bbox-crs"),
    )


def _page_link(request: Request, items_url: str, rel: str, offset: int, limit: int, title: str) -> dict[str, Any]:
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "limit")]
    params += [("limit", str(limit)), ("offset", str(offset))]
    return {"rel": rel, "type": GEOJSON, "title": title, "href": f"{items_url}?{urlencode(params)}"}


def items(request: Request) -> Response:
    found = collection(str(request.path_params["collection_id"]))
    query = _query(request)
    with session_for(key_of(request)) as (session, _):
        try:
            page = found.query(session, query)
        except AuthenticationError as exc:
            raise _unauthorised(exc) from None
    base = _base(request)
    items_url = f"{base}/collections/{found.id}/items"
    limit = query.limit if query.limit is not None else DEFAULT_LIMIT
    self_query = request.url.query
    links: list[dict[str, Any]] = [
        {
            "rel": "self",
            "type": GEOJSON,
            "title": "本页",
            "href": items_url + (f"?{self_query}" if self_query else ""),
        },
        {"rel": "collection", "type": JSON, "title": found.title, "href": f"{base}/collections/{found.id}"},
    ]
    if page.has_next:
        links.append(_page_link(request, items_url, "next", query.offset + page.number_returned, limit, "下一页"))
    if query.offset > 0:
        links.append(_page_link(request, items_url, "prev", max(0, query.offset - limit), limit, "上一页"))
    head = {
        "type": "FeatureCollection",
        "numberMatched": page.number_matched,
        "numberReturned": page.number_returned,
        "timeStamp": clock.now().replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "links": links,
    }
    body = _dumps(head)[:-1] + ',"features":[' + ",".join(_features_json(page.features)) + "]}"
    return Response(body.encode("utf-8"), media_type=GEOJSON, headers=CONTENT_CRS)


def item(request: Request) -> Response:
    collection_id = str(request.path_params["collection_id"])
    found = collection(collection_id)
    feature_id = _int_path(request, "feature_id")
    with session_for(key_of(request)) as (session, _):
        try:
            feature = get_feature(session, collection_id, feature_id)
        except AuthenticationError as exc:
            raise _unauthorised(exc) from None
    base = _base(request)
    links = _dumps(
        [
            {
                "rel": "self",
                "type": GEOJSON,
                "title": "本要素",
                "href": f"{base}/collections/{found.id}/items/{feature.id}",
            },
            {"rel": "collection", "type": JSON, "title": found.title, "href": f"{base}/collections/{found.id}"},
        ]
    )
    body = _features_json([feature])[0][:-1] + f',"links":{links}}}'
    return Response(body.encode("utf-8"), media_type=GEOJSON, headers=CONTENT_CRS)


def routes() -> list[BaseRoute]:
    """The OGC routes, to be mounted at ``/api/ogc``."""
    return [
        Route("/", landing),
        Route("/conformance", conformance),
        Route("/openapi", openapi),
        Route("/collections", collections),
        Route("/collections/{collection_id}", describe_collection),
        Route("/collections/{collection_id}/items", items),
        Route("/collections/{collection_id}/items/{feature_id}", item),
    ]

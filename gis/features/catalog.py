"""The collections: id, Chinese title and description, access level, time field, query function.

:data:`COLLECTIONS` lists them in the order clients show them; :func:`collection` finds one by
id, :func:`readable_collections` those the session's caller may read, :func:`get_feature` one
feature of a collection (the query function with ``ids``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from gis.errors import NotFoundError
from gis.features.base import Feature, FeaturePage, FeatureQuery, may_read, require_access, viewer_of
from gis.features.blind_spots import BLIND_SPOTS_ACCESS, query_blind_spots
from gis.features.geodata import (
    GRIDS_ACCESS,
    OBJECTS_ACCESS,
    REACHES_ACCESS,
    RIVERS_ACCESS,
    query_grids,
    query_objects,
    query_reaches,
    query_rivers,
)
from gis.features.incidents import INCIDENTS_ACCESS, query_incidents
from gis.features.tracks import TRACKS_ACCESS, query_tracks

__all__ = [
    "COLLECTIONS",
    "Collection",
    "QueryFunction",
    "check_readable",
    "collection",
    "get_feature",
    "readable_collections",
]

QueryFunction = Callable[..., FeaturePage]
"""``query(session, query, *, operator=False) -> FeaturePage``."""


@dataclass(frozen=True)
class Collection:
    """One collection of features.

    ``access``: :data:`gis.features.base.DISCLOSED`, ``PUBLIC`` or ``SIGNED_IN``;
    ``time_field``: the property ``datetime`` filters on (None: the collection has no time);
    ``geometry``: the geometry type of its features.
    """

    id: str
    title: str
    description: str
    access: str
    geometry: str
    query: QueryFunction
    time_field: str | None = None


COLLECTIONS: tuple[Collection, ...] = (
    Collection(
        "rivers",
        "河流",
        "河流及其全部河段（多段线），级别、编码、河段数和长度（米）。",
        RIVERS_ACCESS,
        "MultiLineString",
        query_rivers,
    ),
    Collection(
        "reaches",
        "河段",
        "各河段：所属河流、编码、级别、起点桩号、长度（米）和现任河长（电话仅在标为公开时给出）。",
        REACHES_ACCESS,
        "LineString",
        query_reaches,
    ),
    Collection(
        "grids",
        "网格",
        "县级、乡级、村级网格的范围与公示信息：层级、上级网格、编码、责任主体、“五定”（定区域、定人员、定职责、"
        "定任务、定奖惩）、监督电话和现任责任人（电话仅在标为公开时给出）。",
        GRIDS_ACCESS,
        "Polygon",
        query_grids,
    ),
    Collection(
        "objects",
        "监管对象",
        "九类重点监管对象（排污企业、饮用水源地等）的位置、类别和所属网格。",
        OBJECTS_ACCESS,
        "Point",
        query_objects,
    ),
    Collection(
        "blind_spots",
        "覆盖盲区",
        "当前盲区检查（村级网格，横向到边）中未被任何网格覆盖的河段区段，含起止桩号、长度（米）和最近网格。"
        "编号随河段或网格的修改而变化。",
        BLIND_SPOTS_ACCESS,
        "LineString",
        query_blind_spots,
    ),
    Collection(
        "incidents",
        "事件",
        "事件的位置、类别、状态、描述、期限和上报时间（datetime 按上报时间筛选）。未使用接口密钥时只给出公开字段："
        "不含上报人及其联系方式，不列出信访案件，污染纠纷的位置只精确到 100 米网格（与 Open311 相同）；"
        "使用接口密钥时给出账号数据权限内事件的全部字段"
        "（上报人联系方式除外：只能在事件页面查看，且每次查看都记入修改记录）。",
        INCIDENTS_ACCESS,
        "Point",
        query_incidents,
        "reported_at",
    ),
    Collection(
        "tracks",
        "巡河轨迹",
        "巡河轨迹：巡查人员、所属网格、开始与结束时间、长度（米）（datetime 按开始时间筛选）。需要接口密钥，只给出账号"
        "数据权限内的轨迹。",
        TRACKS_ACCESS,
        "LineString",
        query_tracks,
        "started_at",
    ),
)
"""Every collection, in the order clients list them."""

_BY_ID = {c.id: c for c in COLLECTIONS}


def collection(collection_id: str) -> Collection:
    """The collection ``collection_id``.

    Raises
    ------
    NotFoundError
        No such collection (the message lists those there are).
    """
    found = _BY_ID.get(collection_id)
    if found is None:
        names = "、".join(c.id for c in COLLECTIONS)
        raise NotFoundError(f"没有名为“{collection_id}”的图层，可用：{names}", f"no collection {collection_id!r}")
    return found


def readable_collections(session: Session, *, operator: bool = False) -> list[Collection]:
    """The collections the session's caller may read (anonymous callers: per access level)."""
    viewer = viewer_of(session, operator=operator)
    return [c for c in COLLECTIONS if may_read(session, viewer, c.access)]


def check_readable(session: Session, found: Collection, *, operator: bool = False) -> None:
    """Refuse the session's caller a collection it may not read (AuthenticationError)."""
    require_access(session, viewer_of(session, operator=operator), found.access, found.title)


def get_feature(session: Session, collection_id: str, feature_id: int, *, operator: bool = False) -> Feature:
    """Feature ``feature_id`` of ``collection_id`` as the caller may see it.

    Raises
    ------
    NotFoundError
        No such collection, or no such feature the caller may see.
    AuthenticationError
        The caller may not read the collection.
    """
    found = collection(collection_id)
    page = found.query(session, FeatureQuery(ids=(feature_id,)), operator=operator)
    if not page.features:
        raise NotFoundError(
            f"图层“{found.title}”中没有编号为 {feature_id} 的要素", f"no feature {feature_id} in {collection_id}"
        )
    return page.features[0]

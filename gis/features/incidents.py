"""Incidents (事件) as features: full fields for accounts, public fields for anonymous callers.

The rule for what the public sees is here and only here:

* :data:`PRIVATE_FIELDS` never reach an anonymous caller: who reported (``reporter``) and how to
  reach them (``reporter_contact``), the reporter's own words (``description``, and ``title``,
  which is the start of the description unless one was given: people type names and phone
  numbers into them), the source, the internal deadlines and links. :func:`public_properties`
  keeps every other field: what, where, when, how far it got.
* Categories in :data:`HIDDEN_CATEGORIES` (信访案件) are never listed to anonymous callers.
* Locations of categories in :data:`COARSENED_CATEGORIES` (污染纠纷) are moved to the centre of
  their :data:`COARSEN_CELL_M` metre cell in the metric CRS of the place
  (:func:`coarsen_point`). A bbox selects them by that coarsened point, so no sequence of boxes
  can find the stored one.

Accounts (any role: all may read cases, as on the pages) see every field of the cases in their
data scope (:mod:`gis.store.scope`), except ``reporter_contact``: reading a contact is recorded
in the audit log (:func:`gis.incidents.contact.reveal_reporter_contact`), so it is never given
in bulk.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

import pyproj
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session, selectinload

from gis import clock
from gis.features.base import (
    ALL,
    PUBLIC,
    Feature,
    FeaturePage,
    FeatureQuery,
    Spatial,
    column_spatial,
    paged_rows,
    require_access,
    viewer_of,
)
from gis.geometry.crs import metric_crs_for
from gis.incidents.deadlines import is_overdue
from gis.model import STORE_CRS, Category, IncidentSource, IncidentStatus, Severity
from gis.store.schema import Incident

__all__ = [
    "COARSENED_CATEGORIES",
    "COARSEN_CELL_M",
    "FULL_FIELDS",
    "HIDDEN_CATEGORIES",
    "INCIDENTS_ACCESS",
    "PRIVATE_FIELDS",
    "PUBLIC_FIELDS",
    "coarsen_point",
    "public_properties",
    "query_incidents",
]

INCIDENTS_ACCESS = PUBLIC

FULL_FIELDS: tuple[str, ...] = (
    "code",
    "title",
    "description",
    "category",
    "category_label",
    "severity",
    "severity_label",
    "status",
    "status_label",
    "is_open",
    "source",
    "source_label",
    "reporter",
    "reported_at",
    "accept_due_at",
    "close_due_at",
    "closed_at",
    "deadline_estimated",
    "overdue",
    "grid_id",
    "grid_name",
    "reach_id",
    "reach_name",
    "object_id",
    "track_id",
    "location_coarsened",
)
"""Properties of an incident feature for an account (``id`` is the feature's id)."""

PRIVATE_FIELDS: frozenset[str] = frozenset(
    {
        "reporter",
        "reporter_contact",
        "title",
        "description",
        "source",
        "source_label",
        "accept_due_at",
        "close_due_at",
        "deadline_estimated",
        "object_id",
        "track_id",
    }
)
"""Fields never given to an anonymous caller (``reporter_contact`` is given to nobody in bulk)."""

PUBLIC_FIELDS: tuple[str, ...] = tuple(f for f in FULL_FIELDS if f not in PRIVATE_FIELDS)
"""Properties of an incident feature for an anonymous caller."""

HIDDEN_CATEGORIES: frozenset[str] = frozenset({Category.PETITION.value})
"""Categories never listed to anonymous callers (信访案件)."""

COARSENED_CATEGORIES: frozenset[str] = frozenset({Category.POLLUTION_DISPUTE.value})
"""Categories whose location anonymous callers see only to :data:`COARSEN_CELL_M` (污染纠纷)."""

COARSEN_CELL_M = 100.0
"""Side of the cell, in metres, a coarsened location is snapped to (its centre)."""


@lru_cache(maxsize=16)
def _transformers(epsg: int) -> tuple[pyproj.Transformer, pyproj.Transformer]:
    metric = pyproj.CRS.from_epsg(epsg)
    return (
        pyproj.Transformer.from_crs(STORE_CRS, metric, always_xy=True),
        pyproj.Transformer.from_crs(metric, STORE_CRS, always_xy=True),
    )


def coarsen_point(point: Point, *, cell_m: float = COARSEN_CELL_M) -> Point:
    """The centre of the ``cell_m`` metre cell holding ``point`` (lon/lat), in the metric CRS
    of its place (:func:`gis.geometry.crs.metric_crs_for`): at most ``cell_m / √2`` metres away,
    and the same for every point of the cell."""
    epsg = metric_crs_for(point).to_epsg()
    if epsg is None:  # metric_crs_for always names an EPSG CRS
        raise ValueError("no EPSG code for the metric CRS")
    forward, back = _transformers(epsg)
    x, y = forward.transform(point.x, point.y)
    cx = (x // cell_m + 0.5) * cell_m
    cy = (y // cell_m + 0.5) * cell_m
    lon, lat = back.transform(cx, cy)
    return Point(lon, lat)


def public_properties(properties: dict[str, Any]) -> dict[str, Any]:
    """An account's view of an incident (:data:`FULL_FIELDS`) cut to what the public sees."""
    return {k: v for k, v in properties.items() if k not in PRIVATE_FIELDS}


def _label(kind: Any, value: str | None) -> str:
    try:
        return str(kind(value).label)
    except ValueError:
        return value or ""


def _full(i: Incident, now: datetime) -> dict[str, Any]:
    return {
        "code": i.code,
        "title": i.title,
        "description": i.description or "",
        "category": i.category,
        "category_label": _label(Category, i.category),
        "severity": i.severity,
        "severity_label": _label(Severity, i.severity),
        "status": i.status,
        "status_label": _label(IncidentStatus, i.status),
        "is_open": IncidentStatus(i.status).is_open,
        "source": i.source,
        "source_label": _label(IncidentSource, i.source),
        "reporter": i.reporter or "",
        "reported_at": i.reported_at,
        "accept_due_at": i.accept_due_at,
        "close_due_at": i.close_due_at,
        "closed_at": i.closed_at,
        "deadline_estimated": bool(i.deadline_estimated),
        "overdue": is_overdue(i.status, i.accept_due_at, i.close_due_at, now),
        "grid_id": i.grid_id,
        "grid_name": i.grid.name if i.grid else "",
        "reach_id": i.reach_id,
        "reach_name": i.reach.name if i.reach else "",
        "object_id": i.object_id,
        "track_id": i.track_id,
        "location_coarsened": False,
    }


def _public(i: Incident, now: datetime) -> tuple[BaseGeometry, dict[str, Any]]:
    props = public_properties(_full(i, now))
    if i.category not in COARSENED_CATEGORIES:
        return i.geom, props
    props["location_coarsened"] = True
    return coarsen_point(i.geom), props


def _shown_to_public(row: Any) -> BaseGeometry | None:
    """The location an anonymous caller sees of a ``(id, geom, category)`` row."""
    _, geom, category = row
    return coarsen_point(geom) if category in COARSENED_CATEGORIES and geom is not None else geom


def query_incidents(session: Session, query: FeatureQuery = ALL, *, operator: bool = False) -> FeaturePage:
    """Incidents (事件) by id, filtered by bbox and by reporting time (``datetime``).

    An account sees the cases of its data scope with :data:`FULL_FIELDS`; an anonymous caller
    sees every case but those of :data:`HIDDEN_CATEGORIES`, with :data:`PUBLIC_FIELDS` and the
    locations of :data:`COARSENED_CATEGORIES` coarsened (the module notes).
    """
    viewer = viewer_of(session, operator=operator)
    require_access(session, viewer, INCIDENTS_ACCESS, "事件")
    where: list[ColumnElement[bool]] = []
    visible = viewer.scope.where(Incident.grid_id)
    if visible is not None:
        where.append(visible)
    if viewer.anonymous:
        where.append(Incident.category.not_in(sorted(HIDDEN_CATEGORIES)))
    if query.interval is not None:
        where.extend(query.interval.where(Incident.reported_at))
    spatial = column_spatial(Incident, Incident.geom)
    if viewer.anonymous:
        base = spatial
        spatial = Spatial(
            base.sql,
            lambda w: base.pairs(w).add_columns(Incident.category),
        ).without_sql(_shown_to_public)
    incidents, matched = paged_rows(
        session,
        Incident,
        where,
        query,
        spatial=spatial,
        options=[selectinload(Incident.grid), selectinload(Incident.reach)],
    )
    now = clock.now()
    features = []
    for i in incidents:
        if viewer.anonymous:
            geom, props = _public(i, now)
            features.append(Feature(i.id, geom, props))
        else:
            features.append(Feature(i.id, i.geom, _full(i, now)))
    return FeaturePage(features, matched, query.offset, query.limit)

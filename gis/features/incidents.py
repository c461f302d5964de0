"""Incidents (事件) as features: full fields for accounts, public fields for anonymous callers.

What the public sees is the rule of :mod:`gis.incidents.public`, the one Open311 follows too:
the fields in its ``PRIVATE_FIELDS`` (the reporter and their contact) never reach an anonymous
caller (:func:`public_properties`), cases of its ``HIDDEN_CATEGORIES`` (信访案件) are never listed,
and the locations of its ``COARSENED_CATEGORIES`` (污染纠纷) are moved to the centre of their
100 m cell (:func:`gis.incidents.public.public_point`). A bbox selects those cases by the
coarsened point, so no sequence of boxes can find the stored one.

Accounts (any role: all may read cases, as on the pages) see :data:`FULL_FIELDS` of the cases in
their data scope (:mod:`gis.store.scope`), which leave out ``reporter_contact``: reading a
contact is recorded in the audit log (:func:`gis.incidents.contact.reveal_reporter_contact`), so
it is never given in bulk.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
from gis.incidents.deadlines import is_overdue
from gis.incidents.public import COARSENED_CATEGORIES, HIDDEN_CATEGORIES, PRIVATE_FIELDS, public_point, public_text
from gis.model import Category, IncidentSource, IncidentStatus, Severity
from gis.store.schema import Incident

__all__ = ["FULL_FIELDS", "INCIDENTS_ACCESS", "PUBLIC_FIELDS", "public_properties", "query_incidents"]

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

PUBLIC_FIELDS: tuple[str, ...] = tuple(f for f in FULL_FIELDS if f not in PRIVATE_FIELDS)
"""Properties of an incident feature for an anonymous caller."""


def public_properties(properties: dict[str, Any]) -> dict[str, Any]:
    """An account's view of an incident (:data:`FULL_FIELDS`) without the private fields of
    :mod:`gis.incidents.public`."""
    public = {k: v for k, v in properties.items() if k not in PRIVATE_FIELDS}
    for key in ("title", "description"):
        if key in public:
            public[key] = public_text(public[key])
    return public


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
    props["location_coarsened"] = i.category in COARSENED_CATEGORIES
    return _public_geometry(i.category, i.geom), props


def _public_geometry(category: str, geom: BaseGeometry | None) -> BaseGeometry | None:
    """Where an anonymous caller sees a case of ``category`` stored at ``geom`` (a point)."""
    if geom is None or category not in COARSENED_CATEGORIES:
        return geom
    return Point(*public_point(category, geom.x, geom.y))


def _shown_to_public(row: Any) -> BaseGeometry | None:
    """The location an anonymous caller sees of a ``(id, geom, category)`` row."""
    _, geom, category = row
    return _public_geometry(category, geom)


def query_incidents(session: Session, query: FeatureQuery = ALL, *, operator: bool = False) -> FeaturePage:
    """Incidents (事件) by id, filtered by bbox and by reporting time (``datetime``).

    An account sees the cases of its data scope with :data:`FULL_FIELDS`; an anonymous caller
    sees every case but those of :data:`HIDDEN_CATEGORIES`, with :data:`PUBLIC_FIELDS` and the
    locations of :data:`COARSENED_CATEGORIES` coarsened (the module notes).
    """
    viewer = viewer_of(session, operator=operator)
    require_access(session, viewer, INCIDENTS_ACCESS, "事件")
    where: list[ColumnElement[bool]] = []
    visible = viewer.scope.where_case(Incident.id, Incident.grid_id)
    if visible is not None:
        where.append(visible)
    if viewer.anonymous:
        where.append(Incident.category.not_in(sorted(HIDDEN_CATEGORIES)))  # is_listed() in SQL
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

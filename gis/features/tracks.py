"""Patrol tracks (巡河轨迹) as features: for accounts only, within their data scope."""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session, defer, selectinload

from gis.features.base import (
    ALL,
    SIGNED_IN,
    Feature,
    FeaturePage,
    FeatureQuery,
    column_spatial,
    paged_rows,
    require_access,
    viewer_of,
)
from gis.features.geodata import lengths_m
from gis.store.schema import PatrolTrack

__all__ = ["TRACKS_ACCESS", "query_tracks"]

TRACKS_ACCESS = SIGNED_IN


def query_tracks(session: Session, query: FeatureQuery = ALL, *, operator: bool = False) -> FeaturePage:
    """Patrol tracks of the caller's data scope: who, which grid, start and end, length in
    metres (measured in one metric CRS for the page). ``datetime`` selects by start time.

    Raises
    ------
    AuthenticationError
        An anonymous caller (tracks need an account).
    """
    viewer = viewer_of(session, operator=operator)
    require_access(session, viewer, TRACKS_ACCESS, "巡河轨迹")
    where: list[ColumnElement[bool]] = []
    visible = viewer.scope.where(PatrolTrack.grid_id)
    if visible is not None:
        where.append(visible)
    if query.interval is not None:
        where.extend(query.interval.where(PatrolTrack.started_at))
    tracks, matched = paged_rows(
        session,
        PatrolTrack,
        where,
        query,
        spatial=column_spatial(PatrolTrack, PatrolTrack.geom),
        options=[
            selectinload(PatrolTrack.person),
            selectinload(PatrolTrack.grid),
            defer(PatrolTrack.source_data),  # the uploaded file: not needed here
            defer(PatrolTrack.times),
        ],
    )
    lengths = lengths_m([t.geom for t in tracks])
    features = [
        Feature(
            t.id,
            t.geom,
            {
                "name": t.name or "",
                "person_id": t.person_id,
                "person_name": t.person.name if t.person else "",
                "grid_id": t.grid_id,
                "grid_name": t.grid.name if t.grid else "",
                "started_at": t.started_at,
                "ended_at": t.ended_at,
                "length_m": length,
                "source_name": t.source_name or "",
            },
        )
        for t, length in zip(tracks, lengths, strict=True)
    ]
    return FeaturePage(features, matched, query.offset, query.limit)

"""Patrols (巡河): the pure core, re-exported here, and the session-bound service.

* :mod:`gis.patrol.tracks`: reading track files (GPX, KML/KMZ, CSV) and cleaning tracks;
* :mod:`gis.patrol.matching`: matching tracks to reaches (patrolled intervals), offsets;
* :mod:`gis.patrol.flags`: the result of one track and the fake-patrol flags;
* :mod:`gis.patrol.rules`: periods, what counts as a patrol, compliance and coverage;
* :mod:`gis.patrol.track_import`: track files and a phone's fixes into the store (all or nothing);
* :mod:`gis.patrol.service`: the period's report from the store, for pages, the CLI and the API.

``from gis import patrol`` gives the core's public names (``patrol.read_tracks``,
``patrol.analyse_track``, ...); the service is imported on its own.
"""

from gis.patrol.flags import FLAG_LABELS, FlagRules, PatrolResult, cross_flags
from gis.patrol.matching import (
    MatchOptions,
    analyse_track,
    analyse_tracks,
    detect_offset,
    match_many,
    match_track,
    merge_intervals,
    reaches_frame,
)
from gis.patrol.tracks import (
    DROP_REASONS,
    CleanReport,
    Track,
    clean_track,
    iso_utc,
    local_text,
    path_length_m,
    position_at,
    read_tracks,
    track_from_record,
)

__all__ = [
    "DROP_REASONS",
    "FLAG_LABELS",
    "CleanReport",
    "FlagRules",
    "MatchOptions",
    "PatrolResult",
    "Track",
    "analyse_track",
    "analyse_tracks",
    "clean_track",
    "cross_flags",
    "detect_offset",
    "iso_utc",
    "local_text",
    "match_many",
    "match_track",
    "merge_intervals",
    "path_length_m",
    "position_at",
    "reaches_frame",
    "read_tracks",
    "track_from_record",
]

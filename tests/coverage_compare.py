"""Comparing two coverage results stretch for stretch (shared by the incremental and tiled tests)."""

from __future__ import annotations

import shapely

from gis.checks.coverage import CoverageResult

COLS = ["reach_id", "from_m", "to_m", "status", "grid_ids", "nearest_grid_id", "on_boundary", "sliver", "station"]


def assert_same(a: CoverageResult, b: CoverageResult) -> None:
    """Exactly the same result: every stretch, its claims, lengths, 桩号 and coordinates, the totals."""
    x, y = a.intervals[COLS].reset_index(drop=True), b.intervals[COLS].reset_index(drop=True)
    assert x.equals(y)
    assert shapely.equals_exact(a.intervals.geometry.to_numpy(), b.intervals.geometry.to_numpy(), 0.0).all()
    assert a.totals() == b.totals()
    assert a.gap_totals() == b.gap_totals()
    assert a.reach_totals.equals(b.reach_totals)
    assert a.slivers() == b.slivers()

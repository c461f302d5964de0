"""Labels of grids on the 考核评价 charts: short, unique, with the full path for the hover.

Grid names repeat their ancestors (森工街道东兴村 under 临江市森工街道办事处), and a chart axis cuts
long labels, so that 森工街道东兴村 and 森工街道东兴村（二） both show as 森工街道东兴… Here a
grid's short label drops the leading name of an ancestor (with or without its administrative
suffix: 森工街道 of 临江市森工街道办事处), giving 东兴村 and 东兴村（二）; labels that would still
be shared fall back to the full name, then to the name with its parent's short label. The path
(临江市 › 临江市森工街道办事处 › 森工街道东兴村) names the grid without doubt on hover. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["ADMIN_SUFFIXES", "PATH_SEPARATOR", "chart_labels", "grid_paths", "short_name"]

ADMIN_SUFFIXES = ("人民政府", "办事处", "村民委员会", "居民委员会", "村委会", "居委会")
"""Endings of a responsible body's name dropped from an ancestor's name before it is stripped."""

PATH_SEPARATOR = " › "

_MIN_LABEL = 2
"""A short label keeps at least this many characters."""


def _prefixes(ancestors: Iterable[str]) -> list[str]:
    """Names of the ancestors, with and without an administrative suffix and with and without
    the leading name of another ancestor, longest first."""
    found = {a for a in ancestors if a}
    for _ in range(2):  # an ancestor's name may itself start with its own ancestor's
        more = {a[: -len(s)] for a in found for s in ADMIN_SUFFIXES if a.endswith(s) and len(a) > len(s)}
        more |= {a[len(b) :] for a in found for b in found if a != b and a.startswith(b)}
        found |= {m for m in more if m}
    return sorted(found, key=len, reverse=True)


def short_name(name: str, ancestors: Sequence[str]) -> str:
    """``name`` without the leading name of an ancestor (repeatedly), keeping two characters."""
    prefixes = _prefixes(ancestors)
    label = name
    changed = True
    while changed:
        changed = False
        for p in prefixes:
            if label.startswith(p) and len(label) - len(p) >= _MIN_LABEL:
                label = label[len(p) :]
                changed = True
                break
    return label


def grid_paths(grids: Iterable[tuple[Any, str, Any]]) -> dict[Any, list[str]]:
    """The names from the top grid down to each grid, by id, from ``(id, name, parent_id)``
    rows (a parent missing from the rows ends the path)."""
    rows = {gid: (name, parent) for gid, name, parent in grids}
    out: dict[Any, list[str]] = {}
    for gid in rows:
        names: list[str] = []
        seen: set[Any] = set()
        at: Any = gid
        while at in rows and at not in seen:
            seen.add(at)
            name, at = rows[at]
            names.append(name)
        out[gid] = names[::-1]
    return out


def chart_labels(grids: Iterable[tuple[Any, str, Any]], shown: Sequence[Any]) -> dict[Any, tuple[str, str]]:
    """Short unique label and full path (``临江市 › … › 森工街道东兴村``) of each grid in ``shown``.

    Parameters
    ----------
    grids
        ``(id, name, parent_id)`` of every grid (the ancestors of the shown ones included).
    shown
        Ids of the grids on one chart: their labels are unique among them.
    """
    paths = grid_paths(grids)
    short = {g: short_name(paths[g][-1], paths[g][:-1]) for g in shown}
    for attempt in ("full", "parent"):
        counts: dict[str, int] = {}
        for label in short.values():
            counts[label] = counts.get(label, 0) + 1
        clash = [g for g in shown if counts[short[g]] > 1]
        if not clash:
            break
        for g in clash:
            path = paths[g]
            if attempt == "full":
                short[g] = path[-1]
            elif len(path) > 1:
                short[g] = f"{path[-1]}（{short_name(path[-2], path[:-2])}）"
    return {g: (short[g], PATH_SEPARATOR.join(paths[g])) for g in shown}

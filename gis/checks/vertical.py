"""纵向到底: is every live grid and reach staffed, today, at every level?

:func:`check_vertical` reads the store and returns :class:`gis.checks.findings.Finding` rows; it writes
nothing. Only live rows count (grids and reaches whose ``deleted_at`` is empty) and only posts
*current* on the day checked: ``valid_from <= today <= valid_to``, an empty date being open.

Rules (``Finding.rule``)
------------------------
``no_main_responsible`` (error)
    A grid with no current 主要责任人.
``no_township_supervisor`` (error)
    A village grid with no current 乡级监管责任人.
``work_group_too_small`` (error)
    A village grid whose work group has fewer than ``min_supervisors`` current 监管人员
    (the plan: 每个工作组监管人员不少于1人).
``person_outside_branch`` (warning)
    A person holds a post in a grid outside the branch of their unit; see *Branch rule*.
``reach_without_chief`` (error)
    A live reach with no current 河长.
``post_held_by_departed`` (error)
    A current grid post or reach-chief post held by a person whose status is ``left`` (已离任).
    ``object_id`` is the assignment's id (:class:`~gis.store.schema.GridRoleAssignment` or
    :class:`~gis.store.schema.ReachChief`).
``expired_only`` (warning)
    A post of a grid that was held, whose holders' terms have all ended (``valid_to`` before
    today) and that nobody holds or is booked to hold (no current or future assignment). When
    one of the error rules above already reports the empty post (the 主要责任人 of any grid, the
    乡级监管责任人 and 监管人员 of a village grid) that finding carries the note
    ``（原…已于…离任/任期届满）`` instead, so ``expired_only`` is reported only for the other posts
    (e.g. every 协管员/志愿者 of a grid gone).
``object_without_responsible`` (error)
    A supervised object (of a live grid, or of none) with no responsible person (五定: 定人员),
    or whose responsible person has left (已离任). ``object_id`` is the object's id,
    ``related_ids`` its grid's id (if any), ``level`` its grid's level.

A post counts as filled whatever its holder's status: a post held by a departed person is
reported once, as ``post_held_by_departed``, not also as an empty post.

Branch rule (``person_outside_branch``)
---------------------------------------
A grid's *branch* is the grid, its ancestors and its descendants. A person's *home grids* come
from their unit (``Person.unit``) matched against *grid keys*:

* a grid's keys are its name and its responsible body, plus what remains of each after removing
  a bracketed note (``（示意）``), an administrative suffix (人民政府, 办事处, 村民委员会,
  居民委员会, 村委会, 居委会) and the leading name of an ancestor; so 临江市森工街道办事处 has the
  keys 临江市森工街道办事处, 临江市森工街道, 森工街道办事处, 森工街道, and its village
  森工街道东兴村 has 森工街道东兴村, 东兴村 (keys shorter than two characters are dropped);
* if the unit contains a key, the home grids are the deepest grids with such a key (the longest
  key breaks a tie): 森工街道东兴村 and 东兴村 → 东兴村; 森工街道农业农村办 and
  临江市森工街道党工委 → the township (a township office belongs to the township grid);
  临江市河长制办公室 → the county;
* otherwise, if the unit is part of a key (a fragment such as 森工), the shallowest grids with
  such a key;
* otherwise (an empty unit, or one that names no grid, such as 农业农村办 written without its
  township), the person is taken to belong where they serve: the home grids are the grids of
  their highest-level current posts.

Every current post outside the union of the home grids' branches is a finding, one per post.
Only grid posts are checked (reach chiefs are posts on reaches, not grids).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis import clock
from gis.checks.findings import VERTICAL_RULE_LABELS, Finding
from gis.errors import ValidationError
from gis.model import Category, GridLevel, GridRole, PersonStatus, ReachChiefLevel
from gis.store.queries import live_grids
from gis.store.schema import Grid, GridRoleAssignment, Person, Reach, ReachChief, SupervisedObject, not_deleted
from gis.store.tree import GridTree

__all__ = ["RULE_LABELS", "check_vertical", "grid_keys", "unit_grids"]

RULE_LABELS: dict[str, str] = VERTICAL_RULE_LABELS
"""Rule code → short Chinese label, in the order findings are returned."""

_NOTE = re.compile(r"[（(][^）)]*[）)]")
_BODY_SUFFIXES = ("人民政府", "办事处", "村民委员会", "居民委员会", "村委会", "居委会")
_MIN_KEY_LENGTH = 2

_Assignment = GridRoleAssignment | ReachChief


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------


def _is_current(a: _Assignment, today: date) -> bool:
    return (a.valid_from is None or a.valid_from <= today) and (a.valid_to is None or a.valid_to >= today)


def _has_ended(a: _Assignment, today: date) -> bool:
    return a.valid_to is not None and a.valid_to < today


def _ended_note(assignments: Sequence[_Assignment], post: str) -> str:
    """``（原主要责任人何兆花已于2026-11-27任期届满）`` for assignments that all ended, else ``""``."""
    if not assignments:
        return ""
    parts = []
    for a in sorted(assignments, key=lambda a: (a.valid_to, a.id)):
        how = "离任" if a.person.status == PersonStatus.LEFT.value else "任期届满"
        parts.append(f"{a.person.name}已于{a.valid_to:%Y-%m-%d}{how}")
    return f"（原{post}" + "；".join(parts) + "）"


def _vacancy(assignments: Sequence[_Assignment], today: date) -> tuple[bool, list[_Assignment]]:
    """Whether nobody holds the post today, and the assignments that ended (for the note)."""
    empty = not any(_is_current(a, today) for a in assignments)
    return empty, [a for a in assignments if _has_ended(a, today)] if empty else []


# ---------------------------------------------------------------------------------------------
# Branch rule
# ---------------------------------------------------------------------------------------------


def _clean(text: str | None) -> str:
    return _NOTE.sub("", text or "").strip()


def grid_keys(grid: Grid, ancestor_keys: Iterable[str] = ()) -> frozenset[str]:
    """Names under which a unit may refer to ``grid`` (see the module's *Branch rule*).

    Parameters
    ----------
    grid
        The grid; its ``name`` and ``responsible_body`` are used.
    ancestor_keys
        Keys of the grid's ancestors, removed when they start one of the grid's names.
    """
    prefixes = sorted({k for k in ancestor_keys if k}, key=len, reverse=True)
    todo = [t for t in (_clean(grid.name), _clean(grid.responsible_body)) if t]
    keys: set[str] = set()
    while todo:
        text = todo.pop()
        if text in keys:
            continue
        keys.add(text)
        todo += [text[: -len(s)] for s in _BODY_SUFFIXES if text.endswith(s) and len(text) > len(s)]
        todo += [text[len(p) :] for p in prefixes if text.startswith(p) and len(text) > len(p)]
    return frozenset(k for k in keys if len(k) >= _MIN_KEY_LENGTH)


def _keys_by_grid(grids: Sequence[Grid]) -> dict[int, frozenset[str]]:
    """Keys of every grid, ancestors first (only live ancestors are followed)."""
    by_id = {g.id: g for g in grids}
    keys: dict[int, frozenset[str]] = {}

    def of(g: Grid) -> frozenset[str]:
        if g.id not in keys:
            parent = by_id.get(g.parent_id) if g.parent_id is not None else None
            above = _ancestor_keys(parent) if parent is not None else frozenset()
            keys[g.id] = grid_keys(g, above)
        return keys[g.id]

    def _ancestor_keys(g: Grid) -> frozenset[str]:
        out = set(of(g))
        seen = {g.id}
        p = by_id.get(g.parent_id) if g.parent_id is not None else None
        while p is not None and p.id not in seen:
            seen.add(p.id)
            out |= of(p)
            p = by_id.get(p.parent_id) if p.parent_id is not None else None
        return frozenset(out)

    for g in grids:
        of(g)
    return keys


def _rank(grid: Grid) -> int:
    return GridLevel(grid.level).rank


def unit_grids(unit: str, grids: Sequence[Grid], *, keys: dict[int, frozenset[str]] | None = None) -> list[Grid]:
    """The grids a person's unit belongs to; empty when the unit names no grid.

    Parameters
    ----------
    unit
        ``Person.unit`` (e.g. ``森工街道东兴村``, ``东兴村``, ``森工街道农业农村办``).
    grids
        The live grids (e.g. :func:`gis.store.queries.live_grids`).
    keys
        Precomputed keys per grid id (computed from ``grids`` when omitted).

    Returns
    -------
    list of Grid
        The deepest grids one of whose keys the unit contains (longest key wins a tie); failing
        that, the shallowest grids with a key that contains the unit.
    """
    text = _clean(unit)
    if len(text) < _MIN_KEY_LENGTH:
        return []
    keys = _keys_by_grid(grids) if keys is None else keys
    forward = [(g, max(len(k) for k in keys[g.id] if k in text)) for g in grids if any(k in text for k in keys[g.id])]
    if forward:
        best = max((_rank(g), length) for g, length in forward)
        return [g for g, length in forward if (_rank(g), length) == best]
    reverse = [g for g in grids if any(text in k for k in keys[g.id])]
    if reverse:
        top = min(_rank(g) for g in reverse)
        return [g for g in reverse if _rank(g) == top]
    return []


def _outside_branch(grids: Sequence[Grid], today: date) -> list[Finding]:
    by_id = {g.id: g for g in grids}
    tree = GridTree.of(grids)
    keys = _keys_by_grid(grids)
    posts: dict[int, list[GridRoleAssignment]] = defaultdict(list)
    persons: dict[int, Person] = {}
    for g in grids:
        for a in g.roles:
            if _is_current(a, today):
                posts[a.person_id].append(a)
                persons[a.person_id] = a.person
    findings = []
    for person_id, held in posts.items():
        person = persons[person_id]
        home = unit_grids(person.unit, grids, keys=keys)
        how = f"单位“{person.unit}”所属"
        if not home:
            top = min(_rank(by_id[a.grid_id]) for a in held)
            home = list({a.grid_id: by_id[a.grid_id] for a in held if _rank(by_id[a.grid_id]) == top}.values())
            how = f"单位“{person.unit or '（未填写）'}”未对应任何网格，按其最高一级任职所在"
        allowed = set().union(*(tree.branch(h.id) for h in home))
        home_names = "、".join(f"“{h.name}”" for h in sorted(home, key=lambda h: h.id))
        for a in sorted(held, key=lambda a: a.id):
            if a.grid_id in allowed:
                continue
            grid = by_id[a.grid_id]
            findings.append(
                Finding(
                    rule="person_outside_branch",
                    object_id=a.id,
                    message=(
                        f"{person.name}在{GridLevel(grid.level).label}“{grid.name}”担任{GridRole(a.role).label}，"
                        f"不在其{how}网格{home_names}的上下级链条内"
                    ),
                    severity="warning",
                    related_ids=(person.id, grid.id, *(h.id for h in home)),
                    level=grid.level,
                )
            )
    return sorted(findings, key=lambda f: (GridLevel(f.level or GridLevel.VILLAGE).rank, f.related_ids[1], f.object_id))


# ---------------------------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------------------------


def check_vertical(session: Session, *, today: date | None = None, min_supervisors: int = 1) -> list[Finding]:
    """Vertical completeness (纵向到底) of the live grids and reaches on ``today``.

    Parameters
    ----------
    session
        An open store session (read only).
    today
        Day on which posts must be current; default: today in Asia/Shanghai.
    min_supervisors
        Least number of 监管人员 in a village grid's work group (the plan: 1); 0 disables the rule.

    Returns
    -------
    list of Finding
        Grouped by rule in the order of :data:`RULE_LABELS`, then by grid level and id (or reach
        id); empty when every grid and reach is staffed. See the module docstring for the rules.

    Raises
    ------
    ValidationError
        If ``min_supervisors`` is negative.
    """
    if min_supervisors < 0:
        raise ValidationError(
            f"监管人员最少人数不能为负数（当前为 {min_supervisors}）",
            f"min_supervisors must be >= 0, got {min_supervisors}",
        )
    today = today or clock.today()
    grids = live_grids(session)
    by_rule: dict[str, list[Finding]] = {rule: [] for rule in RULE_LABELS}

    for grid in grids:
        level = GridLevel(grid.level)
        where = f"{level.label}“{grid.name}”"
        roles: dict[GridRole, list[GridRoleAssignment]] = {role: [] for role in GridRole}
        for a in grid.roles:
            roles[GridRole(a.role)].append(a)
        reported: set[GridRole] = set()

        empty, ended = _vacancy(roles[GridRole.MAIN_RESPONSIBLE], today)
        if empty:
            reported.add(GridRole.MAIN_RESPONSIBLE)
            by_rule["no_main_responsible"].append(
                Finding(
                    rule="no_main_responsible",
                    object_id=grid.id,
                    level=grid.level,
                    message=f"{where}没有在任的主要责任人" + _ended_note(ended, "主要责任人"),
                    related_ids=tuple(a.id for a in ended),
                )
            )
        if level is GridLevel.VILLAGE:
            empty, ended = _vacancy(roles[GridRole.TOWNSHIP_SUPERVISOR], today)
            if empty:
                reported.add(GridRole.TOWNSHIP_SUPERVISOR)
                by_rule["no_township_supervisor"].append(
                    Finding(
                        rule="no_township_supervisor",
                        object_id=grid.id,
                        level=grid.level,
                        message=f"{where}没有在任的乡级监管责任人" + _ended_note(ended, "乡级监管责任人"),
                        related_ids=tuple(a.id for a in ended),
                    )
                )
            supervisors = [a for a in roles[GridRole.SUPERVISOR] if _is_current(a, today)]
            count = len({a.person_id for a in supervisors})
            if count < min_supervisors:
                reported.add(GridRole.SUPERVISOR)
                _, ended = _vacancy(roles[GridRole.SUPERVISOR], today)
                names = "、".join(a.person.name for a in sorted(supervisors, key=lambda a: (a.sort, a.id)))
                now = f"现有监管人员{count}人（{names}）" if count else "没有在任的监管人员"
                by_rule["work_group_too_small"].append(
                    Finding(
                        rule="work_group_too_small",
                        object_id=grid.id,
                        level=grid.level,
                        message=(
                            f"{where}的监管工作组{now}，少于规定的{min_supervisors}人" + _ended_note(ended, "监管人员")
                        ),
                        related_ids=tuple(a.id for a in supervisors),
                    )
                )
        for role, assignments in roles.items():
            if role in reported or not assignments:
                continue
            if all(_has_ended(a, today) for a in assignments):
                by_rule["expired_only"].append(
                    Finding(
                        rule="expired_only",
                        object_id=grid.id,
                        level=grid.level,
                        severity="warning",
                        message=f"{where}的{role.label}任期均已结束，无人接替" + _ended_note(assignments, role.label),
                        related_ids=tuple(a.id for a in assignments),
                    )
                )
        for a in sorted(grid.roles, key=lambda a: a.id):
            if _is_current(a, today) and a.person.status == PersonStatus.LEFT.value:
                by_rule["post_held_by_departed"].append(
                    Finding(
                        rule="post_held_by_departed",
                        object_id=a.id,
                        level=grid.level,
                        message=f"{a.person.name}已离任，仍登记为{where}的{GridRole(a.role).label}",
                        related_ids=(a.person_id, grid.id),
                    )
                )

    by_rule["person_outside_branch"] = _outside_branch(grids, today)

    reaches = session.scalars(
        select(Reach).where(not_deleted(Reach)).options(selectinload(Reach.river)).order_by(Reach.id)
    ).all()
    chiefs: dict[int, list[ReachChief]] = defaultdict(list)
    if reaches:
        for c in session.scalars(
            select(ReachChief)
            .where(ReachChief.reach_id.in_([r.id for r in reaches]))
            .options(selectinload(ReachChief.person))
            .order_by(ReachChief.id)
        ):
            chiefs[c.reach_id].append(c)
    for reach in reaches:
        where = f"河段“{reach.name}”（{reach.river.name}）"
        empty, ended = _vacancy(chiefs[reach.id], today)
        if empty:
            by_rule["reach_without_chief"].append(
                Finding(
                    rule="reach_without_chief",
                    object_id=reach.id,
                    message=f"{where}没有在任的河长" + _ended_note(ended, "河长"),
                    related_ids=tuple(c.id for c in ended),
                )
            )
        for c in chiefs[reach.id]:
            if _is_current(c, today) and c.person.status == PersonStatus.LEFT.value:
                by_rule["post_held_by_departed"].append(
                    Finding(
                        rule="post_held_by_departed",
                        object_id=c.id,
                        message=f"{c.person.name}已离任，仍登记为{where}的{ReachChiefLevel(c.level).label}",
                        related_ids=(c.person_id, reach.id),
                    )
                )

    by_rule["object_without_responsible"] = _objects_without_responsible(session, grids)

    return [f for rule in RULE_LABELS for f in by_rule[rule]]


def _objects_without_responsible(session: Session, grids: Sequence[Grid]) -> list[Finding]:
    by_id = {g.id: g for g in grids}
    findings = []
    for obj in session.scalars(
        select(SupervisedObject).options(selectinload(SupervisedObject.responsible)).order_by(SupervisedObject.id)
    ):
        grid = by_id.get(obj.grid_id) if obj.grid_id is not None else None
        if obj.grid_id is not None and grid is None:
            continue  # its grid was deleted
        where = f"{GridLevel(grid.level).label}“{grid.name}”的" if grid is not None else ""
        what = f"{where}监管对象“{obj.name}”（{Category(obj.category).label}）"
        person = obj.responsible
        if person is None:
            message = f"{what}没有落实责任人（五定：定人员）"
        elif person.status == PersonStatus.LEFT.value:
            message = f"{what}的责任人{person.name}已离任，需重新落实责任人"
        else:
            continue
        findings.append(
            Finding(
                rule="object_without_responsible",
                object_id=obj.id,
                level=grid.level if grid is not None else None,
                message=message,
                related_ids=(grid.id,) if grid is not None else (),
            )
        )
    return findings

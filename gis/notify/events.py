"""What one notification pass finds in the store, and for whom (session-bound, read only).

Events: the case steps 交办 (``assign``), 督办 (``urge``), 上报上级 (``escalate``) and 退回重办
(``return``) of open cases taken within the look-back window (``RIVERGRID_NOTIFY_LOOKBACK_H``);
open cases due within one working day (the deadline policy's "due soon") and overdue
(:func:`gis.incidents.deadlines.deadline_status`, the same rule as ``incident list --overdue``);
public reports (群众投诉举报) reported within the window; and the escalations of cases overdue
by the rules' working days (:mod:`gis.notify.core`, counted by the working-day calendar); and each
grid's periodic report (信息报送) not submitted, due within one working day (报送提醒) or past its
deadline (逾期未报送), told to the grid's 主要责任人 and 监管人员.
Recipients by event: see :mod:`gis.notify.core`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis.auth import Actor, Scope
from gis.config import Settings
from gis.incidents.deadlines import DEFAULT_POLICY, DeadlinePolicy, Span, as_utc, deadline_status
from gis.incidents.states import OPEN_STATES
from gis.model import LOCAL_TZ, GridRole, IncidentSource, OrgBodyKind, UserRole
from gis.notify.core import KIND_LABELS, Notice, NotifyRules, chosen_channels, webhook_format
from gis.reports.editions import due_reports
from gis.store.queries import grid_people
from gis.store.schema import Grid, Incident, OrgBody, Person, User
from gis.store.scope import grid_line, scope_of

__all__ = ["ESCALATION_ACTIONS", "Found", "Target", "find", "targets_for"]

_STEP_KINDS = {"assign": "assigned", "urge": "urged", "escalate": "escalated", "return": "returned"}

ESCALATION_ACTIONS = {"escalation_upper": "overdue_upper", "escalation_office": "overdue_office"}
"""The case event (``IncidentEvent.action``) that records each escalation."""

R = GridRole
_POSTS = {
    "assigned": (R.MAIN_RESPONSIBLE, R.SUPERVISOR),
    "returned": (R.MAIN_RESPONSIBLE, R.SUPERVISOR),
    "due_soon": (R.MAIN_RESPONSIBLE, R.SUPERVISOR),
    "escalated": (R.MAIN_RESPONSIBLE, R.SUPERVISOR),
    "urged": (R.MAIN_RESPONSIBLE, R.SUPERVISOR, R.TOWNSHIP_SUPERVISOR),
    "overdue": (R.MAIN_RESPONSIBLE, R.SUPERVISOR, R.TOWNSHIP_SUPERVISOR),
    "public_report": (R.MAIN_RESPONSIBLE, R.SUPERVISOR, R.ASSISTANT),
    "report_due": (R.MAIN_RESPONSIBLE, R.SUPERVISOR),
    "report_overdue": (R.MAIN_RESPONSIBLE, R.SUPERVISOR),
}


@dataclass(frozen=True)
class Found:
    """An event and the persons it is for (the office's members for an escalation to it)."""

    notice: Notice
    persons: tuple[Person, ...]
    overdue_days: float = 0.0
    due_at: datetime | None = None


@dataclass(frozen=True)
class Target:
    """One (recipient, channel) of an event: ``recipient`` names who (``user:ID`` for in-app,
    ``person:ID`` for mail and SMS, ``webhook:URL``), ``address`` where."""

    channel: str
    recipient: str
    address: str
    name: str = ""
    person_id: int | None = None
    user_id: int | None = None
    quiet_hours: str = ""
    format: str = ""


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _link(cfg: Settings, incident: Incident) -> str:
    return f"{cfg.public_url}/incidents?{urlencode({'case': incident.code})}"  # 事件处置 opens the case


def _notice(cfg: Settings, key: str, kind: str, inc: Incident, text: str) -> Notice:
    title = f"【{KIND_LABELS[kind]}】{inc.code} {inc.title}"
    grid = inc.grid.name if inc.grid is not None else "无网格"
    return Notice(key, kind, title, f"{text}（网格：{grid}）", inc.id, inc.code, inc.grid_id, _link(cfg, inc))


def _people(grid: Grid | None, roles: Iterable[GridRole], today: object) -> list[Person]:
    if grid is None:
        return []
    posts = grid_people(grid, today=today)  # type: ignore[arg-type]
    out: dict[int, Person] = {}
    for role in roles:
        for p in posts.get(role, []):
            out.setdefault(p.id, p)
    return list(out.values())


def _upper_supervisors(session: Session, inc: Incident, today: object) -> list[Person]:
    """The 乡级监管责任人 of the case's grid and the supervisors of the grid above (else its 主要责任人)."""
    people = {p.id: p for p in _people(inc.grid, (R.TOWNSHIP_SUPERVISOR,), today)}
    parent = inc.grid.parent if inc.grid is not None else None
    above = _people(parent, (R.SUPERVISOR, R.TOWNSHIP_SUPERVISOR), today) or _people(
        parent, (R.MAIN_RESPONSIBLE,), today
    )
    for p in above:
        people.setdefault(p.id, p)
    return list(people.values())


def _office(session: Session, inc: Incident) -> list[Person]:
    """The members of the leading group's office (领导小组办公室) nearest the case's grid."""
    offices = list(
        session.scalars(
            select(OrgBody).where(OrgBody.kind == OrgBodyKind.OFFICE.value).options(selectinload(OrgBody.members))
        )
    )
    line = grid_line(session, inc.grid_id)
    ranked = sorted(offices, key=lambda b: (line.index(b.grid_id) if b.grid_id in line else len(line), b.id))
    return [m.person for m in ranked[0].members] if ranked else []


def _already_escalated(inc: Incident, action: str, due: datetime | None) -> bool:
    due = as_utc(due)
    return any(e.action == action and (due is None or (as_utc(e.at) or due) >= due) for e in inc.events)


def find(
    session: Session,
    cfg: Settings,
    rules: NotifyRules,
    *,
    now: datetime,
    policy: DeadlinePolicy = DEFAULT_POLICY,
) -> list[Found]:
    """Every event of this pass with its persons (before data scope and channels)."""
    today = now.astimezone(LOCAL_TZ).date()
    since = now - timedelta(hours=cfg.notify_lookback_h)
    cases = list(
        session.scalars(
            select(Incident)
            .where(Incident.status.in_([s.value for s in OPEN_STATES]))
            .options(
                selectinload(Incident.events),
                selectinload(Incident.grid).selectinload(Grid.roles),
                selectinload(Incident.grid).selectinload(Grid.parent).selectinload(Grid.roles),
            )
            .order_by(Incident.id)
        )
    )
    found: list[Found] = []
    for inc in cases:
        for ev in inc.events:
            kind = _STEP_KINDS.get(ev.action)
            at = as_utc(ev.at)
            if kind is None or at is None or at < since:
                continue
            note = f"：{ev.note}" if ev.note else ""
            text = f"{_when(at)} {ev.by or '系统'}{KIND_LABELS[kind]}{note}"
            found.append(
                Found(_notice(cfg, f"event:{ev.id}", kind, inc, text), tuple(_people(inc.grid, _POSTS[kind], today)))
            )
        reported = as_utc(inc.reported_at)
        if inc.source == IncidentSource.PUBLIC_COMPLAINT.value and reported is not None and reported >= since:
            text = f"{_when(reported)} 收到群众投诉举报：{inc.description[:200]}"
            found.append(
                Found(
                    _notice(cfg, f"public:{inc.id}", "public_report", inc, text),
                    tuple(_people(inc.grid, _POSTS["public_report"], today)),
                )
            )
        status = deadline_status(inc, now=now, policy=policy)
        due = status.due_at
        if due is None:
            continue
        what = "受理" if status.kind == "accept" else "办结"
        if status.overdue:
            days = policy.calendar.working_days_between(due, now)
            text = f"已超期：{what}期限 {_when(due)}，已超过 {days:.1f} 个工作日，请尽快办理"
            key = f"overdue:{inc.id}:{status.kind}:{due.isoformat()}"
            found.append(
                Found(
                    _notice(cfg, key, "overdue", inc, text),
                    tuple(_people(inc.grid, _POSTS["overdue"], today)),
                    days,
                    due,
                )
            )
            for kind, threshold in (
                ("escalation_upper", rules.escalation.upper_after_days),
                ("escalation_office", rules.escalation.office_after_days),
            ):
                if days < threshold:
                    continue
                persons = (
                    _upper_supervisors(session, inc, today) if kind == "escalation_upper" else _office(session, inc)
                )
                where = "上级网格监管人员" if kind == "escalation_upper" else "领导小组办公室"
                rule = f"规则：超期 {threshold:g} 个工作日报{where}"
                text = f"超期升级：{what}期限 {_when(due)}，已超期 {days:.1f} 个工作日（{rule}）"
                key = f"{kind}:{inc.id}:{status.kind}:{due.isoformat()}"
                found.append(Found(_notice(cfg, key, kind, inc, text), tuple(persons), days, due))
        elif status.due_soon and rules.due_soon:
            text = f"即将到期：{what}期限 {_when(due)}，请在期限前办理"
            key = f"due_soon:{inc.id}:{status.kind}:{due.isoformat()}"
            found.append(
                Found(
                    _notice(cfg, key, "due_soon", inc, text),
                    tuple(_people(inc.grid, _POSTS["due_soon"], today)),
                    0.0,
                    due,
                )
            )
    return found + _report_events(session, cfg, now=now, policy=policy)


def _report_events(session: Session, cfg: Settings, *, now: datetime, policy: DeadlinePolicy) -> list[Found]:
    """信息报送: each live grid's periodic report (:func:`gis.reports.editions.due_reports`) not
    submitted and due within one working day (报送提醒) or past its deadline (逾期未报送)."""
    today = now.astimezone(LOCAL_TZ).date()
    soon = Span(working_days=1).after(now, policy.calendar)
    out: list[Found] = []
    grids = session.scalars(
        select(Grid).where(Grid.deleted_at.is_(None)).options(selectinload(Grid.roles)).order_by(Grid.id)
    )
    for grid in grids:
        for due in due_reports(session, grid.id, now=now):
            due_at = datetime.fromisoformat(due["due_at"])
            period = due["period"]
            what = f"{grid.name}{period['title']}{period['kind_label']}"
            if due["status"] == "overdue":
                kind, text = "report_overdue", f"逾期未报送：{what}，报送期限 {due['due_at_local']}，请尽快报送"
            elif due_at <= soon:
                kind, text = "report_due", f"即将到期：{what}应在 {due['due_at_local']} 前报送"
            else:
                continue
            link = f"{cfg.public_url}/reports?{urlencode({'period': period['label'], 'grid': grid.id})}"
            notice = Notice(
                f"{kind}:{grid.id}:{period['label']}",
                kind,
                f"【{KIND_LABELS[kind]}】{what}",
                text,
                None,
                "",
                grid.id,
                link,
            )
            out.append(Found(notice, tuple(_people(grid, _POSTS[kind], today)), 0.0, due_at))
    return out


def escalation_to_record(session: Session, found: Found) -> str | None:
    """The case event action to record for an escalation not recorded yet for this deadline, or None."""
    action = ESCALATION_ACTIONS.get(found.notice.kind)
    if action is None or found.notice.incident_id is None:
        return None
    inc = session.get(Incident, found.notice.incident_id)
    if inc is None or _already_escalated(inc, action, found.due_at):
        return None
    return action


def available_channels(cfg: Settings) -> frozenset[str]:
    """The person channels this installation can send: in-app always, mail and SMS when configured."""
    return frozenset({"inapp"} | ({"email"} if cfg.smtp_host else set()) | ({"sms"} if cfg.sms_url else set()))


def targets_for(
    session: Session, cfg: Settings, rules: NotifyRules, found: Found, *, scopes: dict[int, Scope] | None = None
) -> list[Target]:
    """The (recipient, channel) pairs of one event: each person by their channels, within data
    scope, and the event's webhook (the grid's own, or the nearest grid above with one, or
    ``RIVERGRID_WEBHOOK_URL``). ``scopes`` caches the accounts' scopes over one pass."""
    notice = found.notice
    available = available_channels(cfg)
    scopes = {} if scopes is None else scopes

    def scope(u: User) -> Scope:
        if u.id not in scopes:
            scopes[u.id] = scope_of(session, Actor(u.username, UserRole(u.role), u.display_name, u.id))
        return scopes[u.id]

    out: list[Target] = []
    for p in found.persons:
        accounts = list(
            session.scalars(select(User).where(User.person_id == p.id, User.active.is_(True)).order_by(User.id))
        )
        covering = [u for u in accounts if scope(u).covers_case(notice.incident_id, notice.grid_id)]
        if accounts and not covering:
            continue  # data scope: this person's accounts do not see the case's grid
        quiet = p.quiet_hours or cfg.quiet_hours
        for channel in chosen_channels(
            p.notify_channels, has_account=bool(covering), email=p.email or "", phone=p.phone or "", available=available
        ):
            if channel == "inapp":
                out.extend(Target("inapp", f"user:{u.id}", u.username, p.name, p.id, u.id) for u in covering)
            elif channel == "email":
                out.append(Target("email", f"person:{p.id}", p.email.strip(), p.name, p.id, None, quiet))
            else:
                out.append(Target("sms", f"person:{p.id}", p.phone.strip(), p.name, p.id, None, quiet))
    hook = next((rules.webhooks[g] for g in grid_line(session, notice.grid_id) if g in rules.webhooks), None)
    url, fmt = (hook.url, hook.format) if hook is not None else (cfg.webhook_url, cfg.webhook_format)
    if url:
        out.append(Target("webhook", f"webhook:{url}", url, "", None, None, cfg.quiet_hours, webhook_format(url, fmt)))
    return out

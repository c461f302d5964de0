"""Notifications, delivery log, escalation and the runner (issue 18), on the demo, on SQLite and
PostGIS, against a real local SMTP server (aiosmtpd) and a local HTTP sink.

"Now" is the suite's pinned 2026-11-28 08:00 Beijing: the demo then has two overdue cases,
SJ-2026-008 (森工社区, 办结期限 2026-10-19) and SJ-2026-009 (东兴村, 2026-10-20), each far more
than 10 working days late, so both escalation levels apply with the default rules (3 and 10).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from gis import clock
from gis.auth import SYSTEM, Actor
from gis.errors import PermissionDenied, ValidationError
from gis.incidents.lists import list_incidents
from gis.model import LOCAL_TZ, UserRole
from gis.notify import delivery as delivery_module
from gis.notify.core import (
    Notice,
    load_rules,
    parse_quiet_hours,
    quiet_until,
    sms_request,
    webhook_body,
    webhook_format,
)
from gis.notify.delivery import delivery_log, enqueue_post
from gis.notify.lock import runner_lock
from gis.notify.messages import mark_read, messages_for, unread_count
from gis.notify.preferences import my_preferences, set_my_preferences, set_preferences
from gis.notify.runner import run_pass
from gis.reports.editions import build_report, submit_report
from gis.store import Store
from gis.store.schema import AuditEntry, IncidentEvent, NotifyDelivery, Person, User
from tests.api_server import free_port

ROOT = Path(__file__).resolve().parent.parent

# The demo's posts (DOMAIN.md): 主要责任人, 监管人员 and 乡级监管责任人 of each village grid
OVERDUE_PERSONS = {
    "SJ-2026-008": {"管荣波", "刘晓东", "崔雪冰"},  # 森工社区
    "SJ-2026-009": {"何兆花", "王立军", "张力文"},  # 东兴村
}


# --- a local SMTP server --------------------------------------------------------------------------


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 — aiosmtpd's name
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def subjects_to(self) -> list[tuple[str, str, str]]:
        """(To, Subject, Message-ID) of every mail received."""
        return [(m["To"], str(make_header(decode_header(m["Subject"]))), m["Message-ID"]) for m in self.messages]


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Mailbox]:
    box = _Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("RIVERGRID_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RIVERGRID_SMTP_PORT", str(port))
    monkeypatch.setenv("RIVERGRID_SMTP_FROM", "rivergrid@example.org")
    yield box
    controller.stop()


# --- a local HTTP sink that deduplicates on Idempotency-Key ----------------------------------------


class Sink:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []  # every request, resends included
        self.kept: dict[str, dict[str, Any]] = {}  # one per Idempotency-Key (what a deduplicating receiver keeps)
        self.fail_next = 0
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 — http.server's name
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with sink.lock:
                    if sink.fail_next > 0:
                        sink.fail_next -= 1
                        self.send_response(503)
                        self.end_headers()
                        return
                    entry = {
                        "path": self.path,
                        "key": self.headers.get("Idempotency-Key"),
                        "type": self.headers.get("Content-Type", ""),
                        "raw": data,
                        "json": json.loads(data) if self.headers.get("Content-Type", "").startswith("application/json") else None,
                    }
                    sink.received.append(entry)
                    sink.kept.setdefault(entry["key"], entry)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"errcode": 0}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def texts(self) -> list[str]:
        return [json.dumps(e["json"], ensure_ascii=False) if e["json"] is not None else e["raw"].decode("utf-8", "replace") for e in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink()
    yield s
    s.close()


@pytest.fixture
def quiet_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No channel but in-app unless a test adds one; the rules file in the test's folder."""
    for name in ("RIVERGRID_SMTP_HOST", "RIVERGRID_WEBHOOK_URL", "RIVERGRID_SMS_URL", "RIVERGRID_QUIET_HOURS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RIVERGRID_NOTIFY_FILE", str(tmp_path / "notify.json"))
    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(tmp_path))
    return tmp_path


def _give_everyone_an_email(store: Store) -> dict[str, str]:
    """Every person of the demo gets ``p<id>@example.org`` (through the audited service); name → address."""
    with store.session(SYSTEM) as s:
        people = s.scalars(select(Person).order_by(Person.id)).all()
        for p in people:
            set_preferences(s, p.id, email=f"p{p.id}@example.org")
        return {p.name: f"p{p.id}@example.org" for p in people}


def _overdue_codes(store: Store) -> set[str]:
    with store.session() as s:
        return {inc.code for inc in list_incidents(s, overdue=True)}


# --- the must-show: one run mails each overdue case once to its persons; a second run nothing new ---


def test_one_run_mails_each_overdue_case_once_to_its_persons_and_a_second_run_nothing(
    demo_store: Store, quiet_env: Path, smtp: _Mailbox
) -> None:
    assert _overdue_codes(demo_store) == set(OVERDUE_PERSONS)  # the demo's premise at the pinned time
    emails = _give_everyone_an_email(demo_store)

    first = run_pass(demo_store)

    assert not first["skipped"] and first["counts"]["failed"] == 0
    mails = smtp.subjects_to()
    for code, persons in OVERDUE_PERSONS.items():
        to = [addr for addr, subject, _ in mails if subject.startswith(f"【超期】{code}")]
        assert sorted(to) == sorted(emails[n] for n in persons), code  # each person once, nobody else
    ids = [mid for _, _, mid in mails]
    assert len(ids) == len(set(ids))  # one Message-ID per (event, recipient)

    second = run_pass(demo_store)

    assert second["counts"]["new"] == 0 and second["counts"]["sent"] == 0
    assert len(smtp.messages) == len(mails)  # nothing new


def test_village_account_gets_only_its_village(demo_store: Store, quiet_env: Path, smtp: _Mailbox) -> None:
    """何兆花 is an office member (领导小组办公室) but her account is bound to 东兴村: the office's
    escalation of the 森工社区 case does not reach her; 秦伟 (office member, no account) gets it."""
    emails = _give_everyone_an_email(demo_store)
    run_pass(demo_store)
    office_008 = {to for to, subject, _ in smtp.subjects_to() if subject.startswith("【超期升级（领导小组办公室）】SJ-2026-008")}
    assert emails["秦伟"] in office_008 and emails["崔雪冰"] in office_008
    assert emails["何兆花"] not in office_008
    with demo_store.session() as s:
        patroller = s.scalar(select(User).where(User.username == "patroller"))
        titles = [m["title"] for m in messages_for(s, patroller)]
    assert any(t.startswith("【超期】SJ-2026-009") for t in titles)  # her own village's case
    assert not any("SJ-2026-008" in t for t in titles)


# --- at-least-once: a crash between sending and recording resends with the same key ---------------


class Crash(Exception):
    pass


def test_crash_between_sending_and_recording_resends_with_the_same_key(
    demo_store: Store, quiet_env: Path, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RIVERGRID_WEBHOOK_URL", sink.url + "/hook")
    real_post = delivery_module.post

    def post_then_die(*args: Any, **kwargs: Any) -> None:
        real_post(*args, **kwargs)  # the receiver has the message …
        raise Crash("process killed before the send was recorded")  # … and the log does not know

    monkeypatch.setattr(delivery_module, "post", post_then_die)
    with pytest.raises(Crash):
        run_pass(demo_store)
    assert len(sink.received) == 1
    first_key = sink.received[0]["key"]
    with demo_store.session() as s:
        row = s.scalar(select(NotifyDelivery).where(NotifyDelivery.key == first_key))
        assert row is not None and row.state == "pending"  # not recorded as sent

    monkeypatch.setattr(delivery_module, "post", real_post)
    run_pass(demo_store)

    resent = [e for e in sink.received if e["key"] == first_key]
    assert len(resent) == 2  # sent again …
    assert resent[0]["raw"] == resent[1]["raw"]  # … the same message under the same key
    assert len(sink.kept) == len({e["key"] for e in sink.received})  # the deduplicating sink: one per key
    assert sum(1 for k in sink.kept if k == first_key) == 1
    with demo_store.session() as s:
        states = {d.state for d in s.scalars(select(NotifyDelivery).where(NotifyDelivery.channel == "webhook"))}
    assert states == {"sent"}
    before = len(sink.received)
    run_pass(demo_store)
    assert len(sink.received) == before  # and then nothing more


# --- the CLI twice, real processes, RIVERGRID_WEBHOOK_URL set ---------------------------------------


def _cli(url: str, *args: str, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "gis", *args, "--json", "--database-url", url],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.serial
def test_cli_run_twice_with_webhook_url(demo_store: Store, quiet_env: Path, sink: Sink) -> None:
    env = {**os.environ, "RIVERGRID_WEBHOOK_URL": sink.url + "/robot"}
    first = _cli(demo_store.url, "notify", "run", env=env)
    texts = sink.texts()
    assert first["counts"]["sent"] >= 1
    assert any("超期" in t for t in texts)
    for code in OVERDUE_PERSONS:
        assert any(code in t and "超期" in t for t in texts), code
    count = len(sink.received)

    second = _cli(demo_store.url, "notify", "run", env=env)

    assert len(sink.received) == count  # none the second time
    assert second["counts"]["sent"] == 0 and second["counts"]["new"] == 0
    log = _cli(demo_store.url, "notify", "log", env=env)
    assert {r["state"] for r in log if r["channel"] == "webhook"} == {"sent"}


def test_dry_run_writes_and_sends_nothing(demo_store: Store, quiet_env: Path, sink: Sink, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIVERGRID_WEBHOOK_URL", sink.url)
    report = run_pass(demo_store, dry_run=True)
    assert report["would_send"] and any(e["kind"] == "overdue" for e in report["events"])
    assert sink.received == []
    with demo_store.session() as s:
        assert s.scalars(select(NotifyDelivery)).first() is None
        assert s.scalars(select(IncidentEvent).where(IncidentEvent.action.like("overdue_%"))).first() is None


# --- quiet hours defer, never drop -----------------------------------------------------------------


def test_quiet_hours_defer_the_mail_until_they_end(demo_store: Store, quiet_env: Path, smtp: _Mailbox) -> None:
    emails = _give_everyone_an_email(demo_store)
    with demo_store.session(SYSTEM) as s:
        p = s.scalar(select(Person).where(Person.name == "张力文"))
        set_preferences(s, p.id, quiet_hours="07:00-09:00")  # now is 08:00 Beijing
    run_pass(demo_store)
    assert emails["张力文"] not in {to for to, _, _ in smtp.subjects_to()}
    with demo_store.session() as s:
        deferred = s.scalars(select(NotifyDelivery).where(NotifyDelivery.recipient == f"person:{p.id}")).all()
    assert deferred and {d.state for d in deferred} == {"deferred"}
    assert {d.next_attempt_at.astimezone(clock.LOCAL_TZ).strftime("%H:%M") for d in deferred} == {"09:00"}
    others = len(smtp.messages)

    run_pass(demo_store, now=clock.now() + timedelta(minutes=30))  # 08:30: still quiet
    assert len(smtp.messages) == others

    run_pass(demo_store, now=clock.now() + timedelta(hours=1, minutes=5))  # 09:05
    got = [subject for to, subject, _ in smtp.subjects_to() if to == emails["张力文"]]
    assert len(got) == len(deferred)  # every deferred mail, once
    assert any(s.startswith("【超期】SJ-2026-009") for s in got)


def test_quiet_hours_core() -> None:
    at = clock.parse_moment("2026-11-28T23:30+08:00")
    assert quiet_until(at, "22:00-07:00") == clock.parse_moment("2026-11-29T07:00+08:00")
    assert quiet_until(clock.parse_moment("2026-11-29T06:59+08:00"), "22:00-07:00") == clock.parse_moment("2026-11-29T07:00+08:00")
    assert quiet_until(clock.parse_moment("2026-11-29T07:00+08:00"), "22:00-07:00") is None
    assert quiet_until(at, "") is None
    with pytest.raises(ValueError, match="免打扰时段格式无效"):
        parse_quiet_hours("晚上")


# --- escalation: recorded once as a case event, audited; the rules file ----------------------------


def test_escalations_are_case_events_recorded_once_and_audited(demo_store: Store, quiet_env: Path) -> None:
    run_pass(demo_store)
    run_pass(demo_store)
    with demo_store.session() as s:
        events = s.execute(select(IncidentEvent.incident_id, IncidentEvent.action).where(IncidentEvent.action.like("overdue_%"))).all()
        audited = s.scalars(
            select(AuditEntry).where(AuditEntry.table_name == "incident_events", AuditEntry.username == "system")
        ).all()
    assert sorted(events) == [(8, "overdue_office"), (8, "overdue_upper"), (9, "overdue_office"), (9, "overdue_upper")]
    escalations = [e for e in audited if e.action == "insert" and e.after["action"].startswith("overdue_")]
    assert sorted((e.after["incident_id"], e.after["action"]) for e in escalations) == sorted(events)


def test_rules_file_sets_the_working_days(demo_store: Store, quiet_env: Path) -> None:
    """The cases are about 29 working days late: with 20 and 40 only the upper grid is told."""
    (quiet_env / "notify.json").write_text(
        json.dumps({"escalation": {"upper_grid_after_working_days": 20, "office_after_working_days": 40}}), encoding="utf-8"
    )
    report = run_pass(demo_store)
    kinds = sorted(e["action"] for e in report["escalations"])
    assert kinds == ["overdue_upper", "overdue_upper"]
    (quiet_env / "notify.json").write_text('{"escalation": {"upper_grid_after_working_days": 0}}', encoding="utf-8")
    with pytest.raises(ValueError, match="工作日数"):
        load_rules(quiet_env / "notify.json")


def test_per_grid_webhook_override(demo_store: Store, quiet_env: Path, sink: Sink, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIVERGRID_WEBHOOK_URL", sink.url + "/county")
    (quiet_env / "notify.json").write_text(json.dumps({"webhooks": {"3": {"url": sink.url + "/dongxing", "format": "wecom"}}}))
    run_pass(demo_store)
    by_path: dict[str, list[str]] = {}
    for e in sink.received:
        by_path.setdefault(e["path"], []).append(json.dumps(e["json"], ensure_ascii=False))
    assert all(b.startswith('{"msgtype": "markdown"') for b in by_path["/dongxing"])  # 企业微信 format
    assert any("SJ-2026-009" in b for b in by_path["/dongxing"]) and not any("SJ-2026-009" in b for b in by_path["/county"])
    assert any("SJ-2026-008" in b for b in by_path["/county"])


def test_message_formats() -> None:
    n = Notice("overdue:1", "overdue", "【超期】SJ-2026-001 标题", "已超期", 1, "SJ-2026-001", 3, "http://x/incidents?incident=1")
    assert webhook_format("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k") == "wecom"
    assert webhook_format("https://oapi.dingtalk.com/robot/send?access_token=t") == "dingtalk"
    assert webhook_format("https://example.org/hook") == "json"
    assert webhook_body(n, "wecom", "k")["msgtype"] == "markdown"
    ding = webhook_body(n, "dingtalk", "k")
    assert ding["markdown"]["title"] == n.title and "已超期" in ding["markdown"]["text"]
    generic = webhook_body(n, "json", "k1")
    assert generic["key"] == "k1" and generic["incident_code"] == "SJ-2026-001"
    url, body = sms_request("http://gw/send?to={phone}", '{"mobile": "{phone}", "content": "{text}"}', phone="138 0000", text='说"超期"', key="k")
    assert url == "http://gw/send?to=138%200000" and body == {"mobile": "138 0000", "content": '说"超期"'}


# --- in-app messages --------------------------------------------------------------------------------


def test_inapp_messages_read_and_unread(demo_store: Store, quiet_env: Path) -> None:
    run_pass(demo_store)
    with demo_store.session() as s:
        dongxing = s.scalar(select(User).where(User.username == "dongxing"))
        staff = s.scalar(select(User).where(User.username == "staff"))
        mine = messages_for(s, dongxing)
        others = messages_for(s, staff)
        count = unread_count(s, dongxing)
    assert count == len(mine) >= 2 and any(m["title"].startswith("【超期】SJ-2026-009") for m in mine)
    actor = Actor("dongxing", UserRole.STAFF, user_id=dongxing.id)
    with demo_store.session(actor) as s:
        mark_read(s, actor, mine[0]["id"])
    with demo_store.session() as s:
        assert unread_count(s, dongxing) == count - 1
        assert [m["id"] for m in messages_for(s, dongxing, unread_only=True)] == [m["id"] for m in mine[1:]]
    with demo_store.session(actor) as s, pytest.raises(PermissionDenied, match="他人的消息"):
        mark_read(s, actor, others[0]["id"])
    with demo_store.session() as s:
        assert unread_count(s, staff) == len(others)  # untouched


# --- each person chooses: a patroller sets its own channels, nobody else's, nothing else ------------------


def test_a_patroller_chooses_its_own_channels_and_quiet_hours_and_nothing_more(demo_store: Store, quiet_env: Path) -> None:
    with demo_store.session() as s:
        account = s.scalar(select(User).where(User.username == "patroller"))
        me = Actor("patroller", UserRole.PATROLLER, user_id=account.id)
        other = s.scalar(select(Person).where(Person.name == "王立军"))
        other_id = other.id
    with demo_store.session(me) as s:
        saved = set_my_preferences(s, me, email="hzh@example.org", channels="sms,inapp", quiet_hours="21:30-06:30")
    assert (saved["name"], saved["email"], saved["channels"], saved["quiet_hours"]) == (
        "何兆花", "hzh@example.org", ["inapp", "sms"], "21:30-06:30")
    with demo_store.session() as s:  # stored, and audited under the patroller's own name
        assert my_preferences(s, me)["quiet_hours"] == "21:30-06:30"
        entry = s.scalars(select(AuditEntry).where(AuditEntry.table_name == "persons").order_by(AuditEntry.seq.desc())).first()
        assert (entry.username, entry.row_id, entry.after["quiet_hours"]) == ("patroller", saved["person_id"], "21:30-06:30")
    with pytest.raises(PermissionDenied), demo_store.session(me) as s:  # another person's settings: staff only
        set_preferences(s, other_id, channels="sms")
    with pytest.raises(PermissionDenied), demo_store.session(me) as s:  # its own record's other fields: staff only
        s.get(Person, saved["person_id"]).phone = "13900000000"
    with demo_store.session() as s:
        assert s.get(Person, other_id).notify_channels == ""
    admin = Actor("admin", UserRole.ADMIN)
    with pytest.raises(ValidationError, match="没有关联人员"), demo_store.session(admin) as s:
        set_my_preferences(s, admin, channels="inapp")


# --- 信息报送: a report not submitted is told to its grid, before and after its deadline --------------


def test_reports_due_and_overdue_are_told_to_their_grid_once(demo_store: Store, quiet_env: Path) -> None:
    """Monday 2026-12-07 08:00: November's report is due at the end of that day (the 5th working day of
    December: Tue 1 … Mon 7), so 东兴村 is reminded (报送提醒); the third quarter's is past its deadline
(2026-10-14, after 国庆; 逾期未报送).
    A second pass tells nothing new; once November's is submitted, the next day brings no 逾期 for it."""
    monday = datetime(2026, 12, 7, 8, 0, tzinfo=LOCAL_TZ)

    def titles() -> list[str]:
        with demo_store.session() as s:
            dongxing = s.scalar(select(User).where(User.username == "dongxing"))
            return [m["title"] for m in messages_for(s, dongxing) if "报" in m["kind_label"]]

    run_pass(demo_store, now=monday)
    first = titles()
    assert "【报送提醒】森工街道东兴村2026年11月月报" in first
    assert "【逾期未报送】森工街道东兴村2026年第3季度季报" in first
    assert not any("森工社区" in t or "办事处" in t for t in first)  # the village account gets its village only
    run_pass(demo_store, now=monday + timedelta(minutes=5))
    assert titles() == first
    actor = Actor("dongxing", UserRole.STAFF)
    with demo_store.session(actor) as s:
        submit_report(s, build_report(s, 3, "2026-11", now=monday, formats=("xlsx",)), now=monday)
    run_pass(demo_store, now=monday + timedelta(days=1))
    assert not any(t.startswith("【逾期未报送】森工街道东兴村2026年11月") for t in titles())


def test_a_submitted_report_is_pushed_upstream_once_with_its_workbook(
    demo_store: Store, quiet_env: Path, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """东兴村 submits October's report; the next pass POSTs it to the county platform (JSON with the
    workbook in base64 and an Idempotency-Key), a failed try is retried with the same key, and a later
    pass sends nothing again."""
    monkeypatch.setenv("RIVERGRID_REPORT_UPSTREAM_URL", sink.url + "/county/reports")
    actor = Actor("dongxing", UserRole.STAFF)
    with demo_store.session(actor) as s:
        edition = submit_report(s, build_report(s, 3, "2026-10", formats=("xlsx",)))
        workbook_sha256, edition_id = edition.xlsx_sha256, edition.id
    sink.fail_next = 1  # the platform is down at the first try
    first = run_pass(demo_store)
    assert first["report_pushes"] == [edition_id]
    assert [d["kind"] for d in first["retry"]] == ["report_push"]
    run_pass(demo_store, now=clock.now() + timedelta(minutes=2))  # after the first backoff (1 minute)
    pushed = [e for e in sink.kept.values() if e["path"] == "/county/reports"]
    assert len(pushed) == 1
    body = pushed[0]["json"]
    assert (body["grid"]["name"], body["period"]["label"], body["edition"]) == ("森工街道东兴村", "2026-10", 1)
    data = base64.b64decode(body["file"]["content_base64"])
    assert hashlib.sha256(data).hexdigest() == workbook_sha256 == body["file"]["sha256"]
    assert data[:2] == b"PK"  # an Excel workbook
    tries = [e for e in sink.received if e["path"] == "/county/reports"]
    with demo_store.session() as s:
        (row,) = s.scalars(select(NotifyDelivery).where(NotifyDelivery.kind == "report_push")).all()
        assert (row.state, row.attempts, row.key) == ("sent", 2, pushed[0]["key"])  # one key, failed try and resend
    later = run_pass(demo_store, now=clock.now() + timedelta(minutes=10))
    assert later["report_pushes"] == [] and [e for e in sink.received if e["path"] == "/county/reports"] == tries


# --- the generic log: an arbitrary POST with a file, retried with backoff, failures for admins ------


def test_enqueue_post_with_file_retries_and_shows_failures(demo_store: Store, quiet_env: Path, sink: Sink) -> None:
    with demo_store.session(SYSTEM) as s:
        key, created = enqueue_post(
            s, url=sink.url + "/upstream", body={"report": "2026-11", "grid": 2}, event_key="report:1:1",
            file=("月报.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK\x03\x04data"),
        )
        again, created_again = enqueue_post(s, url=sink.url + "/upstream", body={}, event_key="report:1:1")
    assert created and not created_again and again == key
    sink.fail_next = 1
    run_pass(demo_store)
    with demo_store.session() as s:
        problems = delivery_log(s, problems=True)
    assert [(p["key"], p["state"], p["attempts"]) for p in problems] == [(key, "retry", 1)]
    assert "503" in problems[0]["last_error"]
    run_pass(demo_store)  # the backoff (1 minute) has not passed: not tried again
    assert sink.received == []
    run_pass(demo_store, now=clock.now() + timedelta(minutes=2))
    assert [e["key"] for e in sink.received] == [key]
    got = sink.received[0]
    assert got["type"].startswith("multipart/form-data") and b"PK\x03\x04data" in got["raw"] and b"2026-11" in got["raw"]
    with demo_store.session() as s:
        assert delivery_log(s, problems=True) == []
        staff = Actor("staff", UserRole.STAFF, user_id=2)
        s.info["actor"] = staff
        with pytest.raises(PermissionDenied):
            delivery_log(s)


# --- one runner at a time: two processes, both stores ----------------------------------------------

_HOLDER = """
import sys, time, pathlib
from gis.store import Store
from gis.notify.lock import runner_lock
store = Store(sys.argv[1], migrate=False)
with runner_lock(store) as held:
    pathlib.Path(sys.argv[2]).write_text("held" if held else "busy")
    while not pathlib.Path(sys.argv[3]).exists():
        time.sleep(0.05)
"""


@pytest.mark.serial
def test_one_runner_at_a_time_across_processes(demo_store: Store, quiet_env: Path, tmp_path: Path) -> None:
    flag, release = tmp_path / "flag", tmp_path / "release"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, demo_store.url, str(flag), str(release)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while not flag.exists():
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        assert flag.read_text() == "held"
        env = dict(os.environ)
        blocked = _cli(demo_store.url, "notify", "run", env=env)  # another process: skips its pass
        assert blocked["skipped"] is True
        with runner_lock(demo_store) as held:  # and so does this one
            assert held is False
    finally:
        release.write_text("")
        holder.wait(timeout=60)
    after = _cli(demo_store.url, "notify", "run", env=dict(os.environ))
    assert after["skipped"] is False and after["counts"]["sent"] >= 1


def test_sqlite_lock_row_of_a_dead_runner_expires(tmp_path: Path, demo_sqlite_copy: Any) -> None:
    store = Store(f"sqlite:///{demo_sqlite_copy(tmp_path / 'd.sqlite')}", migrate=False)
    from gis.store.schema import NotifyLock

    with store.session(write=True) as s:
        s.execute(NotifyLock.__table__.insert().values(name="notify", holder="dead:1", expires_at=clock.now() + timedelta(minutes=5)))
    with runner_lock(store) as held:
        assert held is False
    with store.session(write=True) as s:
        s.execute(NotifyLock.__table__.update().values(expires_at=clock.now() - timedelta(seconds=1)))
    with runner_lock(store) as held:
        assert held is True
    store.dispose()


def test_sqlite_lock_row_is_renewed_while_a_long_pass_holds_it(tmp_path: Path, demo_sqlite_copy: Any) -> None:
    store = Store(f"sqlite:///{demo_sqlite_copy(tmp_path / 'd.sqlite')}", migrate=False)
    with runner_lock(store, ttl_s=3.0) as held:
        assert held
        time.sleep(4.0)  # longer than the expiry: only the renewals keep the row
        with runner_lock(store) as second:
            assert second is False
    with runner_lock(store) as again:  # released at the end
        assert again is True
    store.dispose()


def test_sms_through_the_gateway_to_the_persons_chosen_channel(
    demo_store: Store, quiet_env: Path, sink: Sink, monkeypatch: pytest.MonkeyPatch, smtp: _Mailbox
) -> None:
    """A village cadre who reads SMS first chooses sms only: the overdue case reaches his phone
    through the configured gateway (URL template + JSON body), not his mailbox."""
    monkeypatch.setenv("RIVERGRID_SMS_URL", sink.url + "/sms?to={phone}")
    monkeypatch.setenv("RIVERGRID_SMS_BODY", '{"mobile": "{phone}", "content": "{text}", "id": "{key}"}')
    emails = _give_everyone_an_email(demo_store)
    with demo_store.session(SYSTEM) as s:
        p = s.scalar(select(Person).where(Person.name == "王立军"))
        set_preferences(s, p.id, channels="短信")
        phone = p.phone
    run_pass(demo_store)
    to_him = [e for e in sink.received if e["json"] and e["json"]["mobile"] == phone]
    assert to_him and all(e["path"].startswith("/sms?to=") for e in to_him)
    assert any(e["json"]["content"].startswith("【超期】SJ-2026-009") for e in to_him)
    assert all(e["json"]["id"] == e["key"] for e in to_him)  # the key in the body and the header
    assert emails["王立军"] not in {to for to, _, _ in smtp.subjects_to()}
    with demo_store.session() as s:
        dongxing = s.scalar(select(User).where(User.username == "dongxing"))  # his account: no in-app either
        assert messages_for(s, dongxing) == []

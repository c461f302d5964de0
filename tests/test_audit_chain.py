"""The audit log is append-only and hash-chained; what it keeps and what it does not; undo with
``undo_of``; the migration from the old log; ``init-demo --reset``. Both stores unless marked."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import multiprocessing as mp
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from shapely.geometry import LineString, box
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError

from gis.auth import PERMISSIONS, SYSTEM, Actor, hash_password, verify_password
from gis.config import PROJECT_DIR
from gis.demo.load import PRODUCTION_RESET_MESSAGE, load_demo, reset_store
from gis.errors import (
    ConflictError,
    NotFoundError,
    PermissionDenied,
    RiverGridError,
    ValidationError,
)
from gis.history import recent_entries, undo, undo_batch
from gis.incidents.contact import reveal_reporter_contact
from gis.model import UserRole
from gis.store import Store, upgrade
from gis.store.audit_chain import GENESIS, verify_chain
from gis.store.engine import as_conflict, schema_differences
from gis.store.schema import AuditEntry, Grid, Incident, PatrolTrack, Person, User
from gis.store.types import UTCDateTime

STAFF = Actor("staff1", UserRole.STAFF, "工作人员")
LEADER = Actor("leader1", UserRole.LEADER, "领导")
PATROLLER = Actor("patroller1", UserRole.PATROLLER, "巡查员")
VOLUNTEER = Actor("volunteer1", UserRole.VOLUNTEER, "志愿者")
ADMIN = Actor("admin1", UserRole.ADMIN, "管理员")
ADMIN2 = Actor("admin2", UserRole.ADMIN, "另一位管理员")
USERS = Actor("usermgr", next(r for r in UserRole if r in PERMISSIONS["user.manage"]), "管理账号的人")
USERS2 = Actor("usermgr2", USERS.role, "另一位管理账号的人")

APPEND_ONLY = "修改记录（审计日志）只能追加"

GPX = b"""<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test"><trk><trkseg>
<trkpt lat="41.80" lon="126.90"><time>2026-11-03T01:00:00Z</time></trkpt>
<trkpt lat="41.81" lon="126.91"><time>2026-11-03T01:10:00Z</time></trkpt>
</trkseg></trk></gpx>
"""


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data folder: the blob store of this test lives in it."""
    folder = tmp_path / "data"
    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(folder))
    return folder


def cli(*args: str, url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gis", *args, "--database-url", url],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=180, check=False,
        env={**os.environ, "RIVERGRID_DATA_DIR": str(data_dir)},
    )


def log(store: Store) -> list[AuditEntry]:
    with store.session() as s:
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def snapshot(store: Store) -> list[tuple[Any, ...]]:
    return [(e.id, e.seq, e.username, e.action, e.before, e.after, e.undo_of, e.prev_hash, e.hash) for e in log(store)]


def log_text(store: Store) -> str:
    """Every stored before/after of the log as the database holds it (raw JSON text)."""
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT CAST(before AS TEXT), CAST(after AS TEXT) FROM audit_log")).all()
    return "\n".join(f"{b}\t{a}" for b, a in rows)


def verify(store: Store) -> dict[str, Any]:
    with store.session() as s:
        return verify_chain(s).to_dict()


def add_people(store: Store, n: int = 3) -> list[int]:
    ids = []
    for k in range(n):
        with store.session(STAFF) as s:
            p = Person(name=f"人员{k}", title="书记")
            s.add(p)
        ids.append(p.id)
    return ids


# =============================================================================================
# The chain
# =============================================================================================


def test_the_demo_log_is_one_unbroken_chain(store: Store, store_url: str, data_dir: Path) -> None:
    load_demo(store)
    entries = log(store)
    assert len(entries) > 100
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert len({e.hash for e in entries}) == len(entries)
    assert verify(store) == {"ok": True, "rows": len(entries)}
    proc = cli("audit", "verify", "--json", url=store_url, data_dir=data_dir)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"ok": True, "rows": len(entries)}
    proc = cli("audit", "verify", url=store_url, data_dir=data_dir)
    assert proc.returncode == 0 and f"共 {len(entries)} 条" in proc.stdout


def _tamper(store: Store, sql: str, **params: Any) -> None:
    """Run ``sql`` on audit_log past the PostgreSQL trigger (as the test's superuser role)."""
    with store.engine.begin() as conn:
        if store.backend == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        conn.execute(text(sql), params)
        if store.backend == "postgresql":
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


def test_a_row_changed_with_sql_is_named_by_verify(store: Store, store_url: str, data_dir: Path) -> None:
    add_people(store, 4)
    victim = log(store)[1]
    if store.backend == "postgresql":
        with pytest.raises(DBAPIError, match="只能追加"), store.engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET username = 'admin1' WHERE id = :id"), {"id": victim.id})
        assert verify(store)["ok"]
    _tamper(store, "UPDATE audit_log SET username = 'admin1' WHERE id = :id", id=victim.id)
    assert verify(store) == {"ok": False, "rows": 4,
                             "first_bad": {"id": victim.id, "seq": victim.seq, "why": "hash mismatch"}}
    proc = cli("audit", "verify", "--json", url=store_url, data_dir=data_dir)
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["first_bad"] == {"id": victim.id, "seq": 2, "why": "hash mismatch"}
    assert proc.stderr.count("\n") == 1 and f"第 2 条（编号 {victim.id}）" in proc.stderr and "哈希不符" in proc.stderr


def test_a_rewritten_hash_breaks_the_link_and_a_deleted_row_leaves_a_gap(store: Store) -> None:
    add_people(store, 5)
    e = log(store)
    _tamper(store, "UPDATE audit_log SET hash = :h WHERE id = :id", h="f" * 64, id=e[1].id)
    assert verify(store)["first_bad"] == {"id": e[1].id, "seq": 2, "why": "hash mismatch"}
    # recomputing the changed row's hash does not help: the next row still names the old one
    from gis.store.audit_chain import entry_hash

    with store.session() as s:
        row = s.get(AuditEntry, e[1].id)
        forged = entry_hash({**{c: getattr(row, c) for c in ("at", "username", "action", "table_name", "row_id",
                                                              "before", "after", "batch", "undo_of", "seq")},
                             "username": "someone"}, row.prev_hash)
    _tamper(store, "UPDATE audit_log SET username = 'someone', hash = :h WHERE id = :id", h=forged, id=e[1].id)
    assert verify(store)["first_bad"] == {"id": e[2].id, "seq": 3, "why": "broken link"}
    _tamper(store, "DELETE FROM audit_log WHERE id IN (:a, :b)", a=e[1].id, b=e[2].id)  # take both away
    assert verify(store) == {"ok": False, "rows": 3,
                             "first_bad": {"id": e[3].id, "seq": 4, "why": "gap", "expected_seq": 2}}


@pytest.mark.postgis
def test_postgres_refuses_update_delete_and_truncate(pg_url: str) -> None:
    store = Store(pg_url)
    add_people(store, 2)
    before = snapshot(store)
    for sql in ("UPDATE audit_log SET username = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log",
                "UPDATE audit_log SET username = 'x' WHERE id = -1"):  # even a statement that matches no row
        with pytest.raises(DBAPIError, match=r"只能追加.*audit_log is append-only"), store.engine.begin() as conn:
            conn.execute(text(sql))
    assert snapshot(store) == before
    assert verify(store) == {"ok": True, "rows": 2}
    store.dispose()


@pytest.mark.parametrize("actor", [LEADER, VOLUNTEER, PATROLLER, ADMIN, SYSTEM], ids=lambda a: a.username)
def test_no_role_changes_or_deletes_an_audit_row(store: Store, actor: Actor) -> None:
    add_people(store, 2)
    before = snapshot(store)
    first = before[0][0]

    def change(s: Any) -> None:
        s.get(AuditEntry, first).username = actor.username

    def change_payload(s: Any) -> None:
        e = s.get(AuditEntry, first)
        e.after = {**e.after, "title": "改过"}

    attempts = [
        change,
        change_payload,
        lambda s: s.delete(s.get(AuditEntry, first)),
        lambda s: s.execute(update(AuditEntry).where(AuditEntry.id == first).values(username="x")),
        lambda s: s.execute(delete(AuditEntry).where(AuditEntry.id == first)),
        lambda s: s.execute(AuditEntry.__table__.delete()),
        lambda s: s.execute(text("DELETE FROM audit_log")),
        lambda s: s.execute(text("update audit_log set username = 'x'")),
        lambda s: s.add(AuditEntry(seq=99, username="x", action="insert", table_name="persons", row_id=1,
                                   batch="", prev_hash=GENESIS, hash=GENESIS)),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied, match=APPEND_ONLY), store.session(actor) as s:
            attempt(s)
            s.flush()
    assert snapshot(store) == before
    assert verify(store) == {"ok": True, "rows": 2}


def _writer(url: str, data_dir: str, n: int, rounds: int, barrier: Any) -> None:
    os.environ["RIVERGRID_DATA_DIR"] = data_dir
    store = Store(url, migrate=False)
    barrier.wait(timeout=120)
    for k in range(rounds):
        with store.session(Actor(f"writer{n}", UserRole.STAFF)) as s:
            p = Person(name=f"写入者{n}-{k}", title="并发")
            s.add(p)
            s.flush()
            p.note = f"第 {k} 轮"  # a second flush (at commit) in the same transaction
    store.dispose()


@pytest.mark.serial  # eight forked writers racing: outside the parallel workers
def test_simultaneous_writers_leave_one_unbroken_chain(store: Store, store_url: str, data_dir: Path) -> None:
    workers, rounds = 8, 3
    # fork: a spawned child re-runs the parent's __main__, which an earlier AppTest may have replaced
    ctx = mp.get_context("fork")
    store.dispose()  # the children open their own connections
    barrier = ctx.Barrier(workers)
    procs = [ctx.Process(target=_writer, args=(store_url, str(data_dir), n, rounds, barrier)) for n in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
    assert [p.exitcode for p in procs] == [0] * workers
    entries = log(store)
    assert [e.seq for e in entries] == list(range(1, 2 * workers * rounds + 1))
    assert verify(store) == {"ok": True, "rows": 2 * workers * rounds}
    with store.session() as s:
        people = {p.id: p.name for p in s.scalars(select(Person))}
    assert sorted(people.values()) == sorted(f"写入者{n}-{k}" for n in range(workers) for k in range(rounds))
    logged = {(e.username, e.action, people[e.row_id]) for e in entries}
    assert logged == {(f"writer{n}", action, f"写入者{n}-{k}") for n in range(workers) for k in range(rounds)
                      for action in ("insert", "update")}
    # each transaction's two entries are adjacent: no other writer got in between
    for a, b in zip(entries[::2], entries[1::2], strict=True):
        assert (a.batch, a.action, b.action) == (b.batch, "insert", "update")


def test_a_session_given_its_actor_after_it_began_still_appends(store: Store) -> None:
    with store.session(write=True) as s:
        s.info["actor"] = SYSTEM
        s.add(Person(name="系统写入"))
    assert [(e.username, e.seq) for e in log(store)] == [("system", 1)]
    assert verify(store)["ok"]


def test_a_sqlite_writer_with_a_stale_snapshot_cannot_fork_the_chain(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'fork.sqlite'}")
    add_people(store, 1)
    late = store._sessions()  # began without the write lock (as a session opened to read)
    late.info.update(actor=STAFF, batch="late")
    late.scalar(select(func.count()).select_from(AuditEntry))  # its snapshot: one entry
    add_people(store, 1)  # another writer appends seq 2
    late.add(Person(name="晚到"))
    with pytest.raises(OperationalError) as info:
        late.commit()
    assert isinstance(as_conflict(info.value), ConflictError)
    late.rollback()
    late.close()
    assert [e.seq for e in log(store)] == [1, 2] and verify(store)["ok"]
    store.dispose()


# =============================================================================================
# Undo
# =============================================================================================


def test_undo_writes_undo_of_and_never_touches_the_undone_entry(store: Store) -> None:
    (pid,) = add_people(store, 1)
    with store.session(STAFF) as s:
        s.get(Person, pid).title = "改错了"
    with store.session() as s:
        change = s.scalar(select(AuditEntry).where(AuditEntry.action == "update"))
    before = snapshot(store)
    with store.session(ADMIN) as s:
        undo(s, change.id)
    after = snapshot(store)
    assert after[:len(before)] == before  # the undone entry is as it was
    (u,) = [e for e in log(store) if e.undo_of is not None]
    assert (u.undo_of, u.username, u.action, u.table_name, u.row_id) == (change.id, "admin1", "update", "persons", pid)
    assert u.before["title"] == "改错了" and u.after["title"] == "书记"
    with store.session() as s:
        assert s.get(Person, pid).title == "书记"
        rows = {r["id"]: r for r in recent_entries(s)}
    assert rows[change.id]["undone"] is True and rows[u.id]["undone"] is False and rows[u.id]["undo_of"] == change.id
    with pytest.raises(ConflictError, match="已经撤销"), store.session(ADMIN2) as s:
        undo(s, change.id)
    # the undo is an entry like any other: another administrator may undo it (a redo)
    with store.session(ADMIN2) as s:
        undo(s, u.id)
    with store.session() as s:
        assert s.get(Person, pid).title == "改错了"
    assert verify(store) == {"ok": True, "rows": 4}


def test_nobody_undoes_their_own_change(store: Store) -> None:
    (pid,) = add_people(store, 1)
    with store.session(ADMIN) as s:
        s.get(Person, pid).title = "管理员改的"
        batch = s.info["batch"]
    with store.session() as s:
        own = s.scalar(select(AuditEntry).where(AuditEntry.batch == batch))
    before = snapshot(store)
    with pytest.raises(PermissionDenied, match="不能撤销本人所做的修改，请由其他管理员撤销"), store.session(ADMIN) as s:
        undo(s, own.id)
    with pytest.raises(PermissionDenied, match="不能撤销本人所做的修改"), store.session(ADMIN) as s:
        undo_batch(s, batch)
    assert snapshot(store) == before
    with store.session(ADMIN2) as s:
        assert undo_batch(s, batch) == 1
    with store.session() as s:
        assert s.get(Person, pid).title == "书记"
    with pytest.raises(NotFoundError, match="没有可撤销的修改"), store.session(ADMIN2) as s:
        undo_batch(s, batch)


def test_undoing_a_track_deletion_restores_its_file(store: Store, data_dir: Path) -> None:
    other = GPX.replace(b"41.81", b"41.82")
    with store.session(STAFF) as s:
        kept = PatrolTrack(name="巡河", geom=LineString([(126.9, 41.8), (126.91, 41.81)]), source_name="a.gpx",
                           source_data=GPX)
        lost = PatrolTrack(name="巡河二", geom=LineString([(126.9, 41.8), (126.91, 41.82)]), source_name="b.gpx",
                           source_data=other)
        s.add_all([kept, lost])
    with store.session(ADMIN) as s:
        s.delete(s.get(PatrolTrack, kept.id))
        s.delete(s.get(PatrolTrack, lost.id))
    sha = hashlib.sha256(GPX).hexdigest()
    with store.session() as s:
        deletes = {e.row_id: e for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "delete"))}
    assert deletes[kept.id].before["source_data"] == {"sha256": sha, "bytes": len(GPX)}
    assert (data_dir / "blobs" / sha[:2] / sha).read_bytes() == GPX
    with store.session(ADMIN2) as s:
        undo(s, deletes[kept.id].id)
    with store.session() as s:
        back = s.get(PatrolTrack, kept.id)
        assert (back.source_data, back.source_name, back.name) == (GPX, "a.gpx", "巡河")
    # without its file in the store, the deletion cannot be undone (and nothing is restored)
    other_sha = hashlib.sha256(other).hexdigest()
    (data_dir / "blobs" / other_sha[:2] / other_sha).unlink()
    with pytest.raises(ConflictError, match="已不在文件库"), store.session(ADMIN2) as s:
        undo(s, deletes[lost.id].id)
    with store.session() as s:
        assert s.get(PatrolTrack, lost.id) is None
    assert verify(store)["ok"]


# =============================================================================================
# What the log keeps
# =============================================================================================


def test_no_password_hash_or_file_data_in_the_log(store: Store) -> None:
    load_demo(store)
    with store.session() as s:
        demo_accounts = len(s.scalars(select(User.id)).all())
    with store.session(USERS) as s:
        u = User(username="zhang", display_name="", role="staff", password_hash=hash_password("old-password"))
        s.add(u)
    with store.session(USERS) as s:
        user = s.get(User, u.id)
        user.password_hash = hash_password("new-password")
        user.display_name = "张三"
    with store.session(USERS) as s:
        s.get(User, u.id).password_hash = hash_password("third-password")
    with store.session() as s:
        hashes = s.scalars(select(User.password_hash)).all()
        files = s.scalars(select(PatrolTrack.source_data)).all()
        inserted, changed, password_only = s.scalars(
            select(AuditEntry).where(AuditEntry.table_name == "users", AuditEntry.row_id == u.id)
            .order_by(AuditEntry.seq)).all()
    stored = log_text(store)
    assert len(hashes) == demo_accounts + 1 and not any(h in stored for h in hashes)
    assert "argon2" not in stored and "base64" not in stored
    assert files and not any(base64.b64encode(f[:600]).decode()[:80] in stored for f in files)
    assert inserted.after["password_hash"] == {"redacted": True}
    assert changed.before["password_hash"] == {"redacted": True}
    assert changed.after["password_hash"] == {"redacted": True, "changed": True}
    tracks = [e for e in log(store) if e.table_name == "patrol_tracks"]
    assert tracks and all(set(e.after["source_data"]) == {"sha256", "bytes"} for e in tracks)
    # a change of the password alone cannot be undone; undoing a change of the account (the work of
    # another security administrator, 三员分立) keeps the password as it is now
    with pytest.raises(PermissionDenied, match="无权管理用户账号"), store.session(ADMIN2) as s:
        undo(s, changed.id)  # the system administrator does not undo account changes
    with pytest.raises(ValidationError, match="不记入修改记录"), store.session(USERS2) as s:
        undo(s, password_only.id)
    with store.session(USERS2) as s:
        undo(s, changed.id)
    with store.session() as s:
        user = s.get(User, u.id)
        assert user.display_name == "" and verify_password(user.password_hash, "third-password")
    # undoing the deletion of an account brings it back without a usable password
    with store.session(USERS) as s:
        s.delete(s.get(User, u.id))
    with store.session() as s:
        deleted = s.scalar(select(AuditEntry).where(AuditEntry.table_name == "users", AuditEntry.action == "delete"))
    with store.session(USERS2) as s:
        undo(s, deleted.id)
    with store.session() as s:
        user = s.get(User, u.id)
        assert user.username == "zhang" and user.must_change_password
        assert not any(verify_password(user.password_hash, p) for p in ("old-password", "new-password", "third-password"))
    assert verify(store)["ok"]


def test_reporter_contact_is_a_reference_and_reading_it_is_logged(store: Store) -> None:
    load_demo(store)
    phone, new_phone = "13912345678", "13800001111"
    with store.session(ADMIN) as s:
        inc = s.scalar(select(Incident).where(Incident.code == "SJ-2026-012"))
        inc.reporter_contact = phone
        iid, reporter = inc.id, inc.reporter
    with store.session() as s:
        change = s.scalar(select(AuditEntry).where(AuditEntry.table_name == "incidents").order_by(AuditEntry.seq.desc()))
    assert change.before["reporter_contact"] == {"ref": "incidents.reporter_contact", "set": False}
    assert change.after["reporter_contact"] == {"ref": "incidents.reporter_contact", "set": True, "changed": True}
    count = len(log(store))
    with pytest.raises(PermissionDenied, match="无权处置事件"), store.session(LEADER) as s:
        reveal_reporter_contact(s, iid)
    with pytest.raises(PermissionDenied), store.session(PATROLLER) as s:
        reveal_reporter_contact(s, iid)
    assert len(log(store)) == count  # refused reads leave no entry
    with store.session(STAFF) as s:
        assert reveal_reporter_contact(s, iid) == phone
    read = log(store)[-1]
    assert (read.action, read.username, read.table_name, read.row_id, read.before) == (
        "read", "staff1", "incidents", iid, None)
    assert read.after == {"field": "reporter_contact", "code": "SJ-2026-012", "reporter": reporter}
    assert read.at.tzinfo is not None
    with store.session() as s:
        shown = recent_entries(s, table="incidents")[0]
    assert (shown["action"], shown["username"], shown["fields"], shown["name"]) == (
        "查看", "staff1", "上报人联系方式", "SJ-2026-012")
    assert phone not in log_text(store)
    with pytest.raises(ValidationError, match="查看记录不能撤销"), store.session(ADMIN2) as s:
        undo(s, read.id)
    with pytest.raises(ValidationError, match="不记入修改记录"), store.session(ADMIN2) as s:
        undo(s, change.id)
    # undoing a change of the incident keeps the contact as it is now
    with store.session(ADMIN) as s:
        inc = s.get(Incident, iid)
        inc.title, inc.reporter_contact = "改过的标题", new_phone
    with store.session() as s:
        both = s.scalar(select(AuditEntry).where(AuditEntry.table_name == "incidents", AuditEntry.action == "update")
                        .order_by(AuditEntry.seq.desc()))
    with store.session(ADMIN2) as s:
        undo(s, both.id)
    with store.session() as s:
        inc = s.get(Incident, iid)
        assert inc.title != "改过的标题" and inc.reporter_contact == new_phone
    assert new_phone not in log_text(store)
    assert verify(store)["ok"]


# =============================================================================================
# Migration from the previous release
# =============================================================================================

OLD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


def test_migration_backfills_chain_and_undo_of_from_the_old_log(store_url: str, data_dir: Path) -> None:
    store = Store(store_url, migrate=False)
    upgrade(store.engine, "0005")
    old = sa.table("audit_log", sa.column("id", sa.Integer()), sa.column("at", UTCDateTime()),
                   sa.column("username", sa.String()), sa.column("action", sa.String()),
                   sa.column("table_name", sa.String()), sa.column("row_id", sa.Integer()),
                   sa.column("before", sa.JSON()), sa.column("after", sa.JSON()), sa.column("batch", sa.String()),
                   sa.column("undone_by", sa.Integer()))
    person = {"id": 1, "name": "何兆花", "title": "书记", "version": 1}
    grid = {"id": 10, "name": "东村", "level": "village", "version": 1}
    rows = [
        (1, "staff", "insert", "persons", 1, None, person, "A", None),
        (2, "staff", "update", "persons", 1, person, {**person, "title": "改错了", "version": 2}, "B", 4),
        (3, "patroller", "insert", "patrol_tracks", 1, None,
         {"id": 1, "name": "巡河", "source_data": {"base64": base64.b64encode(GPX).decode()}}, "C", None),
        (4, "admin", "update", "persons", 1, {**person, "title": "改错了", "version": 2},
         {**person, "version": 3}, "D", None),
        (5, "system", "insert", "users", 1, None, {"id": 1, "username": "admin", "password_hash": OLD_HASH}, "E", None),
        (6, "staff", "insert", "grids", 10, None, grid, "F", 9),
        (7, "staff", "update", "grids", 10, grid, {**grid, "name": "西村", "version": 2}, "F", 9),
        (8, "admin", "update", "grids", 10, {**grid, "name": "西村", "version": 2}, {**grid, "version": 3}, "G", None),
        (9, "admin", "delete", "grids", 10, {**grid, "version": 3}, None, "G", None),
    ]
    with store.engine.begin() as conn:  # ids from the table's own sequence, 1 to 9, as the old release wrote them
        for i, u, a, t, r, b, af, batch, by in rows:
            got = conn.execute(sa.insert(old).returning(old.c.id), {
                "at": datetime(2026, 11, 1, 8, 0, i, 123456, tzinfo=UTC), "username": u, "action": a,
                "table_name": t, "row_id": r, "before": b, "after": af, "batch": batch, "undone_by": by}).scalar()
            assert got == i
    upgrade(store.engine)
    assert schema_differences(store.engine) == []
    with store.engine.connect() as conn:
        assert "undone_by" not in {c["name"] for c in sa.inspect(conn).get_columns("audit_log")}
    entries = log(store)
    assert [(e.id, e.seq) for e in entries] == [(i, i) for i in range(1, 10)]
    assert {e.id: e.undo_of for e in entries if e.undo_of} == {4: 2, 8: 7, 9: 6}
    assert verify(store) == {"ok": True, "rows": 9}
    sha = hashlib.sha256(GPX).hexdigest()
    assert entries[2].after["source_data"] == {"sha256": sha, "bytes": len(GPX)}
    assert (data_dir / "blobs" / sha[:2] / sha).read_bytes() == GPX
    assert entries[4].after["password_hash"] == {"redacted": True}
    stored = log_text(store)
    assert "argon2" not in stored and "base64" not in stored
    with store.session() as s:
        undone = {r["id"] for r in recent_entries(s) if r["undone"]}
    assert undone == {2, 6, 7}
    with pytest.raises(ConflictError, match="已经撤销"), store.session(ADMIN) as s:
        undo(s, 2)
    # new writes continue the chain
    add_people(store, 1)
    assert [e.seq for e in log(store)][-1] == 10 and verify(store) == {"ok": True, "rows": 10}
    if store.backend == "postgresql":
        with pytest.raises(DBAPIError, match="只能追加"), store.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log WHERE id = 1"))
    store.dispose()


def test_downgrade_to_0006_and_back_keeps_undone_entries_and_the_chain(store: Store) -> None:
    from alembic import command
    from alembic.config import Config

    from gis.store.engine import MIGRATIONS_DIR

    (pid,) = add_people(store, 1)
    with store.session(STAFF) as s:
        s.get(Person, pid).title = "改错了"
    with store.session(ADMIN) as s:
        undo(s, log(store)[-1].id)
    chain = [(e.id, e.seq, e.undo_of, e.hash) for e in log(store)]
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT id, undone_by FROM audit_log ORDER BY id")).all() == [
            (chain[0][0], None), (chain[1][0], chain[2][0]), (chain[2][0], None)]
    upgrade(store.engine)
    assert [(e.id, e.seq, e.undo_of, e.hash) for e in log(store)] == chain
    assert verify(store)["ok"] and schema_differences(store.engine) == []


def test_migration_of_an_empty_database_then_demo(store: Store) -> None:
    assert log(store) == [] and verify(store) == {"ok": True, "rows": 0}
    load_demo(store)
    assert verify(store)["ok"]


# =============================================================================================
# init-demo --reset
# =============================================================================================


def test_reset_rebuilds_the_schema_of_a_demo_database(store: Store) -> None:
    load_demo(store)
    with store.session(STAFF) as s:
        s.add(Grid(name="多出来的", level="village", geom=box(126.0, 41.0, 126.1, 41.1)))
    fresh = len(log(store)) - 1
    public_before = None
    if store.backend == "postgresql":
        with store.engine.connect() as conn:
            public_before = conn.execute(text("SELECT count(*) FROM public.spatial_ref_sys")).scalar()
    summary = load_demo(store, reset=True)
    assert summary["skipped"] is False
    entries = log(store)
    assert len(entries) == fresh and entries[0].seq == 1 and verify(store) == {"ok": True, "rows": fresh}
    with store.session() as s:
        assert s.scalar(select(func.count()).where(Grid.name == "多出来的")) == 0
    assert schema_differences(store.engine) == []
    if store.backend == "postgresql":
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM public.spatial_ref_sys")).scalar() == public_before
            assert conn.execute(text("SELECT PostGIS_Version()")).scalar()
            schema = conn.execute(text("SELECT current_schema()")).scalar()
            assert schema.startswith("t_")
            # the rebuilt log is append-only again
            with pytest.raises(DBAPIError, match="只能追加"):
                conn.execute(text("DELETE FROM audit_log"))


def test_reset_is_refused_for_a_production_database(store: Store, store_url: str, data_dir: Path) -> None:
    load_demo(store)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE deployment_info SET value = 'production' WHERE key = 'mode'"))
    before = snapshot(store)
    with pytest.raises(RiverGridError, match="这是正式数据库"):
        load_demo(store, reset=True)
    with pytest.raises(PermissionDenied, match=PRODUCTION_RESET_MESSAGE):
        reset_store(store)
    assert snapshot(store) == before
    proc = cli("init-demo", "--reset", url=store_url, data_dir=data_dir)
    assert proc.returncode == 2 and "这是正式数据库" in proc.stderr and proc.stderr.count("\n") == 1
    assert snapshot(store) == before


def test_reset_is_refused_for_real_data_without_a_mode(store: Store) -> None:
    with store.session(USERS) as s:
        s.add(User(username="boss", role="admin", password_hash=hash_password("password-1")))
    with pytest.raises(PermissionDenied, match=PRODUCTION_RESET_MESSAGE):
        load_demo(store, reset=True)
    with store.session() as s:
        assert s.scalar(select(User.username)) == "boss"


# =============================================================================================
# Pages
# =============================================================================================


def _signed_in(username: str, page: str) -> Any:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=180).run()
    at = at.switch_page("pages/login.py").run()
    inputs = {t.label: t for t in at.text_input}
    inputs["用户名"].input(username)
    inputs["密码"].input("rivergrid-demo")
    next(b for b in at.button if b.label == "登录").click()
    return at.run().switch_page(page).run()


def test_history_page_shows_what_was_undone(app_env: Path) -> None:
    at = _signed_in("admin", "pages/audit.py")
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}", migrate=False)
    with store.session(Actor("staff", UserRole.STAFF)) as s:
        s.scalar(select(Grid).where(Grid.name == "森工街道东兴村")).name = "改错了"
    at = at.run()
    changed = int(at.dataframe[0].value.iloc[0]["id"])
    at.number_input[0].set_value(changed)
    next(b for b in at.button if b.label == "撤销").click()
    at = at.run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("id")
    assert bool(table.loc[changed, "undone"]) is True
    newest = table.iloc[0]
    assert (newest["username"], newest["undo_of"], bool(newest["undone"])) == ("admin", changed, False)
    store.dispose()


def test_staff_read_the_reporter_contact_and_the_read_is_logged(app_env: Path) -> None:
    leader = _signed_in("leader", "pages/incidents.py")
    assert "查看上报人联系方式" not in {b.label for b in leader.button}
    at = _signed_in("staff", "pages/incidents.py")
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}", migrate=False)
    with store.session(Actor("admin", UserRole.ADMIN)) as s:
        inc = s.scalar(select(Incident).where(Incident.code == "SJ-2026-012"))
        inc.reporter_contact = "13912345678"
        iid = inc.id
    at.selectbox(key="inc_pick").set_value(iid).run()
    next(b for b in at.button if b.label == "查看上报人联系方式").click()
    at = at.run()
    assert not at.exception
    assert any("13912345678" in i.value for i in at.info)
    read = log(store)[-1]
    assert (read.action, read.username, read.row_id) == ("read", "staff", iid)
    assert verify(store)["ok"]
    store.dispose()

"""Backups and restores (gis.store.backup, ``gis backup`` / ``gis restore``), on SQLite and PostGIS.

The oracle of a restore is the source itself: every row of every table (read back with plain
SQL) and every file of the data folder, byte for byte, compared with the restored ones.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import create_engine, inspect, text

import gis
import gis.store.backup
from gis.accounts.users import actor_for
from gis.config import PROJECT_DIR
from gis.demo.load import load_demo
from gis.errors import ConflictError, FileFormatError, RiverGridError
from gis.incidents.attachments import AttachmentStore, attachments_of
from gis.incidents.reporting import report_incident
from gis.store import Store, make_engine, upgrade
from gis.store.audit_chain import verify_chain
from gis.store.backup import backup, read_manifest, restore, rotate
from gis.store.engine import pending_revisions
from tests.test_migrations import alembic_head

HEAD = alembic_head()  # the latest migration: what an upgrade ends at

DONGXING_POINT = (127.0, 41.84)


# --- fixtures and oracles ----------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The source's data folder (``RIVERGRID_DATA_DIR``), backups in their own folder."""
    folder = tmp_path / "data"
    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(folder))
    monkeypatch.setenv("RIVERGRID_BACKUP_DIR", str(tmp_path / "backups"))
    return folder


@pytest.fixture
def empty_url(store_url: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty database of the same kind: a new SQLite file, or a new PostGIS schema."""
    if store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'store.sqlite'}"
        return
    base = os.environ["RIVERGRID_TEST_PG_URL"]
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema},public"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def everything(url: str) -> dict[str, list[tuple]]:  # type: ignore[type-arg]
    """Every row of every table of the database (its own schema only), in primary-key order."""
    engine = make_engine(url)
    try:
        insp = inspect(engine)
        names = sorted(insp.get_table_names(schema=insp.default_schema_name))  # PostGIS's public tables left out
        with engine.connect() as conn:
            return {n: [tuple(r) for r in conn.execute(text(f'SELECT * FROM "{n}" ORDER BY 1'))] for n in names}
    finally:
        engine.dispose()


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def a_photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), "green").save(out, "JPEG", quality=90)
    return out.getvalue()


def demo_with_a_photo(url: str, data: Path) -> int:
    """The demo, one more incident reported with a photo, and a blob (an audit digest, say)."""
    store = Store(url)
    try:
        load_demo(store)
        with store.session() as s:
            patroller = actor_for(s, "patroller")
        with store.session(patroller) as s:
            iid = report_incident(s, lon=DONGXING_POINT[0], lat=DONGXING_POINT[1], category="ecology",
                                  description="岸边堆放垃圾", photos=[("现场.jpg", a_photo())]).id
    finally:
        store.dispose()
    blob = data / "blobs" / "ab" / "digest-0001.json"
    blob.parent.mkdir(parents=True)
    blob.write_text('{"digest": "ab"}', encoding="utf-8")
    return iid


# --- round trip -----------------------------------------------------------------------------------------


def test_a_backup_of_the_demo_restores_into_an_empty_database_with_every_row_and_file(
        store_url: str, empty_url: str, data_dir: Path, tmp_path: Path) -> None:
    iid = demo_with_a_photo(store_url, data_dir)
    result = backup(store_url, tmp_path / "demo.zip")
    source = everything(store_url)
    m = result.manifest
    assert result.path == tmp_path / "demo.zip"
    assert (m["backend"], m["revision"], m["version"]) == (
        "sqlite" if store_url.startswith("sqlite") else "postgresql", HEAD, gis.__version__)
    assert m["tables"] == {t: len(rows) for t, rows in source.items()}
    assert m["tables"]["attachments"] == 1 and m["tables"]["incidents"] >= 15
    assert m["created_at_local"].startswith("2026-11-28T")  # gis.clock, pinned by the tests
    head = subprocess.run(["git", "-C", str(PROJECT_DIR), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert m["commit"] == (head.stdout.strip() if head.returncode == 0 else None)
    assert m["files"] == {"attachments": {"count": 2, "bytes": sum(map(len, files_of(data_dir / "attachments")
                                                                      .values()))},
                          "blobs": {"count": len(files_of(data_dir / "blobs")),
                                    "bytes": sum(map(len, files_of(data_dir / "blobs").values()))}}
    assert m["files"]["blobs"]["count"] == 1 + 8  # the digest above and the demo's eight GPX files (audit)

    restored_dir = tmp_path / "restored-data"
    done = restore(result.path, empty_url, data_dir=restored_dir)
    assert done.tables == m["tables"]
    assert everything(empty_url) == source  # every row of every table, not only the counts
    for folder in ("attachments", "blobs"):
        assert files_of(restored_dir / folder) == files_of(data_dir / folder)
    # the restored installation works: its incident shows its photo from the restored folder
    store = Store(empty_url)
    with store.session() as s:
        (photo,) = attachments_of(s, iid)
        path = AttachmentStore(restored_dir / "attachments").find(photo.sha256, photo.mime)
        assert path is not None and path.read_bytes() == AttachmentStore(data_dir / "attachments").find(
            photo.sha256, photo.mime).read_bytes()
        # and its audit log is the same unbroken chain as the original's
        restored_chain = verify_chain(s)
    store.dispose()
    original = Store(store_url)
    with original.session() as s:
        original_chain = verify_chain(s)
    original.dispose()
    assert restored_chain.ok and restored_chain.rows == original_chain.rows == m["tables"]["audit_log"]


def test_restore_refuses_a_database_with_data_unless_forced_and_then_replaces_it(
        store_url: str, empty_url: str, data_dir: Path, tmp_path: Path) -> None:
    demo_with_a_photo(store_url, data_dir)
    path = backup(store_url, tmp_path / "demo.zip").path
    source = everything(store_url)
    # a database with the schema only (the app started once) is no data: restored without --force
    Store(empty_url).dispose()
    restore(path, empty_url, data_dir=tmp_path / "d1")
    assert everything(empty_url) == source
    # a database with data of its own is refused and left as it was
    target = Store(empty_url)
    with target.session() as s:
        patroller = actor_for(s, "patroller")
    with target.session(patroller) as s:
        report_incident(s, lon=DONGXING_POINT[0], lat=DONGXING_POINT[1], category="ecology", description="另一件事",
                        files=AttachmentStore(tmp_path / "d1" / "attachments"))
    target.dispose()
    before = everything(empty_url)
    assert len(before["incidents"]) == len(source["incidents"]) + 1
    refused = r"目标数据库已有数据（.* \d+ 条.*），未恢复。如确需用备份替换现有数据，请加 --force"
    with pytest.raises(ConflictError, match=refused):
        restore(path, empty_url, data_dir=tmp_path / "d1")
    assert everything(empty_url) == before
    # forced: replaced by the backup, the extra incident gone
    restore(path, empty_url, data_dir=tmp_path / "d1", force=True)
    assert everything(empty_url) == source


def test_row_counts_that_differ_from_the_manifest_are_an_error(store_url: str, empty_url: str, data_dir: Path,
                                                               tmp_path: Path) -> None:
    demo_with_a_photo(store_url, data_dir)
    good = backup(store_url, tmp_path / "demo.zip").path
    bad = tmp_path / "tampered.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "manifest.json":
                manifest = json.loads(body)
                manifest["tables"]["grids"] += 1
                body = json.dumps(manifest).encode()
            dst.writestr(info, body)
    with pytest.raises(RiverGridError, match=r"恢复后的记录数与备份清单不一致：grids：应为 5，实为 4"):
        restore(bad, empty_url, data_dir=tmp_path / "restored")


# --- the command line --------------------------------------------------------------------------------------


def gis_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gis", *args], cwd=PROJECT_DIR, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env}, check=False)


def test_cli_backup_and_restore_round_trip(store_url: str, empty_url: str, data_dir: Path, tmp_path: Path) -> None:
    demo_with_a_photo(store_url, data_dir)
    source = everything(store_url)
    env = {"RIVERGRID_DATA_DIR": str(data_dir), "RIVERGRID_BACKUP_DIR": str(tmp_path / "backups")}
    made = gis_cli("backup", "--database-url", store_url, "--json", env=env)
    assert made.returncode == 0, made.stderr
    out = json.loads(made.stdout)
    path = Path(out["path"])
    assert path.parent == tmp_path / "backups" and path.name.startswith("rivergrid-20261128-")
    assert out["manifest"]["tables"] == {t: len(rows) for t, rows in source.items()}
    text_out = gis_cli("backup", "--database-url", store_url, "-o", str(tmp_path / "second.zip"), env=env)
    assert text_out.returncode == 0 and text_out.stdout.startswith(f"已备份到 {tmp_path / 'second.zip'}")
    again = gis_cli("backup", "--database-url", store_url, "-o", str(tmp_path / "second.zip"), env=env)
    assert again.returncode == 2 and again.stderr.startswith("错误：备份文件已存在")

    env_target = {"RIVERGRID_DATA_DIR": str(tmp_path / "restored")}
    done = gis_cli("restore", str(path), "--database-url", empty_url, env=env_target)
    assert done.returncode == 0, done.stderr
    assert "与备份清单一致" in done.stdout
    assert everything(empty_url) == source
    assert files_of(tmp_path / "restored" / "attachments") == files_of(data_dir / "attachments")
    refused = gis_cli("restore", str(path), "--database-url", empty_url, env=env_target)
    assert refused.returncode == 2 and refused.stderr.startswith("错误：目标数据库已有数据")
    assert "Traceback" not in refused.stderr
    forced = gis_cli("restore", str(path), "--database-url", empty_url, "--force", "--json", env=env_target)
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["tables"] == out["manifest"]["tables"]


def test_rotation_keeps_the_newest_backups_and_leaves_other_files(tmp_path: Path, data_dir: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    Store(url).dispose()
    folder = tmp_path / "backups"
    made = [backup(url).path for _ in range(3)]  # same second: -2, -3 after the first
    assert [p.parent for p in made] == [folder] * 3 and len(set(made)) == 3
    before_upgrade = backup(url, name_suffix="-before-0008").path
    mine = folder / "keep-me.zip"
    mine.write_bytes(b"not a backup of the timer")
    proc = gis_cli("backup", "--database-url", url, "--rotate", "2",
                   env={"RIVERGRID_DATA_DIR": str(data_dir), "RIVERGRID_BACKUP_DIR": str(folder)})
    assert proc.returncode == 0, proc.stderr
    assert "删除旧备份 2 个" in proc.stdout
    newest = Path(proc.stdout.split("已备份到 ")[1].split("（")[0])
    assert sorted(folder.iterdir()) == sorted([made[2], newest, before_upgrade, mine])
    assert rotate(5, folder) == []
    with pytest.raises(RiverGridError, match="不少于 1"):
        rotate(0, folder)


# --- online, damaged files, missing clients ----------------------------------------------------------------


def test_a_sqlite_backup_runs_beside_an_open_write_transaction(tmp_path: Path, data_dir: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    store = Store(url)
    load_demo(store)
    store.dispose()
    writer = sqlite3.connect(tmp_path / "store.sqlite", timeout=0)
    writer.execute("BEGIN IMMEDIATE")  # the app is writing: holds the write lock
    writer.execute("DELETE FROM sign_in_attempts")
    writer.execute("INSERT INTO counters (name, value) VALUES ('incident:2099', 7)")
    try:
        result = backup(url, tmp_path / "online.zip")  # does not wait for the writer
    finally:
        writer.commit()
        writer.close()
    with sqlite3.connect(tmp_path / "store.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM counters").fetchone()[0] == result.manifest["tables"]["counters"] + 1
    restore(result.path, f"sqlite:///{tmp_path / 'copy.sqlite'}", data_dir=tmp_path / "copy")
    with sqlite3.connect(tmp_path / "copy.sqlite") as conn:  # the snapshot before the uncommitted insert
        assert conn.execute("SELECT count(*) FROM counters WHERE name = 'incident:2099'").fetchone()[0] == 0


def test_a_damaged_or_foreign_file_is_refused_before_anything_changes(tmp_path: Path, data_dir: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    store = Store(url)
    load_demo(store)
    store.dispose()
    good = backup(url, tmp_path / "good.zip").path
    target = f"sqlite:///{tmp_path / 'target.sqlite'}"
    (tmp_path / "photo.jpg").write_bytes(a_photo())
    with pytest.raises(FileFormatError, match="不是 RiverGrid 备份文件"):
        restore(tmp_path / "photo.jpg", target)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(FileFormatError, match="缺少或无法读取 manifest.json"):
        read_manifest(other)
    damaged = tmp_path / "damaged.zip"
    raw = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as zf:
        db = zf.getinfo("database.sqlite")
    start = db.header_offset + 30 + len(db.filename.encode()) + len(db.extra)
    raw[start + 100:start + 110] = bytes(10)  # inside the compressed database
    damaged.write_bytes(bytes(raw))
    with pytest.raises(FileFormatError, match="已损坏"):
        restore(damaged, target)
    escaping = tmp_path / "escaping.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(escaping, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("attachments/../../evil.sh", "rm -rf /")
    with pytest.raises(FileFormatError, match="不应有的文件"):
        restore(escaping, target)
    assert not (tmp_path / "target.sqlite").exists() and not (tmp_path / "evil.sh").exists()
    assert not (data_dir / "attachments").exists()


@pytest.mark.postgis
def test_a_server_without_its_own_pg_dump_is_refused_in_chinese(pg_url: str, tmp_path: Path, data_dir: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    Store(pg_url).dispose()
    monkeypatch.setattr(gis.store.backup, "PG_BIN_DIR", str(tmp_path / "no-client-{major}"))
    with pytest.raises(RiverGridError, match=r"PostgreSQL (\d+)）相同的客户端程序 pg_dump.*postgresql-client-\1"):
        backup(pg_url, tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists() and list(tmp_path.glob(".rivergrid-backup-*")) == []


def test_a_backup_cannot_go_into_another_kind_of_database(tmp_path: Path, data_dir: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    Store(url).dispose()
    path = backup(url, tmp_path / "b.zip").path
    with pytest.raises(RiverGridError, match="备份来自 sqlite 数据库，不能恢复到 postgresql 数据库"):
        restore(path, "postgresql+psycopg2://nobody@127.0.0.1:1/none")


# --- a backup before migrating -------------------------------------------------------------------------------


def test_upgrade_backs_up_a_database_with_data_before_running_pending_migrations(
        store_url: str, empty_url: str, tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIVERGRID_BACKUP_ON_UPGRADE", "1")
    folder = tmp_path / "backups"
    engine = make_engine(store_url)
    upgrade(engine, "0005")  # an empty database: nothing to back up
    assert not folder.exists() or list(folder.iterdir()) == []
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO grids (id, name, level, responsible_body, area_desc, personnel_desc, duties, tasks, rewards,"
            " hotline, illustrative, version)"
            " VALUES (1, '东兴村', 'village', '村委会', '', '', '', '', '', '', false, 1)"))
    current, pending = pending_revisions(engine)
    assert current == ("0005",) and pending[0] == "0006" and pending[-1] == HEAD

    upgrade(engine)
    (made,) = folder.iterdir()
    assert made.name.startswith("rivergrid-20261128-") and made.name.endswith(f"-before-{HEAD}.zip")
    manifest = read_manifest(made)
    assert manifest["revision"] == "0005" and manifest["tables"]["grids"] == 1
    assert manifest["reason"] == f"before upgrade 0005 -> {HEAD}"
    assert pending_revisions(engine) == ((HEAD,), [])
    upgrade(engine)  # nothing pending: no new backup
    assert list(folder.iterdir()) == [made]
    engine.dispose()
    # the backup is the database as it was: restored, it is at 0005 with its grid
    restore(made, empty_url, data_dir=tmp_path / "restored")
    target = make_engine(empty_url)
    with target.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0005"
        assert conn.execute(text("SELECT name FROM grids")).scalars().all() == ["东兴村"]
    target.dispose()
    # rotation never removes it
    assert rotate(1, folder) == [] and made.exists()


def test_a_failed_backup_stops_the_upgrade(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIVERGRID_BACKUP_ON_UPGRADE", "1")
    (tmp_path / "backups").write_text("a file where the backup folder should be")
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    engine = make_engine(url)
    upgrade(engine, "0006")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO counters (name, value) VALUES ('incident:2026', 3)"))
    stopped = "升级数据库结构前的自动备份失败.*数据库未升级.*RIVERGRID_BACKUP_ON_UPGRADE=0"
    with pytest.raises(RiverGridError, match=stopped):
        upgrade(engine)
    current, pending = pending_revisions(engine)
    assert current == ("0006",) and pending[-1] == HEAD
    monkeypatch.setenv("RIVERGRID_BACKUP_ON_UPGRADE", "0")  # the documented way out
    upgrade(engine)
    assert pending_revisions(engine) == ((HEAD,), [])
    engine.dispose()

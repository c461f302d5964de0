"""Migrations: one Alembic head, and ``alembic upgrade head`` (the real command line) works from an
empty database and from databases made by the previous release (commit 534d832, migrations
0001–0004 with two heads), on SQLite and on PostGIS. The previous release's databases were made by
its own code (``tests/data/previous_release/make.sh``): the demo, a report with a phone photo
carrying GPS in its EXIF, an accepted case whose acceptance was undone."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from gis.config import PROJECT_DIR
from gis.store import Store
from gis.store.audit_chain import verify_chain
from gis.store.engine import MIGRATIONS_DIR
from gis.store.schema import Attachment, AuditEntry, Incident, User

PREVIOUS = PROJECT_DIR / "tests" / "data" / "previous_release"


def alembic_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, f"Alembic has several heads: {heads}"
    return heads[0]


def run_alembic(url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "RIVERGRID_DATA_DIR": str(data_dir), "RIVERGRID_BACKUP_ON_UPGRADE": "0"}
    return subprocess.run([sys.executable, "-m", "alembic", *args], cwd=PROJECT_DIR, env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def revision_of(url: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        revs = sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    engine.dispose()
    return revs


def test_there_is_one_head() -> None:
    assert alembic_head() == "0015"


def test_alembic_upgrade_head_from_an_empty_database(store_url: str, tmp_path: Path) -> None:
    done = run_alembic(store_url, tmp_path, "upgrade", "head")
    assert done.returncode == 0, done.stderr
    assert revision_of(store_url) == [alembic_head()]
    again = run_alembic(store_url, tmp_path, "upgrade", "head")  # nothing left to do
    assert again.returncode == 0, again.stderr


@pytest.fixture
def previous_release(store_url: str, tmp_path: Path) -> tuple[str, Path]:
    """A database and data folder as the previous release left them, in ``store_url``."""
    data = tmp_path / "data"
    data.mkdir()
    with tarfile.open(PREVIOUS / "attachments-534d832.tar.gz") as tar:
        tar.extractall(data, filter="data")
    if store_url.startswith("sqlite"):
        db = Path(store_url.removeprefix("sqlite:///"))
        db.write_bytes(gzip.decompress((PREVIOUS / "rivergrid-534d832.sqlite.gz").read_bytes()))
    else:
        schema = store_url.split("search_path%3D", 1)[1].split(",", 1)[0]
        sql = gzip.decompress((PREVIOUS / "rivergrid-534d832-postgis.sql.gz").read_bytes()).decode()
        sql = "\n".join(line for line in sql.replace("prev_release", schema).splitlines()
                        if not line.startswith("CREATE SCHEMA"))  # the test's schema exists already
        script = tmp_path / "previous.sql"
        script.write_text(sql, encoding="utf-8")
        u = make_url(store_url)
        loaded = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script), "-h", u.host or "",
                                 "-p", str(u.port or 5432), "-U", u.username or "", "-d", u.database or ""],
                                env={**os.environ, "PGPASSWORD": u.password or ""}, capture_output=True, text=True,
                                timeout=300, check=False)
        assert loaded.returncode == 0, loaded.stderr
    assert revision_of(store_url) == ["0003", "0004"]  # the two heads of that release
    return store_url, data


def test_alembic_upgrade_head_from_the_previous_release_keeps_everything(
        previous_release: tuple[str, Path]) -> None:
    url, data = previous_release
    engine = create_engine(url)
    with engine.connect() as conn:
        before = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in
                  ("incidents", "incident_events", "patrol_tracks", "users", "grids", "attachments", "audit_log")}
        undone = conn.execute(text("SELECT id FROM audit_log WHERE undone_by IS NOT NULL")).scalars().all()
        old_photo = conn.execute(text("SELECT sha256 FROM attachments")).scalar_one()
    engine.dispose()
    assert len(undone) == 1 and before["incidents"] == 15

    done = run_alembic(url, data, "upgrade", "head")
    assert done.returncode == 0, done.stderr
    assert revision_of(url) == [alembic_head()]

    store = Store(url, migrate=False)
    with store.session() as s:
        for table, n in before.items():
            model_count = s.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            assert model_count == n, table  # nothing lost (the audit log gains no row either)
        chain = verify_chain(s)
        assert chain.ok and chain.rows == before["audit_log"]
        # the undo of the old release is kept as a link from the undo's entry to the undone one
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.undo_of == undone[0])) == 1
        # no password hash or base64 file content is left in the log
        log = json.dumps([[e.before, e.after] for e in s.scalars(select(AuditEntry))], ensure_ascii=False)
        assert "$argon2" not in log and '"base64"' not in log
        # the deployment is recognised as the demo it is; case numbers go on after SJ-2026-015
        assert s.execute(text("SELECT value FROM deployment_info WHERE key = 'mode'")).scalar() == "demo"
        assert s.execute(text("SELECT value FROM counters WHERE name = 'incident:2026'")).scalar() == 15
        assert s.scalar(select(Incident.status).where(Incident.code == "SJ-2026-015")) == "reported"
        photo = s.scalar(select(Attachment))
        assert s.scalar(select(func.count()).select_from(User)) == 5
    store.dispose()
    # the phone photo lost its GPS position and serial number, and its row follows the new file
    assert photo.sha256 != old_photo
    stored = next((data / "attachments").rglob(f"{photo.sha256}.*"))
    with Image.open(stored) as image:
        exif = image.getexif()
    assert 0x8825 not in exif and 0xA431 not in exif and not list((data / "attachments").rglob(f"{old_photo}.*"))

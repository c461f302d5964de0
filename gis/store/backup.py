"""Backups (备份) and restores of the database and the files of the data folder.

One backup is one ZIP file
    ``manifest.json``
        What the backup holds: ``created_at`` (:mod:`gis.clock`, UTC and Beijing time), the
        ``backend``, the Alembic ``revision``, the row count of every ``table``, the ``files`` of
        each folder (count and bytes), the app ``version`` and git ``commit`` when known, and why
        it was made (``reason``).
    ``database.sqlite`` (SQLite)
        A copy made with SQLite's online backup API (:meth:`sqlite3.Connection.backup`, all pages
        in one step): a consistent snapshot, taken while the app goes on reading and writing (in
        WAL mode writers are not blocked by it). The rows are counted in the copy.
    ``database.pgdump`` (PostgreSQL + PostGIS)
        ``pg_dump -Fc`` of the application's schema: the first schema of the connection's
        ``search_path`` (``public`` in production; each test has its own), without PostGIS's own
        objects (they belong to the extension, which a restore finds or creates). The client is
        the one of the *server's* major version, ``/usr/lib/postgresql/<major>/bin/pg_dump``
        (``SHOW server_version_num``); without it the backup is refused with a Chinese message
        naming the Debian package. The rows are counted in a REPEATABLE READ transaction whose
        snapshot ``pg_dump --snapshot`` then dumps, so counts and dump agree while the app writes.
    ``attachments/…``, ``blobs/…``
        The photos (``<data dir>/attachments``, stored uncompressed: they are JPEG/PNG already)
        and, when present, ``<data dir>/blobs``. Folders are read after the database: photo files
        are written before their rows, so every photo the database refers to is in the backup.

A backup is written to a hidden temporary file beside its destination and appears under its
name only when complete; an existing file is never overwritten.

Restore (:func:`restore`)
    Refuses a target database that holds any row unless ``force`` (then its tables are replaced
    by the backup's); checks every member of the ZIP first; copies the files into the data
    folder (files already there with the same content are kept); then restores the database:
    SQLite through the backup API, PostgreSQL with the matching ``pg_restore`` turned into SQL,
    moved into the target's schema when it differs from the source's, and run by the matching
    ``psql`` in a single transaction together with dropping the target's old tables (a failed
    restore leaves the target as it was). Afterwards the rows of every table are counted and
    compared with the manifest: any difference is an error. Stop the app while restoring.

Rotation (:func:`rotate`)
    Keeps the newest ``keep`` backups named ``rivergrid-YYYYMMDD-HHMMSS[-N].zip`` (what
    ``gis backup`` writes without ``-o``) in the backup folder (``settings().backup_dir``, default
    ``<data dir>/backups``). Backups written before a migration
    (``rivergrid-…-before-<revision>.zip``, :func:`backup_before_upgrade`) and other files are
    left for the administrator.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from gis import __version__, clock
from gis.config import PROJECT_DIR, settings
from gis.errors import ConflictError, FileFormatError, NotFoundError, RiverGridError, ValidationError
from gis.model import LOCAL_TZ

__all__ = [
    "FILE_FOLDERS",
    "MANIFEST",
    "PG_BIN_DIR",
    "BackupResult",
    "RestoreResult",
    "backup",
    "backup_before_upgrade",
    "read_manifest",
    "restore",
    "rotate",
]

log = logging.getLogger(__name__)

FORMAT = "rivergrid-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite"
PG_MEMBER = "database.pgdump"
FILE_FOLDERS = ("attachments", "blobs")
"""Folders of the data folder that a backup holds (each only when present)."""

PG_BIN_DIR = "/usr/lib/postgresql/{major}/bin"
"""Where the PostgreSQL client programs of a major version are (Debian's layout)."""

ROTATED_NAME = re.compile(r"^rivergrid-(\d{8})-(\d{6})(?:-(\d+))?\.zip$")
"""Names of the backups that :func:`rotate` counts (written by ``gis backup`` without ``-o``)."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: dict[str, Any]


@dataclass(frozen=True)
class RestoreResult:
    manifest: dict[str, Any]
    tables: dict[str, int]
    """Row counts of the restored database (equal to the manifest's)."""
    files: dict[str, int]
    """Files written per folder (files already present with the same content are not counted)."""


# --- backup ---------------------------------------------------------------------------------------


def backup(
    url: str | None = None,
    output: str | Path | None = None,
    *,
    data_dir: str | Path | None = None,
    backup_dir: str | Path | None = None,
    reason: str = "manual",
    name_suffix: str = "",
) -> BackupResult:
    """Write a backup of the database at ``url`` and the files of ``data_dir`` (see the module notes).

    Parameters
    ----------
    url
        SQLAlchemy URL of the database; default ``settings().database_url``.
    output
        The backup file; default a new ``rivergrid-YYYYMMDD-HHMMSS.zip`` (Beijing time) in
        ``backup_dir`` (default ``settings().backup_dir``).
    data_dir
        The data folder whose ``attachments`` and ``blobs`` are backed up; default
        ``settings().data_dir``.
    reason
        Recorded in the manifest (``manual``, ``scheduled``, ``before upgrade …``).
    name_suffix
        Added to a timestamped name (``-before-0008``); such files are not rotated.

    Raises
    ------
    RiverGridError
        The database cannot be read or dumped (no matching ``pg_dump``), or ``output`` exists.
    """
    conf = settings()
    url = url or conf.database_url
    data = Path(data_dir) if data_dir is not None else conf.data_dir
    folder = Path(backup_dir) if backup_dir is not None else (conf.backup_dir or conf.data_dir / "backups")
    target = Path(output) if output is not None else None
    if target is not None and target.exists():
        raise RiverGridError(f"备份文件已存在：{target}（不会覆盖，请换一个文件名）", f"{target} exists")
    backend = make_url(url).get_backend_name()
    created = clock.now()
    db_facts: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="rivergrid-backup-") as work:
        if backend == "sqlite":
            member, dump = SQLITE_MEMBER, Path(work) / SQLITE_MEMBER
            revision, tables = _sqlite_backup(_sqlite_path(url), dump)
        elif backend == "postgresql":
            member, dump = PG_MEMBER, Path(work) / PG_MEMBER
            revision, tables, db_facts = _pg_backup(url, dump)
        else:
            raise RiverGridError(f"不支持备份此类数据库：{backend}", f"unsupported backend {backend!r}")
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": created.isoformat(),
            "created_at_local": created.astimezone(LOCAL_TZ).isoformat(),
            "reason": reason,
            "backend": backend,
            "revision": revision,
            "tables": tables,
            "database_member": member,
            **db_facts,
            "files": {},
            "version": _app_version(),
            "commit": _git_commit(),
        }
        if target is None:
            folder.mkdir(parents=True, exist_ok=True)
            stamp = created.astimezone(LOCAL_TZ).strftime("%Y%m%d-%H%M%S")
            names: Iterator[str] = (
                f"rivergrid-{stamp}{name_suffix}{'' if n == 1 else f'-{n}'}.zip" for n in range(1, 1000)
            )
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            names = iter([target.name])
            folder = target.parent
        fd, partial = tempfile.mkstemp(dir=folder, prefix=".rivergrid-backup-", suffix=".partial")
        os.close(fd)
        try:
            with zipfile.ZipFile(partial, "w", allowZip64=True) as zf:
                # a pg_dump -Fc archive is compressed already
                packed = zipfile.ZIP_DEFLATED if backend == "sqlite" else zipfile.ZIP_STORED
                zf.write(dump, member, compress_type=packed)
                for sub in FILE_FOLDERS:
                    root = data / sub
                    if root.is_dir():
                        manifest["files"][sub] = _zip_folder(zf, root, sub)
                zf.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2), zipfile.ZIP_DEFLATED)
            with open(partial, "rb") as fh:
                os.fsync(fh.fileno())
            path = _link_first_free(Path(partial), folder, names)
        finally:
            Path(partial).unlink(missing_ok=True)
    log.info("backup written: %s", path)
    return BackupResult(path, manifest)


def backup_before_upgrade(engine: Engine, *, current: tuple[str, ...], target: str) -> Path | None:
    """The backup :func:`gis.store.upgrade` writes before migrating a database that has tables
    (to ``settings().backup_dir``, named ``rivergrid-…-before-<target>.zip``; never rotated).

    Raises
    ------
    RiverGridError
        The backup failed: the upgrade does not run (the message says how to skip the backup).
    """
    url = engine.url.render_as_string(hide_password=False)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and (not parsed.database or parsed.database == ":memory:"):
        return None
    try:
        result = backup(url, reason=f"before upgrade {'+'.join(current)} -> {target}", name_suffix=f"-before-{target}")
    except (RiverGridError, OSError, sqlite3.Error) as exc:
        detail = exc.message_zh if isinstance(exc, RiverGridError) else f"{type(exc).__name__}: {exc}"
        raise RiverGridError(
            f"升级数据库结构前的自动备份失败（{detail}），数据库未升级。"
            "请检查备份目录 RIVERGRID_BACKUP_DIR；如确需不备份直接升级，请设置环境变量 RIVERGRID_BACKUP_ON_UPGRADE=0",
            f"backup before upgrade failed: {getattr(exc, 'reason_en', exc)}",
        ) from exc
    log.warning(
        "database at revision %s backed up to %s before upgrading to %s", "+".join(current), result.path, target
    )
    return result.path


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise RiverGridError("内存中的 SQLite 数据库无法备份或恢复", "in-memory SQLite database")
    return Path(database)


def _sqlite_backup(path: Path, dump: Path) -> tuple[str | None, dict[str, int]]:
    if not path.is_file():
        raise NotFoundError(f"找不到数据库文件：{path}", f"no such file {path}")
    src = sqlite3.connect(path, timeout=30)
    dst = sqlite3.connect(dump)
    try:
        src.backup(dst)  # all pages in one step: one consistent snapshot
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        revision, tables = _sqlite_facts(dst)
    finally:
        dst.close()
        src.close()
    return revision, tables


def _sqlite_facts(conn: sqlite3.Connection) -> tuple[str | None, dict[str, int]]:
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY"
            " name"
        )
    ]
    tables = {n: conn.execute(f'SELECT count(*) FROM "{_quote(n)}"').fetchone()[0] for n in names}
    revision = None
    if "alembic_version" in tables:
        revision = "+".join(sorted(r[0] for r in conn.execute("SELECT version_num FROM alembic_version")))
    return revision or None, tables


def _quote(name: str) -> str:
    return name.replace('"', '""')


def _zip_folder(zf: zipfile.ZipFile, root: Path, arc: str) -> dict[str, int]:
    count = size = 0
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or path.is_symlink() or any(part.startswith(".") for part in rel.parts):
            continue  # temporary files of writes in progress (".upload-…") are not photos yet
        try:
            info = zipfile.ZipInfo.from_file(path, f"{arc}/{rel.as_posix()}")
            info.compress_type = zipfile.ZIP_STORED if arc == "attachments" else zipfile.ZIP_DEFLATED
            with open(path, "rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
        except FileNotFoundError:  # removed meanwhile (a file no row refers to any more)
            continue
        count += 1
        size += info.file_size
    return {"count": count, "bytes": size}


def _link_first_free(partial: Path, folder: Path, names: Iterator[str]) -> Path:
    tried = folder
    for name in names:
        tried = folder / name
        try:
            os.link(partial, tried)  # atomic, and never replaces an existing file
            return tried
        except FileExistsError:
            continue
    raise RiverGridError(f"备份文件已存在：{tried}（不会覆盖，请换一个文件名）", f"{tried} exists")


def _app_version() -> str:

    return __version__


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(PROJECT_DIR), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit) else None


# --- PostgreSQL -----------------------------------------------------------------------------------


def _pg_connection(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for the client programs (without the password) and their
    environment (the password as ``PGPASSWORD``, never on a command line)."""
    from psycopg2.extensions import make_dsn  # noqa: PLC0415 — psycopg2 exists only in server mode

    parsed = make_url(url)
    params: dict[str, Any] = {}
    for key, value in parsed.query.items():
        params[key] = value[-1] if isinstance(value, tuple) else value
    if parsed.host:
        params["host"] = parsed.host
    if parsed.port:
        params["port"] = parsed.port
    if parsed.username:
        params["user"] = parsed.username
    if parsed.database:
        params["dbname"] = parsed.database
    env = dict(os.environ)  # what the URL leaves open libpq takes from PG* variables, as for the app itself
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return make_dsn(**params), env


def _pg_major(conn: Any) -> int:
    return int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000


def _pg_tool(major: int, tool: str) -> str:
    path = Path(PG_BIN_DIR.format(major=major)) / tool
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise RiverGridError(
            f"找不到与数据库服务器版本（PostgreSQL {major}）相同的客户端程序 {tool}（应在 {path}）。"
            f"请安装 postgresql-client-{major}（Debian：apt-get install postgresql-client-{major}；"
            "系统软件源没有该版本时，用 PostgreSQL 官方的 apt.postgresql.org 软件源）",
            f"no {tool} for PostgreSQL {major} at {path}",
        )
    return str(path)


def _pg_schema(conn: Any) -> str:
    schema = conn.execute(text("SELECT current_schema()")).scalar()
    if not schema:
        raise RiverGridError(
            "数据库连接的 search_path 中没有存在的模式（schema），无法确定要备份或恢复的数据",
            "current_schema() is null",
        )
    return str(schema)


_PG_OWN_RELATIONS = """
SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY c.relname
"""
"""Tables, views and sequences of a schema that no extension owns (PostGIS's are left out)."""

_PG_OWN_FUNCTIONS = """
SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = :schema
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1
"""
"""Functions of a schema that no extension owns (the audit log's append-only trigger function)."""


def _pg_tables(conn: Any, schema: str) -> dict[str, int]:
    quote = conn.dialect.identifier_preparer.quote
    names = [n for n, kind in conn.execute(text(_PG_OWN_RELATIONS), {"schema": schema}) if kind in ("r", "p")]
    return {n: int(conn.execute(text(f"SELECT count(*) FROM {quote(schema)}.{quote(n)}")).scalar_one()) for n in names}


def _pg_revision(conn: Any, schema: str, tables: dict[str, int]) -> str | None:
    if "alembic_version" not in tables:
        return None
    quote = conn.dialect.identifier_preparer.quote
    rows = conn.execute(text(f"SELECT version_num FROM {quote(schema)}.alembic_version")).scalars().all()
    return "+".join(sorted(rows)) or None


def _run(args: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise RiverGridError(
            f"{what}失败：无法运行 {args[0]}（{exc.strerror or exc}）", f"cannot run {args[0]}"
        ) from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        first = next((line for line in detail if "ERROR" in line or "错误" in line), detail[0] if detail else "")
        raise RiverGridError(f"{what}失败：{first}", f"{Path(args[0]).name} exited with {done.returncode}: {first}")
    return done


def _pg_backup(url: str, dump: Path) -> tuple[str | None, dict[str, int], dict[str, Any]]:
    dsn, env = _pg_connection(url)
    engine = create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as conn, conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            major = _pg_major(conn)
            pg_dump = _pg_tool(major, "pg_dump")
            schema = _pg_schema(conn)
            tables = _pg_tables(conn, schema)
            revision = _pg_revision(conn, schema, tables)
            server = conn.execute(text("SHOW server_version")).scalar_one()
            # the dump sees exactly what was counted: the same snapshot, held open meanwhile
            _run(
                [pg_dump, "-Fc", "--snapshot", snapshot, "-n", '"' + _quote(schema) + '"', "-f", str(dump), "-d", dsn],
                env,
                "导出数据库（pg_dump）",
            )
            client = _run([pg_dump, "--version"], env, "pg_dump").stdout.strip()
    finally:
        engine.dispose()
    return revision, tables, {"postgresql": {"server_version": server, "schema": schema, "pg_dump": client}}


def _pg_restore(dump: Path, url: str, manifest: dict[str, Any], work: Path) -> None:
    dsn, env = _pg_connection(url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            major = _pg_major(conn)
            schema = _pg_schema(conn)
            relations = list(conn.execute(text(_PG_OWN_RELATIONS), {"schema": schema}))
            functions = list(conn.execute(text(_PG_OWN_FUNCTIONS), {"schema": schema}).scalars())
            has_postgis = conn.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'postgis'")).scalar()
    finally:
        engine.dispose()
    pg_restore, psql = _pg_tool(major, "pg_restore"), _pg_tool(major, "psql")
    source = str(manifest.get("postgresql", {}).get("schema") or "public")

    toc = _run([pg_restore, "-l", str(dump)], env, "读取备份中的数据库目录（pg_restore）").stdout.splitlines()
    keep: list[str] = []
    names: set[str] = set()
    for item in toc:
        entry = re.match(r"^\d+; \d+ \d+ (.*)$", item)
        if entry is None:
            continue
        words = entry.group(1).split()
        if words[:1] == ["SCHEMA"] or words[:3] == ["COMMENT", "-", "SCHEMA"]:
            continue  # the target's schema exists already: it is where the restore goes
        if source in words:  # "<kind…> <schema> <name…> <owner>"
            names.update(w.strip('"') for w in words[words.index(source) + 1 : -1])
        keep.append(item)
    listing = work / "restore.list"
    listing.write_text("\n".join(keep) + "\n", encoding="utf-8")
    sql = work / "restore.sql"
    _run(
        [pg_restore, "--no-owner", "--no-privileges", "-L", str(listing), "-f", str(sql), str(dump)],
        env,
        "读取备份中的数据库（pg_restore）",
    )

    script = work / "restore.psql.sql"
    q = _pg_ident
    with open(sql, "rb") as src, open(script, "wb") as out:
        out.write(b"SET client_min_messages = warning;\n")
        if not has_postgis:
            out.write(b"CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public;\n")
        drop = {"v": "VIEW", "m": "MATERIALIZED VIEW", "r": "TABLE", "p": "TABLE", "S": "SEQUENCE"}
        for kind in ("v", "m", "r", "p", "S"):  # the target's own tables go in the same transaction
            for name, relkind in relations:
                if relkind == kind:
                    out.write(f"DROP {drop[kind]} IF EXISTS {q(schema)}.{q(name)} CASCADE;\n".encode())
        for function in functions:  # schema-qualified signatures, e.g. t_x.audit_log_append_only()
            out.write(f"DROP FUNCTION IF EXISTS {function} CASCADE;\n".encode())
        move = None
        if source != schema and names:
            alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
            move = re.compile(
                rf'(?<![\w"$])(?:{re.escape(source)}|"{re.escape(source)}")\.(?="?(?:{alternatives})\b)'.encode()
            )
            into = (q(schema) + ".").encode()
        in_data = False
        for line in src:
            if in_data:  # rows of a COPY: data, never rewritten
                in_data = line not in (b"\\.\n", b"\\.\r\n")
                out.write(line)
                continue
            if move is not None:
                line = move.sub(into, line)
            in_data = line.startswith(b"COPY ") and line.rstrip().endswith(b"FROM stdin;")
            out.write(line)
    _run(
        [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", str(script), "-d", dsn],
        env,
        "恢复数据库（psql）",
    )


def _pg_ident(name: str) -> str:
    return name if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) else '"' + _quote(name) + '"'


# --- restore --------------------------------------------------------------------------------------


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a backup file.

    Raises
    ------
    NotFoundError
        No such file.
    FileFormatError
        Not a RiverGrid backup.
    """
    path = Path(path)
    with _open_backup(path) as zf:
        return _manifest_of(zf, path)


@contextmanager
def _open_backup(path: Path) -> Iterator[zipfile.ZipFile]:
    if not path.is_file():
        raise NotFoundError(f"找不到备份文件：{path}", f"no such file {path}")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileFormatError(f"“{path.name}”不是 RiverGrid 备份文件（无法作为 ZIP 读取）", f"{path}: {exc}") from None
    with zf:
        yield zf


def _manifest_of(zf: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(zf.read(MANIFEST))
    except (KeyError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
        raise FileFormatError(
            f"“{path.name}”不是 RiverGrid 备份文件（缺少或无法读取 {MANIFEST}）", f"{path}: bad manifest ({exc})"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise FileFormatError(f"“{path.name}”不是 RiverGrid 备份文件", f"{path}: not a {FORMAT}")
    if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        raise FileFormatError(
            f"备份文件“{path.name}”来自更新版本的 RiverGrid，请先升级本程序",
            f"{path}: format_version {manifest.get('format_version')}",
        )
    return manifest


def restore(
    path: str | Path, url: str | None = None, *, data_dir: str | Path | None = None, force: bool = False
) -> RestoreResult:
    """Restore a backup into the database at ``url`` and the data folder (see the module notes).

    Raises
    ------
    NotFoundError, FileFormatError
        No such file, not a backup, or a damaged one (checked before anything is changed).
    ConflictError
        The target database holds rows and ``force`` is not given.
    RiverGridError
        The backup is of another kind of database, the matching client programs are missing, the
        restore failed, or the restored row counts or files differ from the manifest.
    """
    path = Path(path)
    conf = settings()
    url = url or conf.database_url
    data = Path(data_dir) if data_dir is not None else conf.data_dir
    backend = make_url(url).get_backend_name()
    with _open_backup(path) as zf:
        manifest = _manifest_of(zf, path)
        try:
            bad = zf.testzip()  # every member read once: a damaged backup changes nothing
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            bad = f"{type(exc).__name__}: {exc}"
        if bad is not None:
            raise FileFormatError(
                f"备份文件“{path.name}”已损坏（{bad} 校验失败），未做任何恢复", f"{path}: bad CRC in {bad}"
            )
        members = _checked_members(zf, path, manifest)
        if manifest.get("backend") != backend:
            raise RiverGridError(
                f"备份来自 {manifest.get('backend')} 数据库，不能恢复到 {backend} 数据库",
                f"backup of {manifest.get('backend')}, target is {backend}",
            )
        existing = _target_rows(url, backend)
        filled = {t: n for t, n in existing.items() if n and t != "alembic_version"}  # data, not the schema
        if filled and not force:
            listed = "，".join(f"{t} {n} 条" for t, n in sorted(filled.items())[:5])
            raise ConflictError(
                f"目标数据库已有数据（{listed}{' 等' if len(filled) > 5 else ''}），未恢复。"
                "如确需用备份替换现有数据，请加 --force",
                f"target database not empty: {sorted(filled)}",
            )
        written = _restore_files(zf, members, data)
        with tempfile.TemporaryDirectory(prefix="rivergrid-restore-") as work:
            dump = Path(work) / str(manifest["database_member"])
            with zf.open(str(manifest["database_member"])) as src, open(dump, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
            if backend == "sqlite":
                _sqlite_restore(dump, _sqlite_path(url))
            else:
                _pg_restore(dump, url, manifest, Path(work))
        _check_files(members, data, manifest)
    tables = _target_rows(url, backend)
    expected = {str(k): int(v) for k, v in manifest.get("tables", {}).items()}
    if tables != expected:
        diffs = [
            f"{t}：应为 {expected.get(t, '无此表')}，实为 {tables.get(t, '无此表')}"
            for t in sorted(set(tables) | set(expected))
            if tables.get(t) != expected.get(t)
        ]
        raise RiverGridError(
            "恢复后的记录数与备份清单不一致：" + "；".join(diffs[:10]), f"row counts differ from the manifest: {diffs}"
        )
    log.info("restored %s into %s", path, make_url(url).render_as_string(hide_password=True))
    return RestoreResult(manifest, tables, written)


def _checked_members(zf: zipfile.ZipFile, path: Path, manifest: dict[str, Any]) -> list[zipfile.ZipInfo]:
    """The file members of the backup, each a plain relative path inside one of :data:`FILE_FOLDERS`."""
    members = []
    database = str(manifest.get("database_member") or "")
    if database not in (SQLITE_MEMBER, PG_MEMBER) or database not in zf.namelist():
        raise FileFormatError(f"备份文件“{path.name}”中没有数据库", f"{path}: no database member")
    for info in zf.infolist():
        if info.filename in (MANIFEST, database) or info.is_dir():
            continue
        parts = PurePosixPath(info.filename).parts
        if (
            "\\" in info.filename
            or info.filename.startswith("/")
            or len(parts) < 2
            or parts[0] not in FILE_FOLDERS
            or any(p in ("", ".", "..") for p in parts)
        ):
            raise FileFormatError(
                f"备份文件“{path.name}”中有不应有的文件：{info.filename}",
                f"{path}: unexpected member {info.filename!r}",
            )
        members.append(info)
    return members


def _restore_files(zf: zipfile.ZipFile, members: list[zipfile.ZipInfo], data: Path) -> dict[str, int]:
    written: dict[str, int] = {}
    for info in members:
        dest = data.joinpath(*PurePosixPath(info.filename).parts)
        if dest.is_file() and dest.stat().st_size == info.file_size and _crc32(dest) == info.CRC:
            continue  # the same content is there already
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".restore-")
        try:
            with zf.open(info) as src, os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(tmp, dest)
        finally:
            Path(tmp).unlink(missing_ok=True)
        folder = PurePosixPath(info.filename).parts[0]
        written[folder] = written.get(folder, 0) + 1
    return written


def _crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            crc = zlib.crc32(chunk, crc)
    return crc


def _check_files(members: list[zipfile.ZipInfo], data: Path, manifest: dict[str, Any]) -> None:
    for folder, expected in (manifest.get("files") or {}).items():
        mine = [m for m in members if m.filename.startswith(f"{folder}/")]
        present = [
            m for m in mine if (data / m.filename).is_file() and (data / m.filename).stat().st_size == m.file_size
        ]
        if (len(mine), sum(m.file_size for m in mine)) != (expected.get("count"), expected.get("bytes")) or len(
            present
        ) != len(mine):
            raise RiverGridError(
                f"恢复后的 {folder} 文件与备份清单不一致：清单 {expected.get('count')} 个，"
                f"备份中 {len(mine)} 个，已恢复 {len(present)} 个",
                f"{folder}: manifest {expected}, members {len(mine)}, restored {len(present)}",
            )


def _target_rows(url: str, backend: str) -> dict[str, int]:
    """Row counts of every table of the target (empty when it has no tables or does not exist)."""
    if backend == "sqlite":
        path = _sqlite_path(url)
        if not path.exists():
            return {}
        db = sqlite3.connect(path, timeout=30)
        try:
            return _sqlite_facts(db)[1]
        finally:
            db.close()
    if backend != "postgresql":
        raise RiverGridError(f"不支持恢复到此类数据库：{backend}", f"unsupported backend {backend!r}")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return _pg_tables(conn, _pg_schema(conn))
    finally:
        engine.dispose()


def _sqlite_restore(dump: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(dump)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)  # replaces every page of the target, in one step
    finally:
        dst.close()
        src.close()


# --- rotation -------------------------------------------------------------------------------------


def rotate(keep: int, backup_dir: str | Path | None = None) -> list[Path]:
    """Remove all but the newest ``keep`` rotated backups (see the module notes); the removed files."""
    if keep < 1:
        raise ValidationError(f"保留的备份数应不少于 1（收到 {keep}）", f"keep {keep} < 1")
    conf = settings()
    folder = Path(backup_dir) if backup_dir is not None else (conf.backup_dir or conf.data_dir / "backups")
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        m = ROTATED_NAME.match(path.name)
        if m and path.is_file():
            found.append(((m.group(1), m.group(2), int(m.group(3) or 1)), path))
    found.sort()
    removed = [path for _, path in found[:-keep]]
    for path in removed:
        path.unlink(missing_ok=True)
        log.info("old backup removed: %s", path)
    return removed

"""Opening the store: engine, schema migrations (Alembic) and transactional sessions.

Concurrency. On PostgreSQL every session is a READ COMMITTED transaction; rows that writers must
not both change are guarded by optimistic locking (``version`` columns) or by atomic statements
(:mod:`gis.store.codes`). On SQLite the file is in WAL mode (readers never wait for the writer)
with a busy timeout, and a session that writes (one opened with an actor, or ``write=True``)
starts with ``BEGIN IMMEDIATE``: it takes the one write lock before it reads anything, so two
writers run one after the other and the second sees what the first committed. Without that, a
transaction that read first and wrote later fails at once with "database is locked" as soon as
another writer committed in between (SQLite cannot upgrade a stale read snapshot).

Whatever the store, a write that loses against another one reaches the caller as
:class:`~gis.errors.ConflictError` with a Chinese message, never as a raw database error.
"""

from __future__ import annotations

import ast
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError, PendingRollbackError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from gis.auth import Actor
from gis.config import settings
from gis.errors import ConflictError, RiverGridError
from gis.store import rules as _rules  # noqa: F401  (registers the flush checks)
from gis.store.audit import AuditedSession
from gis.store.backup import backup_before_upgrade
from gis.store.schema import Base

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long a SQLite writer waits for the write lock before giving up (seconds)."""

_BEGIN_OPTION = "rivergrid_sqlite_begin"

_BUSY_MARKERS = (
    "database is locked",
    "database table is locked",
    "database is busy",  # SQLite
    "could not serialize access",
    "deadlock detected",
    "lock timeout",
    "canceling statement due to lock",  # PostgreSQL
)


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: ``DATABASE_URL`` or the SQLite file under ``data/``)."""
    url = url or settings().database_url
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
    elif parsed.get_backend_name() == "postgresql":
        kwargs["pool_pre_ping"] = True
    else:
        raise RiverGridError(
            f"不支持的数据库类型：{parsed.get_backend_name()}（请使用 sqlite 或 postgresql）",
            f"unsupported database backend {parsed.get_backend_name()!r}",
        )
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # the driver starts no transaction: _sqlite_begin does
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_BEGIN_OPTION) else "BEGIN")

    return engine


MIGRATION_LOCK_KEY = 0x52475F4D4947  # "RG_MIG"
"""PostgreSQL advisory lock held by the transaction that migrates the schema (:func:`upgrade`)."""

BACKUP_ON_UPGRADE_ENV = "RIVERGRID_BACKUP_ON_UPGRADE"
"""``0`` turns off the backup that :func:`upgrade` writes before migrating a database with data
(the test suite sets it; its own test of the backup sets it back to ``1``). Default: on."""


def _backups_on_upgrade() -> bool:
    return (os.environ.get(BACKUP_ON_UPGRADE_ENV) or "1").strip().lower() not in {"0", "false", "no", "off"}


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic, keeping existing data.

    Before a database that already has tables is migrated (it is at an older revision), a backup
    of it and of the attachment files is written to ``settings().backup_dir``
    (:func:`gis.store.backup.backup_before_upgrade`); a failed backup stops the upgrade.
    ``RIVERGRID_BACKUP_ON_UPGRADE=0`` skips it. An empty database is not backed up.

    Several processes may start at once on a database that needs migrating (a new release
    started by the app and a timer's CLI run): the migration holds the one SQLite write lock
    (``BEGIN IMMEDIATE``) or, on PostgreSQL, the advisory lock :data:`MIGRATION_LOCK_KEY` for its
    whole transaction, and checks again inside it, so one process migrates and the others wait,
    then find nothing left to do.

    All pending revisions run in one transaction. Work a revision leaves for after its commit
    (``config.attributes["after_commit"]``: callables taking a connection, such as removing files
    no row refers to any more) runs once that transaction has committed, in a new one.
    """
    if revision == "head" and is_at_head(engine):
        return  # the usual start: nothing to do, no lock taken, and alembic not even loaded
    from alembic import command  # noqa: PLC0415 — alembic only when the schema is checked or upgraded
    from alembic.config import Config  # noqa: PLC0415 — alembic only when the schema is checked or upgraded

    if not pending_revisions(engine, revision)[1]:
        return  # nothing to do after all, and no lock taken
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    after_commit: list[Any] = []
    cfg.attributes["after_commit"] = after_commit
    with engine.connect().execution_options(**{_BEGIN_OPTION: True}) as conn:
        # SQLite alters a table by copying it and dropping the old one, which rows of other tables
        # that refer to it would stop: references are not enforced during the migration (the
        # setting only changes outside a transaction) and all of them are checked before commit.
        raw = conn.connection.driver_connection if engine.dialect.name == "sqlite" else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                if raw is None:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                current, pending = _pending_on(conn, revision)  # again, now that no other process migrates
                if not pending:
                    return
                if current and _backups_on_upgrade():
                    backup_before_upgrade(engine, current=current, target=pending[-1])
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                if raw is not None and (broken := conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()):
                    raise RiverGridError(
                        f"数据库升级后有 {len(broken)} 处引用对不上（如表 {broken[0][0]}），已撤销升级，数据保持原样",
                        f"foreign key check failed after migrating: {broken[:3]}",
                    )
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")
    if after_commit:
        with engine.begin() as conn:
            for work in after_commit:
                work(conn)


_REVISION_LINE = re.compile(r"^(revision|down_revision)\b[^=\n]*=\s*(.+?)\s*(?:#.*)?$", re.MULTILINE)


@cache
def script_heads() -> frozenset[str]:
    """The head revisions of the migration scripts, read from their ``revision = ...`` and
    ``down_revision = ...`` lines without loading alembic or the scripts (empty when a script
    cannot be read that way: then :func:`upgrade` asks alembic)."""
    revisions: set[str] = set()
    below: set[str] = set()
    try:
        for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
            found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
            revisions.add(str(ast.literal_eval(found["revision"])))
            down = ast.literal_eval(found.get("down_revision", "None"))
            below.update([down] if isinstance(down, str) else (down or ()))
    except (KeyError, ValueError, SyntaxError, OSError):
        return frozenset()
    return frozenset(revisions - below)


def is_at_head(engine: Engine) -> bool:
    """Whether the database is already at the scripts' head (:func:`script_heads`), read with one
    plain query of ``alembic_version``: the start of every command and page needs no alembic.
    False when unsure (no such table yet, unreadable scripts)."""
    heads = script_heads()
    if not heads:
        return False
    try:
        with engine.connect() as conn:
            current = frozenset(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except SQLAlchemyError:
        return False
    return current == heads


def pending_revisions(engine: Engine, revision: str = "head") -> tuple[tuple[str, ...], list[str]]:
    """The database's current Alembic revisions (empty for a database without our tables) and the
    revisions :func:`upgrade` to ``revision`` would apply, oldest first."""

    with engine.connect() as conn:
        return _pending_on(conn, revision)


def _pending_on(conn: Any, revision: str) -> tuple[tuple[str, ...], list[str]]:
    from alembic.config import Config  # noqa: PLC0415 — alembic only when the schema is checked or upgraded
    from alembic.migration import MigrationContext  # noqa: PLC0415 — alembic only when the schema is checked or upgraded
    from alembic.script import ScriptDirectory  # noqa: PLC0415 — alembic only when the schema is checked or upgraded

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(cfg)
    current = tuple(MigrationContext.configure(conn).get_current_heads())
    pending = [r.revision for r in script.iterate_revisions(revision, current or "base")]
    return current, list(reversed(pending))


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave PostGIS's own tables and the GiST indexes made by the migrations out of comparisons."""
    if type_ == "table" and reflected and name == "spatial_ref_sys":
        return False
    return not (type_ == "index" and reflected and compare_to is None and (name or "").endswith("_geom"))


def schema_differences(engine: Engine) -> list[Any]:
    """What differs between the database's schema and the models (empty when they agree)."""
    from alembic.autogenerate import compare_metadata  # noqa: PLC0415 — alembic only when the schema is checked or upgraded
    from alembic.migration import MigrationContext  # noqa: PLC0415 — alembic only when the schema is checked or upgraded

    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": _ours, "compare_type": True})
        return list(compare_metadata(ctx, Base.metadata))


def as_conflict(exc: BaseException) -> ConflictError | None:
    """The Chinese conflict message for a database error caused by a simultaneous write, or None."""
    if isinstance(exc, StaleDataError):
        return ConflictError("保存失败：该记录已被他人修改，请刷新后重新提交", f"stale data: {exc}")
    if isinstance(exc, IntegrityError):
        return ConflictError(
            "保存失败：与他人同时提交的内容冲突（编号、名称等已被占用或记录已变化），数据未保存，请刷新后重新提交",
            f"integrity error: {exc.orig}",
        )
    if isinstance(exc, PendingRollbackError):
        return ConflictError(
            "保存失败：与他人同时提交的内容冲突，数据未保存，请刷新后重新提交", f"transaction rolled back: {exc}"
        )
    if isinstance(exc, OperationalError) and any(m in str(exc.orig).lower() for m in _BUSY_MARKERS):
        return ConflictError("数据库正忙（他人正在保存），数据未保存，请稍后重试", f"database busy: {exc.orig}")
    return None


class Store:
    """The database: one engine and a factory of audited sessions.

    Parameters
    ----------
    url
        SQLAlchemy URL; ``None`` means the configured ``DATABASE_URL`` or the default SQLite file.
    migrate
        Run the Alembic migrations on opening (creates the schema on first run).
    """

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = url or settings().database_url
        self.engine = make_engine(self.url)
        self._sessions = sessionmaker(self.engine, class_=AuditedSession, expire_on_commit=False)
        if migrate:
            upgrade(self.engine)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self, actor: Actor | None = None, *, write: bool | None = None) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back entirely on any error.

        Writes need an ``actor`` whose role allows them; reads need none. ``write`` (default:
        whether an actor is given) makes a SQLite session take the write lock at its start (see
        the module notes); a session that writes without an actor (sign-in bookkeeping) says so.

        Raises
        ------
        ConflictError
            The transaction lost against a simultaneous one (a row changed since it was read, a
            number or name taken in between, the database busy for longer than the timeout).
        """
        session = self._sessions()
        session.info["actor"] = actor
        session.info["batch"] = uuid.uuid4().hex
        try:
            if self.backend == "sqlite" and (actor is not None if write is None else write):
                session.connection(execution_options={_BEGIN_OPTION: True})
            yield session
            session.commit()
        except BaseException as exc:
            session.rollback()
            conflict = as_conflict(exc)
            if conflict is not None:
                raise conflict from exc
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()

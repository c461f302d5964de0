"""Opening the store: engine, schema migrations (Alembic) and transactional sessions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm import Session, sessionmaker

from gis.auth import Actor
from gis.config import settings
from gis.errors import ConflictError, RiverGridError
from gis.store import rules as _rules  # noqa: F401  (registers the flush checks)
from gis.store.audit import AuditedSession

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: ``DATABASE_URL`` or the SQLite file under ``data/``)."""
    url = url or settings().database_url
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
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
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

    return engine


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to ``revision`` with Alembic, keeping existing data.

    ``heads``: features may add migrations on separate branches from a common parent.
    """
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave PostGIS's own tables and the GiST indexes made by the migrations out of comparisons."""
    if type_ == "table" and reflected and name == "spatial_ref_sys":
        return False
    return not (type_ == "index" and reflected and compare_to is None and (name or "").endswith("_geom"))


def schema_differences(engine: Engine) -> list[Any]:
    """What differs between the database's schema and the models (empty when they agree)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from gis.store.schema import Base

    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": _ours, "compare_type": True})
        return list(compare_metadata(ctx, Base.metadata))


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
    def session(self, actor: Actor | None = None) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back entirely on any error.

        Writes need an ``actor`` whose role allows them; reads need none.
        """
        session = self._sessions()
        session.info["actor"] = actor
        session.info["batch"] = uuid.uuid4().hex
        try:
            yield session
            session.commit()
        except StaleDataError as exc:
            session.rollback()
            raise ConflictError(
                "保存失败：该记录已被他人修改，请刷新后重新提交", f"stale data: {exc}"
            ) from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()

"""What a database is for: a production database (``gis init``) or a demo (``gis init-demo``).

The mode is recorded once in ``deployment_info`` (key ``mode``). The demo, with its published
accounts and password, is loaded only into an empty database on request (``gis init-demo``, or
``RIVERGRID_DEMO=1`` as ``scripts/run_app.sh`` sets it), never into a production one; a
production database starts with no account at all, and the first administrators are created
from the command line (:func:`first_steps_zh`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from gis.config import settings
from gis.errors import ValidationError
from gis.store import Store
from gis.store.schema import DeploymentInfo, Grid, User

PRODUCTION = "production"
DEMO = "demo"
MODE_LABELS = {PRODUCTION: "正式数据库", DEMO: "演示数据库"}


def mode(session: Session) -> str | None:
    """``production``, ``demo`` or None (a database not yet initialised)."""
    row = session.get(DeploymentInfo, "mode")
    return None if row is None else row.value


def recorded_or_guessed_mode(conn: Connection | Session) -> str | None:
    """The recorded mode; for a database without one (made before modes were recorded), the guess
    migration 0006 makes: users and the demo's ``admin`` with its illustrative grids → ``demo``,
    other users → ``production``; no users → None."""
    recorded = conn.execute(text("SELECT value FROM deployment_info WHERE key = 'mode'")).scalar()
    if recorded:
        return str(recorded)
    users = conn.execute(text("SELECT username FROM users")).scalars().all()
    if not users:
        return None
    illustrative = conn.execute(text("SELECT count(*) FROM grids WHERE illustrative")).scalar()
    return DEMO if "admin" in users and illustrative else PRODUCTION


def mark(session: Session, value: str) -> None:
    """Record the database's mode (once; the same mode again is a no-op)."""
    current = mode(session)
    if current == value:
        return
    if current is not None:
        raise ValidationError(
            f"该数据库已是{MODE_LABELS[current]}，不能改为{MODE_LABELS[value]}",
            f"database mode is {current}, not {value}",
        )
    session.execute(text("INSERT INTO deployment_info (key, value) VALUES ('mode', :v)"), {"v": value})


def is_empty(session: Session) -> bool:
    """No grid and no account yet."""
    return not (
        session.scalar(select(func.count()).select_from(Grid)) or session.scalar(select(func.count()).select_from(User))
    )


def open_reading(session: Session) -> bool:
    """Whether callers who are not signed in (no account, no API key) may read: as
    ``RIVERGRID_READ_LOGIN`` says, or, when it is not set, on a demo database only (a production
    database asks for sign-in). The public disclosure (公示) is always open."""
    required = settings().read_requires_login
    if required is None:
        return mode(session) == DEMO
    return not required


def has_accounts(session: Session) -> bool:
    """Whether any account can sign in."""
    return bool(session.scalar(select(func.count()).select_from(User).where(User.active.is_(True))))


def init_production(store: Store) -> dict[str, Any]:
    """Make ``store`` a production database: schema only (the store migrates on opening), mode
    recorded. Running it again on a production database changes nothing; a demo database is
    refused."""
    with store.session(write=True) as s:
        current = mode(s)
        if current == DEMO or (current is None and not is_empty(s)):
            raise ValidationError(
                "该数据库中已有演示数据或其他数据，不能作为正式数据库；请为正式系统新建一个空数据库（新的 DATABASE_UR"
                "L 或数据目录）"
                "",
                f"database is not empty (mode {current})",
            )
        mark(s, PRODUCTION)
        accounts = has_accounts(s)
    return {"mode": PRODUCTION, "created": current is None, "accounts": accounts}


FIRST_ADMIN_COMMANDS = (
    "python -m gis init",
    "python -m gis user add --username 用户名 --role security --password-stdin   # 安全管理员：管理账号",
    "python -m gis user add --username 用户名 --role admin --password-stdin      # 系统管理员：数据与设置",
    "python -m gis user add --username 用户名 --role auditor --password-stdin    # 审计员：查看审计记录",
)
"""How to create the first accounts of a production database (shown by the app and README)."""


def first_steps_zh() -> str:
    """Chinese instructions shown by the app while the database has no account."""
    commands = "\n".join(FIRST_ADMIN_COMMANDS)
    return (
        "本系统的数据库中还没有任何账号。请在服务器上、应用所在目录中运行以下命令建立管理员账号"
        "（密码从标准输入读取，至少 10 个字符；命令行建立的账号由本人设定密码，无需首次登录后修改）：\n\n"
        f"```\n{commands}\n```\n\n"
        "按“三员分立”，安全管理员管理账号，系统管理员管理数据和设置，审计员查看审计记录。"
        "其他账号由安全管理员在“用户管理”页面建立。\n\n"
        "如只想试用，可用演示数据启动：`bash scripts/run_app.sh`（演示账号仅供演示，切勿用于正式数据库）。"
    )

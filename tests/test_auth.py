"""Sign-in and role checks."""

from __future__ import annotations

import pytest

from gis.accounts.signin import authenticate
from gis.auth import PERMISSIONS, Actor, hash_password, require, verify_password
from gis.errors import AuthenticationError, PermissionDenied, ValidationError
from gis.model import UserRole
from gis.store import Store
from gis.store.schema import User

SECURITY = Actor("root", UserRole.SECURITY)  # accounts are the security administrator's


def test_passwords_are_stored_as_argon2_hashes() -> None:
    h = hash_password("河长网格-secret")
    assert h.startswith("$argon2id$") and "secret" not in h
    assert verify_password(h, "河长网格-secret")
    assert not verify_password(h, "河长网格-secreT")
    assert not verify_password("not a hash", "x")
    with pytest.raises(ValidationError, match="至少需要 10 个字符"):
        hash_password("short-pwd")


def test_sign_in_checks_the_users_table(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store(f"sqlite:///{tmp_path / 's.sqlite'}")
    with store.session(SECURITY) as s:
        s.add_all([
            User(username="hezh", display_name="何兆花", role="staff", password_hash=hash_password("dongxing-2026")),
            User(username="gone", role="staff", password_hash=hash_password("dongxing-2026"), active=False),
        ])
    with store.session() as s:
        actor = authenticate(s, " hezh ", "dongxing-2026")
        assert (actor.username, actor.role, actor.display_name) == ("hezh", UserRole.STAFF, "何兆花")
        for user, pw in [("hezh", "wrong-password"), ("nobody", "dongxing-2026"), ("gone", "dongxing-2026")]:
            with pytest.raises(AuthenticationError, match="用户名或密码错误"):
                authenticate(s, user, pw)


@pytest.mark.parametrize("role", list(UserRole))
def test_leaders_only_read_and_the_three_administrators_are_kept_apart(role: UserRole) -> None:
    actor = Actor("u", role)
    for permission in PERMISSIONS:
        if permission == "read":
            assert require(actor, permission) is actor
        elif role is UserRole.LEADER and permission == "audit.read":  # leaders may read the history
            assert require(actor, permission) is actor
        elif role in (UserRole.LEADER, UserRole.AUDITOR, UserRole.SECURITY) and not actor.can(permission):
            with pytest.raises(PermissionDenied, match="无权"):
                require(actor, permission)
    # 三员分立: accounts only for the security administrator, the security audit only for the
    # auditor, data and undo only for the system administrator (and staff for data)
    assert actor.can("user.manage") == (role is UserRole.SECURITY)
    assert actor.can("audit.security") == (role is UserRole.AUDITOR)
    assert actor.can("audit.undo") == (role is UserRole.ADMIN)
    assert actor.can("geodata.write") == (role in (UserRole.ADMIN, UserRole.STAFF))
    assert actor.can("incident.report") == (role not in (UserRole.LEADER, UserRole.SECURITY, UserRole.AUDITOR))
    with pytest.raises(PermissionDenied, match="请先登录"):
        require(None, "read")


def test_only_the_installer_holds_every_permission() -> None:
    from gis.auth import SYSTEM

    assert all(SYSTEM.can(p) for p in PERMISSIONS)
    assert not any(all(Actor("u", role).can(p) for p in PERMISSIONS) for role in UserRole)

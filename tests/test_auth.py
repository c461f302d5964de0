"""Sign-in and role checks."""

from __future__ import annotations

import pytest

from gis.auth import PERMISSIONS, Actor, authenticate, hash_password, require, verify_password
from gis.errors import AuthenticationError, PermissionDenied, ValidationError
from gis.model import UserRole
from gis.store import Store
from gis.store.schema import User

ADMIN = Actor("root", UserRole.ADMIN)


def test_passwords_are_stored_as_argon2_hashes() -> None:
    h = hash_password("河长网格-secret")
    assert h.startswith("$argon2id$") and "secret" not in h
    assert verify_password(h, "河长网格-secret")
    assert not verify_password(h, "河长网格-secreT")
    assert not verify_password("not a hash", "x")
    with pytest.raises(ValidationError, match="至少需要 8 个字符"):
        hash_password("short")


def test_sign_in_checks_the_users_table(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store(f"sqlite:///{tmp_path / 's.sqlite'}")
    with store.session(ADMIN) as s:
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
def test_leaders_only_read_and_admins_do_everything(role: UserRole) -> None:
    actor = Actor("u", role)
    for permission in PERMISSIONS:
        if role is UserRole.ADMIN or permission == "read":
            assert require(actor, permission) is actor
        elif role is UserRole.LEADER and permission.endswith(".read"):  # leaders may read the history
            assert require(actor, permission) is actor
        elif role is UserRole.LEADER:
            with pytest.raises(PermissionDenied, match="无权"):
                require(actor, permission)
    assert actor.can("user.manage") == (role is UserRole.ADMIN)
    assert actor.can("incident.report") == (role is not UserRole.LEADER)
    with pytest.raises(PermissionDenied, match="请先登录"):
        require(None, "read")

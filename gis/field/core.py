"""The field app's pure core: fixes to a track, client ids, query codes, proof-of-work challenges.

No session and no I/O here except :func:`server_secret`, which reads (or creates once) the key the
challenges are signed with.

Challenges (against scripted floods of public reports, with no external service)
    :func:`make_challenge` returns a token ``v1.<expires>.<bits>.<random>.<signature>``: the
    expiry (Unix seconds), the difficulty and 16 random hex digits, signed with HMAC-SHA256 under
    the server's secret (:func:`server_secret`). The client finds a decimal ``nonce`` such that
    ``sha256(token + ":" + nonce)`` starts with ``bits`` zero bits (:data:`DIFFICULTY_BITS`: about
    65,000 tries on average, a second or so of a phone's CPU); :func:`check_solution` verifies the
    signature, the expiry and the work. Each token is accepted once: the service stores its digest
    (:func:`token_digest`) with the report, under a unique constraint, so a replay is refused in
    every process of the server.

Query codes (查询码)
    8 characters from :data:`QUERY_ALPHABET` (no 0/O, 1/I: read off a phone and typed again),
    40 random bits from :mod:`secrets`: guessing one among thousands of cases takes about 2^28
    tries on average, against the per-address rate limit of the API.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gis.errors import LimitError, ValidationError
from gis.model import Category
from gis.patrol.tracks import Track

__all__ = [
    "parse_category",
    "parse_number",
    "CHALLENGE_TTL_S",
    "DIFFICULTY_BITS",
    "MIN_FIXES",
    "QUERY_ALPHABET",
    "QUERY_CODE_LENGTH",
    "SECRET_FILE",
    "Challenge",
    "check_client_id",
    "check_solution",
    "fixes_json",
    "leading_zero_bits",
    "make_challenge",
    "new_query_code",
    "normal_query_code",
    "server_secret",
    "solve",
    "token_digest",
    "track_from_fixes",
]

MIN_FIXES = 2
"""Fewest fixes a patrol may have (the cleaning and the patrol rules then judge it further)."""

CHALLENGE_TTL_S = 1800
"""How long a challenge token is valid, seconds (a resident may take a while to fill the form)."""

DIFFICULTY_BITS = 16
"""Leading zero bits the proof of work must reach: 2^16 ≈ 65,000 hashes on average."""

QUERY_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""32 characters without 0, O, 1 and I (5 bits each)."""

QUERY_CODE_LENGTH = 8

SECRET_FILE = "field-secret.key"
"""Name of the file (in ``RIVERGRID_DATA_DIR``, mode 0600) holding the challenges' signing key."""

_CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{7,63}")
_TOKEN = re.compile(r"v1\.(\d{1,12})\.(\d{1,2})\.([0-9a-f]{16})\.([0-9a-f]{64})")


def check_client_id(value: Any, what: str = "client_id") -> str:
    """A client id as sent (a UUID, say): 8–64 letters, digits, ``_ . : -``."""
    text = value.strip() if isinstance(value, str) else ""
    if not _CLIENT_ID.fullmatch(text):
        raise ValidationError(
            f"缺少或无效的{what}：应为 8–64 位字母、数字或 - _ . :（手机端生成的编号，例如 UUID）",
            f"{what} missing or malformed",
        )
    return text


# ---------------------------------------------------------------------------------------------
# Fixes
# ---------------------------------------------------------------------------------------------


def _fix(item: Any, k: int) -> tuple[float, float, float, float | None]:
    if not isinstance(item, Sequence) or isinstance(item, str) or len(item) not in (3, 4):
        raise ValidationError(
            f"第 {k + 1} 个定位点格式不正确：应为 [经度, 纬度, 时间（毫秒，UTC）, 精度（米）或 null]",
            f"fix {k} is not [lon, lat, t_ms, accuracy]",
        )
    values = list(item) + [None] * (4 - len(item))
    try:
        lon, lat, t_ms = (float(v) for v in values[:3])
        acc = None if values[3] is None else float(values[3])
    except (TypeError, ValueError):
        raise ValidationError(f"第 {k + 1} 个定位点含有非数字的值", f"fix {k} has a non-number") from None
    if not all(math.isfinite(v) for v in (lon, lat, t_ms)) or (acc is not None and not math.isfinite(acc)):
        raise ValidationError(f"第 {k + 1} 个定位点含有无效的数值", f"fix {k} is not finite")
    return lon, lat, t_ms, acc


def track_from_fixes(fixes: Any, *, name: str = "", max_points: int = 2_000_000) -> Track:
    """The :class:`~gis.patrol.tracks.Track` of the field app's fixes ``[[lon, lat, t_ms_utc,
    accuracy_m|null], …]`` (WGS84 decimal degrees, milliseconds since 1970 UTC, metres), in the
    order sent; the cleaning of :mod:`gis.patrol.tracks` drops what is unusable later.

    Raises
    ------
    ValidationError
        Not a list, fewer than :data:`MIN_FIXES` fixes, or a malformed fix.
    LimitError
        More than ``max_points`` fixes (``RIVERGRID_MAX_TRACK_POINTS``).
    """
    if not isinstance(fixes, list):
        raise ValidationError("缺少定位点（fixes 应为列表）", "fixes must be a list")
    if len(fixes) > max_points:
        raise LimitError(
            f"定位点过多：{len(fixes):,} 个，上限 {max_points:,} 个（RIVERGRID_MAX_TRACK_POINTS）",
            f"{len(fixes)} fixes, more than {max_points}",
        )
    if len(fixes) < MIN_FIXES:
        raise ValidationError(
            f"巡河记录只有 {len(fixes)} 个定位点，至少需要 {MIN_FIXES} 个，未保存", f"only {len(fixes)} fixes"
        )
    rows = [_fix(item, k) for k, item in enumerate(fixes)]
    lon = np.array([r[0] for r in rows], dtype=np.float64)
    lat = np.array([r[1] for r in rows], dtype=np.float64)
    times = np.array([int(round(r[2])) for r in rows], dtype="datetime64[ms]").astype("datetime64[ns]")
    return Track(lon=lon, lat=lat, times=times, name=name or None, source_name="手机巡河")


def fixes_json(fixes: list[Any]) -> bytes:
    """The fixes as sent, as UTF-8 JSON (kept with the track like an uploaded file)."""
    return json.dumps(fixes, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Query codes
# ---------------------------------------------------------------------------------------------


def new_query_code() -> str:
    """A fresh random query code (:data:`QUERY_CODE_LENGTH` characters of :data:`QUERY_ALPHABET`)."""
    return "".join(secrets.choice(QUERY_ALPHABET) for _ in range(QUERY_CODE_LENGTH))


def normal_query_code(text: str) -> str | None:
    """A typed query code in its stored form (upper case, spaces and dashes dropped), or None when
    it cannot be one (wrong length, a character outside :data:`QUERY_ALPHABET`)."""
    code = re.sub(r"[\s-]", "", text or "").upper()
    if len(code) != QUERY_CODE_LENGTH or any(c not in QUERY_ALPHABET for c in code):
        return None
    return code


# ---------------------------------------------------------------------------------------------
# Challenges
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Challenge:
    """A proof-of-work challenge: the signed ``token``, its ``difficulty_bits`` and expiry (Unix s)."""

    token: str
    difficulty_bits: int
    expires_at: int

    def to_dict(self) -> dict[str, Any]:
        return {"token": self.token, "difficulty_bits": self.difficulty_bits, "expires_at": self.expires_at}


def _sign(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode("ascii"), hashlib.sha256).hexdigest()


def make_challenge(
    secret: bytes, now_s: float, *, bits: int = DIFFICULTY_BITS, ttl_s: int = CHALLENGE_TTL_S
) -> Challenge:
    """A new challenge signed with ``secret``, valid ``ttl_s`` seconds from ``now_s`` (Unix)."""
    expires = int(now_s) + ttl_s
    payload = f"v1.{expires}.{bits}.{secrets.token_hex(8)}"
    return Challenge(f"{payload}.{_sign(secret, payload)}", bits, expires)


def leading_zero_bits(digest: bytes) -> int:
    """Number of leading zero bits of ``digest``."""
    n = 0
    for byte in digest:
        if byte == 0:
            n += 8
            continue
        return n + 8 - byte.bit_length()
    return n


def _work(token: str, nonce: str) -> bytes:
    return hashlib.sha256(f"{token}:{nonce}".encode("ascii")).digest()


def solve(token: str, bits: int) -> str:
    """A nonce for ``token`` (what the app computes; used by tests and scripts of the operator)."""
    n = 0
    while leading_zero_bits(_work(token, str(n))) < bits:
        n += 1
    return str(n)


def token_digest(token: str) -> str:
    """The SHA-256 (hex) a spent token is stored by."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


_BAD = "验证未通过，请刷新页面后重新提交"


def check_solution(secret: bytes, token: Any, nonce: Any, now_s: float) -> str:
    """Check a solved challenge (signature, expiry, work); return the token's digest.

    Raises :class:`ValidationError` (Chinese) for a missing, forged, expired or unsolved
    challenge. Whether the token was spent before is for the caller to check (the store)."""
    token = token.strip() if isinstance(token, str) else ""
    nonce = nonce.strip() if isinstance(nonce, str) else ""
    m = _TOKEN.fullmatch(token)
    if not token or not nonce:
        raise ValidationError(f"缺少防刷验证（token 和 nonce）：{_BAD}", "challenge missing")
    if m is None or not hmac.compare_digest(_sign(secret, token.rsplit(".", 1)[0]), m[4]):
        raise ValidationError(f"防刷验证无效：{_BAD}", "challenge forged or malformed")
    if int(m[1]) < now_s:
        raise ValidationError(f"防刷验证已过期：{_BAD}", "challenge expired")
    if not nonce.isdigit() or len(nonce) > 20 or leading_zero_bits(_work(token, nonce)) < int(m[2]):
        raise ValidationError(f"防刷验证的计算结果不正确：{_BAD}", "proof of work not done")
    return token_digest(token)


def server_secret(data_dir: Path) -> bytes:
    """The key challenges are signed with: ``<data_dir>/field-secret.key`` (:data:`SECRET_FILE`),
    32 random bytes written once with mode 0600 (atomically: several server processes may start at
    once; the first link wins and the others read it)."""
    path = Path(data_dir) / SECRET_FILE
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def parse_category(value: Any) -> Category:
    """The category a phone sent (code or Chinese name); a Chinese message when missing or unknown."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValidationError("请选择问题类别", "category required")
    try:
        return Category.from_any(text)
    except (ValueError, KeyError):
        raise ValidationError(f"未知的问题类别“{text}”", f"unknown category {text!r}") from None


def parse_number(value: Any, label: str) -> float:
    """``value`` as a number; a Chinese message naming ``label`` when it is not one."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{label}应为数字，收到“{value}”", f"{label} not a number") from None

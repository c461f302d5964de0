"""Senders of the channels (I/O, no Session): one e-mail over SMTP, one HTTP POST.

Each raises :class:`SendError` (its text goes into the delivery log) when the message was not
accepted; returning means the server accepted it. Every request carries the delivery's
idempotency key: as ``Message-ID`` of a mail, as the ``Idempotency-Key`` header of a POST.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
import uuid
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import quote

from gis.config import Settings

__all__ = ["SendError", "message_id", "post", "send_mail"]

TIMEOUT_S = 20.0


class SendError(Exception):
    """A message was not accepted (the text is kept in the delivery log)."""


def message_id(key: str) -> str:
    """The ``Message-ID`` of the mail of delivery ``key`` (the same on every resend)."""
    return f"<{key}@rivergrid>"


def send_mail(cfg: Settings, *, to: str, subject: str, text: str, key: str) -> None:
    """Send one plain-text mail through the configured SMTP server."""
    if not cfg.smtp_host:
        raise SendError("未配置邮件服务器（RIVERGRID_SMTP_HOST）")
    msg = EmailMessage()
    msg["From"] = cfg.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id(key)
    msg["Date"] = formatdate(localtime=False)
    msg["X-RiverGrid-Key"] = key
    msg.set_content(text)
    try:
        with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=TIMEOUT_S) as smtp:
            if cfg.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if cfg.smtp_user:
                smtp.login(cfg.smtp_user, cfg.smtp_password)
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(f"邮件发送失败：{type(exc).__name__}: {exc}") from exc


def _multipart(body: dict[str, Any], file: tuple[str, str, bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    name, mime, data = file
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="json"\r\n'
        "Content-Type: application/json; charset=utf-8\r\n\r\n".encode(),
        json.dumps(body, ensure_ascii=False).encode(),
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f"filename*=UTF-8''{quote(name)}\r\nContent-Type: {mime}\r\n\r\n".encode(),
        data,
        f"\r\n--{boundary}--\r\n".encode(),
    ]
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post(
    url: str,
    body: dict[str, Any],
    *,
    key: str,
    headers: dict[str, str] | None = None,
    file: tuple[str, str, bytes] | None = None,
) -> None:
    """POST ``body`` as JSON (or, with ``file`` = (name, mime, bytes), as multipart with parts
    ``json`` and ``file``) with header ``Idempotency-Key``. A 2xx answer is success, unless it is
    a group robot's JSON answer with a non-zero ``errcode`` (企业微信, 钉钉)."""
    if file is None:
        data, ctype = json.dumps(body, ensure_ascii=False).encode(), "application/json; charset=utf-8"
    else:
        data, ctype = _multipart(body, file)
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("Content-Type", ctype)
    request.add_header("Idempotency-Key", key)
    request.add_header("User-Agent", "RiverGrid-notify")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 — configured URLs
            answer = response.read(65536)
    except urllib.error.HTTPError as exc:
        raise SendError(f"HTTP {exc.code}：{exc.reason}") from exc
    except (OSError, ValueError) as exc:
        raise SendError(f"请求失败：{type(exc).__name__}: {exc}") from exc
    try:
        parsed = json.loads(answer) if answer else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        parsed = None
    if isinstance(parsed, dict) and parsed.get("errcode") not in (None, 0):
        raise SendError(f"机器人拒收：errcode {parsed.get('errcode')} {parsed.get('errmsg', '')}")

"""The pure core of the notifications: what an event is, who gets it over which channel, when
(quiet hours, retries), under which idempotency key, and in which message format.

Channels
    ``inapp`` (站内消息, for persons with an account), ``email`` (SMTP), ``sms`` (an HTTP SMS
    gateway), ``webhook`` (one POST per event to a group: generic JSON, 企业微信 or 钉钉 group
    robot) and ``http`` (an arbitrary POST enqueued by another service, such as a report sent
    upward). A person's ``notify_channels`` lists the channels they chose among ``inapp``,
    ``email`` and ``sms``; empty means every channel their record allows.

Recipients by event (the grid is the case's grid; posts current today)
    ============================ ===================================================================
    交办 / 退回重办 / 即将到期     the grid's 主要责任人 and 监管人员
    督办 / 超期                   the grid's 主要责任人, 监管人员 and 乡级监管责任人
    上报上级                      the new (upper) grid's 主要责任人 and 监管人员
    群众举报 (a public report)    the grid's 主要责任人, 监管人员 and 协管员
    超期升级（上级网格）           the 乡级监管责任人 of the case's grid and the 监管人员/乡级监管责任人 of
                                  the grid above; when there is none, the grid above's 主要责任人
    超期升级（领导小组办公室）      the members of the leading group's office (领导小组办公室)
    ============================ ===================================================================

A person with an account gets a message only when the account's data scope covers the case's
grid (:mod:`gis.store.scope`: a village account gets only its village); a person without an
account is reached through the channels their record has (e-mail, phone).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

from gis.errors import ValidationError
from gis.model import LOCAL_TZ

__all__ = [
    "CHANNELS",
    "CHANNEL_LABELS",
    "KIND_LABELS",
    "MAX_ATTEMPTS",
    "PERSON_CHANNELS",
    "STATE_LABELS",
    "EscalationRules",
    "Notice",
    "NotifyRules",
    "WebhookTarget",
    "backoff",
    "chosen_channels",
    "delivery_key",
    "load_rules",
    "parse_channels",
    "parse_quiet_hours",
    "quiet_until",
    "sms_request",
    "webhook_body",
    "webhook_format",
]

PERSON_CHANNELS = ("inapp", "email", "sms")
"""The channels a person may choose."""

CHANNELS = (*PERSON_CHANNELS, "webhook", "http")

CHANNEL_LABELS = {
    "inapp": "站内消息",
    "email": "电子邮件",
    "sms": "短信",
    "webhook": "群机器人/Webhook",
    "http": "HTTP 推送",
}

KIND_LABELS = {
    "assigned": "交办",
    "urged": "督办",
    "escalated": "上报上级",
    "returned": "退回重办",
    "due_soon": "即将到期",
    "overdue": "超期",
    "public_report": "群众举报",
    "escalation_upper": "超期升级（上级网格）",
    "escalation_office": "超期升级（领导小组办公室）",
    "report_due": "报送提醒",
    "report_overdue": "逾期未报送",
    "report_push": "报表推送上级平台",
    "http": "HTTP 推送",
}
"""Chinese names of the kinds of event."""

STATE_LABELS = {
    "pending": "待发送",
    "deferred": "免打扰顺延",
    "retry": "失败待重试",
    "sent": "已发送",
    "failed": "发送失败",
}
"""Chinese names of the delivery states."""

MAX_ATTEMPTS = 8
"""Attempts before a delivery is given up (``failed``; the administrators' page shows it)."""


@dataclass(frozen=True)
class Notice:
    """One event to tell: ``event_key`` is stable across passes (the same case step, the same
    deadline); ``title`` and ``text`` are the Chinese message."""

    event_key: str
    kind: str
    title: str
    text: str
    incident_id: int | None = None
    incident_code: str = ""
    grid_id: int | None = None
    link: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_key": self.event_key,
            "kind": self.kind,
            "kind_label": KIND_LABELS.get(self.kind, self.kind),
            "title": self.title,
            "text": self.text,
            "incident_id": self.incident_id,
            "incident_code": self.incident_code,
            "grid_id": self.grid_id,
            "link": self.link,
        }


def delivery_key(event_key: str, recipient: str, channel: str) -> str:
    """The idempotency key of (event, recipient, channel): the same in every pass and process."""
    return hashlib.sha256(f"{event_key}\n{recipient}\n{channel}".encode()).hexdigest()[:40]


def parse_channels(text: str) -> frozenset[str]:
    """The channels named in ``text`` (``inapp,email`` or ``站内消息、短信``); empty: none chosen."""
    names = {label: code for code, label in CHANNEL_LABELS.items()}
    out = set()
    for part in re.split(r"[,，、\s]+", text or ""):
        part = part.strip()
        if not part:
            continue
        code = names.get(part, part.lower())
        if code not in PERSON_CHANNELS:
            raise ValidationError(
                f"未知的接收渠道“{part}”（可选：inapp 站内消息、email 电子邮件、sms 短信）", f"unknown channel {part!r}"
            )
        out.add(code)
    return frozenset(out)


def chosen_channels(chosen: str, *, has_account: bool, email: str, phone: str, available: frozenset[str]) -> list[str]:
    """The channels one person is reached by: those chosen (all when none) that the record
    allows (an account, an e-mail, a phone) and that are configured (``available``)."""
    allowed = {"inapp": has_account, "email": bool(email.strip()), "sms": bool(phone.strip())}
    wanted = parse_channels(chosen) or frozenset(PERSON_CHANNELS)
    return [c for c in PERSON_CHANNELS if c in wanted and allowed[c] and c in available]


_QUIET = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–~至]\s*(\d{1,2}):(\d{2})\s*$")


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """``22:00-07:00`` → (22:00, 07:00); empty → None. Beijing time; may wrap past midnight."""
    if not (text or "").strip():
        return None
    m = _QUIET.match(text)
    if m is None or int(m[1]) > 23 or int(m[3]) > 23 or int(m[2]) > 59 or int(m[4]) > 59:
        raise ValidationError(f"免打扰时段格式无效：{text}（应如 22:00-07:00）", f"bad quiet hours {text!r}")
    start, end = time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4]))
    return None if start == end else (start, end)


def quiet_until(now: datetime, quiet_hours: str) -> datetime | None:
    """When the quiet hours around ``now`` end (UTC), or None when ``now`` is not in them."""
    span = parse_quiet_hours(quiet_hours)
    if span is None:
        return None
    start, end = span
    local = now.astimezone(LOCAL_TZ)
    t = local.time()
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=LOCAL_TZ).astimezone(UTC)


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: 1, 2, 4 … minutes, at most 6 hours."""
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 6 * 3600))


# --------------------------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------------------------


def webhook_format(url: str, fmt: str = "auto") -> str:
    """``json``, ``wecom`` or ``dingtalk``; ``auto`` tells the group robots by their host."""
    fmt = (fmt or "auto").strip().lower()
    if fmt in ("json", "wecom", "dingtalk"):
        return fmt
    if fmt != "auto":
        raise ValidationError(
            f"未知的 Webhook 格式“{fmt}”（可选：json、wecom 企业微信、dingtalk 钉钉、auto）", f"unknown format {fmt!r}"
        )
    host = urlparse(url).hostname or ""
    if host.endswith("qyapi.weixin.qq.com"):
        return "wecom"
    if host.endswith("dingtalk.com"):
        return "dingtalk"
    return "json"


def webhook_body(notice: Notice, fmt: str, key: str) -> dict[str, Any]:
    """The JSON body of a webhook POST: generic (with the key) or a group robot's markdown message."""
    more = f"\n\n[查看详情]({notice.link})" if notice.link else ""
    if fmt == "wecom":  # 企业微信群机器人: msgtype markdown, content ≤ 4096 bytes
        return {"msgtype": "markdown", "markdown": {"content": f"**{notice.title}**\n{notice.text}{more}"[:1500]}}
    if fmt == "dingtalk":  # 钉钉群机器人: msgtype markdown with a title
        return {
            "msgtype": "markdown",
            "markdown": {"title": notice.title, "text": f"#### {notice.title}\n\n{notice.text}{more}"},
        }
    return {"key": key, "source": "RiverGrid 河长网格", **notice.to_dict()}


def _fill(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for name, text in values.items():
            value = value.replace("{" + name + "}", text)
        return value
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    return value


def sms_request(
    url_template: str, body_template: str, *, phone: str, text: str, key: str
) -> tuple[str, dict[str, Any]]:
    """The URL and JSON body of one SMS through the gateway: ``{phone}``, ``{text}`` and ``{key}``
    are replaced (URL-quoted in the URL; as JSON strings in the body, so quotes stay valid)."""
    values = {"phone": phone, "text": text, "key": key}
    url = url_template
    for name, value in values.items():
        url = url.replace("{" + name + "}", quote(value, safe=""))
    try:
        template = (
            json.loads(body_template)
            if body_template.strip()
            else {"phone": "{phone}", "text": "{text}", "key": "{key}"}
        )
    except json.JSONDecodeError as exc:
        raise ValidationError(f"短信网关的请求体模板不是有效的 JSON：{exc}", f"bad RIVERGRID_SMS_BODY: {exc}") from None
    return url, _fill(template, values)


# --------------------------------------------------------------------------------------------
# Rules file
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EscalationRules:
    """Overdue by ``upper_after_days`` working days → the upper grid's supervisors; by
    ``office_after_days`` → the leading group's office."""

    upper_after_days: float = 3.0
    office_after_days: float = 10.0


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    format: str = "auto"


@dataclass(frozen=True)
class NotifyRules:
    """The notify file (``RIVERGRID_NOTIFY_FILE``, JSON), with the defaults in code::

    {"escalation": {"upper_grid_after_working_days": 3, "office_after_working_days": 10},
     "webhooks": {"3": {"url": "https://qyapi.weixin.qq.com/…", "format": "wecom"}},
     "due_soon": true}
    """

    escalation: EscalationRules = EscalationRules()
    webhooks: Mapping[int, WebhookTarget] = field(default_factory=dict)
    due_soon: bool = True


def _days(value: Any, what: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValidationError(f"{where}：{what} 应为大于 0 的工作日数，而不是 {value!r}", f"{what} must be > 0")
    return float(value)


def load_rules(path: Path | None) -> NotifyRules:
    """The rules of ``path`` (the defaults when it is None or does not exist)."""
    if path is None or not path.exists():
        return NotifyRules()
    where = f"通知规则文件 {path}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"{where} 无法读取：{exc}", f"unreadable notify file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{where} 应为 JSON 对象", "notify file must hold an object")
    esc = data.get("escalation") or {}
    default = EscalationRules()
    upper = _days(
        esc.get("upper_grid_after_working_days", default.upper_after_days), "upper_grid_after_working_days", where
    )
    office = _days(esc.get("office_after_working_days", default.office_after_days), "office_after_working_days", where)
    if office < upper:
        raise ValidationError(f"{where}：报领导小组办公室的天数不能少于报上级网格的天数", "office days < upper days")
    hooks: dict[int, WebhookTarget] = {}
    for grid, target in (data.get("webhooks") or {}).items():
        if not str(grid).isdigit():
            raise ValidationError(f"{where}：webhooks 的键应为网格编号，而不是 {grid!r}", f"bad grid id {grid!r}")
        url = target if isinstance(target, str) else (target or {}).get("url", "")
        fmt = "auto" if isinstance(target, str) else (target or {}).get("format", "auto")
        if not str(url).startswith(("http://", "https://")):
            raise ValidationError(f"{where}：网格 {grid} 的 Webhook 地址无效：{url!r}", f"bad webhook url {url!r}")
        webhook_format(str(url), str(fmt))
        hooks[int(grid)] = WebhookTarget(str(url), str(fmt))
    return NotifyRules(EscalationRules(upper, office), hooks, bool(data.get("due_soon", True)))

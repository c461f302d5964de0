"""消息投递 (system administrators): the notifications' delivery log — what was sent to whom over
which channel, what waits (quiet hours, retries) and what failed with its last error — and a
button that runs one notification pass now (the server also runs it on a schedule)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gis.errors import RiverGridError
from gis.notify.core import STATE_LABELS
from gis.notify.delivery import delivery_log
from gis.notify.runner import run_pass
from ui.state import get_store, require_permission, show_error

actor = require_permission("notify.log")
st.title("消息投递")
st.caption(
    "系统按事件交办、督办、上报上级、退回、即将到期、超期、群众举报、超期升级规则，以及信息报送的报送提醒、"
    "逾期未报送发送消息，并把报送的报表推送到上级平台；每条消息对每个接收对象、每个渠道只发送一次（幂等键），"
    "失败的按退避时间自动重试，免打扰时段内的消息顺延到时段结束后发送。"
)

FILTERS = {"失败和待重试": "problems", "全部": "", **{label: code for code, label in STATE_LABELS.items()}}
choice = st.selectbox("显示", list(FILTERS), key="deliveries_filter")

if st.button("立即运行一次", key="deliveries_run"):
    try:
        report = run_pass(get_store())
    except RiverGridError as exc:
        show_error(exc)
    else:
        if report["skipped"]:
            st.info(report["reason"])
        else:
            c = report["counts"]
            st.success(
                f"本次新增 {c['new']} 条，发送 {c['sent']} 条，顺延 {c['deferred']} 条，"
                f"待重试 {c['retry']} 条，失败 {c['failed']} 条"
            )

code = FILTERS[choice]
with get_store().session(actor, write=False) as s:
    rows = delivery_log(s, problems=code == "problems", state=code if code not in ("", "problems") else None)

if not rows and code == "problems":
    st.info("没有失败或待重试的投递。在“显示”中选择“全部”可查看已发送的记录。")
elif not rows:
    st.info(
        "没有符合条件的投递记录。通知任务由服务每隔几分钟自动运行（也可点“立即运行一次”），"
        "有需要通知的事件时才产生记录。"
    )
else:
    table = pd.DataFrame(
        [
            {
                "编号": r["id"],
                "状态": r["state_label"],
                "渠道": r["channel_label"],
                "类型": r["kind_label"],
                "接收对象": r["name"] or r["address"],
                "内容": r["title"],
                "尝试次数": r["attempts"],
                "下次尝试": r["next_attempt_at"] or "",
                "最近错误": r["last_error"],
                "发送时间": r["sent_at"] or "",
            }
            for r in rows
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")

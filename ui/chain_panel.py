"""The panel beside the map: what was clicked, its responsibility chain, an incident's history.

Every piece of stored text (names, titles, descriptions, notes…) goes through :func:`ui.text.md_text`
before reaching ``st.markdown``: HTML special characters become entities and Markdown
punctuation is backslash-escaped, so it shows as typed and never becomes markup.
``unsafe_allow_html`` is never used here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from gis import clock
from gis.grids.links import OUTSIDE_TEXT
from gis.incidents.attachments import AttachmentStore
from gis.incidents.card import local_time
from gis.model import IncidentStatus
from ui.state import data_version
from ui.text import md_text

KIND_TITLES = {
    "incident": "事件",
    "reach": "河段",
    "grid": "网格",
    "object": "重点监管对象",
    "track": "巡河轨迹",
    "gap": "覆盖盲区",
    "point": "地图位置",
}

STATUS_BADGE = {
    "reported": "red",
    "accepted": "orange",
    "assigned": "orange",
    "in_progress": "orange",
    "resolved": "orange",
    "review": "orange",
    "archived": "green",
    "rejected": "gray",
    "transferred": "gray",
}
"""Badge colour by incident status (as on the map: open red/orange, closed green/grey)."""


def show_phone(link: Any, *, signed_in: bool) -> str:
    """The phone of a chain link that this viewer may see: public ones always, the others only
    to signed-in users. ``""`` when there is none or it is hidden."""
    if not getattr(link, "phone", ""):
        return ""
    return link.phone if (link.phone_public or signed_in) else ""


def chain_lines(chain: Any, *, signed_in: bool) -> list[str]:
    """The chain as Markdown list items (escaped), one per person, bottom-up."""
    lines = []
    for n, link in enumerate(chain.chain, start=1):
        if link.person:
            who = md_text(link.person)
            if link.title:
                who += f"（{md_text(link.title)}）"
        else:
            who = "（空缺）"
        if getattr(link, "departed", False):
            who += " :orange[已离任]"
        where = md_text(f"{link.body}，{link.grid}" if getattr(link, "body", "") else link.grid)
        phone = show_phone(link, signed_in=signed_in)
        if phone:
            tail = f" · 电话 {md_text(phone)}"
        elif link.phone:
            tail = " · 电话登录后可见"
        else:
            tail = ""
        lines.append(f"{n}. **{md_text(link.role_label)}**：{who}  \n   :gray[{where}{tail}]")
    return lines


def render_location(chain: Any, *, tolerance_m: float = 50.0) -> None:
    """Grids at each level, the reach (searched within ``tolerance_m`` metres) and the
    blind-spot notice of a chain, or the notice that the point is outside the jurisdiction
    (不在本街道（县）网格范围内) with the nearest grid and its distance."""
    if chain.grids:
        path = " › ".join(f"{md_text(g.name)}" for g in chain.grids)
        st.markdown(f"**所在网格**：{path}")
    if chain.blind_spot:  # the details (nearest grid, distance) are among the chain's warnings
        st.error("**盲区**：该点在本街道（县）网格范围内，但没有村级网格覆盖", icon=":material/report:")
    elif getattr(chain, "outside", False):  # the nearest grid and its distance: among the warnings
        st.info(f"**{md_text(OUTSIDE_TEXT)}**", icon=":material/location_off:")
    if chain.reach is not None:
        r = chain.reach
        st.markdown(
            f"**河段**：{md_text(r.name)}（{md_text(r.river)}）  \n"
            f":gray[距离 {r.distance_m:,.0f} 米 · 桩号 {md_text(r.station)}]"
        )
    else:
        st.markdown(f"**河段**：附近 {tolerance_m:,.0f} 米内没有河段")


def render_chain(chain: Any, *, signed_in: bool) -> None:
    """The responsibility chain (bottom-up) and its warnings."""
    st.markdown("##### 责任链（自下而上）")
    if not chain.chain:
        st.info("该位置没有找到责任人。")
    else:
        st.markdown("\n".join(chain_lines(chain, signed_in=signed_in)))
        hidden = any(link.phone and not show_phone(link, signed_in=signed_in) for link in chain.chain)
        if hidden:
            st.caption("非公开的联系电话仅登录用户可见。")
    for warning in chain.warnings:
        st.warning(md_text(warning), icon=":material/warning:")


def render_incident(card: Any) -> None:
    """An incident's code, title, state badges and details (times in Asia/Shanghai)."""

    color = STATUS_BADGE.get(card.status_code, "gray")
    badges = f":{color}-badge[{md_text(card.status)}]"
    if card.overdue:
        badges += " :red-badge[已超期]"
    st.markdown(f"#### 事件 {md_text(card.code)}")
    st.markdown(f"**{md_text(card.title)}**  \n{badges}")
    rows = [
        ("类别", card.category),
        ("严重程度", card.severity),
        ("来源", card.source),
        ("上报", " · ".join(t for t in (local_time(card.reported_at), card.reporter) if t)),
        ("受理期限", card.accept_due_text),
        ("办结期限", card.close_due_text),
        ("办结时间", local_time(card.closed_at)),
        ("登记网格", card.grid),
        ("登记河段", card.reach),
        ("监管对象", card.object),
    ]
    st.markdown("  \n".join(f"**{name}**：{md_text(value)}" for name, value in rows if value))
    if card.description:
        st.markdown(f"**描述**：{md_text(card.description)}")


def render_history(card: Any, *, photos: bool = True) -> None:
    """An incident's handling history, oldest first (times in Asia/Shanghai), each step with
    the thumbnails of its photos (``photos``)."""
    with st.expander(f"办理过程（{len(card.history)} 条）", expanded=True):
        if not card.history:
            st.caption("暂无办理记录。")
        for step in card.history:
            st.markdown(history_line(step))
            if photos and getattr(step, "photos", ()):
                render_photos(step.photos)


def render_photos(refs: Sequence[Any], *, per_row: int = 4) -> None:
    """Thumbnails of :class:`gis.incidents.card.PhotoRef` photos with their names (escaped)."""

    files = AttachmentStore()
    for start in range(0, len(refs), per_row):
        cols = st.columns(per_row)
        for col, ref in zip(cols, refs[start : start + per_row]):
            thumb = files.thumbnail(ref.sha256, ref.mime)
            with col:
                if thumb is None:
                    st.caption(f"（照片文件缺失）{md_text(ref.name)}")
                    continue
                st.image(str(thumb), width="stretch")
                st.caption(f"{md_text(ref.name)} · {ref.size_bytes / 1024:,.0f} KB")


def history_line(step: Any) -> str:
    """One step of an incident's history as Markdown (escaped): time, action, by whom, and a
    grey second line with the state change and the note."""
    if step.from_label and step.from_label != step.to_label:
        change = f"{md_text(step.from_label)} → {md_text(step.to_label)}"
    elif step.to_label and step.to_label != step.action_label:
        change = md_text(step.to_label)
    else:
        change = ""
    by = f" · {md_text(step.by)}" if step.by else ""
    details = " · ".join(part for part in (f"状态：{change}" if change else "", md_text(step.note)) if part)
    return f"**{md_text(step.at_local)}**　{md_text(step.action_label)}{by}" + (
        f"  \n:gray[{details}]" if details else ""
    )


def render_heading(kind: str, lines: Sequence[str] | None, *, lat: float, lon: float) -> None:
    """Title of the panel for a feature other than an incident: its tooltip lines."""
    title = KIND_TITLES.get(kind, "地图位置")
    if lines:
        st.markdown(f"#### {md_text(title)}：{md_text(lines[0])}")
        rest = [line for line in lines[1:] if line]
        if rest:
            st.markdown(":gray[" + " · ".join(md_text(line) for line in rest) + "]")
    else:
        st.markdown(f"#### {md_text(title)}")
    st.caption(f"经度 {lon:.6f}，纬度 {lat:.6f}")


def render_selection(
    selection: Any,
    *,
    info: Mapping[str, Mapping[Any, Sequence[str]]],
    index: Any,
    card: Any = None,
    signed_in: bool,
    reach_tolerance_m: float = 50.0,
) -> None:
    """The panel for a :class:`ui.map_state.Selection`: heading (or the incident's card), where
    it is and the responsibility chain.

    Parameters
    ----------
    selection
        What was clicked.
    info
        Feature kind → id → tooltip lines (``HomeLayers.info``) for the heading.
    index
        The :class:`gis.grids.chain.ResponsibilityIndex` (None: no grid drawn yet).
    card
        The :class:`gis.incidents.card.IncidentCard` when an incident is selected.
    signed_in
        Whether private phones may be shown.
    reach_tolerance_m
        Search radius for the reach when a reach was clicked (grows with the zoom), in metres;
        other clicks use the default 50 m.
    """
    tolerance = reach_tolerance_m if selection.kind == "reach" else 50.0
    if selection.kind == "incident" and card is not None:
        render_incident(card)
        chain = index.lookup_incident(selection.ref_id, tolerance_m=tolerance) if index is not None else None
    else:
        render_heading(
            selection.kind, info.get(selection.kind, {}).get(selection.ref_id), lat=selection.lat, lon=selection.lon
        )
        chain = index.lookup(selection.lon, selection.lat, tolerance_m=tolerance) if index is not None else None
    if chain is None:
        st.warning("还没有绘制边界的网格，无法查询责任链。")
    else:
        render_location(chain, tolerance_m=tolerance)
        render_chain(chain, signed_in=signed_in)
    if selection.kind == "reach" and isinstance(selection.ref_id, int):
        render_reach_archive(selection.ref_id)
    if selection.kind == "incident" and card is not None:
        render_history(card)


def archive_lines(archive: Any) -> list[str]:
    """A reach's archive summary as Markdown lines (escaped): the reach's facts, its river's
    archive and this year's 一河一策 targets."""
    lines = [f"**{md_text(label)}**：{md_text(value)}" for label, value in archive.facts()]
    river = archive.river
    facts = [f"{md_text(label)} {md_text(value)}" for label, value in river.facts()]
    lines.append(f"**所属河流**：{md_text(river.name)}（{md_text(river.level_label)}）")
    if facts:
        lines.append(":gray[" + " · ".join(facts) + "]")
    if river.plan is not None and river.plan.targets:
        lines.append(f"**{river.plan.year} 年一河一策目标**：")
        lines += [f"- {md_text(t)}" for t in river.plan.targets]
    elif river.plan is None:
        lines.append(":gray[本年度一河一策尚未登记]")
    return lines


def render_reach_archive(reach_id: int) -> None:
    """一河一档 of the clicked reach and its river, with this year's plan targets."""
    from ui.disclosure import published_reach_archive  # noqa: PLC0415 — ui.disclosure loads the signboard's PDF and QR-code libraries (~0.7 s)

    archive = published_reach_archive(data_version(), clock.today(), reach_id)
    if archive is None:
        return
    with st.expander("一河一档", expanded=True):
        st.markdown("  \n".join(line for line in archive_lines(archive) if not line.startswith("- ")))
        items = [line for line in archive_lines(archive) if line.startswith("- ")]
        if items:
            st.markdown("\n".join(items))


def render_placeholder(open_incidents: int) -> None:
    st.markdown("#### 责任链")
    st.info(
        "点击地图上的**事件**、**河段**、**网格**或任意位置，这里显示该处从河长、村级网格到"
        "领导小组办公室的责任链；点击事件还会显示办理过程。",
        icon=":material/touch_app:",
    )
    if open_incidents:
        st.caption(f"当前在办事件 {open_incidents} 件，也可在下方直接选择。")


def incident_options(incidents: Any) -> Mapping[Any, str]:
    """Picker labels ``SJ-2026-003 森工河…`` by incident id, open incidents first (plain text:
    the select box shows it as text)."""

    def is_open(code: str) -> bool:
        try:
            return IncidentStatus(code).is_open
        except ValueError:
            return False

    rows = list(incidents[["id", "code", "title", "status"]].itertuples(index=False)) if len(incidents) else []
    rows.sort(key=lambda r: (not is_open(r.status), str(r.code)))
    return {r.id.item() if hasattr(r.id, "item") else r.id: f"{r.code} {r.title}" for r in rows}


__all__ = [
    "archive_lines",
    "chain_lines",
    "history_line",
    "incident_options",
    "render_chain",
    "render_heading",
    "render_history",
    "render_incident",
    "render_location",
    "render_photos",
    "render_placeholder",
    "render_reach_archive",
    "render_selection",
    "show_phone",
]

"""一河一档 — every river's archive (length, basin, source and mouth, water-function zone, target,
works) and its plan of the year (一河一策: targets, tasks). Wires widgets to :mod:`ui.river_archive`
(which calls :mod:`gis.disclosure.archives`)."""

from __future__ import annotations

import streamlit as st

from gis import clock
from ui.river_archive import river_archive_section
from ui.state import current_actor

st.title("一河一档")
st.caption("河流档案和年度一河一策；这些内容同时在责任公示页和河湖一张图的责任链面板公开。")
river_archive_section(current_actor(), this_year=clock.today().year)

"""What the public sees of an incident's free text and location (gis.incidents.public)."""

from __future__ import annotations

import math

import pyproj
import pytest

from gis.incidents.public import COARSEN_CELL_M, coarsen_point, public_point, public_text


@pytest.mark.parametrize(
    "text, hidden, kept",
    [
        ("请联系13900001111处理", "13900001111", "139****1111"),
        ("手机 139 0000 1111 打不通", "139 0000 1111", "1111"),
        ("举报人身份证220621198001011234", "220621198001011234", "220***********1234"),
        ("身份证末位X：22062119800101123X", "22062119800101123X", "123X"),
        ("座机0439-5221234", "0439-5221234", "1234"),
    ],
)
def test_phone_and_id_numbers_in_public_text_are_masked(text: str, hidden: str, kept: str) -> None:
    out = public_text(text)
    assert hidden not in out and kept in out and "*" in out


@pytest.mark.parametrize("text", ["桩号K3+120处漂浮物", "事件SJ-2026-001", "约12345678平方米", "2026年11月28日", "坐标126.97539,41.80600"])
def test_stationing_codes_dates_and_amounts_stay(text: str) -> None:
    assert public_text(text) == text


def test_coarsening_moves_every_point_of_a_cell_to_its_centre() -> None:
    gk = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4551", always_xy=True)  # CGCS2000 GK CM 126E
    back = pyproj.Transformer.from_crs("EPSG:4551", "EPSG:4326", always_xy=True)
    x0, y0 = 512_300.0, 4_628_400.0  # a cell corner near 东兴村
    centre = back.transform(x0 + 50, y0 + 50)
    for dx, dy in [(1, 1), (99, 1), (1, 99), (50, 50), (99.9, 99.9)]:
        lon, lat = back.transform(x0 + dx, y0 + dy)
        got = coarsen_point(lon, lat)
        assert math.isclose(got[0], centre[0], abs_tol=1e-9) and math.isclose(got[1], centre[1], abs_tol=1e-9)
        gx, gy = gk.transform(*got)
        assert math.hypot(gx - (x0 + dx), gy - (y0 + dy)) <= COARSEN_CELL_M / math.sqrt(2) + 1e-6
    assert public_point("ecology", 126.9, 41.8) == (126.9, 41.8)
    assert public_point("pollution_dispute", 126.9, 41.8) != (126.9, 41.8)

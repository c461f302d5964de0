"""Issue 15, item 3 on 盲区检查: every rule in Chinese on the page, in the CSV and in the Excel report
(`gis check --xlsx`), never its code; and the 微小缝隙 shown apart (item 9)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from gis.auth import SYSTEM
from gis.checks.findings import RULE_LABELS, VERTICAL_RULE_LABELS
from gis.checks.report import check_store
from gis.config import PROJECT_DIR
from gis.store import Store
from gis.store.schema import Grid, GridRoleAssignment

APP = str(PROJECT_DIR / "app.py")
DONGXING = "森工街道东兴村"
CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
"""What an internal code looks like (``no_main_responsible``, ``gap_in_parent``…)."""


def empty_dongxing_posts(store: Store) -> None:
    """东兴村 loses its 主要责任人, 乡级监管责任人 and 监管人员: three 纵向到底 rules fire."""
    with store.session(SYSTEM) as s:
        grid = s.scalars(select(Grid).where(Grid.name == DONGXING)).one()
        for a in s.scalars(select(GridRoleAssignment).where(GridRoleAssignment.grid_id == grid.id)):
            if a.role in ("main_responsible", "township_supervisor", "supervisor"):
                s.delete(a)


def page_texts(at: AppTest) -> list[str]:
    """Every text the page shows (titles, markdown, captions, messages, metrics, tables, widgets)."""
    parts = [e.value for e in (*at.title, *at.subheader, *at.markdown, *at.caption, *at.info, *at.warning,
                               *at.error, *at.success)]
    parts += [f"{m.label} {m.value} {m.help or ''}" for m in at.metric]
    parts += [d.value.to_string() for d in at.dataframe]
    parts += [e.label for e in at.expander] + [b.label for b in at.button]
    parts += [str(o) for sb in at.selectbox for o in sb.options]
    return [str(p) for p in parts]


def no_codes(texts: list[str]) -> None:
    found = sorted({m for t in texts for m in CODE.findall(t)})
    assert found == [], found


def test_the_page_names_every_rule_in_chinese_and_lists_the_sliver_apart(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=240).run()
    from ui.state import get_store

    empty_dongxing_posts(get_store())
    at = at.switch_page("pages/blind_spots.py").run()
    assert not at.exception
    texts = page_texts(at)
    shown = "\n".join(texts)
    for rule in ("no_main_responsible", "no_township_supervisor", "work_group_too_small"):
        assert f"纵向到底 · {VERTICAL_RULE_LABELS[rule]}" in shown
    assert "上级网格内的空白区" in shown and "同级网格重叠" in shown  # topology rules, in Chinese too
    no_codes(texts)
    metrics = {m.label: m.value for m in at.metric}
    # three about 东兴村's posts, one about the demo's object without a responsible person (沿江加油站)
    assert metrics["纵向到底问题"] == "4" and metrics["微小缝隙"] == "1 处"  # 1.2 mm at the start of the upper reach
    assert at.number_input[0].label == "微小缝隙标准（米）" and at.number_input[0].value == 0.5

    # the county level: the 9 mm sliver of the Yalu is listed apart, not as a blind spot
    at.selectbox[0].set_value("county").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["未覆盖（0 段）"] == "0 米" and metrics["微小缝隙"] == "1 处"
    (expander,) = [e for e in at.expander if e.label.startswith("微小缝隙")]
    assert expander.label == "微小缝隙（1 处，数据清理，不计为问题）"
    table = at.dataframe[0].value
    assert list(table["类别"]) == ["微小缝隙"] and list(table["河段"]) == ["鸭绿江临江市段（上游段）"]
    assert table["长度（米）"].iloc[0] == pytest.approx(0.009, abs=0.001)
    assert not any("鸭绿江临江市段（上游段）" in c.value for c in at.caption)  # not in the findings list
    no_codes(page_texts(at))


def test_csv_and_excel_reports_carry_labels_not_codes(demo_store: Store, tmp_path: Path) -> None:
    empty_dongxing_posts(demo_store)
    with demo_store.session() as s:
        report = check_store(s)
    assert {"no_main_responsible", "no_township_supervisor", "work_group_too_small"} <= set(report.findings()["rule"])
    csv = report.to_csv(tmp_path / "f.csv").read_text(encoding="utf-8-sig")
    assert "缺主要责任人" in csv and "监管人员不足" in csv
    assert CODE.findall(csv) == []
    out = subprocess.run([sys.executable, "-m", "gis", "check", "--database-url", demo_store.url, "--xlsx",
                          str(tmp_path / "r.xlsx")], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "RIVERGRID_DATA_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert CODE.findall(out.stdout) == []  # the command's own text too
    book = openpyxl.load_workbook(tmp_path / "r.xlsx")
    cells = [str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert "缺乡级监管责任人" in cells and "上级网格内的空白区" in cells
    assert sorted({m for c in cells for m in CODE.findall(c)}) == []
    assert not set(RULE_LABELS) & set(cells)

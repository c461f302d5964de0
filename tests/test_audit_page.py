"""修改记录 speaks Chinese: every column of every audited table has a Chinese name, and the page
shows those names in 涉及字段 (not ``status、closed_at`` or ``id、incident_id、action…``)."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select
from streamlit.testing.v1 import AppTest
from test_app import APP, sign_in

from gis.history import COLUMN_LABELS, TABLE_LABELS, field_label
from gis.store import Store
from gis.store.schema import AUDITED_TABLES, Base, Incident

LATIN = re.compile(r"[A-Za-z_]")


def test_every_column_of_every_audited_table_has_a_chinese_name() -> None:
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    missing = [
        f"{name}.{column.name}"
        for name in sorted(AUDITED_TABLES)
        for column in tables[name].columns
        if column.name not in COLUMN_LABELS.get(name, {})
    ]
    assert not missing, f"columns without a Chinese name in gis.history.COLUMN_LABELS: {missing}"
    assert set(AUDITED_TABLES) <= set(TABLE_LABELS)
    for table, labels in COLUMN_LABELS.items():
        for column, label in labels.items():
            assert label and not LATIN.search(label), (table, column, label)
    assert field_label("incidents", "closed_at") == "办结时间"
    assert field_label("incidents", "no_such_column") == "其他字段"  # never the code itself


def test_the_history_page_names_the_fields_in_chinese(app_env: Path) -> None:
    from gis.accounts.users import actor_for
    from gis.incidents.workflow import move

    at = AppTest.from_file(APP, default_timeout=120).run()
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}")
    with store.session() as s:
        staff = actor_for(s, "staff")
        code = s.scalar(select(Incident.code).where(Incident.status == "reported").order_by(Incident.id))
    with store.session(staff) as s:
        move(s, code, "accept", note="受理")  # changes the incident, adds an incident_events row
    store.dispose()

    at = sign_in(at.switch_page("pages/login.py").run(), "admin", "rivergrid-demo")
    at = at.switch_page("pages/audit.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    newest = table[table["username"] == "staff"].head(2)
    by_table = dict(zip(newest["table"], newest["fields"], strict=True))
    assert by_table["事件"].split("、")[0] == "状态"  # the incident: its status (and deadline) changed
    assert "编号、事件、办理操作、原状态、新状态" in by_table["事件流转"]  # the new step: all its columns
    for fields in table["fields"]:
        assert not LATIN.search(fields), fields  # no column code anywhere on the page
    assert "系统" in set(table["username"]) and "system" not in set(table["username"])

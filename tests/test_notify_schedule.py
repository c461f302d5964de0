"""The server runs the notification pass on its own schedule (``RIVERGRID_NOTIFY_INTERVAL_S``, started
from the app's lifespan): a real ``python -m ui.serve`` on a copy of the demo tells a webhook of the
overdue cases without anyone running ``gis notify run``, and its later passes send nothing twice."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gis.store import Store
from gis.store.schema import NotifyDelivery
from tests.api_server import start_server
from tests.conftest import copy_sqlite_file
from tests.test_notify import Sink

pytestmark = pytest.mark.serial  # a server of its own that works in the background for seconds


def test_the_server_tells_a_webhook_of_overdue_cases_by_itself(demo_template_sqlite: Path, tmp_path: Path) -> None:
    sink = Sink()
    copy_sqlite_file(demo_template_sqlite, tmp_path / "rivergrid.sqlite")
    url = f"sqlite:///{tmp_path / 'rivergrid.sqlite'}"
    server = start_server(url, tmp_path, {
        "RIVERGRID_NOTIFY_INTERVAL_S": "1",  # the first pass 1 s after the start, then every second
        "RIVERGRID_WEBHOOK_URL": sink.url + "/robot",
        "RIVERGRID_NOTIFY_FILE": str(tmp_path / "notify.json"),
    })
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any("超期" in t for t in sink.texts()):
            time.sleep(0.5)
        assert any("【超期】SJ-2026-009" in t for t in sink.texts()), server.log()
        store = Store(url, migrate=False)
        try:
            def webhook_rows(state: str | None = None) -> int:
                query = select(func.count()).select_from(NotifyDelivery).where(NotifyDelivery.channel == "webhook")
                with store.session() as s:
                    return s.scalar(query if state is None else query.where(NotifyDelivery.state == state)) or 0

            while time.monotonic() < deadline and webhook_rows("sent") < webhook_rows():
                time.sleep(0.5)  # the first pass still sending
            time.sleep(3)  # a few more passes
            texts = sink.texts()
            assert len(texts) == len(set(texts)) and len(sink.received) == len(sink.kept)  # nothing sent twice
            assert webhook_rows("sent") == webhook_rows() == len(sink.kept)
        finally:
            store.dispose()
    finally:
        server.stop()
        sink.close()

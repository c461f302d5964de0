"""``RIVERGRID_ACCESS_LOG``: the serving process writes one line per HTTP request (time, client,
method, path, status), never the query string (an API key may travel in it), on the real server."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from tests.api_server import start_server
from tests.conftest import copy_sqlite_file


def fetch(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_every_request_is_one_line_without_its_query(demo_template_sqlite: Path, tmp_path: Path) -> None:
    copy_sqlite_file(demo_template_sqlite, tmp_path / "rivergrid.sqlite")
    log = tmp_path / "logs" / "access.log"
    server = start_server(f"sqlite:///{tmp_path / 'rivergrid.sqlite'}", tmp_path, {"RIVERGRID_ACCESS_LOG": str(log)})
    try:
        before = log.read_text(encoding="utf-8").splitlines()  # the start-up's health checks
        assert fetch(f"{server.url}/api/open311/v2/services.json?api_key=SECRET-KEY-123") == 200
        assert fetch(f"{server.url}/api/open311/v2/requests/NO-SUCH-CASE.json") == 404
        assert fetch(f"{server.url}/m/?from=signboard") == 200
    finally:
        server.stop()
    text = log.read_text(encoding="utf-8")
    assert "SECRET-KEY-123" not in text and "signboard" not in text
    lines = [line.split("\t") for line in text.splitlines()[len(before):]]
    assert [(method, path, status) for _, _, method, path, status in lines] == [
        ("GET", "/api/open311/v2/services.json", "200"),
        ("GET", "/api/open311/v2/requests/NO-SUCH-CASE.json", "404"),
        ("GET", "/m/", "200"),
    ]
    assert {client for _, client, *_ in lines} == {"127.0.0.1"}

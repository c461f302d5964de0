"""One process serves the pages and the API; the API's guards (rate limits, body size, CORS) and
its keys (create once, list without the secret, revoke, disabled accounts) on a real server."""

from __future__ import annotations

import json

import pytest
import requests
from sqlalchemy import select

from gis.store import Store
from gis.store.schema import ApiKey, AuditEntry
from tests.api_server import start_server

V2 = "/open311/v2"
LIMITS = {"RIVERGRID_API_RATE_IP": "5", "RIVERGRID_API_RATE_KEY": "8", "RIVERGRID_MAX_FILE_MB": "1",
          "RIVERGRID_API_CORS": "http://county.example"}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory, demo_template_sqlite):
    from tests.conftest import copy_sqlite_file

    data_dir = tmp_path_factory.mktemp("guarded")
    copy_sqlite_file(demo_template_sqlite, data_dir / "rivergrid.sqlite")
    server = start_server(f"sqlite:///{data_dir / 'rivergrid.sqlite'}", data_dir, LIMITS)
    yield server
    server.stop()


def key_for(server, user: str, name: str) -> tuple[int, str]:
    proc = server.cli("token", "create", "--user", user, "--name", name, "--json")
    assert proc.returncode == 0, proc.stderr
    made = json.loads(proc.stdout)
    return made["id"], made["key"]


def test_one_server_serves_the_pages_and_the_api(guarded) -> None:
    page = requests.get(guarded.url + "/", timeout=30)
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert requests.get(guarded.url + "/_stcore/health", timeout=30).text == "ok"
    index = requests.get(guarded.api + "/", headers={"X-Real-IP": "10.0.0.1"}, timeout=30)
    assert index.status_code == 200
    hrefs = [link["href"] for link in index.json()["links"]]
    assert f"{guarded.api}/open311/v2/discovery.json" in hrefs and f"{guarded.api}/ogc/" in hrefs
    missing = requests.get(guarded.api + "/nothing-here", headers={"X-Real-IP": "10.0.0.1"}, timeout=30)
    assert missing.status_code == 404
    assert missing.json()["message"].startswith("没有这个接口地址") and missing.json()["reason"]


def test_requests_over_the_limit_get_429_with_retry_after_per_address_and_per_key(guarded) -> None:
    here = {"X-Real-IP": "10.0.0.2"}
    answers = [requests.get(f"{guarded.api}{V2}/services.json", headers=here, timeout=30) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    over = answers[-1]
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert "请求过于频繁" in over.json()["message"] and "5" in over.json()["message"]
    # another address still gets through; so does a key from the limited address (its own budget)
    assert requests.get(f"{guarded.api}{V2}/services.json", headers={"X-Real-IP": "10.0.0.3"},
                        timeout=30).status_code == 200
    _, key = key_for(guarded, "patroller", "限流测试")
    keyed = [requests.get(f"{guarded.api}{V2}/services.json", headers={**here, "X-API-Key": key}, timeout=30)
             for _ in range(8)]
    assert [a.status_code for a in keyed] == [200] * 8
    # a key sent in a form counts against the same key: the ninth request is refused
    form = requests.post(f"{guarded.api}{V2}/requests.json", headers=here,
                         data={"api_key": key, "service_code": "ecology"}, timeout=30)
    assert form.status_code == 429 and "该接口密钥" in form.json()["message"]


def test_a_body_over_the_upload_limit_is_refused_with_413(guarded) -> None:
    here = {"X-Real-IP": "10.0.0.4"}
    big = b"x" * (1024 * 1024 + 10)
    r = requests.post(f"{guarded.api}{V2}/requests.json", headers=here,
                      files=[("media", ("big.jpg", big, "image/jpeg"))], data={"api_key": "rg_x"}, timeout=60)
    assert r.status_code == 413 and "1 MB" in r.json()["message"]

    def chunks():  # no Content-Length: the body is counted as it streams
        yield b'--BOUNDARY\r\nContent-Disposition: form-data; name="media"; filename="a.jpg"\r\n\r\n'
        for _ in range(12):
            yield b"y" * (100 * 1024)

    r = requests.post(f"{guarded.api}{V2}/requests.json",
                      headers={**here, "Content-Type": "multipart/form-data; boundary=BOUNDARY"},
                      data=chunks(), timeout=60)
    assert r.status_code == 413 and r.json()["reason"].startswith("request body over")


def test_cors_answers_only_the_configured_origin(guarded) -> None:
    ok = requests.get(f"{guarded.api}{V2}/services.json",
                      headers={"Origin": "http://county.example", "X-Real-IP": "10.0.0.5"}, timeout=30)
    assert ok.headers.get("access-control-allow-origin") == "http://county.example"
    other = requests.get(f"{guarded.api}{V2}/services.json",
                         headers={"Origin": "http://elsewhere.example", "X-Real-IP": "10.0.0.5"}, timeout=30)
    assert "access-control-allow-origin" not in other.headers


def test_keys_are_shown_once_stored_hashed_and_stop_working_when_revoked(guarded) -> None:
    key_id, key = key_for(guarded, "staff", "县平台")
    listed = guarded.cli("token", "list", "--json")
    assert listed.returncode == 0 and key not in listed.stdout
    (row,) = [k for k in json.loads(listed.stdout) if k["id"] == key_id]
    assert row["user"] == "staff" and row["active"] and key.startswith(row["prefix"])
    again = guarded.cli("token", "create", "--user", "staff", "--name", "县平台")
    assert again.returncode != 0 and "已有名为“县平台”的有效密钥" in again.stderr + again.stdout

    store = Store(guarded.database_url, migrate=False)
    try:
        with store.session() as s:
            stored = s.get(ApiKey, key_id)
            assert stored.key_hash != key and key not in stored.key_hash
            logged = s.scalars(select(AuditEntry).where(AuditEntry.table_name == "api_keys")).all()
        assert logged and all(key not in json.dumps([e.before, e.after], ensure_ascii=False) for e in logged)
        assert all(stored.key_hash not in json.dumps([e.before, e.after]) for e in logged)
    finally:
        store.dispose()

    here = {"X-Real-IP": "10.0.0.6"}
    url = f"{guarded.api}{V2}/requests.json"
    assert requests.get(url, headers={**here, "X-API-Key": key}, timeout=30).status_code == 200
    assert guarded.cli("token", "revoke", str(key_id)).returncode == 0
    refused = requests.get(url, headers={**here, "Authorization": f"Bearer {key}"}, timeout=30)
    assert refused.status_code == 401 and "已吊销" in refused.json()["message"]

    _, vkey = key_for(guarded, "volunteer", "志愿者手机")
    assert requests.get(url, headers={**here, "X-API-Key": vkey}, timeout=30).status_code == 200
    assert guarded.cli("user", "disable", "volunteer").returncode == 0
    assert requests.get(url, headers={**here, "X-API-Key": vkey}, timeout=30).status_code == 401


def test_the_server_socket_sends_small_responses_at_once() -> None:
    """Streamlit binds its socket without TCP_NODELAY: each response after the first on a kept-alive
    connection waited ~40 ms for the client's delayed ACK. ui.serve sets the option; accepted
    connections carry it."""
    import socket

    from streamlit.web.server.starlette import starlette_server

    from ui.serve import prepare_process

    prepare_process()
    listener = starlette_server._bind_socket("127.0.0.1", 0, 8)
    try:
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        listener.setblocking(True)
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        try:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        finally:
            accepted.close()
            client.close()
    finally:
        listener.close()

"""The phone app's files (``field/``) as the server hands them out at ``/m/`` (``ui/field_app.py``):
pages, content types, the service worker's headers and version, no way out of the folder; and the
files themselves: every file the app shell names exists and is served, no URL to another host,
licences beside the vendored libraries, icons of the sizes the manifest says.

The server does not touch the database for these files: it runs on SQLite only.
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIELD = REPO / "field"
STATIC = REPO / "static"

SQLITE_ONLY = pytest.mark.parametrize("api_server", ["sqlite"], indirect=True)

EXPECTED_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
}


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": "rivergrid-test"})
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def field_files() -> list[Path]:
    return sorted(p for p in FIELD.rglob("*") if p.is_file())


# --- what the app shell names (read from the files, independently of ui/field_app.py) ---------

class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.refs.append(value)


def _resolve(base: str, ref: str) -> str:
    """URL path of ``ref`` as the browser resolves it on page path ``base``."""
    from urllib.parse import urljoin

    return urljoin("http://host" + base, ref).removeprefix("http://host").split("?")[0]


def shell_paths() -> set[str]:
    """Every URL path the page, its modules, the worker list of sw.js and the manifest name."""
    paths: set[str] = set()
    parser = _Refs()
    parser.feed((FIELD / "index.html").read_text(encoding="utf-8"))
    for page in ("/m/", "/m/report", "/m/case"):  # the same page at three addresses
        paths.update(_resolve(page, ref) for ref in parser.refs)
    for module in FIELD.glob("*.js"):
        text = module.read_text(encoding="utf-8")
        for ref in re.findall(r'^\s*(?:import|export)[^;]*?from\s+"([^"]+)"', text, flags=re.M | re.S):
            paths.add(_resolve(f"/m/{module.name}", ref))
    sw = (FIELD / "sw.js").read_text(encoding="utf-8")
    shell = re.search(r"const SHELL = \[(.*?)\];", sw, flags=re.S)
    assert shell is not None, "sw.js has no SHELL list"
    paths.update(_resolve("/m/sw.js", ref) for ref in re.findall(r'"([^"]+)"', shell.group(1)))
    manifest = json.loads((FIELD / "manifest.webmanifest").read_text(encoding="utf-8"))
    paths.update(_resolve("/m/manifest.webmanifest", icon["src"]) for icon in manifest["icons"])
    return paths


def local_file(path: str) -> Path | None:
    """The file of the checkout that serves URL path ``path`` (None: a page, not a file)."""
    if path in ("/m/", "/m/report", "/m/case"):
        return None
    if path.startswith("/m/"):
        return FIELD / path.removeprefix("/m/")
    if path.startswith("/app/static/"):
        return STATIC / path.removeprefix("/app/static/")
    raise AssertionError(f"the app shell names {path}, outside /m/ and /app/static/")


def test_every_file_the_shell_names_exists() -> None:
    paths = shell_paths()
    # the oracle read something: the page, the modules, Leaflet, idb-keyval, the worker, the icons
    for expected in ("/m/app.js", "/m/store.js", "/m/app.css",
                     "/app/static/vendor/leaflet/leaflet.js", "/app/static/vendor/idb-keyval/idb-keyval.js",
                     "/m/pow-worker.js", "/m/icons/icon-512.png"):
        assert expected in paths, f"{expected} not found among {sorted(paths)}"
    missing = [p for p in sorted(paths) if (f := local_file(p)) is not None and not f.is_file()]
    assert missing == []


def test_every_module_and_worker_is_in_the_offline_shell() -> None:
    sw = (FIELD / "sw.js").read_text(encoding="utf-8")
    shell = set(re.findall(r'"([^"]+)"', re.search(r"const SHELL = \[(.*?)\];", sw, flags=re.S).group(1)))
    scripts = {p.name for p in FIELD.glob("*.js")} - {"sw.js"}
    assert scripts - shell == set(), "a module missing from the service worker's shell would not load offline"
    assert {"./", "app.css", "manifest.webmanifest"} <= shell


def test_no_url_to_another_host_in_any_shipped_file() -> None:
    url = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.I)
    shipped = [p for p in field_files() if p.suffix in (".html", ".js", ".css", ".webmanifest")]
    shipped.append(STATIC / "vendor" / "idb-keyval" / "idb-keyval.js")
    assert len(shipped) >= 8
    found = {str(p.relative_to(REPO)): url.findall(p.read_text(encoding="utf-8")) for p in shipped}
    assert {k: v for k, v in found.items() if v} == {}


def test_vendored_libraries_have_their_licences_and_versions() -> None:
    lock = json.loads((REPO / "package-lock.json").read_text(encoding="utf-8"))
    version = lock["packages"]["node_modules/idb-keyval"]["version"]
    assert f"idb-keyval@{version}" in (STATIC / "vendor" / "VERSIONS.txt").read_text(encoding="utf-8").split()
    assert "Apache License" in (STATIC / "vendor" / "idb-keyval" / "LICENCE").read_text(encoding="utf-8")
    used = {p.split("/")[4] for p in shell_paths() if p.startswith("/app/static/vendor/")}
    assert used >= {"leaflet", "protomaps-leaflet", "idb-keyval"}
    for name in used:
        folder = STATIC / "vendor" / name
        assert [f for f in folder.iterdir() if f.name.upper().startswith(("LICENSE", "LICENCE"))], name


def test_icons_have_the_sizes_the_manifest_says() -> None:
    from PIL import Image

    manifest = json.loads((FIELD / "manifest.webmanifest").read_text(encoding="utf-8"))
    sizes = set()
    for icon in manifest["icons"]:
        with Image.open(FIELD / icon["src"]) as image:
            assert f"{image.width}x{image.height}" == icon["sizes"]
            sizes.add(image.width)
    assert sizes >= {192, 512}


def test_the_service_worker_version_changes_with_any_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ui import field_app

    copy = tmp_path / "field"
    shutil.copytree(FIELD, copy)
    monkeypatch.setattr(field_app, "FIELD_DIR", copy)
    monkeypatch.setattr(field_app, "REPO", tmp_path)
    monkeypatch.setattr(field_app, "SHARED_FILES", ())
    compute = field_app.shell_version.__wrapped__
    before = compute()
    assert compute() == before
    (copy / "app.css").write_text((copy / "app.css").read_text(encoding="utf-8") + "\n/* changed */\n", encoding="utf-8")
    assert compute() != before


# --- as served ---------------------------------------------------------------------------------

@SQLITE_ONLY
def test_the_pages_are_the_app_page(api_server) -> None:  # type: ignore[no-untyped-def]
    index = (FIELD / "index.html").read_bytes()
    for path in ("/m/", "/m/report?grid=1", "/m/report?reach=2", "/m/case?code=ABCD2345", "/m/case"):
        status, headers, body = fetch(api_server.url + path)
        assert status == 200, path
        assert headers["content-type"].startswith("text/html"), path
        assert body == index, path
    status, headers, _ = fetch(api_server.url + "/m?x=1")
    assert status in (301, 307, 308) and headers["location"].endswith("/m/?x=1")


@SQLITE_ONLY
def test_every_file_is_served_with_its_content_type(api_server) -> None:  # type: ignore[no-untyped-def]
    files = field_files()
    assert {p.suffix for p in files} >= set(EXPECTED_TYPES)
    for path in files:
        rel = path.relative_to(FIELD).as_posix()
        status, headers, body = fetch(f"{api_server.url}/m/{rel}")
        assert status == 200, rel
        assert headers["content-type"].split(";")[0] == EXPECTED_TYPES[path.suffix], rel
        assert headers["cache-control"] == "no-cache", rel
        if rel != "sw.js":
            assert body == path.read_bytes(), rel


@SQLITE_ONLY
def test_every_file_of_the_shell_is_served(api_server) -> None:  # type: ignore[no-untyped-def]
    # the vendored files come from Streamlit's static serving (/app/static), which must be on
    for path in sorted(shell_paths()):
        status, headers, body = fetch(api_server.url + path)
        assert status == 200, path
        f = local_file(path)
        if f is not None and f.name != "sw.js":
            assert body == f.read_bytes(), path
        if path.endswith(".js"):
            assert "javascript" in headers["content-type"], path  # module scripts need it


@SQLITE_ONLY
def test_service_worker_headers_and_version(api_server) -> None:  # type: ignore[no-untyped-def]
    status, headers, body = fetch(api_server.url + "/m/sw.js")
    assert status == 200
    assert headers["service-worker-allowed"] == "/m/"
    assert headers["cache-control"] == "no-cache"
    assert headers["content-type"].startswith("text/javascript")
    text = body.decode("utf-8")
    assert "__SHELL_VERSION__" not in text
    assert re.search(r'const SHELL_VERSION = "[0-9a-f]{16}";', text)
    source = (FIELD / "sw.js").read_text(encoding="utf-8")
    assert re.sub(r'const SHELL_VERSION = "[0-9a-f]{16}";', 'const SHELL_VERSION = "__SHELL_VERSION__";', text) == source


@SQLITE_ONLY
@pytest.mark.parametrize("path", [
    "/m/../asgi.py", "/m/%2e%2e/asgi.py", "/m/..%2fasgi.py", "/m/nothing.js", "/m/icons", "/m/report/",
    "/m/%2e%2e/static/vendor/VERSIONS.txt", "/m/icons/../../README.md",
])
def test_nothing_outside_the_app_folder(api_server, path: str) -> None:  # type: ignore[no-untyped-def]
    status, _, body = fetch(api_server.url + path)
    # 404 from the app's routes, or 400 from Streamlit's guard against ".." before them
    assert status in (400, 404), (path, body[:200])
    assert b"RiverGrid" not in body and b"idb-keyval" not in body

"""Serve every browser asset of the map from this server, never from a CDN.

folium, its plugins and streamlit-folium name their JavaScript and CSS by CDN URL
(``default_js`` / ``default_css`` of each element). On a government intranet those hosts are
unreachable and the map stays blank. :func:`localize` rewrites those URLs, in place, to the
copies that ``scripts/vendor_assets.sh`` puts in ``static/vendor/`` and Streamlit serves at
``/app/static/vendor/...`` (``[server] enableStaticServing = true`` in ``.streamlit/config.toml``).

An element that asks for a URL missing from :data:`CDN_TO_VENDOR` makes :func:`localize` raise
:class:`OfflineAssetError`, so a new plugin cannot silently break offline use: vendor its files
(package.json + scripts/vendor_assets.sh) and map its URLs here.

Basemap tiles are not assets: tile layers keep their URLs (the intranet may host a tile proxy).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

import branca.colormap
import folium
import folium.elements
import folium.plugins
from branca.element import CssLink, Element, Figure, JavascriptLink

from gis.errors import RiverGridError

VENDOR_DIR = Path(__file__).resolve().parent.parent / "static" / "vendor"
"""Folder of the vendored files (``static/vendor`` at the top of the checkout)."""

VENDOR_URL = "/app/static/vendor"
"""URL path at which Streamlit serves :data:`VENDOR_DIR` (static serving of ``static/``)."""

_JSDELIVR = "https://cdn.jsdelivr.net"
_CDNJS = "https://cdnjs.cloudflare.com/ajax/libs"

CDN_TO_VENDOR: Mapping[str, str] = MappingProxyType(
    {
        # folium.Map (every map)
        f"{_JSDELIVR}/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet/leaflet.js",
        f"{_JSDELIVR}/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet/leaflet.css",
        "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
        f"{_CDNJS}/jquery/3.7.1/jquery.min.js": "jquery/jquery.min.js",
        f"{_JSDELIVR}/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js": ("bootstrap/js/bootstrap.bundle.min.js"),
        f"{_JSDELIVR}/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css": ("bootstrap/css/bootstrap.min.css"),
        "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css": (
            "bootstrap3-glyphicons/css/bootstrap-glyphicons.css"
        ),
        f"{_JSDELIVR}/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css": ("fontawesome-free/css/all.min.css"),
        f"{_CDNJS}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js": (
            "leaflet.awesome-markers/leaflet.awesome-markers.js"
        ),
        f"{_CDNJS}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css": (
            "leaflet.awesome-markers/leaflet.awesome-markers.css"
        ),
        f"{_JSDELIVR}/gh/python-visualization/folium/folium/templates/"
        "leaflet.awesome.rotate.min.css": "folium/leaflet.awesome.rotate.css",
        # folium.plugins.Fullscreen
        f"{_JSDELIVR}/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js": (
            "leaflet.fullscreen/Control.FullScreen.js"
        ),
        f"{_JSDELIVR}/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css": (
            "leaflet.fullscreen/Control.FullScreen.css"
        ),
        # folium.plugins.MeasureControl
        f"{_JSDELIVR}/gh/ljagis/leaflet-measure@2.1.7/dist/leaflet-measure.min.js": (
            "leaflet-measure/leaflet-measure.min.js"
        ),
        f"{_JSDELIVR}/gh/ljagis/leaflet-measure@2.1.7/dist/leaflet-measure.min.css": (
            "leaflet-measure/leaflet-measure.css"
        ),
        # folium.plugins.MarkerCluster
        f"{_CDNJS}/leaflet.markercluster/1.1.0/leaflet.markercluster.js": (
            "leaflet.markercluster/leaflet.markercluster.js"
        ),
        f"{_CDNJS}/leaflet.markercluster/1.1.0/MarkerCluster.css": ("leaflet.markercluster/MarkerCluster.css"),
        f"{_CDNJS}/leaflet.markercluster/1.1.0/MarkerCluster.Default.css": (
            "leaflet.markercluster/MarkerCluster.Default.css"
        ),
        # folium.plugins.Draw
        f"{_CDNJS}/leaflet.draw/1.0.2/leaflet.draw.js": "leaflet-draw/leaflet.draw.js",
        f"{_CDNJS}/leaflet.draw/1.0.2/leaflet.draw.css": "leaflet-draw/leaflet.draw.css",
    }
)
"""CDN URL used by folium 0.20 / its plugins → path of the local copy inside :data:`VENDOR_DIR`."""

E = TypeVar("E", bound=Element)

_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


class OfflineAssetError(RiverGridError):
    """A map element needs a browser asset that is not vendored for offline use."""


def is_external(url: str) -> bool:
    """True for ``http(s)://…`` and protocol-relative ``//…`` URLs (fetched from another host)."""
    return bool(_EXTERNAL.match(url.strip()))


def local_url(url: str, *, base_url: str = VENDOR_URL) -> str:
    """The local URL for ``url``: a CDN URL is mapped, an already local URL is kept.

    Raises
    ------
    OfflineAssetError
        ``url`` is external and not in :data:`CDN_TO_VENDOR`.
    """
    if not is_external(url):
        return url
    try:
        relative = CDN_TO_VENDOR[url]
    except KeyError:
        raise OfflineAssetError(
            f"地图组件需要从外网加载资源，内网环境下无法显示：{url}",
            f"{url} is not vendored: add its npm package to package.json and "
            "scripts/vendor_assets.sh, and the URL to layers.assets.CDN_TO_VENDOR",
        ) from None
    return f"{base_url.rstrip('/')}/{relative}"


def vendor_file(url: str, *, base_url: str = VENDOR_URL) -> Path:
    """The file under :data:`VENDOR_DIR` that a local asset URL points to."""
    prefix = base_url.rstrip("/") + "/"
    if not url.startswith(prefix):
        raise ValueError(f"{url!r} is not under {prefix!r}")
    return VENDOR_DIR / url[len(prefix) :].split("?")[0].split("#")[0]


def iter_elements(element: Element) -> Iterator[Element]:
    """Yield ``element`` and every descendant, the way streamlit-folium walks a map.

    Dual maps contribute both of their maps.
    """
    yield element
    if isinstance(element, folium.plugins.DualMap):
        yield from iter_elements(element.m1)
        yield from iter_elements(element.m2)
    for child in list(getattr(element, "_children", {}).values()):
        yield from iter_elements(child)


def collect_links(element: Element) -> tuple[list[str], list[str]]:
    """The ``(css_links, js_links)`` that ``streamlit_folium.st_folium`` sends to its iframe.

    Mirrors streamlit-folium 0.27's collection (including the d3 URLs it inserts for a branca
    colormap), so tests can check what the component would load.
    """
    css: list[str] = []
    js: list[str] = []
    for elem in iter_elements(element):
        if isinstance(elem, branca.colormap.ColorMap):
            js.insert(0, "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js")
            js.insert(0, "https://d3js.org/d3.v4.min.js")
        css.extend(href for _, href in getattr(elem, "default_css", []))
        js.extend(src for _, src in getattr(elem, "default_js", []))
    return list(dict.fromkeys(css)), list(dict.fromkeys(js))


def localize(element: E, *, base_url: str = VENDOR_URL) -> E:
    """Point every JS/CSS asset of ``element`` and its descendants at the vendored copies.

    Works on a whole ``folium.Map`` (its own Leaflet/jQuery/Bootstrap/awesome-markers links
    included) or on a ``FeatureGroup`` that is passed to ``st_folium(feature_group_to_add=...)``.
    Each element gets its own ``default_js``/``default_css`` lists, so folium's class-level
    lists stay untouched. Links already added to the figure header (by an earlier render)
    are rewritten too. Calling it twice is harmless.

    Parameters
    ----------
    element
        The map (or any folium element).
    base_url
        URL path at which ``static/vendor`` is served; default ``/app/static/vendor``.

    Returns
    -------
    The same ``element``, for chaining.

    Raises
    ------
    OfflineAssetError
        An element needs a URL that is not vendored, or the map holds a branca colormap
        (streamlit-folium then loads d3 from two CDNs, which cannot be redirected).
    """
    for elem in iter_elements(element):
        if isinstance(elem, branca.colormap.ColorMap):
            raise OfflineAssetError(
                "地图中的色带图例需要从外网加载 d3，内网环境下无法显示",
                f"{type(elem).__name__} makes streamlit_folium load d3 from a CDN; "
                "draw the legend as HTML instead of using a branca colormap",
            )
        if isinstance(elem, folium.elements.JSCSSMixin):
            elem.default_js = [(name, _local(url, elem, base_url)) for name, url in elem.default_js]
            elem.default_css = [(name, _local(url, elem, base_url)) for name, url in elem.default_css]
        if isinstance(elem, (JavascriptLink, CssLink)):
            elem.url = _local(elem.url, elem, base_url)

    root = element.get_root()
    if isinstance(root, Figure) and root is not element:
        for link in iter_elements(root.header):
            if isinstance(link, (JavascriptLink, CssLink)):
                link.url = _local(link.url, link, base_url)
    return element


UNUSED_MAP_ASSETS = frozenset({"jquery", "bootstrap", "bootstrap_css"})
"""Assets every ``folium.Map`` lists that no element here needs (popups, tooltips, layer
control and plugins are Leaflet's own)."""

GLYPHICON_ASSETS = frozenset({"glyphicons_css"})
"""Bootstrap's glyphicons: only for a ``folium.Icon`` with ``prefix="glyphicon"`` (folium's
default; RiverGrid's icons name Font Awesome)."""

PIN_ASSETS = frozenset({"awesome_markers", "awesome_markers_font_css", "awesome_markers_css", "awesome_rotate_css"})
"""The map's assets for ``folium.Icon`` pins (Leaflet.awesome-markers and Font Awesome)."""


def _icons_of(elem: Element) -> list[folium.Icon]:
    """The ``folium.Icon`` pins ``elem`` draws: itself, or those of the marker a ``GeoJson``
    draws for each point (``marker=folium.Marker(icon=...)``, not a child element)."""
    if isinstance(elem, folium.Icon):
        return [elem]
    marker = getattr(elem, "marker", None)
    if isinstance(marker, folium.Marker):
        return [icon for icon in iter_elements(marker) if isinstance(icon, folium.Icon)]
    return []


def trim_assets(m: folium.Map, *, pins: bool | None = None) -> folium.Map:
    """Drop the map's default browser assets that nothing on it uses: :data:`UNUSED_MAP_ASSETS`
    always, :data:`GLYPHICON_ASSETS` unless an icon names a glyphicon, :data:`PIN_ASSETS` when
    no pin is drawn.

    streamlit-folium loads a map's scripts one after another, so every file left out is one
    round trip less before the map draws (jQuery and Bootstrap are three files, about 0.3 MB).

    Parameters
    ----------
    m
        The map, with its layers.
    pins
        Whether pins are drawn; default: whether the map holds a ``folium.Icon`` (also as the
        point marker of a ``GeoJson``). Layers that draw pins in the browser
        (:mod:`layers.packed`) say so here.
    """
    icons = [icon for elem in iter_elements(m) for icon in _icons_of(elem)]
    if pins is None:
        pins = bool(icons)
    unused = set(UNUSED_MAP_ASSETS)
    if not any(icon.options.get("prefix") == "glyphicon" for icon in icons):
        unused |= GLYPHICON_ASSETS
    if not pins:
        unused |= PIN_ASSETS
    m.default_js = [(name, url) for name, url in m.default_js if name not in unused]
    m.default_css = [(name, url) for name, url in m.default_css if name not in unused]
    return m


JS_BUNDLES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        # Leaflet and the two controls on every RiverGrid map: one request instead of three.
        "rivergrid/map-core.js": (
            "leaflet/leaflet.js",
            "leaflet.fullscreen/Control.FullScreen.js",
            "leaflet-measure/leaflet-measure.min.js",
        ),
    }
)
"""Bundle under :data:`VENDOR_DIR` → the vendored scripts it concatenates, in load order.

streamlit-folium loads a map's scripts one after another (each waits for the previous), so on a
slow intranet link every script is a round trip before the map can draw. The bundles are
written by :func:`write_bundles` (``scripts/vendor_assets.sh`` calls it); a test checks that the
committed files equal :func:`bundle_text` of their parts."""


def bundle_text(name: str) -> str:
    """The content of bundle ``name``: its parts in order, each headed by its path."""
    return "".join(
        f"/* ---- {part} (see its LICENSE in the same folder) ---- */\n"
        + (VENDOR_DIR / part).read_text(encoding="utf-8").rstrip("\n")
        + "\n;\n"
        for part in JS_BUNDLES[name]
    )


def write_bundles() -> list[Path]:
    """Write every bundle of :data:`JS_BUNDLES` into :data:`VENDOR_DIR`; the paths written."""
    written = []
    for name, parts in JS_BUNDLES.items():
        path = VENDOR_DIR / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(bundle_text(name), encoding="utf-8")
        written.append(path)
        licence = path.parent / "LICENSE"
        notices = [f"{path.name} concatenates the following files unchanged; their licences follow.\n"]
        for part in parts:
            folder = (VENDOR_DIR / part).parent
            for text in sorted(folder.glob("LICEN[CS]E*")) + sorted(folder.glob("MIT-LICEN[CS]E*")):
                notices.append(f"\n==== {part} ({text.name}) ====\n\n{text.read_text(encoding='utf-8')}")
        licence.write_text("".join(notices), encoding="utf-8")
        written.append(licence)
    return written


def use_bundles(element: E, *, base_url: str = VENDOR_URL) -> E:
    """Load the scripts of a bundle as that one file where a (localized) map uses all its parts.

    The bundle takes the place of its first part (Leaflet, which comes first), so scripts that
    need Leaflet still load after it. Maps that use only some parts are left as they are.
    """
    prefix = base_url.rstrip("/") + "/"
    _, js = collect_links(element)
    for name, parts in JS_BUNDLES.items():
        urls = [prefix + part for part in parts]
        if not set(urls) <= set(js):
            continue
        placed = False
        for elem in iter_elements(element):
            scripts = getattr(elem, "default_js", None)
            if not scripts or not any(url in urls for _, url in scripts):
                continue
            kept = []
            for entry_name, url in scripts:
                if url not in urls:
                    kept.append((entry_name, url))
                elif not placed and url == urls[0]:
                    kept.append((f"bundle:{name}", prefix + name))
                    placed = True
            elem.default_js = kept
        if not placed:  # Leaflet itself came from elsewhere: put the bundle first
            element.default_js = [(f"bundle:{name}", prefix + name), *getattr(element, "default_js", [])]
    return element


def _local(url: str, elem: Element, base_url: str) -> str:
    try:
        return local_url(url, base_url=base_url)
    except OfflineAssetError as exc:
        raise OfflineAssetError(
            f"{exc.message_zh}（{type(elem).__name__}）",
            f"{type(elem).__module__}.{type(elem).__name__}: {exc.reason_en}",
        ) from None


_ASSET_REFERENCE = re.compile(
    r"""<script\b[^>]*?\bsrc\s*=\s*["']([^"']+)["']"""
    r"""|<link\b[^>]*?\bhref\s*=\s*["']([^"']+)["']"""
    r"""|<img\b[^>]*?\bsrc\s*=\s*["']([^"']+)["']"""
    r"""|@import\s+(?:url\()?\s*["']?([^"')\s;]+)"""
    r"""|url\(\s*["']?([^"')\s]+)""",
    re.IGNORECASE,
)


def external_assets(html: str) -> list[str]:
    """External URLs that a rendered page would load as script, stylesheet, image or font.

    Looks at ``<script src>``, ``<link href>``, ``<img src>``, ``@import`` and CSS ``url()``;
    tile URL templates inside scripts and plain ``<a href>`` links are not assets.
    """
    found = []
    for match in _ASSET_REFERENCE.finditer(html):
        url = next(group for group in match.groups() if group)
        if is_external(url):
            found.append(url)
    return list(dict.fromkeys(found))

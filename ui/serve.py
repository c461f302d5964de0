"""Start the RiverGrid app: ``python -m ui.serve [streamlit options]``.

Same as ``streamlit run app.py``, with one fix: Streamlit treats an app that has a ``pages/``
folder as a legacy multipage app until the first run of ``app.py`` calls ``st.navigation``. On a
freshly started server, the first visitor who opens a page link directly (``/audit``, from a
bookmark) would get that page run on its own, without ``app.py``'s router, sign-in state and
sidebar. Declaring up front that the app does not use the ``pages/`` folder convention closes that
window: ``app.py`` always runs first and routes.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def _compress_frontend() -> None:
    """Gzip Streamlit's own frontend bundles too (about 3 MB of JavaScript, ~0.9 MB gzipped).

    Streamlit leaves them uncompressed, expecting a compressing proxy in front; an intranet
    deployment of RiverGrid usually has none, and its links are slow, so the bandwidth matters
    more than the CPU. ``RIVERGRID_GZIP_STATIC=0`` turns this off (e.g. behind nginx).
    """
    import os

    if os.environ.get("RIVERGRID_GZIP_STATIC", "1") == "0":
        return
    from streamlit.web.server.starlette import starlette_gzip_middleware as gz

    bypass = gz._should_bypass_gzip

    def only_the_root_document(path: str, base_url: str = "") -> bool:
        return bypass(path, base_url) and not gz._strip_base_url(path, base_url).startswith("/static/")

    gz._should_bypass_gzip = only_the_root_document


def main(argv: list[str] | None = None) -> int:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    PagesManager.uses_pages_directory = False
    _compress_frontend()
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    return cli.main()  # type: ignore[no-any-return]


if __name__ == "__main__":
    sys.exit(main())

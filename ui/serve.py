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


def main(argv: list[str] | None = None) -> int:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    PagesManager.uses_pages_directory = False
    from ui import static_gzip

    static_gzip.install()  # static files gzipped once per process (no compressing proxy on intranets)
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    return cli.main()  # type: ignore[no-any-return]


if __name__ == "__main__":
    sys.exit(main())

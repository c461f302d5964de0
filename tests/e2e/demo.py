"""The demo database of an end-to-end test's data folder: a fresh copy of the session's demo template
(``demo_template_sqlite`` in ``tests/conftest.py``), registered for every e2e test by
``tests/e2e/conftest.py``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gis.store import Store

_COPY: list[Callable[[Path], Path]] = []


def use_template(copy: Callable[[Path], Path]) -> None:
    """Set the factory that copies the demo template to a path (the ``demo_sqlite_copy`` fixture)."""
    _COPY[:] = [copy]


def demo_store(data_dir: Path) -> Store:
    """The app's database in ``data_dir`` (``rivergrid.sqlite``), holding a fresh copy of the demo."""
    if not _COPY:
        raise RuntimeError("no demo template: demo_store() runs inside an e2e test (tests/e2e/conftest.py)")
    return Store(f"sqlite:///{_COPY[0](data_dir / 'rivergrid.sqlite')}", migrate=False)

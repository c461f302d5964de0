"""Where a page's script run spends its time: cProfile of the run, through Streamlit's AppTest.

``python bench/page_profile.py pages/grids.py [--user staff] [--runs 3] [--top 30] [--click 受理]``

On a fresh copy of the demo (a temporary data folder, ``RIVERGRID_DEMO=1``, no basemap), runs
``app.py`` once (the demo is loaded there, not timed), signs in as ``--user`` (none: not signed
in), then runs the page ``--runs`` times: the first run finds the page's caches empty (the first
open after start), the later ones full (what a warm server does on every visit). Each run is
profiled inside the thread that executes the script (cProfile follows one thread) and printed:
its wall time, then the functions of this repository (and the library calls they spend most in)
by cumulative time. ``--click LABEL`` presses that button after the runs and profiles the run it
causes (with the rerun it may ask for), e.g. an incident workflow step.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PASSWORD = "rivergrid-demo"


def profiled_runs() -> list[tuple[float, cProfile.Profile]]:
    """Wrap Streamlit's script execution so that each run is profiled in its own thread; the
    list the runs are appended to."""
    from streamlit.runtime.scriptrunner import script_runner

    runs: list[tuple[float, cProfile.Profile]] = []
    original = script_runner.exec_func_with_error_handling

    def exec_profiled(func, ctx):  # type: ignore[no-untyped-def]
        profile = cProfile.Profile()
        t = time.perf_counter()
        profile.enable()
        try:
            return original(func, ctx)
        finally:
            profile.disable()
            runs.append((time.perf_counter() - t, profile))

    script_runner.exec_func_with_error_handling = exec_profiled
    return runs


def report(profile: cProfile.Profile, *, top: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(f"{REPO}/(gis|layers|ui|pages|app)", top)
    text = out.getvalue()
    start = text.find("   ncalls")
    lines = [line.replace(str(REPO) + "/", "") for line in text[start:].splitlines() if line.strip()]
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats("tottime").print_stats(12)
    own = out.getvalue()
    own = own[own.find("   ncalls") :]
    return "\n".join(lines) + "\n  -- most time in itself (all code) --\n" + own


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page", help="e.g. pages/grids.py")
    parser.add_argument("--user", default="", help="demo account to sign in as (default: none)")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--click", help="a button to press after the runs (its run is profiled too)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="rivergrid-profile-"))
    try:
        return profile_page(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def profile_page(args: argparse.Namespace, work: Path) -> int:
    os.environ.update(RIVERGRID_DATA_DIR=str(work), RIVERGRID_DEMO="1", RIVERGRID_BASEMAP="none")
    for name in ("TIANDITU_KEY", "DATABASE_URL", "RIVERGRID_READ_LOGIN"):
        os.environ.pop(name, None)
    from streamlit.testing.v1 import AppTest

    runs = profiled_runs()
    t = time.perf_counter()
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600).run()
    print(f"first run of app.py (demo loaded): {time.perf_counter() - t:.2f} s", flush=True)
    if args.user:
        at = at.switch_page("pages/login.py").run()
        inputs = {x.label: x for x in at.text_input}
        inputs["用户名"].input(args.user)
        inputs["密码"].input(PASSWORD)
        next(b for b in at.button if b.label == "登录").click()
        at = at.run()
        assert any("已登录" in s.value for s in at.success), [e.value for e in at.error]
    runs.clear()
    for n in range(args.runs):
        t = time.perf_counter()
        at = (at.switch_page(args.page) if n == 0 else at).run()
        wall = time.perf_counter() - t
        assert not at.exception, at.exception
        seconds, profile = runs[-1]
        print(
            f"\n=== run {n + 1} of {args.page} ({'caches empty' if n == 0 else 'warm'}): {wall:.2f} s "
            f"(script {seconds:.2f} s, {len(runs)} script run(s))"
        )
        print(report(profile, top=args.top))
        runs.clear()
    if args.click:
        button = next(b for b in at.button if b.label == args.click)
        t = time.perf_counter()
        button.click()
        at = at.run()
        wall = time.perf_counter() - t
        print(
            f"\n=== {args.click}: {wall:.2f} s in {len(runs)} script run(s): "
            + ", ".join(f"{s:.2f} s" for s, _ in runs)
        )
        for seconds, profile in runs:
            print(f"--- run of {seconds:.2f} s")
            print(report(profile, top=args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())

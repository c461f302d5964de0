"""Benchmark of one password check (Argon2id) with RiverGrid's parameters against argon2-cffi's
defaults, and what a sign-in costs on this machine.

Times, each ``--repeat`` times (median and range), in one run:

``rivergrid``
    :data:`gis.auth.HASHER` (64 MiB, 5 passes, one lane): the cost of every sign-in.
``argon2_default``
    ``argon2.PasswordHasher()`` (64 MiB, 3 passes, 4 lanes): what the app used before.
``unknown_name``
    :func:`gis.accounts.signin.sign_in` for a user name that does not exist, and ``known_name`` for one that
    does with a wrong password (both end in one Argon2 check: the two must cost the same, so that
    the time of the answer does not tell which names exist). Run on a throw-away SQLite database.

For each: wall time and CPU time (``time.process_time``, all threads of this process: the default
hasher's four lanes show up here) and the load average, since the machine is shared. The last line
is one JSON object with the figures. Nothing is asserted.

Run: ``python bench/password_hash.py [--repeat 10]`` (about 15 s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from argon2 import PasswordHasher  # noqa: E402

from gis.auth import HASHER, SYSTEM, hash_password  # noqa: E402
from gis.errors import AuthenticationError  # noqa: E402


def timed(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return {
        "wall_s": round(statistics.median(walls), 4),
        "wall_min_s": round(min(walls), 4),
        "wall_max_s": round(max(walls), 4),
        "cpu_s": round(statistics.median(cpus), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault("RIVERGRID_LOCK_ATTEMPTS", str(10 * args.repeat + 10))  # no lock during the bench
    os.environ.setdefault("RIVERGRID_IP_ATTEMPTS", str(10 * args.repeat + 10))

    password = "Yalu-jiang-2026"
    ours, default = HASHER.hash(password), PasswordHasher().hash(password)
    figures: dict[str, Any] = {
        "rivergrid": timed(lambda: HASHER.verify(ours, password), args.repeat),
        "argon2_default": timed(lambda: PasswordHasher().verify(default, password), args.repeat),
        "parameters": {
            "memory_kib": HASHER.memory_cost,
            "time_cost": HASHER.time_cost,
            "parallelism": HASHER.parallelism,
        },
    }

    from gis.accounts.signin import sign_in
    from gis.store import Store
    from gis.store.schema import User

    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{folder}/bench.sqlite")
        with store.session(SYSTEM) as s:
            s.add(User(username="zhangsan", role="staff", password_hash=hash_password(password)))

        def attempt(name: str) -> None:
            try:
                sign_in(store, name, "not-the-password", ip="10.0.0.1")
            except AuthenticationError:
                pass

        figures["known_name"] = timed(lambda: attempt("zhangsan"), args.repeat)
        figures["unknown_name"] = timed(lambda: attempt("nobody-by-this-name"), args.repeat)
        store.dispose()
    figures["load_average"] = [round(x, 2) for x in os.getloadavg()]
    figures["cpus"] = os.cpu_count()

    for name in ("rivergrid", "argon2_default", "known_name", "unknown_name"):
        f = figures[name]
        print(
            f"{name:15s} wall {f['wall_s'] * 1000:7.1f} ms (range {f['wall_min_s'] * 1000:.1f}–"
            f"{f['wall_max_s'] * 1000:.1f})  CPU {f['cpu_s'] * 1000:7.1f} ms"
        )
    ratio = figures["known_name"]["wall_s"] / figures["unknown_name"]["wall_s"]
    print(
        f"known / unknown name: {ratio:.2f}× (1.00 = indistinguishable); load {figures['load_average']}, "
        f"{figures['cpus']} CPUs"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

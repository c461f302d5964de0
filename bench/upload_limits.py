"""Benchmark of the zip-bomb refusal (:mod:`gis.limits`) against Python's ``ZipFile.testzip()``.

Builds a real zip bomb once (cached in ``--dir``): a shapefile zip whose ``.dbf`` is ``--gib`` GiB
of zeros, honestly declared and validly deflated (about 1 MB per GiB), beside small ``.shp`` and
``.shx`` members. Then, in the same run:

1. ``gis.io.files.inspect`` on it, as ``gis inspect`` and every upload do: the central directory is
   judged (declared sizes, ratio ~1,000:1 > ``RIVERGRID_MAX_RATIO``) and the file is refused
   before any member is decompressed (``refuse_s``);
2. ``zipfile.ZipFile.testzip()`` on the same file, which the reader called before: it
   decompresses every member to check its CRC (``testzip_s``).

Prints CPU time beside wall time and the load average (the machine is shared: wall ≫ CPU means
the process waited for a core), then as its last line one JSON object ``{"gib", "zip_mb",
"refuse_s", "refuse_cpu_s", "testzip_s", "testzip_cpu_s", "ratio", "load_avg"}`` (``ratio`` =
``testzip_s`` / ``refuse_s``). No pass/fail: a refusal that decompressed anything would take as
long as testzip.

Run: ``python bench/upload_limits.py`` (a few seconds to build the 2 GiB bomb the first time, and
the testzip pass).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gis import io  # noqa: E402
from gis.errors import LimitError  # noqa: E402

CHUNK = 1024 * 1024


def make_bomb(path: Path, gib: int) -> Path:
    """A shapefile zip whose .dbf unpacks to ``gib`` GiB of zeros (valid deflate, honest sizes)."""
    if path.exists():
        return path
    tmp = path.with_suffix(".part")
    zeros = bytes(CHUNK)
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("bomb.shp", bytes(100))
        zf.writestr("bomb.shx", bytes(100))
        with zf.open("bomb.dbf", "w", force_zip64=True) as member:
            for _ in range(gib * 1024):
                member.write(zeros)
    tmp.rename(path)
    return path


def timed(fn):  # type: ignore[no-untyped-def]
    t, c = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - t, time.process_time() - c


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=int, default=2, help="GiB the .dbf unpacks to (default 2)")
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "rivergrid-bench",
        help="where the bomb is built and kept",
    )
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)

    bomb, build_s, _ = timed(lambda: make_bomb(args.dir / f"bomb-{args.gib}gib.zip", args.gib))
    zip_mb = bomb.stat().st_size / CHUNK
    print(f"bomb: {bomb} ({zip_mb:.1f} MB on disk, .dbf declares {args.gib} GiB; ready in {build_s:.1f} s)")

    def refuse() -> str:
        try:
            io.inspect(bomb)
        except LimitError as exc:
            return exc.message_zh
        raise SystemExit("the bomb was NOT refused")

    message, refuse_s, refuse_cpu = timed(refuse)
    load = os.getloadavg()
    print(
        f"gis.io.files.inspect refused it in {refuse_s * 1000:.1f} ms (CPU {refuse_cpu * 1000:.1f} ms; load average "
        f"{load[0]:.1f} on {os.cpu_count()} cores): {message}"
    )

    def testzip() -> str | None:
        with zipfile.ZipFile(bomb) as zf:
            return zf.testzip()

    bad, testzip_s, testzip_cpu = timed(testzip)
    load = os.getloadavg()
    print(
        f"ZipFile.testzip() took {testzip_s:.2f} s (CPU {testzip_cpu:.2f} s; load average {load[0]:.1f}), "
        f"result {bad!r}: it decompressed all {args.gib} GiB"
    )
    print(
        json.dumps(
            {
                "gib": args.gib,
                "zip_mb": round(zip_mb, 2),
                "refuse_s": round(refuse_s, 4),
                "refuse_cpu_s": round(refuse_cpu, 4),
                "testzip_s": round(testzip_s, 3),
                "testzip_cpu_s": round(testzip_cpu, 3),
                "ratio": round(testzip_s / max(refuse_s, 1e-9), 1),
                "load_avg": round(load[0], 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

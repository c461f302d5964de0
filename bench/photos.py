"""Benchmark of photo checks with metadata stripping (:func:`gis.incidents.attachments.check_uploads`).

Makes a 12 MP phone-like JPEG (4000×3000, smooth gradients with sensor-like noise, quality 90,
4:2:0) carrying EXIF with GPS, serial numbers and orientation 6 plus an XMP packet, and the same
picture without any metadata. Then times, each ``--repeat`` times (median), in one run:

``decode``
    Decoding alone (``Image.open`` + ``load``): the floor any check of a truncated file pays.
``old_check``
    The check before stripping: ``verify``, a full decode, then a second decode for the
    thumbnail (exif_transpose + thumbnail), the upload stored as it came.
``new_check``
    :func:`check_uploads` on the photo with metadata: one decode, orientation applied,
    re-encoded with the photo's own quantisation tables, thumbnail from the decoded pixels.
``new_check_clean``
    :func:`check_uploads` on the clean photo: one decode, kept byte for byte.
``metadata_only``
    The alternative not taken, at its cheapest: one decode (the check needs it), a thumbnail, and
    the JPEG's metadata segments cut out of the bytes (lossless, but sideways: it cannot apply the
    orientation to the pixels).

For each: CPU time (``time.process_time``) beside wall time, and the load average (the machine
is shared). Also the re-encoded file's size and PSNR against the original's decoded pixels
turned upright. The last line is one JSON object with those figures. Nothing is asserted.

Run: ``python bench/photos.py`` (about 30 s).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import ExifTags, Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gis.incidents.attachments import THUMB_PX, Upload, check_uploads

XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="41,50.4N"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def make_picture(width: int, height: int, seed: int = 1) -> Image.Image:
    """Smooth colour gradients with sensor-like noise (compresses like a photo, unlike flat colour)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([x / width * 255, y / height * 255, (x + y) / (width + height) * 255], axis=-1)
    base += 40 * np.sin(x / 37.0)[..., None] * np.cos(y / 53.0)[..., None]
    noisy = base + rng.normal(0, 10, base.shape).astype(np.float32)
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


def phone_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = "RiverCam", "RC-12 Pro"
    exif[ExifTags.Base.Orientation] = 6
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.BodySerialNumber] = "SN-RIVER-4242"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (41.0, 50.0, 24.0)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", (127.0, 0.0, 0.0)
    return exif


def old_check(data: bytes) -> bytes:
    """The check as it was before stripping (gis/incidents/attachments.py at c8c7fc8)."""
    with Image.open(io.BytesIO(data)) as im:
        im.verify()
    with Image.open(io.BytesIO(data)) as im:
        im.load()
    with Image.open(io.BytesIO(data)) as im:
        upright = ImageOps.exif_transpose(im)
        upright.thumbnail((THUMB_PX, THUMB_PX))
        out = io.BytesIO()
        upright.save(out, format="JPEG", quality=82)
    return data


def cut_metadata_segments(data: bytes) -> bytes:
    """Drop APP1…APP15 (but Adobe APP14) and COM segments before the first scan; stop at EOI."""
    out, i = [data[:2]], 2
    while i < len(data):
        marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
        if marker == 0xDA:
            end = data.rfind(b"\xff\xd9")
            out.append(data[i : end + 2])
            break
        if not ((0xE1 <= marker <= 0xEF and marker != 0xEE) or marker == 0xFE):
            out.append(data[i : i + 2 + length])
        i += 2 + length
    return b"".join(out)


def metadata_only(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        thumb = im.copy()
        thumb.thumbnail((THUMB_PX, THUMB_PX))
        thumb.save(io.BytesIO(), format="JPEG", quality=82)
    return cut_metadata_segments(data)


def decode(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
    return data


def stored_by_check(data: bytes) -> bytes:
    (photo,) = check_uploads([Upload("IMG_0001.jpg", data)])
    return photo.data


def timed(fn: Callable[[bytes], bytes], data: bytes, repeat: int) -> tuple[float, float, bytes]:
    """Median wall and CPU milliseconds of ``fn(data)`` and its last result."""
    walls, cpus = [], []
    result = b""
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        result = fn(data)
        walls.append((time.perf_counter() - t) * 1000)
        cpus.append((time.process_time() - c) * 1000)
    return statistics.median(walls), statistics.median(cpus), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    picture = make_picture(args.width, args.height)
    buf = io.BytesIO()
    picture.save(buf, "JPEG", quality=90, subsampling="4:2:0", exif=phone_exif(), xmp=XMP)
    with_gps = buf.getvalue()
    buf = io.BytesIO()
    picture.save(buf, "JPEG", quality=90, subsampling="4:2:0")
    clean = buf.getvalue()
    print(
        f"photo {args.width}×{args.height} ({args.width * args.height / 1e6:.0f} MP): {len(with_gps) / 1e6:.2f} MB "
        f"with EXIF/GPS/XMP, {len(clean) / 1e6:.2f} MB clean; median of {args.repeat} runs",
        flush=True,
    )

    results: dict[str, Any] = {}
    for name, fn, data in [
        ("decode", decode, with_gps),
        ("old_check", old_check, with_gps),
        ("new_check", stored_by_check, with_gps),
        ("new_check_clean", stored_by_check, clean),
        ("metadata_only", metadata_only, with_gps),
    ]:
        wall, cpu, out = timed(fn, data, args.repeat)
        load = os.getloadavg()[0]
        results[name] = {"wall_ms": round(wall, 1), "cpu_ms": round(cpu, 1), "bytes": len(out)}
        print(
            f"{name:16s} {wall:7.1f} ms wall, {cpu:7.1f} ms CPU, stored {len(out) / 1e6:.2f} MB "
            f"(load average {load:.1f} on {os.cpu_count()} cores)",
            flush=True,
        )

    stored = stored_by_check(with_gps)
    with Image.open(io.BytesIO(with_gps)) as before, Image.open(io.BytesIO(stored)) as after:
        original = np.asarray(ImageOps.exif_transpose(before), dtype=np.float64)
        again = np.asarray(after, dtype=np.float64)
        assert after.size == (args.height, args.width), "the stored photo is upright"
    psnr = 10 * np.log10(255**2 / np.mean((original - again) ** 2))
    assert stored_by_check(clean) == clean, "a clean photo is kept byte for byte"
    print(
        f"re-encoded: {len(stored) / 1e6:.2f} MB ({len(stored) / len(with_gps) - 1:+.1%}), "
        f"PSNR {psnr:.1f} dB against the original's pixels turned upright"
    )
    results.update(
        psnr_db=round(float(psnr), 1),
        size_change=round(len(stored) / len(with_gps) - 1, 4),
        load_avg=round(os.getloadavg()[0], 2),
        cores=os.cpu_count(),
    )
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

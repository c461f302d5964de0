"""Photo privacy (gis.incidents.attachments): stored photos keep no GPS position, camera serial or other
metadata, stand upright, and are named by the hash of the stored bytes; the pixel limit refuses
bombs before decoding; migration 0008 strips photos stored by the old code and re-keys their rows.

The photos are real files made with Pillow, with real EXIF (GPS IFD, serial numbers, maker note,
orientation), XMP, IPTC, comments and a trailer after the image, as phones write them. What a
stored file must not contain is checked twice: on the raw bytes (an independent search for the
strings) and through Pillow's reading of the file.
"""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageCms, ImageSequence, PngImagePlugin
from sqlalchemy import select, text

from gis.accounts.users import actor_for
from gis.errors import ValidationError
from gis.incidents.attachments import MAX_PIXELS, THUMB_PX, AttachmentStore, Upload, check_uploads, strip_metadata
from gis.incidents.reporting import report_incident
from gis.store import Store, make_engine, upgrade
from gis.store.schema import Attachment, Incident

DONGXING_POINT = (127.0, 41.84)

SERIAL = "SN-RIVER-4242"
LENS_SERIAL = "LENS-7731"
OWNER = "Wang Xiaohe"
MAKE, MODEL = "RiverCam", "RC-12 Pro"
CITY = "Linjiang-Sengong"
XMP_GPS = "41,50.4N"
COMMENT = f"taken with {MODEL} {SERIAL}"
XMP = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       f'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="{XMP_GPS}" '
       f'exif:GPSLongitude="127,0.0E" exif:BodySerialNumber="{SERIAL}"/></rdf:RDF></x:xmpmeta>').encode()
SECRETS = (SERIAL, LENS_SERIAL, OWNER, MAKE, MODEL, CITY, XMP_GPS)
RED, BLUE = (220, 30, 30), (30, 30, 220)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def phone_exif(orientation: int = 6) -> Image.Exif:
    """EXIF as a phone writes it: make, model, orientation, serial numbers, owner, maker note, GPS."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = MAKE
    exif[ExifTags.Base.Model] = MODEL
    exif[ExifTags.Base.Artist] = OWNER
    exif[ExifTags.Base.Orientation] = orientation
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.BodySerialNumber] = SERIAL
    sub[ExifTags.Base.LensSerialNumber] = LENS_SERIAL
    sub[ExifTags.Base.CameraOwnerName] = OWNER
    sub[ExifTags.Base.MakerNote] = f"RIVERCAM serial={SERIAL}".encode()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (41.0, 50.0, 24.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (127.0, 0.0, 0.0)
    return exif


def sideways(size: tuple[int, int] = (640, 320), mode: str = "RGB") -> Image.Image:
    """What the sensor saw of an upright scene, turned a quarter to the left: the left half is
    red, the right half blue (upright, with orientation 6: red on top, blue below)."""
    im = Image.new("RGB", size, BLUE)
    im.paste(RED, (0, 0, size[0] // 2, size[1]))
    return im.convert(mode)


def app13_iptc(city: str) -> bytes:
    """A Photoshop APP13 segment holding one IPTC dataset (2:90, city)."""
    value = city.encode()
    iptc = b"\x1c\x02\x5a" + len(value).to_bytes(2, "big") + value
    resource = b"8BIM\x04\x04\x00\x00" + len(iptc).to_bytes(4, "big") + iptc + (b"\0" if len(iptc) % 2 else b"")
    payload = b"Photoshop 3.0\x00" + resource
    return b"\xff\xed" + (len(payload) + 2).to_bytes(2, "big") + payload


def phone_jpeg(orientation: int = 6, size: tuple[int, int] = (640, 320)) -> bytes:
    """A JPEG with EXIF (GPS, serials, orientation), XMP, IPTC, a comment and a motion-photo trailer."""
    out = io.BytesIO()
    sideways(size).save(out, "JPEG", quality=90, exif=phone_exif(orientation), comment=COMMENT.encode(), xmp=XMP)
    data = out.getvalue()
    return data[:2] + app13_iptc(CITY) + data[2:] + b"\0\0\0\x18ftypmp42MotionPhoto " + SERIAL.encode()


def phone_png() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Location", CITY)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    info.add_text("Comment", COMMENT, zip=True)
    out = io.BytesIO()
    sideways().save(out, "PNG", pnginfo=info, exif=phone_exif())
    return out.getvalue()


def phone_webp() -> bytes:
    out = io.BytesIO()
    sideways().save(out, "WEBP", lossless=True, exif=phone_exif(), xmp=XMP)
    return out.getvalue()


def phone_tiff() -> bytes:
    out = io.BytesIO()
    sideways().save(out, "TIFF", exif=phone_exif(), compression="tiff_lzw")
    return out.getvalue()


def phone_gif() -> bytes:
    frames = [sideways(mode="P"), sideways().transpose(Image.Transpose.ROTATE_180).convert("P")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=[300, 500], loop=0,
                   comment=COMMENT.encode())
    return out.getvalue()


def phone_mpo() -> bytes:
    """An MPO: the main picture and a second one (a depth map, say), each with its own EXIF."""
    out = io.BytesIO()
    sideways().save(out, "MPO", save_all=True, append_images=[sideways((160, 80))], exif=phone_exif())
    return out.getvalue()


def pixels(data_or_image: bytes | Image.Image) -> np.ndarray:
    im = Image.open(io.BytesIO(data_or_image)) if isinstance(data_or_image, bytes) else data_or_image
    return np.asarray(im.convert("RGB"), dtype=np.int16)


def upright_expected(size: tuple[int, int] = (640, 320)) -> np.ndarray:
    """The oracle: the sensor's picture turned a quarter clockwise (what orientation 6 asks for)."""
    return np.rot90(pixels(sideways(size)), k=-1)


PRIVATE_TIFF_TAGS = {ExifTags.IFD.GPSInfo, ExifTags.IFD.Exif, ExifTags.Base.Make, ExifTags.Base.Model,
                     ExifTags.Base.Artist, ExifTags.Base.Orientation, ExifTags.Base.Software, ExifTags.Base.DateTime,
                     ExifTags.Base.HostComputer, ExifTags.Base.ImageDescription, ExifTags.Base.Copyright,
                     ExifTags.Base.XMLPacket, 33723, ExifTags.Base.MakerNote}  # 33723: IPTC


def assert_nothing_private(data: bytes) -> None:
    """No GPS, device or owner data in ``data``: raw bytes, then Pillow's reading of them."""
    for secret in SECRETS:
        assert secret.encode() not in data, secret
    assert b"MotionPhoto" not in data and b"Photoshop" not in data and b"Exif\0" not in data
    with Image.open(io.BytesIO(data)) as im:
        if im.format == "TIFF":  # a TIFF's tags also describe its pixels: only those may remain
            assert not set(im.getexif()) & PRIVATE_TIFF_TAGS
        else:
            assert not im.getexif()  # no EXIF at all: no GPS IFD, no orientation
        assert not {"exif", "xmp", "comment", "photoshop", "XML:com.adobe.xmp", "Location", "Comment"} & set(im.info)
        if im.format == "JPEG":
            assert [(marker, body[:5]) for marker, body in im.applist if marker != "APP2" or
                    not body.startswith(b"ICC_PROFILE")] == [("APP0", b"JFIF\0")]  # JFIF, maybe a colour profile


# --- through a report, on both stores ----------------------------------------------------------------


@pytest.fixture
def demo(demo_store: Store) -> Store:
    return demo_store  # the demo, copied from the session's template (tests/conftest.py)


def test_a_phone_photo_with_gps_is_stored_upright_without_gps_or_serial_named_by_its_hash(
        demo: Store, tmp_path: Path) -> None:
    files = AttachmentStore(tmp_path / "attachments")
    upload = phone_jpeg()
    with Image.open(io.BytesIO(upload)) as im:  # the precondition: a real phone photo, GPS and all
        exif = im.getexif()
        assert exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] == (41.0, 50.0, 24.0)
        assert exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.BodySerialNumber] == SERIAL
        assert exif[ExifTags.Base.Orientation] == 6 and im.size == (640, 320)
    with demo.session() as s:
        patroller = actor_for(s, "patroller")
    with demo.session(patroller) as s:
        iid = report_incident(s, lon=DONGXING_POINT[0], lat=DONGXING_POINT[1], category="ecology",
                              description="岸边堆放垃圾", photos=[("IMG_0001.jpg", upload)], files=files).id
    with demo.session() as s:
        (row,) = s.scalars(select(Attachment).where(Attachment.incident_id == iid)).all()
        assert s.get(Incident, iid).id == iid
    stored = files.find(row.sha256, row.mime)
    assert stored is not None
    data = stored.read_bytes()
    # named by the hash of the bytes stored, which are not the bytes uploaded
    assert row.sha256 == sha(data) != sha(upload)
    assert stored.name == f"{sha(data)}.jpg" and stored.parent.name == sha(data)[:2]
    assert (row.size_bytes, row.mime, row.original_name) == (len(data), "image/jpeg", "IMG_0001.jpg")
    assert_nothing_private(data)
    # upright: a quarter turn clockwise, red on top, and described so in the row
    assert (row.width_px, row.height_px) == (320, 640)
    assert np.abs(pixels(data) - upright_expected()).mean() < 3
    # the thumbnail is upright and private too
    thumb = files.thumbnail_path(row.sha256).read_bytes()
    assert_nothing_private(thumb)
    with Image.open(io.BytesIO(thumb)) as t:
        assert t.size == (THUMB_PX // 2, THUMB_PX)
        top, bottom = np.asarray(t.convert("RGB"))[[20, -20], THUMB_PX // 4].astype(int)
        assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]
    # nothing else was written: the photo and its thumbnail
    assert sorted(p.name for p in files.root.rglob("*") if p.is_file()) == [f"{sha(data)}.jpg"] * 2


# --- every accepted format, without a database -----------------------------------------------------------


@pytest.mark.parametrize(("make", "fmt", "lossless"), [
    (phone_jpeg, "JPEG", False), (phone_png, "PNG", True), (phone_webp, "WEBP", True), (phone_tiff, "TIFF", True),
    (phone_gif, "GIF", True), (phone_mpo, "JPEG", False),
], ids=["jpeg", "png", "webp", "tiff", "gif", "mpo"])
def test_every_format_loses_its_metadata_and_keeps_its_picture(make, fmt: str, lossless: bool) -> None:  # type: ignore[no-untyped-def]
    upload = make()
    assert sum(s.encode() in upload for s in SECRETS) >= 3 or make is phone_gif  # the upload is not clean
    (photo,) = check_uploads([Upload("photo", upload)])
    assert_nothing_private(photo.data)
    assert photo.sha256 == sha(photo.data)
    assert_nothing_private(photo.thumbnail)
    with Image.open(io.BytesIO(photo.data)) as im:
        assert im.format == fmt
        if make is phone_gif:  # no orientation in a GIF; both frames and their timing kept
            assert (im.n_frames, photo.width_px, photo.height_px) == (2, 640, 320)
            durations = [frame.info["duration"] for frame in ImageSequence.Iterator(im)]
            assert durations == [300, 500]
            with Image.open(io.BytesIO(upload)) as before:  # the same pixels in every frame
                for frame_before, frame_after in zip(ImageSequence.Iterator(before), ImageSequence.Iterator(im),
                                                     strict=True):
                    assert (pixels(frame_before.convert("RGB")) == pixels(frame_after.convert("RGB"))).all()
            return
        assert getattr(im, "n_frames", 1) == 1  # an MPO keeps its main picture only
        assert (photo.width_px, photo.height_px) == im.size == (320, 640)
        diff = np.abs(pixels(im) - upright_expected())
    assert diff.max() == 0 if lossless else diff.mean() < 3


@pytest.mark.parametrize("make", [phone_jpeg, phone_png, phone_webp, phone_tiff, phone_gif, phone_mpo],
                         ids=["jpeg", "png", "webp", "tiff", "gif", "mpo"])
def test_stripping_a_stripped_photo_changes_nothing(make) -> None:  # type: ignore[no-untyped-def]
    once = strip_metadata(make())
    twice = strip_metadata(once.data)
    assert once.rewritten
    assert twice.data == once.data and sha(twice.data) == sha(once.data)


def test_a_clean_photo_is_kept_byte_for_byte_and_a_colour_profile_survives_re_encoding() -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    sideways().save(out, "JPEG", quality=85, icc_profile=icc)
    clean = out.getvalue()
    (photo,) = check_uploads([Upload("clean.jpg", clean)])
    assert photo.data == clean and photo.sha256 == sha(clean)
    # a photo that must be re-encoded keeps its colour profile (colours, not places or devices)
    out = io.BytesIO()
    sideways().save(out, "JPEG", quality=85, icc_profile=icc, exif=phone_exif(1))
    (photo,) = check_uploads([Upload("gps.jpg", out.getvalue())])
    assert photo.data != out.getvalue()
    assert_nothing_private(photo.data)
    with Image.open(io.BytesIO(photo.data)) as im:
        assert im.info["icc_profile"] == icc and im.size == (640, 320)


def test_a_jpeg_keeps_its_own_quality_when_re_encoded() -> None:
    upload = phone_jpeg(orientation=1, size=(1600, 1200))
    (photo,) = check_uploads([Upload("a.jpg", upload)])
    with Image.open(io.BytesIO(upload)) as before, Image.open(io.BytesIO(photo.data)) as after:
        assert after.quantization == before.quantization
        err = (pixels(after) - pixels(before)).astype(float)
    psnr = 10 * np.log10(255 ** 2 / (err ** 2).mean())
    assert psnr > 40
    assert len(photo.data) < 1.1 * len(upload)


# --- pixel limits ------------------------------------------------------------------------------------


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares its size and has no pixel data at all: decoding it can only fail."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IEND", b"")


def test_pillow_refuses_bombs_at_the_same_limit_as_the_checks() -> None:
    assert Image.MAX_IMAGE_PIXELS == MAX_PIXELS


@pytest.mark.parametrize(("width", "height"), [(8000, 7000), (20_000, 20_000)])
def test_too_many_pixels_are_refused_before_anything_is_decoded(width: int, height: int) -> None:
    # had the pixels been decoded, the missing data would be reported as "not an image"
    with pytest.raises(ValidationError, match="“bomb.png”像素过多") as err:
        check_uploads([Upload("bomb.png", png_header_only(width, height))])
    assert "50 百万像素" in err.value.message_zh
    with pytest.raises(ValidationError, match="不是可识别的图片文件"):
        check_uploads([Upload("small.png", png_header_only(7000, 7000))])


def test_the_frames_of_an_animation_count_together() -> None:
    with pytest.raises(ValidationError, match=r"像素过多（640×320，2 帧）"):
        check_uploads([Upload("anim.gif", phone_gif())], max_pixels=300_000)


# --- migration 0008: photos stored by the old code ----------------------------------------------------


def old_store(data: bytes, root: Path) -> tuple[str, Path, Path]:
    """Store ``data`` as the old code did: unchanged, under its own hash, with a thumbnail."""
    digest = sha(data)
    path = root / digest[:2] / f"{digest}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    thumb = root / "thumbs" / digest[:2] / f"{digest}.jpg"
    thumb.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(io.BytesIO(data)) as im:
        im.thumbnail((THUMB_PX, THUMB_PX))
        im.save(thumb, "JPEG", exif=phone_exif())  # old thumbnails could keep some metadata too
    return digest, path, thumb


def insert_row(conn, incident_id: int, digest: str, data: bytes, name: str) -> int:  # type: ignore[no-untyped-def]
    with Image.open(io.BytesIO(data)) as im:
        width, height = im.size
    return conn.execute(text(
        "INSERT INTO attachments (incident_id, event_id, sha256, original_name, mime, size_bytes, width_px, height_px,"
        " uploaded_by, uploaded_at) VALUES (:i, NULL, :h, :n, 'image/jpeg', :s, :w, :hh, 'patroller',"
        " '2026-11-20 01:00:00.000000') RETURNING id"),
        {"i": incident_id, "h": digest, "n": name, "s": len(data), "w": width, "hh": height}).scalar_one()


def two_cases_at_an_old_revision(engine) -> None:  # type: ignore[no-untyped-def]
    """Two cases written into a database still at an old revision: only the columns that revision
    has (the demo loader writes today's tables and columns, which the old schema lacks)."""
    from datetime import UTC, datetime

    from shapely.geometry import Point
    from sqlalchemy import Column, Integer, MetaData, Table
    from sqlalchemy import inspect as sa_inspect

    have = {c["name"] for c in sa_inspect(engine).get_columns("incidents")}
    base = {"title": "旧版本中的事件", "category": "ecology", "severity": "normal", "status": "reported",
            "description": "", "source": "patrol", "reporter": "", "reporter_contact": "",
            "reported_at": datetime(2026, 11, 20, 1, 0, tzinfo=UTC), "geom": Point(126.95, 41.79), "version": 1,
            "deadline_estimated": False}
    table = Table("incidents", MetaData(), Column("id", Integer, primary_key=True),
                  *[Column(c.name, c.type) for c in Incident.__table__.c if c.name in have and c.name in {*base, "code"}])
    rows = [{k: v for k, v in {**base, "code": code}.items() if k in have} for code in ("SJ-OLD-1", "SJ-OLD-2")]
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)


def test_migration_0008_strips_photos_stored_before_and_re_keys_their_rows(
        store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RIVERGRID_BACKUP_ON_UPGRADE", "0")
    root = tmp_path / "attachments"
    engine = make_engine(store_url)
    upgrade(engine, "0007")  # the last revision before 0008 (the audit chain)
    two_cases_at_an_old_revision(engine)

    gps_photo = phone_jpeg()
    old, old_path, old_thumb = old_store(gps_photo, root)
    out = io.BytesIO()
    sideways().save(out, "JPEG", quality=90)
    clean = out.getvalue()
    clean_hash, clean_path, _ = old_store(clean, root)
    missing = sha(b"a photo whose file was lost")
    with engine.begin() as conn:
        first, second = conn.execute(text("SELECT id FROM incidents ORDER BY id LIMIT 2")).scalars().all()
        a = insert_row(conn, first, old, gps_photo, "现场.jpg")
        b = insert_row(conn, second, old, gps_photo, "复核.jpg")  # the same photo given twice
        c = insert_row(conn, first, clean_hash, clean, "远景.jpg")
        d = insert_row(conn, second, missing, clean, "丢失.jpg")

    with caplog.at_level(logging.WARNING):
        upgrade(engine, "0008")

    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0008"
        rows = {r.id: r for r in conn.execute(text(
            "SELECT id, sha256, size_bytes, width_px, height_px, original_name FROM attachments"))}
    new = rows[a].sha256
    assert new != old and rows[b].sha256 == new
    new_path = root / new[:2] / f"{new}.jpg"
    data = new_path.read_bytes()
    assert sha(data) == new and (rows[a].size_bytes, rows[a].width_px, rows[a].height_px) == (len(data), 320, 640)
    assert_nothing_private(data)
    assert np.abs(pixels(data) - upright_expected()).mean() < 3
    assert_nothing_private((root / "thumbs" / new[:2] / f"{new}.jpg").read_bytes())
    # the old original and its thumbnail are gone once no row needs them
    assert not old_path.exists() and not old_thumb.exists()
    # a clean photo keeps its file and its row; a missing file is reported and its row left alone
    assert rows[c].sha256 == clean_hash and clean_path.read_bytes() == clean
    assert rows[d].sha256 == missing
    assert any(missing in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    files_after = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())

    # run again (0008 down, which restores nothing, and up): nothing changes
    upgrade_again = [(r.id, r.sha256, r.size_bytes) for r in rows.values()]
    from alembic import command
    from alembic.config import Config

    from gis.store.engine import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "-1")
    upgrade(engine, "0008")
    with engine.connect() as conn:
        again = [(r.id, r.sha256, r.size_bytes) for r in conn.execute(text(
            "SELECT id, sha256, size_bytes FROM attachments"))]
    assert sorted(again) == sorted(upgrade_again)
    assert sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file()) == files_after
    engine.dispose()

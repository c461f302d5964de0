"""Incident photos (gis.incidents.attachments): refused when oversized or not an image, stored outside the
database by their SHA-256 and never overwritten, with thumbnails; SQLite and PostGIS."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from gis.accounts.users import actor_for
from gis.errors import PermissionDenied, ValidationError
from gis.incidents.attachments import MAX_BYTES, THUMB_PX, AttachmentStore, Upload, check_uploads
from gis.incidents.reporting import report_incident
from gis.incidents.workflow import move
from gis.store import Store
from gis.store.schema import Attachment, AuditEntry, Incident, IncidentEvent

DONGXING_POINT = (127.0, 41.84)


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (800, 600), color: str = "green") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def files(tmp_path: Path) -> AttachmentStore:
    return AttachmentStore(tmp_path / "attachments")


@pytest.fixture
def demo(demo_store: Store) -> Store:
    return demo_store  # the demo, copied from the session's template (tests/conftest.py)


def report(store: Store, files: AttachmentStore, photos: list, who: str = "patroller") -> int:  # type: ignore[type-arg]
    with store.session() as s:
        actor = actor_for(s, who)
    with store.session(actor) as s:
        return report_incident(s, lon=DONGXING_POINT[0], lat=DONGXING_POINT[1], category="ecology",
                               description="岸边堆放垃圾", photos=photos, files=files).id


def counts(store: Store) -> tuple[int, int, int]:
    with store.session() as s:
        return (s.scalar(select(func.count()).select_from(Incident)),
                s.scalar(select(func.count()).select_from(IncidentEvent)),
                s.scalar(select(func.count()).select_from(Attachment)))


# --- checks, without a database ------------------------------------------------------------------


def test_an_oversized_photo_is_refused_by_name_and_size() -> None:
    big = image_bytes() + b"\0" * MAX_BYTES
    with pytest.raises(ValidationError, match=r"照片“现场\.jpg”太大（10\.\d MB），每张不能超过 10\.0 MB"):
        check_uploads([Upload("现场.jpg", big)])
    out = io.BytesIO()
    Image.frombytes("RGB", (100, 100), random.Random(1).randbytes(30_000)).save(out, format="PNG")
    noisy = out.getvalue()
    assert len(noisy) > 1024
    with pytest.raises(ValidationError, match="不能超过 1 KB"):
        check_uploads([("small.png", noisy)], max_bytes=1024)


@pytest.mark.parametrize("data", [
    b"%PDF-1.4 this is not a photo",
    "岸边垃圾，见附图".encode(),
    b"",
    image_bytes()[:200],  # a JPEG cut off after its header
])
def test_what_is_not_an_image_is_refused(data: bytes) -> None:
    with pytest.raises(ValidationError, match="不是可识别的图片文件|是空文件") as err:
        check_uploads([Upload("照片.jpg", data)])
    assert "照片.jpg" in err.value.message_zh


def test_too_many_pixels_are_refused() -> None:
    with pytest.raises(ValidationError, match="像素过多（800×600）"):
        check_uploads([Upload("a.png", image_bytes("PNG"))], max_pixels=100_000)


def test_the_format_comes_from_the_content_not_the_name() -> None:
    (photo,) = check_uploads([Upload("C:\\相机\\IMG_0001.jpg", image_bytes("PNG"))])
    assert (photo.name, photo.mime, photo.ext, photo.width_px, photo.height_px) == (
        "IMG_0001.jpg", "image/png", "png", 800, 600)


def test_files_are_named_by_their_hash_with_a_thumbnail_and_never_overwritten(files: AttachmentStore) -> None:
    data = image_bytes(size=(1200, 900))
    (photo,) = check_uploads([Upload("a.jpg", data)])
    path = files.save(photo)
    assert path == files.root / sha(data)[:2] / f"{sha(data)}.jpg"
    assert path.read_bytes() == data
    with Image.open(files.thumbnail_path(sha(data))) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) == THUMB_PX and thumb.size == (320, 240)
    before = path.stat()
    # the same photo again, under another name: the file is reused, not written again
    (again,) = check_uploads([Upload("b.jpg", data)])
    assert files.save(again) == path
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    # whatever sits at a hash's place stays as it is: nothing is ever rewritten
    path.chmod(0o444)
    files.save(again)
    assert path.read_bytes() == data
    assert len(stored_files(files.root)) == 2  # the photo and its thumbnail


# --- through reports and transitions, on both stores -----------------------------------------------


def test_photos_of_a_report_and_a_transition_are_stored_and_recorded(demo: Store, files: AttachmentStore,
                                                                       tmp_path: Path) -> None:
    first, second = image_bytes(color="green"), image_bytes("PNG", (300, 200), "blue")
    on_disk = tmp_path / "现场照片.jpg"
    on_disk.write_bytes(first)
    iid = report(demo, files, [on_disk, ("远景.png", second)])
    with demo.session() as s:
        staff = actor_for(s, "staff")
    with demo.session(staff) as s:
        move(s, iid, "accept", note="受理", attachments=[("复核.jpg", first)], files=files)
    with demo.session() as s:
        rows = s.scalars(select(Attachment).where(Attachment.incident_id == iid).order_by(Attachment.id)).all()
        events = {e.id: e for e in s.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == iid))}
        assert [(r.original_name, r.sha256, r.mime, r.size_bytes, r.uploaded_by, events[r.event_id].action)
                for r in rows] == [
            ("现场照片.jpg", sha(first), "image/jpeg", len(first), "patroller", "report"),
            ("远景.png", sha(second), "image/png", len(second), "patroller", "report"),
            ("复核.jpg", sha(first), "image/jpeg", len(first), "staff", "accept"),
        ]
        assert (rows[1].width_px, rows[1].height_px) == (300, 200)
        assert "附件：现场照片.jpg、远景.png" in events[rows[0].event_id].note
        assert "附件：复核.jpg" in events[rows[2].event_id].note
        # in the audit log like every other write
        audited = s.scalars(select(AuditEntry).where(AuditEntry.table_name == "attachments")).all()
        assert sorted((a.username, a.after["original_name"]) for a in audited) == [
            ("patroller", "现场照片.jpg"), ("patroller", "远景.png"), ("staff", "复核.jpg")]
        # the database holds no image bytes: only the files do
        assert not any(isinstance(v, (bytes, memoryview)) for r in rows for v in vars(r).values())
    # the same photo twice is one file (plus one thumbnail per distinct photo)
    assert sorted(p.name for p in stored_files(files.root)) == sorted(
        [f"{sha(first)}.jpg", f"{sha(first)}.jpg", f"{sha(second)}.png", f"{sha(second)}.jpg"])
    assert files.find(sha(second), "image/png").read_bytes() == second


def test_a_refused_photo_refuses_the_whole_report_and_transition(demo: Store, files: AttachmentStore) -> None:
    good = image_bytes()
    before = counts(demo)
    with pytest.raises(ValidationError, match="“说明.txt”不是可识别的图片文件"):
        report(demo, files, [("好照片.jpg", good), ("说明.txt", b"not an image")])
    with pytest.raises(ValidationError, match="太大"):
        report(demo, files, [("大.jpg", good + b"\0" * MAX_BYTES)])
    assert counts(demo) == before and stored_files(files.root) == []

    iid = report(demo, files, [])
    before = counts(demo)
    with demo.session() as s:
        staff = actor_for(s, "staff")
    with pytest.raises(ValidationError, match="不是可识别的图片文件"), demo.session(staff) as s:
        move(s, iid, "accept", attachments=[("x.jpg", b"GIF89a broken")], files=files)
    with demo.session() as s:
        assert s.get(Incident, iid).status == "reported"
    assert counts(demo) == before and stored_files(files.root) == []


def test_a_leader_cannot_add_photos(demo: Store, files: AttachmentStore) -> None:
    with pytest.raises(PermissionDenied, match="领导"):
        report(demo, files, [("a.jpg", image_bytes())], who="leader")
    assert stored_files(files.root) == []


@pytest.mark.parametrize(("mode", "fmt"), [("I;16", "PNG"), ("P", "GIF"), ("LA", "PNG"), ("CMYK", "JPEG"),
                                           ("1", "BMP"), ("F", "TIFF"), ("RGBA", "WEBP")])
def test_every_accepted_kind_of_image_gets_a_jpeg_thumbnail(mode: str, fmt: str, files: AttachmentStore) -> None:
    out = io.BytesIO()
    Image.new(mode, (500, 400)).save(out, format=fmt)
    (photo,) = check_uploads([Upload(f"a.{fmt.lower()}", out.getvalue())])
    files.save(photo)
    with Image.open(files.thumbnail(photo.sha256, photo.mime)) as thumb:
        assert (thumb.format, thumb.size) == ("JPEG", (320, 256))

"""Bounded uploads (gis.limits): size, zip bombs judged from the central directory before any
decompression, bounded member reads, XML entities refused (defusedxml), points counted while
reading; every reader (gis.io.files, gis.patrol.tracks) goes through them and the messages name the limit.

The hostile files are made here: a ~3 MB zip whose member declares 3 GiB and whose data is not
valid deflate (any decompression attempt would fail with a different, "corrupt" message), a KML
with a billion-laughs entity, GPX/KML/CSV tracks with more points than a lowered limit."""

from __future__ import annotations

import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

from gis import io, limits
from gis.config import PROJECT_DIR
from gis.errors import FileFormatError, LimitError, RiverGridError
from gis.patrol import tracks as P

GIB = 1024**3
MB = 1024 * 1024

# -- hostile files ------------------------------------------------------------------------------


def _local_header(name: bytes, method: int, crc: int, csize: int, usize: int) -> bytes:
    return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, csize, usize, len(name), 0) + name


def _central_header(name: bytes, method: int, crc: int, csize: int, usize: int, offset: int) -> bytes:
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, csize, usize,
                       len(name), 0, 0, 0, 0, 0, offset) + name


def raw_zip(path: Path, members: list[tuple[str, int, bytes, int]]) -> Path:
    """A zip written byte by byte: (name, method, data as stored, declared unpacked size)."""
    body = b""
    central = b""
    for name, method, data, usize in members:
        n = name.encode()
        crc = zlib.crc32(data) if method == zipfile.ZIP_STORED else 0x12345678
        central += _central_header(n, method, crc, len(data), usize, len(body))
        body += _local_header(n, method, crc, len(data), usize) + data
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(body), 0)
    path.write_bytes(body + central + end)
    return path


def bomb_zip(path: Path) -> Path:
    """~3 MB: a shapefile whose .dbf declares 3 GiB (ratio ~1,000:1). Its 'deflate' data starts
    with the reserved block type 3, so zlib fails at the first byte if anything tries to unpack it."""
    return raw_zip(path, [
        ("grids.shp", zipfile.ZIP_STORED, b"\x00" * 100, 100),
        ("grids.shx", zipfile.ZIP_STORED, b"\x00" * 100, 100),
        ("grids.dbf", zipfile.ZIP_DEFLATED, b"\xff" * (3 * MB), 3 * GIB),
    ])


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE kml [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>&lol9;</name>
<LineString><coordinates>126.90,41.79 126.97,41.81</coordinates></LineString></Placemark></Document></kml>
"""


def gpx_track(path: Path, n: int) -> Path:
    pts = "".join(f'<trkpt lat="{41.8 + k * 1e-5:.6f}" lon="126.9"><time>2026-11-04T01:00:{k % 60:02d}Z</time></trkpt>'
                  for k in range(n))
    path.write_text('<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="t" '
                    f'xmlns="http://www.topografix.com/GPX/1/1"><trk><name>巡河</name><trkseg>{pts}</trkseg></trk></gpx>',
                    encoding="utf-8")
    return path


def cli(*args: str, url: str = "sqlite://") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gis", *args, "--database-url", url], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def no_decompression(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to read a member's data fails the test."""
    def refuse(*_a, **_k):  # type: ignore[no-untyped-def]
        raise AssertionError("a zip member was decompressed")

    for name in ("open", "read", "testzip", "extract", "extractall"):
        monkeypatch.setattr(zipfile.ZipFile, name, refuse)


# -- zip bombs ----------------------------------------------------------------------------------


def test_the_bomb_is_what_it_claims(tmp_path: Path) -> None:
    path = bomb_zip(tmp_path / "bomb.zip")
    assert 3 * MB < path.stat().st_size < 3.1 * MB
    with zipfile.ZipFile(path) as zf:
        dbf = zf.getinfo("grids.dbf")
        assert dbf.file_size == 3 * GIB and dbf.compress_size == 3 * MB
        with pytest.raises(zlib.error):  # its data is not deflate: unpacking it fails at once
            zf.open(dbf).read(1)


@pytest.mark.usefixtures("no_decompression")
def test_bomb_zip_is_refused_from_the_central_directory(tmp_path: Path) -> None:
    path = bomb_zip(tmp_path / "bomb.zip")
    for read in (io.inspect, io.read_layer):
        with pytest.raises(LimitError, match=r"“grids\.dbf”声明解压后 3,072\.0 MB，压缩比约 1,024:1.*100:1.*RIVERGRID_MAX_RATIO"):
            read(path)


@pytest.mark.usefixtures("no_decompression")
def test_kmz_bomb_is_refused_by_both_readers(tmp_path: Path) -> None:
    path = raw_zip(tmp_path / "轨迹.kmz", [("doc.kml", zipfile.ZIP_DEFLATED, b"\xff" * (2 * MB), 2 * GIB)])
    with pytest.raises(LimitError, match="疑似压缩炸弹"):
        io.inspect(path)
    with pytest.raises(LimitError, match="疑似压缩炸弹"):
        P.read_tracks(path)


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite'}"
    assert cli("init-demo", url=url).returncode == 0
    return url


@pytest.mark.parametrize("command", ["inspect", "import"])
def test_bomb_zip_is_refused_on_the_command_line_without_unpacking(tmp_path: Path, command: str,
                                                                   demo_sqlite: str) -> None:
    path = bomb_zip(tmp_path / "bomb.zip")
    extra = ["--as", "grids", "--default", "parent=临江市森工街道办事处"] if command == "import" else []
    proc = cli(command, str(path), *extra, url=demo_sqlite)
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("错误：压缩包“bomb.zip”中的“grids.dbf”") and "疑似压缩炸弹，未解压" in line
    assert "损坏" not in line  # a decompression attempt would have failed on the invalid deflate data


def test_total_unpacked_size_and_member_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gdf = gpd.GeoDataFrame({"name": ["甲"]}, geometry=[box(126.9, 41.8, 126.91, 41.81)], crs="EPSG:4326")
    zipped = io.write_layer(gdf, tmp_path / "ok.zip", fmt="shp")
    with zipfile.ZipFile(zipped) as zf:
        total = sum(i.file_size for i in zf.infolist())
    monkeypatch.setenv("RIVERGRID_MAX_UNPACKED_MB", str(total / MB * 0.99))
    with pytest.raises(LimitError, match=r"解压后共 0\.0 MB，超过 .* MB 的上限（RIVERGRID_MAX_UNPACKED_MB）"):
        io.read_layer(zipped)
    monkeypatch.setenv("RIVERGRID_MAX_UNPACKED_MB", str(total / MB * 1.01))
    assert io.read_layer(zipped).gdf["name"].tolist() == ["甲"]

    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for k in range(limits.MAX_ARCHIVE_MEMBERS + 1):
            zf.writestr(f"f{k}.txt", b"")
    with pytest.raises(LimitError, match=r"有 1,001 个文件，超过 1,000 个的上限"):
        io.inspect(many)


def test_small_members_compressing_well_are_not_bombs(tmp_path: Path) -> None:
    """A blank-padded .dbf of a few hundred KB compresses several hundred times: still accepted."""
    gdf = gpd.GeoDataFrame({"name": ["甲"] * 300, "note": [" " * 250] * 300},
                           geometry=[box(126.9, 41.8, 126.91, 41.81)] * 300, crs="EPSG:4326")
    zipped = io.write_layer(gdf, tmp_path / "blank.zip", fmt="shp")
    with zipfile.ZipFile(zipped) as zf:
        dbf = next(i for i in zf.infolist() if i.filename.endswith(".dbf"))
    assert dbf.file_size / dbf.compress_size > 100 and dbf.file_size < limits.RATIO_FLOOR_BYTES
    assert len(io.read_layer(zipped).gdf) == 300


def test_a_member_yielding_more_than_it_declares_is_stopped(tmp_path: Path) -> None:
    """The directory says 1,000 bytes; the deflate data holds 10 MB of zeros. Reading stops at the
    declared size (+ margin): the read is refused, never 10 MB."""
    data = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = data.compress(b"\x00" * (10 * MB)) + data.flush()
    path = raw_zip(tmp_path / "liar.kmz", [("doc.kml", zipfile.ZIP_DEFLATED, stream, 1000)])
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("doc.kml")
        with pytest.raises(RiverGridError, match="doc.kml") as caught:
            limits.read_member(zf, info, "liar.kmz")
    assert isinstance(caught.value, (LimitError, FileFormatError))
    with pytest.raises(RiverGridError, match="doc.kml"):
        P.read_tracks(path)


def test_shapefile_zip_members_never_leave_the_temporary_folder(tmp_path: Path) -> None:
    """Member names with ../ are not used as paths (nothing is written beside the upload)."""
    gdf = gpd.GeoDataFrame({"name": ["甲"]}, geometry=[box(126.9, 41.8, 126.91, 41.81)], crs="EPSG:4326")
    shp_zip = io.write_layer(gdf, tmp_path / "src.zip", fmt="shp")
    evil = tmp_path / "up" / "evil.zip"
    evil.parent.mkdir()
    with zipfile.ZipFile(shp_zip) as src, zipfile.ZipFile(evil, "w") as dst:
        for info in src.infolist():
            dst.writestr("../../" + info.filename, src.read(info))
    assert io.read_layer(evil).gdf["name"].tolist() == ["甲"]
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["evil.zip", "src.zip"]


# -- file size ------------------------------------------------------------------------------------


def test_file_size_limit_names_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIVERGRID_MAX_FILE_MB", "1")
    big = gpx_track(tmp_path / "big.gpx", 15_000)
    size = big.stat().st_size
    assert 1 * MB < size < 2 * MB
    expected = f"文件过大：{size / MB:.1f} MB，上限 1 MB（RIVERGRID_MAX_FILE_MB）"
    for read in (io.inspect, io.read_gpx_tracks, P.read_tracks):
        with pytest.raises(LimitError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            read(big)
    with pytest.raises(LimitError, match="文件过大"):
        limits.check_size(size, "upload.gpx")  # uploads are checked before they are written
    monkeypatch.setenv("RIVERGRID_MAX_FILE_MB", "2")
    assert len(P.read_tracks(big)[0]) == 15_000


# -- XML ------------------------------------------------------------------------------------------


def test_billion_laughs_kml_is_refused_by_every_reader(tmp_path: Path) -> None:
    path = tmp_path / "laughs.kml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    for read in (io.inspect, io.read_layer, P.read_tracks):
        with pytest.raises(LimitError, match="XML 实体声明.*XML 炸弹"):
            read(path)
    kmz = tmp_path / "laughs.kmz"
    with zipfile.ZipFile(kmz, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", BILLION_LAUGHS)
    for read in (io.inspect, P.read_tracks):
        with pytest.raises(LimitError, match="XML 炸弹"):
            read(kmz)


def test_external_entities_in_gpx_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("密码", encoding="utf-8")
    path = tmp_path / "xxe.gpx"
    path.write_text(f'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY x SYSTEM "file://{secret}">]>'
                    '<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>&x;</name>'
                    '<trkseg><trkpt lat="41.8" lon="126.9"/></trkseg></trk></gpx>', encoding="utf-8")
    for read in (io.inspect, io.read_gpx_tracks, P.read_tracks):
        with pytest.raises(LimitError, match="XML"):
            read(path)


# -- points ---------------------------------------------------------------------------------------


def test_too_many_track_points_are_refused_while_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIVERGRID_MAX_TRACK_POINTS", "100")
    gpx = gpx_track(tmp_path / "long.gpx", 101)
    csv = tmp_path / "long.csv"
    csv.write_text("lon,lat,time\n" + "".join(f"126.9,41.8,2026-11-04 09:{k // 60:02d}:{k % 60:02d}\n"
                                               for k in range(101)), encoding="utf-8")
    kml = tmp_path / "long.kml"
    kml.write_text('<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2" '
                   'xmlns:gx="http://www.google.com/kml/ext/2.2"><Placemark><gx:Track>'
                   + "".join(f"<when>2026-11-04T01:00:{k % 60:02d}Z</when>" for k in range(101))
                   + "".join("<gx:coord>126.9 41.8 0</gx:coord>" for _ in range(101))
                   + "</gx:Track></Placemark></kml>", encoding="utf-8")
    for path in (gpx, csv, kml):
        with pytest.raises(LimitError, match=rf"“{path.name}”中的点超过 100 个的上限（RIVERGRID_MAX_TRACK_POINTS）"):
            P.read_tracks(path)
        with pytest.raises(LimitError, match="RIVERGRID_MAX_TRACK_POINTS"):
            io.inspect(path)
    monkeypatch.setenv("RIVERGRID_MAX_TRACK_POINTS", "101")
    assert [len(P.read_tracks(p)[0]) for p in (gpx, csv, kml)] == [101, 101, 101]


def test_too_many_points_on_the_command_line(tmp_path: Path) -> None:
    path = gpx_track(tmp_path / "long.gpx", 101)
    proc = subprocess.run([sys.executable, "-m", "gis", "inspect", str(path), "--database-url", "sqlite://"],
                          cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "RIVERGRID_MAX_TRACK_POINTS": "100"})
    assert proc.returncode == 2
    assert "错误：文件“long.gpx”中的点超过 100 个的上限（RIVERGRID_MAX_TRACK_POINTS）" in proc.stderr

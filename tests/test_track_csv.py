"""CSV patrol tracks go through the one CSV reader (gis.io.files.read_csv_rows): the same
encodings (UTF-8, else GB18030, a superset of GBK), and times without a zone in Beijing time
(gis.model.LOCAL_TZ)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gis.errors import FileFormatError
from gis.io.files import read_layer
from gis.patrol.tracks import local_text, read_tracks

ROWS = [(126.91, 41.80, "2026-11-04 09:00:00", "起点"), (126.911, 41.801, "2026-11-04 09:00:30", "䶮石桥"),
        (126.912, 41.802, "2026-11-04 09:01:00", "终点")]


def write(path: Path, header: str, encoding: str) -> Path:
    path.write_bytes((header + "\n" + "\n".join(",".join(map(str, r)) for r in ROWS) + "\n").encode(encoding))
    return path


def test_a_gb18030_track_reads_like_its_utf8_copy_and_like_the_point_reader(tmp_path: Path) -> None:
    # "䶮" (U+4DAE) exists in GB18030 but not in GBK: a GBK reader would refuse the file
    with pytest.raises(UnicodeEncodeError):
        "䶮".encode("gbk")
    utf8 = write(tmp_path / "u.csv", "经度,纬度,时间,备注", "utf-8")
    gb = write(tmp_path / "g.csv", "经度,纬度,时间,备注", "gb18030")
    (a,), (b,) = read_tracks(utf8), read_tracks(gb)
    np.testing.assert_array_equal(a.lon, b.lon)
    np.testing.assert_array_equal(a.times, b.times)
    # Beijing time without a zone: 09:00 local is 01:00 UTC, and back
    assert str(b.times[0]) == "2026-11-04T01:00:00.000000000"
    assert local_text(b.times[0]) == "2026-11-04 09:00:00"
    # the point reader of the same file (gis.io.files) sees the same coordinates and the note
    points = read_layer(gb).gdf
    np.testing.assert_allclose(points.geometry.x, b.lon)
    assert points["备注"].tolist()[1] == "䶮石桥"


def test_missing_columns_are_named_with_every_column_of_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "lng,纬度,时刻,备注", "gb18030")
    with pytest.raises(FileFormatError, match="缺少列：时间 time；现有列：lng、纬度、时刻、备注"):
        read_tracks(path)

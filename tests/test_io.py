"""Tests of gis.io.files: inspecting, reading and writing geodata files.

Every input file is made here in ``tmp_path``: GeoJSON, KML and GPX as literal text (as a phone
app or Google Earth would write them), shapefiles and GeoPackages with pyogrio, zips with
zipfile. Geometry is illustrative (示意) and near Linjiang (126.9°E, 41.8°N).
"""

from __future__ import annotations

import json
import warnings
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from gis.errors import CoordinateRangeError, CRSError, FileFormatError, GeometryError, LayerNotFoundError
from gis.geometry.crs import wgs84_to_bd09, wgs84_to_gcj02
from gis.io import GpxTrack, LayerInfo, ReadResult, inspect, read_gpx_tracks, read_layer, write_layer

# Two illustrative village grids (示意) side by side, in WGS84 lon/lat.
DONGXING = box(126.90, 41.80, 126.95, 41.83)
SENGONG = box(126.95, 41.80, 127.00, 41.83)


@pytest.fixture
def grids() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": ["森工街道东兴村", "森工街道森工社区"],
            "负责人": ["何兆花", "管荣波"],
            "户数": [312, 1045],
            "updated": pd.to_datetime(["2024-05-01T08:30:00Z", "2024-06-15T23:59:59Z"]),
        },
        geometry=[DONGXING, SENGONG],
        crs="EPSG:4326",
    )


def _write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def _geod_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(pyproj.Geod(ellps="WGS84").inv(a[0], a[1], b[0], b[1])[2])


def _assert_bounds(actual: tuple[float, float, float, float] | None, expected: tuple[float, ...], tol: float = 1e-9) -> None:
    assert actual is not None
    np.testing.assert_allclose(actual, expected, atol=tol, rtol=0)


GEOJSON_TEXT = """{
  "type": "FeatureCollection",
  "features": [
    {"type": "Feature", "properties": {"name": "鸭绿江临江段", "河长": "孙凤海"},
     "geometry": {"type": "LineString", "coordinates": [[126.90, 41.79], [126.93, 41.80], [126.97, 41.81]]}},
    {"type": "Feature", "properties": {"name": "二道沟", "河长": "李鑫"},
     "geometry": {"type": "LineString", "coordinates": [[126.92, 41.82], [126.94, 41.85]]}}
  ]
}"""

KML_TEXT = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
<Document>
  <name>临江河道（示意）</name>
  <Folder>
    <name>河段</name>
    <Placemark>
      <name>鸭绿江临江段</name>
      <description>示意</description>
      <ExtendedData><Data name="河长"><value>孙凤海</value></Data></ExtendedData>
      <LineString><coordinates>126.90,41.79,0 126.97,41.81,0</coordinates></LineString>
    </Placemark>
  </Folder>
  <Folder>
    <name>监测点</name>
    <Placemark><name>一号点</name><Point><coordinates>126.91,41.805</coordinates></Point></Placemark>
    <Placemark><name>二号点</name><Point><coordinates>126.93,41.815</coordinates></Point></Placemark>
    <Placemark><name>三号点</name><Point><coordinates>126.96,41.825</coordinates></Point></Placemark>
  </Folder>
</Document>
</kml>
"""

GPX_TEXT = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="手机巡河 App" xmlns="http://www.topografix.com/GPX/1/1">
  <wpt lat="41.8000" lon="126.9000"><name>起点</name></wpt>
  <trk>
    <name>东兴村日常巡查</name>
    <trkseg>
      <trkpt lat="41.8000" lon="126.9000"><ele>420</ele><time>2024-05-01T08:00:00Z</time></trkpt>
      <trkpt lat="41.8010" lon="126.9020"><ele>421</ele><time>2024-05-01T08:02:00Z</time></trkpt>
    </trkseg>
    <trkseg>
      <trkpt lat="41.8020" lon="126.9040"><time>2024-05-01T08:10:00Z</time></trkpt>
      <trkpt lat="41.8030" lon="126.9060"><time>2024-05-01T08:12:00Z</time></trkpt>
      <trkpt lat="41.8040" lon="126.9080"><time>2024-05-01T08:14:00Z</time></trkpt>
    </trkseg>
    <trkseg>
      <trkpt lat="41.8050" lon="126.9100"><time>2024-05-01T08:20:00Z</time></trkpt>
    </trkseg>
  </trk>
  <trk>
    <name>森工社区巡查</name>
    <trkseg>
      <trkpt lat="41.8100" lon="126.9600"></trkpt>
      <trkpt lat="41.8120" lon="126.9650"><time>2024-05-02T17:30:00+08:00</time></trkpt>
    </trkseg>
  </trk>
</gpx>
"""


# --- inspect ----------------------------------------------------------------------------------


def test_inspect_geojson(tmp_path: Path) -> None:
    path = _write_text(tmp_path / "河段.geojson", GEOJSON_TEXT)
    [info] = inspect(path)
    assert isinstance(info, LayerInfo)
    assert (info.name, info.geometry_type, info.features, info.crs) == ("河段", "LineString", 2, "EPSG:4326")
    _assert_bounds(info.bounds_wgs84, (126.90, 41.79, 126.97, 41.85))
    assert info.to_dict() == {
        "name": "河段",
        "geometry_type": "LineString",
        "features": 2,
        "crs": "EPSG:4326",
        "bounds_wgs84": list(info.bounds_wgs84),  # type: ignore[arg-type]
    }
    json.dumps(info.to_dict(), ensure_ascii=False)


def test_inspect_shapefile_in_gauss_kruger_bounds_match_independent_transform(tmp_path: Path) -> None:
    corners = (505000.0, 4627000.0, 509000.0, 4630000.0)  # metres, CGCS2000 GK CM 126E
    gdf = gpd.GeoDataFrame({"名称": ["示意网格"]}, geometry=[box(*corners)], crs="EPSG:4551")
    gdf.to_file(tmp_path / "grid.shp", engine="pyogrio")
    [info] = inspect(tmp_path / "grid.shp")
    assert (info.name, info.geometry_type, info.features, info.crs) == ("grid", "Polygon", 1, "EPSG:4551")

    to_wgs = pyproj.Transformer.from_crs("EPSG:4551", "EPSG:4326", always_xy=True)
    xs, ys = to_wgs.transform([corners[0], corners[2], corners[2], corners[0]], [corners[1], corners[1], corners[3], corners[3]])
    _assert_bounds(info.bounds_wgs84, (min(xs), min(ys), max(xs), max(ys)), tol=1e-6)
    assert 126.0 < info.bounds_wgs84[0] < 127.0 and 41.0 < info.bounds_wgs84[1] < 42.0  # type: ignore[index]


def test_inspect_zip_with_shapefile_in_a_folder(tmp_path: Path, grids: gpd.GeoDataFrame) -> None:
    src = tmp_path / "src"
    src.mkdir()
    grids.drop(columns="updated").to_file(src / "村级网格.shp", engine="pyogrio")
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in src.iterdir():
            zf.write(part, f"临江/网格/{part.name}")
        zf.writestr("__MACOSX/临江/网格/._村级网格.shp", b"junk")
    [info] = inspect(archive)
    assert (info.name, info.features, info.crs) == ("村级网格", 2, "EPSG:4326")
    _assert_bounds(info.bounds_wgs84, (126.90, 41.80, 127.00, 41.83))

    result = read_layer(archive)
    assert result.gdf["负责人"].tolist() == ["何兆花", "管荣波"]


def test_inspect_geopackage_lists_all_layers(tmp_path: Path, grids: gpd.GeoDataFrame) -> None:
    path = tmp_path / "linjiang.gpkg"
    grids.to_file(path, layer="村级网格", engine="pyogrio")
    rivers = gpd.GeoDataFrame({"name": ["鸭绿江"]}, geometry=[LineString([(126.90, 41.79), (126.97, 41.81)])], crs=4326)
    rivers.to_crs("EPSG:4490").to_file(path, layer="河流", engine="pyogrio")
    infos = {i.name: i for i in inspect(path)}
    assert set(infos) == {"村级网格", "河流"}
    assert (infos["村级网格"].features, infos["村级网格"].geometry_type, infos["村级网格"].crs) == (2, "Polygon", "EPSG:4326")
    assert (infos["河流"].features, infos["河流"].geometry_type, infos["河流"].crs) == (1, "LineString", "EPSG:4490")
    # EPSG:4490 is latitude-first by definition; the reported bounds are still lon/lat.
    _assert_bounds(infos["河流"].bounds_wgs84, (126.90, 41.79, 126.97, 41.81), tol=1e-6)


def test_inspect_kml_one_layer_per_folder(tmp_path: Path) -> None:
    path = _write_text(tmp_path / "河道.kml", KML_TEXT)
    infos = inspect(path)
    assert [(i.name, i.geometry_type, i.features, i.crs) for i in infos] == [
        ("河段", "LineString", 1, "EPSG:4326"),
        ("监测点", "Point", 3, "EPSG:4326"),
    ]
    _assert_bounds(infos[1].bounds_wgs84, (126.91, 41.805, 126.96, 41.825))


def test_inspect_and_read_kmz(tmp_path: Path) -> None:
    path = tmp_path / "河道.kmz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("doc.kml", KML_TEXT)
    assert [i.name for i in inspect(path)] == ["河段", "监测点"]
    result = read_layer(path, layer="监测点")
    assert result.gdf["name"].tolist() == ["一号点", "二号点", "三号点"]


def test_inspect_gpx_reports_only_non_empty_layers(tmp_path: Path) -> None:
    path = _write_text(tmp_path / "巡河.gpx", GPX_TEXT)
    infos = {i.name: i for i in inspect(path)}
    assert set(infos) == {"tracks", "waypoints", "track_points"}
    assert infos["tracks"].features == 2 and infos["tracks"].geometry_type == "MultiLineString"
    assert infos["track_points"].features == 8
    assert infos["waypoints"].features == 1
    _assert_bounds(infos["track_points"].bounds_wgs84, (126.90, 41.80, 126.965, 41.812))


@pytest.mark.parametrize(
    ("header", "encoding"),
    [("名称,经度,纬度", "utf-8"), ("name,LNG,Lat", "utf-8"), ("名称,Longitude,LATITUDE", "gbk"), ("id,X,y", "utf-8-sig")],
)
def test_inspect_csv_with_lon_lat_columns(tmp_path: Path, header: str, encoding: str) -> None:
    path = _write_text(tmp_path / "点位.csv", f"{header}\n一号点,126.91,41.805\n二号点,126.96,41.825\n", encoding)
    [info] = inspect(path)
    assert (info.name, info.geometry_type, info.features, info.crs) == ("点位", "Point", 2, "EPSG:4326")
    _assert_bounds(info.bounds_wgs84, (126.91, 41.805, 126.96, 41.825))


def test_inspect_shapefile_without_prj_has_no_crs_until_given(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[Point(507000.0, 4628000.0)], crs="EPSG:4551")
    gdf.to_file(tmp_path / "noprj.shp", engine="pyogrio")
    (tmp_path / "noprj.prj").unlink()
    [info] = inspect(tmp_path / "noprj.shp")
    assert info.crs is None and info.bounds_wgs84 is None and info.features == 1
    [info] = inspect(tmp_path / "noprj.shp", crs="EPSG:4551")
    assert info.crs == "EPSG:4551"
    lon, lat = pyproj.Transformer.from_crs(4551, 4326, always_xy=True).transform(507000.0, 4628000.0)
    _assert_bounds(info.bounds_wgs84, (lon, lat, lon, lat), tol=1e-7)


# --- read_layer: good input -----------------------------------------------------------------


def test_read_geojson(tmp_path: Path) -> None:
    result = read_layer(_write_text(tmp_path / "河段.geojson", GEOJSON_TEXT))
    assert isinstance(result, ReadResult)
    assert (result.layer, result.source_crs, result.warnings) == ("河段", "EPSG:4326", [])
    assert result.gdf.crs == "EPSG:4326"
    assert result.gdf["河长"].tolist() == ["孙凤海", "李鑫"]
    assert result.gdf.geometry.iloc[1].equals_exact(LineString([(126.92, 41.82), (126.94, 41.85)]), tolerance=1e-12)


def test_read_kml_keeps_chinese_extended_data_names(tmp_path: Path) -> None:
    result = read_layer(_write_text(tmp_path / "河道.kml", KML_TEXT), layer="河段")
    gdf = result.gdf
    assert set(gdf.columns) == {"name", "description", "河长", "geometry"}
    assert (gdf["name"].iloc[0], gdf["河长"].iloc[0], gdf["description"].iloc[0]) == ("鸭绿江临江段", "孙凤海", "示意")
    assert not gdf.geometry.has_z.any()  # 2D even though the KML had altitude 0


def test_read_kml_without_layer_reads_first_with_warning(tmp_path: Path) -> None:
    result = read_layer(_write_text(tmp_path / "河道.kml", KML_TEXT))
    assert result.layer == "河段"
    assert any("2 个图层" in w and "河段" in w for w in result.warnings)


def test_read_gpx_default_layer_is_tracks(tmp_path: Path) -> None:
    result = read_layer(_write_text(tmp_path / "巡河.gpx", GPX_TEXT))
    assert result.layer == "tracks"
    assert result.gdf["name"].tolist() == ["东兴村日常巡查", "森工社区巡查"]
    first = result.gdf.geometry.iloc[0]
    # The one-point third segment cannot form a line; the two real segments stay.
    assert first.geom_type == "MultiLineString" and len(first.geoms) == 2
    assert list(first.geoms[1].coords) == [(126.904, 41.802), (126.906, 41.803), (126.908, 41.804)]


def test_read_projected_shapefile_with_crs_argument_and_prj(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[Point(507000.0, 4628000.0)], crs="EPSG:4551")
    gdf.to_file(tmp_path / "gk.shp", engine="pyogrio")
    result = read_layer(tmp_path / "gk.shp")
    lon, lat = pyproj.Transformer.from_crs(4551, 4326, always_xy=True).transform(507000.0, 4628000.0)
    assert result.source_crs == "EPSG:4551"
    assert result.gdf.geometry.iloc[0].equals_exact(Point(lon, lat), tolerance=1e-9)

    (tmp_path / "gk.prj").unlink()
    result = read_layer(tmp_path / "gk.shp", crs="EPSG:4551")
    assert result.source_crs == "EPSG:4551"
    assert result.gdf.geometry.iloc[0].equals_exact(Point(lon, lat), tolerance=1e-9)


def test_read_file_crs_wins_over_given_crs_with_warning(tmp_path: Path, grids: gpd.GeoDataFrame) -> None:
    grids.to_file(tmp_path / "g.gpkg", engine="pyogrio")
    result = read_layer(tmp_path / "g.gpkg", crs="EPSG:4551")
    assert result.source_crs == "EPSG:4326"
    assert any("已忽略指定的 EPSG:4551" in w for w in result.warnings)


def test_read_csv_is_wgs84_by_default_and_refuses_rows_without_coordinates(tmp_path: Path) -> None:
    text = "名称,lon,lat,备注\n一号点,126.91,41.805,好\n二号点,,41.81,缺经度\n三号点,126.96,41.825,好\n"
    with pytest.raises(GeometryError, match=r"第 2 个要素（二号点）的坐标无效（经度空.*CSV 第 3 行"):
        read_layer(_write_text(tmp_path / "点位.csv", text))  # refused, never silently dropped
    result = read_layer(_write_text(tmp_path / "点位.csv", text.replace(",,41.81", ",126.93,41.81")))
    assert result.source_crs == "EPSG:4326"
    assert result.gdf["名称"].tolist() == ["一号点", "二号点", "三号点"]
    assert "lon" not in result.gdf.columns and "lat" not in result.gdf.columns


def test_read_csv_gcj02_offset_is_converted(tmp_path: Path) -> None:
    gcj_lon, gcj_lat = (float(v) for v in wgs84_to_gcj02(126.9, 41.8))
    path = _write_text(tmp_path / "高德.csv", f"名称,lng,lat\n甲,{gcj_lon!r},{gcj_lat!r}\n")
    result = read_layer(path, source_offset="gcj02")
    point = result.gdf.geometry.iloc[0]
    assert (point.x, point.y) == pytest.approx((126.9, 41.8), abs=1e-7)
    # Without the option the point would be some 500 m off.
    raw = read_layer(path).gdf.geometry.iloc[0]
    assert abs(raw.x - 126.9) > 1e-3


def test_read_geojson_bd09_offset(tmp_path: Path) -> None:
    result = read_layer(_write_text(tmp_path / "百度.geojson", GEOJSON_TEXT), source_offset="bd09")
    start = result.gdf.geometry.iloc[0].coords[0]
    bd_lon, bd_lat = wgs84_to_bd09(*start)
    assert (float(bd_lon), float(bd_lat)) == pytest.approx((126.90, 41.79), abs=1e-7)
    assert _geod_m(start, (126.90, 41.79)) > 500.0  # BD-09 is further off than GCJ-02


def test_read_cgcs2000_geographic_file_comes_out_lon_lat(tmp_path: Path, grids: gpd.GeoDataFrame) -> None:
    grids.drop(columns="updated").to_crs("EPSG:4490").to_file(tmp_path / "cgcs.shp", engine="pyogrio")
    result = read_layer(tmp_path / "cgcs.shp")
    assert result.source_crs == "EPSG:4490"
    assert result.gdf.total_bounds == pytest.approx((126.90, 41.80, 127.00, 41.83), abs=1e-6)


def test_read_does_not_return_shared_state(tmp_path: Path) -> None:
    path = _write_text(tmp_path / "河段.geojson", GEOJSON_TEXT)
    first = read_layer(path)
    first.gdf.loc[0, "河长"] = "改过"
    assert read_layer(path).gdf["河长"].iloc[0] == "孙凤海"


# --- encodings of shapefiles --------------------------------------------------------------------


def test_gbk_shapefile_without_cpg_is_detected(tmp_path: Path, grids: gpd.GeoDataFrame) -> None:
    pyogrio.write_dataframe(grids.drop(columns="updated"), tmp_path / "gbk.shp", encoding="GBK")
    (tmp_path / "gbk.cpg").unlink()
    assert "东兴村".encode("gbk") in (tmp_path / "gbk.dbf").read_bytes()

    result = read_layer(tmp_path / "gbk.shp")
    assert result.gdf["name"].tolist() == ["森工街道东兴村", "森工街道森工社区"]
    assert result.gdf["负责人"].tolist() == ["何兆花", "管荣波"]
    assert any("GBK" in w for w in result.warnings)


def test_gbk_shapefile_in_zip_without_cpg(tmp_path: Path, grids: gpd.GeoDataFrame) -> None:
    pyogrio.write_dataframe(grids.drop(columns="updated"), tmp_path / "gbk.shp", encoding="GBK")
    with zipfile.ZipFile(tmp_path / "gbk.zip", "w") as zf:
        for ext in (".shp", ".shx", ".dbf", ".prj"):
            zf.write(tmp_path / f"gbk{ext}", f"data/gbk{ext}")
    result = read_layer(tmp_path / "gbk.zip")
    assert result.gdf["负责人"].tolist() == ["何兆花", "管荣波"]
    assert any("GBK" in w for w in result.warnings)


def test_utf8_shapefile_without_cpg_reads_without_warning(tmp_path: Path, grids: gpd.GeoDataFrame) -> None:
    pyogrio.write_dataframe(grids.drop(columns="updated"), tmp_path / "u8.shp", encoding="UTF-8")
    (tmp_path / "u8.cpg").unlink()
    result = read_layer(tmp_path / "u8.shp")
    assert result.gdf["负责人"].tolist() == ["何兆花", "管荣波"]
    assert result.warnings == []


# --- read_layer: bad input ------------------------------------------------------------------


def test_empty_file_is_refused(tmp_path: Path) -> None:
    for name in ("empty.geojson", "empty.zip", "empty.csv", "empty.kml"):
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(FileFormatError, match="空"):
            inspect(tmp_path / name)
        with pytest.raises(FileFormatError, match="空"):
            read_layer(tmp_path / name)


def test_broken_zip_is_refused(tmp_path: Path, grids: gpd.GeoDataFrame) -> None:
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 this is not really a zip archive")
    with pytest.raises(FileFormatError, match="压缩包.*损坏"):
        read_layer(tmp_path / "broken.zip")

    grids.drop(columns="updated").to_file(tmp_path / "g.shp", engine="pyogrio")
    with zipfile.ZipFile(tmp_path / "whole.zip", "w") as zf:
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            zf.write(tmp_path / f"g{ext}", f"g{ext}")
    data = (tmp_path / "whole.zip").read_bytes()
    (tmp_path / "truncated.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match="压缩包"):
        inspect(tmp_path / "truncated.zip")


def test_zip_without_shapefile_or_with_incomplete_shapefile(tmp_path: Path, grids: gpd.GeoDataFrame) -> None:
    with zipfile.ZipFile(tmp_path / "docs.zip", "w") as zf:
        zf.writestr("说明.txt", "没有数据")
    with pytest.raises(FileFormatError, match=r"没有找到 Shapefile"):
        inspect(tmp_path / "docs.zip")

    grids.drop(columns="updated").to_file(tmp_path / "g.shp", engine="pyogrio")
    with zipfile.ZipFile(tmp_path / "part.zip", "w") as zf:
        zf.write(tmp_path / "g.shp", "g.shp")
    with pytest.raises(FileFormatError, match=r"缺少 \.shx、\.dbf"):
        read_layer(tmp_path / "part.zip")


def test_not_a_geodata_file_is_refused(tmp_path: Path) -> None:
    _write_text(tmp_path / "notes.geojson", "这不是 GeoJSON，只是一段文字。")
    with pytest.raises(FileFormatError, match="无法读取文件"):
        read_layer(tmp_path / "notes.geojson")
    _write_text(tmp_path / "report.docx", "x")
    with pytest.raises(FileFormatError, match="不支持的文件格式"):
        inspect(tmp_path / "report.docx")
    with pytest.raises(FileFormatError, match="找不到文件"):
        read_layer(tmp_path / "missing.gpkg")


def test_csv_without_coordinate_columns_is_refused(tmp_path: Path) -> None:
    path = _write_text(tmp_path / "名单.csv", "姓名,职务\n何兆花,东兴村书记\n")
    with pytest.raises(FileFormatError, match="经纬度列"):
        read_layer(path)


def test_file_without_features_is_refused(tmp_path: Path) -> None:
    path = _write_text(tmp_path / "空.geojson", '{"type": "FeatureCollection", "features": []}')
    with pytest.raises(FileFormatError, match="没有任何要素"):
        inspect(path)
    with pytest.raises(FileFormatError, match="没有任何要素"):
        read_layer(path)


def test_shapefile_without_prj_needs_a_crs(tmp_path: Path, grids: gpd.GeoDataFrame) -> None:
    grids.drop(columns="updated").to_file(tmp_path / "noprj.shp", engine="pyogrio")
    (tmp_path / "noprj.prj").unlink()
    with pytest.raises(CRSError, match="文件缺少坐标系（如 .prj），请指定坐标系，例如 EPSG:4326"):
        read_layer(tmp_path / "noprj.shp")
    assert read_layer(tmp_path / "noprj.shp", crs="EPSG:4326").source_crs == "EPSG:4326"
    with pytest.raises(CRSError, match="无法识别的坐标系"):
        read_layer(tmp_path / "noprj.shp", crs="EPSG:99999999")


def test_bow_tie_polygon_is_repaired_with_warning(tmp_path: Path) -> None:
    bow_tie = Polygon([(126.90, 41.80), (126.92, 41.82), (126.92, 41.80), (126.90, 41.82), (126.90, 41.80)])
    assert not bow_tie.is_valid
    gdf = gpd.GeoDataFrame({"name": ["正常网格", "蝴蝶结网格"]}, geometry=[DONGXING, bow_tie], crs="EPSG:4326")
    gdf.to_file(tmp_path / "bad.gpkg", engine="pyogrio")

    result = read_layer(tmp_path / "bad.gpkg")
    repaired = result.gdf.geometry.iloc[1]
    assert repaired.is_valid and repaired.geom_type == "MultiPolygon" and len(repaired.geoms) == 2
    assert repaired.area == pytest.approx(2 * 0.5 * 0.02 * 0.01, rel=1e-9)  # two triangles
    assert result.gdf.geometry.iloc[0].equals(DONGXING)
    [warning] = result.warnings
    assert "第 2 个要素（蝴蝶结网格）" in warning and "自相交" in warning and "修复" in warning


def test_repair_keeps_polygon_family(tmp_path: Path) -> None:
    # A polygon with a dangling spike: "linework" repair would give a GeometryCollection with a line.
    spike = Polygon([(126.90, 41.80), (126.92, 41.80), (126.92, 41.82), (126.95, 41.82), (126.92, 41.82), (126.90, 41.82)])
    gdf = gpd.GeoDataFrame({"name": ["带尖刺"]}, geometry=[spike], crs="EPSG:4326")
    gdf.to_file(tmp_path / "spike.gpkg", engine="pyogrio")
    result = read_layer(tmp_path / "spike.gpkg")
    geom = result.gdf.geometry.iloc[0]
    assert geom.geom_type in ("Polygon", "MultiPolygon") and geom.is_valid
    assert geom.area == pytest.approx(0.02 * 0.02, rel=1e-9)
    assert any("带尖刺" in w for w in result.warnings)


def test_empty_and_missing_geometries_are_dropped_with_warning(tmp_path: Path) -> None:
    text = """{"type": "FeatureCollection", "features": [
      {"type": "Feature", "properties": {"name": "有"}, "geometry": {"type": "Point", "coordinates": [126.9, 41.8]}},
      {"type": "Feature", "properties": {"name": "无"}, "geometry": null},
      {"type": "Feature", "properties": {"name": "空"}, "geometry": {"type": "MultiPoint", "coordinates": []}}
    ]}"""
    result = read_layer(_write_text(tmp_path / "点.geojson", text))
    assert result.gdf["name"].tolist() == ["有"]
    assert list(result.gdf.index) == [0]
    [warning] = result.warnings
    assert "第 2 个要素（无）" in warning and "第 3 个要素（空）" in warning and "跳过" in warning


def test_swapped_lat_lon_is_refused(tmp_path: Path) -> None:
    path = _write_text(tmp_path / "颠倒.csv", "名称,lon,lat\n甲,41.8,126.9\n乙,41.81,126.92\n")
    with pytest.raises(CoordinateRangeError, match="经纬度可能颠倒"):
        read_layer(path)
    swapped_geojson = """{"type": "FeatureCollection", "features": [
      {"type": "Feature", "properties": {"name": "鸭绿江临江段"},
       "geometry": {"type": "LineString", "coordinates": [[41.79, 126.90], [41.80, 126.93], [41.81, 126.97]]}}
    ]}"""
    with pytest.raises(CoordinateRangeError, match="经纬度可能颠倒"):
        read_layer(_write_text(tmp_path / "颠倒.geojson", swapped_geojson))


def test_projected_numbers_without_crs_are_refused(tmp_path: Path) -> None:
    path = _write_text(tmp_path / "米.csv", "名称,x,y\n甲,507000,4628000\n")
    with pytest.raises(CoordinateRangeError, match="投影坐标"):
        read_layer(path)
    [info] = inspect(path)  # inspect reports, but cannot state WGS84 bounds
    assert info.bounds_wgs84 is None
    result = read_layer(path, crs="EPSG:4551")
    assert 126.0 < result.gdf.geometry.iloc[0].x < 127.0

    text = '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, ' \
           '"geometry": {"type": "Point", "coordinates": [507000, 4628000]}}]}'
    with pytest.raises(CoordinateRangeError, match="投影坐标"):
        read_layer(_write_text(tmp_path / "米.geojson", text))


def test_unknown_layer_lists_available_layers(tmp_path: Path) -> None:
    path = _write_text(tmp_path / "河道.kml", KML_TEXT)
    with pytest.raises(LayerNotFoundError, match="没有名为“水库”的图层.*河段、监测点"):
        read_layer(path, layer="水库")
    gpx = _write_text(tmp_path / "巡河.gpx", GPX_TEXT)
    with pytest.raises(LayerNotFoundError, match="routes.*tracks、waypoints、track_points"):
        read_layer(gpx, layer="routes")  # exists in GPX but is empty


def test_unknown_offset_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CRSError, match="坐标偏移"):
        read_layer(_write_text(tmp_path / "河段.geojson", GEOJSON_TEXT), source_offset="mars")


# --- write_layer and round trips ----------------------------------------------------------------


def _assert_same_features(back: gpd.GeoDataFrame, original: gpd.GeoDataFrame, tolerance: float) -> None:
    assert len(back) == len(original)
    for got, want in zip(back.geometry, original.to_crs("EPSG:4326").geometry, strict=True):
        assert got.normalize().equals_exact(want.normalize(), tolerance=tolerance)
    assert back["name"].tolist() == original["name"].tolist()
    assert back["负责人"].tolist() == original["负责人"].tolist()
    assert [int(v) for v in back["户数"]] == original["户数"].tolist()


def _as_utc(values: pd.Series) -> list[datetime]:
    return [t.to_pydatetime() for t in pd.to_datetime(values, utc=True)]


@pytest.mark.parametrize(("fmt", "name", "tolerance"), [
    ("gpkg", "out.gpkg", 1e-12),
    ("geojson", "out.geojson", 1e-7),  # RFC 7946: 7 decimals (about 1 cm)
    ("kml", "out.kml", 1e-9),
    ("shp", "out.zip", 1e-12),
])
def test_round_trip_keeps_geometry_chinese_text_and_datetimes(
    tmp_path: Path, grids: gpd.GeoDataFrame, fmt: str, name: str, tolerance: float
) -> None:
    before = grids.copy()
    written = write_layer(grids, tmp_path / name, fmt=fmt, layer="村级网格")
    assert written == tmp_path / name and written.exists()
    pd.testing.assert_frame_equal(grids, before)  # caller's data untouched

    result = read_layer(written)
    assert result.warnings == []
    assert result.layer == "村级网格"
    _assert_same_features(result.gdf, grids, tolerance)
    # Date-times survive: as date-times (GPKG, GeoJSON) or ISO 8601 text (Shapefile, KML).
    assert _as_utc(result.gdf["updated"]) == _as_utc(grids["updated"])
    if fmt in ("gpkg", "geojson"):
        assert pd.api.types.is_datetime64_any_dtype(result.gdf["updated"])
    else:
        assert result.gdf["updated"].iloc[0] == "2024-05-01T08:30:00+00:00"


def test_round_trip_from_gauss_kruger_source(tmp_path: Path, grids: gpd.GeoDataFrame) -> None:
    metric = grids.to_crs("EPSG:4551")
    for fmt, name in (("gpkg", "gk.gpkg"), ("shp", "gk.zip")):
        written = write_layer(metric, tmp_path / name, fmt=fmt)
        [info] = inspect(written)
        assert info.crs == "EPSG:4551"
        _assert_same_features(read_layer(written).gdf, grids, 1e-9)
    geojson = write_layer(metric, tmp_path / "gk.geojson", fmt="geojson")
    assert json.loads(geojson.read_text(encoding="utf-8"))["features"][0]["geometry"]["coordinates"][0][0][0] < 180


def test_shapefile_zip_contents_are_utf8_with_prj(tmp_path: Path, grids: gpd.GeoDataFrame) -> None:
    written = write_layer(grids, tmp_path / "网格导出.shp", fmt="shp")
    assert written.suffix == ".zip"
    with zipfile.ZipFile(written) as zf:
        names = sorted(zf.namelist())
        assert zf.read("网格导出.cpg").decode().strip().upper() in ("UTF-8", "UTF8")
    assert names == sorted(f"网格导出{ext}" for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"))


def test_shapefile_long_field_names_are_shortened_on_character_boundaries(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"河段名称全称": ["鸭绿江临江段"], "河段名称简称": ["临江段"], "name": ["x"]},
        geometry=[LineString([(126.90, 41.79), (126.97, 41.81)])],
        crs="EPSG:4326",
    )
    with pytest.warns(UserWarning, match="字段名最长 10 字节"):
        written = write_layer(gdf, tmp_path / "long.zip", fmt="shp")
    back = read_layer(written).gdf
    assert sorted(c for c in back.columns if c != "geometry") == sorted(["河段名", "河段_1", "name"])
    assert set(back.iloc[0][["河段名", "河段_1"]]) == {"鸭绿江临江段", "临江段"}


def test_kml_output_carries_extended_data(tmp_path: Path, grids: gpd.GeoDataFrame) -> None:
    written = write_layer(grids, tmp_path / "grids.kml", fmt="kml")
    text = written.read_text(encoding="utf-8")
    assert "<name>森工街道东兴村</name>" in text
    assert "何兆花" in text and "负责人" in text and "ExtendedData" in text


def test_geopackage_gets_several_layers(tmp_path: Path, grids: gpd.GeoDataFrame) -> None:
    path = tmp_path / "all.gpkg"
    write_layer(grids, path, fmt="gpkg", layer="村级网格")
    points = gpd.GeoDataFrame({"name": ["一号点"]}, geometry=[Point(126.91, 41.805)], crs="EPSG:4326")
    write_layer(points, path, fmt="gpkg", layer="监测点")
    assert {i.name: i.features for i in inspect(path)} == {"村级网格": 2, "监测点": 1}


def test_write_layer_refusals(tmp_path: Path, grids: gpd.GeoDataFrame) -> None:
    with pytest.raises(CRSError, match="坐标系"):
        write_layer(gpd.GeoDataFrame(geometry=[Point(1, 1)]), tmp_path / "x.gpkg", fmt="gpkg")
    with pytest.raises(FileFormatError, match="不支持的导出格式"):
        write_layer(grids, tmp_path / "x.dxf", fmt="dxf")
    mixed = gpd.GeoDataFrame(geometry=[DONGXING, Point(126.9, 41.8)], crs="EPSG:4326")
    with pytest.raises(GeometryError, match="一种几何类型"):
        write_layer(mixed, tmp_path / "mixed.zip", fmt="shp")


def test_polygon_and_multipolygon_mix_round_trips_in_shapefile(tmp_path: Path) -> None:
    multi = MultiPolygon([DONGXING, box(127.01, 41.80, 127.02, 41.81)])
    gdf = gpd.GeoDataFrame({"name": ["单", "多"]}, geometry=[SENGONG, multi], crs="EPSG:4326")
    back = read_layer(write_layer(gdf, tmp_path / "mix.zip", fmt="shp")).gdf
    assert back.geometry.iloc[1].equals(multi)
    assert back.geometry.iloc[0].equals(SENGONG)


# --- GPX tracks ---------------------------------------------------------------------------------


def test_read_gpx_tracks_merges_segments_with_utc_times(tmp_path: Path) -> None:
    tracks = read_gpx_tracks(_write_text(tmp_path / "巡河.gpx", GPX_TEXT))
    assert [t.name for t in tracks] == ["东兴村日常巡查", "森工社区巡查"]
    first, second = tracks
    assert isinstance(first, GpxTrack) and first.source_name == "巡河.gpx"
    assert first.coords == [(126.90, 41.80), (126.902, 41.801), (126.904, 41.802), (126.906, 41.803),
                            (126.908, 41.804), (126.910, 41.805)]
    start = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert first.times == [start + timedelta(minutes=m) for m in (0, 2, 10, 12, 14, 20)]
    assert all(t is not None and t.utcoffset() == timedelta(0) for t in first.times)
    # Missing time → None; "+08:00" converted to UTC.
    assert second.times == [None, datetime(2024, 5, 2, 9, 30, tzinfo=UTC)]


def test_read_gpx_tracks_naive_times_are_utc_and_offset_converts(tmp_path: Path) -> None:
    gcj = [wgs84_to_gcj02(126.90, 41.80), wgs84_to_gcj02(126.91, 41.81)]
    points = "".join(
        f'<trkpt lat="{float(lat)!r}" lon="{float(lon)!r}"><time>2024-05-01T08:0{i}:00</time></trkpt>'
        for i, (lon, lat) in enumerate(gcj)
    )
    text = f'<?xml version="1.0"?><gpx version="1.1" creator="高德" xmlns="http://www.topografix.com/GPX/1/1">' \
           f"<trk><trkseg>{points}</trkseg></trk></gpx>"
    [track] = read_gpx_tracks(_write_text(tmp_path / "amap.gpx", text), source_offset="gcj02")
    assert track.name is None
    np.testing.assert_allclose(track.coords, [(126.90, 41.80), (126.91, 41.81)], atol=1e-7)
    assert track.times[0] == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def test_read_gpx_tracks_refusals(tmp_path: Path) -> None:
    only_waypoint = '<?xml version="1.0"?><gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1">' \
                    '<wpt lat="41.8" lon="126.9"/></gpx>'
    with pytest.raises(FileFormatError, match="没有轨迹点"):
        read_gpx_tracks(_write_text(tmp_path / "wpt.gpx", only_waypoint))
    with pytest.raises(FileFormatError, match="GPX"):
        read_gpx_tracks(_write_text(tmp_path / "河段.geojson", GEOJSON_TEXT))
    swapped = GPX_TEXT.replace('lat="41.8000" lon="126.9000"', 'lat="126.9000" lon="41.8000"')
    with pytest.raises(CoordinateRangeError, match="超出经纬度范围"):
        read_gpx_tracks(_write_text(tmp_path / "swapped.gpx", swapped))


def test_shapely_geometries_from_read_are_2d(tmp_path: Path) -> None:
    result = read_layer(_write_text(tmp_path / "河道.kml", KML_TEXT), layer="监测点")
    assert not shapely.has_z(np.asarray(result.gdf.geometry.array)).any()


def test_read_gpx_routes(tmp_path: Path) -> None:
    text = """<?xml version="1.0"?><gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1">
    <rte><name>规划路线</name><rtept lat="41.80" lon="126.90"/><rtept lat="41.81" lon="126.91"/></rte></gpx>"""
    path = _write_text(tmp_path / "route.gpx", text)
    assert [(i.name, i.features) for i in inspect(path)] == [("routes", 1), ("route_points", 2)]
    result = read_layer(path, layer="routes")
    assert result.gdf["name"].tolist() == ["规划路线"]
    assert result.gdf.geometry.iloc[0].equals(LineString([(126.90, 41.80), (126.91, 41.81)]))


def test_shapefile_with_utf8_field_names_cut_mid_character_is_readable(tmp_path: Path) -> None:
    # GDAL (QGIS, geopandas) cuts "河段名称" (12 bytes in UTF-8) to 10 bytes, inside "称".
    gdf = gpd.GeoDataFrame(
        {"河段名称": ["鸭绿江临江段"], "所属河流": ["鸭绿江"]},
        geometry=[LineString([(126.90, 41.79), (126.97, 41.81)])],
        crs="EPSG:4326",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL's own "laundered field name" warning
        pyogrio.write_dataframe(gdf, tmp_path / "cut.shp", encoding="UTF-8")
    assert "河段名称".encode()[:10] in (tmp_path / "cut.dbf").read_bytes()

    result = read_layer(tmp_path / "cut.shp")
    assert result.gdf.drop(columns="geometry").iloc[0].to_dict() == {"河段名": "鸭绿江临江段", "所属河": "鸭绿江"}
    assert any("截断" in w for w in result.warnings)
    (tmp_path / "cut.cpg").unlink()  # same without .cpg: still detected as UTF-8
    assert list(read_layer(tmp_path / "cut.shp").gdf.columns) == ["河段名", "所属河", "geometry"]

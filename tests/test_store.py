"""Store behaviour, run on both SQLite and PostgreSQL + PostGIS (see conftest ``store``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon, box
from sqlalchemy import func, select, text

from gis.auth import Actor, hash_password
from gis.errors import (
    ConflictError,
    CoordinateRangeError,
    DuplicateNameError,
    GeometryError,
    PermissionDenied,
    ValidationError,
)
from gis.model import UserRole
from gis.store import Store
from gis.store.audit import undo, undo_batch
from gis.store.engine import schema_differences
from gis.store.schema import AuditEntry, Grid, Person, Reach, River, User

STAFF = Actor("staff1", UserRole.STAFF, "工作人员")
LEADER = Actor("leader1", UserRole.LEADER, "领导")
ADMIN = Actor("admin1", UserRole.ADMIN, "管理员")
ADMIN2 = Actor("admin2", UserRole.ADMIN, "另一位管理员")


def count(store: Store, model) -> int:  # type: ignore[no-untyped-def]
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_migrations_create_exactly_the_model_schema(store: Store) -> None:
    assert schema_differences(store.engine) == []


def test_reopening_an_existing_database_keeps_its_rows(store: Store) -> None:
    with store.session(STAFF) as s:
        s.add(Grid(name="东兴村", level="village", geom=box(126.9, 41.8, 127.0, 41.9)))
    again = Store(store.url)  # runs the migrations again
    with again.session() as s:
        assert s.scalar(select(Grid.name)) == "东兴村"
    again.dispose()


def test_geometries_round_trip_with_type_and_precision(store: Store) -> None:
    poly = MultiPolygon([box(126.9, 41.8, 126.95, 41.85), box(127.0, 41.8, 127.05, 41.85)])
    line = MultiLineString([[(126.9, 41.8), (126.91234567891, 41.81)], [(127.0, 41.8), (127.1, 41.9)]])
    with store.session(STAFF) as s:
        river = River(name="鸭绿江", level="province")
        s.add_all([river, Grid(name="网格", level="village", geom=poly)])
        s.add(Reach(river=river, name="段", geom=line))
    with store.session() as s:
        got_poly = s.scalar(select(Grid.geom))
        got_line = s.scalar(select(Reach.geom))
    assert got_poly.geom_type == "MultiPolygon" and got_poly.equals_exact(poly, 0)
    assert got_line.geom_type == "MultiLineString" and got_line.equals_exact(line, 0)


@pytest.mark.postgis
def test_postgis_stores_real_geometries_with_srid(pg_url: str) -> None:
    store = Store(pg_url)
    with store.session(STAFF) as s:
        s.add(Grid(name="方块", level="village", geom=box(126.9, 41.8, 127.0, 41.9)))
    with store.engine.connect() as conn:
        srid, gtype, area = conn.execute(
            text("SELECT ST_SRID(geom), GeometryType(geom), ST_Area(geom) FROM grids")
        ).one()
        index = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_grids_geom'")
        ).scalar()
    assert (srid, gtype) == (4326, "POLYGON")
    assert area == pytest.approx(0.01)
    assert "gist" in index.lower()
    store.dispose()


def test_timestamps_come_back_as_utc(store: Store) -> None:
    from gis.store.schema import PatrolTrack

    shanghai = timezone(timedelta(hours=8))
    start = datetime(2026, 11, 3, 9, 30, tzinfo=shanghai)
    with store.session(STAFF) as s:
        s.add(PatrolTrack(name="t", started_at=start, geom=LineString([(126.9, 41.8), (126.91, 41.81)])))
    with store.session() as s:
        got = s.scalar(select(PatrolTrack.started_at))
    assert got == start and got.utcoffset() == timedelta(0) and got.hour == 1


def test_writes_need_a_user_with_the_right_role(store: Store) -> None:
    with pytest.raises(PermissionDenied, match="请先登录"):
        with store.session() as s:
            s.add(Grid(name="无主", level="village", geom=box(0, 0, 1, 1)))
    with pytest.raises(PermissionDenied, match="领导.*无权"):
        with store.session(LEADER) as s:
            s.add(Grid(name="领导画的", level="village", geom=box(0, 0, 1, 1)))
    with pytest.raises(PermissionDenied, match="管理用户"):
        with store.session(STAFF) as s:
            s.add(User(username="x", role="admin", password_hash=hash_password("1234567890")))
    assert count(store, Grid) == 0 and count(store, User) == 0


def test_every_write_is_audited_with_before_and_after(store: Store) -> None:
    with store.session(STAFF) as s:
        g = Grid(name="东兴村", level="村级网格", geom=box(126.9, 41.8, 127.0, 41.9))
        s.add(g)
    with store.session(ADMIN) as s:
        g = s.get(Grid, g.id)
        g.responsible_body = "东兴村村民委员会"
    with store.session(ADMIN) as s:
        s.delete(s.get(Grid, g.id))
    with store.session() as s:
        log = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.username, e.table_name, e.row_id) for e in log] == [
        ("insert", "staff1", "grids", g.id),
        ("update", "admin1", "grids", g.id),
        ("delete", "admin1", "grids", g.id),
    ]
    assert log[0].before is None and log[0].after["level"] == "village"  # label stored as code
    assert log[1].before["responsible_body"] == "" and log[1].after["responsible_body"] == "东兴村村民委员会"
    assert log[1].before["geom"].startswith("POLYGON")
    assert log[2].before["name"] == "东兴村" and log[2].after is None
    assert all(e.at.tzinfo is not None for e in log)


def test_a_failing_write_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(GeometryError):
        with store.session(STAFF) as s:
            s.add(Grid(name="好的", level="village", geom=box(0, 0, 1, 1)))
            s.flush()
            bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
            s.add(Grid(name="坏的", level="village", geom=bowtie))
    assert count(store, Grid) == 0
    assert count(store, AuditEntry) == 0


@pytest.mark.parametrize(
    ("geom", "error", "message"),
    [
        (Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)]), GeometryError, "无效"),
        (LineString([(0, 0), (1, 1)]), GeometryError, "几何类型应为面"),
        (box(41.8, 126.9, 41.9, 127.0), CoordinateRangeError, "超出经纬度范围"),
        (box(500000, 4600000, 501000, 4601000), CoordinateRangeError, "超出经纬度范围"),
        (Polygon(), GeometryError, "缺少几何"),
    ],
)
def test_bad_grid_geometry_is_refused(store: Store, geom, error, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=message):
        with store.session(STAFF) as s:
            s.add(Grid(name="坏网格", level="village", geom=geom))
    assert count(store, Grid) == 0


def test_unknown_level_is_refused(store: Store) -> None:
    with pytest.raises(ValidationError, match="无法识别"):
        with store.session(STAFF) as s:
            s.add(Grid(name="x", level="省级网格", geom=box(0, 0, 1, 1)))


def test_grid_names_are_unique_under_one_parent(store: Store) -> None:
    with store.session(STAFF) as s:
        a = Grid(name="森工街道", level="township", geom=box(0, 0, 2, 2))
        b = Grid(name="另一街道", level="township", geom=box(2, 0, 4, 2))
        s.add_all([a, b, Grid(name="东兴村", level="village", parent=a, geom=box(0, 0, 1, 1))])
    with pytest.raises(DuplicateNameError, match="“森工街道”下已有名为“东兴村”"):
        with store.session(STAFF) as s:
            s.add(Grid(name="东兴村", level="village", parent_id=a.id, geom=box(1, 0, 2, 1)))
    with pytest.raises(DuplicateNameError):  # two new siblings in one transaction
        with store.session(STAFF) as s:
            s.add_all([
                Grid(name="新村", level="village", parent_id=b.id, geom=box(2, 0, 3, 1)),
                Grid(name="新村", level="village", parent_id=b.id, geom=box(3, 0, 4, 1)),
            ])
    with store.session(STAFF) as s:  # the same name under another parent is fine
        s.add(Grid(name="东兴村", level="village", parent_id=b.id, geom=box(2, 0, 3, 1)))
    assert count(store, Grid) == 4


def test_concurrent_edits_of_one_grid_are_refused_not_overwritten(store: Store) -> None:
    with store.session(STAFF) as s:
        g = Grid(name="东兴村", level="village", geom=box(0, 0, 1, 1))
        s.add(g)
    first = store._sessions()
    first.info["actor"] = STAFF
    mine = first.get(Grid, g.id)  # read by the first editor
    with store.session(ADMIN) as s:  # the second editor saves first
        s.get(Grid, g.id).responsible_body = "二号编辑"
    mine.responsible_body = "一号编辑"
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm.exc import StaleDataError

    from gis.store.engine import as_conflict

    # PostGIS: the version check fails; SQLite: this transaction's read snapshot is stale, so it
    # may not write at all ("database is locked"). Either way a Chinese conflict message.
    with pytest.raises((StaleDataError, OperationalError)) as info:
        first.commit()
    assert as_conflict(info.value) is not None
    first.rollback()
    first.close()
    with store.session() as s:
        assert s.get(Grid, g.id).responsible_body == "二号编辑"


def test_conflict_surfaces_as_chinese_conflict_error(store: Store) -> None:
    with store.session(STAFF) as s:
        g = Grid(name="东兴村", level="village", geom=box(0, 0, 1, 1))
        s.add(g)
    with store.session(ADMIN) as s:
        s.get(Grid, g.id).name = "东兴村（改）"
    with pytest.raises(ConflictError, match="已被他人修改"):
        with store.session(STAFF) as s:
            s.merge(g).name = "过期的修改"  # g still carries version 1


def test_undo_restores_update_insert_and_delete(store: Store) -> None:
    with store.session(STAFF) as s:
        p = Person(name="何兆花", title="东兴村书记")
        s.add(p)
    with store.session(STAFF) as s:
        s.get(Person, p.id).title = "改错了"
    with store.session(ADMIN) as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "update"))
        undo(s, entry.id)
    with store.session() as s:
        assert s.get(Person, p.id).title == "东兴村书记"
    with store.session(ADMIN) as s:
        s.delete(s.get(Person, p.id))
    with store.session() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "delete"))
    with pytest.raises(PermissionDenied, match="不能撤销本人所做的修改"):
        with store.session(ADMIN) as s:
            undo(s, entry.id)
    with store.session() as s:
        assert s.get(Person, p.id) is None
    with store.session(ADMIN2) as s:
        undo(s, entry.id)
    with store.session() as s:
        assert s.get(Person, p.id).name == "何兆花"
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.undo_of == entry.id)) == "insert"
    with pytest.raises(ConflictError, match="已经撤销"):
        with store.session(ADMIN2) as s:
            undo(s, entry.id)
    with pytest.raises(PermissionDenied):
        with store.session(STAFF) as s:
            undo(s, entry.id)


def test_undo_refuses_when_the_row_changed_again(store: Store) -> None:
    with store.session(STAFF) as s:
        p = Person(name="张力文", title="a")
        s.add(p)
    with store.session(STAFF) as s:
        s.get(Person, p.id).title = "b"
    with store.session(STAFF) as s:
        s.get(Person, p.id).title = "c"
    with pytest.raises(ConflictError, match="又被修改"):
        with store.session(ADMIN) as s:
            first_update = s.scalar(select(AuditEntry).where(AuditEntry.action == "update").order_by(AuditEntry.id))
            undo(s, first_update.id)
    with store.session() as s:
        assert s.get(Person, p.id).title == "c"


def test_undoing_one_insert_that_other_rows_point_to_is_refused_in_chinese(store: Store) -> None:
    """The township was added, then a village under it: undoing the township alone would orphan the
    village, so it is refused with a Chinese message and nothing changes; undoing the village first,
    or the township's whole batch, works."""
    with store.session(STAFF) as s:
        town = Grid(name="街道", level="township", geom=box(0, 0, 2, 2))
        s.add(town)
    with store.session(STAFF) as s:
        s.add(Grid(name="村", level="village", parent_id=town.id, geom=box(0, 0, 1, 1)))
    with store.session() as s:
        town_insert, village_insert = s.scalars(
            select(AuditEntry.id).where(AuditEntry.table_name == "grids", AuditEntry.action == "insert").order_by(AuditEntry.seq)
        ).all()
    with pytest.raises(ConflictError, match="无法单独撤销：还有 1 条其他记录引用这一行"):
        with store.session(ADMIN) as s:
            undo(s, town_insert)
    assert count(store, Grid) == 2
    with store.session(ADMIN) as s:
        undo(s, village_insert)
    with store.session(ADMIN) as s:
        undo(s, town_insert)
    assert count(store, Grid) == 0


def test_undo_batch_removes_a_whole_transaction(store: Store) -> None:
    with store.session(STAFF) as s:
        batch = s.info["batch"]
        town = Grid(name="街道", level="township", geom=box(0, 0, 2, 2))
        s.add_all([town, Grid(name="村", level="village", parent=town, geom=box(0, 0, 1, 1))])
    with store.session(ADMIN) as s:
        assert undo_batch(s, batch) == 2
    assert count(store, Grid) == 0

"""``sassi.sql.Source`` (SPEC 11.9): its fetchers on SQLite and the real PostgreSQL, sync and
async engines, and the pool helpers fed by them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from source_helpers import PEOPLE, Db, Person, open_db
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import sassi
from sassi import Delta, DeltaQuery, Punnu, RefreshMode
from sassi.sql import Source

pytestmark = pytest.mark.anyio

P = sassi.fields(Person)
LIVE = sorted((p for p, deleted in PEOPLE if not deleted), key=lambda p: p.id)


# (engine kind, async library): AsyncEngines run on asyncio only (test_async_engine_on_trio)
CASES = [
    ("sqlite", "asyncio"),
    ("sqlite", "trio"),
    ("sqlite+aiosqlite", "asyncio"),
    ("postgresql", "asyncio"),
    ("postgresql", "trio"),
    ("postgresql+async", "asyncio"),
]


@pytest.fixture
def db(case: tuple[str, str], tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Db]:
    yield from open_db(case[0], tmp_path, request)


def source_for(db: Db, **options: Any) -> Source[Person]:
    kwargs: dict[str, Any] = {
        "id_column": "person_id",
        "deleted_column": "deleted",
        "columns": {"full_name": "name"},
    }
    kwargs.update(options)
    return Source(db.engine, db.table, Person, **kwargs)


async def test_fetch_one(db: Db) -> None:
    db.load()
    source = source_for(db)
    assert await source.fetch_one(1) == LIVE[0]
    assert await source.fetch_one(2) == Person(2, "Émile", None, None, None, 11)
    assert await source.fetch_one(5) is None  # deleted
    assert await source.fetch_one(99) is None


async def test_fetch_many_keeps_input_order_and_skips_absent_and_deleted(db: Db) -> None:
    db.load()
    source = source_for(db)
    got = await source.fetch_many([6, 1, 5, 99, 1, 3])
    assert [p.id for p in got] == [6, 1, 3]
    assert got[0] == next(p for p in LIVE if p.id == 6)
    assert await source.fetch_many([]) == []


async def test_fetch_many_splits_long_id_lists(db: Db) -> None:
    db.load()
    ids = [*range(1000, 3500), 4, 2, *range(-2500, 0)]  # 5002 ids: six IN (...) lists
    got = await source_for(db).fetch_many(ids)
    assert [p.id for p in got] == [4, 2]


async def test_fetch_all_is_every_live_row_by_id(db: Db) -> None:
    db.load()
    assert await source_for(db).fetch_all() == LIVE


async def test_fetch_delta_full_returns_tombstones_and_the_highest_watermark(db: Db) -> None:
    db.load()
    delta = await source_for(db).fetch_delta(DeltaQuery())
    assert sorted(delta.items, key=lambda p: p.id) == LIVE
    assert delta.tombstones == {5, 7}
    assert delta.high_watermark == 14


async def test_fetch_delta_since_is_inclusive(db: Db) -> None:
    db.load()
    source = source_for(db)
    delta = await source.fetch_delta(DeltaQuery(since=12))
    assert sorted(p.id for p in delta.items) == [3, 4, 6]  # 3 and 4 sit on the boundary
    assert delta.tombstones == {5}  # 7 (version 9) is older
    assert delta.high_watermark == 14
    empty = await source.fetch_delta(DeltaQuery(since=15))
    assert empty == Delta(high_watermark=None)


async def test_fetch_delta_recovers_ids_whatever_their_watermark(db: Db) -> None:
    db.load()
    delta = await source_for(db).fetch_delta(
        DeltaQuery(since=14, recover_ids=frozenset({1, 7, 99}))
    )
    assert sorted(p.id for p in delta.items) == [1, 6]
    assert delta.tombstones == {7}  # recovered, and deleted meanwhile
    assert delta.high_watermark == 14


async def test_a_deleted_at_column_marks_rows_deleted_when_not_null(db: Db) -> None:
    db.load()
    with db.admin.begin() as conn:
        conn.execute(db.table.update().values(note=None))
        conn.execute(db.table.update().where(db.table.c.person_id == 3).values(note="2024-01-01"))
    source = source_for(db, deleted_column="note")  # deleted_at-like: any value means deleted
    assert [p.id for p in await source.fetch_all()] == [1, 2, 4, 5, 6, 7]
    delta = await source.fetch_delta(DeltaQuery())
    assert delta.tombstones == {3}


PREDICATES = [
    P.age >= 18,
    P.age < 40,  # None sorts first: Émile matches
    ~(P.age < 40),
    P.name.icontains("GRACE") | P.name.contains("%"),
    P.name.startswith("É"),
    P.score.present() > 2.5,
    P.tags.json.key("plan").value(str) == "pro",
    P.tags.json.key("langs").array_contains("en"),
    P.tags.is_null() ^ (P.age > 30),
    P.id.in_([1, 5, 6]),
    P.version.between(11, 13) & (P.age != 17),
    sassi.TRUE,
]


async def test_fetch_where_selects_what_the_predicate_selects_in_memory(db: Db) -> None:
    db.load()
    source = source_for(db)
    for predicate in PREDICATES:
        expected = [p for p in LIVE if predicate(p)]
        assert await source.fetch_where(predicate) == expected, predicate
    assert len({len([p for p in LIVE if pred(p)]) for pred in PREDICATES}) > 3  # not all alike


async def test_fetch_where_refuses_what_it_cannot_lower(db: Db) -> None:
    @dataclass(frozen=True)
    class Other:
        id: int
        nickname: str

    source = source_for(db)
    with pytest.raises(ValueError, match="'nickname'"):
        await source.fetch_where(sassi.fields(Other).nickname == "x")
    with pytest.raises(TypeError):
        await source.fetch_where(True)  # type: ignore[arg-type]


async def test_sync_twins_return_what_the_async_fetchers_return(db: Db) -> None:
    db.load()
    source = source_for(db)
    query: DeltaQuery[Person] = DeltaQuery(since=12, recover_ids=frozenset({1}))
    if db.is_async:
        with pytest.raises(TypeError, match="AsyncEngine: await the async fetchers"):
            source.fetch_one_sync(1)
        with pytest.raises(TypeError, match="AsyncEngine"):
            source.fetch_delta_sync(query)
        return
    assert source.fetch_one_sync(3) == await source.fetch_one(3)
    assert source.fetch_many_sync([4, 3, 5]) == await source.fetch_many([4, 3, 5])
    assert source.fetch_all_sync() == await source.fetch_all()
    assert source.fetch_delta_sync(query) == await source.fetch_delta(query)
    assert source.fetch_where_sync(P.age > 30) == await source.fetch_where(P.age > 30)
    assert [p.id for p in source.fetch_where_sync(P.age > 30)] == [1, 3, 6]


@pytest.mark.parametrize("kind", ["sqlite+aiosqlite", "postgresql+async"])
def test_async_engine_on_trio(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    for db in open_db(kind, tmp_path, request):
        source = source_for(db)
        with pytest.raises(RuntimeError, match=r"asyncio only.*sqlalchemy\.create_engine"):
            anyio.run(source.fetch_all, backend="trio")


# --- the pool's helpers, fed by a Source ------------------------------------------------------


async def test_source_fetchers_feed_the_pool_helpers(db: Db) -> None:
    db.load()
    source = source_for(db)
    pool = Punnu(Person)
    assert await pool.aget_or_fetch(1, source.fetch_one) == LIVE[0]
    assert await pool.aget_or_fetch(5, source.fetch_one) is None
    got = await pool.aget_or_fetch_many([1, 3, 4, 5], source.fetch_many)
    assert [p.id for p in got] == [1, 3, 4]
    if not db.is_async:
        assert pool.get_or_fetch(6, source.fetch_one_sync) == next(p for p in LIVE if p.id == 6)
        assert [p.id for p in pool.get_or_fetch_many([2, 6], source.fetch_many_sync)] == [6, 2]

    async with pool.periodic_refresh(3600, source.fetch_all, mode=RefreshMode.REPLACE) as h:
        assert await h.refresh_now() == len(LIVE)
        db.change(4, deleted=True)
        await h.refresh_now()
        assert 4 not in pool
    assert sorted(p.id for p in pool.scope().collect()) == [1, 2, 3, 6]


async def test_delta_refresh_over_a_source(db: Db) -> None:
    db.load()
    source = source_for(db)
    pool = Punnu(Person)
    async with pool.delta_refresh(3600, source.fetch_delta) as handle:
        await handle.update()
        assert sorted(p.id for p in pool.scope().collect()) == [p.id for p in LIVE]
        assert handle.watermark == 14
        db.change(1, age=37, version=15)
        db.change(6, deleted=True, version=15)
        result = await handle.update()
        assert result.watermark == 15
        assert pool.get(1) == Person(1, "Ada", 37, 9.5, {"plan": "pro", "langs": ["en"]}, 15)
        assert 6 not in pool
        in_memory = sorted(p.id for p in pool.scope(P.age >= 18).collect())
        assert in_memory == [p.id for p in await source.fetch_where(P.age >= 18)] == [1, 3]


# --- construction ------------------------------------------------------------------------------


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[Db]:
    yield from open_db("sqlite", tmp_path)


def test_an_unknown_column_or_field_is_named(lite: Db) -> None:
    with pytest.raises(ValueError, match=r"columns= names 'fullname', not columns of table"):
        source_for(lite, columns={"fullname": "name"})
    with pytest.raises(ValueError, match=r"columns= maps to 'title', not fields of Person"):
        source_for(lite, columns={"full_name": "title"})
    with pytest.raises(ValueError, match=r"id_column='pk' is not a column"):
        source_for(lite, id_column="pk")
    with pytest.raises(ValueError, match=r"watermark_column='ts' is not a column"):
        source_for(lite, watermark_column="ts")
    with pytest.raises(ValueError, match=r"deleted_column='gone' is not a column"):
        source_for(lite, deleted_column="gone")


def test_every_field_needs_one_column(lite: Db) -> None:
    with pytest.raises(ValueError, match=r"fields 'name' of Person have no column .*full_name"):
        source_for(lite, columns={})
    with pytest.raises(ValueError, match=r"fields 'version' of Person have no column"):
        source_for(lite, columns={"full_name": "name", "version": "age"})  # "age" <- "version"
    with pytest.raises(ValueError, match=r"more than one column: 'name' <- 'full_name', 'note'"):
        source_for(lite, columns={"full_name": "name", "note": "name"})


def test_id_column_feeds_the_id_field(lite: Db) -> None:
    # without id_column, the id field has no column of its own name: the default "id" is absent
    with pytest.raises(ValueError, match=r"id_column='id' is not a column"):
        Source(lite.engine, lite.table, Person, columns={"full_name": "name"})
    # mapping the id field explicitly elsewhere contradicts id_column
    with pytest.raises(ValueError, match=r"id_column='version' does not feed .* pass id_column="):
        source_for(lite, id_column="version", columns={"full_name": "name", "person_id": "id"})
    explicit = source_for(lite, columns={"full_name": "name", "person_id": "id"})
    lite.load()
    assert explicit.fetch_one_sync(1) == LIVE[0]


def test_watermark_column_defaults_to_the_models_watermark(lite: Db) -> None:
    lite.load()
    delta = source_for(lite).fetch_delta_sync(DeltaQuery(since=14))
    assert [p.id for p in delta.items] == [6]

    class Plain:
        id: int
        name: str

    plain = Source(
        lite.engine, lite.table, Plain, id_column="person_id", columns={"full_name": "name"}
    )
    assert sorted(p.id for p in plain.fetch_all_sync()) == [
        1,
        2,
        3,
        4,
        5,
        6,
        7,
    ]  # no deleted_column
    with pytest.raises(ValueError, match="has no watermark column"):
        plain.fetch_delta_sync(DeltaQuery())
    with_wm = Source(
        lite.engine,
        lite.table,
        Plain,
        id_column="person_id",
        watermark_column="version",
        columns={"full_name": "name"},
    )
    assert {p.id for p in with_wm.fetch_delta_sync(DeltaQuery(since=13)).items} == {5, 6}


def test_wrong_kinds_are_type_errors(lite: Db) -> None:
    with pytest.raises(TypeError, match="needs a SQLAlchemy Engine"):
        Source("sqlite://", lite.table, Person)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs a SQLAlchemy Table or a mapped class"):
        Source(lite.engine, "people", Person)
    with pytest.raises(TypeError, match="columns= needs a mapping"):
        source_for(lite, columns=[("full_name", "name")])
    with pytest.raises(TypeError):
        Source(lite.engine, lite.table, 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"fetch_delta needs a sassi\.DeltaQuery"):
        source_for(lite).fetch_delta_sync(None)  # type: ignore[arg-type]


def test_a_mapped_class_is_read_by_attribute_names(lite: Db) -> None:

    class Base(DeclarativeBase):
        pass

    class PersonRow(Base):
        __table__ = lite.table
        name = lite.table.c.full_name  # the attribute is "name", the column "full_name"

    lite.load()
    source = Source(lite.engine, PersonRow, Person, id_column="person_id", deleted_column="deleted")
    assert source.fetch_all_sync() == LIVE
    assert source.fetch_where_sync(P.name.startswith("g")) == [LIVE[2]]
    with pytest.raises(
        ValueError, match=r"not a column of mapped class .*PersonRow \(known: 'person_id', 'name'"
    ):
        Source(lite.engine, PersonRow, Person, id_column="full_name")

    class Child(Base):
        __tablename__ = "child"
        id: Mapped[int] = mapped_column(primary_key=True)
        kind: Mapped[str]
        __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "child"}  # noqa: RUF012

    class Single(Child):
        __mapper_args__ = {"polymorphic_identity": "single"}  # noqa: RUF012

    with pytest.raises(ValueError, match="single-table inheritance"):
        Source(lite.engine, Single, Person)


def test_listen_needs_postgresql(lite: Db) -> None:
    with pytest.raises(ValueError, match=r"listen\(\) needs PostgreSQL .* 'sqlite'"):
        source_for(lite).listen("people")
    with pytest.raises(ValueError, match=r"listen\(\) needs PostgreSQL"):  # whatever conninfo
        source_for(lite).listen("people", conninfo="postgresql://db.example/app")


def test_repr_names_the_model_and_table(tmp_path: Path) -> None:
    for db in open_db("sqlite", tmp_path):
        assert repr(source_for(db)) == f"<sassi.sql.Source of Person from {db.table.name}>"
        assert source_for(db).model is Person
        assert source_for(db).engine is db.engine

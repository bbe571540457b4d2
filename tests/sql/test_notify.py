"""PostgreSQL NOTIFY (SPEC 11.9): ``notify_trigger_ddl``, ``Source.listen`` and
``delta_refresh(wake=source.listen(channel))`` end to end over the real server."""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import sys
import types
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import anyio
import psycopg
import pytest
import sqlalchemy as sa
from source_helpers import PEOPLE, Db, Person, open_db, pg_sqlalchemy_url, row_of
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool

from sassi import Delta, DeltaQuery, Punnu
from sassi.sql import Listener, Source, notify_trigger_ddl

pytestmark = pytest.mark.anyio

NEVER = 3600.0  # no scheduled tick during a test: every change arrives through NOTIFY
LIVE = sorted((p for p, deleted in PEOPLE if not deleted), key=lambda p: p.id)

CASES = [("postgresql", "asyncio"), ("postgresql", "trio"), ("postgresql+async", "asyncio")]


@pytest.fixture
def db(case: tuple[str, str], tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Db]:
    for db in open_db(case[0], tmp_path, request):
        db.execute(notify_trigger_ddl(db.table, db.table.name))
        yield db


@pytest.fixture
def pg_admin_engine(pg_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(pg_sqlalchemy_url(pg_url), poolclass=NullPool)
    yield engine
    engine.dispose()


def source_for(db: Db) -> Source[Person]:
    return Source(
        db.engine,
        db.table,
        Person,
        id_column="person_id",
        deleted_column="deleted",
        columns={"full_name": "name"},
    )


async def until(condition: Callable[[], bool], limit: float = 10.0) -> None:
    """Wait (bounded, never a timing assertion) until ``condition()`` holds."""
    with anyio.fail_after(limit):
        while not condition():  # noqa: ASYNC110 - the pool changes in the handle's tasks
            await anyio.sleep(0.002)


@contextlib.asynccontextmanager
async def iterating(listener: Listener) -> AsyncIterator[AsyncIterator[str | None]]:
    iterator = aiter(listener)
    try:
        yield iterator
    finally:
        await iterator.aclose()  # type: ignore[attr-defined]


async def next_item(iterator: AsyncIterator[str | None]) -> str | None:
    with anyio.fail_after(10):
        return await anext(iterator)


# --- the trigger and the listener -------------------------------------------------------------


async def test_the_trigger_notifies_every_committed_change(db: Db) -> None:
    db.execute(notify_trigger_ddl(db.table, db.table.name))  # idempotent: a second time is fine
    name = db.table.name
    async with iterating(source_for(db).listen(name)) as items:
        assert await next_item(items) is None  # listening now
        db.load(PEOPLE[:2])  # DELETE + INSERT in one transaction: notifications fold into one
        assert await next_item(items) == name
        db.change(1, age=40)
        assert await next_item(items) == name
        db.execute(f"DELETE FROM {name} WHERE person_id = 2")
        assert await next_item(items) == name
        with db.admin.connect() as conn:  # rolled back: no notification ...
            conn.execute(db.table.update().values(age=0))
            conn.rollback()
        db.execute(f"TRUNCATE {name}")  # ... so the next one is the TRUNCATE's
        assert await next_item(items) == name


async def test_a_committed_change_reaches_the_pool_through_notify(db: Db) -> None:
    db.load()
    source = source_for(db)
    pool = Punnu(Person)
    async with pool.delta_refresh(NEVER, source.fetch_delta, wake=source.listen(db.table.name)):
        # once listening, the listener's first item runs an update: the rows arrive
        await until(lambda: len(pool) == len(LIVE))
        db.change(1, age=99, version=20)
        await until(lambda: pool.get(1) is not None and pool.get(1).age == 99)  # type: ignore[union-attr]
        with db.admin.begin() as conn:  # two changes, one transaction
            conn.execute(db.table.insert(), [row_of(Person(8, "New", 1, None, None, 21))])
            conn.execute(
                db.table.update().where(db.table.c.person_id == 3).values(deleted=True, version=21)
            )
        await until(lambda: 8 in pool and 3 not in pool)
        assert sorted(p.id for p in pool.scope().collect()) == [1, 2, 4, 6, 8]


async def test_a_killed_listener_connects_again_and_refreshes_in_full(
    db: Db, caplog: pytest.LogCaptureFixture
) -> None:
    db.load()
    source = source_for(db)
    queries: list[DeltaQuery[Person]] = []

    async def fetch(query: DeltaQuery[Person]) -> Delta[Person]:
        queries.append(query)
        return await source.fetch_delta(query)

    app = f"sassi listen {db.table.name}"
    listeners = f"SELECT pid FROM pg_stat_activity WHERE application_name = '{app}'"
    pool = Punnu(Person)
    with caplog.at_level(logging.WARNING, logger="sassi.refresh"):
        async with pool.delta_refresh(NEVER, fetch, wake=source.listen(db.table.name)) as handle:
            await until(lambda: len(queries) == 1 and len(pool) == len(LIVE))
            assert handle.watermark == 14
            (pid,) = db.execute(listeners)
            killed = db.execute(f"SELECT pg_terminate_backend(pid) FROM ({listeners}) AS l")
            assert killed == [(True,)]
            # committed while no one listens (or just after the new LISTEN): it arrives either way
            db.change(2, age=55, version=30)
            await until(lambda: pool.get(2) is not None and pool.get(2).age == 55)  # type: ignore[union-attr]
            await until(lambda: any(q.since is None for q in queries[1:]))  # the resync
            assert [q.since for q in queries].count(None) == 2
            (new_pid,) = db.execute(listeners)
            assert new_pid != pid
            db.change(4, age=18, version=31)  # and the new connection listens
            await until(lambda: pool.get(4) is not None and pool.get(4).age == 18)  # type: ignore[union-attr]
    assert "LISTEN connection was lost" in caplog.text or "consuming input failed" in caplog.text


async def test_listen_fails_clearly_on_a_connection_that_cannot_open(db: Db) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    listener = source_for(db).listen("x", conninfo=f"postgresql://nobody@127.0.0.1:{port}/db")
    async with iterating(listener) as items:
        with pytest.raises(psycopg.OperationalError):
            await next_item(items)


# --- arguments ---------------------------------------------------------------------------------


def test_listen_checks_its_channel_and_hides_the_password() -> None:
    engine = sa.create_engine("postgresql+psycopg://user:s3cret@db.example/app")
    source = Source(engine, sa.table("t", sa.column("id")), _Id)
    listener = source.listen("orders")
    assert "s3cret" not in repr(listener) and listener.channel == "orders"
    assert listener._conninfo == "postgresql://user:s3cret@db.example/app"
    with pytest.raises(ValueError, match="1 to 63 bytes"):
        source.listen("")
    with pytest.raises(ValueError, match="1 to 63 bytes"):
        source.listen("é" * 32)
    with pytest.raises(TypeError, match="a NOTIFY channel is a str"):
        source.listen(b"orders")  # type: ignore[arg-type]


class _Id:
    id: int


class _Base(DeclarativeBase):
    pass


class _Order(_Base):
    __table__ = sa.Table(
        "order lines", _Base.metadata, sa.Column("id", sa.Integer, primary_key=True), schema="Shop"
    )


def test_notify_trigger_ddl_quotes_names_and_literals() -> None:
    ddl = notify_trigger_ddl(_Order, "it's")
    assert 'CREATE OR REPLACE FUNCTION "Shop".sassi_notify() RETURNS trigger' in ddl
    assert "PERFORM pg_notify(TG_ARGV[0], TG_TABLE_NAME);" in ddl
    assert """CREATE OR REPLACE TRIGGER "sassi_notify_it's\"""" in ddl
    assert 'AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "Shop"."order lines"' in ddl
    assert """FOR EACH STATEMENT EXECUTE FUNCTION "Shop".sassi_notify('it''s');""" in ddl
    assert "ON plain\n" in notify_trigger_ddl("plain", "c")
    assert 'ON "Mixed Case"\n' in notify_trigger_ddl("Mixed Case", "c")
    long_a, long_b = "a" * 60 + "1", "a" * 60 + "2"  # one name each, though alike for 50 bytes
    name_a = notify_trigger_ddl("t", long_a).split("TRIGGER ")[1].split("\n")[0]
    name_b = notify_trigger_ddl("t", long_b).split("TRIGGER ")[1].split("\n")[0]
    assert name_a != name_b and len(name_a) <= 63
    with pytest.raises(TypeError, match="needs a Table, a mapped class or a table name"):
        notify_trigger_ddl(42, "c")
    with pytest.raises(ValueError, match="1 to 63 bytes"):
        notify_trigger_ddl("t", "x" * 64)


async def test_the_ddl_works_in_a_schema_with_odd_names(pg_admin_engine: sa.Engine) -> None:
    metadata = sa.MetaData()
    table = sa.Table(
        "Odd table", metadata, sa.Column("id", sa.Integer, primary_key=True), schema="Sassi Odd"
    )
    with pg_admin_engine.begin() as conn:
        conn.exec_driver_sql('CREATE SCHEMA IF NOT EXISTS "Sassi Odd"')
    metadata.create_all(pg_admin_engine)
    try:
        with pg_admin_engine.begin() as conn:
            conn.exec_driver_sql(notify_trigger_ddl(table, "Odd Channel"))
        source = Source(pg_admin_engine, table, _Row)
        async with iterating(source.listen("Odd Channel")) as items:
            assert await next_item(items) is None
            with pg_admin_engine.begin() as conn:
                conn.execute(table.insert(), [{"id": 1}])
            assert await next_item(items) == "Odd table"
    finally:
        with pg_admin_engine.begin() as conn:
            conn.exec_driver_sql('DROP SCHEMA "Sassi Odd" CASCADE')


class _Row:
    id: int


# --- docs/sql.md -------------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parent.parent.parent / "docs" / "sql.md"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```", re.S | re.M)


def test_the_docs_notify_example_runs(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PostgreSQL block of docs/sql.md (shown, not run, by tests/test_docs.py) runs here."""
    blocks = [(m.group(1).strip(), m.group(2)) for m in FENCE.finditer(DOCS.read_text())]
    (example,) = [b for info, b in blocks if info == "python skip" and "test_notify.py" in b]
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("docs_sql_notify")
    monkeypatch.setitem(sys.modules, module.__name__, module)  # dataclasses look classes up here
    namespace = module.__dict__
    for info, body in blocks:
        if info == "python":
            exec(compile(body, "docs/sql.md", "exec"), namespace)
    namespace["PG_URL"] = pg_sqlalchemy_url(pg_url)
    try:
        exec(compile(example, "docs/sql.md[PostgreSQL]", "exec"), namespace)
    finally:
        pg = namespace.get("pg")
        if isinstance(pg, sa.Engine):
            namespace["accounts"].metadata.drop_all(pg)
            pg.dispose()

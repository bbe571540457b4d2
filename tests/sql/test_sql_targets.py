"""What ``to_sqlalchemy`` accepts (tables, mapped classes, mappings), refuses, and caches."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    aliased,
    column_property,
    mapped_column,
    relationship,
)

import sassi
from sassi.sql import to_sqlalchemy


@dataclass(frozen=True)
class Item:
    id: int
    qty: int | None
    label: str | None
    score: float | None = None
    payload: sassi.JSON | None = None


F = sassi.fields(Item)


class Base(DeclarativeBase):
    pass


class ItemRow(Base):
    __tablename__ = "sassi_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    qty: Mapped[int | None]
    label: Mapped[str | None] = mapped_column(sa.Text)
    score: Mapped[float | None] = mapped_column(sa.Float)
    payload: Mapped[Any] = mapped_column(sa.JSON(none_as_null=True), nullable=True)


PG_DIALECT = sa.create_engine("postgresql+psycopg://").dialect  # no connection is made
TABLE = sa.Table("sassi_items", Base.metadata, extend_existing=True)
ITEMS = [
    Item(1, None, "Ab%", payload={"tags": ["x"], "a.b": {"": 1}}),
    Item(2, 3, "ab_", payload={"tags": []}),
    Item(3, 8, None),
    Item(4, 1, "ABC", payload={"a.b": {"": 2}}),
]
PRED = (F.qty < 5) & ~F.label.icontains("b%") & ~F.payload.json.key("tags").array_contains("x")
JSON_PRED = F.payload.json.path_segments(["a.b", ""]).value(int) >= 1


@pytest.fixture(scope="module")
def session(sqlite_conn: sa.Connection) -> Session:
    Base.metadata.create_all(sqlite_conn)
    sqlite_conn.execute(sa.insert(TABLE), [vars(i) for i in ITEMS])
    return Session(bind=sqlite_conn)


def _ids(session: Session, query: sa.Select[Any]) -> list[int]:
    return sorted(session.scalars(query))


def test_table_mapped_class_alias_and_mapping_select_the_same_rows(session: Session) -> None:
    want = [i.id for i in ITEMS if PRED.evaluate(i)]
    assert want == [2, 4]
    assert _ids(session, sa.select(TABLE.c.id).where(to_sqlalchemy(PRED, TABLE))) == want
    assert _ids(session, sa.select(ItemRow.id).where(to_sqlalchemy(PRED, ItemRow))) == want
    alias = aliased(ItemRow)
    assert _ids(session, sa.select(alias.id).where(to_sqlalchemy(PRED, alias))) == want
    sub = TABLE.alias("other")
    assert _ids(session, sa.select(sub.c.id).where(to_sqlalchemy(PRED, sub))) == want
    mapping = {"qty": TABLE.c.qty, "label": ItemRow.label, "payload": sub.c.payload}
    query = sa.select(sub.c.id).where(to_sqlalchemy(PRED, mapping))
    assert _ids(session, query.where(sub.c.id == TABLE.c.id)) == want


def test_json_predicates_correlate_with_aliases_and_self_joins(session: Session) -> None:
    want = [i.id for i in ITEMS if JSON_PRED.evaluate(i)]
    assert want == [1, 4]
    assert _ids(session, sa.select(ItemRow.id).where(to_sqlalchemy(JSON_PRED, ItemRow))) == want
    left, right = aliased(ItemRow), aliased(ItemRow)
    pairs = (
        sa.select(left.id, right.id)
        .join(right, left.id != right.id)
        .where(to_sqlalchemy(JSON_PRED, left), ~to_sqlalchemy(JSON_PRED, right))
    )
    assert sorted(tuple(r) for r in session.execute(pairs)) == [(1, 2), (1, 3), (4, 2), (4, 3)]


def test_unknown_field_is_a_value_error_naming_it() -> None:
    pred = F.score > 1.0
    with pytest.raises(ValueError, match="'score'"):
        to_sqlalchemy(pred, {"qty": TABLE.c.qty})
    other = sa.Table("narrow", sa.MetaData(), sa.Column("id", sa.Integer))
    with pytest.raises(ValueError, match="'qty'"):
        to_sqlalchemy(F.qty == 1, other)

    class Narrow(Base):
        __tablename__ = "sassi_narrow"
        id: Mapped[int] = mapped_column(primary_key=True)

    with pytest.raises(ValueError, match="'label'"):
        to_sqlalchemy(F.label.contains("x"), Narrow)


def test_targets_that_are_not_tables_are_type_errors() -> None:
    with pytest.raises(TypeError, match="Table"):
        to_sqlalchemy(F.qty == 1, Item)
    with pytest.raises(TypeError, match="column"):
        to_sqlalchemy(F.qty == 1, {"qty": 42})


def test_other_dialects_are_refused_and_str_renders() -> None:
    clause = to_sqlalchemy(F.label.icontains("A"), TABLE)
    assert "translate" in str(clause)
    with pytest.raises(CompileError, match="SQLite and PostgreSQL"):
        clause.compile(dialect=mysql.dialect())


def test_cached_statements_rebind_their_values(session: Session) -> None:
    """Same shape, different operands: SQLAlchemy's compiled cache must not leak values."""
    for needle, want in [("ab", [1, 2, 4]), ("b_", [2]), ("B%", [1]), ("zz", [])]:
        query = sa.select(TABLE.c.id).where(to_sqlalchemy(F.label.icontains(needle), TABLE))
        assert _ids(session, query) == want
    for low, want in [(0, [2, 3, 4]), (2, [2, 3]), (9, [])]:
        query = sa.select(TABLE.c.id).where(to_sqlalchemy(F.qty.present() >= low, TABLE))
        assert _ids(session, query) == want


@pytest.mark.postgres
def test_postgresql_stored_nan_is_never_equal_less_or_greater(pg_conn: sa.Connection) -> None:
    """PostgreSQL says NaN = NaN and NaN > everything; the lowering keeps Python's answers."""
    table = sa.Table(
        "sassi_nan", sa.MetaData(), sa.Column("id", sa.Integer), sa.Column("score", sa.Float)
    )
    table.create(pg_conn)
    rows = [Item(1, None, None, math.nan), Item(2, None, None, 1.0), Item(3, None, None, None)]
    pg_conn.execute(table.insert(), [{"id": r.id, "score": r.score} for r in rows])
    for pred in [
        F.score > 0.5,
        F.score >= 1.0,
        F.score.present() > 0.0,
        F.score < math.inf,
        F.score == 1.0,
        F.score != 1.0,
        F.score.between(0.0, math.inf),
        F.score.in_([1.0]),
        F.score.not_in([1.0]),
        ~(F.score > 0.5),
    ]:
        want = [r.id for r in rows if pred.evaluate(r)]
        query = sa.select(table.c.id).where(to_sqlalchemy(pred, table)).order_by(table.c.id)
        assert list(pg_conn.scalars(query)) == want, pred


def test_no_like_and_no_unicode_lower_in_the_generated_sql() -> None:
    """Wildcards stay literal and folding stays ASCII-only by construction, on both dialects."""
    string_preds = [
        F.label.contains("a%"),
        F.label.icontains("B_"),
        F.label.startswith("x"),
        F.label.istartswith("Y"),
        F.label.endswith("\\"),
        F.label.iendswith("Z"),
        F.label.iexact("Q"),
    ]
    for pred in string_preds:
        for dialect in (SQLiteDialect_pysqlite(), PG_DIALECT):
            sql = str(to_sqlalchemy(pred, TABLE).compile(dialect=dialect)).lower()
            assert " like " not in sql and "lower(" not in sql and "ilike" not in sql, sql


def test_a_nocase_column_still_compares_case_sensitively(sqlite_conn: sa.Connection) -> None:
    table = sa.Table(
        "sassi_nocase",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("label", sa.Text(collation="NOCASE")),
        prefixes=["TEMPORARY"],
    )
    table.create(sqlite_conn)
    items = [Item(1, None, "abc"), Item(2, None, "ABC"), Item(3, None, "Abd")]
    sqlite_conn.execute(table.insert(), [{"id": i.id, "label": i.label} for i in items])
    for pred in [
        F.label == "abc",
        F.label != "abc",
        F.label < "B",
        F.label.in_(["ABC"]),
        F.label.not_in(["abc"]),
        F.label.startswith("A"),
        F.label.contains("b"),
        F.label.iexact("ABC"),
    ]:
        want = [i.id for i in items if pred.evaluate(i)]
        query = sa.select(table.c.id).where(to_sqlalchemy(pred, table)).order_by(table.c.id)
        assert list(sqlite_conn.scalars(query)) == want, pred
    table.drop(sqlite_conn)


class PeopleBase(DeclarativeBase):
    pass


class Org(PeopleBase):
    __tablename__ = "sassi_orgs"
    id: Mapped[int] = mapped_column(primary_key=True)


class Person(PeopleBase):
    """Attributes whose SQL is an expression, not a bare column."""

    __tablename__ = "sassi_people"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column("person_name", sa.Text)
    org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sassi_orgs.id"))
    name_len = column_property(sa.func.length(name))
    org: Mapped[Org | None] = relationship()

    @hybrid_property
    def shout(self) -> str:
        return self.name + "!"

    @shout.inplace.expression
    @classmethod
    def _shout_expression(cls) -> sa.ColumnElement[str]:
        return cls.name + "!"


@dataclass(frozen=True)
class PersonView:
    id: int
    name: str
    name_len: int
    shout: str
    org: int | None = None


P = sassi.fields(PersonView)
PEOPLE = [
    PersonView(1, "ab", 2, "ab!"),
    PersonView(2, "Bob", 3, "Bob!"),
    PersonView(3, "b", 1, "b!"),
]


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_renamed_columns_column_properties_and_hybrids(
    request: pytest.FixtureRequest, db: str
) -> None:
    conn: sa.Connection = request.getfixturevalue("sqlite_conn" if db == "sqlite" else "pg_conn")
    PeopleBase.metadata.create_all(conn)
    with Session(bind=conn) as session:
        session.execute(sa.insert(Person), [{"id": p.id, "name": p.name} for p in PEOPLE])
        for pred in [
            P.name == "Bob",
            P.name_len >= 2,
            P.shout.endswith("b!"),
            P.shout.icontains("B!"),
            P.shout < "b",
            P.shout.iexact("BOB!"),
            P.shout.in_(["b!", "x"]),
        ]:
            want = [p.id for p in PEOPLE if pred.evaluate(p)]
            query = sa.select(Person.id).where(to_sqlalchemy(pred, Person)).order_by(Person.id)
            assert list(session.scalars(query)) == want, pred
        with pytest.raises(ValueError, match="'org'"):
            to_sqlalchemy(P.org == 1, Person)
    PeopleBase.metadata.drop_all(conn)


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_a_json_null_root_is_a_missing_document(request: pytest.FixtureRequest, db: str) -> None:
    """SQLAlchemy's JSON type stores None as the JSON text 'null' unless none_as_null=True."""
    conn: sa.Connection = request.getfixturevalue("sqlite_conn" if db == "sqlite" else "pg_conn")
    json_type = sa.JSON().with_variant(JSONB(), "postgresql")  # none_as_null=False: None -> 'null'
    table = sa.Table(
        "sassi_json_null_root",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("payload", json_type),
        prefixes=["TEMPORARY"],
    )
    table.create(conn)
    items = [Item(1, None, None, payload=None), Item(2, None, None, payload={"a": None})]
    conn.execute(table.insert(), [{"id": i.id, "payload": i.payload} for i in items])
    assert conn.scalar(sa.select(sa.func.count()).where(table.c.payload.is_(None))) == 0
    root = F.payload.json
    for pred in [
        root.missing(),
        root.exists(),
        root.is_json_null(),
        root.is_not_json_null(),
        root.eq_json(None),
        root.ne_json({"a": None}),
        root.key("a").is_json_null(),
        root.key("a").missing(),
    ]:
        want = [i.id for i in items if pred.evaluate(i)]
        query = sa.select(table.c.id).where(to_sqlalchemy(pred, table)).order_by(table.c.id)
        assert list(conn.scalars(query)) == want, pred
    table.drop(conn)


def test_lowering_is_cached_per_table_but_never_across_operand_types(
    sqlite_conn: sa.Connection,
) -> None:
    """Predicates compare with ==, so 1, 1.0 and True are equal keys; the cache tells them apart."""

    @dataclass(frozen=True)
    class Loose:
        id: int
        x: Any

    X = sassi.fields(Loose).x
    table = sa.Table(
        "sassi_loose",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("x", sa.Integer),
        prefixes=["TEMPORARY"],
    )
    assert to_sqlalchemy(X == 1, table) is to_sqlalchemy(X == 1, table)
    assert to_sqlalchemy(X == 1, table) is not to_sqlalchemy(X == 1, table.alias())
    one, one_float, yes = (to_sqlalchemy(X.eq(v), table) for v in (1, 1.0, True))
    assert len({id(one), id(one_float), id(yes)}) == 3
    mapping = {"x": table.c.x}
    assert to_sqlalchemy(X == 1, mapping) is not to_sqlalchemy(X == 1, mapping)
    table.create(sqlite_conn)
    sqlite_conn.execute(table.insert(), [{"id": 1, "x": 1}, {"id": 2, "x": 2}])
    for clause in (one, one_float, yes):
        assert list(sqlite_conn.scalars(sa.select(table.c.id).where(clause))) == [1]
    table.drop(sqlite_conn)


def test_concurrent_lowering_shares_one_clause_per_predicate() -> None:
    """Threads lowering the same predicates concurrently all get the single cached clause."""
    import threading

    preds = [F.qty.between(i, i + 3) & F.label.icontains(f"x{i}") for i in range(8)]
    results: list[list[sa.ColumnElement[bool]]] = [[] for _ in range(8)]
    barrier = threading.Barrier(8)

    def work(slot: int) -> None:
        barrier.wait()
        for _ in range(50):
            results[slot].extend(to_sqlalchemy(p, TABLE) for p in preds)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = [to_sqlalchemy(p, TABLE) for p in preds]
    for got in results:
        assert len(got) == 50 * len(preds)
        for i, clause in enumerate(got):
            assert clause is expected[i % len(preds)]

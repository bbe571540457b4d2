"""Plain ``==``/``!=``/``in_``/``not_in``/``is_null`` on a JSON column, as Python compares values.

In memory these compare the loaded value with ``==`` (dicts ignore key order, ``True == 1``), and
a JSON ``null`` root loads as ``None`` — stored either as SQL NULL (``none_as_null=True``) or as
the JSON text ``null`` (SQLAlchemy's default). Every case runs on both databases and both ways of
storing ``None``; each states its answer and also checks in-memory evaluation agrees.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

import sassi
from sassi.sql import to_sqlalchemy


@dataclass(frozen=True)
class Doc:
    id: int
    j: sassi.JSON | None = None


F = sassi.fields(Doc)
DOCS = [
    Doc(1),
    Doc(2, {"a": 1, "b": [True, None]}),
    Doc(3, {"b": [1, None], "a": True}),
    Doc(4, [1, 2.0]),
    Doc(5, "s"),
    Doc(6, 0),
    Doc(7, False),
    Doc(8, {"a": 2**60}),
    Doc(9, {}),
]
CASES: list[tuple[sassi.Predicate, list[int]]] = [
    (F.j == {"a": 1, "b": [1, None]}, [2, 3]),  # True == 1, key order ignored
    (F.j == {"b": [True, None], "a": 1.0}, [2, 3]),
    (F.j == {"a": 1}, []),
    (F.j == {}, [9]),
    (F.j == [1, 2], [4]),
    (F.j == [2, 1], []),
    (F.j == 0, [6, 7]),  # False == 0
    (F.j == False, [6, 7]),  # noqa: E712 - building a predicate
    (F.j == True, []),  # noqa: E712
    (F.j == "s", [5]),
    (F.j == {"a": 2.0**60}, [8]),
    (F.j == {"a": 2**60 + 1}, []),
    (F.j != "s", [1, 2, 3, 4, 6, 7, 8, 9]),
    (F.j.present() != "s", [2, 3, 4, 6, 7, 8, 9]),
    (F.j == None, [1]),  # noqa: E711
    (F.j != None, [2, 3, 4, 5, 6, 7, 8, 9]),  # noqa: E711
    (F.j.is_null(), [1]),
    (F.j.is_not_null(), [2, 3, 4, 5, 6, 7, 8, 9]),
    (F.j.in_([[1, 2], 0, None]), [1, 4, 6, 7]),
    (F.j.in_([]), []),
    (F.j.present().in_([0, [1, 2]]), [4, 6, 7]),
    (F.j.not_in([False, "s", []]), [1, 2, 3, 4, 8, 9]),
    (F.j.not_in([None, "s", {}]), [2, 3, 4, 6, 7, 8]),
    (~(F.j == {"a": 1, "b": [1, None]}), [1, 4, 5, 6, 7, 8, 9]),
    # Decimal and Fraction operands equal the int or float of their value, or nothing
    (F.j == Decimal(0), [6, 7]),
    (F.j == Fraction(0), [6, 7]),
    (F.j == [Decimal(1), Fraction(4, 2)], [4]),
    (F.j == {"a": Decimal("1.0"), "b": [Fraction(1), None]}, [2, 3]),
    (F.j == {"a": Decimal(2**60)}, [8]),
    (F.j == Decimal("0.1"), []),
    (F.j != Decimal("0.1"), [1, 2, 3, 4, 5, 6, 7, 8, 9]),
    (F.j.in_([Decimal("1e1000000000"), Decimal("-1e-1000000000"), Decimal("NaN"), "s"]), [5]),
    (F.j.not_in([Fraction(1, 3), [Decimal("NaN"), 2], Decimal(0)]), [1, 2, 3, 4, 5, 8, 9]),
]


@pytest.fixture(
    scope="module",
    params=[("sqlite", True), ("sqlite", False), ("postgresql", True), ("postgresql", False)],
    ids=["sqlite-null", "sqlite-json-null", "postgresql-null", "postgresql-json-null"],
)
def loaded(request: pytest.FixtureRequest) -> Iterator[tuple[sa.Connection, sa.Table]]:
    db, none_as_null = request.param
    conn: sa.Connection = request.getfixturevalue("sqlite_conn" if db == "sqlite" else "pg_conn")
    json_type = sa.JSON(none_as_null=none_as_null).with_variant(
        JSONB(none_as_null=none_as_null), "postgresql"
    )
    table = sa.Table(
        f"sassi_json_column_{int(none_as_null)}",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("j", json_type),
        prefixes=["TEMPORARY"],
    )
    table.create(conn)
    conn.execute(table.insert(), [{"id": d.id, "j": d.j} for d in DOCS])
    yield conn, table
    table.drop(conn)


@pytest.mark.parametrize(("predicate", "expected"), CASES, ids=[repr(p) for p, _ in CASES])
def test_json_column_equality_is_python_equality(
    loaded: tuple[sa.Connection, sa.Table], predicate: sassi.Predicate, expected: list[int]
) -> None:
    conn, table = loaded
    assert [d.id for d in DOCS if predicate.evaluate(d)] == expected
    query = sa.select(table.c.id).where(to_sqlalchemy(predicate, table)).order_by(table.c.id)
    assert list(conn.scalars(query)) == expected


def test_a_signalling_nan_on_a_json_column_is_refused() -> None:
    table = sa.Table("docs", sa.MetaData(), sa.Column("id", sa.Integer), sa.Column("j", sa.JSON))
    for pred in [F.j == Decimal("sNaN"), F.j.not_in([[1, {"a": Decimal("sNaN")}]])]:
        with pytest.raises(ValueError, match=r"field 'j': .*signalling NaN"):
            to_sqlalchemy(pred, table)


def test_ordering_and_string_lookups_on_a_json_column_are_refused() -> None:
    table = sa.Table("docs", sa.MetaData(), sa.Column("id", sa.Integer), sa.Column("j", sa.JSON))
    for pred in [F.j < 3, F.j.between(1, 2), F.j.contains("x"), F.j.iexact("s")]:
        with pytest.raises(TypeError, match=r"\.json\.path"):
            to_sqlalchemy(pred, table)


AWKWARD_KEYS = [
    "a.b",
    "",
    'q"x',
    "a\\b",
    "$",
    "[0]",
    "*",
    "\n",
    "é",
    "\U0001f600",
    "x y",
    "'",
    "0",
    "{}",
]


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_awkward_keys_address_exactly_their_member(request: pytest.FixtureRequest, db: str) -> None:
    """Each key reaches its own member at any depth, and never a sibling or an array element."""
    conn: sa.Connection = request.getfixturevalue("sqlite_conn" if db == "sqlite" else "pg_conn")
    table = sa.Table(
        "sassi_awkward_keys",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("j", sa.JSON(none_as_null=True).with_variant(JSONB(), "postgresql")),
        prefixes=["TEMPORARY"],
    )
    table.create(conn)
    flat = {k: i for i, k in enumerate(AWKWARD_KEYS)}
    docs = [
        Doc(1, flat),
        Doc(2, {k: {k: i} for i, k in enumerate(AWKWARD_KEYS)}),
        Doc(3, {"0": [5], "[0]": [7], "$": {"$": 1}}),
    ]
    conn.execute(table.insert(), [{"id": d.id, "j": d.j} for d in docs])
    for i, key in enumerate(AWKWARD_KEYS):
        for pred in [
            F.j.json.key(key).value(int) == i,
            F.j.json.key(key).key(key).value(int) == i,
            F.j.json.key(key).exists(),
            F.j.json.has_key(key),
            F.j.json.key(key).key("0").exists(),
        ]:
            want = [d.id for d in docs if pred.evaluate(d)]
            query = sa.select(table.c.id).where(to_sqlalchemy(pred, table)).order_by(table.c.id)
            assert list(conn.scalars(query)) == want, pred
    table.drop(conn)


@pytest.mark.postgres
def test_a_postgresql_json_column_is_cast_to_jsonb(pg_conn: sa.Connection) -> None:
    """A plain ``json`` column (not ``jsonb``) gets the same answers: every test casts it."""
    table = sa.Table(
        "sassi_plain_json",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("j", sa.JSON()),
        prefixes=["TEMPORARY"],
    )
    table.create(pg_conn)
    pg_conn.execute(table.insert(), [{"id": d.id, "j": d.j} for d in DOCS])
    root = F.j.json
    for pred in [
        *(p for p, _ in CASES),
        root.key("a").value(int) == 1,
        root.key("b").array_contains(None),
        root.eq_json({"a": True, "b": [1, None]}),
        root.is_array(),
        root.missing(),
    ]:
        want = [d.id for d in DOCS if pred.evaluate(d)]
        query = sa.select(table.c.id).where(to_sqlalchemy(pred, table)).order_by(table.c.id)
        assert list(pg_conn.scalars(query)) == want, pred
    table.drop(pg_conn)

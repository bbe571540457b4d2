"""Per-op lowering with hand-checked answers, on SQLite and on a real PostgreSQL.

Each case states the ids it must select; the test also checks that in-memory evaluation agrees,
so a wrong expectation and a wrong lowering cannot hide each other.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict
from decimal import Decimal
from fractions import Fraction

import pytest
import sqlalchemy as sa
from sql_helpers import Row, rows_table, selected

import sassi

F = sassi.fields(Row)
ROWS = [
    Row(1),
    Row(2, 5, 1.5, "Hello", True, {"a": {"b": 1}, "a.b": [1, 2], "": None, 'é"x': "v"}),
    Row(3, -1, 2.0, "hé%_\\", False, [1, "a", {"x": 1}]),
    Row(4, 7, -0.0, "HELLO", None, {"b": True, "a": 1.0}),
    Row(5, 0, math.inf, "Éclair", None, "str"),
    Row(6, 2**53 + 1, 2.0**60, "", None, {"a": {"b": None}, "n": 2**60}),
    Row(7, 3, 0.1, "éclair_%", None, 12.5),
]
ALL = [r.id for r in ROWS]
METADATA = sa.MetaData()


TABLE = rows_table("sassi_unit_rows", METADATA)
WIDE_TABLE = rows_table("sassi_unit_wide_rows", METADATA)
NAN = math.nan
J = F.j.json

CASES: list[tuple[sassi.Predicate, list[int]]] = [
    # None sorts before every value; present() is false on None
    (F.n == None, [1]),  # noqa: E711 - building a predicate, not testing identity
    (F.n == 5, [2]),
    (F.n != 5, [1, 3, 4, 5, 6, 7]),
    (F.n != None, [2, 3, 4, 5, 6, 7]),  # noqa: E711
    (F.n.present() != 5, [3, 4, 5, 6, 7]),
    (F.n < 3, [1, 3, 5]),
    (F.n <= 3, [1, 3, 5, 7]),
    (F.n.present() < 3, [3, 5]),
    (F.n > 3, [2, 4, 6]),
    (F.n >= 7, [4, 6]),
    (F.n.between(0, 5), [2, 5, 7]),
    (F.n.present().between(0, 5), [2, 5, 7]),
    (F.n.in_([5, None]), [1, 2]),
    (F.n.in_([]), []),
    (F.n.not_in([5]), [1, 3, 4, 5, 6, 7]),
    (F.n.not_in([5, None]), [3, 4, 5, 6, 7]),
    (F.n.not_in([]), ALL),
    (F.n.present().not_in([5]), [3, 4, 5, 6, 7]),
    (F.n.is_null(), [1]),
    (F.n.is_not_null(), [2, 3, 4, 5, 6, 7]),
    # exact int/float comparisons, operands beyond 64 bits
    (F.n == 2.0**53, []),
    (F.n > 2.0**53, [6]),
    (F.n < 2.5, [1, 3, 5]),
    (F.n >= 2.5, [2, 4, 6, 7]),
    (F.n == 2**64, []),
    (F.n < 2**64, ALL),
    (F.n.in_([2.5, 5.0, 2**64]), [2]),
    (F.f == 2**60, [6]),
    (F.f == 2**60 + 1, []),
    (F.f > 2**60 + 1, [5]),
    (F.f < 2**60 + 1, [1, 2, 3, 4, 6, 7]),
    (F.f == 0.0, [4]),
    (F.f > 1e308, [5]),
    (F.f < math.inf, [1, 2, 3, 4, 6, 7]),
    (F.f >= math.inf, [5]),
    (F.f.in_([math.inf]), [5]),
    (F.n < math.inf, ALL),
    (F.n > -math.inf, [2, 3, 4, 5, 6, 7]),
    (F.n.in_([math.inf, 7]), [4]),
    # Decimal and Fraction operands compare exactly too (drivers would round or refuse them)
    (F.f > Decimal("0.1"), [2, 3, 5, 6, 7]),
    (F.f == Decimal("0.1"), []),
    (F.f < Fraction(1, 3), [1, 4, 7]),
    (F.f.in_([Fraction(3, 2), Decimal("2")]), [2, 3]),
    (F.f < Decimal("1e400"), [1, 2, 3, 4, 6, 7]),
    (F.n == Fraction(5, 1), [2]),
    (F.n < Decimal("2.5"), [1, 3, 5]),
    (F.n.present() >= Fraction(7, 2), [2, 4, 6]),
    (F.n.in_([Decimal("5"), Fraction(7, 2)]), [2]),
    # NaN operands compare as Python does: == never, != always, only None sorts below
    (F.f == NAN, []),
    (F.f != NAN, ALL),
    (F.f < NAN, [1]),
    (F.f.present() != NAN, [2, 3, 4, 5, 6, 7]),
    (F.f.between(NAN, 3.0), []),
    (F.f.in_([NAN, 1.5]), [2]),
    (F.f.not_in([NAN]), ALL),
    # strings: code-point order, literal wildcards, ASCII-only folding
    (F.s == "Hello", [2]),
    (F.s < "a", [1, 2, 4, 6]),
    (F.s > "z", [5, 7]),
    (F.s.in_(["HELLO", "x"]), [4]),
    (F.s.contains("%_"), [3]),
    (F.s.contains("_"), [3, 7]),
    (F.s.contains("\\"), [3]),
    (F.s.contains("%"), [3, 7]),
    (F.s.contains(""), [2, 3, 4, 5, 6, 7]),
    (F.s.icontains("ELL"), [2, 4]),
    (F.s.icontains("éclair"), [7]),
    (F.s.istartswith("é"), [7]),
    (F.s.startswith("H"), [2, 4]),
    (F.s.startswith("h_"), []),
    (F.s.endswith("%"), [7]),
    (F.s.endswith("_\\"), [3]),
    (F.s.iendswith("LO"), [2, 4]),
    (F.s.iexact("hello"), [2, 4]),
    (F.s.iexact("ÉCLAIR"), [5]),
    (F.s.iexact(""), [6]),
    (F.s.iexact("h_"), []),
    # booleans
    (F.b == True, [2]),  # noqa: E712 - building a predicate
    (F.b != True, [1, 3, 4, 5, 6, 7]),  # noqa: E712
    (F.b < True, [1, 3, 4, 5, 6, 7]),
    (F.b.present() < True, [3]),
    # JSON: missing vs null, key quoting, kinds
    (J.exists(), [2, 3, 4, 5, 6, 7]),
    (J.missing(), [1]),
    (J.path("a.b").exists(), [2, 6]),
    (J.path("a.b").missing(), [1, 3, 4, 5, 7]),
    (J.path("a.b").is_json_null(), [6]),
    (J.path("a.b").is_not_json_null(), [2]),
    (J.key("a.b").exists(), [2]),
    (J.key("a.b").array_contains(2), [2]),
    (J.key("").is_json_null(), [2]),
    (J.key('é"x').value(str) == "v", [2]),
    (J.key("0").exists(), []),
    (J.is_array(), [3]),
    (J.is_string(), [5]),
    (J.is_number(), [7]),
    (J.is_object(), [2, 4, 6]),
    (J.key("b").is_bool(), [4]),
    (J.key("b").is_number(), []),
    # JSON equality: key order ignored, int == float, bool never a number
    (J.path("a").eq_json({"b": 1.0}), [2]),
    (J.eq_json({"a": 1, "b": True}), [4]),
    (J.eq_json({"a": 1, "b": 1}), []),
    (J.eq_json([1, "a", {"x": 1}]), [3]),
    (J.eq_json([1, {"x": 1}, "a"]), []),
    (J.ne_json([1, "a", {"x": 1}]), [2, 4, 5, 6, 7]),
    (J.eq_json("str"), [5]),
    (J.path("a.b").eq_json(None), [6]),
    # keys and arrays
    (J.has_key("a"), [2, 4, 6]),
    (J.has_key("x"), []),
    (J.has_any_key(["n", "zz"]), [6]),
    (J.has_any_key([]), []),
    (J.has_all_keys(["a", ""]), [2]),
    (J.has_all_keys([]), [2, 4, 6]),
    (J.array_len_eq(3), [3]),
    (J.array_len_gt(3), []),
    (J.array_len_le(3), [3]),
    (J.array_contains({"x": 1}), [3]),
    (J.array_contains(1.0), [3]),
    (J.array_contains(True), []),
    (J.array_contains("str"), []),
    # typed scalars: wrong kind or missing is false for every op, ne and not_in included
    (J.path("a").value(int) == 1, [4]),
    (J.path("a").value(int) != 1, []),
    (J.path("a").value(int) != 2, [4]),
    (J.path("a").value(float) > 0.5, [4]),
    (J.path("a").value(int).not_in([1]), []),
    (J.path("a").value(int).not_in([]), [4]),
    (J.path("n").value(int) == 2**60, [6]),
    (J.path("n").value(float) == float(2**60), [6]),
    (J.path("n").value(int) == 2**60 + 1, []),
    (J.path("n").value(int) < 2**60 + 1, [6]),
    (J.path("n").value(int) > 2**64, []),
    (J.path("n").value(int) < 2**64, [6]),
    (J.key("b").value(bool) == True, [4]),  # noqa: E712
    (J.key("b").value(bool) != False, [4]),  # noqa: E712
    (J.value(float) >= 12.5, [7]),
    (J.value(float).between(12, 13), [7]),
    (J.value(str).in_(["str", "x"]), [5]),
    (J.value(str).not_in(["x"]), [5]),
    # logic: NULL-free leaves under NOT and XOR
    (sassi.TRUE, ALL),
    (sassi.FALSE, []),
    (sassi.And(()), ALL),
    (sassi.Or(()), []),
    ((F.n > 0) ^ F.s.startswith("H"), [6, 7]),
    (~(F.n > 0), [1, 3, 5]),
    (~(F.n != 5), [2]),
    (~F.s.contains("l"), [1, 3, 4, 6]),
    (~(J.path("a").value(int) == 1), [1, 2, 3, 5, 6, 7]),
    (~J.path("a.b").exists(), [1, 3, 4, 5, 7]),
    ((F.n == None) ^ sassi.TRUE, [2, 3, 4, 5, 6, 7]),  # noqa: E711
    (((F.n > 0) ^ (F.n > 3)) ^ F.b.is_null(), [1, 4, 5, 6]),
    ((F.n < 3) & ~F.s.is_null() | J.is_number(), [3, 5, 7]),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def conn(request: pytest.FixtureRequest) -> Iterator[sa.Connection]:
    """The rows loaded into SQLite, then into PostgreSQL."""
    name = "sqlite_conn" if request.param == "sqlite" else "pg_conn"
    connection: sa.Connection = request.getfixturevalue(name)
    TABLE.create(connection)
    connection.execute(TABLE.insert(), [asdict(r) for r in ROWS])
    yield connection
    TABLE.drop(connection)


@pytest.mark.parametrize(("predicate", "expected"), CASES, ids=[repr(p) for p, _ in CASES])
def test_lowering_selects_the_expected_rows(
    conn: sa.Connection, predicate: sassi.Predicate, expected: list[int]
) -> None:
    assert [r.id for r in ROWS if predicate.evaluate(r)] == expected
    assert selected(conn, TABLE, predicate) == expected


# JSON numbers beyond 2**53, where PostgreSQL's jsonb decimals and Python's exact int/float
# comparison part ways unless the lowering takes care (SQLite compares INTEGER/REAL exactly).
WIDE_ROWS = [
    Row(101, j={"x": 2**60}),
    Row(102, j={"x": 2.0**60}),
    Row(103, j={"x": 1e23}),
    Row(104, j={"x": [2**53 + 1, 9.223372036854776e18]}),
    Row(105, j={"x": 2**63 - 1}),
]
X = J.key("x")
WIDE_CASES: list[tuple[sassi.Predicate, list[int]]] = [
    (X.eq_json(2**60), [101, 102]),
    (X.eq_json(2**60 + 1), []),
    (X.eq_json(1e23), [103]),
    (X.ne_json(2**63 - 1), [101, 102, 103, 104]),
    (X.value(int) > 2**60, [103, 105]),
    (X.value(int) < 2**60 + 1, [101, 102]),
    (X.value(float) == 1e23, [103]),
    (X.value(int) == 10**23, []),
    (X.value(int) < 10**23, [101, 102, 103, 105]),
    (X.value(float).between(2.0**60, 2.0**62), [101, 102]),
    (X.value(float).in_([2.0**60, 1e23]), [101, 102, 103]),
    (X.value(int).not_in([2**63 - 1]), [101, 102, 103]),
    (X.array_contains(2**53 + 1), [104]),
    (X.array_contains(2**53), []),
    (X.array_contains(2**63), [104]),
    (X.eq_json([2**53 + 1, 2**63]), [104]),
    (X.eq_json([2**53, 2**63]), []),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def wide_conn(request: pytest.FixtureRequest) -> Iterator[sa.Connection]:
    """Rows with JSON numbers beyond 2**53, in SQLite, then in PostgreSQL."""
    name = "sqlite_conn" if request.param == "sqlite" else "pg_conn"
    connection: sa.Connection = request.getfixturevalue(name)
    WIDE_TABLE.create(connection)
    connection.execute(WIDE_TABLE.insert(), [asdict(r) for r in WIDE_ROWS])
    yield connection
    WIDE_TABLE.drop(connection)


@pytest.mark.parametrize(
    ("predicate", "expected"), WIDE_CASES, ids=[repr(p) for p, _ in WIDE_CASES]
)
def test_wide_json_numbers_compare_exactly(
    wide_conn: sa.Connection, predicate: sassi.Predicate, expected: list[int]
) -> None:
    assert [r.id for r in WIDE_ROWS if predicate.evaluate(r)] == expected
    assert selected(wide_conn, WIDE_TABLE, predicate) == expected

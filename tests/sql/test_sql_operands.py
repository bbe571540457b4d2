"""Operands the databases would misjudge: Decimal exponents and NaNs, floats and Fractions against
NUMERIC, timezone-aware and naive datetimes.

Each case states the ids it must select, and the test also checks that in-memory evaluation
agrees. Operands that memory cannot compare with a column's values at all (ordering against a
Decimal NaN, an aware datetime against a naive column) are refused at lowering time, before any
SQL reaches a driver.
"""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
import sqlalchemy as sa
from sql_helpers import selected

import sassi
from sassi.sql import to_sqlalchemy


@dataclass(frozen=True)
class Reading:
    id: int
    d: Decimal | None = None  # NUMERIC: Decimal in memory, exact on PostgreSQL, a double on SQLite
    n: int | None = None
    f: float | None = None
    ts: dt.datetime | None = None  # naive
    tz: dt.datetime | None = None  # aware


F = sassi.fields(Reading)
UTC = dt.UTC
PLUS2 = dt.timezone(dt.timedelta(hours=2))
METADATA = sa.MetaData()


def readings_table(name: str) -> sa.Table:
    return sa.Table(
        name,
        METADATA,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("d", sa.Numeric),
        sa.Column("n", sa.BigInteger),
        sa.Column("f", sa.Float),
        sa.Column("ts", sa.DateTime),
        sa.Column("tz", sa.DateTime(timezone=True)),
        prefixes=["TEMPORARY"],
    )


TABLE = readings_table("sassi_operand_rows")
PG_TABLE = readings_table("sassi_operand_pg_rows")

# SQLite stores NUMERIC as a double (SQLAlchemy converts Decimals with float()), so the rows both
# databases share hold Decimals that are doubles exactly; PG_ROWS hold any decimal.
ROWS = [
    Reading(1),
    Reading(2, Decimal("0.5"), 5, 0.5, dt.datetime(2024, 1, 1, 12)),
    Reading(3, Decimal("-1.25"), -1, -1.25, dt.datetime(2024, 6, 1)),
    Reading(4, Decimal.from_float(0.1), 2**53 + 1, 0.1),  # the double nearest 0.1, exactly
    Reading(5, Decimal("1E+20"), 0, 1e20),
    Reading(6, Decimal("3"), 3, 3.0),
]
ALL = [r.id for r in ROWS]
PG_ROWS = [
    Reading(11),
    Reading(12, Decimal("0.1"), tz=dt.datetime(2024, 1, 1, 12, tzinfo=UTC)),
    Reading(13, Decimal("19.99"), tz=dt.datetime(2024, 1, 1, 13, tzinfo=PLUS2)),  # 11:00 UTC
    Reading(14, Decimal.from_float(0.1)),
    Reading(15, Decimal("0.3333333333333333333333333333")),
    Reading(16, Decimal("1E-16383")),
    Reading(17, Decimal("-9.99E+131071")),
    Reading(18, Decimal("Infinity")),
    Reading(19, Decimal("0")),
]
PG_ALL = [r.id for r in PG_ROWS]
HUGE = Decimal("1e1000000000")
TINY = Decimal("1e-1000000000")
NEG_HUGE = Decimal("-1e1000000000")  # (-HUGE would round to the context's precision and overflow)
NEG_TINY = Decimal("-1e-1000000000")
QNAN = Decimal("NaN")
SNAN = Decimal("sNaN")

CASES: list[tuple[sassi.Predicate, list[int]]] = [
    # exponents far beyond any column: decided by sign and side, in constant time
    (F.n < HUGE, ALL),
    (F.n == HUGE, []),
    (F.n > NEG_HUGE, [2, 3, 4, 5, 6]),
    (F.f < HUGE, ALL),
    (F.f.present() >= NEG_HUGE, [2, 3, 4, 5, 6]),
    (F.f > TINY, [2, 4, 5, 6]),
    (F.f <= TINY, [1, 3]),
    (F.f == NEG_TINY, []),
    (F.n.in_([HUGE, TINY, 5]), [2]),
    (F.d < HUGE, ALL),
    (F.d > TINY, [2, 4, 5, 6]),
    (F.d.between(NEG_TINY, TINY), []),
    (F.d.not_in([HUGE]), ALL),
    # a quiet Decimal NaN equals nothing, as a float NaN
    (F.d == QNAN, []),
    (F.d != QNAN, ALL),
    (F.d.present() != QNAN, [2, 3, 4, 5, 6]),
    (F.n == QNAN, []),
    (F.f != QNAN, ALL),
    (F.d.in_([QNAN, Decimal("0.5")]), [2]),
    (F.n.not_in([QNAN]), ALL),
    (F.f.present().not_in([QNAN, 0.5]), [3, 4, 5, 6]),
    # floats and Fractions against NUMERIC compare exactly
    (F.d == 0.5, [2]),
    (F.d == 0.1, [4]),  # the row holds the double's exact value
    (F.d > 0.1, [2, 5, 6]),
    (F.d == Fraction(1, 2), [2]),
    (F.d < Fraction(1, 3), [1, 3, 4]),
    (F.d.present() >= Fraction(-5, 4), [2, 3, 4, 5, 6]),
    (F.d.in_([Fraction(3), Fraction(1, 3), 1e20]), [5, 6]),
    (F.d == 10**20, [5]),
    (F.d > 2**70, []),
    (F.d.between(Decimal("-1.25"), Fraction(1, 2)), [2, 3, 4]),
    (F.d < math.inf, ALL),
    (F.d == Decimal("Infinity"), []),
    # naive datetimes against a naive column
    (F.ts == dt.datetime(2024, 1, 1, 12), [2]),
    (F.ts < dt.datetime(2024, 3, 1), [1, 2, 4, 5, 6]),  # None sorts first
    (F.ts.present() > dt.datetime(2024, 1, 1), [2, 3]),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def conn(request: pytest.FixtureRequest) -> Iterator[sa.Connection]:
    """The shared rows loaded into SQLite, then into PostgreSQL."""
    name = "sqlite_conn" if request.param == "sqlite" else "pg_conn"
    connection: sa.Connection = request.getfixturevalue(name)
    TABLE.create(connection)
    connection.execute(TABLE.insert(), [asdict(r) for r in ROWS])
    yield connection
    TABLE.drop(connection)


def case_id(predicate: sassi.Predicate) -> str:
    """``repr(predicate)``, or a stand-in where an operand holds an int too long for ``str``."""
    try:
        return repr(predicate)
    except ValueError:  # int -> str conversion limit
        return "<predicate with an integer beyond 4300 digits>"


@pytest.mark.parametrize(("predicate", "expected"), CASES, ids=[case_id(p) for p, _ in CASES])
def test_operands_select_the_memory_rows(
    conn: sa.Connection, predicate: sassi.Predicate, expected: list[int]
) -> None:
    assert [r.id for r in ROWS if predicate.evaluate(r)] == expected
    assert selected(conn, TABLE, predicate) == expected


PG_CASES: list[tuple[sassi.Predicate, list[int]]] = [
    # a float is its exact binary value: 0.1 is not NUMERIC 0.1 (Python: Decimal("0.1") != 0.1)
    (F.d == 0.1, [14]),
    (F.d != 0.1, [11, 12, 13, 15, 16, 17, 18, 19]),
    (F.d < 0.1, [11, 12, 16, 17, 19]),
    (F.d.in_([0.1, 19.99]), [14]),
    (F.d == Decimal("0.1"), [12]),
    # Fractions: exact, also where no decimal equals them
    (F.d == Fraction(1, 10), [12]),
    (F.d > Fraction(1, 3), [13, 18]),
    (F.d < Fraction(1, 3), [11, 12, 14, 15, 16, 17, 19]),
    (F.d == Fraction(1, 3), []),
    (F.d.in_([Fraction(1999, 100), Fraction(1, 3)]), [13]),
    (F.d.present().between(Fraction(1, 10**16383), Fraction(1, 10)), [12, 16]),
    (F.d.between(Fraction(1, 10**16384), Fraction(1, 10**16383)), [16]),
    (F.d > Fraction(1, 10**16384), [12, 13, 14, 15, 16, 18]),
    # beyond NUMERIC's range: between its largest finite value and Infinity
    (F.d < HUGE, [11, 12, 13, 14, 15, 16, 17, 19]),
    (F.d > HUGE, [18]),
    (F.d >= NEG_HUGE, [12, 13, 14, 15, 16, 17, 18, 19]),
    (F.d < Decimal("-1e131072"), [11]),
    (F.d > TINY, [12, 13, 14, 15, 16, 18]),
    (F.d.present() <= NEG_TINY, [17]),
    (F.d == Decimal("1e-16383"), [16]),
    (F.d < Decimal("1.5e-16383"), [11, 16, 17, 19]),
    (F.d >= math.inf, [18]),
    (F.d == Decimal("Infinity"), [18]),
    (F.d != -math.inf, PG_ALL),
    # aware datetimes against an aware column compare instants
    (F.tz == dt.datetime(2024, 1, 1, 11, tzinfo=UTC), [13]),
    (F.tz < dt.datetime(2024, 1, 1, 14, tzinfo=PLUS2), [11, 13, 14, 15, 16, 17, 18, 19]),
]


@pytest.fixture(scope="module")
def pg_rows(pg_conn: sa.Connection) -> Iterator[sa.Connection]:
    """Rows with decimals no double holds, in PostgreSQL."""
    PG_TABLE.create(pg_conn)
    pg_conn.execute(PG_TABLE.insert(), [asdict(r) for r in PG_ROWS])
    yield pg_conn
    PG_TABLE.drop(pg_conn)


@pytest.mark.parametrize(("predicate", "expected"), PG_CASES, ids=[case_id(p) for p, _ in PG_CASES])
def test_postgresql_numeric_and_timestamptz_select_the_memory_rows(
    pg_rows: sa.Connection, predicate: sassi.Predicate, expected: list[int]
) -> None:
    assert [r.id for r in PG_ROWS if predicate.evaluate(r)] == expected
    assert selected(pg_rows, PG_TABLE, predicate) == expected


# A declared numeric(p, s) holds multiples of 10**-s only: operands are bracketed on that grid,
# so the literals stay short (an undeclared scale brackets at NUMERIC's 16383 places).
SCALED_TABLE = sa.Table(
    "sassi_operand_scaled_rows",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("d", sa.Numeric(10, 2)),
    prefixes=["TEMPORARY"],
)
SCALED_ROWS = [
    Reading(21),
    Reading(22, Decimal("0.10")),
    Reading(23, Decimal("0.33")),
    Reading(24, Decimal("0.34")),
    Reading(25, Decimal("-19.99")),
]
SCALED_CASES: list[tuple[sassi.Predicate, list[int]]] = [
    (F.d == 0.1, []),
    (F.d != 0.1, [21, 22, 23, 24, 25]),
    (F.d > 0.1, [23, 24]),  # the float 0.1 is a little above 0.10
    (F.d == Decimal("0.100"), [22]),
    (F.d < Fraction(1, 3), [21, 22, 23, 25]),
    (F.d.present() >= Fraction(1, 3), [24]),
    (F.d.in_([Fraction(1, 3), Fraction(17, 50), Decimal("-19.990")]), [24, 25]),
    (F.d.between(Decimal("0.333"), Decimal("0.339")), []),
    (F.d > Decimal("1e-1000000000"), [22, 23, 24]),
]


@pytest.fixture(scope="module")
def pg_scaled(pg_conn: sa.Connection) -> Iterator[sa.Connection]:
    """Rows of a numeric(10, 2) column, in PostgreSQL."""
    SCALED_TABLE.create(pg_conn)
    pg_conn.execute(SCALED_TABLE.insert(), [{"id": r.id, "d": r.d} for r in SCALED_ROWS])
    yield pg_conn
    SCALED_TABLE.drop(pg_conn)


@pytest.mark.parametrize(
    ("predicate", "expected"), SCALED_CASES, ids=[repr(p) for p, _ in SCALED_CASES]
)
def test_postgresql_declared_scale_selects_the_memory_rows(
    pg_scaled: sa.Connection, predicate: sassi.Predicate, expected: list[int]
) -> None:
    assert [r.id for r in SCALED_ROWS if predicate.evaluate(r)] == expected
    assert selected(pg_scaled, SCALED_TABLE, predicate) == expected


def test_fraction_literals_follow_the_declared_scale() -> None:
    clause = to_sqlalchemy(F.d < Fraction(1, 3), SCALED_TABLE)
    sql = str(clause.compile(compile_kwargs={"literal_binds": True}))  # the PostgreSQL form
    assert "d <= CAST('0.33' AS NUMERIC)" in sql
    assert len(sql) < 200


def test_huge_decimal_exponents_lower_in_constant_time() -> None:
    """An exact conversion of 1e1000000000 would build a billion-digit integer and never end."""
    code = (
        "import sqlalchemy as sa\n"
        "from decimal import Decimal\n"
        "from sassi.sql import to_sqlalchemy\n"
        "from sassi.predicate import FieldPredicate, LookupOp\n"
        "t = sa.Table('t', sa.MetaData(), sa.Column('n', sa.BigInteger), sa.Column('f', sa.Float),"
        " sa.Column('d', sa.Numeric))\n"
        "for value in ('1e1000000000', '-1e999999999', '1e-1000000000', '-7e-999999999'):\n"
        "    for column in ('n', 'f', 'd'):\n"
        "        for op in (LookupOp.EQ, LookupOp.LT, LookupOp.GE):\n"
        "            p = FieldPredicate(column, op, Decimal(value))\n"
        "            str(to_sqlalchemy(p, t))\n"
        "        str(to_sqlalchemy(FieldPredicate(column, LookupOp.IN, (Decimal(value),)), t))\n"
    )
    src = str(Path(sassi.__file__).resolve().parent.parent)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, env={"PYTHONPATH": src})


@pytest.mark.parametrize(
    "predicate",
    [
        F.d < QNAN,
        F.n.present() >= QNAN,
        F.f.between(QNAN, 1.0),
        F.d.between(0, QNAN),
        F.d > math.nan,  # a float NaN against Decimal values raises in memory just the same
        F.d.present().le(math.nan),
    ],
    ids=repr,
)
def test_ordering_against_a_nan_that_raises_in_memory_is_refused(
    predicate: sassi.Predicate,
) -> None:
    # In memory the comparison raises InvalidOperation for a row with a value, which makes the
    # whole predicate false for that row (even under ~): no SQL clause says that.
    if predicate.op is not sassi.LookupOp.BETWEEN:  # type: ignore[attr-defined]
        value_rows = [r for r in ROWS if r.d is not None]
        assert not any(predicate.evaluate(r) or (~predicate).evaluate(r) for r in value_rows)
    with pytest.raises(ValueError, match=r"NaN") as info:
        to_sqlalchemy(predicate, TABLE)
    assert repr(predicate.field) in str(info.value)  # type: ignore[attr-defined]


def test_ordering_a_float_nan_against_float_and_integer_columns_still_lowers() -> None:
    """Python orders floats and ints against a float NaN without raising: no refusal there."""
    to_sqlalchemy((F.f < math.nan) | (F.n >= math.nan), TABLE)


@pytest.mark.parametrize(
    "predicate",
    [
        F.d == SNAN,
        F.n != SNAN,
        F.f.present() < SNAN,
        F.d.in_([Decimal(1), SNAN]),
        F.n.not_in([SNAN]),
        F.f.between(SNAN, 2),
    ],
    ids=repr,
)
def test_a_signalling_nan_is_refused_before_any_driver_sees_it(
    predicate: sassi.Predicate,
) -> None:
    with pytest.raises(ValueError, match="signalling NaN") as info:
        to_sqlalchemy(predicate, TABLE)
    assert repr(predicate.field) in str(info.value)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("predicate", "column"),
    [
        (F.ts == dt.datetime(2024, 1, 1, 12, tzinfo=UTC), "ts"),
        (F.ts < dt.datetime(2024, 1, 1, tzinfo=PLUS2), "ts"),
        (F.ts.present().in_([dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, tzinfo=UTC)]), "ts"),
        (F.ts.between(dt.datetime(2024, 1, 1), dt.datetime(2025, 1, 1, tzinfo=UTC)), "ts"),
        (F.tz == dt.datetime(2024, 1, 1, 12), "tz"),
        (F.tz.not_in([dt.datetime(2024, 1, 1, 12)]), "tz"),
        (F.tz >= dt.datetime(2024, 1, 1), "tz"),
    ],
    ids=repr,
)
def test_aware_and_naive_datetimes_never_compare(predicate: sassi.Predicate, column: str) -> None:
    # Memory: == and in_ are always false, != and not_in always true, ordering raises TypeError
    # (the whole predicate is false). The databases would convert one side with the session
    # time zone, or compare wall-clock text, and select rows by the time they show.
    with pytest.raises(TypeError, match=rf"'{column}'.*(aware|naive)"):
        to_sqlalchemy(predicate, TABLE)


DAYS = sa.Table(
    "sassi_operand_days",
    sa.MetaData(),
    sa.Column("day", sa.Date),
    sa.Column("at", sa.DateTime),
    sa.Column("clock", sa.Time),
    sa.Column("clock_tz", sa.Time(timezone=True)),
)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("day", dt.datetime(2024, 1, 1), "is a datetime, but column sassi_operand_days.day"),
        ("at", dt.date(2024, 1, 1), "is a date, but column sassi_operand_days.at"),
        ("clock", dt.time(12, tzinfo=UTC), "timezone-aware time, but column"),
        ("clock_tz", dt.time(12), "naive time, but column"),
    ],
)
def test_dates_times_and_datetimes_that_never_compare_are_refused(
    field: str, value: object, message: str
) -> None:
    # Python: date == datetime is false and date < datetime raises; so do aware and naive times.
    for op in (sassi.LookupOp.EQ, sassi.LookupOp.GE):
        with pytest.raises(TypeError, match=f"field '{field}': .*{message}"):
            to_sqlalchemy(sassi.FieldPredicate(field, op, value), DAYS)


def test_matching_dates_times_and_zones_still_lower() -> None:
    to_sqlalchemy(
        sassi.FieldPredicate("day", sassi.LookupOp.EQ, dt.date(2024, 1, 1))
        & sassi.FieldPredicate("at", sassi.LookupOp.LT, dt.datetime(2024, 1, 1))
        & sassi.FieldPredicate("clock", sassi.LookupOp.GT, dt.time(12))
        & sassi.FieldPredicate("clock_tz", sassi.LookupOp.GT, dt.time(12, tzinfo=UTC)),
        DAYS,
    )

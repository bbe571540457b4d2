"""The shared predicate strategies (tests/strategies.py) against SQLite and PostgreSQL.

The predicate suite's own generator (``sql_safe=True``: no NaN or infinity in rows or operands,
64-bit ints, no NUL) drives the same check as ``test_sql_differential``: for every generated
row list and predicate tree, ``evaluate == compile == SQLite == PostgreSQL``.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sql_helpers import in_memory, load, selected, table_fixtures
from sqlalchemy.dialects.postgresql import JSONB

from sassi import Predicate
from strategies import Row, predicates, row_lists

METADATA = sa.MetaData()
TABLE = sa.Table(
    "sassi_shared_rows",
    METADATA,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("age", sa.BigInteger),
    sa.Column("score", sa.Float),
    sa.Column("name", sa.Text),
    sa.Column("flag", sa.Boolean),
    sa.Column(
        "payload", sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
    ),
    prefixes=["TEMPORARY"],
)
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
DATA = row_lists(sql_safe=True, max_size=8)
PREDICATES = st.lists(predicates(8, sql_safe=True), min_size=1, max_size=3)


sqlite_table, pg_table = table_fixtures(METADATA)


@SETTINGS
@given(data=DATA, preds=PREDICATES)
def test_shared_strategies_sqlite(
    sqlite_table: sa.Connection, data: list[Row], preds: list[Predicate]
) -> None:
    load(sqlite_table, TABLE, data)
    for p in preds:
        assert selected(sqlite_table, TABLE, p) == in_memory(data, p), p


@pytest.mark.postgres
@SETTINGS
@given(data=DATA, preds=PREDICATES)
def test_shared_strategies_sqlite_and_postgresql(
    sqlite_table: sa.Connection, pg_table: sa.Connection, data: list[Row], preds: list[Predicate]
) -> None:
    load(sqlite_table, TABLE, data)
    load(pg_table, TABLE, data)
    for p in preds:
        want = in_memory(data, p)
        assert selected(sqlite_table, TABLE, p) == want, p
        assert selected(pg_table, TABLE, p) == want, p

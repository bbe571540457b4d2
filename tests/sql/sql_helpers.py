"""The differential check's plumbing, shared by the SQL suites that compare engines with memory.

Importable as ``sql_helpers`` (pytest puts ``tests/sql/`` on ``sys.path`` through its
``conftest.py``, the way ``tiering_helpers`` is imported in ``tests/backends/``).

- :class:`Row` — ``id: int`` and nullable ``n`` (int), ``f`` (float), ``s`` (str), ``b`` (bool),
  ``j`` (JSON), ``d`` (Decimal); :func:`rows_table` — a temporary table with the matching columns
  (``d`` is NUMERIC, which SQLite stores as a double).
- :func:`table_fixtures` — the module-scoped ``sqlite_table`` / ``pg_table`` fixtures for one
  ``MetaData``: the ``sqlite_conn`` / ``pg_conn`` connections with its tables created.
- :func:`load` / :func:`selected` — replace a table's rows; the ids a lowered predicate selects.
- :func:`in_memory` — the ids ``evaluate`` selects, checking that ``compile`` agrees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

import sassi
from sassi.sql import to_sqlalchemy

__all__ = ["Row", "in_memory", "load", "rows_table", "selected", "table_fixtures"]


@dataclass(frozen=True)
class Row:
    """A row with one nullable column of each kind the lowering handles."""

    id: int
    n: int | None = None
    f: float | None = None
    s: str | None = None
    b: bool | None = None
    j: sassi.JSON | None = None
    d: Decimal | None = None


def rows_table(name: str, metadata: sa.MetaData) -> sa.Table:
    """A temporary table holding :class:`Row` values (``j`` is JSONB on PostgreSQL).

    ``d`` is ``NUMERIC``: exact on PostgreSQL; SQLAlchemy stores it on SQLite as a double, so rows
    meant for both databases hold Decimals that doubles represent exactly.

    :param name: the table name (unique within ``metadata``).
    :param metadata: the ``MetaData`` the table joins.
    :returns: the new table.
    """
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("n", sa.BigInteger),
        sa.Column("f", sa.Float),
        sa.Column("s", sa.Text),
        sa.Column("b", sa.Boolean),
        sa.Column(
            "j", sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
        ),
        sa.Column("d", sa.Numeric),
        prefixes=["TEMPORARY"],
    )


def table_fixtures(
    metadata: sa.MetaData,
) -> tuple[Callable[..., sa.Connection], Callable[..., sa.Connection]]:
    """Build the ``sqlite_table`` and ``pg_table`` fixtures for the tables of ``metadata``.

    Assign them at module level (``sqlite_table, pg_table = table_fixtures(METADATA)``) so pytest
    finds them under those names. Each is module-scoped and creates the tables once on its
    connection (``pg_table`` needs ``pg_url``, so it skips or fails like ``pg_conn`` does).

    :param metadata: the module's ``MetaData`` holding its test table(s).
    :returns: the ``(sqlite_table, pg_table)`` fixture functions.
    """

    @pytest.fixture(scope="module")
    def sqlite_table(sqlite_conn: sa.Connection) -> sa.Connection:
        metadata.create_all(sqlite_conn)
        return sqlite_conn

    @pytest.fixture(scope="module")
    def pg_table(pg_conn: sa.Connection) -> sa.Connection:
        metadata.create_all(pg_conn)
        return pg_conn

    return sqlite_table, pg_table


def load(conn: sa.Connection, table: sa.Table, data: Sequence[Any]) -> None:
    """Replace every row of ``table`` with the dataclass instances ``data``.

    :param conn: the connection (from ``sqlite_table`` / ``pg_table``).
    :param table: the table to fill; its columns are the dataclass fields.
    :param data: dataclass instances; may be empty.
    """
    conn.execute(table.delete())
    if data:
        conn.execute(table.insert(), [asdict(r) for r in data])


def selected(conn: sa.Connection, table: sa.Table, predicate: sassi.Predicate) -> list[int]:
    """Ids of the rows of ``table`` that ``predicate``, lowered to SQL, selects, in id order.

    :param conn: the connection holding the loaded table.
    :param table: the table the predicate is lowered against.
    :param predicate: the sassi predicate under test.
    :returns: the selected ``id`` values, ascending.
    """
    query = sa.select(table.c.id).where(to_sqlalchemy(predicate, table)).order_by(table.c.id)
    return list(conn.scalars(query))


def in_memory(data: Sequence[Any], predicate: sassi.Predicate) -> list[int]:
    """Ids of the rows ``predicate.evaluate`` selects, in id order (what :func:`selected` gives).

    Also asserts that the compiled predicate selects exactly the same rows.

    :param data: the rows (any order; ids unique).
    :param predicate: the sassi predicate under test.
    :returns: the selected ``id`` values, ascending.
    :raises AssertionError: when ``predicate.compile()`` disagrees with ``evaluate``.
    """
    ordered = sorted(data, key=lambda r: r.id)
    evaluated = [r.id for r in ordered if predicate.evaluate(r)]
    compiled = predicate.compile()
    assert [r.id for r in ordered if compiled(r)] == evaluated
    return evaluated

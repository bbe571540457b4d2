"""Predicates -> SQLAlchemy: the same rows in SQLite and PostgreSQL as in memory.

:func:`to_sqlalchemy` walks a predicate tree and returns one SQLAlchemy boolean clause. The clause
is dialect-aware: every leaf is built twice (SQLite, PostgreSQL) and the compiler picks the form
of the engine it runs on, so one clause serves both databases and caches like any other.

How the in-memory semantics survive SQL (``docs/sql.md`` has the long version):

- Two-valued logic: every lowered leaf is NULL-free (``IS [NOT] NULL`` guards, ``coalesce``), so
  ``NOT`` and ``XOR`` (rendered ``a <> b`` on NULL-free terms) behave as in Python.
- ``None`` sorts before every value: ``!= v``, ``< v`` and ``<= v`` include NULL rows; ``present``
  comparisons exclude them. NaN operands are resolved here, in Python, as Python compares them.
- Numbers compare exactly: operands are rewritten for the column's storage (64-bit integers,
  doubles, PostgreSQL ``NUMERIC`` decimals), Decimals with huge exponents without converting them.
- Operands Python cannot compare with the column's values (a signalling NaN, ordering against a
  Decimal NaN, an aware datetime for a naive column) raise at lowering time, naming the field.
- Strings compare by code point (``COLLATE "C"`` on PostgreSQL, ``BINARY`` on SQLite); ``i*`` lookups
  fold ASCII letters only (``translate`` / ``replace``, never ``lower()``); ``%``, ``_`` and ``\\``
  stay literal because no ``LIKE`` is used (``instr``/``strpos`` and ``substr`` comparisons).
- JSON: PostgreSQL uses ``jsonb`` (paths through a strict, silent SQL/JSON path, numbers compared
  as ``numeric`` with int/float care); SQLite walks keys with ``json_each`` (so any key works:
  dots, quotes, empty, non-ASCII) and expands JSON equality into exact structural tests.
"""

from __future__ import annotations

from ._lower import to_sqlalchemy as to_sqlalchemy

__all__ = ["to_sqlalchemy"]

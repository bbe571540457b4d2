"""SQL for sassi: predicates lowered to SQLAlchemy, tables as fetchers, PostgreSQL NOTIFY.

- :func:`to_sqlalchemy` (below): a predicate -> one SQLAlchemy clause, the same rows as in memory.
- :class:`Source`: a table (or mapped class) as the fetchers ``aget_or_fetch``,
  ``aget_or_fetch_many``, ``periodic_refresh`` and ``delta_refresh`` call, async and sync.
- :func:`notify_trigger_ddl` and :meth:`Source.listen`: a trigger that sends ``NOTIFY`` on every
  change, and a :class:`Listener` (``wake=`` of ``delta_refresh``) that applies it at once
  (psycopg 3: ``pip install 'sassi[postgres]'``).

Predicates -> SQLAlchemy: the same rows in SQLite and PostgreSQL as in memory.

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

from ._listen import Listener as Listener
from ._listen import notify_trigger_ddl as notify_trigger_ddl
from ._lower import to_sqlalchemy as to_sqlalchemy
from ._source import Source as Source

__all__ = ["Listener", "Source", "notify_trigger_ddl", "to_sqlalchemy"]

"""Predicates -> SQLAlchemy: the same rows in SQLite and PostgreSQL as in memory.

:func:`to_sqlalchemy` walks a predicate tree and returns one SQLAlchemy boolean clause. The clause
is dialect-aware: every leaf is built twice (SQLite, PostgreSQL) and the compiler picks the form
of the engine it runs on, so one clause serves both databases and caches like any other.

How the in-memory semantics survive SQL (``docs/sql.md`` has the long version):

- Two-valued logic: every lowered leaf is NULL-free (``IS [NOT] NULL`` guards, ``coalesce``), so
  ``NOT`` and ``XOR`` (rendered ``a <> b`` on NULL-free terms) behave as in Python.
- ``None`` sorts before every value: ``!= v``, ``< v`` and ``<= v`` include NULL rows; ``present``
  comparisons exclude them. NaN operands are resolved here, in Python, as Python compares them.
- Strings compare by code point (``COLLATE "C"`` on PostgreSQL, ``BINARY`` on SQLite); ``i*`` lookups
  fold ASCII letters only (``translate`` / ``replace``, never ``lower()``); ``%``, ``_`` and ``\\``
  stay literal because no ``LIKE`` is used (``instr``/``strpos`` and ``substr`` comparisons).
- JSON: PostgreSQL uses ``jsonb`` (paths through a strict, silent SQL/JSON path, numbers compared
  as ``numeric`` with int/float care); SQLite walks keys with ``json_each`` (so any key works:
  dots, quotes, empty, non-ASCII) and expands JSON equality into exact structural tests.
"""

from __future__ import annotations

import decimal
import fractions
import json
import math
import numbers
import operator
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, JSONPATH
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement, Grouping
from sqlalchemy.sql.visitors import InternalTraversal

from .predicate import (
    And,
    Const,
    FieldPredicate,
    JsonKind,
    JsonPredicate,
    JsonTest,
    LookupOp,
    Not,
    Or,
    Predicate,
    Xor,
)

__all__ = ["to_sqlalchemy"]

Clause = ColumnElement[bool]
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = _UPPER.lower()
_ASCII_FOLD = str.maketrans(_UPPER, _LOWER)
_INT64 = (-(2**63), 2**63 - 1)
_EXACT_FLOAT_INT = 2**53  # every int up to here is a double, every double beyond is an int


class _PerDialect(ColumnElement[bool]):
    """A boolean clause with one form per dialect; the compiler picks the engine's form.

    ``default`` (plain ``str(clause)``) renders the PostgreSQL form; dialects other than SQLite
    and PostgreSQL are refused at compile time rather than given SQL of unknown meaning.
    """

    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012 - SQLAlchemy's own declaration style
        ("sqlite", InternalTraversal.dp_clauseelement),
        ("postgresql", InternalTraversal.dp_clauseelement),
    ]
    type = sa.Boolean()

    def __init__(self, sqlite: Clause, postgresql: Clause) -> None:
        self.sqlite = sqlite
        self.postgresql = postgresql


@compiles(_PerDialect)
def _compile_per_dialect(element: _PerDialect, compiler: SQLCompiler, **kw: Any) -> str:
    """Render the form of the dialect being compiled for (PostgreSQL for plain ``str()``)."""
    name = compiler.dialect.name
    if name == "sqlite":
        chosen = element.sqlite
    elif name in ("postgresql", "default"):
        chosen = element.postgresql
    else:
        raise CompileError(
            f"sassi.sql lowers predicates for SQLite and PostgreSQL only, not {name!r}"
        )
    return str(compiler.process(Grouping(chosen), **kw))


def to_sqlalchemy(predicate: Predicate, table_or_model: Any) -> Clause:
    """Lower ``predicate`` to a SQLAlchemy boolean clause selecting exactly the matching rows.

    The clause selects the rows whose values make ``predicate.evaluate(obj)`` true, on SQLite
    (JSON1) and on PostgreSQL (``jsonb``), for every :class:`~sassi.LookupOp`, ``present()``
    comparisons, ``TRUE``/``FALSE``, empty ``And``/``Or``, ``Xor``, ``Not`` and JSON predicates.
    String columns should be ``TEXT``; JSON columns ``JSON`` (SQLite) / ``JSONB`` or ``JSON``
    (PostgreSQL, cast to ``jsonb``). A SQL ``NULL`` or JSON ``null`` root is a missing document.

    :param predicate: any predicate tree.
    :param table_or_model: a :class:`sqlalchemy.Table` (or any FROM clause with ``.c``), a mapped
        declarative class (or ``aliased()`` entity), or a mapping of field name -> column.
    :returns: a boolean clause for ``select(...).where(...)``.
    :raises ValueError: when the predicate names a field the table or model does not have.
    :raises TypeError: when ``table_or_model`` is none of the accepted kinds, or a node is not a
        sassi predicate.
    """
    key = _cache_key(predicate, table_or_model)
    if key is not None:
        with _CACHE_LOCK:
            hit = _CACHE.get(key)
            if hit is not None:
                _CACHE.move_to_end(key)
                return hit
    clause = _Lowerer(_column_lookup(table_or_model)).lower(predicate)
    if key is not None:
        with _CACHE_LOCK:
            raced = _CACHE.get(key)  # another thread lowered it meanwhile: share that one
            if raced is not None:
                return raced
            _CACHE[key] = clause
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    return clause


# Lowered clauses are immutable, so a (predicate, table) pair is lowered once. The key spells out
# operand types: predicates compare structurally with ==, which equates 1, 1.0 and True, yet
# `int_col = true` is an error on PostgreSQL. Mappings (unhashable) are not cached.
_CACHE_SIZE = 512
_CACHE: OrderedDict[Hashable, Clause] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _typed(value: object) -> Hashable:
    """A hashable stand-in for a predicate or operand that keeps every operand's type."""
    if isinstance(value, FieldPredicate):
        return (value.field, value.op, value.present, _typed(value.value))
    if isinstance(value, And | Or):
        return (type(value), *(_typed(c) for c in value.children))
    if isinstance(value, Not):
        return (Not, _typed(value.child))
    if isinstance(value, Xor):
        return (Xor, _typed(value.left), _typed(value.right))
    if isinstance(value, Const | JsonPredicate):
        return value  # JSON bodies already tell bool from number; 1 and 1.0 lower alike there
    if isinstance(value, tuple | list):
        return (type(value), *(_typed(v) for v in value))
    return (type(value), value)


def _cache_key(predicate: Predicate, target: object) -> Hashable | None:
    """The clause-cache key, or ``None`` when the target or an operand cannot be a key."""
    if not isinstance(target, sa.FromClause | type):
        return None
    key = (target, _typed(predicate))
    try:
        hash(key)
    except TypeError:  # an unhashable operand
        return None
    return key


def _column_lookup(target: Any) -> Callable[[str], ColumnElement[Any]]:
    """``field name -> column`` for a table, mapped class or mapping."""
    if isinstance(target, Mapping):
        mapping: Mapping[str, Any] = target

        def from_mapping(name: str) -> ColumnElement[Any]:
            if name not in mapping:
                raise ValueError(_unknown(name, "the column mapping", list(mapping)))
            return _as_column(mapping[name], name)

        return from_mapping
    if isinstance(target, sa.FromClause):
        columns = target.c

        def from_table(name: str) -> ColumnElement[Any]:
            if name not in columns:
                raise ValueError(_unknown(name, f"table {target.description!r}", columns.keys()))
            column: ColumnElement[Any] = columns[name]
            return column

        return from_table
    insp = sa.inspect(target, raiseerr=False)
    mapper = getattr(insp, "mapper", None)
    if mapper is None:
        raise TypeError(
            "to_sqlalchemy() needs a SQLAlchemy Table, a mapped class or a mapping of field "
            f"names to columns, not {target!r}"
        )

    def from_mapped(name: str) -> ColumnElement[Any]:
        # Mapped columns, column_property() expressions, synonyms and hybrid properties all
        # have a SQL expression under the attribute name; relationships do not.
        descriptors = list(mapper.all_orm_descriptors.keys())  # iterating it yields values
        known = [k for k in descriptors if k not in mapper.relationships]
        if name not in known:
            where = f"mapped class {mapper.class_.__qualname__}"
            raise ValueError(_unknown(name, where, [k for k in known if not k.startswith("_")]))
        return _as_column(getattr(insp.entity, name), name)

    return from_mapped


def _unknown(name: str, where: str, known: Sequence[str]) -> str:
    """The ``ValueError`` message for a field the target does not have."""
    return f"predicate field {name!r} is not a column of {where} (known: {', '.join(known)})"


def _as_column(obj: Any, name: str) -> ColumnElement[Any]:
    """The SQL expression behind a column, ORM attribute or hybrid."""
    clause = obj.__clause_element__() if hasattr(obj, "__clause_element__") else obj
    if not isinstance(clause, ColumnElement):
        raise TypeError(f"column for field {name!r} must be a SQLAlchemy column, not {obj!r}")
    return clause


class _Lowerer:
    """One walk over a predicate tree; every returned clause is NULL-free."""

    def __init__(self, column: Callable[[str], ColumnElement[Any]]) -> None:
        self.column = column

    def lower(self, node: Predicate) -> Clause:
        if isinstance(node, Const):
            return sa.true() if node.value else sa.false()
        if isinstance(node, And):
            if not node.children:
                return sa.true()
            return sa.and_(*(self.lower(c) for c in node.children))
        if isinstance(node, Or):
            if not node.children:
                return sa.false()
            return sa.or_(*(self.lower(c) for c in node.children))
        if isinstance(node, Not):
            return sa.not_(self.lower(node.child))
        if isinstance(node, Xor):
            # Both sides are NULL-free booleans, so inequality is exclusive or (and stays linear
            # in size, unlike (a AND NOT b) OR (NOT a AND b) which doubles per nesting level).
            left, right = self.lower(node.left), self.lower(node.right)
            return left.op("<>", precedence=100, is_comparison=True, return_type=sa.Boolean)(right)
        if isinstance(node, FieldPredicate):
            col = self.column(node.field)
            if node.op is LookupOp.JSON:
                if not isinstance(node.value, JsonPredicate):
                    raise TypeError(f"a JSON leaf needs a JsonPredicate body, not {node.value!r}")
                return _PerDialect(_sqlite_json(col, node.value), _pg_json(col, node.value))
            return _lower_field(col, node)
        raise TypeError(f"not a sassi predicate node: {node!r}")


# Plain columns ----------------------------------------------------------------------------------


def _is_nan(value: object) -> bool:
    """Whether ``value`` is a float NaN."""
    return isinstance(value, float) and math.isnan(value)


def _collate(expr: Any, collation: str) -> Any:
    """``expr COLLATE collation``, parenthesised when ``expr`` is an operator expression.

    ``COLLATE`` binds tighter than ``||`` and friends: without the parentheses a hybrid property
    such as ``name || '!'`` would collate only its last operand.
    """
    return sa.collate(expr if isinstance(expr, sa.ColumnClause) else Grouping(expr), collation)


def _codepoint(col: ColumnElement[Any], value: object) -> tuple[Any, Any]:
    """``(sqlite, postgresql)`` forms of ``col`` that compare strings by code point."""
    if isinstance(value, str):
        return _collate(col, "BINARY"), _collate(col, "C")
    return col, col


def _per_dialect(col: ColumnElement[Any], value: object, build: Callable[[Any], Clause]) -> Clause:
    """``build(col)`` once per dialect, with code-point collation when ``value`` is a string."""
    lite, pg = _codepoint(col, value)
    if lite is col:
        return build(col)
    return _PerDialect(build(lite), build(pg))


_ORDER_SIDE = {  # for an operand known to lie above (True) / below (False) every stored value
    LookupOp.EQ: (False, False),
    LookupOp.NE: (True, True),
    LookupOp.LT: (True, False),
    LookupOp.LE: (True, False),
    LookupOp.GT: (False, True),
    LookupOp.GE: (False, True),
}


def _bracket(op: LookupOp, low: object, high: object) -> tuple[LookupOp, object] | bool:
    """``op`` against an operand lying strictly between ``low`` and ``high`` (no value between)."""
    if op in (LookupOp.EQ, LookupOp.NE):
        return op is LookupOp.NE
    return (LookupOp.LE, low) if op in (LookupOp.LT, LookupOp.LE) else (LookupOp.GE, high)


def _exact_number(value: object) -> fractions.Fraction | float | None:
    """A finite number operand as an exact ``Fraction``, an infinite one as ``±inf``, else None.

    ``bool`` is not a number here; NaN (float or Decimal) is handled by the callers.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return fractions.Fraction(value) if math.isfinite(value) else value
    if isinstance(value, decimal.Decimal):
        if value.is_nan():
            return None
        return fractions.Fraction(value) if value.is_finite() else float(value)
    if isinstance(value, numbers.Rational):
        return fractions.Fraction(int(value.numerator), int(value.denominator))
    return None


def _exact(col_type: Any, op: LookupOp, value: object) -> tuple[LookupOp, object] | bool:
    """Rewrite a numeric comparison so the database decides it exactly as Python does.

    Python compares ints, floats, Decimals and Fractions exactly; databases convert one side
    (PostgreSQL turns ``bigint = float8`` into a float comparison, drivers round a Decimal to a
    double for a float column, Fractions cannot be bound at all, and neither database takes an
    integer beyond 64 bits). So, for integer and float columns: an operand a column value can
    equal is bound as that value (an ``int`` or a ``float``); one strictly between two storable
    values becomes ``<=`` the lower / ``>=`` the upper (equality false, inequality true); one
    beyond every storable value becomes a constant.

    :returns: the new ``(op, operand)``, or the constant answer for every non-NULL value.
    """
    if isinstance(col_type, sa.Integer):
        lo_int, hi_int = _INT64
    elif isinstance(col_type, sa.Float):
        lo_int = hi_int = 0
    else:
        return op, value
    q = _exact_number(value)
    if q is None:
        return op, value
    if isinstance(q, float):  # an infinity: a float column can hold it, an integer one cannot
        return (op, q) if isinstance(col_type, sa.Float) else _ORDER_SIDE[op][0 if q > 0 else 1]
    if isinstance(col_type, sa.Integer):
        floor = q.numerator // q.denominator
        if q.denominator != 1:
            rewritten = _bracket(op, floor, floor + 1)
            if isinstance(rewritten, bool):
                return rewritten
            op = rewritten[0]
            floor = floor if op is LookupOp.LE else floor + 1
        if not lo_int <= floor <= hi_int:
            return _ORDER_SIDE[op][0 if floor > 0 else 1]
        return op, floor
    try:
        f = float(q)
    except OverflowError:  # beyond the largest double: between it and infinity
        biggest = sys.float_info.max
        return _bracket(op, biggest, math.inf) if q > 0 else _bracket(op, -math.inf, -biggest)
    exact = fractions.Fraction(f)
    if exact == q:
        return op, f
    if exact > q:
        return _bracket(op, math.nextafter(f, -math.inf), f)
    return _bracket(op, f, math.nextafter(f, math.inf))


def _compare(col: ColumnElement[Any], op: LookupOp, value: object) -> Clause:
    """``col op value`` for a non-NULL column value and a non-None, non-NaN operand."""
    rewritten = _exact(col.type, op, value)
    if isinstance(rewritten, bool):
        return sa.true() if rewritten else sa.false()
    op, value = rewritten
    cmp = _COMPARE[op]
    # True/False as bound parameters: SQLAlchemy refuses `col < True` with a bare bool.
    operand = sa.literal(value, sa.Boolean()) if isinstance(value, bool) else value
    clause = _per_dialect(col, value, lambda c: _as_clause(cmp(c, operand)))
    if op in (LookupOp.GT, LookupOp.GE) and isinstance(col.type, sa.Float):
        # PostgreSQL sorts a stored NaN above every number; Python's NaN is never greater.
        not_nan = col != sa.literal(float("nan"), col.type)
        return _PerDialect(clause, sa.and_(clause, not_nan))
    return clause


def _ordered(col: ColumnElement[Any], op: LookupOp, value: object, present: bool) -> Clause:
    """EQ NE LT LE GT GE with "None sorts first" (plain) or "None is false" (present)."""
    null, not_null = col.is_(None), col.is_not(None)
    if present:
        if value is None or _is_nan(value):  # only `!= NaN` holds, and only for a value
            return not_null if (op is LookupOp.NE and value is not None) else sa.false()
        return sa.and_(not_null, _compare(col, op, value))
    if value is None:  # None equals None and sorts before everything else
        return {
            LookupOp.EQ: null,
            LookupOp.NE: not_null,
            LookupOp.LT: sa.false(),
            LookupOp.LE: null,
            LookupOp.GT: not_null,
            LookupOp.GE: sa.true(),
        }[op]
    if _is_nan(value):  # NaN: only None sorts below it; != is always true
        return {
            LookupOp.EQ: sa.false(),
            LookupOp.NE: sa.true(),
            LookupOp.LT: null,
            LookupOp.LE: null,
            LookupOp.GT: sa.false(),
            LookupOp.GE: sa.false(),
        }[op]
    if op in (LookupOp.NE, LookupOp.LT, LookupOp.LE):
        return sa.or_(null, _compare(col, op, value))
    return sa.and_(not_null, _compare(col, op, value))


def _membership(
    col: ColumnElement[Any], op: LookupOp, values: tuple[Any, ...], present: bool
) -> Clause:
    """IN / NOT_IN: NaN never matches, ``None`` matches a NULL column only when plain."""
    wanted = []
    for v in values:
        if v is None or _is_nan(v):
            continue
        exact = _exact(col.type, LookupOp.EQ, v)
        if not isinstance(exact, bool):  # a bool answer is "never equal"
            wanted.append(exact[1])
    has_none = (not present) and any(v is None for v in values)
    null, not_null = col.is_(None), col.is_not(None)
    sample = next((v for v in wanted if isinstance(v, str)), None)
    matches: Clause = (
        sa.and_(not_null, _per_dialect(col, sample, lambda c: c.in_(wanted)))
        if wanted
        else sa.false()
    )
    if op is LookupOp.IN:
        return sa.or_(matches, null) if has_none else matches
    outside: Clause = _per_dialect(col, sample, lambda c: c.not_in(wanted)) if wanted else sa.true()
    if present or has_none:
        return sa.and_(not_null, outside)
    return sa.or_(null, outside)


def _fold(expr: Any, needle: str) -> tuple[Any, Any]:
    """``(sqlite, postgresql)`` ASCII-only lower-casing of a text expression.

    PostgreSQL: ``translate()`` over A-Z. SQLite has no ``translate()`` (and ``lower()`` folds
    Unicode once the ICU extension is loaded), so it gets nested ``replace()`` calls, one per
    letter of the already folded ``needle``: an upper-case letter whose lower case is absent
    from the needle can match no needle character folded or not, so the answer is unchanged
    and the expression stays shallow enough for SQLite's parser.
    """
    lite: Any = _collate(expr, "BINARY")
    for lower in sorted(set(needle) & set(_LOWER)):
        upper = lower.upper()
        lite = sa.func.replace(
            lite, sa.literal_column(f"'{upper}'"), sa.literal_column(f"'{lower}'")
        )
    pg = sa.func.translate(
        _collate(expr, "C"), sa.literal_column(f"'{_UPPER}'"), sa.literal_column(f"'{_LOWER}'")
    )
    return lite, pg


def _string(col: ColumnElement[Any], op: LookupOp, needle: str) -> Clause:
    """contains / startswith / endswith / iexact and their ASCII-folding forms."""
    if op in (LookupOp.ICONTAINS, LookupOp.ISTARTSWITH, LookupOp.IENDSWITH, LookupOp.IEXACT):
        needle = needle.translate(_ASCII_FOLD)
        lite, pg = _fold(col, needle)
    else:
        lite, pg = _collate(col, "BINARY"), _collate(col, "C")
    n = len(needle)
    not_null = col.is_not(None)
    if op in (LookupOp.IEXACT,):
        return sa.and_(not_null, _PerDialect(lite == needle, pg == needle))
    if n == 0:
        return not_null
    if op in (LookupOp.CONTAINS, LookupOp.ICONTAINS):
        sqlite_form = sa.func.instr(lite, needle) > 0
        pg_form = sa.func.strpos(pg, needle) > 0
    elif op in (LookupOp.STARTSWITH, LookupOp.ISTARTSWITH):
        sqlite_form = sa.func.substr(lite, 1, n) == needle
        pg_form = sa.func.left(pg, n) == needle
    else:
        sqlite_form = sa.func.substr(lite, -n) == needle
        pg_form = sa.func.right(pg, n) == needle
    return sa.and_(not_null, _PerDialect(sqlite_form, pg_form))


def _pair(value: object) -> tuple[Any, Any]:
    """``(low, high)`` of a BETWEEN operand."""
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise TypeError(f"BETWEEN needs a (low, high) pair, not {value!r}")
    return value[0], value[1]


def _lower_field(col: ColumnElement[Any], node: FieldPredicate) -> Clause:
    """One leaf on a plain (non-JSON-path) column; NULL-free."""
    op, value, present = node.op, node.value, node.present
    if isinstance(col.type, sa.JSON):
        return _json_column(col, node)
    if op is LookupOp.IS_NULL:
        return sa.false() if present else col.is_(None)
    if op is LookupOp.IS_NOT_NULL:
        return col.is_not(None)
    if op is LookupOp.BETWEEN:
        low, high = _pair(value)
        return sa.and_(
            _ordered(col, LookupOp.GE, low, present), _ordered(col, LookupOp.LE, high, present)
        )
    if op in (LookupOp.IN, LookupOp.NOT_IN):
        return _membership(col, op, tuple(value), present)  # type: ignore[arg-type]
    if op in (LookupOp.EQ, LookupOp.NE, LookupOp.LT, LookupOp.LE, LookupOp.GT, LookupOp.GE):
        return _ordered(col, op, value, present)
    if isinstance(value, str):
        return _string(col, op, value)
    raise TypeError(f"{op.name} needs a str needle, not {value!r}")


# Plain comparisons on a JSON column: Python's == on the loaded value --------------------------


def _json_column(col: ColumnElement[Any], node: FieldPredicate) -> Clause:
    """``F.payload == v``, ``!=``, ``in_``, ``not_in``, ``is_null`` on a JSON-typed column.

    In memory these compare the loaded Python value with ``==``: dicts ignore key order, ints and
    floats compare exactly, and ``True == 1``. A JSON ``null`` root loads as ``None``, so it is
    ``None`` here too. Ordering and string lookups have no JSON meaning and are refused.
    """
    op, value, present = node.op, node.value, node.present
    null = _PerDialect(_sqlite_null_root(col), _pg_null_root(col))
    if op is LookupOp.IS_NULL:
        return sa.false() if present else null
    if op is LookupOp.IS_NOT_NULL:
        return sa.not_(null)
    if op in (LookupOp.EQ, LookupOp.NE):
        values: tuple[Any, ...] = (value,)
    elif op in (LookupOp.IN, LookupOp.NOT_IN):
        values = tuple(value)  # type: ignore[arg-type]
    else:
        raise TypeError(
            f"{op.name} on the JSON column {node.field!r} has no SQL form; compare a typed value "
            f"instead: F.{node.field}.json.path(...).value(int) < 3"
        )
    wanted = [v for v in values if v is not None]
    has_none = (not present) and any(v is None for v in values)
    equal: Clause = (
        sa.and_(
            sa.not_(null),
            _PerDialect(
                sa.or_(*(_sqlite_root_eq(col, v) for v in wanted)),
                sa.or_(*(_pg_root_eq(col, v) for v in wanted)),
            ),
        )
        if wanted
        else sa.false()
    )
    if op in (LookupOp.EQ, LookupOp.IN):
        return sa.or_(equal, null) if has_none else equal
    if present or has_none:
        return sa.and_(sa.not_(null), sa.not_(equal))
    return sa.not_(equal)


def _sqlite_null_root(col: ColumnElement[Any]) -> Clause:
    """SQLite: the JSON column is NULL or holds a JSON ``null`` root."""
    return sa.or_(col.is_(None), sa.func.json_type(col) == "null")


def _pg_null_root(col: ColumnElement[Any]) -> Clause:
    """PostgreSQL: the JSON column is NULL or holds a JSON ``null`` root."""
    return sa.or_(col.is_(None), sa.func.jsonb_typeof(sa.cast(col, JSONB)) == "null")


def _sqlite_root_eq(col: ColumnElement[Any], x: Any) -> Clause:
    """SQLite: Python equality of the whole JSON document with ``x``."""
    return _no_null(_lite_eq(sa.func.json_type(col), sa.func.json_extract(col, "$"), x, True))


def _pg_root_eq(col: ColumnElement[Any], x: Any) -> Clause:
    """PostgreSQL: Python equality of the whole JSON document with ``x``."""
    return _pg_eq(sa.type_coerce(sa.cast(col, JSONB), JSONB), x, python=True)


# JSON documents ---------------------------------------------------------------------------------

_COMPARE: Mapping[LookupOp, Callable[[Any, Any], Any]] = {
    LookupOp.EQ: operator.eq,
    LookupOp.NE: operator.ne,
    LookupOp.LT: operator.lt,
    LookupOp.LE: operator.le,
    LookupOp.GT: operator.gt,
    LookupOp.GE: operator.ge,
}

# kind -> (SQLite json_type names, PostgreSQL jsonb_typeof name)
_JSON_TYPES: Mapping[JsonKind, tuple[tuple[str, ...], str]] = {
    JsonKind.NULL: (("null",), "null"),
    JsonKind.BOOL: (("true", "false"), "boolean"),
    JsonKind.NUMBER: (("integer", "real"), "number"),
    JsonKind.STRING: (("text",), "string"),
    JsonKind.ARRAY: (("array",), "array"),
    JsonKind.OBJECT: (("object",), "object"),
}


def _no_null(clause: Clause) -> Clause:
    """``clause`` with SQL NULL read as false."""
    return sa.func.coalesce(clause, sa.false(), type_=sa.Boolean)


def _json_kind(body: JsonPredicate) -> JsonKind:
    """The kind of a JSON body that needs one."""
    if body.kind is None:
        raise TypeError(f"JSON {body.test.name} predicate has no kind: {body!r}")
    return body.kind


def _compare_op(body: JsonPredicate) -> Callable[[Any, Any], Any]:
    """The comparison function of a JSON body that needs one."""
    if body.op is None or body.op not in _COMPARE:
        raise TypeError(f"JSON {body.test.name} predicate has no comparison: {body!r}")
    return _COMPARE[body.op]


# SQLite: json_type()/json_extract() at the root, json_each() for every key step ----------------


def _lite_text(value: str) -> Any:
    """A fixed SQL string literal (only for constant ASCII words such as ``'{}'``)."""
    return sa.literal_column(f"'{value}'")  # only for fixed ASCII words ('{}', '[]', 'null', ...)


def _lite_each(json_text: Any) -> Any:
    """``json_each(json_text)`` as a table with ``key``, ``value`` and ``type`` columns."""
    return sa.func.json_each(json_text).table_valued("key", "value", "type")


def _lite_container(kind: str, t: Any, v: Any) -> Any:
    """``v`` when its json type is ``kind`` (object/array), else an empty one of that kind."""
    return sa.case((t == kind, v), else_=_lite_text("{}" if kind == "object" else "[]"))


def _lite_number(v: Any, op: LookupOp, x: int | float) -> Clause:
    """``v op x`` for an SQLite number (INTEGER and REAL compare exactly with each other)."""
    cmp = _COMPARE[op]
    if isinstance(x, float) or _INT64[0] <= x <= _INT64[1]:
        return _as_clause(cmp(v, x))
    # x does not fit SQLite's INTEGER: an INTEGER v is on the near side of it; a REAL v is
    # compared with the doubles around x (x itself is not a double unless float(x) == x).
    below = x > 0  # every INTEGER v is below a huge positive x
    as_int = {
        LookupOp.EQ: False,
        LookupOp.NE: True,
        LookupOp.LT: below,
        LookupOp.LE: below,
        LookupOp.GT: not below,
        LookupOp.GE: not below,
    }[op]
    try:
        f = float(x)
    except OverflowError:
        f = math.inf if x > 0 else -math.inf
    if math.isfinite(f) and int(f) == x:
        as_real: Clause = _as_clause(cmp(v, f))
    else:
        lo, hi = (math.nextafter(f, -math.inf), f) if f > x else (f, math.nextafter(f, math.inf))
        as_real = {
            LookupOp.EQ: sa.false(),
            LookupOp.NE: sa.true(),
            LookupOp.LT: v <= lo,
            LookupOp.LE: v <= lo,
            LookupOp.GT: v >= hi,
            LookupOp.GE: v >= hi,
        }[op]
    is_int = sa.func.typeof(v) == "integer"
    return sa.or_(sa.and_(is_int, sa.true() if as_int else sa.false()), sa.and_(~is_int, as_real))


def _as_clause(expr: Any) -> Clause:
    """``expr`` as a boolean clause (for typing: comparison operators return one)."""
    return expr  # type: ignore[no-any-return]


def _lite_eq(t: Any, v: Any, x: Any, python: bool = False) -> Clause:
    """Structural equality of the SQLite JSON node ``(t, v)`` with the Python value ``x``.

    JSON equality (``python=False``): ``true`` is never a number. Python equality
    (``python=True``, for plain ``==`` on a JSON column): ``True == 1`` and ``False == 0``, and
    anything that is not a JSON value (a tuple, a set, a non-str key) never equals.
    """
    if x is None:
        return _as_clause(t == "null")
    if isinstance(x, bool):
        same = _as_clause(t == ("true" if x else "false"))
        return sa.or_(same, _lite_eq(t, v, int(x))) if python else same
    if isinstance(x, int | float):
        if x != x:  # NaN equals nothing
            return sa.false()
        number = sa.and_(t.in_(("integer", "real")), _lite_number(v, LookupOp.EQ, x))
        if python and x in (0, 1):
            return sa.or_(number, t == ("true" if x == 1 else "false"))
        return number
    if isinstance(x, str):
        return sa.and_(t == "text", v == x)
    if isinstance(x, list):
        arr = _lite_container("array", t, v)
        parts: list[Clause] = [t == "array", sa.func.json_array_length(arr) == len(x)]
        for i, item in enumerate(x):
            e = _lite_each(arr)
            item_eq = _lite_eq(e.c.type, e.c.value, item, python)
            parts.append(sa.exists().select_from(e).where(e.c.key == i, item_eq))
        return sa.and_(*parts)
    if isinstance(x, dict) and all(isinstance(k, str) for k in x):
        obj = _lite_container("object", t, v)
        size = _lite_each(obj)
        count = sa.select(sa.func.count()).select_from(size).scalar_subquery()
        parts = [t == "object", count == len(x)]
        for key, item in x.items():
            e = _lite_each(obj)
            item_eq = _lite_eq(e.c.type, e.c.value, item, python)
            parts.append(sa.exists().select_from(e).where(e.c.key == key, item_eq))
        return sa.and_(*parts)
    if python:
        return sa.false()
    raise TypeError(f"not a JSON value: {x!r}")


def _lite_has_key(t: Any, v: Any, key: str) -> Clause:
    """SQLite: the node is an object with ``key``."""
    e = _lite_each(_lite_container("object", t, v))
    return sa.and_(t == "object", sa.exists().select_from(e).where(e.c.key == key))


def _lite_test(body: JsonPredicate, t: Any, v: Any) -> Clause:
    """The test of ``body`` on a resolved node: ``t`` its json_type, ``v`` its SQL value."""
    test = body.test
    if test is JsonTest.EXISTS:
        return sa.true()
    if test is JsonTest.IS_NULL:
        return _as_clause(t == "null")
    if test is JsonTest.IS_NOT_NULL:
        return _as_clause(t != "null")
    if test is JsonTest.TYPE:
        return _as_clause(t.in_(_JSON_TYPES[_json_kind(body)][0]))
    if test is JsonTest.HAS_KEY:
        return _lite_has_key(t, v, body.operand)
    if test is JsonTest.HAS_ANY_KEY:
        keys = list(body.operand)
        if not keys:
            return sa.false()
        e = _lite_each(_lite_container("object", t, v))
        return sa.and_(t == "object", sa.exists().select_from(e).where(e.c.key.in_(keys)))
    if test is JsonTest.HAS_ALL_KEYS:
        return sa.and_(t == "object", *(_lite_has_key(t, v, k) for k in body.operand))
    if test is JsonTest.EQ_JSON:
        return _lite_eq(t, v, body.operand)
    if test is JsonTest.NE_JSON:
        return sa.not_(_lite_eq(t, v, body.operand))
    if test is JsonTest.ARRAY_CONTAINS:
        e = _lite_each(_lite_container("array", t, v))
        found = sa.exists().select_from(e).where(_lite_eq(e.c.type, e.c.value, body.operand))
        return sa.and_(t == "array", found)
    if test is JsonTest.ARRAY_LEN:
        length = sa.func.json_array_length(_lite_container("array", t, v))
        return sa.and_(t == "array", _compare_op(body)(length, body.operand))
    kind = _json_kind(body)
    is_kind = t.in_(_JSON_TYPES[kind][0])
    if test is JsonTest.BETWEEN:
        low, high = body.operand
        return sa.and_(
            is_kind, _lite_number(v, LookupOp.GE, low), _lite_number(v, LookupOp.LE, high)
        )
    if test is JsonTest.COMPARE:
        return sa.and_(is_kind, _lite_scalar(kind, t, v, body.op or LookupOp.EQ, body.operand))
    if test in (JsonTest.IN, JsonTest.NOT_IN):
        if test is JsonTest.IN:
            hits = [_lite_scalar(kind, t, v, LookupOp.EQ, x) for x in body.operand]
            return sa.and_(is_kind, sa.or_(*hits)) if hits else sa.false()
        misses = [_lite_scalar(kind, t, v, LookupOp.NE, x) for x in body.operand]
        return sa.and_(is_kind, *misses)
    raise TypeError(f"unsupported JSON test {test!r}")


def _lite_scalar(kind: JsonKind, t: Any, v: Any, op: LookupOp, x: Any) -> Clause:
    """``v op x`` for a node already known to be of scalar ``kind``."""
    if kind is JsonKind.NUMBER:
        if isinstance(x, bool) or not isinstance(x, int | float):
            return sa.true() if op is LookupOp.NE else sa.false()
        return _lite_number(v, op, x)
    if kind is JsonKind.BOOL:
        if not isinstance(x, bool) or op not in (LookupOp.EQ, LookupOp.NE):
            return sa.true() if op is LookupOp.NE else sa.false()
        return _as_clause(t == ("true" if x == (op is LookupOp.EQ) else "false"))
    if not isinstance(x, str):
        return sa.true() if op is LookupOp.NE else sa.false()
    return _as_clause(_COMPARE[op](v, x))


def _sqlite_json(col: ColumnElement[Any], body: JsonPredicate) -> Clause:
    """SQLite JSON1: the root through json_type/json_extract, each key through json_each."""
    test = body.test
    if not body.path:
        t = sa.func.json_type(col)
        v = sa.func.json_extract(col, "$")
        found: Clause = sa.and_(t.is_not(None), t != "null")
        if test is JsonTest.MISSING:
            return _no_null(sa.not_(found))
        if test is JsonTest.EXISTS:
            return _no_null(found)
        return _no_null(sa.and_(found, _lite_test(body, t, v)))

    path = body.path
    leaf = body if test is not JsonTest.MISSING else JsonPredicate(path, JsonTest.EXISTS)

    def step(container: Any, i: int) -> Clause:
        e = _lite_each(container)
        if i == len(path) - 1:
            cond = _lite_test(leaf, e.c.type, e.c.value)
        else:
            cond = sa.and_(
                e.c.type == "object", step(_lite_container("object", e.c.type, e.c.value), i + 1)
            )
        return sa.exists().select_from(e).where(e.c.key == path[i], cond)

    root_type = sa.func.json_type(col)
    resolved = step(sa.case((root_type == "object", col), else_=_lite_text("{}")), 0)
    return sa.not_(resolved) if test is JsonTest.MISSING else resolved


# PostgreSQL: jsonb, a strict SQL/JSON path, jsonb_typeof, numeric -------------------------------


def _pg_text_array(items: Sequence[str]) -> Any:
    """A ``text[]`` parameter."""
    return sa.cast(sa.literal(list(items), ARRAY(sa.Text)), ARRAY(sa.Text))


def _pg_jsonpath(path: Sequence[str]) -> str:
    """A strict SQL/JSON path walking object keys only: ``strict $."a"."b"``.

    Strict mode never unwraps arrays and fails (silently, see :func:`_pg_json`) on a missing key
    or a non-object, which is exactly "missing". Every character of a key that is not an ASCII
    letter or digit is written as a ``\\u{hex}`` escape, so any key is safe.
    """
    keys = (
        "".join(c if c.isascii() and c.isalnum() else f"\\u{{{ord(c):x}}}" for c in key)
        for key in path
    )
    return "strict $" + "".join(f'."{key}"' for key in keys)


def _pg_json_literal(x: Any) -> Any:
    """``x`` as a ``jsonb`` parameter."""
    return sa.cast(sa.literal(_json_text(x), sa.Text), JSONB)


def _has_wide_number(x: Any) -> bool:
    """Whether a JSON operand holds a number where jsonb's decimal equality can differ from Python.

    Below 2**53 every integer is a double and a float's shortest decimal orders like the float;
    beyond it, ``json.dumps`` writes floats as decimals that are not their exact value.
    """
    if isinstance(x, bool):
        return False
    if isinstance(x, int | float):
        return abs(x) >= _EXACT_FLOAT_INT
    if isinstance(x, list):
        return any(_has_wide_number(v) for v in x)
    if isinstance(x, dict):
        return any(_has_wide_number(v) for v in x.values())
    return False


def _has_bool_or_number(x: Any) -> bool:
    """Whether ``x`` holds a bool or a number anywhere."""
    if isinstance(x, bool | int | float):
        return True
    if isinstance(x, list | tuple):
        return any(_has_bool_or_number(v) for v in x)
    if isinstance(x, dict):
        return any(_has_bool_or_number(v) for v in x.values())
    return False


def _is_json(x: Any) -> bool:
    """Whether ``x`` is a JSON value (str keys, finite numbers)."""
    if x is None or isinstance(x, bool | int | str):
        return True
    if isinstance(x, float):
        return x == x
    if isinstance(x, list):
        return all(_is_json(v) for v in x)
    if isinstance(x, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in x.items())
    return False


def _pg_eq(v: Any, x: Any, python: bool = False) -> Clause:
    """NULL-free equality of the jsonb value ``v`` (NULL when missing) with the Python value ``x``.

    ``jsonb`` equality already ignores key order, compares numbers as decimals and never equates
    ``true`` with ``1``. Operands holding numbers beyond 2**53 are expanded structurally so each
    number goes through :func:`_pg_number`; so are operands compared with Python equality
    (``python=True``: ``True == 1``, and non-JSON values never equal), see :func:`_lite_eq`.
    """
    if python and not _is_json(x):
        return sa.false()
    if not _has_wide_number(x) and not (python and _has_bool_or_number(x)):
        return _no_null(_as_clause(v == _pg_json_literal(x)))
    t = sa.func.jsonb_typeof(v)
    if isinstance(x, bool):
        same = _as_clause(v == _pg_json_literal(x))
        return _no_null(sa.or_(same, _pg_eq(v, int(x), python)))
    if isinstance(x, int | float):
        number = sa.case((t == "number", sa.cast(v, sa.Numeric)))
        equal = sa.and_(t == "number", _pg_number(number, LookupOp.EQ, x))
        if python and x in (0, 1):
            equal = sa.or_(equal, v == _pg_json_literal(x == 1))
        return _no_null(equal)
    if isinstance(x, list):
        length = sa.func.jsonb_array_length(sa.case((t == "array", v)))
        items = [_pg_eq(v.op("->", return_type=JSONB)(i), item, python) for i, item in enumerate(x)]
        return _no_null(sa.and_(t == "array", length == len(x), *items))
    if isinstance(x, dict):
        keys = sa.func.jsonb_object_keys(
            sa.case((t == "object", v), else_=sa.cast(sa.literal("{}", sa.Text), JSONB))
        ).table_valued("value")
        count = sa.select(sa.func.count()).select_from(keys).scalar_subquery()
        members = [_pg_eq(v.op("->", return_type=JSONB)(k), item, python) for k, item in x.items()]
        return _no_null(sa.and_(t == "object", count == len(x), *members))
    return _no_null(_as_clause(v == _pg_json_literal(x)))  # None or str


def _json_text(x: Any) -> str:
    """JSON text for an operand (floats in their shortest round-trip form)."""
    return json.dumps(x, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _pg_json(col: ColumnElement[Any], body: JsonPredicate) -> Clause:
    """PostgreSQL jsonb: resolve the path to a jsonb value (SQL NULL when missing), then test."""
    doc = sa.cast(col, JSONB)
    typeof = sa.func.jsonb_typeof
    path = body.path
    if not path:
        resolved: Any = sa.case((typeof(doc) != "null", doc))
    else:
        resolved = sa.func.jsonb_path_query_first(
            doc,
            sa.cast(sa.literal(_pg_jsonpath(path), sa.Text), JSONPATH),
            sa.cast(sa.literal("{}", sa.Text), JSONB),
            sa.true(),  # silent: a structural error (missing key, non-object) yields NULL
            type_=JSONB,
        )
    v: Any = sa.type_coerce(resolved, JSONB)
    test = body.test
    if test is JsonTest.EXISTS:
        return _as_clause(v.is_not(None))
    if test is JsonTest.MISSING:
        return _as_clause(v.is_(None))
    return _no_null(_pg_test(body, v, typeof(v)))


def _pg_test(body: JsonPredicate, v: Any, t: Any) -> Clause:
    """PostgreSQL: the test of ``body`` on the resolved ``jsonb`` value ``v`` of type ``t``."""
    test = body.test
    if test is JsonTest.IS_NULL:
        return _as_clause(t == "null")
    if test is JsonTest.IS_NOT_NULL:
        return _as_clause(t != "null")
    if test is JsonTest.TYPE:
        return _as_clause(t == _JSON_TYPES[_json_kind(body)][1])
    if test is JsonTest.HAS_KEY:
        return sa.and_(t == "object", v.has_key(body.operand))
    if test is JsonTest.HAS_ANY_KEY:
        keys = list(body.operand)
        return sa.and_(t == "object", sa.or_(*(v.has_key(k) for k in keys))) if keys else sa.false()
    if test is JsonTest.HAS_ALL_KEYS:
        return sa.and_(t == "object", *(v.has_key(k) for k in body.operand))
    if test is JsonTest.EQ_JSON:
        return _pg_eq(v, body.operand)
    if test is JsonTest.NE_JSON:
        return sa.and_(v.is_not(None), sa.not_(_pg_eq(v, body.operand)))
    if test is JsonTest.ARRAY_CONTAINS:
        arr = sa.case((t == "array", v), else_=sa.cast(sa.literal("[]", sa.Text), JSONB))
        elems = sa.func.jsonb_array_elements(arr).table_valued(sa.column("value", JSONB))
        found = sa.exists().select_from(elems).where(_pg_eq(elems.c.value, body.operand))
        return sa.and_(t == "array", found)
    if test is JsonTest.ARRAY_LEN:
        length = sa.func.jsonb_array_length(sa.case((t == "array", v)))
        return sa.and_(t == "array", _compare_op(body)(length, body.operand))
    kind = _json_kind(body)
    pg_kind = _JSON_TYPES[kind][1]
    if kind is JsonKind.NUMBER:
        scalar: Any = sa.case((t == pg_kind, sa.cast(v, sa.Numeric)))
    elif kind is JsonKind.BOOL:
        scalar = sa.case((t == pg_kind, sa.cast(v, sa.Boolean)))
    else:
        text = v.op("#>>", return_type=sa.Text)(_pg_text_array(()))
        scalar = _collate(sa.case((t == pg_kind, text)), "C")

    def operand(x: Any) -> Any:
        return sa.literal(x, sa.Boolean if kind is JsonKind.BOOL else sa.Text)

    def fits(x: Any) -> bool:
        if kind is JsonKind.NUMBER:
            return isinstance(x, int | float) and not isinstance(x, bool)
        return isinstance(x, bool) if kind is JsonKind.BOOL else isinstance(x, str)

    is_kind = t == pg_kind

    def cmp(op: LookupOp, x: Any) -> Clause:
        if not fits(x):
            return sa.true() if op is LookupOp.NE else sa.false()
        if kind is JsonKind.NUMBER:
            return _pg_number(scalar, op, x)
        return _as_clause(_COMPARE[op](scalar, operand(x)))

    if test is JsonTest.BETWEEN:
        low, high = body.operand
        return sa.and_(is_kind, cmp(LookupOp.GE, low), cmp(LookupOp.LE, high))
    if test is JsonTest.COMPARE:
        return sa.and_(is_kind, cmp(body.op or LookupOp.EQ, body.operand))
    if test is JsonTest.IN:
        hits = [cmp(LookupOp.EQ, x) for x in body.operand]
        return sa.and_(is_kind, sa.or_(*hits)) if hits else sa.false()
    if test is JsonTest.NOT_IN:
        return sa.and_(is_kind, *(cmp(LookupOp.NE, x) for x in body.operand))
    raise TypeError(f"unsupported JSON test {test!r}")


def _pg_number(d: Any, op: LookupOp, x: int | float) -> Clause:
    """``d op x`` for a jsonb number ``d`` (as ``numeric``), deciding as Python would.

    ``jsonb`` keeps the decimal a number was written as and forgets whether it was an int or a
    float; Python's ``json.dumps`` writes floats as their shortest round-trip decimal, which is
    not the float's exact value beyond 2**53. The answer is the sign of ``d - exact(x)``, except
    where ``d`` is the shortest decimal of a float that Python would compare differently: the
    float ``x`` itself (equal), or the doubles just below / above an integer ``x`` that no double
    equals (less / greater). Only an *integer* written exactly as such a decimal is misjudged.
    """
    exact = decimal.Decimal(x)
    overrides: list[tuple[decimal.Decimal, int]] = []
    if isinstance(x, float):
        overrides.append((decimal.Decimal(repr(x)), 0))
    else:
        try:
            f = float(x)
        except OverflowError:
            f = math.inf
        if math.isfinite(f) and int(f) == x:
            overrides.append((decimal.Decimal(repr(f)), 0))
        elif math.isfinite(f):
            lo, hi = (
                (math.nextafter(f, -math.inf), f) if f > x else (f, math.nextafter(f, math.inf))
            )
            overrides += [(decimal.Decimal(repr(lo)), -1), (decimal.Decimal(repr(hi)), 1)]

    def num(value: decimal.Decimal) -> Any:
        return sa.cast(sa.literal(str(value), sa.Text), sa.Numeric)

    overrides = [(o, v) for o, v in overrides if (o > exact) - (o < exact) != v]
    if not overrides:
        return _as_clause(_COMPARE[op](d, num(exact)))
    sign = sa.case(
        *((d == num(o), sa.literal(v)) for o, v in overrides), else_=sa.func.sign(d - num(exact))
    )
    return _as_clause(_COMPARE[op](sign, 0))

"""The walker: a predicate tree -> one NULL-free SQLAlchemy boolean clause, cached."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from ..predicate import (
    And,
    Const,
    FieldPredicate,
    JsonPredicate,
    LookupOp,
    Not,
    Or,
    Predicate,
    SupportsPredicate,
    Xor,
    as_predicate,
)
from ._columns import lower_column
from ._dialect import Clause
from ._json import lower_json_column, lower_json_path

__all__ = ["to_sqlalchemy"]


def to_sqlalchemy(predicate: Predicate | SupportsPredicate, table_or_model: Any) -> Clause:
    """Lower ``predicate`` to a SQLAlchemy boolean clause selecting exactly the matching rows.

    The clause selects the rows whose values make ``predicate.evaluate(obj)`` true, on SQLite
    (JSON1) and on PostgreSQL (``jsonb``), for every :class:`~sassi.LookupOp`, ``present()``
    comparisons, ``TRUE``/``FALSE``, empty ``And``/``Or``, ``Xor``, ``Not`` and JSON predicates.
    String columns should be ``TEXT``; JSON columns ``JSON`` (SQLite) / ``JSONB`` or ``JSON``
    (PostgreSQL, cast to ``jsonb``). A SQL ``NULL`` or JSON ``null`` root is a missing document.

    :param predicate: any predicate tree (or an object with ``__sassi_predicate__()``).
    :param table_or_model: a :class:`sqlalchemy.Table` (or any FROM clause with ``.c``), a mapped
        declarative class (or ``aliased()`` entity), or a mapping of field name -> column.
    :returns: a boolean clause for ``select(...).where(...)``.
    :raises ValueError: when the predicate names a field the table or model does not have, or
        holds a signalling NaN, or orders a column against a NaN Python raises comparing with.
    :raises TypeError: when ``table_or_model`` is none of the accepted kinds, a node is not a
        sassi predicate, or a date/time operand cannot compare with the column's values (aware
        against naive, ``datetime`` against ``Date``).
    """
    checked = as_predicate(predicate, what="to_sqlalchemy()")
    key = _cache_key(checked, table_or_model)
    if key is not None:
        with _CACHE_LOCK:
            hit = _CACHE.get(key)
            if hit is not None:
                _CACHE.move_to_end(key)
                return hit
    clause = _Lowerer(_column_lookup(table_or_model)).lower(checked)
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
                return lower_json_path(col, node.value)
            if isinstance(col.type, sa.JSON):
                return lower_json_column(col, node)
            return lower_column(col, node)
        raise TypeError(f"not a sassi predicate node: {node!r}")

"""JSON leaves: path predicates and plain comparisons on a whole JSON column."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from ..predicate import FieldPredicate, JsonPredicate, LookupOp
from ._dialect import Clause, PerDialect
from ._json_pg import pg_json, pg_null_root, pg_root_eq
from ._json_sqlite import sqlite_json, sqlite_null_root, sqlite_root_eq

__all__ = ["lower_json_column", "lower_json_path"]


def lower_json_path(col: ColumnElement[Any], body: object) -> Clause:
    """A JSON path predicate (``F.payload.json...``): one form per dialect; NULL-free."""
    if not isinstance(body, JsonPredicate):
        raise TypeError(f"a JSON leaf needs a JsonPredicate body, not {body!r}")
    return PerDialect(sqlite_json(col, body), pg_json(col, body))


def lower_json_column(col: ColumnElement[Any], node: FieldPredicate) -> Clause:
    """``F.payload == v``, ``!=``, ``in_``, ``not_in``, ``is_null`` on a JSON-typed column.

    In memory these compare the loaded Python value with ``==``: dicts ignore key order, ints and
    floats compare exactly, and ``True == 1``. A JSON ``null`` root loads as ``None``, so it is
    ``None`` here too. Ordering and string lookups have no JSON meaning and are refused.
    """
    op, value, present = node.op, node.value, node.present
    null = PerDialect(sqlite_null_root(col), pg_null_root(col))
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
            PerDialect(
                sa.or_(*(sqlite_root_eq(col, v) for v in wanted)),
                sa.or_(*(pg_root_eq(col, v) for v in wanted)),
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

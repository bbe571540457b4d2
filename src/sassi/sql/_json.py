"""JSON leaves: path predicates and plain comparisons on a whole JSON column."""

from __future__ import annotations

import decimal
import enum
import fractions
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


class _Unequal(enum.Enum):
    """An operand no value loaded from JSON equals (``Decimal("0.1")``: no int or float is)."""

    TOKEN = 0


# Numbers a JSON document in either database can hold lie below 10**131072 (jsonb's numeric),
# and no float but zero lies below 10**-400: operands beyond are decided without converting them.
_JSON_DIGITS = 131072
_FLOAT_PLACES = 400


def _as_loaded(x: Any, field: str) -> Any:
    """The int, float, list or dict Python's ``==`` finds equal to ``x``, as JSON loads them.

    JSON numbers load as ``int`` or ``float``, so a Decimal or Fraction operand equals the one
    int or float of the same value, or none (:attr:`_Unequal.TOKEN`), in lists and dicts too.
    Other values are returned as they are.

    :raises ValueError: for a signalling NaN anywhere inside (comparing with it raises).
    """
    if isinstance(x, decimal.Decimal):
        if x.is_snan():
            raise ValueError(
                f"field {field!r}: the operand holds the signalling NaN {x!r}; every Python "
                "comparison with it raises InvalidOperation. Use Decimal('NaN') or leave it out"
            )
        if x.is_nan():  # quiet: equal to nothing
            return _Unequal.TOKEN
        if x.is_infinite():
            return float(x)
        if x.adjusted() >= _JSON_DIGITS or (not x.is_zero() and x.adjusted() < -_FLOAT_PLACES):
            return _Unequal.TOKEN
        x = fractions.Fraction(x)
    if isinstance(x, fractions.Fraction):
        if x.denominator == 1:
            return int(x.numerator)
        try:
            f = float(x)
        except OverflowError:
            return _Unequal.TOKEN
        return f if fractions.Fraction(f) == x else _Unequal.TOKEN
    if isinstance(x, list):
        items = [_as_loaded(v, field) for v in x]
        return _Unequal.TOKEN if _Unequal.TOKEN in items else items
    if isinstance(x, dict):
        members = {k: _as_loaded(v, field) for k, v in x.items()}
        return _Unequal.TOKEN if _Unequal.TOKEN in members.values() else members
    return x


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
    loaded = [_as_loaded(v, node.field) for v in values if v is not None]
    wanted = [v for v in loaded if v is not _Unequal.TOKEN]
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

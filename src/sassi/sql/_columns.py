"""Leaves on plain columns: "None sorts first", NaN operands, membership, string lookups."""

from __future__ import annotations

import decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from ..predicate import FieldPredicate, LookupOp
from ._dialect import COMPARE, Clause, PerDialect, as_clause, per_dialect, string_lookup
from ._operands import Storage, exact, is_nan, storage
from ._refuse import refuse_incomparable

__all__ = ["lower_column"]


def _compare(col: ColumnElement[Any], op: LookupOp, value: object) -> Clause:
    """``col op value`` for a non-NULL column value and a non-None, non-NaN operand."""
    kind = storage(col.type)
    if kind is Storage.DECIMAL:  # NUMERIC: a double on SQLite, an exact decimal on PostgreSQL
        return PerDialect(
            _compare_as(col, Storage.DOUBLE, op, value), _compare_as(col, kind, op, value)
        )
    return _compare_as(col, kind, op, value)


def _compare_as(
    col: ColumnElement[Any], kind: Storage | None, op: LookupOp, value: object
) -> Clause:
    """``col op value`` with the operand rewritten for a column storing numbers as ``kind``."""
    rewritten = exact(kind, op, value, _places(col))
    if isinstance(rewritten, bool):
        return sa.true() if rewritten else sa.false()
    op, value = rewritten
    cmp = COMPARE[op]
    operand = _operand(kind, value)
    clause = per_dialect(col, value, lambda c: as_clause(cmp(c, operand)))
    if op in (LookupOp.GT, LookupOp.GE):
        # PostgreSQL sorts a stored NaN above every number; Python's NaN is never greater (and a
        # Decimal NaN raises, making the predicate false for that row).
        if kind is Storage.DECIMAL:  # only built for PostgreSQL
            return sa.and_(clause, col != _operand(kind, decimal.Decimal("NaN")))
        if isinstance(col.type, sa.Float):
            not_nan = col != sa.literal(float("nan"), col.type)
            return PerDialect(clause, sa.and_(clause, not_nan))
    return clause


def _places(col: ColumnElement[Any]) -> int | None:
    """A NUMERIC column's declared scale (digits after the point), if it declares one."""
    scale = getattr(col.type, "scale", None)
    return scale if isinstance(scale, int) else None


def _operand(kind: Storage | None, value: object) -> Any:
    """The SQL operand for a rewritten ``value``.

    A Decimal for NUMERIC goes as text cast to ``numeric`` (drivers would turn ``Infinity`` or a
    wide Decimal into something else); True/False as bound parameters (SQLAlchemy refuses
    ``col < True`` with a bare bool).
    """
    if kind is Storage.DECIMAL and isinstance(value, decimal.Decimal):
        return sa.cast(sa.literal(str(value), sa.Text), sa.Numeric)
    if isinstance(value, bool):
        return sa.literal(value, sa.Boolean())
    return value


def _ordered(col: ColumnElement[Any], op: LookupOp, value: object, present: bool) -> Clause:
    """EQ NE LT LE GT GE with "None sorts first" (plain) or "None is false" (present)."""
    null, not_null = col.is_(None), col.is_not(None)
    if present:
        if value is None or is_nan(value):  # only `!= NaN` holds, and only for a value
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
    if is_nan(value):  # NaN: only None sorts below it; != is always true
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
    kind = storage(col.type)
    if kind is Storage.DECIMAL:  # NUMERIC: a double on SQLite, an exact decimal on PostgreSQL
        (lite_in, lite_out), (pg_in, pg_out) = (
            _in(col, Storage.DOUBLE, values),
            _in(col, kind, values),
        )
        inside: Clause = PerDialect(lite_in, pg_in)
        outside: Clause = PerDialect(lite_out, pg_out)
    else:
        inside, outside = _in(col, kind, values)
    has_none = (not present) and any(v is None for v in values)
    null, not_null = col.is_(None), col.is_not(None)
    if op is LookupOp.IN:
        matches = sa.and_(not_null, inside)
        return sa.or_(matches, null) if has_none else matches
    if present or has_none:
        return sa.and_(not_null, outside)
    return sa.or_(null, outside)


def _in(
    col: ColumnElement[Any], kind: Storage | None, values: tuple[Any, ...]
) -> tuple[Clause, Clause]:
    """``(col IN wanted, col NOT IN wanted)`` over the operands a column value can equal.

    NaN, ``None`` and operands no stored value can equal are left out; with none left, the pair
    is ``(false, true)``.
    """
    wanted = []
    for v in values:
        if v is None or is_nan(v):
            continue
        rewritten = exact(kind, LookupOp.EQ, v, _places(col))
        if not isinstance(rewritten, bool):  # a bool answer is "never equal"
            wanted.append(rewritten[1])
    if not wanted:
        return sa.false(), sa.true()
    sample = next((v for v in wanted if isinstance(v, str)), None)
    operands = [_operand(kind, v) for v in wanted]
    return (
        per_dialect(col, sample, lambda c: c.in_(operands)),
        per_dialect(col, sample, lambda c: c.not_in(operands)),
    )


def _pair(value: object) -> tuple[Any, Any]:
    """``(low, high)`` of a BETWEEN operand."""
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise TypeError(f"BETWEEN needs a (low, high) pair, not {value!r}")
    return value[0], value[1]


def _operands(op: LookupOp, value: object) -> tuple[Any, ...]:
    """The values a leaf compares the column with (none for string lookups and null tests)."""
    if op is LookupOp.BETWEEN:
        return _pair(value)
    if op in (LookupOp.IN, LookupOp.NOT_IN):
        return tuple(value)  # type: ignore[arg-type]
    if op in (LookupOp.EQ, LookupOp.NE, LookupOp.LT, LookupOp.LE, LookupOp.GT, LookupOp.GE):
        return (value,)
    return ()


def lower_column(col: ColumnElement[Any], node: FieldPredicate) -> Clause:
    """One leaf on a plain (not JSON-typed) column; NULL-free.

    :raises ValueError: for an operand Python cannot compare with the column's values (see
        :func:`~._operands.refuse_incomparable`).
    """
    op, value, present = node.op, node.value, node.present
    for operand in _operands(op, value):
        refuse_incomparable(node.field, col, op, operand)
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
        return string_lookup(col, op, value)
    raise TypeError(f"{op.name} needs a str needle, not {value!r}")

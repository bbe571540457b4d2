"""Leaves on plain columns: "None sorts first", NaN operands, membership, string lookups."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from ..predicate import FieldPredicate, LookupOp
from ._dialect import COMPARE, Clause, PerDialect, as_clause, per_dialect, string_lookup
from ._operands import exact, is_nan
from ._refuse import refuse_incomparable

__all__ = ["lower_column"]


def _compare(col: ColumnElement[Any], op: LookupOp, value: object) -> Clause:
    """``col op value`` for a non-NULL column value and a non-None, non-NaN operand."""
    rewritten = exact(col.type, op, value)
    if isinstance(rewritten, bool):
        return sa.true() if rewritten else sa.false()
    op, value = rewritten
    cmp = COMPARE[op]
    # True/False as bound parameters: SQLAlchemy refuses `col < True` with a bare bool.
    operand = sa.literal(value, sa.Boolean()) if isinstance(value, bool) else value
    clause = per_dialect(col, value, lambda c: as_clause(cmp(c, operand)))
    if op in (LookupOp.GT, LookupOp.GE) and isinstance(col.type, sa.Float):
        # PostgreSQL sorts a stored NaN above every number; Python's NaN is never greater.
        not_nan = col != sa.literal(float("nan"), col.type)
        return PerDialect(clause, sa.and_(clause, not_nan))
    return clause


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
    wanted = []
    for v in values:
        if v is None or is_nan(v):
            continue
        rewritten = exact(col.type, LookupOp.EQ, v)
        if not isinstance(rewritten, bool):  # a bool answer is "never equal"
            wanted.append(rewritten[1])
    has_none = (not present) and any(v is None for v in values)
    null, not_null = col.is_(None), col.is_not(None)
    sample = next((v for v in wanted if isinstance(v, str)), None)
    matches: Clause = (
        sa.and_(not_null, per_dialect(col, sample, lambda c: c.in_(wanted)))
        if wanted
        else sa.false()
    )
    if op is LookupOp.IN:
        return sa.or_(matches, null) if has_none else matches
    outside: Clause = per_dialect(col, sample, lambda c: c.not_in(wanted)) if wanted else sa.true()
    if present or has_none:
        return sa.and_(not_null, outside)
    return sa.or_(null, outside)


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

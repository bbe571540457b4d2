"""Operands Python cannot compare with a column's values at all, refused at lowering time.

In memory such a comparison raises for a row holding a value, and a comparison that raises makes
the whole predicate false for that row, ``~`` or not (sassi's "unknown", see
:mod:`sassi.predicate._evaluate`). No SQL clause answers that way, and the databases would answer
something else (PostgreSQL's ``NaN = NaN`` is true), so these operands never reach SQL.
"""

from __future__ import annotations

import decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from ..predicate import LookupOp
from ._operands import is_nan

__all__ = ["refuse_incomparable"]

_ORDERING = frozenset({LookupOp.LT, LookupOp.LE, LookupOp.GT, LookupOp.GE, LookupOp.BETWEEN})


def _holds_decimals(col_type: Any) -> bool:
    """Whether the column's values load as ``Decimal`` (``Numeric``, unless ``asdecimal=False``)."""
    return isinstance(col_type, sa.Numeric) and bool(col_type.asdecimal)


def refuse_incomparable(field: str, col: ColumnElement[Any], op: LookupOp, value: object) -> None:
    """Raise where Python cannot compare ``value`` with the column's values at all.

    :param field: the predicate's field name (for the message).
    :param col: the column the field lowers to.
    :param op: the leaf's op.
    :param value: one operand of the leaf (each bound of ``between``, each item of ``in_``).
    :raises ValueError: for a signalling NaN (every comparison with it raises
        ``InvalidOperation``), and for ordering (``< <= > >= between``) against a Decimal NaN, or
        against a float NaN where the column's values are Decimals.
    """
    if isinstance(value, decimal.Decimal) and value.is_snan():
        raise ValueError(
            f"field {field!r}: {value!r} is a signalling NaN; every Python comparison with it "
            "raises InvalidOperation, so no row with a value can match in memory. sassi.sql "
            "refuses it rather than send it to the database: use Decimal('NaN'), which equals "
            "nothing, or leave the comparison out"
        )
    raises = isinstance(value, decimal.Decimal) or _holds_decimals(col.type)
    if op in _ORDERING and is_nan(value) and raises:
        raise ValueError(
            f"field {field!r}: ordering against {value!r} raises InvalidOperation in Python (a "
            "Decimal is never ordered against a NaN), and a comparison that raises makes the "
            "whole predicate false for that row, even under ~; SQL has no such answer, so "
            "sassi.sql refuses it. Leave the comparison out, or use == / != (a NaN equals "
            "nothing)"
        )

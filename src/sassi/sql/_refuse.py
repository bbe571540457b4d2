"""Operands Python cannot compare with a column's values at all, refused at lowering time.

In memory such a comparison raises for a row holding a value, and a comparison that raises makes
the whole predicate false for that row, ``~`` or not (sassi's "unknown", see
:mod:`sassi.predicate._evaluate`); or it is never equal, whatever the values. No SQL clause
answers that way, and the databases answer something else (PostgreSQL's ``NaN = NaN`` is true, a
naive timestamp meets an aware one in the session time zone), so these operands never reach SQL.
"""

from __future__ import annotations

import datetime as dt
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
    :raises TypeError: for a timezone-aware datetime or time against a column without
        ``timezone=True`` and a naive one against a column with it, a ``datetime`` against a
        ``Date`` column, and a ``date`` against a ``DateTime`` column: Python never finds them
        equal and raises ordering them.
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
    _refuse_temporal(field, col, value)


def _refuse_temporal(field: str, col: ColumnElement[Any], value: object) -> None:
    """The date and time half of :func:`refuse_incomparable`."""
    col_type = col.type
    if isinstance(value, dt.datetime):
        if isinstance(col_type, sa.Date):
            raise TypeError(
                f"field {field!r}: {value!r} is a datetime, but column {col} holds dates; Python "
                "never finds a date and a datetime equal and raises ordering them. Pass a date "
                "(value.date())"
            )
        if isinstance(col_type, sa.DateTime):
            _refuse_other_zone(field, col, col_type, value)
    elif isinstance(value, dt.date):
        if isinstance(col_type, sa.DateTime):
            raise TypeError(
                f"field {field!r}: {value!r} is a date, but column {col} holds datetimes; Python "
                "never finds a date and a datetime equal and raises ordering them. Pass a "
                "datetime (datetime.combine(value, time()))"
            )
    elif isinstance(value, dt.time) and isinstance(col_type, sa.Time):
        _refuse_other_zone(field, col, col_type, value)


def _refuse_other_zone(
    field: str, col: ColumnElement[Any], col_type: Any, value: dt.datetime | dt.time
) -> None:
    """Refuse an aware operand for a column without ``timezone=True``, a naive one for one with.

    Python calls a value aware when its ``tzinfo`` gives an offset. ``timezone`` is what the
    column declares: PostgreSQL ``timestamptz`` / ``timetz`` load aware values, the others naive.
    """
    column_aware = bool(col_type.timezone)
    value_aware = value.utcoffset() is not None
    if value_aware == column_aware:
        return
    kind = type(value).__name__
    raise TypeError(
        f"field {field!r}: {value!r} is a {'timezone-aware' if value_aware else 'naive'} {kind}, "
        f"but column {col} is declared with timezone={column_aware} and holds "
        f"{'aware' if column_aware else 'naive'} values. Python never finds an aware and a "
        f"naive {kind} equal and raises ordering them, while the database would convert one "
        f"side with the session time zone. Pass a {'aware' if column_aware else 'naive'} {kind}, "
        f"or declare the column {type(col_type).__name__}(timezone={value_aware})"
    )

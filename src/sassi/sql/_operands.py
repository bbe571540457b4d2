"""Numeric operands rewritten so the database decides a comparison exactly as Python does."""

from __future__ import annotations

import decimal
import fractions
import math
import numbers
import sys
from typing import Any

import sqlalchemy as sa

from ..predicate import LookupOp

__all__ = ["EXACT_FLOAT_INT", "INT64", "exact", "is_nan"]

INT64 = (-(2**63), 2**63 - 1)
EXACT_FLOAT_INT = 2**53  # every int up to here is a double, every double beyond is an int


def is_nan(value: object) -> bool:
    """Whether ``value`` is a float or a Decimal NaN (equal to nothing, as in Python)."""
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, decimal.Decimal) and value.is_nan()


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


# A Decimal is a few digits and an exponent, so 1e1000000000 is tiny to write and huge to convert
# exactly. Beyond 10**400 a number is past every double and every 64-bit integer; a non-zero one
# below 10**-400 lies between zero and the smallest double: such operands compare with every
# storable value as +-10**400 / +-10**-401 do, so they are replaced by those before converting.
_DOUBLE_DIGITS = 400


def _bounded(value: decimal.Decimal, digits: int) -> fractions.Fraction:
    """A finite Decimal as an exact Fraction, in time independent of its exponent.

    Magnitudes from ``10**digits`` up become ``±10**digits``; non-zero ones below ``10**-digits``
    become ``±10**-(digits + 1)``. The caller picks ``digits`` so that no column value lies
    between an operand and its stand-in.
    """
    sign = -1 if value.is_signed() else 1
    if value.is_zero():
        return fractions.Fraction(0)
    if value.adjusted() >= digits:
        return fractions.Fraction(sign * 10**digits)
    if value.adjusted() < -digits:
        return fractions.Fraction(sign, 10 ** (digits + 1))
    return fractions.Fraction(value)


def _exact_number(value: object) -> fractions.Fraction | float | None:
    """A finite number operand as an exact ``Fraction``, an infinite one as ``±inf``, else None.

    ``bool`` is not a number here; NaN (float or Decimal) is handled by the callers. Decimals
    with huge or tiny exponents are bounded first (see :func:`_bounded`).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return fractions.Fraction(value) if math.isfinite(value) else value
    if isinstance(value, decimal.Decimal):
        if value.is_nan():
            return None
        return _bounded(value, _DOUBLE_DIGITS) if value.is_finite() else float(value)
    if isinstance(value, numbers.Rational):
        return fractions.Fraction(int(value.numerator), int(value.denominator))
    return None


def exact(col_type: Any, op: LookupOp, value: object) -> tuple[LookupOp, object] | bool:
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
        lo_int, hi_int = INT64
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

"""Numeric operands rewritten so the database decides a comparison exactly as Python does.

Python compares ints, floats, Decimals and Fractions exactly; databases convert one side
(PostgreSQL turns ``bigint = float8`` and ``numeric = float8`` into float comparisons, drivers
round a Decimal to a double for a float column, Fractions cannot be bound at all, and neither
database takes an integer beyond 64 bits or a decimal beyond NUMERIC's range). So an operand a
column value can equal is bound as exactly that value; one strictly between two storable values
becomes ``<=`` the lower / ``>=`` the upper (equality false, inequality true); one beyond every
storable value becomes a constant, or a comparison with infinity where the column holds one.
How a column stores numbers is its :class:`Storage`.
"""

from __future__ import annotations

import decimal
import enum
import fractions
import functools
import math
import numbers
import sys
from typing import Any

import sqlalchemy as sa

from ..predicate import LookupOp

__all__ = ["EXACT_FLOAT_INT", "INT64", "Storage", "exact", "is_nan", "storage"]

INT64 = (-(2**63), 2**63 - 1)
EXACT_FLOAT_INT = 2**53  # every int up to here is a double, every double beyond is an int


class Storage(enum.Enum):
    """How a column stores numbers, which decides how an operand is rewritten."""

    INTEGER = "integer"  # 64-bit integers: Integer, BigInteger, SmallInteger
    DOUBLE = "double"  # IEEE doubles: Float, and Numeric on SQLite (SQLAlchemy binds float())
    DECIMAL = "decimal"  # PostgreSQL NUMERIC: exact decimals, +-Infinity and NaN


def storage(col_type: Any) -> Storage | None:
    """The :class:`Storage` of a column type on PostgreSQL, ``None`` for a non-numeric column.

    ``Numeric`` is ``DECIMAL`` there; its SQLite form stores ``DOUBLE`` (the caller builds both).
    """
    if isinstance(col_type, sa.Integer):
        return Storage.INTEGER
    if isinstance(col_type, sa.Float):
        return Storage.DOUBLE
    if isinstance(col_type, sa.Numeric):
        return Storage.DECIMAL
    return None


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
    """``op`` against an operand lying strictly between ``low`` and ``high`` (no value between).

    A ``None`` bound is one that cannot be written (NUMERIC's largest finite value): the other
    bound serves, strictly (``< high`` instead of ``<= low``).
    """
    if op in (LookupOp.EQ, LookupOp.NE):
        return op is LookupOp.NE
    if op in (LookupOp.LT, LookupOp.LE):
        return (LookupOp.LE, low) if low is not None else (LookupOp.LT, high)
    return (LookupOp.GE, high) if high is not None else (LookupOp.GT, low)


# A Decimal is a few digits and an exponent, so 1e1000000000 is tiny to write and huge to convert
# exactly. Beyond 10**400 a number is past every double and every 64-bit integer; a non-zero one
# below 10**-400 lies between zero and the smallest double: such operands compare with every
# storable value as +-10**400 / +-10**-401 do, so they are replaced by those before converting.
_DOUBLE_DIGITS = 400


def _bounded(value: decimal.Decimal, digits: int, places: int) -> fractions.Fraction:
    """A finite Decimal as an exact Fraction, in time independent of its exponent.

    Magnitudes from ``10**digits`` up become ``±10**digits``; non-zero ones below ``10**-places``
    become ``±10**-(places + 1)``. The caller picks the limits so that no column value lies
    between an operand and its stand-in.
    """
    sign = -1 if value.is_signed() else 1
    if value.is_zero():
        return fractions.Fraction(0)
    if value.adjusted() >= digits:
        return fractions.Fraction(sign * _ten_to(digits))
    if value.adjusted() < -places:
        return sign / _ten_to(places + 1)
    return fractions.Fraction(value)


@functools.cache
def _ten_to(power: int) -> fractions.Fraction:
    """``10**power`` as a Fraction (cached: NUMERIC's limits are 131072-digit numbers)."""
    return fractions.Fraction(10) ** power


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
        return (
            _bounded(value, _DOUBLE_DIGITS, _DOUBLE_DIGITS) if value.is_finite() else float(value)
        )
    if isinstance(value, numbers.Rational):
        return fractions.Fraction(int(value.numerator), int(value.denominator))
    return None


def exact(
    kind: Storage | None, op: LookupOp, value: object, places: int | None = None
) -> tuple[LookupOp, object] | bool:
    """Rewrite ``col op value`` so the database decides it exactly as Python does.

    :param kind: how the column stores numbers; ``None`` leaves the operand as it is.
    :param op: one of ``== != < <= > >=``.
    :param value: the operand (not ``None``, not NaN).
    :param places: a ``DECIMAL`` column's declared scale (digits after the point), if any.
    :returns: the new ``(op, operand)`` — an ``int`` for ``INTEGER``, a ``float`` for ``DOUBLE``,
        a ``Decimal`` for ``DECIMAL`` — or the constant answer for every non-NULL value.
    """
    if kind is Storage.DECIMAL:
        return _exact_decimal(op, value, _NUMERIC_PLACES if places is None else places)
    if kind is Storage.INTEGER:
        lo_int, hi_int = INT64
    elif kind is Storage.DOUBLE:
        lo_int = hi_int = 0
    else:
        return op, value
    q = _exact_number(value)
    if q is None:
        return op, value
    if isinstance(q, float):  # an infinity: a float column can hold it, an integer one cannot
        return (op, q) if kind is Storage.DOUBLE else _ORDER_SIDE[op][0 if q > 0 else 1]
    if kind is Storage.INTEGER:
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


# PostgreSQL NUMERIC: finite values lie below 10**131072 and have at most 16383 digits after the
# point (a declared numeric(p, s) has exactly s); beyond them lie +-Infinity.
_NUMERIC_DIGITS = 131072
_NUMERIC_PLACES = 16383
_BITS_BELOW_NUMERIC_LIMIT = 435_410  # 2**435411 < 10**131072


def _exact_decimal(op: LookupOp, value: object, places: int) -> tuple[LookupOp, object] | bool:
    """:func:`exact` for a NUMERIC column: operands become Decimals NUMERIC holds exactly."""
    if isinstance(value, decimal.Decimal | float):
        d = decimal.Decimal(value)  # a float's exact binary value: 0.1 is not NUMERIC 0.1
        if not d.is_finite():
            return op, d
        exponent = d.as_tuple().exponent
        if d.adjusted() < _NUMERIC_DIGITS and isinstance(exponent, int) and exponent >= -places:
            return op, d
        q = _bounded(d, _NUMERIC_DIGITS, places)
    elif isinstance(value, numbers.Rational) and not isinstance(value, bool):
        q = fractions.Fraction(int(value.numerator), int(value.denominator))
    else:
        return op, value
    bits = abs(q.numerator).bit_length() - q.denominator.bit_length()
    if bits >= _BITS_BELOW_NUMERIC_LIMIT and abs(q) >= _ten_to(_NUMERIC_DIGITS):
        infinity = decimal.Decimal("Infinity")
        return _bracket(op, None, infinity) if q > 0 else _bracket(op, -infinity, None)
    if q.denominator == 1:
        return op, decimal.Decimal(q.numerator)
    steps = q * _ten_to(places)  # in units of the last decimal place NUMERIC keeps
    floor = steps.numerator // steps.denominator
    if steps.denominator == 1:
        return op, _decimal(floor, places)
    return _bracket(op, _decimal(floor, places), _decimal(floor + 1, places))


_EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def _decimal(units: int, places: int) -> decimal.Decimal:
    """``units * 10**-places`` as a Decimal, exactly, without trailing zeros."""
    return decimal.Decimal(units).scaleb(-places, _EXACT).normalize(_EXACT)

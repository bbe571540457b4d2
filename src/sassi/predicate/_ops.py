"""``LookupOp`` and one table of facts per op.

Walkers (evaluation, code generation, SQL, the JSON wire, repr) look facts up here instead of
growing their own if-ladders.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["OPS", "LookupOp", "OpInfo", "OpKind"]


class LookupOp(enum.Enum):
    """The operator of a :class:`~sassi.predicate.FieldPredicate`."""

    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    BETWEEN = "between"
    IN = "in"
    NOT_IN = "not_in"
    IS_NULL = "is_null"
    IS_NOT_NULL = "is_not_null"
    CONTAINS = "contains"
    ICONTAINS = "icontains"
    STARTSWITH = "startswith"
    ISTARTSWITH = "istartswith"
    ENDSWITH = "endswith"
    IENDSWITH = "iendswith"
    IEXACT = "iexact"
    JSON = "json"


class OpKind(enum.Enum):
    """What shape of operand an op takes."""

    COMPARE = "compare"  # one scalar operand
    RANGE = "range"  # (low, high)
    MEMBERSHIP = "membership"  # tuple of scalars
    NULLNESS = "nullness"  # no operand (None)
    STRING = "string"  # a str needle
    JSON = "json"  # a JsonPredicate body


@dataclass(frozen=True, slots=True)
class OpInfo:
    """Facts about one op.

    :param symbol: how repr() writes it.
    :param kind: the operand shape.
    :param ordering: needs an ordered type (``< <= > >= between``).
    :param case_insensitive: folds ASCII letters before comparing.
    """

    symbol: str
    kind: OpKind
    ordering: bool = False
    case_insensitive: bool = False


OPS: dict[LookupOp, OpInfo] = {
    LookupOp.EQ: OpInfo("==", OpKind.COMPARE),
    LookupOp.NE: OpInfo("!=", OpKind.COMPARE),
    LookupOp.LT: OpInfo("<", OpKind.COMPARE, ordering=True),
    LookupOp.LE: OpInfo("<=", OpKind.COMPARE, ordering=True),
    LookupOp.GT: OpInfo(">", OpKind.COMPARE, ordering=True),
    LookupOp.GE: OpInfo(">=", OpKind.COMPARE, ordering=True),
    LookupOp.BETWEEN: OpInfo("between", OpKind.RANGE, ordering=True),
    LookupOp.IN: OpInfo("in_", OpKind.MEMBERSHIP),
    LookupOp.NOT_IN: OpInfo("not_in", OpKind.MEMBERSHIP),
    LookupOp.IS_NULL: OpInfo("is_null", OpKind.NULLNESS),
    LookupOp.IS_NOT_NULL: OpInfo("is_not_null", OpKind.NULLNESS),
    LookupOp.CONTAINS: OpInfo("contains", OpKind.STRING),
    LookupOp.ICONTAINS: OpInfo("icontains", OpKind.STRING, case_insensitive=True),
    LookupOp.STARTSWITH: OpInfo("startswith", OpKind.STRING),
    LookupOp.ISTARTSWITH: OpInfo("istartswith", OpKind.STRING, case_insensitive=True),
    LookupOp.ENDSWITH: OpInfo("endswith", OpKind.STRING),
    LookupOp.IENDSWITH: OpInfo("iendswith", OpKind.STRING, case_insensitive=True),
    LookupOp.IEXACT: OpInfo("iexact", OpKind.STRING, case_insensitive=True),
    LookupOp.JSON: OpInfo("json", OpKind.JSON),
}

"""The comparison surface every predicate builder shares.

``Field``, ``PresentField`` and the typed JSON scalar ``JsonValue`` all build leaves through one
``_compare(op, operand)`` choke point; this base class maps each operator and method onto it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._nodes import FieldPredicate
from ._ops import LookupOp

__all__ = ["Comparisons"]


class Comparisons:
    """``== != < <= > >=`` and ``eq ne lt le gt ge between in_ not_in``, each a one-liner.

    Subclasses implement :meth:`_compare`. Comparing two builders (``F.a == F.b``) is not a
    predicate: ``NotImplemented`` lets Python fall back to identity, so builders keep working as
    dict keys and in ``in`` tests; the hash is the identity hash.
    """

    __slots__ = ()

    def _compare(self, op: LookupOp, operand: Any) -> FieldPredicate:
        raise NotImplementedError

    def __eq__(self, other: object) -> FieldPredicate:  # type: ignore[override]
        if isinstance(other, Comparisons):
            return NotImplemented
        return self._compare(LookupOp.EQ, other)

    def __ne__(self, other: object) -> FieldPredicate:  # type: ignore[override]
        if isinstance(other, Comparisons):
            return NotImplemented
        return self._compare(LookupOp.NE, other)

    def __lt__(self, other: object) -> FieldPredicate:
        return self._compare(LookupOp.LT, other)

    def __le__(self, other: object) -> FieldPredicate:
        return self._compare(LookupOp.LE, other)

    def __gt__(self, other: object) -> FieldPredicate:
        return self._compare(LookupOp.GT, other)

    def __ge__(self, other: object) -> FieldPredicate:
        return self._compare(LookupOp.GE, other)

    __hash__ = object.__hash__

    def eq(self, value: Any) -> FieldPredicate:
        """Equal to ``value``."""
        return self._compare(LookupOp.EQ, value)

    def ne(self, value: Any) -> FieldPredicate:
        """Not equal to ``value``."""
        return self._compare(LookupOp.NE, value)

    def lt(self, value: Any) -> FieldPredicate:
        """Less than ``value``."""
        return self._compare(LookupOp.LT, value)

    def le(self, value: Any) -> FieldPredicate:
        """At most ``value``."""
        return self._compare(LookupOp.LE, value)

    def gt(self, value: Any) -> FieldPredicate:
        """Greater than ``value``."""
        return self._compare(LookupOp.GT, value)

    def ge(self, value: Any) -> FieldPredicate:
        """At least ``value``."""
        return self._compare(LookupOp.GE, value)

    def between(self, low: Any, high: Any) -> FieldPredicate:
        """``low <= x <= high`` (inclusive on both ends)."""
        return self._compare(LookupOp.BETWEEN, (low, high))

    def in_(self, values: Iterable[Any]) -> FieldPredicate:
        """Equal to one of ``values`` (stored as a tuple; an empty one is always false)."""
        return self._compare(LookupOp.IN, values)

    def not_in(self, values: Iterable[Any]) -> FieldPredicate:
        """Equal to none of ``values``."""
        return self._compare(LookupOp.NOT_IN, values)

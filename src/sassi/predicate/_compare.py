"""The comparison surface every predicate builder shares.

``Field``, ``PresentField`` and the typed JSON scalar ``JsonValue`` all build leaves through one
``_compare(op, operand)`` choke point; this base class maps each operator and method onto it.

Builders build predicates; they are never operands, and neither are predicates
(:func:`operand_error`). Only two plain ``Field`` objects compare with ``==``/``!=``, by identity,
so fields keep working as dict keys and in lists; every other pairing of builders raises.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from typing import Any, ClassVar, NoReturn

from ._nodes import FieldPredicate, Predicate, precedence_hint
from ._ops import LookupOp

__all__ = ["BuilderBase", "Comparisons", "operand_error"]


class BuilderBase:
    """A predicate builder (a field, a JSON path, a JSON value): never an operand itself.

    ``&``, ``|``, ``^`` and ``~`` on a builder raise a :class:`TypeError` explaining that a
    field is not a predicate, and that ``&`` binds tighter than ``==`` (``F.a == 1 & F.b > 2``
    reaches ``1 & F.b`` first).
    """

    __slots__ = ()

    def _describe(self) -> str:
        """How messages name this builder (``"User.age (annotated int)"``)."""
        return repr(self)

    def _not_a_predicate(self, symbol: str) -> NoReturn:
        raise TypeError(
            f"{self._describe()} is a field, not a predicate, so it cannot be an operand of "
            f"{symbol}; {precedence_hint(symbol)}"
        )

    # Hidden from type checkers, which then flag `F.a == 1 & F.b > 2` as an unsupported operand
    # statically (annotating these NoReturn would silently make the rest of a function
    # unreachable for mypy instead).
    if not typing.TYPE_CHECKING:

        def __and__(self, other: object) -> NoReturn:
            self._not_a_predicate("&")

        def __rand__(self, other: object) -> NoReturn:
            self._not_a_predicate("&")

        def __or__(self, other: object) -> NoReturn:
            self._not_a_predicate("|")

        def __ror__(self, other: object) -> NoReturn:
            self._not_a_predicate("|")

        def __xor__(self, other: object) -> NoReturn:
            self._not_a_predicate("^")

        def __rxor__(self, other: object) -> NoReturn:
            self._not_a_predicate("^")

        def __invert__(self) -> NoReturn:
            raise TypeError(
                f"{self._describe()} is a field, not a predicate, so ~ cannot negate it: for a bool "
                "field write F.x == False (or ~(F.x == True)); to negate a comparison, put ~ "
                "in front of the parenthesized predicate, as in ~(F.x > 1)"
            )


def operand_error(builder: BuilderBase, value: object) -> TypeError | None:
    """The error for an operand that is a builder or a predicate, else ``None``.

    :param builder: the builder being compared (named in the message).
    :param value: the operand.
    :returns: a :class:`TypeError` naming both sides, or ``None`` for a plain value.
    """
    if isinstance(value, BuilderBase):
        return TypeError(
            f"{builder._describe()}: cannot compare with another field, {value._describe()}; "
            "comparing two fields is not a predicate: compare each field with a plain value"
        )
    if isinstance(value, Predicate) or hasattr(type(value), "__sassi_predicate__"):
        return TypeError(
            f"{builder._describe()}: cannot compare with the predicate {value!r}; operands are "
            "plain values, and predicates combine with & | ^ ~ (parenthesize each comparison)"
        )
    return None


class Comparisons(BuilderBase):
    """``== != < <= > >=`` and ``eq ne lt le gt ge between in_ not_in``, each a one-liner.

    Subclasses implement :meth:`_compare`, which refuses builder and predicate operands with
    :func:`operand_error`. The one exception: ``==``/``!=`` between two plain fields (both
    classes set ``_identity_eq``) return ``NotImplemented``, so Python falls back to identity and
    fields keep working as dict keys and in ``in`` tests; the hash is the identity hash.
    """

    __slots__ = ()

    _identity_eq: ClassVar[bool] = False

    def _compare(self, op: LookupOp, operand: Any) -> FieldPredicate:
        raise NotImplementedError

    def _same_kind(self, other: object) -> bool:
        return self._identity_eq and isinstance(other, Comparisons) and other._identity_eq

    def __eq__(self, other: object) -> FieldPredicate:  # type: ignore[override]
        if self._same_kind(other):
            return NotImplemented
        return self._compare(LookupOp.EQ, other)

    def __ne__(self, other: object) -> FieldPredicate:  # type: ignore[override]
        if self._same_kind(other):
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

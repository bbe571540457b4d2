"""Predicate tree nodes: frozen, slotted, hashable, structurally equal, ``match``-able.

Nodes are pure data. Behaviour lives in walkers: :mod:`._evaluate` (interpretation and code
generation), :mod:`sassi.sql` (SQLAlchemy), :mod:`._wire` (JSON), and ``repr`` here.

Composition rules (exactly the Rust crate's): ``&``/``|`` flatten (``And & x`` appends,
``x & And`` prepends, ``And & And`` concatenates), ``^`` never flattens, ``~~p`` is ``p``,
``~TRUE`` is ``FALSE`` and ``~FALSE`` is ``TRUE``; nothing else is simplified.

Note that ``&`` binds tighter than ``==`` in Python: write ``(F.a == 1) & (F.b == 2)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ._ops import LookupOp

__all__ = ["FALSE", "TRUE", "And", "Const", "FieldPredicate", "Not", "Or", "Predicate", "Xor"]

Evaluator = Callable[[Any], bool]
Scanner = Callable[[Iterable[Any]], list[Any]]

_BOOL_MESSAGE = (
    "a sassi Predicate has no truth value: combine predicates with & (and), | (or), ^ (xor) "
    "and ~ (not) instead of `and`/`or`/`not`, and write ranges as F.x.between(lo, hi) or "
    "(lo <= F.x) & (F.x < hi) instead of a chained comparison like lo <= F.x < hi; "
    "to test an object, call predicate.evaluate(obj)"
)


class Predicate:
    """Base class of every predicate node."""

    __slots__ = ()

    def __and__(self, other: Predicate) -> Predicate:
        if not isinstance(other, Predicate):
            return NotImplemented
        left = self.children if isinstance(self, And) else (self,)
        right = other.children if isinstance(other, And) else (other,)
        return And(left + right)

    def __or__(self, other: Predicate) -> Predicate:
        if not isinstance(other, Predicate):
            return NotImplemented
        left = self.children if isinstance(self, Or) else (self,)
        right = other.children if isinstance(other, Or) else (other,)
        return Or(left + right)

    def __xor__(self, other: Predicate) -> Predicate:
        if not isinstance(other, Predicate):
            return NotImplemented
        return Xor(self, other)

    def __invert__(self) -> Predicate:
        if isinstance(self, Not):
            return self.child
        if isinstance(self, Const):
            return FALSE if self.value else TRUE
        return Not(self)

    def __bool__(self) -> bool:
        raise TypeError(_BOOL_MESSAGE)

    def compile(self) -> Evaluator:
        """A fast ``obj -> bool`` evaluator with the same semantics as :meth:`evaluate`.

        Generated once per predicate and cached on the node.
        """
        compiled: Evaluator | None = self._compiled  # type: ignore[attr-defined]
        if compiled is None:
            from ._codegen import compile_predicate

            compiled = compile_predicate(self)
            object.__setattr__(self, "_compiled", compiled)
        return compiled

    def evaluate(self, obj: Any) -> bool:
        """Whether ``obj`` satisfies this predicate."""
        return self.compile()(obj)

    def __call__(self, obj: Any) -> bool:
        return self.compile()(obj)


@dataclass(frozen=True, slots=True, repr=False)
class FieldPredicate(Predicate):
    """A leaf: ``field op value``.

    :param field: the attribute name.
    :param op: the operator.
    :param value: the operand: a scalar, ``(low, high)`` for BETWEEN, a tuple for IN/NOT_IN,
        ``None`` for IS_NULL/IS_NOT_NULL, the needle for string ops, a ``JsonPredicate`` for JSON.
    :param present: built through ``F.x.present()``: false whenever the value is ``None``.
    """

    field: str
    op: LookupOp
    value: object = None
    present: bool = False
    _compiled: Evaluator | None = dataclasses.field(
        default=None, init=False, repr=False, compare=False, hash=False
    )
    _scan: Scanner | None = dataclasses.field(
        default=None, init=False, repr=False, compare=False, hash=False
    )

    def __repr__(self) -> str:
        from ._repr import predicate_repr

        return str(predicate_repr(self))


@dataclass(frozen=True, slots=True, repr=False)
class And(Predicate):
    """True when every child is true (an empty ``And`` is true)."""

    children: tuple[Predicate, ...]
    _compiled: Evaluator | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )
    _scan: Scanner | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    def __repr__(self) -> str:
        from ._repr import predicate_repr

        return str(predicate_repr(self))


@dataclass(frozen=True, slots=True, repr=False)
class Or(Predicate):
    """True when any child is true (an empty ``Or`` is false)."""

    children: tuple[Predicate, ...]
    _compiled: Evaluator | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )
    _scan: Scanner | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    def __repr__(self) -> str:
        from ._repr import predicate_repr

        return str(predicate_repr(self))


@dataclass(frozen=True, slots=True, repr=False)
class Not(Predicate):
    """True when the child is false."""

    child: Predicate
    _compiled: Evaluator | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )
    _scan: Scanner | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    def __repr__(self) -> str:
        from ._repr import predicate_repr

        return str(predicate_repr(self))


@dataclass(frozen=True, slots=True, repr=False)
class Xor(Predicate):
    """True when exactly one side is true. Never flattened."""

    left: Predicate
    right: Predicate
    _compiled: Evaluator | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )
    _scan: Scanner | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    def __repr__(self) -> str:
        from ._repr import predicate_repr

        return str(predicate_repr(self))


@dataclass(frozen=True, slots=True, repr=False)
class Const(Predicate):
    """``TRUE`` or ``FALSE``."""

    value: bool
    _compiled: Evaluator | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )
    _scan: Scanner | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    def __repr__(self) -> str:
        return "TRUE" if self.value else "FALSE"


TRUE = Const(True)
FALSE = Const(False)

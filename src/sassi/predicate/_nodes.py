"""Predicate tree nodes: frozen, slotted, hashable, structurally equal, ``match``-able.

Nodes are pure data. Behaviour lives in walkers: :mod:`._evaluate` (interpretation and code
generation), :mod:`sassi.sql` (SQLAlchemy), :mod:`._wire` (JSON), and ``repr`` here.

Composition rules (exactly the Rust crate's): ``&``/``|`` flatten (``And & x`` appends,
``x & And`` prepends, ``And & And`` concatenates), ``^`` never flattens, ``~~p`` is ``p``,
``~TRUE`` is ``FALSE`` and ``~FALSE`` is ``TRUE``; nothing else is simplified.

Note that ``&`` binds tighter than ``==`` in Python: write ``(F.a == 1) & (F.b == 2)``.

Trees are at most :data:`MAX_DEPTH` levels deep; every constructor checks, so ``==``, ``hash``,
``repr``, code generation and SQL lowering never meet a tree too deep for Python's stack.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ._ops import LookupOp

__all__ = [
    "FALSE",
    "MAX_DEPTH",
    "TRUE",
    "And",
    "Const",
    "FieldPredicate",
    "Not",
    "Or",
    "Predicate",
    "Xor",
]

MAX_DEPTH = 64
"""The deepest predicate tree any constructor builds (a leaf is one level).

``&`` and ``|`` flatten into one ``And``/``Or`` of many children, so only alternating them,
``Not`` and ``Xor`` add levels. At this depth ``==``, ``hash``, ``repr``, ``compile``,
``evaluate``, the JSON wire and SQL lowering all work with room to spare on Python's default
stack; one level more raises :class:`ValueError` at construction (and so in ``loads``).
"""

Evaluator = Callable[[Any], bool]
Scanner = Callable[[Iterable[Any]], list[Any]]

_BOOL_MESSAGE = (
    "a sassi Predicate has no truth value: combine predicates with & (and), | (or), ^ (xor) "
    "and ~ (not) instead of `and`/`or`/`not`, and write ranges as F.x.between(lo, hi) or "
    "(lo <= F.x) & (F.x < hi) instead of a chained comparison like lo <= F.x < hi; "
    "to test an object, call predicate.evaluate(obj)"
)


def _depth_of(node: object) -> int:
    depth: int = getattr(node, "_depth", 1)
    return depth


def _set_depth(node: Predicate, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(
            f"predicate nested too deeply: a {type(node).__name__} at depth {depth} exceeds "
            f"sassi.predicate MAX_DEPTH = {MAX_DEPTH}; & and | flatten into one And/Or of many "
            "children, so only alternating And/Or, Not and Xor add levels: restructure the "
            "tree (e.g. one wide Or of And terms)"
        )
    object.__setattr__(node, "_depth", depth)


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
    _depth: int = dataclasses.field(default=1, init=False, repr=False, compare=False, hash=False)

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
    _depth: int = field(default=1, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.children, tuple):
            object.__setattr__(self, "children", tuple(self.children))
        _set_depth(self, 1 + max(map(_depth_of, self.children), default=0))

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
    _depth: int = field(default=1, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.children, tuple):
            object.__setattr__(self, "children", tuple(self.children))
        _set_depth(self, 1 + max(map(_depth_of, self.children), default=0))

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
    _depth: int = field(default=1, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        _set_depth(self, 1 + _depth_of(self.child))

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
    _depth: int = field(default=1, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        _set_depth(self, 1 + max(_depth_of(self.left), _depth_of(self.right)))

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
    _depth: int = field(default=1, init=False, repr=False, compare=False, hash=False)

    def __repr__(self) -> str:
        return "TRUE" if self.value else "FALSE"


TRUE = Const(True)
FALSE = Const(False)

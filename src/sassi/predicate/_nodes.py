"""Predicate tree nodes: frozen, slotted, hashable, structurally equal, ``match``-able.

Nodes are pure data. Behaviour lives in walkers: :mod:`._evaluate` (interpretation and code
generation), :mod:`sassi.sql` (SQLAlchemy), :mod:`._wire` (JSON), and ``repr`` here.

Composition rules (exactly the Rust crate's): ``&``/``|`` flatten (``And & x`` appends,
``x & And`` prepends, ``And & And`` concatenates), ``^`` never flattens, ``~~p`` is ``p``,
``~TRUE`` is ``FALSE`` and ``~FALSE`` is ``TRUE``; nothing else is simplified.

Note that ``&`` binds tighter than ``==`` in Python: write ``(F.a == 1) & (F.b == 2)``.

Trees are at most :data:`MAX_DEPTH` levels deep; every constructor checks, so ``==``, ``hash``,
``repr``, code generation and SQL lowering never meet a tree too deep for Python's stack.

Wherever a predicate is expected (``&``/``|``/``^`` operands here, ``scope``, ``where``,
``dumps``, ``invalidate_where``, ``to_sqlalchemy`` elsewhere), :func:`as_predicate` also
accepts a *wrapper*: any object whose class defines ``__sassi_predicate__()`` returning a
:class:`Predicate` (the Rust crate's ``IntoBasicPredicate``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

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
    "SupportsPredicate",
    "Xor",
    "as_predicate",
]

MAX_DEPTH = 64
"""The deepest predicate tree any constructor builds (a leaf is one level).

``&`` and ``|`` flatten into one ``And``/``Or`` of many children, so only alternating them,
``Not`` and ``Xor`` add levels. At this depth ``==``, ``hash``, ``repr``, ``compile``,
``evaluate``, the JSON wire and SQL lowering all work with room to spare on Python's default
stack; one level more raises :class:`ValueError` at construction (and so in ``loads``).
"""

_MAX_UNWRAP = 4
"""How many ``__sassi_predicate__`` wrappers deep :func:`as_predicate` looks."""

Evaluator = Callable[[Any], bool]
Scanner = Callable[[Iterable[Any]], list[Any]]

_BOOL_MESSAGE = (
    "a sassi Predicate has no truth value: combine predicates with & (and), | (or), ^ (xor) "
    "and ~ (not) instead of `and`/`or`/`not`, and write ranges as F.x.between(lo, hi) or "
    "(lo <= F.x) & (F.x < hi) instead of a chained comparison like lo <= F.x < hi; "
    "to test an object, call predicate.evaluate(obj)"
)

_TWO_FIELDS_HINT = (
    "the usual cause is comparing two fields: F.a == F.b is a plain bool (Field objects compare "
    "by identity, so fields work as dict keys), never a predicate; compare a field with a value "
    "instead, as in (F.a == 1) & (F.b > 2)"
)


def precedence_hint(symbol: str) -> str:
    """Why ``F.a == 1 & F.b > 2`` fails, for messages about the ``symbol`` operator."""
    return (
        f"{symbol} binds tighter than == != < <= > >= in Python, so F.a == 1 {symbol} F.b > 2 "
        f"reads as F.a == (1 {symbol} F.b) > 2: parenthesize each comparison, as in "
        f"(F.a == 1) {symbol} (F.b > 2)"
    )


class SupportsPredicate(Protocol):
    """A wrapper predicate: anything whose ``__sassi_predicate__()`` returns a :class:`Predicate`."""

    def __sassi_predicate__(self) -> Predicate: ...


def as_predicate(obj: object, *, what: str) -> Predicate:
    """``obj`` as a :class:`Predicate`: the one check behind every place that takes a predicate.

    A predicate is returned as is; a wrapper (its class defines ``__sassi_predicate__()``) is
    unwrapped, wrappers of wrappers up to four levels deep.

    :param obj: a predicate or a wrapper of one.
    :param what: what takes the predicate, for messages (``"scope()"``, ``"where()"``...).
    :returns: the predicate.
    :raises TypeError: for a ``bool`` (``"{what} takes a sassi predicate, got the bool False:
        the usual cause is comparing two fields..."``); for a wrapper whose
        ``__sassi_predicate__()`` returns something else or still a wrapper after four levels
        (the message names the wrapper and what it returned); for anything else
        (``"{what} takes a sassi predicate, got {obj!r}"``).
    """
    return _coerce(obj, what, "")


def _coerce(obj: object, what: str, hint: str) -> Predicate:
    if isinstance(obj, Predicate):
        return obj
    if isinstance(obj, bool):
        raise TypeError(f"{what} takes a sassi predicate, got the bool {obj!r}: {_TWO_FIELDS_HINT}")
    current: object = obj
    for _ in range(_MAX_UNWRAP):
        unwrap = getattr(type(current), "__sassi_predicate__", None)
        if unwrap is None:
            break
        result = unwrap(current)
        if isinstance(result, Predicate):
            return result
        if getattr(type(result), "__sassi_predicate__", None) is None:
            raise TypeError(
                f"{what} takes a sassi predicate, got {obj!r} whose __sassi_predicate__() "
                f"returned {result!r} ({type(result).__name__}), not a Predicate"
            )
        current = result
    else:
        raise TypeError(
            f"{what} takes a sassi predicate, got {obj!r} whose __sassi_predicate__() still "
            f"returned a wrapper after {_MAX_UNWRAP} levels (does a wrapper return itself?)"
        )
    message = f"{what} takes a sassi predicate, got {obj!r}"
    from ._compare import BuilderBase  # not at import time: _compare imports this module

    if isinstance(obj, BuilderBase):
        message += "; a field is not a predicate: compare it with a value, as in F.x == 1"
    raise TypeError(message + (f"; {hint}" if hint else ""))


def _operand(other: object, symbol: str) -> Predicate:
    return _coerce(other, f"the {symbol} operator", precedence_hint(symbol))


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

    def __and__(self, other: Predicate | SupportsPredicate) -> Predicate:
        right_node = _operand(other, "&")
        left = self.children if isinstance(self, And) else (self,)
        right = right_node.children if isinstance(right_node, And) else (right_node,)
        return And(left + right)

    def __rand__(self, other: Predicate | SupportsPredicate) -> Predicate:
        return _operand(other, "&") & self

    def __or__(self, other: Predicate | SupportsPredicate) -> Predicate:
        right_node = _operand(other, "|")
        left = self.children if isinstance(self, Or) else (self,)
        right = right_node.children if isinstance(right_node, Or) else (right_node,)
        return Or(left + right)

    def __ror__(self, other: Predicate | SupportsPredicate) -> Predicate:
        return _operand(other, "|") | self

    def __xor__(self, other: Predicate | SupportsPredicate) -> Predicate:
        return Xor(self, _operand(other, "^"))

    def __rxor__(self, other: Predicate | SupportsPredicate) -> Predicate:
        return Xor(_operand(other, "^"), self)

    def __invert__(self) -> Predicate:
        if isinstance(self, Not):
            return self.child
        if isinstance(self, Const):
            return FALSE if self.value else TRUE
        return Not(self)

    def __bool__(self) -> bool:
        raise TypeError(_BOOL_MESSAGE)

    def __sassi_predicate__(self) -> Predicate:
        """A predicate is its own wrapper (see :func:`as_predicate`)."""
        return self

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle and copy by the constructor arguments: caches (the generated evaluator) stay
        behind, and the copy is validated like any new node."""
        fields = dataclasses.fields(self)  # type: ignore[arg-type]
        return type(self), tuple(getattr(self, f.name) for f in fields if f.init)

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

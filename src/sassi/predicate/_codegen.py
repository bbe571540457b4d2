"""The code generator: one predicate tree -> generated Python source -> a fast callable.

:func:`compile_predicate` and :func:`compile_scan` generate Python source for one tree, with
attribute loads inlined and every operand hoisted into the function's globals as a constant
(user data never appears in the generated source), then ``exec`` it once; results are cached
on the node. JSON leaves become specialised closures with the rules of
:func:`~._evaluate.json_test`. The semantics are those of the reference interpreter
:func:`~._evaluate.interpret` (see :mod:`._evaluate`), which the generated code falls back to
on the rare objects where its inline code raises; tests check
``interpret == compile_predicate == compile_scan`` on generated data.
"""

from __future__ import annotations

import decimal
import enum
import fractions
import functools
import itertools
import keyword
import operator
import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime, time
from typing import Any, TypeVar

from ._evaluate import (
    _ASCII_LOWER,
    _MISSING,
    EVAL_ERRORS,
    _eq,
    _pair,
    fold_ascii,
    interpret,
    json_equal,
    json_kind,
)
from ._json_body import JsonPredicate, JsonTest
from ._nodes import And, Const, FieldPredicate, Not, Or, Predicate, Xor
from ._ops import OPS, LookupOp, OpKind

__all__ = ["compile_predicate", "compile_scan", "compile_typed_scan", "generate_source"]

T = TypeVar("T")


# Operand types whose ``==``/``!=`` against ``None`` is plain ``False``/``True``: for them the
# generated code can skip the ``is None`` guard of EQ/NE.
_NONE_SAFE_EQ: tuple[type, ...] = (
    bool,
    int,
    float,
    str,
    bytes,
    decimal.Decimal,
    fractions.Fraction,
    date,
    datetime,
    time,
    uuid.UUID,
)

# ``{f}`` is the ASCII fold of ``{x}``: ``str.lower`` equals ASCII-only folding on ASCII text
# and is much faster than ``translate``, which handles the rest.
_FOLD = "(_lower({x}) if _isascii({x}) else _translate({x}, _LOWER))"

_STRING_FUNCS: dict[LookupOp, str] = {
    LookupOp.CONTAINS: "_contains({x}, {c})",
    LookupOp.ICONTAINS: "_contains({f}, {c})",
    LookupOp.STARTSWITH: "_startswith({x}, {c})",
    LookupOp.ISTARTSWITH: "_startswith({f}, {c})",
    LookupOp.ENDSWITH: "_endswith({x}, {c})",
    LookupOp.IENDSWITH: "_endswith({f}, {c})",
    LookupOp.IEXACT: "({f} == {c})",
}

_COMPARE_SYMBOLS: dict[LookupOp, str] = {
    LookupOp.EQ: "==",
    LookupOp.NE: "!=",
    LookupOp.LT: "<",
    LookupOp.LE: "<=",
    LookupOp.GT: ">",
    LookupOp.GE: ">=",
}

# For an op with a non-None operand: the result on a None value for plain (non-present) leaves.
_NULL_RESULT: dict[LookupOp, bool] = {
    LookupOp.EQ: False,
    LookupOp.NE: True,
    LookupOp.LT: True,
    LookupOp.LE: True,
    LookupOp.GT: False,
    LookupOp.GE: False,
}


_ORDERING: dict[LookupOp, bool] = {
    LookupOp.LT: True,
    LookupOp.LE: True,
    LookupOp.GT: True,
    LookupOp.GE: True,
}


def _raises_on_none(*operands: Any) -> bool:
    """Whether ordering ``None`` against each non-None operand raises ``TypeError`` (standard
    types do; a user class might answer through a reflected method)."""
    return all(v is None or (type(v) in _NONE_SAFE_EQ and type(v) is not bool) for v in operands)


def _membership_set(values: tuple[Any, ...]) -> frozenset[Any] | None:
    """A frozenset with the same ``in`` meaning as ``==`` scanning, or ``None`` if unsafe."""
    kept = []
    for v in values:
        if not isinstance(v, (*_NONE_SAFE_EQ, enum.Enum)) and v is not None:
            return None
        try:
            if v != v:  # NaN never equals anything: drop it
                continue
            hash(v)
        except Exception:
            return None
        kept.append(v)
    return frozenset(kept)


def _any_eq(x: Any, values: tuple[Any, ...]) -> bool:
    return any(_eq(x, e) for e in values)


class _Generator:
    """Turns one tree into one Python expression over ``o`` plus a namespace of constants.

    ``never_none``: fields whose annotation excludes ``None``. A leaf on one of them drops its
    ``is None`` guard where the unguarded test raises ``TypeError`` on ``None`` (string lookups,
    ordering and ``between`` against standard operand types): a value that breaks its
    annotation then reaches the interpreter through the ``except`` fallback, so the result is
    the same, only the common case is faster.
    """

    def __init__(self, never_none: frozenset[str] = frozenset()) -> None:
        self.never_none = never_none
        self.namespace: dict[str, Any] = {
            "_getattr": getattr,
            "_contains": str.__contains__,
            "_startswith": str.startswith,
            "_endswith": str.endswith,
            "_translate": str.translate,
            "_lower": str.lower,
            "_isascii": str.isascii,
            "_LOWER": _ASCII_LOWER,
            "_any_eq": _any_eq,
            "_ERRORS": EVAL_ERRORS,
        }
        self._counter = itertools.count()

    def const(self, value: Any) -> str:
        name = f"_c{next(self._counter)}"
        self.namespace[name] = value
        return name

    def load(self, field: str) -> str:
        if field.isidentifier() and not keyword.iskeyword(field) and field.isascii():
            return f"o.{field}"
        return f"_getattr(o, {self.const(field)})"

    def expr(self, node: Predicate) -> str:
        if isinstance(node, FieldPredicate):
            return self.leaf(node)
        if isinstance(node, And):
            if not node.children:
                return "True"
            return "(" + " and ".join(self.expr(c) for c in node.children) + ")"
        if isinstance(node, Or):
            if not node.children:
                return "False"
            return "(" + " or ".join(self.expr(c) for c in node.children) + ")"
        if isinstance(node, Not):
            return f"(not {self.expr(node.child)})"
        if isinstance(node, Xor):
            return f"((not {self.expr(node.left)}) is not (not {self.expr(node.right)}))"
        if isinstance(node, Const):
            return "True" if node.value else "False"
        raise TypeError(f"cannot compile unknown predicate node {node!r}")

    @staticmethod
    def _guard(x: str, nonnull: str, null_result: bool) -> str:
        if nonnull == "True" and null_result:
            return "True"
        if nonnull == "False" and not null_result:
            return "False"
        if null_result:
            return f"({x} is None or {nonnull})"
        return f"({x} is not None and {nonnull})"

    def leaf(self, node: FieldPredicate) -> str:
        x = self.load(node.field)
        op, v, present = node.op, node.value, node.present
        kind = OPS[op].kind
        if kind is OpKind.JSON:
            if not isinstance(v, JsonPredicate):
                raise TypeError(f"a JSON leaf needs a JsonPredicate body, got {v!r}")
            call = f"{self.const(_json_closure(v))}({x})"
            return f"({x} is not None and {call})" if present else call
        typed = node.field in self.never_none
        if kind is OpKind.STRING:
            needle = fold_ascii(v) if OPS[op].case_insensitive else v  # type: ignore[arg-type]
            folded = _FOLD.format(x=x)
            test = _STRING_FUNCS[op].format(x=x, f=folded, c=self.const(needle))
            return f"({test})" if typed else self._guard(x, test, False)
        if op is LookupOp.IS_NULL:
            return "False" if present else f"({x} is None)"
        if op is LookupOp.IS_NOT_NULL:
            return f"({x} is not None)"
        if kind is OpKind.COMPARE:
            return self.compare(node, x)
        if kind is OpKind.RANGE:
            low, high = _pair(v)
            if high is None:
                nonnull = "False"
            elif low is None:
                nonnull = f"({x} <= {self.const(high)})"
            else:
                nonnull = f"({self.const(low)} <= {x} <= {self.const(high)})"
            if typed and high is not None and _raises_on_none(low, high):
                return nonnull
            return self._guard(x, nonnull, low is None and not present)
        if kind is OpKind.MEMBERSHIP:
            values: tuple[Any, ...] = v  # type: ignore[assignment]
            positive = op is LookupOp.IN
            has_none = any(e is None for e in values)
            fast = _membership_set(values)
            if fast is not None:
                test = "in" if positive else "not in"
                expr = f"({x} {test} {self.const(fast)})"
                # None is hashed into the set like any value, so the set already gives the
                # plain None rule; only present=True needs an explicit guard.
                return f"({x} is not None and {expr})" if present else expr
            call = f"_any_eq({x}, {self.const(values)})"
            nonnull = call if positive else f"(not {call})"
            null_result = (has_none if positive else not has_none) and not present
            return self._guard(x, nonnull, null_result)
        raise TypeError(f"cannot compile op {op!r}")

    def compare(self, node: FieldPredicate, x: str) -> str:
        op, v, present = node.op, node.value, node.present
        if v is None:
            # None sorts first: x == None, x != None, x < None (never), x <= None, ...
            null_result = op in (LookupOp.EQ, LookupOp.LE, LookupOp.GE)
            nonnull = "True" if op in (LookupOp.NE, LookupOp.GT, LookupOp.GE) else "False"
            return self._guard(x, nonnull, null_result and not present)
        nonnull = f"({x} {_COMPARE_SYMBOLS[op]} {self.const(v)})"
        null_result = _NULL_RESULT[op] and not present
        if op in (LookupOp.EQ, LookupOp.NE) and type(v) in _NONE_SAFE_EQ and not present:
            return nonnull  # None == v is False and None != v is True for these types
        if node.field in self.never_none and _ORDERING.get(op) and _raises_on_none(v):
            return nonnull  # None < v raises TypeError: the fallback decides
        return self._guard(x, nonnull, null_result)


_OPERATORS: dict[LookupOp | None, Callable[[Any, Any], Any]] = {
    LookupOp.EQ: operator.eq,
    LookupOp.NE: operator.ne,
    LookupOp.LT: operator.lt,
    LookupOp.LE: operator.le,
    LookupOp.GT: operator.gt,
    LookupOp.GE: operator.ge,
}


def _resolver(path: tuple[str, ...]) -> Callable[[Any], Any]:
    """``root -> value at path`` or the missing sentinel, specialised on the path length."""
    if not path:
        return lambda root: _MISSING if root is None else root
    if len(path) == 1:
        (key,) = path
        return lambda root: root.get(key, _MISSING) if isinstance(root, dict) else _MISSING

    def walk(root: Any) -> Any:
        node = root
        for seg in path:
            if not isinstance(node, dict):
                return _MISSING
            node = node.get(seg, _MISSING)
        return node

    return walk


def _value_check(body: JsonPredicate) -> Callable[[Any], bool]:
    """``present value -> bool`` for one body (the path has already resolved)."""
    test, operand, kind = body.test, body.operand, body.kind
    if test is JsonTest.EXISTS:
        return lambda v: True
    if test is JsonTest.IS_NULL:
        return lambda v: v is None
    if test is JsonTest.IS_NOT_NULL:
        return lambda v: v is not None
    if test is JsonTest.TYPE:
        return lambda v: json_kind(v) is kind
    if test is JsonTest.HAS_KEY:
        return lambda v: isinstance(v, dict) and operand in v
    if test is JsonTest.HAS_ANY_KEY:
        keys = frozenset(operand)
        return lambda v: isinstance(v, dict) and not keys.isdisjoint(v.keys())
    if test is JsonTest.HAS_ALL_KEYS:
        keys = frozenset(operand)
        return lambda v: isinstance(v, dict) and keys <= v.keys()
    if test is JsonTest.EQ_JSON:
        return lambda v: json_equal(v, operand)
    if test is JsonTest.NE_JSON:
        return lambda v: not json_equal(v, operand)
    if test is JsonTest.ARRAY_CONTAINS:
        return lambda v: isinstance(v, (list, tuple)) and any(json_equal(e, operand) for e in v)
    if test is JsonTest.ARRAY_LEN:
        length_cmp = _OPERATORS[body.op]
        return lambda v: isinstance(v, (list, tuple)) and bool(length_cmp(len(v), operand))
    if test is JsonTest.COMPARE:
        cmp = _OPERATORS[body.op]
        return lambda v: json_kind(v) is kind and bool(cmp(v, operand))
    if test is JsonTest.BETWEEN:
        low, high = operand
        return lambda v: json_kind(v) is kind and bool(low <= v <= high)
    if test in (JsonTest.IN, JsonTest.NOT_IN):
        operands: tuple[Any, ...] = tuple(operand)
        members = _membership_set(operands)
        positive = test is JsonTest.IN

        def membership(v: Any) -> bool:
            if json_kind(v) is not kind:
                return False
            found = v in members if members is not None else _any_eq(v, operands)
            return found is positive

        return membership
    raise TypeError(f"cannot compile JSON test {test!r}")


def _json_closure(body: JsonPredicate) -> Callable[[Any], bool]:
    """A specialised ``root -> bool`` for one JSON body (same rules as :func:`json_test`)."""
    resolve = _resolver(body.path)
    if body.test is JsonTest.MISSING:
        return lambda root: resolve(root) is _MISSING
    check = _value_check(body)

    def run(root: Any) -> bool:
        value = resolve(root)
        return value is not _MISSING and check(value)

    return run


def generate_source(
    node: Predicate, never_none: frozenset[str] = frozenset()
) -> tuple[str, dict[str, Any]]:
    """The generated module source for ``node`` and the namespace it runs in.

    Exposed for debugging and tests: the source defines ``predicate(o)`` and ``scan(items)``.

    :param node: the predicate.
    :param never_none: fields annotated without ``None`` (see :class:`_Generator`).
    :returns: ``(source, namespace)``; the namespace holds every operand as a constant.
    :raises TypeError: for an unknown node type or op.
    """
    gen = _Generator(never_none)
    expr = gen.expr(node)
    # The rare objects on which the inline code raises (an unhashable value probed against a
    # set, incomparable values) are decided by the interpreter, which raises only where the
    # semantics say "false for this object".
    gen.namespace["_slow"] = functools.partial(interpret, node)
    source = (
        "def predicate(o):\n"
        "    try:\n"
        f"        return True if {expr} else False\n"
        "    except _ERRORS:\n"
        "        return _slow(o)\n"
        "\n"
        "def scan(items):\n"
        "    if type(items) is not list and type(items) is not tuple:\n"
        "        items = list(items)\n"
        "    try:\n"
        f"        return [o for o in items if {expr}]\n"
        "    except _ERRORS:\n"
        "        return [o for o in items if predicate(o)]\n"
    )
    return source, gen.namespace


def _build(
    node: Predicate, never_none: frozenset[str] = frozenset()
) -> tuple[Callable[[Any], bool], Callable[[Iterable[Any]], list[Any]]]:
    try:
        source, namespace = generate_source(node, never_none)
        code = compile(source, "<sassi predicate>", "exec")
        exec(code, namespace)
    except (RecursionError, SyntaxError, MemoryError):
        # Absurdly deep trees exceed the parser's nesting limit: fall back to the interpreter.
        def predicate(obj: Any) -> bool:
            return interpret(node, obj)

        def scan(items: Iterable[Any]) -> list[Any]:
            return [o for o in items if interpret(node, o)]

        return predicate, scan
    return namespace["predicate"], namespace["scan"]


def compile_predicate(node: Predicate) -> Callable[[Any], bool]:
    """A generated ``obj -> bool`` with the semantics of :func:`interpret`.

    Prefer ``node.compile()``, which caches the result on the node.

    :param node: the predicate.
    :returns: the evaluator.
    :raises TypeError: when the tree holds an unknown node type or op.
    """
    predicate, scan = _build(node)
    if getattr(node, "_scan", None) is None:
        object.__setattr__(node, "_scan", scan)
    return predicate


def compile_scan(node: Predicate) -> Callable[[Iterable[T]], list[T]]:
    """A generated ``items -> [o for o in items if node(o)]``, cached on the node.

    :param node: the predicate.
    :returns: the scanner; it accepts any iterable and returns a new list in input order.
    :raises TypeError: when the tree holds an unknown node type or op.
    """
    scan: Callable[[Iterable[T]], list[T]] | None = getattr(node, "_scan", None)
    if scan is None:
        predicate, scan = _build(node)
        object.__setattr__(node, "_scan", scan)
        if getattr(node, "_compiled", None) is None:
            object.__setattr__(node, "_compiled", predicate)
    return scan


def compile_typed_scan(
    node: Predicate, never_none: frozenset[str]
) -> Callable[[Iterable[T]], list[T]]:
    """:func:`compile_scan` for a model whose ``never_none`` fields are annotated without
    ``None``: the generated code skips their ``is None`` guards where that is safe (see
    :class:`_Generator`). Not cached here: the caller keeps it (``MemQ`` does, per op).

    :param node: the predicate.
    :param never_none: field names whose annotation excludes ``None``.
    :returns: the scanner (same results as :func:`compile_scan` on every input).
    """
    if not never_none:
        return compile_scan(node)
    return _build(node, never_none)[1]

"""Evaluating predicates: a reference interpreter and a code generator with the same meaning.

:func:`interpret` walks the tree and is the executable statement of the semantics.
:func:`compile_predicate` and :func:`compile_scan` generate Python source for one tree, with
attribute loads inlined and every operand hoisted into the function's globals as a constant
(user data never appears in the generated source), then ``exec`` it once; results are cached
on the node. Tests check ``interpret == compile_predicate == compile_scan`` on generated data.

Semantics (identical to the Rust crate, SPEC section 2):

- empty ``And`` is true, empty ``Or`` false; ``Xor`` is true iff exactly one side is.
- plain comparisons order ``None`` before every value: ``== None`` matches ``None``, ``!= v``,
  ``< v`` and ``<= v`` are true for ``None``, ``> v``, ``>= v`` and ``between`` false;
  ``in_`` matches ``None`` only when the operand holds ``None``. ``between`` is inclusive.
- ``present=True`` leaves are false on ``None`` whatever the op (``!=``/``not_in`` too).
- string lookups are false on ``None``; the ``i*`` forms fold ASCII ``A-Z`` only;
  ``% _ \\`` are literal. NaN compares false with everything (``!=`` is true, as in Python).
- JSON: a ``None`` field value is a missing document; a missing path or a value of the wrong
  kind makes every test false (``exists``/``missing`` aside); ``bool`` is never a number;
  numbers compare exactly across int and float; object equality ignores key order.

Runtime errors: when a comparison raises ``TypeError`` (values of incomparable types at
runtime, an unhashable value tested with ``in_``, a string lookup on a non-``str`` value) or
``ArithmeticError`` (e.g. ordering a ``Decimal`` NaN), the whole predicate is false for that
object, like SQL's unknown. Other exceptions (a missing attribute) propagate.
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

from ._json_body import JsonKind, JsonPredicate, JsonTest
from ._nodes import And, Const, FieldPredicate, Not, Or, Predicate, Xor
from ._ops import OPS, LookupOp, OpKind

__all__ = [
    "EVAL_ERRORS",
    "compile_predicate",
    "compile_scan",
    "generate_source",
    "interpret",
    "json_equal",
    "json_kind",
    "json_test",
]

T = TypeVar("T")

EVAL_ERRORS: tuple[type[Exception], ...] = (TypeError, ArithmeticError)
"""Exceptions that make a predicate false for one object instead of propagating."""

_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_MISSING: Any = object()


def fold_ascii(text: str) -> str:
    """Lower-case ASCII ``A-Z`` only (``"É"`` stays ``"É"``), like Rust's ``to_ascii_lowercase``.

    :param text: any ``str``.
    :returns: the folded string.
    :raises TypeError: when ``text`` is not a ``str``.
    """
    return str.translate(text, _ASCII_LOWER)


# ---------------------------------------------------------------------------------------------
# JSON: the reference rules
# ---------------------------------------------------------------------------------------------


def json_kind(value: Any) -> JsonKind | None:
    """The JSON kind of a Python value (``bool`` is never a number), ``None`` if not JSON.

    :param value: a decoded JSON value.
    :returns: its :class:`JsonKind`, or ``None`` for a non-JSON Python object.
    """
    if value is None:
        return JsonKind.NULL
    if isinstance(value, bool):
        return JsonKind.BOOL
    if isinstance(value, (int, float)):
        return JsonKind.NUMBER
    if isinstance(value, str):
        return JsonKind.STRING
    if isinstance(value, (list, tuple)):
        return JsonKind.ARRAY
    if isinstance(value, dict):
        return JsonKind.OBJECT
    return None


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: kinds must match, numbers compare exactly, objects ignore key order.

    :param a: a JSON value.
    :param b: a JSON value.
    :returns: whether they are equal as JSON.
    """
    kind = json_kind(a)
    if kind is None or kind is not json_kind(b):
        return False
    if kind is JsonKind.ARRAY:
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if kind is JsonKind.OBJECT:
        return len(a) == len(b) and all(k in b and json_equal(v, b[k]) for k, v in a.items())
    return bool(a == b)


def _resolve(root: Any, path: tuple[str, ...]) -> Any:
    if root is None:
        return _MISSING
    node = root
    for seg in path:
        if not isinstance(node, dict) or seg not in node:
            return _MISSING
        node = node[seg]
    return node


def _scalar_matches(value: Any, kind: JsonKind | None) -> bool:
    return kind is not None and json_kind(value) is kind


def _compare(op: LookupOp | None, a: Any, b: Any) -> bool:
    if op is LookupOp.EQ:
        return bool(a == b)
    if op is LookupOp.NE:
        return bool(a != b)
    if op is LookupOp.LT:
        return bool(a < b)
    if op is LookupOp.LE:
        return bool(a <= b)
    if op is LookupOp.GT:
        return bool(a > b)
    if op is LookupOp.GE:
        return bool(a >= b)
    raise ValueError(f"not a comparison op: {op!r}")


def json_test(root: Any, body: JsonPredicate) -> bool:
    """Evaluate one JSON predicate body against a field value (the reference evaluator).

    :param root: the field's value; ``None`` means the document is missing.
    :param body: the JSON test.
    :returns: the truth of the test.
    """
    value = _resolve(root, body.path)
    test = body.test
    if test is JsonTest.MISSING:
        return value is _MISSING
    if value is _MISSING:
        return False
    if test is JsonTest.EXISTS:
        return True
    if test is JsonTest.IS_NULL:
        return value is None
    if test is JsonTest.IS_NOT_NULL:
        return value is not None
    if test is JsonTest.TYPE:
        return json_kind(value) is body.kind
    if test in (JsonTest.HAS_KEY, JsonTest.HAS_ANY_KEY, JsonTest.HAS_ALL_KEYS):
        if not isinstance(value, dict):
            return False
        if test is JsonTest.HAS_KEY:
            return body.operand in value
        if test is JsonTest.HAS_ANY_KEY:
            return any(k in value for k in body.operand)
        return all(k in value for k in body.operand)
    if test is JsonTest.EQ_JSON:
        return json_equal(value, body.operand)
    if test is JsonTest.NE_JSON:
        return not json_equal(value, body.operand)
    if test is JsonTest.ARRAY_CONTAINS:
        return isinstance(value, (list, tuple)) and any(json_equal(e, body.operand) for e in value)
    if test is JsonTest.ARRAY_LEN:
        return isinstance(value, (list, tuple)) and _compare(body.op, len(value), body.operand)
    if not _scalar_matches(value, body.kind):
        return False
    if test is JsonTest.COMPARE:
        return _compare(body.op, value, body.operand)
    if test is JsonTest.IN:
        return any(value == v for v in body.operand)
    if test is JsonTest.NOT_IN:
        return not any(value == v for v in body.operand)
    if test is JsonTest.BETWEEN:
        low, high = body.operand
        return bool(low <= value <= high)
    raise ValueError(f"unknown JSON test {test!r}")


# ---------------------------------------------------------------------------------------------
# The reference interpreter
# ---------------------------------------------------------------------------------------------


def _eq(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return bool(a == b)


def _lt(a: Any, b: Any) -> bool:
    """``a < b`` where ``None`` sorts before every value."""
    if a is None:
        return b is not None
    if b is None:
        return False
    return bool(a < b)


def _le(a: Any, b: Any) -> bool:
    """``a <= b`` where ``None`` sorts before every value."""
    if a is None:
        return True
    if b is None:
        return False
    return bool(a <= b)


def _pair(value: object) -> tuple[Any, Any]:
    """The ``(low, high)`` operand of BETWEEN."""
    if not isinstance(value, tuple) or len(value) != 2:
        raise ValueError(f"between needs a (low, high) operand, got {value!r}")
    return value[0], value[1]


def _string_leaf(op: LookupOp, x: Any, needle: str) -> bool:
    if x is None:
        return False
    if not isinstance(x, str):
        raise TypeError(f"string lookup {op.value} on a non-str value {x!r}")
    if OPS[op].case_insensitive:
        x = fold_ascii(x)
        needle = fold_ascii(needle)
    text: str = x
    if op in (LookupOp.CONTAINS, LookupOp.ICONTAINS):
        return needle in text
    if op in (LookupOp.STARTSWITH, LookupOp.ISTARTSWITH):
        return text.startswith(needle)
    if op in (LookupOp.ENDSWITH, LookupOp.IENDSWITH):
        return text.endswith(needle)
    return text == needle  # IEXACT


def _leaf(node: FieldPredicate, obj: Any) -> bool:
    x = getattr(obj, node.field)
    op, v = node.op, node.value
    if node.present and x is None:
        return False
    kind = OPS[op].kind
    if kind is OpKind.JSON:
        if not isinstance(v, JsonPredicate):
            raise ValueError(f"a JSON leaf needs a JsonPredicate body, got {v!r}")
        return json_test(x, v)
    if kind is OpKind.STRING:
        return _string_leaf(op, x, v)  # type: ignore[arg-type]
    if op is LookupOp.IS_NULL:
        return x is None
    if op is LookupOp.IS_NOT_NULL:
        return x is not None
    if op is LookupOp.EQ:
        return _eq(x, v)
    if op is LookupOp.NE:
        return not _eq(x, v)
    if op is LookupOp.LT:
        return _lt(x, v)
    if op is LookupOp.LE:
        return _le(x, v)
    if op is LookupOp.GT:
        return _lt(v, x)
    if op is LookupOp.GE:
        return _le(v, x)
    if op is LookupOp.BETWEEN:
        low, high = _pair(v)
        return _le(low, x) and _le(x, high)
    if op is LookupOp.IN or op is LookupOp.NOT_IN:
        # Python's own `in` meaning (an `==` scan). The generated code probes a set when every
        # operand is safely hashable; an unhashable value (a list, a dict) makes that probe
        # raise, and the generated code then falls back to this interpreter, which scans.
        found = any(_eq(x, e) for e in v)  # type: ignore[attr-defined]
        return found if op is LookupOp.IN else not found
    raise ValueError(f"unknown op {op!r}")


def _interpret(node: Predicate, obj: Any) -> bool:
    if isinstance(node, FieldPredicate):
        return _leaf(node, obj)
    # Plain loops rather than all()/any(): one frame per level keeps deep trees evaluable.
    if isinstance(node, And):
        for child in node.children:  # noqa: SIM110
            if not _interpret(child, obj):
                return False
        return True
    if isinstance(node, Or):
        for child in node.children:  # noqa: SIM110
            if _interpret(child, obj):
                return True
        return False
    if isinstance(node, Not):
        return not _interpret(node.child, obj)
    if isinstance(node, Xor):
        return _interpret(node.left, obj) is not _interpret(node.right, obj)
    if isinstance(node, Const):
        return bool(node.value)
    raise ValueError(f"unknown predicate node {node!r}")


def interpret(node: Predicate, obj: Any) -> bool:
    """Evaluate ``node`` on ``obj`` by walking the tree (the reference semantics).

    :param node: the predicate.
    :param obj: the object to test.
    :returns: whether ``obj`` satisfies ``node``; ``False`` when a comparison raises one of
        :data:`EVAL_ERRORS`.
    :raises AttributeError: when ``obj`` lacks a field the predicate reads.
    """
    try:
        return _interpret(node, obj)
    except EVAL_ERRORS:
        return False


# ---------------------------------------------------------------------------------------------
# The code generator
# ---------------------------------------------------------------------------------------------

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
    """Turns one tree into one Python expression over ``o`` plus a namespace of constants."""

    def __init__(self) -> None:
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
        if kind is OpKind.STRING:
            needle = fold_ascii(v) if OPS[op].case_insensitive else v  # type: ignore[arg-type]
            folded = _FOLD.format(x=x)
            test = _STRING_FUNCS[op].format(x=x, f=folded, c=self.const(needle))
            return self._guard(x, test, False)
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


def generate_source(node: Predicate) -> tuple[str, dict[str, Any]]:
    """The generated module source for ``node`` and the namespace it runs in.

    Exposed for debugging and tests: the source defines ``predicate(o)`` and ``scan(items)``.

    :param node: the predicate.
    :returns: ``(source, namespace)``; the namespace holds every operand as a constant.
    :raises TypeError: for an unknown node type or op.
    """
    gen = _Generator()
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


def _build(node: Predicate) -> tuple[Callable[[Any], bool], Callable[[Iterable[Any]], list[Any]]]:
    try:
        source, namespace = generate_source(node)
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

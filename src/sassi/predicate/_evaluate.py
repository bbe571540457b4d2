"""Evaluating predicates: the reference interpreter and the JSON rules it applies.

:func:`interpret` walks the tree and is the executable statement of the semantics;
:func:`json_test`, :func:`json_equal` and :func:`json_kind` state the JSON rules. The code
generator (:func:`compile_predicate`, :func:`compile_scan`, :func:`generate_source`) lives in
:mod:`._codegen`, which builds on this module; the three names stay importable from here.
Tests check ``interpret == compile_predicate == compile_scan`` on generated data.

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

from typing import Any

from ._json_body import JsonKind, JsonPredicate, JsonTest
from ._nodes import And, Const, FieldPredicate, Not, Or, Predicate, Xor
from ._ops import OPS, LookupOp, OpKind

__all__ = [
    "EVAL_ERRORS",
    "interpret",
    "json_equal",
    "json_kind",
    "json_test",
]

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
        # A None bound is decided by "None sorts first" alone, without comparing x with the
        # other bound (the generated code does the same, so neither raises where the other
        # would not): nothing but None is <= None, and None <= everything.
        if high is None:
            return x is None and low is None
        if low is None:
            return _le(x, high)
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
# Re-exports of the code generator
# ---------------------------------------------------------------------------------------------

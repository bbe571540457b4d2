"""Predicate -> JSON: the encoding half of the wire form (layout in :mod:`._wire`)."""

from __future__ import annotations

import json
from typing import Any

from ._json import check_json_value
from ._json_body import JsonPredicate, JsonTest
from ._nodes import (
    And,
    Const,
    FieldPredicate,
    Not,
    Or,
    Predicate,
    SupportsPredicate,
    Xor,
    as_predicate,
)
from ._ops import OPS, LookupOp, OpKind
from ._wire_limits import check_json_numbers, check_nesting, check_size, count_nodes
from ._wire_values import encode_value

__all__ = ["WIRE_VERSION", "dumps"]

WIRE_VERSION = 1
"""The version written into (and required from) the ``"sassi_predicate"`` key."""

_LIST_OPERAND_TESTS = frozenset(
    {JsonTest.IN, JsonTest.NOT_IN, JsonTest.BETWEEN, JsonTest.HAS_ANY_KEY, JsonTest.HAS_ALL_KEYS}
)


def dumps(predicate: Predicate | SupportsPredicate, *, model: type | None = None) -> str:
    """Encode ``predicate`` as a versioned JSON document.

    The output is plain JSON (no ``NaN``/``Infinity`` literals, ASCII only) and deterministic for
    equal predicates built the same way. ``loads(Model, dumps(p)) == p``. What ``loads`` would
    refuse is refused here first (the bounds of :mod:`._wire_limits`).

    :param predicate: any predicate tree, or a wrapper of one (``__sassi_predicate__()``).
    :param model: when given, its :func:`sassi.type_name` is recorded and :func:`loads` refuses
        the document for another model.
    :returns: the JSON text.
    :raises TypeError: when ``predicate`` is not a predicate (see
        :func:`~sassi.predicate.as_predicate`), the tree holds something that is not a predicate
        node, or an operand of a type this format cannot carry (the message names the field and
        the type).
    :raises ValueError: when a JSON predicate body holds a non-finite float, or the document would
        break a bound ``loads`` enforces: ``MAX_NODES``, ``MAX_DOCUMENT_BYTES``,
        ``MAX_JSON_NESTING``, ``MAX_NUMBER_DIGITS``, ``MAX_NUMBER_EXPONENT`` (named in the message).
    """
    predicate = as_predicate(predicate, what="dumps()")
    count_nodes(predicate)
    model_name: str | None = None
    if model is not None:
        from .._model import type_name

        model_name = type_name(model)
    try:
        document = {"sassi_predicate": WIRE_VERSION, "model": model_name, "tree": _node(predicate)}
        text = json.dumps(document, allow_nan=False, separators=(",", ":"))
    except RecursionError:
        raise ValueError("predicate is nested too deeply to encode") from None
    check_size(text)
    check_nesting(text)
    return text


def _node(p: Predicate) -> dict[str, Any]:
    if isinstance(p, FieldPredicate):
        return {
            "field": p.field,
            "op": p.op.value,
            "present": p.present,
            "value": _operand(p.field, p.op, p.value),
        }
    if isinstance(p, Const):
        return {"const": p.value}
    if isinstance(p, And):
        return {"and": [_node(c) for c in p.children]}
    if isinstance(p, Or):
        return {"or": [_node(c) for c in p.children]}
    if isinstance(p, Not):
        return {"not": _node(p.child)}
    if isinstance(p, Xor):
        return {"xor": [_node(p.left), _node(p.right)]}
    raise TypeError(f"cannot encode predicate node {type(p).__name__}")


def _operand(field: str, op: LookupOp, value: object) -> Any:
    kind = OPS[op].kind
    if kind is OpKind.COMPARE:
        return encode_value(field, value)
    if kind in (OpKind.RANGE, OpKind.MEMBERSHIP):
        if not isinstance(value, tuple | list):
            raise TypeError(f"{field}: {op.value} operand must be a tuple, got {value!r}")
        return [encode_value(field, v) for v in value]
    if kind is OpKind.NULLNESS:
        return None
    if kind is OpKind.STRING:
        if not isinstance(value, str):
            raise TypeError(f"{field}: {op.value} needle must be a str, got {value!r}")
        return value
    if not isinstance(value, JsonPredicate):
        raise TypeError(f"{field}: a json predicate needs a JsonPredicate body, got {value!r}")
    return _body(field, value)


def _body(field: str, body: JsonPredicate) -> dict[str, Any]:
    test = body.test
    operand: Any
    if test in _LIST_OPERAND_TESTS:
        if not isinstance(body.operand, tuple | list):
            raise TypeError(f"{field}: json {test.value} operand must be a tuple")
        operand = [check_json_value(v, what=field) for v in body.operand]
    else:
        operand = check_json_value(body.operand, what=field)
    check_json_numbers(operand, field)
    if not all(isinstance(k, str) for k in body.path):
        raise TypeError(f"{field}: JSON path keys must be str, got {body.path!r}")
    return {
        "path": list(body.path),
        "test": test.value,
        "op": None if body.op is None else body.op.value,
        "kind": None if body.kind is None else body.kind.value,
        "operand": operand,
    }

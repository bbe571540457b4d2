"""Predicate <-> JSON: a versioned, data-only wire form for publishing predicates.

``dumps(p)`` writes a compact JSON document; ``loads(Model, text)`` reads it back and rebuilds
every leaf through the model's public builders (``sassi.fields(Model)``), so operands are
re-validated against the field annotations exactly as if the predicate had been written by hand.
Decoding is ``json.loads`` plus a walk over plain data: nothing is imported, evaluated or
instantiated by name, and classes (enums, time zones) are only resolved from the model's own
annotations.

Layout (version 1)::

    {"sassi_predicate": 1, "model": "shop.User" | null, "tree": NODE}

    NODE  = {"const": true | false}
          | {"and": [NODE, ...]}  | {"or": [NODE, ...]}
          | {"not": NODE}         | {"xor": [NODE, NODE]}
          | {"field": NAME, "op": OP, "present": BOOL, "value": OPERAND}

``OP`` is a :class:`~sassi.LookupOp` value (``"eq"``, ``"between"``, ``"json"``, ...). The operand's
shape follows the op: one ``VALUE``; ``[VALUE, VALUE]`` for ``between``; ``[VALUE, ...]`` for
``in``/``not_in``; ``null`` for ``is_null``/``is_not_null``; a string needle for string lookups;
a ``BODY`` for ``json``::

    BODY = {"path": [KEY, ...], "test": TEST, "op": OP | null, "kind": KIND | null,
            "operand": ...}

with ``TEST`` a :class:`~sassi.JsonTest` value, ``KIND`` a :class:`~sassi.JsonKind` value and the
operand laid out as :class:`~sassi.JsonTest` documents, JSON values written as themselves.

A ``VALUE`` is plain JSON when unambiguous, or a ``{"$type": ...}`` tagged object for everything
else (datetimes, ``Decimal``, ``UUID``, enums, bytes, non-finite floats, nested containers); that
codec, and its layout, lives in :mod:`._wire_values`. Encoding lives in :mod:`._wire_encode`.

``loads`` reads what other processes publish: the bounds of :mod:`._wire_limits` (document size,
bracket nesting, number sizes, node count) are checked before any parsing, recursion or
arithmetic, and the tree's depth by the node constructors.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Callable
from typing import Any

from ._json_body import JsonKind, JsonPredicate, JsonTest
from ._nodes import FALSE, TRUE, And, FieldPredicate, Not, Or, Predicate, Xor
from ._ops import OPS, LookupOp, OpKind
from ._wire_encode import WIRE_VERSION, dumps
from ._wire_limits import MAX_NODES, check_nesting, check_size, parse_float, parse_int
from ._wire_values import OperandDecoder, exact_keys, short_repr

__all__ = ["WIRE_VERSION", "dumps", "loads"]

_ENVELOPE_KEYS = frozenset({"sassi_predicate", "model", "tree"})
_FIELD_KEYS = frozenset({"field", "op", "present", "value"})
_BODY_KEYS = frozenset({"path", "test", "op", "kind", "operand"})

# The public builder method behind each op (``between`` takes two arguments).
_BUILDER_METHOD: dict[LookupOp, str] = {
    LookupOp.EQ: "eq",
    LookupOp.NE: "ne",
    LookupOp.LT: "lt",
    LookupOp.LE: "le",
    LookupOp.GT: "gt",
    LookupOp.GE: "ge",
    LookupOp.BETWEEN: "between",
    LookupOp.IN: "in_",
    LookupOp.NOT_IN: "not_in",
    LookupOp.IS_NULL: "is_null",
    LookupOp.IS_NOT_NULL: "is_not_null",
    LookupOp.CONTAINS: "contains",
    LookupOp.ICONTAINS: "icontains",
    LookupOp.STARTSWITH: "startswith",
    LookupOp.ISTARTSWITH: "istartswith",
    LookupOp.ENDSWITH: "endswith",
    LookupOp.IENDSWITH: "iendswith",
    LookupOp.IEXACT: "iexact",
}
_PRESENT_OPS = frozenset(
    {
        LookupOp.EQ,
        LookupOp.NE,
        LookupOp.LT,
        LookupOp.LE,
        LookupOp.GT,
        LookupOp.GE,
        LookupOp.BETWEEN,
        LookupOp.IN,
        LookupOp.NOT_IN,
    }
)
_ARRAY_LEN_METHOD: dict[LookupOp, str] = {
    LookupOp.EQ: "array_len_eq",
    LookupOp.GT: "array_len_gt",
    LookupOp.GE: "array_len_ge",
    LookupOp.LT: "array_len_lt",
    LookupOp.LE: "array_len_le",
}
_NO_OPERAND_TESTS: dict[JsonTest, str] = {
    JsonTest.EXISTS: "exists",
    JsonTest.MISSING: "missing",
    JsonTest.IS_NULL: "is_json_null",
    JsonTest.IS_NOT_NULL: "is_not_json_null",
}
_ONE_OPERAND_TESTS: dict[JsonTest, str] = {
    JsonTest.HAS_KEY: "has_key",
    JsonTest.HAS_ANY_KEY: "has_any_key",
    JsonTest.HAS_ALL_KEYS: "has_all_keys",
    JsonTest.EQ_JSON: "eq_json",
    JsonTest.NE_JSON: "ne_json",
    JsonTest.ARRAY_CONTAINS: "array_contains",
}


# --------------------------------------------------------------------------- decoding


def loads(model: type, data: str | bytes | bytearray) -> Predicate:
    """Decode a document written by :func:`dumps` into a predicate over ``model``.

    Every leaf is rebuilt through ``sassi.fields(model)``, so an operand that does not fit the
    field's annotation is refused just like a hand-written one would be.

    :param model: the model class the predicate is about.
    :param data: the JSON text (``str``, or UTF-8 ``bytes``).
    :returns: a predicate equal to the one that was encoded.
    :raises ValueError: on malformed JSON or layout, an unknown version, node, op, JSON test or
        kind, a field the model does not have (the message names it), a document recorded for
        another model, or an operand the field's annotation refuses; and, before any parsing,
        recursion or arithmetic, on a document beyond a bound of :mod:`._wire_limits`
        (``MAX_DOCUMENT_BYTES``, ``MAX_JSON_NESTING``, ``MAX_NUMBER_DIGITS``,
        ``MAX_NUMBER_EXPONENT``, ``MAX_NODES``) or a tree deeper than ``MAX_DEPTH``; the
        message names the limit.
    """
    from .._model import fields, model_info

    info = model_info(model)
    if not isinstance(data, str | bytes | bytearray):
        raise ValueError(f"predicate wire data must be str or bytes, got {type(data).__name__}")
    check_size(data)
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"predicate wire data is not UTF-8: {exc}") from None
    check_nesting(data)
    try:
        document = json.loads(
            data, parse_constant=_reject_constant, parse_int=parse_int, parse_float=parse_float
        )
    except RecursionError:
        raise ValueError("predicate wire data is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"predicate wire data is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or "sassi_predicate" not in document:
        raise ValueError("not a sassi predicate document (no 'sassi_predicate' version key)")
    exact_keys(document, _ENVELOPE_KEYS, "document")
    version = document["sassi_predicate"]
    if type(version) is not int or version != WIRE_VERSION:
        raise ValueError(
            f"unsupported predicate wire version {version!r} (this sassi reads {WIRE_VERSION})"
        )
    recorded = document["model"]
    if recorded is not None and recorded != info.type_name:
        raise ValueError(
            f"predicate was written for model {recorded!r}, not {info.type_name!r} "
            f"({model.__qualname__})"
        )
    decoder = _Decoder(model, fields(model), info.annotations)
    try:
        return decoder.node(document["tree"])
    except RecursionError:
        raise ValueError("predicate wire data is nested too deeply") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"predicate wire data is not valid JSON: non-standard constant {name}")


def _enum(cls: Any, value: str, what: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        known = ", ".join(repr(m.value) for m in cls)
        raise ValueError(f"unknown {what} {value!r} (known: {known})") from None


class _Decoder(OperandDecoder):
    """Rebuilds a tree for one model through its public field builders."""

    def __init__(self, model: type, fields: Any, annotations: typing.Mapping[str, Any]) -> None:
        super().__init__(annotations)
        self._model = model
        self._fields = fields
        self._nodes = 0

    def node(self, raw: Any) -> Predicate:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise ValueError(f"predicate wire data has more than MAX_NODES = {MAX_NODES} nodes")
        if not isinstance(raw, dict):
            raise ValueError(f"malformed predicate node: expected an object, got {short_repr(raw)}")
        if "field" in raw:
            return self._leaf(raw)
        if len(raw) != 1:
            raise ValueError(f"malformed predicate node with keys {sorted(raw)}")
        ((kind, payload),) = raw.items()
        if kind == "const":
            if not isinstance(payload, bool):
                raise ValueError(f"malformed const node: {short_repr(payload)}")
            return TRUE if payload else FALSE
        if kind in ("and", "or"):
            if not isinstance(payload, list):
                raise ValueError(f"malformed {kind} node: children must be a list")
            children = tuple(self.node(c) for c in payload)
            return And(children) if kind == "and" else Or(children)
        if kind == "not":
            return Not(self.node(payload))
        if kind == "xor":
            if not isinstance(payload, list) or len(payload) != 2:
                raise ValueError("malformed xor node: needs exactly two operands")
            return Xor(self.node(payload[0]), self.node(payload[1]))
        raise ValueError(f"unknown predicate node {kind!r}")

    def _leaf(self, raw: dict[str, Any]) -> Predicate:
        exact_keys(raw, _FIELD_KEYS, "field predicate")
        name, op_name, present, operand = raw["field"], raw["op"], raw["present"], raw["value"]
        if not isinstance(name, str):
            raise ValueError(f"malformed field predicate: field name {name!r}")
        if not isinstance(op_name, str):
            raise ValueError(f"malformed field predicate: op {op_name!r}")
        if not isinstance(present, bool):
            raise ValueError(f"malformed field predicate: present flag {present!r}")
        op = _enum(LookupOp, op_name, "op")
        if name not in self._annotations:
            known = ", ".join(self._annotations) or "none"
            raise ValueError(
                f"unknown field {name!r} for {self._model.__qualname__} (known fields: {known})"
            )
        field = self._fields[name]
        try:
            return self._build(field, name, op, present, operand)
        except TypeError as exc:
            raise ValueError(f"invalid operand for {name} {op.value}: {exc}") from exc

    def _build(self, field: Any, name: str, op: LookupOp, present: bool, raw: Any) -> Predicate:
        kind = OPS[op].kind
        if kind is OpKind.JSON:
            built: Predicate = self._json(field, name, raw)
        else:
            builder = field.present() if present and op in _PRESENT_OPS else field
            method: Callable[..., Predicate] = getattr(builder, _BUILDER_METHOD[op])
            if kind is OpKind.COMPARE:
                built = method(self._value(name, raw))
            elif kind is OpKind.RANGE:
                if not isinstance(raw, list) or len(raw) != 2:
                    raise ValueError(f"malformed {name} between: expected [low, high]")
                built = method(self._value(name, raw[0]), self._value(name, raw[1]))
            elif kind is OpKind.MEMBERSHIP:
                if not isinstance(raw, list):
                    raise ValueError(f"malformed {name} {op.value}: expected a list")
                built = method([self._value(name, v) for v in raw])
            elif kind is OpKind.NULLNESS:
                if raw is not None:
                    raise ValueError(f"malformed {name} {op.value}: takes no operand")
                built = method()
            else:
                if not isinstance(raw, str):
                    raise ValueError(f"malformed {name} {op.value}: needle must be a string")
                built = method(raw)
        if not isinstance(built, FieldPredicate) or built.op is not op:
            raise ValueError(f"{name}: rebuilding {op.value} gave {built!r}")
        if built.present != present:
            built = FieldPredicate(built.field, built.op, built.value, present)
        return built

    # ------------------------------------------------------------------ JSON bodies

    def _json(self, field: Any, name: str, raw: Any) -> Predicate:
        if not isinstance(raw, dict):
            raise ValueError(f"malformed {name} json body: expected an object")
        exact_keys(raw, _BODY_KEYS, f"{name} json body")
        path, operand = raw["path"], raw["operand"]
        if not isinstance(path, list) or not all(isinstance(k, str) for k in path):
            raise ValueError(f"malformed {name} json path: {path!r}")
        if not isinstance(raw["test"], str):
            raise ValueError(f"malformed {name} json test: {raw['test']!r}")
        test = _enum(JsonTest, raw["test"], "JSON test")
        op = None if raw["op"] is None else _enum(LookupOp, _str(raw["op"]), "JSON op")
        kind = None if raw["kind"] is None else _enum(JsonKind, _str(raw["kind"]), "JSON kind")
        at = field.json.path_segments(path)
        built: Predicate
        if test in _NO_OPERAND_TESTS:
            _expect_none(operand, op, kind, name, test)
            built = getattr(at, _NO_OPERAND_TESTS[test])()
        elif test is JsonTest.TYPE:
            if kind is None or op is not None or operand is not None:
                raise ValueError(f"malformed {name} json is_type: needs a kind only")
            built = at.is_type(kind.value)
        elif test in _ONE_OPERAND_TESTS:
            if op is not None or kind is not None:
                raise ValueError(f"malformed {name} json {test.value}: takes no op or kind")
            built = getattr(at, _ONE_OPERAND_TESTS[test])(operand)
        elif test is JsonTest.ARRAY_LEN:
            if op not in _ARRAY_LEN_METHOD or kind is not None:
                raise ValueError(f"malformed {name} json array_len: op {raw['op']!r}")
            if type(operand) is not int:
                raise ValueError(f"malformed {name} json array_len: length {operand!r}")
            built = getattr(at, _ARRAY_LEN_METHOD[op])(operand)
        else:
            built = self._json_scalar(at, name, test, op, kind, operand)
        body = built.value if isinstance(built, FieldPredicate) else None
        if not isinstance(body, JsonPredicate) or body.test is not test:
            raise ValueError(f"{name}: rebuilding json {test.value} gave {built!r}")
        return built

    def _json_scalar(
        self,
        at: Any,
        name: str,
        test: JsonTest,
        op: LookupOp | None,
        kind: JsonKind | None,
        operand: Any,
    ) -> Predicate:
        if kind not in (JsonKind.NUMBER, JsonKind.STRING, JsonKind.BOOL):
            raise ValueError(f"malformed {name} json {test.value}: scalar kind {kind!r}")
        values = operand if test is not JsonTest.COMPARE else [operand]
        if not isinstance(values, list):
            raise ValueError(f"malformed {name} json {test.value}: expected a list")
        scalar = at.value(_scalar_type(kind, values))
        if test is JsonTest.COMPARE:
            if op is None or op not in _BUILDER_METHOD or OPS[op].kind is not OpKind.COMPARE:
                raise ValueError(f"malformed {name} json compare: op {op!r}")
            result: Predicate = getattr(scalar, _BUILDER_METHOD[op])(operand)
            return result
        if op is not None:
            raise ValueError(f"malformed {name} json {test.value}: takes no op")
        if test is JsonTest.BETWEEN:
            if len(values) != 2:
                raise ValueError(f"malformed {name} json between: expected [low, high]")
            between: Predicate = scalar.between(values[0], values[1])
            return between
        members: Predicate = (scalar.in_ if test is JsonTest.IN else scalar.not_in)(values)
        return members


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _expect_none(operand: Any, op: Any, kind: Any, name: str, test: JsonTest) -> None:
    if operand is not None or op is not None or kind is not None:
        raise ValueError(f"malformed {name} json {test.value}: takes no operand, op or kind")


def _scalar_type(kind: JsonKind, values: list[Any]) -> type:
    if kind is JsonKind.STRING:
        return str
    if kind is JsonKind.BOOL:
        return bool
    return float if any(isinstance(v, float) for v in values) else int

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

A ``VALUE`` is ``null``, a boolean, a string, an integer or a finite float written as JSON
(``-0.0`` and the int/float distinction survive), or a tagged object for everything else::

    {"$type": "float", "value": "nan" | "inf" | "-inf"}
    {"$type": "datetime", "value": ISO-8601, "tz": ZONE-KEY?, "fold": 1?}
    {"$type": "date" | "time", "value": ISO-8601}
    {"$type": "timedelta", "value": [days, seconds, microseconds]}
    {"$type": "decimal" | "fraction" | "uuid", "value": STRING}
    {"$type": "bytes", "value": BASE64}
    {"$type": "enum", "class": QUALNAME, "name": MEMBER}
    {"$type": "tuple" | "list", "value": [VALUE, ...]}
    {"$type": "dict", "value": [[VALUE, VALUE], ...]}

An enum operand is decoded with the enum class named by the field's annotation; an operand whose
enum class the annotation does not mention cannot be decoded (``ValueError``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import decimal
import enum
import fractions
import json
import math
import typing
import uuid
import zoneinfo
from collections.abc import Callable
from typing import Any

from ._json import check_json_value
from ._json_body import JsonKind, JsonPredicate, JsonTest
from ._nodes import FALSE, TRUE, And, Const, FieldPredicate, Not, Or, Predicate, Xor
from ._ops import OPS, LookupOp, OpKind

__all__ = ["WIRE_VERSION", "dumps", "loads"]

WIRE_VERSION = 1
"""The version written into (and required from) the ``"sassi_predicate"`` key."""

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
_LIST_OPERAND_TESTS = frozenset(
    {JsonTest.IN, JsonTest.NOT_IN, JsonTest.BETWEEN, JsonTest.HAS_ANY_KEY, JsonTest.HAS_ALL_KEYS}
)
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


# --------------------------------------------------------------------------- encoding


def dumps(predicate: Predicate, *, model: type | None = None) -> str:
    """Encode ``predicate`` as a versioned JSON document.

    The output is plain JSON (no ``NaN``/``Infinity`` literals, ASCII only) and deterministic for
    equal predicates built the same way. ``loads(Model, dumps(p)) == p``.

    :param predicate: any predicate tree.
    :param model: when given, its :func:`sassi.type_name` is recorded and :func:`loads` refuses
        the document for another model.
    :returns: the JSON text.
    :raises TypeError: when the tree holds something that is not a predicate node, or an operand
        of a type this format cannot carry (the message names the field and the type).
    :raises ValueError: when a JSON predicate body holds a non-finite float or a tree is too deep.
    """
    if not isinstance(predicate, Predicate):
        raise TypeError(f"dumps expects a sassi Predicate, got {type(predicate).__name__}")
    model_name: str | None = None
    if model is not None:
        from .._model import type_name

        model_name = type_name(model)
    try:
        document = {"sassi_predicate": WIRE_VERSION, "model": model_name, "tree": _node(predicate)}
        return json.dumps(document, allow_nan=False, separators=(",", ":"))
    except RecursionError:
        raise ValueError("predicate is nested too deeply to encode") from None


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
        return _value(field, value)
    if kind in (OpKind.RANGE, OpKind.MEMBERSHIP):
        if not isinstance(value, tuple | list):
            raise TypeError(f"{field}: {op.value} operand must be a tuple, got {value!r}")
        return [_value(field, v) for v in value]
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
    if not all(isinstance(k, str) for k in body.path):
        raise TypeError(f"{field}: JSON path keys must be str, got {body.path!r}")
    return {
        "path": list(body.path),
        "test": test.value,
        "op": None if body.op is None else body.op.value,
        "kind": None if body.kind is None else body.kind.value,
        "operand": operand,
    }


def _value(field: str, value: Any) -> Any:
    """One field operand: plain JSON when unambiguous, a tagged object otherwise."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return {"$type": "enum", "class": type(value).__qualname__, "name": value.name}
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        text = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return {"$type": "float", "value": text}
    if isinstance(value, _dt.datetime):
        out: dict[str, Any] = {"$type": "datetime", "value": value.isoformat()}
        if isinstance(value.tzinfo, zoneinfo.ZoneInfo) and value.tzinfo.key:
            out["tz"] = value.tzinfo.key
        if value.fold:
            out["fold"] = value.fold
        return out
    if isinstance(value, _dt.date):
        return {"$type": "date", "value": value.isoformat()}
    if isinstance(value, _dt.time):
        if value.fold:
            raise TypeError(f"{field}: a time with fold=1 cannot be encoded")
        return {"$type": "time", "value": value.isoformat()}
    if isinstance(value, _dt.timedelta):
        return {"$type": "timedelta", "value": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, decimal.Decimal):
        return {"$type": "decimal", "value": str(value)}
    if isinstance(value, fractions.Fraction):
        return {"$type": "fraction", "value": str(value)}
    if isinstance(value, uuid.UUID):
        return {"$type": "uuid", "value": str(value)}
    if isinstance(value, bytes):
        return {"$type": "bytes", "value": base64.b64encode(value).decode("ascii")}
    if isinstance(value, tuple):
        return {"$type": "tuple", "value": [_value(field, v) for v in value]}
    if isinstance(value, list):
        return {"$type": "list", "value": [_value(field, v) for v in value]}
    if isinstance(value, dict):
        pairs = [[_value(field, k), _value(field, v)] for k, v in value.items()]
        return {"$type": "dict", "value": pairs}
    raise TypeError(
        f"{field}: cannot encode an operand of type {type(value).__qualname__} ({value!r}); "
        "supported: None, bool, int, float, str, bytes, datetime/date/time/timedelta, Decimal, "
        "Fraction, UUID, Enum members, and tuples/lists/dicts of those"
    )


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
        another model, or an operand the field's annotation refuses.
    """
    from .._model import fields, model_info

    info = model_info(model)
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"predicate wire data is not UTF-8: {exc}") from None
    if not isinstance(data, str):
        raise ValueError(f"predicate wire data must be str or bytes, got {type(data).__name__}")
    try:
        document = json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("predicate wire data is nested too deeply") from None
    except ValueError as exc:
        raise ValueError(f"predicate wire data is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or "sassi_predicate" not in document:
        raise ValueError("not a sassi predicate document (no 'sassi_predicate' version key)")
    _exact_keys(document, _ENVELOPE_KEYS, "document")
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


class _Malformed(ValueError):
    """A decoding error whose message already names the field."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _exact_keys(obj: dict[str, Any], keys: frozenset[str], what: str) -> None:
    if obj.keys() != keys:
        extra = sorted(set(obj) - keys)
        lacking = sorted(keys - set(obj))
        raise ValueError(f"malformed {what}: unexpected keys {extra}, missing keys {lacking}")


def _enum(cls: Any, value: str, what: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        known = ", ".join(repr(m.value) for m in cls)
        raise ValueError(f"unknown {what} {value!r} (known: {known})") from None


def _enum_classes(annotation: Any) -> list[type[enum.Enum]]:
    """Enum classes mentioned anywhere in an annotation (unions, Literal, Annotated, args)."""
    found: list[type[enum.Enum]] = []
    stack = [annotation]
    seen: set[int] = set()
    while stack:
        ann = stack.pop()
        if id(ann) in seen:
            continue
        seen.add(id(ann))
        if isinstance(ann, type) and issubclass(ann, enum.Enum):
            found.append(ann)
            continue
        if isinstance(ann, enum.Enum):  # a Literal[Color.RED] argument
            stack.append(type(ann))
            continue
        stack.extend(typing.get_args(ann))
    return found


class _Decoder:
    """Rebuilds a tree for one model through its public field builders."""

    def __init__(self, model: type, fields: Any, annotations: typing.Mapping[str, Any]) -> None:
        self._model = model
        self._fields = fields
        self._annotations = annotations

    def node(self, raw: Any) -> Predicate:
        if not isinstance(raw, dict):
            raise ValueError(f"malformed predicate node: expected an object, got {raw!r}")
        if "field" in raw:
            return self._leaf(raw)
        if len(raw) != 1:
            raise ValueError(f"malformed predicate node with keys {sorted(raw)}")
        ((kind, payload),) = raw.items()
        if kind == "const":
            if not isinstance(payload, bool):
                raise ValueError(f"malformed const node: {payload!r}")
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
        _exact_keys(raw, _FIELD_KEYS, "field predicate")
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
        _exact_keys(raw, _BODY_KEYS, f"{name} json body")
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

    # ------------------------------------------------------------------ field operands

    def _value(self, name: str, raw: Any) -> Any:
        if raw is None or isinstance(raw, bool | int | float | str):
            return raw
        if isinstance(raw, list):
            raise ValueError(f"{name}: untagged array operand {raw!r}")
        if not isinstance(raw, dict) or not isinstance(raw.get("$type"), str):
            raise ValueError(f"{name}: malformed tagged operand {raw!r}")
        tag = raw["$type"]
        decode = _TAGS.get(tag)
        if decode is None:
            raise ValueError(f"{name}: unknown operand type tag {tag!r}")
        try:
            return decode(self, name, raw)
        except _Malformed:
            raise
        except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
            raise _Malformed(f"{name}: malformed {tag} operand {raw!r}: {exc}") from None

    def _enum_value(self, name: str, raw: dict[str, Any]) -> Any:
        _exact_keys(raw, frozenset({"$type", "class", "name"}), f"{name} enum operand")
        qualname, member = raw["class"], raw["name"]
        candidates = [
            c for c in _enum_classes(self._annotations[name]) if c.__qualname__ == qualname
        ]
        if not candidates:
            raise _Malformed(
                f"{name}: enum {qualname!r} is not named by the field's annotation "
                f"{self._annotations[name]!r}, so it cannot be decoded"
            )
        if not isinstance(member, str) or member not in candidates[0].__members__:
            raise _Malformed(f"{name}: {qualname} has no member {member!r}")
        return candidates[0][member]

    def _seq(self, name: str, raw: dict[str, Any]) -> list[Any]:
        return [self._value(name, v) for v in _payload(raw, list)]

    def _dict(self, name: str, raw: dict[str, Any]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for pair in _payload(raw, list):
            if not isinstance(pair, list) or len(pair) != 2:
                raise ValueError(f"{name}: dict operand entries must be [key, value] pairs")
            out[self._value(name, pair[0])] = self._value(name, pair[1])
        return out


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


def _payload(raw: dict[str, Any], expected: type, optional: frozenset[str] = frozenset()) -> Any:
    required = {"$type", "value"}
    if not required <= raw.keys() or not raw.keys() <= required | optional:
        raise ValueError(f"unexpected keys {sorted(raw)}")
    value = raw["value"]
    if not isinstance(value, expected) or isinstance(value, bool):
        raise ValueError(f"expected {expected.__name__}, got {value!r}")
    return value


def _float(_: _Decoder, name: str, raw: dict[str, Any]) -> float:
    text = _payload(raw, str)
    if text not in _NON_FINITE:
        raise ValueError(f"{name}: unknown float constant {text!r}")
    return _NON_FINITE[text]


def _datetime(_: _Decoder, name: str, raw: dict[str, Any]) -> _dt.datetime:
    value = _dt.datetime.fromisoformat(_payload(raw, str, frozenset({"tz", "fold"})))
    if "tz" in raw:
        key = raw["tz"]
        if not isinstance(key, str) or value.tzinfo is None:
            raise ValueError(f"time zone key {key!r} on {value!r}")
        try:
            zone = zoneinfo.ZoneInfo(key)
        except (zoneinfo.ZoneInfoNotFoundError, OSError) as exc:
            raise ValueError(f"unknown time zone {key!r}") from exc
        value = value.replace(tzinfo=zone)
    if "fold" in raw:
        if type(raw["fold"]) is not int or raw["fold"] != 1:
            raise ValueError(f"fold {raw['fold']!r}")
        value = value.replace(fold=1)
    return value


def _date(_: _Decoder, name: str, raw: dict[str, Any]) -> _dt.date:
    return _dt.date.fromisoformat(_payload(raw, str))


def _time(_: _Decoder, name: str, raw: dict[str, Any]) -> _dt.time:
    return _dt.time.fromisoformat(_payload(raw, str))


def _timedelta(_: _Decoder, name: str, raw: dict[str, Any]) -> _dt.timedelta:
    parts = _payload(raw, list)
    if len(parts) != 3 or any(type(p) is not int for p in parts):
        raise ValueError("expected [days, seconds, microseconds]")
    return _dt.timedelta(days=parts[0], seconds=parts[1], microseconds=parts[2])


def _decimal(_: _Decoder, name: str, raw: dict[str, Any]) -> decimal.Decimal:
    try:
        return decimal.Decimal(_payload(raw, str))
    except decimal.InvalidOperation:
        raise ValueError("not a decimal number") from None


def _fraction(_: _Decoder, name: str, raw: dict[str, Any]) -> fractions.Fraction:
    return fractions.Fraction(_payload(raw, str))


def _uuid(_: _Decoder, name: str, raw: dict[str, Any]) -> uuid.UUID:
    return uuid.UUID(_payload(raw, str))


def _bytes(_: _Decoder, name: str, raw: dict[str, Any]) -> bytes:
    try:
        return base64.b64decode(_payload(raw, str).encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise ValueError("not base64") from exc


def _tuple(d: _Decoder, name: str, raw: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(d._seq(name, raw))


def _list(d: _Decoder, name: str, raw: dict[str, Any]) -> list[Any]:
    return d._seq(name, raw)


_TAGS: dict[str, Callable[[_Decoder, str, dict[str, Any]], Any]] = {
    "float": _float,
    "datetime": _datetime,
    "date": _date,
    "time": _time,
    "timedelta": _timedelta,
    "decimal": _decimal,
    "fraction": _fraction,
    "uuid": _uuid,
    "bytes": _bytes,
    "enum": _Decoder._enum_value,
    "tuple": _tuple,
    "list": _list,
    "dict": _Decoder._dict,
}

"""JSON path builders: ``F.payload.json.path("profile.age").value(int) >= 18``.

A :class:`JsonPath` names a location inside a JSON-valued field (object keys only, no array
indexing); its methods build :class:`~sassi.predicate.FieldPredicate` leaves with
``op=LookupOp.JSON`` whose ``value`` is a frozen :class:`~sassi.predicate.JsonPredicate` body.
:class:`JsonValue` (from :meth:`JsonPath.value`) is a typed scalar at a path, with the same
builder surface as a field. All operand checking happens here, at construction.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from ._compare import BuilderBase, Comparisons, operand_error
from ._json_body import JsonKind, JsonPredicate, JsonTest
from ._nodes import FieldPredicate
from ._ops import LookupOp

__all__ = ["JsonPath", "JsonValue", "check_json_value"]

_SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_SEGMENT = 63

_SCALAR_KINDS: dict[type, JsonKind] = {
    int: JsonKind.NUMBER,
    float: JsonKind.NUMBER,
    str: JsonKind.STRING,
    bool: JsonKind.BOOL,
}


def check_json_value(value: Any, *, what: str = "JSON operand") -> Any:
    """Validate a JSON value and return a private copy (tuples become lists).

    :param value: ``None``, ``bool``, ``int``, ``float``, ``str``, or lists/tuples/dicts of them
        (dict keys must be ``str``).
    :param what: how error messages call the value.
    :returns: a deep copy made of plain ``dict``/``list`` containers.
    :raises ValueError: when a float inside is NaN or infinite.
    :raises TypeError: when something inside is not a JSON value.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{what}: non-finite float {value!r} is not a JSON number")
        return value
    if isinstance(value, (list, tuple)):
        return [check_json_value(v, what=what) for v in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{what}: JSON object keys must be str, not {k!r}")
            out[k] = check_json_value(v, what=what)
        return out
    raise TypeError(f"{what}: {value!r} ({type(value).__name__}) is not a JSON value")


def _parse_dotted(dotted: str) -> tuple[str, ...]:
    if not isinstance(dotted, str):
        raise TypeError(f"path() takes a dotted str, not {dotted!r}")
    segments = tuple(dotted.split("."))
    for seg in segments:
        if not _SEGMENT.fullmatch(seg) or len(seg) > _MAX_SEGMENT:
            raise ValueError(
                f"invalid JSON path {dotted!r}: segment {seg!r} must match "
                f"[A-Za-z_][A-Za-z0-9_]* and be at most {_MAX_SEGMENT} characters; "
                "use .key(...) or .path_segments(...) for arbitrary keys"
            )
    return segments


def _check_key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"JSON object keys are str, not {key!r} ({type(key).__name__})")
    return key


def _keys(keys: Iterable[str]) -> tuple[str, ...]:
    if isinstance(keys, str):
        raise TypeError(f"pass a list of keys, not the single str {keys!r}")
    return tuple(_check_key(k) for k in keys)


class JsonPath(BuilderBase):
    """A location inside a JSON field: ``F.payload.json`` is the root.

    Paths walk objects only; a non-object on the way, an absent key or a ``None`` field value
    make the path *missing*, and every predicate but :meth:`missing` is then false.

    :param field: the model attribute holding the JSON document.
    :param segments: object keys from the root.
    """

    __slots__ = ("field", "segments")

    def __init__(self, field: str, segments: tuple[str, ...] = ()) -> None:
        self.field = field
        self.segments = segments

    def __repr__(self) -> str:
        return f"JsonPath({self.field!r}, {self.segments!r})"

    def _describe(self) -> str:
        return f"{self.field}.json" + "".join(f".key({s!r})" for s in self.segments)

    def _plain(self, value: Any) -> Any:
        error = operand_error(self, value)
        if error is not None:
            raise error
        return value

    # Path building ---------------------------------------------------------------------------
    def path(self, dotted: str) -> JsonPath:
        """Replace the path with dotted identifier segments (``"profile.age"``).

        :raises ValueError: when a segment is not ``[A-Za-z_][A-Za-z0-9_]*`` or exceeds 63 chars.
        """
        return JsonPath(self.field, _parse_dotted(dotted))

    def key(self, key: str) -> JsonPath:
        """Append one literal object key (any string: dots, hyphens, digits, empty, Unicode)."""
        return JsonPath(self.field, (*self.segments, _check_key(key)))

    def path_segments(self, segments: Iterable[str]) -> JsonPath:
        """Replace the path with literal object keys."""
        return JsonPath(self.field, _keys(segments))

    def value(self, kind: type) -> JsonValue:
        """A typed scalar at this path: ``kind`` is ``int``, ``float``, ``str`` or ``bool``.

        :raises TypeError: for any other kind.
        """
        scalar = _SCALAR_KINDS.get(kind) if isinstance(kind, type) else None
        if scalar is None:
            raise TypeError(f"value() takes int, float, str or bool, not {kind!r}")
        return JsonValue(self, kind, scalar)

    # Predicates ------------------------------------------------------------------------------
    def _leaf(
        self,
        test: JsonTest,
        *,
        op: LookupOp | None = None,
        kind: JsonKind | None = None,
        operand: Any = None,
    ) -> FieldPredicate:
        body = JsonPredicate(self.segments, test, op, kind, operand)
        return FieldPredicate(self.field, LookupOp.JSON, body)

    def exists(self) -> FieldPredicate:
        """The path resolves (a JSON ``null`` there counts as existing)."""
        return self._leaf(JsonTest.EXISTS)

    def missing(self) -> FieldPredicate:
        """The path does not resolve."""
        return self._leaf(JsonTest.MISSING)

    def is_json_null(self) -> FieldPredicate:
        """The path resolves to JSON ``null``."""
        return self._leaf(JsonTest.IS_NULL)

    def is_not_json_null(self) -> FieldPredicate:
        """The path resolves to something other than ``null``."""
        return self._leaf(JsonTest.IS_NOT_NULL)

    def is_type(self, kind: str | JsonKind) -> FieldPredicate:
        """The resolved value has JSON kind ``kind`` (``"null" "bool" "number" "string"
        "array" "object"``; ``bool`` is never a number).

        :raises ValueError: for an unknown kind name.
        """
        try:
            json_kind = kind if isinstance(kind, JsonKind) else JsonKind(kind)
        except ValueError:
            names = ", ".join(k.value for k in JsonKind)
            raise ValueError(f"unknown JSON kind {kind!r}; expected one of {names}") from None
        return self._leaf(JsonTest.TYPE, kind=json_kind)

    def is_bool(self) -> FieldPredicate:
        """Shorthand for ``is_type("bool")``."""
        return self.is_type(JsonKind.BOOL)

    def is_number(self) -> FieldPredicate:
        """Shorthand for ``is_type("number")``."""
        return self.is_type(JsonKind.NUMBER)

    def is_string(self) -> FieldPredicate:
        """Shorthand for ``is_type("string")``."""
        return self.is_type(JsonKind.STRING)

    def is_array(self) -> FieldPredicate:
        """Shorthand for ``is_type("array")``."""
        return self.is_type(JsonKind.ARRAY)

    def is_object(self) -> FieldPredicate:
        """Shorthand for ``is_type("object")``."""
        return self.is_type(JsonKind.OBJECT)

    def has_key(self, key: str) -> FieldPredicate:
        """The resolved value is an object with key ``key``."""
        return self._leaf(JsonTest.HAS_KEY, operand=_check_key(key))

    def has_any_key(self, keys: Iterable[str]) -> FieldPredicate:
        """The resolved value is an object with at least one of ``keys``."""
        return self._leaf(JsonTest.HAS_ANY_KEY, operand=_keys(keys))

    def has_all_keys(self, keys: Iterable[str]) -> FieldPredicate:
        """The resolved value is an object with every one of ``keys``."""
        return self._leaf(JsonTest.HAS_ALL_KEYS, operand=_keys(keys))

    def eq_json(self, value: Any) -> FieldPredicate:
        """The resolved value equals ``value`` as JSON (objects ignore key order).

        :raises ValueError: when ``value`` holds a non-finite float.
        :raises TypeError: when ``value`` is not JSON.
        """
        return self._leaf(JsonTest.EQ_JSON, operand=check_json_value(self._plain(value)))

    def ne_json(self, value: Any) -> FieldPredicate:
        """The path resolves and its value differs from ``value`` (false when missing)."""
        return self._leaf(JsonTest.NE_JSON, operand=check_json_value(self._plain(value)))

    def array_contains(self, element: Any) -> FieldPredicate:
        """The resolved value is an array with an element equal (as JSON) to ``element``."""
        operand = check_json_value(self._plain(element))
        return self._leaf(JsonTest.ARRAY_CONTAINS, operand=operand)

    def _array_len(self, op: LookupOp, n: int) -> FieldPredicate:
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise TypeError(f"array lengths are non-negative ints, not {n!r}")
        return self._leaf(JsonTest.ARRAY_LEN, op=op, operand=n)

    def array_len_eq(self, n: int) -> FieldPredicate:
        """The resolved value is an array of exactly ``n`` elements."""
        return self._array_len(LookupOp.EQ, n)

    def array_len_gt(self, n: int) -> FieldPredicate:
        """The resolved value is an array of more than ``n`` elements."""
        return self._array_len(LookupOp.GT, n)

    def array_len_ge(self, n: int) -> FieldPredicate:
        """The resolved value is an array of at least ``n`` elements."""
        return self._array_len(LookupOp.GE, n)

    def array_len_lt(self, n: int) -> FieldPredicate:
        """The resolved value is an array of fewer than ``n`` elements."""
        return self._array_len(LookupOp.LT, n)

    def array_len_le(self, n: int) -> FieldPredicate:
        """The resolved value is an array of at most ``n`` elements."""
        return self._array_len(LookupOp.LE, n)


_ORDERING = frozenset({LookupOp.LT, LookupOp.LE, LookupOp.GT, LookupOp.GE})


class JsonValue(Comparisons):
    """A typed JSON scalar at a path: ``F.payload.json.path("age").value(int) >= 18``.

    Supports ``== != < <= > >=`` and ``eq ne lt le gt ge between in_ not_in``. Ordering and
    ``between`` are for numbers only. On a missing path or a value of another kind every
    predicate is false, ``!=`` and ``not_in`` included. ``bool`` is never a number.

    :param path: where the scalar lives.
    :param scalar_type: ``int``, ``float``, ``str`` or ``bool`` as given to ``value()``.
    :param kind: the matching :class:`~sassi.predicate.JsonKind`.
    """

    __slots__ = ("kind", "path", "scalar_type")

    def __init__(self, path: JsonPath, scalar_type: type, kind: JsonKind) -> None:
        self.path = path
        self.scalar_type = scalar_type
        self.kind = kind

    def __repr__(self) -> str:
        return f"JsonValue({self.path!r}, {self.scalar_type.__name__})"

    def _describe(self) -> str:
        return f"{self.path._describe()}.value({self.scalar_type.__name__})"

    def _operand(self, value: Any) -> Any:
        error = operand_error(self, value)
        if error is not None:
            raise error
        name = self.scalar_type.__name__
        if self.kind is JsonKind.NUMBER:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"value({name}) compares with numbers, not {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"value({name}): non-finite operand {value!r} is not allowed")
            return value
        if self.kind is JsonKind.STRING:
            if not isinstance(value, str):
                raise TypeError(f"value(str) compares with str, not {value!r}")
            return value
        if not isinstance(value, bool):
            raise TypeError(f"value(bool) compares with bool, not {value!r}")
        return value

    def _compare(self, op: LookupOp, operand: Any) -> FieldPredicate:
        """Validate and build one typed-scalar leaf (the single choke point).

        :raises TypeError: for an operand of the wrong kind or ordering on str/bool.
        :raises ValueError: for a non-finite float operand.
        """
        if op not in (LookupOp.BETWEEN, LookupOp.IN, LookupOp.NOT_IN):
            error = operand_error(self, operand)  # named before anything else
            if error is not None:
                raise error
        ordering = op in _ORDERING or op is LookupOp.BETWEEN
        if ordering and self.kind is not JsonKind.NUMBER:
            raise TypeError(
                f"value({self.scalar_type.__name__}) cannot be ordered; "
                "ordering and between() are for numbers only"
            )
        if op is LookupOp.BETWEEN:
            low, high = operand
            body = JsonPredicate(
                self.path.segments,
                JsonTest.BETWEEN,
                None,
                self.kind,
                (self._operand(low), self._operand(high)),
            )
        elif op in (LookupOp.IN, LookupOp.NOT_IN):
            if isinstance(operand, (str, bytes)) or not isinstance(operand, Iterable):
                raise TypeError(f"in_()/not_in() take an iterable of values, not {operand!r}")
            test = JsonTest.IN if op is LookupOp.IN else JsonTest.NOT_IN
            values = tuple(self._operand(v) for v in operand)
            body = JsonPredicate(self.path.segments, test, None, self.kind, values)
        else:
            body = JsonPredicate(
                self.path.segments, JsonTest.COMPARE, op, self.kind, self._operand(operand)
            )
        return FieldPredicate(self.path.field, LookupOp.JSON, body)

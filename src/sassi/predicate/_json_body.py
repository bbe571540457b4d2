"""The walkable body of a JSON predicate (``FieldPredicate(op=LookupOp.JSON).value``).

Builders live in :mod:`._json`; this module only holds the frozen data every walker reads
(evaluation, SQL lowering, the predicate wire).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Annotated, Any, TypeAlias, Union

from ._ops import LookupOp

__all__ = ["JSON", "JSON_MARKER", "JsonKind", "JsonPredicate", "JsonTest", "freeze_json"]


class _JsonMarker:
    """``Annotated`` metadata that tells sassi a field holds JSON."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "sassi.JSON"


JSON_MARKER = _JsonMarker()

# Deliberately not recursive (list["JSON"]): pydantic cannot build a schema for a recursive
# Annotated alias, and the element types are checked by the JSON predicates themselves.
JSON: TypeAlias = Annotated[
    Union[bool, int, float, str, list[Any], dict[str, Any], None],  # noqa: UP007
    JSON_MARKER,
]
"""The annotation for JSON-valued model fields: ``payload: sassi.JSON | None``."""


class JsonTest(enum.Enum):
    """What a JSON predicate tests at its path.

    Operand layout per test (``JsonPredicate.operand``):

    - ``EXISTS MISSING IS_NULL IS_NOT_NULL``: ``None``
    - ``TYPE``: ``None``; the kind is in ``JsonPredicate.kind`` (a :class:`JsonKind` value)
    - ``HAS_KEY``: the key ``str``; ``HAS_ANY_KEY`` / ``HAS_ALL_KEYS``: ``tuple[str, ...]``
    - ``EQ_JSON NE_JSON ARRAY_CONTAINS``: a JSON value (None/bool/int/float/str/list/dict)
    - ``ARRAY_LEN``: an ``int``; the comparison in ``JsonPredicate.op`` (EQ GT GE LT LE)
    - ``COMPARE``: one scalar; ``op`` is EQ NE LT LE GT GE; ``kind`` the scalar kind
    - ``IN`` / ``NOT_IN``: ``tuple`` of scalars; ``kind`` the scalar kind
    - ``BETWEEN``: ``(low, high)``; ``kind`` is ``"number"``
    """

    EXISTS = "exists"
    MISSING = "missing"
    IS_NULL = "is_json_null"
    IS_NOT_NULL = "is_not_json_null"
    TYPE = "is_type"
    HAS_KEY = "has_key"
    HAS_ANY_KEY = "has_any_key"
    HAS_ALL_KEYS = "has_all_keys"
    EQ_JSON = "eq_json"
    NE_JSON = "ne_json"
    ARRAY_CONTAINS = "array_contains"
    ARRAY_LEN = "array_len"
    COMPARE = "compare"
    IN = "in"
    NOT_IN = "not_in"
    BETWEEN = "between"


class JsonKind(enum.Enum):
    """JSON value kinds (for ``is_type``) and typed-scalar kinds (``number string bool``)."""

    NULL = "null"
    BOOL = "bool"
    NUMBER = "number"
    STRING = "string"
    ARRAY = "array"
    OBJECT = "object"


def freeze_json(value: Any) -> Any:
    """A hashable stand-in for a JSON value with JSON equality.

    Objects compare ignoring key order, ``bool`` never equals a number, ints and floats compare
    exactly (Python's own int/float comparison is exact).
    """
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", value)
    if value is None:
        return ("z",)
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, list | tuple):
        return ("a", tuple(freeze_json(v) for v in value))
    if isinstance(value, dict):
        return ("o", frozenset((k, freeze_json(v)) for k, v in value.items()))
    raise TypeError(f"not a JSON value: {value!r} ({type(value).__name__})")


@dataclass(frozen=True, slots=True, eq=False)
class JsonPredicate:
    """One JSON test at one path.

    :param path: object keys from the field's root (``()`` is the root itself).
    :param test: what is tested.
    :param op: the comparison for ``COMPARE`` and ``ARRAY_LEN``, else ``None``.
    :param kind: the JSON kind for ``TYPE``; the scalar kind for ``COMPARE IN NOT_IN BETWEEN``.
    :param operand: see :class:`JsonTest`.
    """

    path: tuple[str, ...]
    test: JsonTest
    op: LookupOp | None = None
    kind: JsonKind | None = None
    operand: Any = None

    def _key(self) -> tuple[Any, ...]:
        operand = self.operand
        if self.test in (JsonTest.IN, JsonTest.NOT_IN, JsonTest.BETWEEN):
            operand = tuple(freeze_json(v) for v in operand)
        elif self.test in (JsonTest.HAS_ANY_KEY, JsonTest.HAS_ALL_KEYS):
            operand = tuple(operand)
        elif self.test not in (JsonTest.HAS_KEY, JsonTest.ARRAY_LEN):
            operand = freeze_json(operand)
        return (self.path, self.test, self.op, self.kind, operand)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, JsonPredicate):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

"""PostgreSQL: jsonb, a strict SQL/JSON path, jsonb_typeof, numeric."""

from __future__ import annotations

import decimal
import json
import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, JSONPATH
from sqlalchemy.sql.elements import ColumnElement

from ..predicate import JsonKind, JsonPredicate, JsonTest, LookupOp
from ._dialect import (
    COMPARE,
    JSON_TYPES,
    Clause,
    as_clause,
    collate,
    compare_op,
    json_kind,
    no_null,
)
from ._operands import EXACT_FLOAT_INT

__all__ = ["pg_json", "pg_null_root", "pg_root_eq"]


def _pg_text_array(items: Sequence[str]) -> Any:
    """A ``text[]`` parameter."""
    return sa.cast(sa.literal(list(items), ARRAY(sa.Text)), ARRAY(sa.Text))


def _pg_jsonpath(path: Sequence[str]) -> str:
    """A strict SQL/JSON path walking object keys only: ``strict $."a"."b"``.

    Strict mode never unwraps arrays and fails (silently, see :func:`pg_json`) on a missing key
    or a non-object, which is exactly "missing". Every character of a key that is not an ASCII
    letter or digit is written as a ``\\u{hex}`` escape, so any key is safe.
    """
    keys = (
        "".join(c if c.isascii() and c.isalnum() else f"\\u{{{ord(c):x}}}" for c in key)
        for key in path
    )
    return "strict $" + "".join(f'."{key}"' for key in keys)


def _pg_json_literal(x: Any) -> Any:
    """``x`` as a ``jsonb`` parameter."""
    return sa.cast(sa.literal(_json_text(x), sa.Text), JSONB)


def _has_wide_number(x: Any) -> bool:
    """Whether a JSON operand holds a number where jsonb's decimal equality can differ from Python.

    Below 2**53 every integer is a double and a float's shortest decimal orders like the float;
    beyond it, ``json.dumps`` writes floats as decimals that are not their exact value.
    """
    if isinstance(x, bool):
        return False
    if isinstance(x, int | float):
        return abs(x) >= EXACT_FLOAT_INT
    if isinstance(x, list):
        return any(_has_wide_number(v) for v in x)
    if isinstance(x, dict):
        return any(_has_wide_number(v) for v in x.values())
    return False


def _has_bool_or_number(x: Any) -> bool:
    """Whether ``x`` holds a bool or a number anywhere."""
    if isinstance(x, bool | int | float):
        return True
    if isinstance(x, list | tuple):
        return any(_has_bool_or_number(v) for v in x)
    if isinstance(x, dict):
        return any(_has_bool_or_number(v) for v in x.values())
    return False


def _is_json(x: Any) -> bool:
    """Whether ``x`` is a JSON value (str keys, finite numbers)."""
    if x is None or isinstance(x, bool | int | str):
        return True
    if isinstance(x, float):
        return x == x
    if isinstance(x, list):
        return all(_is_json(v) for v in x)
    if isinstance(x, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in x.items())
    return False


def _pg_eq(v: Any, x: Any, python: bool = False) -> Clause:
    """NULL-free equality of the jsonb value ``v`` (NULL when missing) with the Python value ``x``.

    ``jsonb`` equality already ignores key order, compares numbers as decimals and never equates
    ``true`` with ``1``. Operands holding numbers beyond 2**53 are expanded structurally so each
    number goes through :func:`_pg_number`; so are operands compared with Python equality
    (``python=True``: ``True == 1``, and non-JSON values never equal), see :func:`_lite_eq`.
    """
    if python and not _is_json(x):
        return sa.false()
    if not _has_wide_number(x) and not (python and _has_bool_or_number(x)):
        return no_null(as_clause(v == _pg_json_literal(x)))
    t = sa.func.jsonb_typeof(v)
    if isinstance(x, bool):
        same = as_clause(v == _pg_json_literal(x))
        return no_null(sa.or_(same, _pg_eq(v, int(x), python)))
    if isinstance(x, int | float):
        number = sa.case((t == "number", sa.cast(v, sa.Numeric)))
        equal = sa.and_(t == "number", _pg_number(number, LookupOp.EQ, x))
        if python and x in (0, 1):
            equal = sa.or_(equal, v == _pg_json_literal(x == 1))
        return no_null(equal)
    if isinstance(x, list):
        length = sa.func.jsonb_array_length(sa.case((t == "array", v)))
        items = [_pg_eq(v.op("->", return_type=JSONB)(i), item, python) for i, item in enumerate(x)]
        return no_null(sa.and_(t == "array", length == len(x), *items))
    if isinstance(x, dict):
        keys = sa.func.jsonb_object_keys(
            sa.case((t == "object", v), else_=sa.cast(sa.literal("{}", sa.Text), JSONB))
        ).table_valued("value")
        count = sa.select(sa.func.count()).select_from(keys).scalar_subquery()
        members = [_pg_eq(v.op("->", return_type=JSONB)(k), item, python) for k, item in x.items()]
        return no_null(sa.and_(t == "object", count == len(x), *members))
    return no_null(as_clause(v == _pg_json_literal(x)))  # None or str


def _json_text(x: Any) -> str:
    """JSON text for an operand (floats in their shortest round-trip form)."""
    return json.dumps(x, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def pg_json(col: ColumnElement[Any], body: JsonPredicate) -> Clause:
    """PostgreSQL jsonb: resolve the path to a jsonb value (SQL NULL when missing), then test."""
    doc = sa.cast(col, JSONB)
    typeof = sa.func.jsonb_typeof
    path = body.path
    if not path:
        resolved: Any = sa.case((typeof(doc) != "null", doc))
    else:
        resolved = sa.func.jsonb_path_query_first(
            doc,
            sa.cast(sa.literal(_pg_jsonpath(path), sa.Text), JSONPATH),
            sa.cast(sa.literal("{}", sa.Text), JSONB),
            sa.true(),  # silent: a structural error (missing key, non-object) yields NULL
            type_=JSONB,
        )
    v: Any = sa.type_coerce(resolved, JSONB)
    test = body.test
    if test is JsonTest.EXISTS:
        return as_clause(v.is_not(None))
    if test is JsonTest.MISSING:
        return as_clause(v.is_(None))
    return no_null(_pg_test(body, v, typeof(v)))


def _pg_test(body: JsonPredicate, v: Any, t: Any) -> Clause:
    """PostgreSQL: the test of ``body`` on the resolved ``jsonb`` value ``v`` of type ``t``."""
    test = body.test
    if test is JsonTest.IS_NULL:
        return as_clause(t == "null")
    if test is JsonTest.IS_NOT_NULL:
        return as_clause(t != "null")
    if test is JsonTest.TYPE:
        return as_clause(t == JSON_TYPES[json_kind(body)][1])
    if test is JsonTest.HAS_KEY:
        return sa.and_(t == "object", v.has_key(body.operand))
    if test is JsonTest.HAS_ANY_KEY:
        keys = list(body.operand)
        return sa.and_(t == "object", sa.or_(*(v.has_key(k) for k in keys))) if keys else sa.false()
    if test is JsonTest.HAS_ALL_KEYS:
        return sa.and_(t == "object", *(v.has_key(k) for k in body.operand))
    if test is JsonTest.EQ_JSON:
        return _pg_eq(v, body.operand)
    if test is JsonTest.NE_JSON:
        return sa.and_(v.is_not(None), sa.not_(_pg_eq(v, body.operand)))
    if test is JsonTest.ARRAY_CONTAINS:
        arr = sa.case((t == "array", v), else_=sa.cast(sa.literal("[]", sa.Text), JSONB))
        elems = sa.func.jsonb_array_elements(arr).table_valued(sa.column("value", JSONB))
        found = sa.exists().select_from(elems).where(_pg_eq(elems.c.value, body.operand))
        return sa.and_(t == "array", found)
    if test is JsonTest.ARRAY_LEN:
        length = sa.func.jsonb_array_length(sa.case((t == "array", v)))
        return sa.and_(t == "array", compare_op(body)(length, body.operand))
    kind = json_kind(body)
    pg_kind = JSON_TYPES[kind][1]
    if kind is JsonKind.NUMBER:
        scalar: Any = sa.case((t == pg_kind, sa.cast(v, sa.Numeric)))
    elif kind is JsonKind.BOOL:
        scalar = sa.case((t == pg_kind, sa.cast(v, sa.Boolean)))
    else:
        text = v.op("#>>", return_type=sa.Text)(_pg_text_array(()))
        scalar = collate(sa.case((t == pg_kind, text)), "C")

    def operand(x: Any) -> Any:
        return sa.literal(x, sa.Boolean if kind is JsonKind.BOOL else sa.Text)

    def fits(x: Any) -> bool:
        if kind is JsonKind.NUMBER:
            return isinstance(x, int | float) and not isinstance(x, bool)
        return isinstance(x, bool) if kind is JsonKind.BOOL else isinstance(x, str)

    is_kind = t == pg_kind

    def cmp(op: LookupOp, x: Any) -> Clause:
        if not fits(x):
            return sa.true() if op is LookupOp.NE else sa.false()
        if kind is JsonKind.NUMBER:
            return _pg_number(scalar, op, x)
        return as_clause(COMPARE[op](scalar, operand(x)))

    if test is JsonTest.BETWEEN:
        low, high = body.operand
        return sa.and_(is_kind, cmp(LookupOp.GE, low), cmp(LookupOp.LE, high))
    if test is JsonTest.COMPARE:
        return sa.and_(is_kind, cmp(body.op or LookupOp.EQ, body.operand))
    if test is JsonTest.IN:
        hits = [cmp(LookupOp.EQ, x) for x in body.operand]
        return sa.and_(is_kind, sa.or_(*hits)) if hits else sa.false()
    if test is JsonTest.NOT_IN:
        return sa.and_(is_kind, *(cmp(LookupOp.NE, x) for x in body.operand))
    raise TypeError(f"unsupported JSON test {test!r}")


def _pg_number(d: Any, op: LookupOp, x: int | float) -> Clause:
    """``d op x`` for a jsonb number ``d`` (as ``numeric``), deciding as Python would.

    ``jsonb`` keeps the decimal a number was written as and forgets whether it was an int or a
    float; Python's ``json.dumps`` writes floats as their shortest round-trip decimal, which is
    not the float's exact value beyond 2**53. The answer is the sign of ``d - exact(x)``, except
    where ``d`` is the shortest decimal of a float that Python would compare differently: the
    float ``x`` itself (equal), or the doubles just below / above an integer ``x`` that no double
    equals (less / greater). Only an *integer* written exactly as such a decimal is misjudged.
    """
    exact = decimal.Decimal(x)
    overrides: list[tuple[decimal.Decimal, int]] = []
    if isinstance(x, float):
        overrides.append((decimal.Decimal(repr(x)), 0))
    else:
        try:
            f = float(x)
        except OverflowError:
            f = math.inf
        if math.isfinite(f) and int(f) == x:
            overrides.append((decimal.Decimal(repr(f)), 0))
        elif math.isfinite(f):
            lo, hi = (
                (math.nextafter(f, -math.inf), f) if f > x else (f, math.nextafter(f, math.inf))
            )
            overrides += [(decimal.Decimal(repr(lo)), -1), (decimal.Decimal(repr(hi)), 1)]

    def num(value: decimal.Decimal) -> Any:
        return sa.cast(sa.literal(str(value), sa.Text), sa.Numeric)

    overrides = [(o, v) for o, v in overrides if (o > exact) - (o < exact) != v]
    if not overrides:
        return as_clause(COMPARE[op](d, num(exact)))
    sign = sa.case(
        *((d == num(o), sa.literal(v)) for o, v in overrides), else_=sa.func.sign(d - num(exact))
    )
    return as_clause(COMPARE[op](sign, 0))


def pg_null_root(col: ColumnElement[Any]) -> Clause:
    """PostgreSQL: the JSON column is NULL or holds a JSON ``null`` root."""
    return sa.or_(col.is_(None), sa.func.jsonb_typeof(sa.cast(col, JSONB)) == "null")


def pg_root_eq(col: ColumnElement[Any], x: Any) -> Clause:
    """PostgreSQL: Python equality of the whole JSON document with ``x``."""
    return _pg_eq(sa.type_coerce(sa.cast(col, JSONB), JSONB), x, python=True)

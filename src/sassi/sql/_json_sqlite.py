"""SQLite JSON1: json_type()/json_extract() at the root, json_each() for every key step."""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from ..predicate import JsonKind, JsonPredicate, JsonTest, LookupOp
from ._dialect import COMPARE, JSON_TYPES, Clause, as_clause, compare_op, json_kind, no_null
from ._operands import INT64

__all__ = ["sqlite_json", "sqlite_null_root", "sqlite_root_eq"]


def _lite_text(value: str) -> Any:
    """A fixed SQL string literal (only for constant ASCII words such as ``'{}'``)."""
    return sa.literal_column(f"'{value}'")  # only for fixed ASCII words ('{}', '[]', 'null', ...)


def _lite_each(json_text: Any) -> Any:
    """``json_each(json_text)`` as a table with ``key``, ``value`` and ``type`` columns."""
    return sa.func.json_each(json_text).table_valued("key", "value", "type")


def _lite_container(kind: str, t: Any, v: Any) -> Any:
    """``v`` when its json type is ``kind`` (object/array), else an empty one of that kind."""
    return sa.case((t == kind, v), else_=_lite_text("{}" if kind == "object" else "[]"))


def _lite_number(v: Any, op: LookupOp, x: int | float) -> Clause:
    """``v op x`` for an SQLite number (INTEGER and REAL compare exactly with each other)."""
    cmp = COMPARE[op]
    if isinstance(x, float) or INT64[0] <= x <= INT64[1]:
        return as_clause(cmp(v, x))
    # x does not fit SQLite's INTEGER: an INTEGER v is on the near side of it; a REAL v is
    # compared with the doubles around x (x itself is not a double unless float(x) == x).
    below = x > 0  # every INTEGER v is below a huge positive x
    as_int = {
        LookupOp.EQ: False,
        LookupOp.NE: True,
        LookupOp.LT: below,
        LookupOp.LE: below,
        LookupOp.GT: not below,
        LookupOp.GE: not below,
    }[op]
    try:
        f = float(x)
    except OverflowError:
        f = math.inf if x > 0 else -math.inf
    if math.isfinite(f) and int(f) == x:
        as_real: Clause = as_clause(cmp(v, f))
    else:
        lo, hi = (math.nextafter(f, -math.inf), f) if f > x else (f, math.nextafter(f, math.inf))
        as_real = {
            LookupOp.EQ: sa.false(),
            LookupOp.NE: sa.true(),
            LookupOp.LT: v <= lo,
            LookupOp.LE: v <= lo,
            LookupOp.GT: v >= hi,
            LookupOp.GE: v >= hi,
        }[op]
    is_int = sa.func.typeof(v) == "integer"
    return sa.or_(sa.and_(is_int, sa.true() if as_int else sa.false()), sa.and_(~is_int, as_real))


def _lite_eq(t: Any, v: Any, x: Any, python: bool = False) -> Clause:
    """Structural equality of the SQLite JSON node ``(t, v)`` with the Python value ``x``.

    JSON equality (``python=False``): ``true`` is never a number. Python equality
    (``python=True``, for plain ``==`` on a JSON column): ``True == 1`` and ``False == 0``, and
    anything that is not a JSON value (a tuple, a set, a non-str key) never equals.
    """
    if x is None:
        return as_clause(t == "null")
    if isinstance(x, bool):
        same = as_clause(t == ("true" if x else "false"))
        return sa.or_(same, _lite_eq(t, v, int(x))) if python else same
    if isinstance(x, int | float):
        if x != x:  # NaN equals nothing
            return sa.false()
        number = sa.and_(t.in_(("integer", "real")), _lite_number(v, LookupOp.EQ, x))
        if python and x in (0, 1):
            return sa.or_(number, t == ("true" if x == 1 else "false"))
        return number
    if isinstance(x, str):
        return sa.and_(t == "text", v == x)
    if isinstance(x, list):
        arr = _lite_container("array", t, v)
        parts: list[Clause] = [t == "array", sa.func.json_array_length(arr) == len(x)]
        for i, item in enumerate(x):
            e = _lite_each(arr)
            item_eq = _lite_eq(e.c.type, e.c.value, item, python)
            parts.append(sa.exists().select_from(e).where(e.c.key == i, item_eq))
        return sa.and_(*parts)
    if isinstance(x, dict) and all(isinstance(k, str) for k in x):
        obj = _lite_container("object", t, v)
        size = _lite_each(obj)
        count = sa.select(sa.func.count()).select_from(size).scalar_subquery()
        parts = [t == "object", count == len(x)]
        for key, item in x.items():
            e = _lite_each(obj)
            item_eq = _lite_eq(e.c.type, e.c.value, item, python)
            parts.append(sa.exists().select_from(e).where(e.c.key == key, item_eq))
        return sa.and_(*parts)
    if python:
        return sa.false()
    raise TypeError(f"not a JSON value: {x!r}")


def _lite_has_key(t: Any, v: Any, key: str) -> Clause:
    """SQLite: the node is an object with ``key``."""
    e = _lite_each(_lite_container("object", t, v))
    return sa.and_(t == "object", sa.exists().select_from(e).where(e.c.key == key))


def _lite_test(body: JsonPredicate, t: Any, v: Any) -> Clause:
    """The test of ``body`` on a resolved node: ``t`` its json_type, ``v`` its SQL value."""
    test = body.test
    if test is JsonTest.EXISTS:
        return sa.true()
    if test is JsonTest.IS_NULL:
        return as_clause(t == "null")
    if test is JsonTest.IS_NOT_NULL:
        return as_clause(t != "null")
    if test is JsonTest.TYPE:
        return as_clause(t.in_(JSON_TYPES[json_kind(body)][0]))
    if test is JsonTest.HAS_KEY:
        return _lite_has_key(t, v, body.operand)
    if test is JsonTest.HAS_ANY_KEY:
        keys = list(body.operand)
        if not keys:
            return sa.false()
        e = _lite_each(_lite_container("object", t, v))
        return sa.and_(t == "object", sa.exists().select_from(e).where(e.c.key.in_(keys)))
    if test is JsonTest.HAS_ALL_KEYS:
        return sa.and_(t == "object", *(_lite_has_key(t, v, k) for k in body.operand))
    if test is JsonTest.EQ_JSON:
        return _lite_eq(t, v, body.operand)
    if test is JsonTest.NE_JSON:
        return sa.not_(_lite_eq(t, v, body.operand))
    if test is JsonTest.ARRAY_CONTAINS:
        e = _lite_each(_lite_container("array", t, v))
        found = sa.exists().select_from(e).where(_lite_eq(e.c.type, e.c.value, body.operand))
        return sa.and_(t == "array", found)
    if test is JsonTest.ARRAY_LEN:
        length = sa.func.json_array_length(_lite_container("array", t, v))
        return sa.and_(t == "array", compare_op(body)(length, body.operand))
    kind = json_kind(body)
    is_kind = t.in_(JSON_TYPES[kind][0])
    if test is JsonTest.BETWEEN:
        low, high = body.operand
        return sa.and_(
            is_kind, _lite_number(v, LookupOp.GE, low), _lite_number(v, LookupOp.LE, high)
        )
    if test is JsonTest.COMPARE:
        return sa.and_(is_kind, _lite_scalar(kind, t, v, body.op or LookupOp.EQ, body.operand))
    if test in (JsonTest.IN, JsonTest.NOT_IN):
        if test is JsonTest.IN:
            hits = [_lite_scalar(kind, t, v, LookupOp.EQ, x) for x in body.operand]
            return sa.and_(is_kind, sa.or_(*hits)) if hits else sa.false()
        misses = [_lite_scalar(kind, t, v, LookupOp.NE, x) for x in body.operand]
        return sa.and_(is_kind, *misses)
    raise TypeError(f"unsupported JSON test {test!r}")


def _lite_scalar(kind: JsonKind, t: Any, v: Any, op: LookupOp, x: Any) -> Clause:
    """``v op x`` for a node already known to be of scalar ``kind``."""
    if kind is JsonKind.NUMBER:
        if isinstance(x, bool) or not isinstance(x, int | float):
            return sa.true() if op is LookupOp.NE else sa.false()
        return _lite_number(v, op, x)
    if kind is JsonKind.BOOL:
        if not isinstance(x, bool) or op not in (LookupOp.EQ, LookupOp.NE):
            return sa.true() if op is LookupOp.NE else sa.false()
        return as_clause(t == ("true" if x == (op is LookupOp.EQ) else "false"))
    if not isinstance(x, str):
        return sa.true() if op is LookupOp.NE else sa.false()
    return as_clause(COMPARE[op](v, x))


def sqlite_json(col: ColumnElement[Any], body: JsonPredicate) -> Clause:
    """SQLite JSON1: the root through json_type/json_extract, each key through json_each."""
    test = body.test
    if not body.path:
        t = sa.func.json_type(col)
        v = sa.func.json_extract(col, "$")
        found: Clause = sa.and_(t.is_not(None), t != "null")
        if test is JsonTest.MISSING:
            return no_null(sa.not_(found))
        if test is JsonTest.EXISTS:
            return no_null(found)
        return no_null(sa.and_(found, _lite_test(body, t, v)))

    path = body.path
    leaf = body if test is not JsonTest.MISSING else JsonPredicate(path, JsonTest.EXISTS)

    def step(container: Any, i: int) -> Clause:
        e = _lite_each(container)
        if i == len(path) - 1:
            cond = _lite_test(leaf, e.c.type, e.c.value)
        else:
            cond = sa.and_(
                e.c.type == "object", step(_lite_container("object", e.c.type, e.c.value), i + 1)
            )
        return sa.exists().select_from(e).where(e.c.key == path[i], cond)

    root_type = sa.func.json_type(col)
    resolved = step(sa.case((root_type == "object", col), else_=_lite_text("{}")), 0)
    return sa.not_(resolved) if test is JsonTest.MISSING else resolved


def sqlite_null_root(col: ColumnElement[Any]) -> Clause:
    """SQLite: the JSON column is NULL or holds a JSON ``null`` root."""
    return sa.or_(col.is_(None), sa.func.json_type(col) == "null")


def sqlite_root_eq(col: ColumnElement[Any], x: Any) -> Clause:
    """SQLite: Python equality of the whole JSON document with ``x``."""
    return no_null(_lite_eq(sa.func.json_type(col), sa.func.json_extract(col, "$"), x, True))

"""Property: ``loads(M, dumps(p)) == p`` for generated trees over every op and operand type."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import math
import uuid
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import sassi
from sassi.predicate import And, FieldPredicate, Not, Or, Predicate, Xor, dumps, loads
from strategies import Row, predicates, row_lists


class Tier(enum.Enum):
    FREE = 0
    PRO = 1
    ENTERPRISE = 2


@dataclass(frozen=True)
class Doc:
    id: int
    n: int | None
    x: float | None
    s: str | None
    b: bool | None
    tier: Tier | None
    when: dt.datetime | None
    day: dt.date | None
    amount: decimal.Decimal | None
    ref: uuid.UUID | None
    payload: sassi.JSON | None = None


F = sassi.fields(Doc)

texts = st.text(max_size=8)
# hypothesis draws -0.0 and integral floats rarely; the wire must keep both exactly
EDGE_FLOATS = st.sampled_from([-0.0, 0.0, 1.0, -2.0, 1e300, 5e-324])
floats = EDGE_FLOATS | st.floats(allow_nan=False, width=64)
finite = EDGE_FLOATS | st.floats(allow_nan=False, allow_infinity=False)
datetimes = st.one_of(
    st.datetimes(),
    st.datetimes(timezones=st.just(dt.UTC)),
    st.datetimes(timezones=st.timezones()),
)
decimals = st.decimals(allow_nan=False, places=None)

SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "n": st.integers(min_value=-(2**70), max_value=2**70),
    "x": st.one_of(floats, st.integers(min_value=-5, max_value=5)),
    "s": texts,
    "b": st.booleans(),
    "tier": st.sampled_from(Tier),
    "when": datetimes,
    "day": st.dates(),
    "amount": decimals,
    "ref": st.uuids(),
}
ORDERED = ["n", "x", "s", "day", "amount"]
STRING_OPS = ["contains", "icontains", "startswith", "istartswith", "endswith", "iendswith"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | finite | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def field_leaves(draw: st.DrawFn) -> Predicate:
    name = draw(st.sampled_from(sorted(SCALARS)))
    value = SCALARS[name]
    field = getattr(F, name)
    present = draw(st.booleans())
    builder = field.present() if present else field
    ops = ["eq", "ne", "in_", "not_in"]
    if name in ORDERED:
        ops += ["lt", "le", "gt", "ge", "between"]
    if not present:
        ops += ["is_null", "is_not_null"]
        if name == "s":
            ops += [*STRING_OPS, "iexact"]
    op = draw(st.sampled_from(ops))
    method = getattr(builder, op)
    if op in ("in_", "not_in"):
        values = draw(st.lists(value if present else value | st.none(), max_size=4))
        result: Predicate = method(values)
    elif op == "between":
        result = method(draw(value), draw(value))
    elif op in ("is_null", "is_not_null"):
        result = method()
    elif op in STRING_OPS or op == "iexact":
        result = method(draw(texts))
    else:
        result = method(draw(value if present or op not in ("eq", "ne") else value | st.none()))
    return result


@st.composite
def json_leaves(draw: st.DrawFn) -> Predicate:
    keys = draw(st.lists(texts, max_size=3))
    at = F.payload.json.path_segments(keys)
    test = draw(
        st.sampled_from(
            [
                "exists",
                "missing",
                "is_json_null",
                "is_not_json_null",
                "is_type",
                "has_key",
                "has_any_key",
                "has_all_keys",
                "eq_json",
                "ne_json",
                "array_contains",
                "array_len",
                "number",
                "string",
                "bool",
            ]
        )
    )
    if test == "is_type":
        kind = draw(st.sampled_from(["null", "bool", "number", "string", "array", "object"]))
        return at.is_type(kind)
    if test == "has_key":
        return at.has_key(draw(texts))
    if test in ("has_any_key", "has_all_keys"):
        return getattr(at, test)(draw(st.lists(texts, max_size=3)))  # type: ignore[no-any-return]
    if test in ("eq_json", "ne_json", "array_contains"):
        return getattr(at, test)(draw(json_values))  # type: ignore[no-any-return]
    if test == "array_len":
        op = draw(st.sampled_from(["eq", "gt", "ge", "lt", "le"]))
        return getattr(at, f"array_len_{op}")(draw(st.integers(0, 2**40)))  # type: ignore[no-any-return]
    if test == "number":
        scalar = at.value(draw(st.sampled_from([int, float])))
        numbers = st.integers() | finite
        op = draw(st.sampled_from(["eq", "ne", "lt", "le", "gt", "ge", "between", "in_", "not_in"]))
        if op == "between":
            return scalar.between(draw(numbers), draw(numbers))
        if op in ("in_", "not_in"):
            return getattr(scalar, op)(draw(st.lists(numbers, max_size=3)))  # type: ignore[no-any-return]
        return getattr(scalar, op)(draw(numbers))  # type: ignore[no-any-return]
    kind_type, values = (str, texts) if test == "string" else (bool, st.booleans())
    scalar = at.value(kind_type)
    op = draw(st.sampled_from(["eq", "ne", "in_", "not_in"]))
    if op in ("in_", "not_in"):
        return getattr(scalar, op)(draw(st.lists(values, max_size=3)))  # type: ignore[no-any-return]
    return getattr(scalar, op)(draw(values))  # type: ignore[no-any-return]


leaves = st.one_of(
    field_leaves(), json_leaves(), st.sampled_from([sassi.TRUE, sassi.FALSE, And(()), Or(())])
)


def _extend(inner: st.SearchStrategy[Predicate]) -> st.SearchStrategy[Predicate]:
    pairs = st.tuples(inner, inner)
    return st.one_of(
        st.lists(inner, max_size=4).map(lambda cs: And(tuple(cs))),
        st.lists(inner, max_size=4).map(lambda cs: Or(tuple(cs))),
        inner.map(Not),
        inner.map(lambda p: ~p),
        pairs.map(lambda lr: Xor(*lr)),
        pairs.map(lambda lr: lr[0] & lr[1]),
        pairs.map(lambda lr: lr[0] | lr[1]),
        pairs.map(lambda lr: lr[0] ^ lr[1]),
    )


trees = st.recursive(leaves, _extend, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(trees)
def test_round_trip(p: Predicate) -> None:
    text = dumps(p, model=Doc)
    json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(AssertionError(c)))
    back = loads(Doc, text)
    assert back == p
    assert dumps(back, model=Doc) == text


def _walk(p: Predicate) -> list[FieldPredicate]:
    if isinstance(p, FieldPredicate):
        return [p]
    if isinstance(p, And | Or):
        return [leaf for c in p.children for leaf in _walk(c)]
    if isinstance(p, Not):
        return _walk(p.child)
    if isinstance(p, Xor):
        return _walk(p.left) + _walk(p.right)
    return []


@settings(max_examples=200, deadline=None)
@given(trees)
def test_operand_types_survive_exactly(p: Predicate) -> None:
    """Equality alone would hide int/float or 0.0/-0.0 swaps: compare types and signs too."""

    def flatten(v: Any) -> list[Any]:
        if isinstance(v, tuple | list):
            return [x for item in v for x in flatten(item)]
        if isinstance(v, dict):
            return [x for k, item in v.items() for x in [k, *flatten(item)]]
        if hasattr(v, "operand") and hasattr(v, "test"):
            return flatten(v.operand)
        return [v]

    back = loads(Doc, dumps(p))
    for old, new in zip(_walk(p), _walk(back), strict=True):
        for a, b in zip(flatten(old.value), flatten(new.value), strict=True):
            assert type(a) is type(b), (a, b)
            if isinstance(a, float) and not math.isnan(a):
                assert math.copysign(1.0, a) == math.copysign(1.0, b)
            if isinstance(a, dt.datetime):
                assert a.utcoffset() == b.utcoffset() and a.fold == b.fold


# ---------------------------------------------------------------- the shared strategies (Row)


def _has_nan(p: Predicate) -> bool:
    def nan_in(v: Any) -> bool:
        if isinstance(v, float):
            return math.isnan(v)
        if isinstance(v, tuple | list):
            return any(nan_in(x) for x in v)
        if isinstance(v, dict):
            return any(nan_in(x) for x in v.values())
        return hasattr(v, "operand") and nan_in(v.operand)

    return any(nan_in(leaf.value) for leaf in _walk(p))


@settings(max_examples=200, deadline=None)
@given(predicates(max_leaves=8), row_lists())
def test_shared_predicates_round_trip_and_evaluate_the_same(p: Predicate, items: list[Row]) -> None:
    back = loads(Row, dumps(p, model=Row))
    if not _has_nan(p):  # NaN != NaN, so only a NaN-free tree can compare equal
        assert back == p
    assert [back(r) for r in items] == [p(r) for r in items]

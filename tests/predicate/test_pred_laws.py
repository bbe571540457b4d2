"""Algebra laws by hypothesis: the interpreter, the compiled evaluator and the compiled scan
agree on generated trees over every op and on awkward data (None, NaN, non-ASCII, ``%_\\``,
JSON documents); flattening, De Morgan, double negation and Xor keep their meaning; nodes hash
and compare structurally; repr reads back."""

from __future__ import annotations

import dataclasses
import decimal
import math
import operator
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import sassi
from sassi.predicate import (
    FALSE,
    TRUE,
    And,
    Const,
    FieldPredicate,
    JsonPredicate,
    JsonTest,
    LookupOp,
    Not,
    Or,
    Predicate,
    Xor,
)
from sassi.predicate._codegen import compile_scan
from sassi.predicate._evaluate import interpret
from strategies import ROW_FIELDS, Row, leaves, predicates, row_lists, rows

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def truth(p: Predicate, row: Row) -> bool:
    return interpret(p, row)


def clone(p: Predicate) -> Predicate:
    """A structurally equal tree made of fresh node objects (no shared caches)."""
    match p:
        case FieldPredicate(field, op, value, present):
            return FieldPredicate(field, op, value, present)
        case And(children):
            return And(tuple(clone(c) for c in children))
        case Or(children):
            return Or(tuple(clone(c) for c in children))
        case Not(child):
            return Not(clone(child))
        case Xor(left, right):
            return Xor(clone(left), clone(right))
        case Const(value):
            return Const(value)
    raise AssertionError(p)


@SETTINGS
@given(predicates(max_leaves=10), row_lists(max_size=12))
def test_interpret_equals_compile_equals_scan(p: Predicate, data: list[Row]) -> None:
    expected = [r for r in data if interpret(p, r)]
    assert [r for r in data if p.compile()(r)] == expected
    assert [r for r in data if p.evaluate(r)] == expected
    assert [r for r in data if p(r)] == expected
    assert compile_scan(p)(data) == expected
    assert compile_scan(p)(iter(data)) == expected
    fresh = clone(p)  # compile_scan first, then compile, on a node without caches
    assert compile_scan(fresh)(tuple(data)) == expected
    assert [r for r in data if fresh.compile()(r)] == expected


@SETTINGS
@given(leaves(), rows())
def test_every_leaf_returns_a_real_bool(p: Predicate, row: Row) -> None:
    assert type(p.evaluate(row)) is bool
    assert type(interpret(p, row)) is bool


@SETTINGS
@given(predicates(max_leaves=4), predicates(max_leaves=4), predicates(max_leaves=4), rows())
def test_flattening_preserves_meaning(a: Predicate, b: Predicate, c: Predicate, row: Row) -> None:
    left = (a & b) & c
    right = a & (b & c)
    flat = And((a, b, c))
    assert truth(left, row) == truth(right, row) == truth(flat, row)
    assert truth(left, row) == (truth(a, row) and truth(b, row) and truth(c, row))
    ol, orr, of = (a | b) | c, a | (b | c), Or((a, b, c))
    assert truth(ol, row) == truth(orr, row) == truth(of, row)
    assert truth(ol, row) == (truth(a, row) or truth(b, row) or truth(c, row))
    if not isinstance(a, And) and not isinstance(b, And) and not isinstance(c, And):
        assert left == right == flat
    if not isinstance(a, Or) and not isinstance(b, Or) and not isinstance(c, Or):
        assert ol == orr == of


@SETTINGS
@given(predicates(max_leaves=5), predicates(max_leaves=5), rows())
def test_de_morgan(a: Predicate, b: Predicate, row: Row) -> None:
    assert truth(~(a & b), row) == truth(~a | ~b, row)
    assert truth(~(a | b), row) == truth(~a & ~b, row)
    assert (~(a & b)).evaluate(row) == (~a | ~b).evaluate(row)
    assert (~(a | b)).evaluate(row) == (~a & ~b).evaluate(row)


@SETTINGS
@given(predicates(max_leaves=6), rows())
def test_negation(p: Predicate, row: Row) -> None:
    assert ~~p == p
    assert (~p).evaluate(row) is (not p.evaluate(row))
    assert (~~p).evaluate(row) is p.evaluate(row)
    assert Not(Not(p)).evaluate(row) is p.evaluate(row)


@SETTINGS
@given(predicates(max_leaves=5), predicates(max_leaves=5), rows())
def test_xor_truth(a: Predicate, b: Predicate, row: Row) -> None:
    expected = a.evaluate(row) != b.evaluate(row)
    assert (a ^ b).evaluate(row) is expected
    assert truth(a ^ b, row) is expected
    assert truth((a & ~b) | (~a & b), row) is expected


@SETTINGS
@given(predicates(max_leaves=8))
def test_nodes_hash_and_compare_structurally(p: Predicate) -> None:
    q = clone(p)
    assert q == p
    assert hash(q) == hash(p)
    assert {p: 1}[q] == 1
    p.compile()
    assert q == p and hash(q) == hash(p)
    assert (p & TRUE) != p
    assert (p & TRUE) == (q & TRUE)


@SETTINGS
@given(predicates(max_leaves=8, sql_safe=True))
def test_repr_reads_back(p: Predicate) -> None:
    namespace: dict[str, Any] = {
        "F": ROW_FIELDS,
        "TRUE": TRUE,
        "FALSE": FALSE,
        "And": And,
        "Or": Or,
        "Not": Not,
        "inf": math.inf,
    }
    assert eval(repr(p), namespace) == p, repr(p)


@SETTINGS
@given(rows(), st.sampled_from(["age", "score", "name", "flag"]))
def test_null_rules_on_optional_fields(row: Row, name: str) -> None:
    field = ROW_FIELDS[name]
    value = getattr(row, name)
    assert field.is_null().evaluate(row) is (value is None)
    assert field.is_not_null().evaluate(row) is (value is not None)
    assert (field == None).evaluate(row) is (value is None)  # noqa: E711
    assert (field != None).evaluate(row) is (value is not None)  # noqa: E711
    assert field.in_([]).evaluate(row) is False
    assert field.not_in([]).evaluate(row) is True
    if value is None:
        assert field.present().not_in([]).evaluate(row) is False


def test_strategies_cover_every_op() -> None:
    """The generators used above reach every LookupOp, present=True, and every JSON test."""
    seen: set[object] = set()

    @settings(
        max_examples=1500,
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(leaves())
    def collect(p: Predicate) -> None:
        assert isinstance(p, FieldPredicate)
        seen.add(p.op)
        seen.add(("present", p.present))
        if isinstance(p.value, JsonPredicate):
            seen.add(p.value.test)

    collect()
    missing = {*LookupOp, *JsonTest, ("present", True), ("present", False)} - seen
    assert not missing
    assert isinstance(sassi.fields(Row).payload.json.exists(), FieldPredicate)


# Untyped values: runtime type clashes must be handled identically by every evaluator ----------


@dataclasses.dataclass(frozen=True)
class Loose:
    id: int
    value: Any = None


LOOSE = sassi.fields(Loose)

_any_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.5, float("nan"), -0.0, decimal.Decimal("1"), decimal.Decimal("NaN")]),
    st.text(alphabet="aAé%_", max_size=3),
    st.lists(st.integers(0, 2), max_size=2),
    st.dictionaries(st.sampled_from("ab"), st.integers(0, 2), max_size=2),
    st.tuples(st.integers(0, 2)),
)


def _loose_leaves() -> st.SearchStrategy[Predicate]:
    v = LOOSE.value
    scalar_methods = ["eq", "ne", "lt", "le", "gt", "ge"]
    ordered = _any_values.filter(lambda x: not isinstance(x, (list, dict)))
    needles = st.text(alphabet="aAé%_", max_size=2)
    present = ordered.filter(lambda x: x is not None)
    choices: list[st.SearchStrategy[Predicate]] = [
        ordered.map(getattr(v, m)) for m in scalar_methods
    ]
    choices += [present.map(getattr(v.present(), m)) for m in scalar_methods]
    choices += [
        st.tuples(ordered, ordered).map(lambda lh: v.between(*lh)),
        st.lists(_any_values, max_size=3).map(v.in_),
        st.lists(_any_values, max_size=3).map(v.not_in),
        st.just(v.is_null()),
        st.just(v.is_not_null()),
    ]
    choices += [
        needles.map(getattr(v, m))
        for m in ("contains", "icontains", "startswith", "iendswith", "iexact")
    ]
    choices.append(st.sampled_from(["a", "b"]).map(lambda k: v.json.has_key(k)))
    return st.one_of(choices)


@SETTINGS
@given(
    st.recursive(
        _loose_leaves(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3).map(lambda cs: And(tuple(cs))),
            st.lists(inner, max_size=3).map(lambda cs: Or(tuple(cs))),
            inner.map(operator.invert),
            st.tuples(inner, inner).map(lambda lr: lr[0] ^ lr[1]),
        ),
        max_leaves=5,
    ),
    st.lists(_any_values, max_size=8),
)
def test_untyped_values_agree_across_evaluators(p: Predicate, values: list[Any]) -> None:
    items = [Loose(i, v) for i, v in enumerate(values)]
    expected = [o for o in items if interpret(p, o)]
    assert [o for o in items if p.evaluate(o)] == expected
    assert compile_scan(p)(items) == expected
    assert compile_scan(clone(p))(iter(items)) == expected


def _json_numbers(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _json_numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _json_numbers(v)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [value]
    return []


@SETTINGS
@given(rows(sql_safe=True), predicates(max_leaves=4, sql_safe=True))
def test_sql_safe_strategies_stay_representable(row: Row, p: Predicate) -> None:
    numbers = [row.age, row.score, *_json_numbers(row.payload)]
    for n in numbers:
        if isinstance(n, float):
            assert math.isfinite(n)
        elif isinstance(n, int):
            assert -(2**63) <= n < 2**63
    assert row.name is None or "\x00" not in row.name
    for text in [repr(p)]:
        assert "nan" not in text and "inf" not in text

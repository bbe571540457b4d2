"""Evaluation semantics (SPEC section 2; reference contracts 3-11; predicate_basic.rs and
predicate_optional_fields.rs analogues). Every check runs through all three evaluators."""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import sassi
from sassi.predicate import FALSE, TRUE, And, FieldPredicate, LookupOp, Or, Predicate
from sassi.predicate._codegen import compile_scan, generate_source
from sassi.predicate._evaluate import fold_ascii, interpret


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    name: str
    age: int
    nickname: str | None = None
    year: int | None = None
    score: float | None = None


@dataclass
class Loose:  # no slots, Any-typed values
    id: int
    value: Any = None


F = sassi.fields(Person)
L = sassi.fields(Loose)

ALICE = Person(1, "Alice", 30, nickname="Al", year=2020, score=1.5)
BOB = Person(2, "bob", 20)
CAROL = Person(3, "Carol", 17, nickname="C%_\\", year=1999, score=float("nan"))
PEOPLE = [ALICE, BOB, CAROL]


def check(p: Predicate, obj: Any) -> bool:
    """Evaluate through interpret, evaluate(), __call__ and the scan; they must agree."""
    expected = interpret(p, obj)
    assert p.evaluate(obj) is expected
    assert p(obj) is expected
    assert p.compile()(obj) is expected
    assert compile_scan(p)([obj]) == ([obj] if expected else [])
    return expected


def matching(p: Predicate, objs: list[Any] = PEOPLE) -> list[int]:
    ids = [o.id for o in objs if check(p, o)]
    assert [o.id for o in compile_scan(p)(objs)] == ids
    assert [o.id for o in compile_scan(p)(iter(objs))] == ids
    return ids


# predicate_basic.rs -------------------------------------------------------------------------


def test_eq_predicate_matches() -> None:
    assert matching(F.name == "Alice") == [1]
    assert matching(F.name.eq("bob")) == [2]


def test_neq_predicate_matches() -> None:
    assert matching(F.name != "Alice") == [2, 3]
    assert matching(F.age.ne(20)) == [1, 3]


def test_gt_gte_lt_lte_boundaries() -> None:
    assert matching(F.age > 20) == [1]
    assert matching(F.age >= 20) == [1, 2]
    assert matching(F.age < 20) == [3]
    assert matching(F.age <= 17) == [3]
    assert matching(F.age.gt(30)) == []
    assert matching(F.age.ge(30)) == [1]
    assert matching(F.age.lt(17)) == []
    assert matching(F.age.le(30)) == [1, 2, 3]
    # reflected operators: 18 <= F.age is F.age >= 18
    assert (F.age >= 18) == (F.age >= 18)
    assert (F.age < 18) == (F.age < 18)


def test_between_inclusive_both_ends() -> None:
    assert matching(F.age.between(17, 20)) == [2, 3]
    assert matching(F.age.between(20, 30)) == [1, 2]
    assert matching(F.age.between(21, 29)) == []
    assert matching(F.age.between(30, 17)) == []


def test_in_and_not_in() -> None:
    assert matching(F.age.in_([20, 17])) == [2, 3]
    assert matching(F.age.not_in([20, 17])) == [1]
    assert matching(F.age.in_(())) == []
    assert matching(F.age.not_in(())) == [1, 2, 3]
    assert matching(F.age.in_(x for x in (30,))) == [1]


def test_is_null_and_is_not_null() -> None:
    assert matching(F.nickname.is_null()) == [2]
    assert matching(F.nickname.is_not_null()) == [1, 3]


def test_contains_case_sensitive() -> None:
    assert matching(F.name.contains("li")) == [1]
    assert matching(F.name.contains("LI")) == []
    assert matching(F.name.contains("")) == [1, 2, 3]


def test_icontains_uses_ascii_lowercase_no_regex() -> None:
    assert matching(F.name.icontains("LI")) == [1]
    assert matching(F.name.icontains("a.")) == []
    assert matching(F.name.icontains("%")) == []
    assert matching(F.nickname.icontains("%_\\")) == [3]


def test_starts_with_and_istarts_with() -> None:
    assert matching(F.name.startswith("A")) == [1]
    assert matching(F.name.startswith("a")) == []
    assert matching(F.name.istartswith("a")) == [1]
    assert matching(F.name.istartswith("B")) == [2]


def test_ends_with_and_iends_with() -> None:
    assert matching(F.name.endswith("ol")) == [3]
    assert matching(F.name.endswith("OL")) == []
    assert matching(F.name.iendswith("OL")) == [3]


def test_iexact_matches_case_insensitively() -> None:
    assert matching(F.name.iexact("ALICE")) == [1]
    assert matching(F.name.iexact("alic")) == []


def test_and_or_compose() -> None:
    p = (F.age > 10) & (F.age < 25) & F.name.istartswith("b")
    assert isinstance(p, And) and len(p.children) == 3
    assert matching(p) == [2]
    q = (F.age == 30) | (F.age == 17) | (F.name == "bob")
    assert isinstance(q, Or) and len(q.children) == 3
    assert matching(q) == [1, 2, 3]


def test_xor_truth_table() -> None:
    t, f = F.age >= 0, F.age < 0
    assert check(t ^ f, ALICE) is True
    assert check(f ^ t, ALICE) is True
    assert check(t ^ t, ALICE) is False
    assert check(f ^ f, ALICE) is False
    assert check(TRUE ^ FALSE, ALICE) is True
    assert check(TRUE ^ TRUE, ALICE) is False


def test_not_and_double_negation_evaluate() -> None:
    p = F.age > 18
    assert matching(~p) == [3]
    assert matching(~~p) == [1, 2]


def test_true_false_sentinels_and_empty_connectives() -> None:
    assert check(TRUE, ALICE) is True
    assert check(FALSE, ALICE) is False
    assert check(And(()), ALICE) is True
    assert check(Or(()), ALICE) is False
    assert check(And((FALSE,)), ALICE) is False
    assert check(Or((TRUE,)), ALICE) is True
    assert check(~And(()), ALICE) is False


# predicate_optional_fields.rs ----------------------------------------------------------------


def test_none_sorts_before_every_value_for_plain_comparisons() -> None:
    # BOB has year None
    assert check(F.year == None, BOB) is True  # noqa: E711
    assert check(F.year.eq(None), ALICE) is False
    assert check(F.year != 2020, BOB) is True
    assert check(F.year != None, BOB) is False  # noqa: E711
    assert check(F.year < 2020, BOB) is True
    assert check(F.year <= 2020, BOB) is True
    assert check(F.year > 2020, BOB) is False
    assert check(F.year >= 1, BOB) is False
    assert check(F.year.between(0, 3000), BOB) is False
    assert check(F.year.in_([2020]), BOB) is False
    assert check(F.year.in_([2020, None]), BOB) is True
    assert check(F.year.not_in([2020]), BOB) is True
    assert check(F.year.not_in([None]), BOB) is False


def test_comparisons_against_none_operand_follow_none_first_order() -> None:
    # x < None never holds; None <= None; x > None for every value; x >= None always.
    assert [check(F.year < None, p) for p in PEOPLE] == [False, False, False]
    assert [check(F.year <= None, p) for p in PEOPLE] == [False, True, False]
    assert [check(F.year > None, p) for p in PEOPLE] == [True, False, True]
    assert [check(F.year >= None, p) for p in PEOPLE] == [True, True, True]
    assert [check(F.year.between(None, 2000), p) for p in PEOPLE] == [False, True, True]
    assert [check(F.year.between(2000, None), p) for p in PEOPLE] == [False, False, False]


def test_present_comparisons_are_false_on_none() -> None:
    some = F.year.present()
    assert matching(some <= 2020) == [1, 3]
    assert matching(some.le(2020)) == [1, 3]
    for p in [
        some == 2020,
        some != 2020,
        some < 3000,
        some <= 3000,
        some > 0,
        some >= 0,
        some.between(0, 3000),
        some.in_([2020, 1999]),
        some.not_in([2020]),
        some.not_in([]),
    ]:
        assert isinstance(p, FieldPredicate) and p.present is True
        assert check(p, BOB) is False, p
    assert matching(some.not_in([2020])) == [3]
    assert matching(some.not_in([])) == [1, 3]
    assert matching(some != 2020) == [3]


def test_present_records_the_same_op() -> None:
    assert (F.year.present() > 3).op is LookupOp.GT
    assert F.year.present().in_([1]) == FieldPredicate("year", LookupOp.IN, (1,), True)
    assert F.year.present().between(1, 2) == FieldPredicate("year", LookupOp.BETWEEN, (1, 2), True)


def test_string_lookups_are_false_on_none() -> None:
    for method in (
        "contains",
        "icontains",
        "startswith",
        "istartswith",
        "endswith",
        "iendswith",
        "iexact",
    ):
        p = getattr(F.nickname, method)("al" if method == "iexact" else "")
        assert check(p, BOB) is False
        assert check(p, ALICE) is True
        assert check(~p, BOB) is True


def test_ascii_only_case_folding() -> None:
    items = [Loose(1, "Éclair"), Loose(2, "éclair"), Loose(3, "ÉCLAIR"), Loose(4, "straße")]
    assert matching(L.value.iexact("éclair"), items) == [2]
    assert matching(L.value.iexact("Éclair"), items) == [1, 3]
    assert matching(L.value.iexact("éCLAIR"), items) == [2]
    assert matching(L.value.icontains("CLAIR"), items) == [1, 2, 3]
    assert matching(L.value.istartswith("É"), items) == [1, 3]
    assert matching(L.value.iexact("STRASSE"), items) == []
    assert matching(L.value.iendswith("SSE"), items) == []
    # Kelvin sign and dotted capital I are not ASCII: they never fold
    kelvin = [Loose(1, "\u212a"), Loose(2, "k"), Loose(3, "\u0130")]
    assert matching(L.value.iexact("k"), kelvin) == [2]
    assert matching(L.value.iexact("i"), kelvin) == []
    assert fold_ascii("AbÉ\u212aZ") == "abÉ\u212az"


def test_sql_wildcards_are_literal() -> None:
    items = [Loose(1, "100%"), Loose(2, "a_b"), Loose(3, "a\\b"), Loose(4, "axb"), Loose(5, "1000")]
    assert matching(L.value.contains("%"), items) == [1]
    assert matching(L.value.endswith("0%"), items) == [1]
    assert matching(L.value.iexact("A_B"), items) == [2]
    assert matching(L.value.contains("_"), items) == [2]
    assert matching(L.value.icontains("a\\"), items) == [3]
    assert matching(L.value.startswith("a%"), items) == []


def test_nan_compares_false_with_everything() -> None:
    nan = float("nan")
    # CAROL.score is NaN
    for p in [F.score == 1.5, F.score < 1.5, F.score > 1.5, F.score <= nan, F.score >= 0.0]:
        assert check(p, CAROL) is False, p
    assert check(F.score.between(-math.inf, math.inf), CAROL) is False
    assert check(F.score.in_([nan, 1.5]), CAROL) is False
    assert check(F.score.not_in([nan]), CAROL) is True
    assert check(F.score != 1.5, CAROL) is True  # Python: nan != x is true
    assert check(F.score == nan, ALICE) is False
    assert check(F.score.in_([nan]), ALICE) is False
    assert check(F.score.present() != nan, CAROL) is True


def test_membership_mixes_numeric_types_exactly() -> None:
    items = [Loose(1, 1), Loose(2, 1.0), Loose(3, True), Loose(4, 2**63 + 1), Loose(5, "1")]
    assert matching(L.value.in_([1]), items) == [1, 2, 3]  # Python equality on Any fields
    assert matching(L.value.in_([float(2**63 + 1)]), items) == []
    assert matching(L.value.in_([2**63 + 1]), items) == [4]
    assert matching(L.value.in_([decimal.Decimal(1)]), items) == [1, 2, 3]
    assert matching(L.value.not_in(["1", 1]), items) == [4]


def test_unhashable_operands_and_values_still_evaluate() -> None:
    items = [Loose(1, [1, 2]), Loose(2, {"a": 1}), Loose(3, 5)]
    assert matching(L.value.in_([[1, 2], 5]), items) == [1, 3]
    assert matching(L.value.in_([5]), items) == [3]  # unhashable values vs a frozenset
    assert matching(L.value == {"a": 1}, items) == [2]


def test_incomparable_runtime_values_make_the_predicate_false() -> None:
    items = [Loose(1, 5), Loose(2, "x"), Loose(3, None), Loose(4, 7)]
    assert matching(L.value > 3, items) == [1, 4]
    # the whole predicate is false for the raising object, negated or not
    assert matching(~(L.value > 3), items) == [3]
    assert matching(L.value.startswith("x"), items) == [2]
    assert matching(~L.value.startswith("x"), items) == [3]
    dnan = [Loose(1, decimal.Decimal("NaN")), Loose(2, decimal.Decimal(2))]
    assert matching(L.value < 3, dnan) == [2]


def test_missing_attribute_propagates() -> None:
    p = FieldPredicate("nope", LookupOp.EQ, 1)
    with pytest.raises(AttributeError):
        p.evaluate(ALICE)
    with pytest.raises(AttributeError):
        interpret(p, ALICE)


def test_non_identifier_field_names_are_loaded_with_getattr() -> None:
    class Odd:
        pass

    odd = Odd()
    setattr(odd, "with space", 3)
    setattr(odd, "class", 4)
    p = FieldPredicate("with space", LookupOp.EQ, 3) & FieldPredicate("class", LookupOp.GE, 4)
    assert check(p, odd) is True
    source, _ = generate_source(p)
    assert "with space" not in source


def test_operands_never_appear_in_generated_source() -> None:
    evil = "'); import os; os.system('echo pwned'); ('"
    p = (F.name == evil) | F.name.contains(evil) | F.name.in_([evil])
    source, namespace = generate_source(p)
    assert evil not in source
    assert evil in namespace.values()
    assert matching(p, [Person(9, evil, 1)]) == [9]


def test_compiled_evaluators_are_cached_on_the_node() -> None:
    p = (F.age > 1) & (F.name == "x")
    assert p.compile() is p.compile()
    assert compile_scan(p) is compile_scan(p)
    q = F.age < 9
    scan = compile_scan(q)
    assert q.compile() is q.compile()
    assert compile_scan(q) is scan


def test_scan_accepts_any_iterable_and_keeps_order() -> None:
    p = F.age >= 18
    scan = compile_scan(p)
    assert scan(PEOPLE) == [ALICE, BOB]
    assert scan(tuple(PEOPLE)) == [ALICE, BOB]
    assert scan(o for o in PEOPLE) == [ALICE, BOB]
    assert scan([]) == []
    result = scan(PEOPLE)
    result.append(CAROL)
    assert scan(PEOPLE) == [ALICE, BOB]  # a fresh list each time


def _forged(cls: type[Predicate], *values: object) -> Predicate:
    """A node made without its constructor, so without the MAX_DEPTH check (as unpickling a
    crafted payload could): the evaluator must still not crash on it."""
    node = object.__new__(cls)
    for name, value in zip(cls.__match_args__, values, strict=True):  # type: ignore[attr-defined]
        object.__setattr__(node, name, value)
    for cache in ("_compiled", "_scan"):
        object.__setattr__(node, cache, None)
    return node


def test_deep_trees_fall_back_to_the_interpreter() -> None:
    p: Predicate = F.age > 18
    with pytest.raises(ValueError, match="MAX_DEPTH"):  # the constructors refuse this tree
        for i in range(150):
            p = Or((And((p, F.age < 100 + i)), FALSE))
    p = F.age > 18
    for i in range(150):
        p = _forged(Or, (_forged(And, (p, F.age < 100 + i)), FALSE))
    with pytest.raises((SyntaxError, RecursionError, MemoryError)):
        compile(generate_source(p)[0], "<deep>", "exec")
    assert [check(p, o) for o in PEOPLE] == [True, True, False]
    assert compile_scan(p)(PEOPLE) == [ALICE, BOB]


def test_evaluate_works_on_every_node_kind() -> None:
    kinds: list[Callable[[], Predicate]] = [
        lambda: F.age > 1,
        lambda: (F.age > 1) & (F.age < 50),
        lambda: (F.age > 1) | (F.age < 50),
        lambda: ~(F.age > 1),
        lambda: (F.age > 1) ^ (F.age < 50),
        lambda: TRUE,
    ]
    for make in kinds:
        p = make()
        for o in PEOPLE:
            check(p, o)


def test_concurrent_first_use_from_threads_agrees() -> None:
    import threading

    preds = [(F.age >= n) & F.name.istartswith("a") | F.year.is_null() for n in range(20)]
    data = PEOPLE * 50
    expected = [[o for o in data if interpret(p, o)] for p in preds]
    results: dict[int, list[list[Person]]] = {}
    barrier = threading.Barrier(4)

    def worker(k: int) -> None:
        barrier.wait()
        out = []
        for i, p in enumerate(preds):
            scan = compile_scan(p) if (i + k) % 2 else None
            out.append(scan(data) if scan else [o for o in data if p.evaluate(o)])
        results[k] = out

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[k] == expected for k in range(4))


def test_generated_scan_inlines_loads_and_hoists_operands() -> None:
    """The shape the benchmark relies on: attribute loads inline, IN over a frozenset."""

    @dataclass(slots=True)
    class Member:
        id: int
        age: int | None
        org: int
        name: str | None

    M = sassi.fields(Member)
    p = (M.age >= 18) & M.org.in_([7, 9]) & M.name.startswith("a")
    source, namespace = generate_source(p)
    scan_line = next(line for line in source.splitlines() if "for o in items if" in line)
    assert "o.age >= _c" in scan_line
    assert "o.org in _c" in scan_line
    assert "_startswith(o.name, _c" in scan_line
    assert "_any_eq" not in scan_line and "_getattr" not in scan_line
    assert frozenset({7, 9}) in namespace.values()
    members = [Member(1, 20, 7, "ann"), Member(2, None, 9, "al"), Member(3, 30, 8, "ab")]
    assert compile_scan(p)(members) == [members[0]]

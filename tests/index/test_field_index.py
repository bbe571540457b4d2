"""FieldIndex / SortedKeys / planner as plain functions, against a reference evaluator.

The reference below spells out SPEC §2 for the ops an index answers (None sorts first for plain
comparisons, ``present()`` never matches None, incomparable values do not match). An index lookup
must return a superset of the matching ids, and exactly the matching ids once the term is
re-checked; for a field holding one comparison family it must return exactly the matches.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sassi._index import (
    LOOSE,
    NUMBER,
    UNORDERED,
    FieldIndex,
    IndexSet,
    SortedKeys,
    classify,
    conjuncts,
    plan,
)
from sassi._store import Entry
from sassi.predicate import FALSE, TRUE, And, FieldPredicate, LookupOp, Or


@dataclass(frozen=True)
class Row:
    id: int
    v: Any
    w: Any = None


class Color(enum.Enum):
    RED = 1
    BLUE = 2


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 7


class Opaque:
    """Hashable, but with an ``__eq__`` the index must not trust."""

    def __eq__(self, other: object) -> bool:
        return other == 3

    def __hash__(self) -> int:
        return 12345


_CMP: dict[LookupOp, Callable[[Any, Any], bool]] = {
    LookupOp.LT: operator.lt,
    LookupOp.LE: operator.le,
    LookupOp.GT: operator.gt,
    LookupOp.GE: operator.ge,
}


def reference(term: FieldPredicate, value: Any) -> bool:
    """SPEC §2 semantics of one indexable leaf (a raising comparison does not match)."""
    op, operand = term.op, term.value
    if value is None:
        if term.present:
            return False
        if op is LookupOp.EQ:
            return operand is None
        if op is LookupOp.IN:
            return any(x is None for x in operand)  # type: ignore[attr-defined]
        if op is LookupOp.IS_NULL:
            return True
        return op in (LookupOp.LT, LookupOp.LE)
    try:
        if op is LookupOp.EQ:
            return bool(value == operand)
        if op is LookupOp.IN:
            return value in operand  # type: ignore[operator]
        if op is LookupOp.IS_NULL:
            return False
        if op is LookupOp.BETWEEN:
            low: Any = operand[0]  # type: ignore[index]
            high: Any = operand[1]  # type: ignore[index]
            return bool(low <= value) and bool(value <= high)
        return bool(_CMP[op](value, operand))
    except (TypeError, ArithmeticError):  # incomparable types, Decimal NaN
        return False


def entry(ident: int, row: Any) -> Entry:
    """A store entry for ``row`` under ``ident`` (what the store hands its observers)."""
    return Entry(row, 0, None, 0, ident)


def put(index: FieldIndex, ident: int, row: Any) -> None:
    index.add(entry(ident, row))


def ids(entries: list[Entry] | None) -> set[Any] | None:
    """The ids of a lookup's entries (``None`` stays ``None``); each entry appears once."""
    if entries is None:
        return None
    keys = [e.key for e in entries]
    assert len(keys) == len(set(keys)), f"an entry was returned twice: {keys}"
    return set(keys)


def build(rows: dict[int, Any]) -> FieldIndex:
    index = FieldIndex("v")
    for ident, value in rows.items():
        put(index, ident, Row(ident, value))
    return index


def assert_answers(index: FieldIndex, rows: dict[int, Any], term: FieldPredicate) -> set[int]:
    """Lookup is a superset of the matches and never invents ids; returns the candidates."""
    expected = {i for i, v in rows.items() if reference(term, v)}
    candidates = ids(index.lookup(term))
    if candidates is None:
        return set(rows)
    assert candidates <= set(rows)
    assert expected <= candidates
    assert {i for i in candidates if reference(term, rows[i])} == expected
    estimate = index.estimate(term)
    assert estimate is not None
    return candidates


# -- classify ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "family"),
    [
        (1, NUMBER),
        (True, NUMBER),
        (2.5, NUMBER),
        (Decimal("1.5"), NUMBER),
        (Level.HIGH, NUMBER),
        ("a", "str"),
        (b"a", "bytes"),
        (dt.date(2020, 1, 1), "date"),
        (dt.datetime(2020, 1, 1), "datetime"),
        (dt.datetime(2020, 1, 1, tzinfo=dt.UTC), "datetime-aware"),
        (dt.time(1, 2), "time"),
        (dt.time(1, 2, tzinfo=dt.UTC), UNORDERED),
        (math.nan, UNORDERED),
        ((1, "a", None), UNORDERED),
        (frozenset({1}), UNORDERED),
        (Color.RED, UNORDERED),
        (Decimal("NaN"), LOOSE),
        (Decimal("sNaN"), LOOSE),
        ([1], LOOSE),
        ({"a": 1}, LOOSE),
        ((1, [2]), LOOSE),
        (Opaque(), LOOSE),
    ],
)
def test_classify(value: object, family: str) -> None:
    assert classify(value) == family


# -- SortedKeys -------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    ops=st.lists(st.tuples(st.booleans(), st.integers(-60, 60)), max_size=400),
    low=st.integers(-70, 70),
    high=st.integers(-70, 70),
    low_inc=st.booleans(),
    high_inc=st.booleans(),
)
def test_sorted_keys_match_a_sorted_list(
    ops: list[tuple[bool, int]], low: int, high: int, low_inc: bool, high_inc: bool
) -> None:
    keys = SortedKeys(load=4)  # many chunks, splits and merges
    model: set[int] = set()
    for add, key in ops:
        if add and key not in model:
            keys.add(key)
            model.add(key)
        elif not add and key in model:
            keys.remove(key)
            model.discard(key)
    assert list(keys) == sorted(model)
    assert len(keys) == len(model)
    unbounded = object()
    for lo, hi in ((low, high), (unbounded, high), (low, unbounded), (unbounded, unbounded)):
        want = [
            k
            for k in sorted(model)
            if (lo is unbounded or (k >= lo if low_inc else k > lo))  # type: ignore[operator]
            and (hi is unbounded or (k <= hi if high_inc else k < hi))  # type: ignore[operator]
        ]
        assert list(keys.irange(lo, hi, low_inc, high_inc, unbounded)) == want
        assert keys.count(lo, hi, low_inc, high_inc, unbounded) == len(want)


def test_sorted_keys_remove_missing_raises() -> None:
    keys = SortedKeys()
    with pytest.raises(KeyError):
        keys.remove(1)
    keys.add(1)
    keys.add(5)
    with pytest.raises(KeyError):
        keys.remove(3)
    with pytest.raises(KeyError):
        keys.remove(9)


# -- FieldIndex: exact answers on a clean field -----------------------------------------------


def test_hash_and_range_terms_are_exact_on_an_int_field() -> None:
    rows = {i: (None if i % 10 == 0 else i % 7) for i in range(100)}
    index = build(rows)
    terms = [
        FieldPredicate("v", LookupOp.EQ, 3),
        FieldPredicate("v", LookupOp.EQ, None),
        FieldPredicate("v", LookupOp.EQ, None, present=True),
        FieldPredicate("v", LookupOp.IN, (1, 2, 99)),
        FieldPredicate("v", LookupOp.IN, (1, None)),
        FieldPredicate("v", LookupOp.IN, (1, None), present=True),
        FieldPredicate("v", LookupOp.IN, ()),
        FieldPredicate("v", LookupOp.IS_NULL),
        FieldPredicate("v", LookupOp.LT, 3),
        FieldPredicate("v", LookupOp.LT, 3, present=True),
        FieldPredicate("v", LookupOp.LE, 3),
        FieldPredicate("v", LookupOp.GT, 3),
        FieldPredicate("v", LookupOp.GE, 3.5),
        FieldPredicate("v", LookupOp.BETWEEN, (2, 4)),
        FieldPredicate("v", LookupOp.BETWEEN, (4, 2)),
        FieldPredicate("v", LookupOp.BETWEEN, (Decimal(2), 4.0), present=True),
    ]
    for term in terms:
        expected = {i for i, v in rows.items() if reference(term, v)}
        assert ids(index.lookup(term)) == expected, term
        estimate = index.estimate(term)
        assert estimate is not None
        if term.op in (LookupOp.EQ, LookupOp.IN, LookupOp.IS_NULL):
            assert estimate == len(expected), term
        else:  # ranges: distinct keys in range x average bucket size
            assert abs(estimate - len(expected)) <= 10, term


def test_none_rules_for_ranges() -> None:
    rows = {1: None, 2: 5, 3: 10}
    index = build(rows)
    assert ids(index.lookup(FieldPredicate("v", LookupOp.LT, 6))) == {1, 2}
    assert ids(index.lookup(FieldPredicate("v", LookupOp.LE, 5))) == {1, 2}
    assert ids(index.lookup(FieldPredicate("v", LookupOp.LT, 6, present=True))) == {2}
    assert ids(index.lookup(FieldPredicate("v", LookupOp.GT, 0))) == {2, 3}
    assert ids(index.lookup(FieldPredicate("v", LookupOp.GE, 10))) == {3}
    assert ids(index.lookup(FieldPredicate("v", LookupOp.BETWEEN, (0, 100)))) == {2, 3}


def test_equal_values_of_different_number_types_share_a_bucket() -> None:
    rows = {1: 1, 2: 1.0, 3: True, 4: Decimal(1), 5: 2}
    index = build(rows)
    assert ids(index.lookup(FieldPredicate("v", LookupOp.EQ, 1))) == {1, 2, 3, 4}
    index.discard(1)  # the bucket's representative key leaves; the others stay findable
    assert ids(index.lookup(FieldPredicate("v", LookupOp.EQ, 1.0))) == {2, 3, 4}
    assert ids(index.lookup(FieldPredicate("v", LookupOp.LE, 1))) == {2, 3, 4}
    for ident in (2, 3, 4):
        index.discard(ident)
    assert ids(index.lookup(FieldPredicate("v", LookupOp.LE, 1))) == set()
    assert ids(index.lookup(FieldPredicate("v", LookupOp.GE, 0))) == {5}


def test_nan_never_matches_but_never_breaks_the_index() -> None:
    nan = float("nan")
    rows = {1: nan, 2: float("nan"), 3: 1.0, 4: math.inf, 5: -math.inf}
    index = build(rows)
    for term in (
        FieldPredicate("v", LookupOp.LT, 2.0),
        FieldPredicate("v", LookupOp.GT, 0.0),
        FieldPredicate("v", LookupOp.BETWEEN, (-math.inf, math.inf)),
        FieldPredicate("v", LookupOp.EQ, 1.0),
        FieldPredicate("v", LookupOp.EQ, nan),
        FieldPredicate("v", LookupOp.IN, (nan, 1.0)),
    ):
        assert_answers(index, rows, term)
    # a NaN operand cannot be placed in the order: the index declines, the planner scans
    assert ids(index.lookup(FieldPredicate("v", LookupOp.LT, nan))) is None
    assert index.estimate(FieldPredicate("v", LookupOp.GE, nan)) is None
    index.discard(1)
    index.discard(2)
    assert ids(index.lookup(FieldPredicate("v", LookupOp.GT, -math.inf))) == {3, 4}


def test_mixed_families_are_returned_for_the_predicate_to_decide() -> None:
    rows = {
        1: 5,
        2: "b",
        3: None,
        4: [1, 2],
        5: Opaque(),
        6: (1, 2),
        7: Color.RED,
        8: dt.date(2020, 1, 1),
        9: 7.5,
    }
    index = build(rows)
    for op in (LookupOp.LT, LookupOp.LE, LookupOp.GT, LookupOp.GE):
        for operand in (6, "a", "c", dt.date(2021, 1, 1)):
            for present in (False, True):
                assert_answers(index, rows, FieldPredicate("v", op, operand, present=present))
    for value in (5, "b", 3, (1, 2), Color.RED, Color.BLUE, None):
        assert_answers(index, rows, FieldPredicate("v", LookupOp.EQ, value))
    # Opaque() == 3 is true: the loose row must be a candidate for == 3
    assert 5 in assert_answers(index, rows, FieldPredicate("v", LookupOp.EQ, 3))
    assert_answers(index, rows, FieldPredicate("v", LookupOp.IN, ("b", 5, None)))
    # operands the index cannot trust: declined
    assert ids(index.lookup(FieldPredicate("v", LookupOp.EQ, [1, 2]))) is None
    assert ids(index.lookup(FieldPredicate("v", LookupOp.IN, (1, Opaque())))) is None
    assert ids(index.lookup(FieldPredicate("v", LookupOp.GT, (1, 2)))) is None
    assert ids(index.lookup(FieldPredicate("v", LookupOp.BETWEEN, (1, "z")))) is None
    assert ids(index.lookup(FieldPredicate("v", LookupOp.BETWEEN, (None, 3)))) is None


def test_naive_and_aware_datetimes_do_not_crash_ranges() -> None:
    naive = dt.datetime(2020, 1, 1)
    aware = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    rows = {1: naive, 2: aware, 3: naive + dt.timedelta(days=1), 4: None}
    index = build(rows)
    for operand in (naive, aware, naive + dt.timedelta(hours=1)):
        for op in (LookupOp.LT, LookupOp.GE):
            assert_answers(index, rows, FieldPredicate("v", op, operand))
        assert_answers(index, rows, FieldPredicate("v", LookupOp.EQ, operand))


def test_a_raising_attribute_makes_the_row_loose() -> None:
    class Broken:
        id = 1

        @property
        def v(self) -> int:
            raise RuntimeError("boom")

    index = FieldIndex("v")
    put(index, 1, Broken())
    put(index, 2, Row(2, 4))
    assert ids(index.lookup(FieldPredicate("v", LookupOp.EQ, 4))) == {1, 2}
    index.discard(1)
    assert ids(index.lookup(FieldPredicate("v", LookupOp.EQ, 4))) == {2}
    assert len(index) == 1


def test_the_ordered_part_is_built_by_the_first_range_query() -> None:
    rows = {i: i % 5 for i in range(20)} | {20: "x", 21: None, 22: math.nan}
    index = build(rows)
    assert_answers(index, rows, FieldPredicate("v", LookupOp.EQ, 3))
    assert_answers(index, rows, FieldPredicate("v", LookupOp.IN, (1, "x")))
    assert not index.ordered  # equality never pays for ordering
    assert_answers(index, rows, FieldPredicate("v", LookupOp.GT, 2))
    assert index.ordered
    assert index._sorted is not None
    assert list(index._sorted[NUMBER]) == [0, 1, 2, 3, 4]
    assert list(index._sorted["str"]) == ["x"]
    put(index, 30, Row(30, 2.5))
    put(index, 31, Row(31, "a"))
    rows |= {30: 2.5, 31: "a"}
    for ident in range(0, 20, 5):  # every row whose value is 0
        index.discard(ident)
        del rows[ident]
    assert list(index._sorted[NUMBER]) == [1, 2, 2.5, 3, 4]
    assert list(index._sorted["str"]) == ["a", "x"]
    assert_answers(index, rows, FieldPredicate("v", LookupOp.LT, 2.7))
    index.clear()
    assert index.ordered and len(index) == 0
    assert ids(index.lookup(FieldPredicate("v", LookupOp.LT, 2.7))) == set()


def test_sorted_keys_from_sorted_chunks() -> None:
    keys = SortedKeys.from_sorted(list(range(10)), load=4)
    assert list(keys) == list(range(10)) and len(keys) == 10
    keys.add(4.5)
    keys.remove(9)
    assert list(keys.irange(3, 6, True, False, None)) == [3, 4, 4.5, 5]
    assert list(SortedKeys.from_sorted([])) == []


def test_values_with_raising_comparisons_never_break_maintenance() -> None:
    class Hostile:
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("no ==")

        def __ne__(self, other: object) -> bool:
            raise RuntimeError("no !=")

        def __hash__(self) -> int:
            return 1

    index = FieldIndex("v")
    put(index, 1, Row(1, Hostile()))
    put(index, 1, Row(1, Hostile()))  # replacing a loose value compares nothing
    put(index, 2, Row(2, 5))
    put(index, 1, Row(1, 5))
    assert ids(index.lookup(FieldPredicate("v", LookupOp.EQ, 5))) == {1, 2}
    put(index, 2, Row(2, Hostile()))
    assert ids(index.lookup(FieldPredicate("v", LookupOp.EQ, 5))) == {1, 2}  # 2 is loose now
    assert set(index._loose) == {2}


def test_replacing_with_an_equal_value_keeps_one_entry() -> None:
    index = FieldIndex("v")
    put(index, 1, Row(1, "same"))
    put(index, 2, Row(2, "same"))
    put(index, 1, Row(1, "".join(["sa", "me"])))  # equal, different object
    put(index, 3, Row(3, 1))
    put(index, 3, Row(3, 1.0))  # equal but another type: re-indexed
    assert ids(index.lookup(FieldPredicate("v", LookupOp.EQ, "same"))) == {1, 2}
    assert ids(index.lookup(FieldPredicate("v", LookupOp.EQ, 1))) == {3}
    assert index._family_size == {"str": 2, NUMBER: 1}
    assert type(index._key_of[3]) is float
    index.discard(3)
    assert ids(index.lookup(FieldPredicate("v", LookupOp.EQ, 1))) == set()
    assert index._family_size == {"str": 2}
    assert len(index) == 2


def test_replacing_a_value_moves_the_id() -> None:
    index = FieldIndex("v")
    put(index, 1, Row(1, 10))
    put(index, 1, Row(1, "x"))
    assert ids(index.lookup(FieldPredicate("v", LookupOp.EQ, 10))) == set()
    assert ids(index.lookup(FieldPredicate("v", LookupOp.EQ, "x"))) == {1}
    assert ids(index.lookup(FieldPredicate("v", LookupOp.GT, 0))) == {1}  # other family: candidate
    put(index, 1, Row(1, 11))
    assert ids(index.lookup(FieldPredicate("v", LookupOp.GT, 0))) == {1}
    assert ids(index.lookup(FieldPredicate("v", LookupOp.EQ, "x"))) == set()
    index.discard(1)
    index.discard(1)  # idempotent
    assert len(index) == 0
    assert ids(index.lookup(FieldPredicate("v", LookupOp.GT, 0))) == set()


# -- FieldIndex: random operation sequences ---------------------------------------------------

_values = st.one_of(
    st.none(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True, width=16),
    st.booleans(),
    st.sampled_from(["", "a", "b", "ab", "É", "%"]),
    st.sampled_from(
        [
            Decimal("2.5"),
            Decimal("NaN"),
            dt.date(2020, 1, 2),
            Color.RED,
            Level.HIGH,
            (1, 2),
            (1, [2]),
            [3],
            b"a",
        ]
    ),
)
_orderable = st.one_of(
    st.integers(-6, 6),
    st.floats(min_value=-6, max_value=6, width=16),
    st.sampled_from(["", "a", "b", "c", Decimal("2.5"), dt.date(2020, 1, 1), math.nan]),
)


@st.composite
def _terms(draw: st.DrawFn) -> FieldPredicate:
    op = draw(st.sampled_from([*sorted(_CMP, key=str), LookupOp.EQ, LookupOp.IN, LookupOp.BETWEEN]))
    present = draw(st.booleans())
    value: Any
    if op is LookupOp.IN:
        value = tuple(draw(st.lists(st.one_of(st.none(), _orderable), max_size=4)))
    elif op is LookupOp.BETWEEN:
        value = (draw(_orderable), draw(_orderable))
    elif op is LookupOp.EQ:
        value = draw(st.one_of(st.none(), _orderable, st.just((1, 2))))
    else:
        value = draw(_orderable)
    return FieldPredicate("v", op, value, present=present)


@settings(max_examples=200, deadline=None)
@given(
    ops=st.lists(st.tuples(st.integers(0, 12), st.one_of(st.just("del"), _values)), max_size=60),
    terms=st.lists(_terms(), min_size=1, max_size=6),
    build_ordered_at=st.integers(0, 60),
)
def test_random_maintenance_keeps_lookups_exact_after_recheck(
    ops: list[tuple[int, Any]], terms: list[FieldPredicate], build_ordered_at: int
) -> None:
    index = FieldIndex("v")
    rows: dict[int, Any] = {}
    for step, (ident, value) in enumerate(ops):
        if step == build_ordered_at:  # a range query now: later writes maintain the order
            assert_answers(index, rows, FieldPredicate("v", LookupOp.GE, 0))
            assert index.ordered
        if isinstance(value, str) and value == "del":
            index.discard(ident)
            rows.pop(ident, None)
        else:
            put(index, ident, Row(ident, value))
            rows[ident] = value
    if index.ordered:
        for family, ordered in (index._sorted or {}).items():
            keys = list(ordered)
            assert keys == sorted(keys) and len(set(keys)) == len(keys), family
    assert len(index) == len(rows)
    for term in terms:
        assert_answers(index, rows, term)
    for ident in list(rows):
        index.discard(ident)
    assert len(index) == 0
    assert not index._buckets and not index._sorted and not index._family_size
    assert not index._unordered and not index._loose


# -- IndexSet and the planner -----------------------------------------------------------------


def _indexed(rows: list[Row], *fields: str) -> IndexSet:
    indexes = IndexSet(fields)
    for row in rows:
        indexes.on_put(row.id, None, entry(row.id, row))
    return indexes


def test_index_set_observer_protocol() -> None:
    indexes = _indexed([Row(1, 1, "a"), Row(2, 2, "b")], "v", "w")
    assert indexes.fields == ("v", "w")
    assert "v" in indexes and "x" not in indexes
    assert bool(indexes) and not IndexSet(())
    indexes.on_put(1, entry(1, Row(1, 1, "a")), entry(1, Row(1, 3, "c")))
    assert ids(indexes.indexes["w"].lookup(FieldPredicate("w", LookupOp.EQ, "c"))) == {1}
    assert ids(indexes.indexes["v"].lookup(FieldPredicate("v", LookupOp.EQ, 1))) == set()
    indexes.on_remove(2, entry(2, Row(2, 2, "b")))
    assert len(indexes.indexes["v"]) == 1
    indexes.on_clear()
    assert len(indexes.indexes["v"]) == 0 and len(indexes.indexes["w"]) == 0


def test_conjuncts_flatten_nested_ands() -> None:
    a = FieldPredicate("v", LookupOp.EQ, 1)
    b = FieldPredicate("w", LookupOp.EQ, 2)
    c = FieldPredicate("v", LookupOp.GT, 0)
    assert conjuncts([And((a, And((b,)))), c]) == [a, b, c]
    assert conjuncts([Or((a, b))]) == [Or((a, b))]


def test_planner_picks_the_most_selective_term() -> None:
    rows = [Row(i, i % 100, i % 2) for i in range(1000)]
    indexes = _indexed(rows, "v", "w")
    selective = FieldPredicate("v", LookupOp.EQ, 7)
    broad = FieldPredicate("w", LookupOp.EQ, 1)
    chosen = plan([broad & selective], indexes, total=1000)
    assert chosen.index == "v"
    assert chosen.term == selective
    assert ids(chosen.candidates) == {r.id for r in rows if r.v == 7}
    assert chosen.residual == And((broad, selective))
    assert "'v'" in chosen.explain and "10 candidates of 1000" in chosen.explain
    # ranges are estimated too: 3 of 100 distinct values (30 rows: 3%, above the default 2%)
    between = FieldPredicate("v", LookupOp.BETWEEN, (10, 12))
    assert plan([broad, between], indexes, total=1000).candidates is None
    ranged = plan([broad, between], indexes, total=1000, selectivity_limit=0.05)
    assert ranged.index == "v" and ranged.also == (broad,)  # w == 1 narrows the range
    assert ids(ranged.candidates) == {r.id for r in rows if 10 <= r.v <= 12 and r.w == 1}


def test_planner_intersects_independent_equality_terms() -> None:
    rows = [Row(i, i % 10, i % 7) for i in range(1000)]
    indexes = _indexed(rows, "v", "w")
    v3 = FieldPredicate("v", LookupOp.EQ, 3)  # 100 rows: 10%, too broad alone
    w2 = FieldPredicate("w", LookupOp.EQ, 2)  # 143 rows
    chosen = plan([w2 & v3], indexes, total=1000)
    assert chosen.index == "v" and chosen.term == v3 and chosen.also == (w2,)
    assert ids(chosen.candidates) == {r.id for r in rows if r.v == 3 and r.w == 2}
    assert chosen.explain == (
        "index 'v' for F.v == 3, intersected with index 'w' for F.w == 2: "
        "14 candidates of 1000 residents"
    )
    # an in_ term intersects too; a term on an unindexed field is left to the re-check
    v_in = FieldPredicate("v", LookupOp.IN, (3,))
    narrow = plan([v_in, w2, FieldPredicate("id", LookupOp.EQ, 1)], indexes, total=1000)
    assert narrow.term == v_in and narrow.also == (w2,)
    assert ids(narrow.candidates) == {r.id for r in rows if r.v == 3 and r.w == 2}
    # ranges are never materialised just to intersect
    ranged = plan([FieldPredicate("v", LookupOp.LT, 5), w2], indexes, total=1000)
    assert ranged.candidates is None
    # too broad even together: scan
    broad = plan(
        [FieldPredicate("v", LookupOp.IN, (1, 2, 3)), FieldPredicate("w", LookupOp.IN, (1, 2))],
        indexes,
        total=1000,
    )
    assert broad.candidates is None and "not selective" in broad.explain


def test_a_narrow_first_term_is_still_narrowed_by_the_others() -> None:
    rows = [Row(i, i, i % 4) for i in range(1000)]
    indexes = _indexed(rows, "v", "w")
    one = plan(
        [FieldPredicate("w", LookupOp.EQ, 2), FieldPredicate("v", LookupOp.IN, (5, 6))],
        indexes,
        total=1000,
    )
    assert one.term == FieldPredicate("v", LookupOp.IN, (5, 6))
    assert one.also == (FieldPredicate("w", LookupOp.EQ, 2),)
    assert ids(one.candidates) == {6}


def test_restrict_keeps_only_candidates_that_may_match() -> None:
    rows = {1: 5, 2: 5, 3: 6, 4: None, 5: [1], 6: "x"}
    index = FieldIndex("v")
    filed = {ident: entry(ident, Row(ident, value)) for ident, value in rows.items()}
    for one in filed.values():
        index.add(one)

    def restrict(term: FieldPredicate, among: list[int]) -> list[int] | None:
        narrowed = index.restrict(term, [filed[i] for i in among])
        return None if narrowed is None else [e.key for e in narrowed]

    everyone = list(rows)
    eq5 = FieldPredicate("v", LookupOp.EQ, 5)
    # both strategies (probe each candidate / read the term's buckets), order kept
    assert restrict(eq5, everyone) == [1, 2, 5]  # the loose row stays a candidate
    assert restrict(eq5, [5, 2, 1]) == [5, 2, 1]
    assert restrict(eq5, [2, 3, 4]) == [2]
    assert restrict(eq5, [4, 2]) == [2]
    assert restrict(FieldPredicate("v", LookupOp.IN, (6, "x", 6)), [3, 6, 1]) == [3, 6]
    assert restrict(FieldPredicate("v", LookupOp.IS_NULL), everyone) == [4, 5]
    assert restrict(eq5, []) == []
    assert restrict(FieldPredicate("v", LookupOp.LT, 5), everyone) is None
    assert restrict(FieldPredicate("v", LookupOp.EQ, [1]), everyone) is None
    candidates = [filed[1], filed[2], filed[3]]
    index.restrict(eq5, candidates)
    assert candidates == [filed[1], filed[2], filed[3]]  # never modified


def test_planner_scans_when_nothing_is_selective_or_indexable() -> None:
    rows = [Row(i, i % 100, i % 2) for i in range(1000)]
    indexes = _indexed(rows, "v", "w")
    broad = plan([FieldPredicate("w", LookupOp.EQ, 1)], indexes, total=1000)
    assert broad.index is None and broad.candidates is None
    assert broad.explain.startswith("scan 1000 residents") and "not selective" in broad.explain
    unindexed = plan([FieldPredicate("id", LookupOp.EQ, 3)], indexes, total=1000)
    assert unindexed.candidates is None and "no indexed term" in unindexed.explain
    nested = plan([Or((FieldPredicate("v", LookupOp.EQ, 1),))], indexes, total=1000)
    assert nested.candidates is None
    string_op = plan([FieldPredicate("v", LookupOp.STARTSWITH, "a")], indexes, total=1000)
    assert string_op.candidates is None
    declined = plan([FieldPredicate("v", LookupOp.LT, math.nan)], indexes, total=1000)
    assert declined.candidates is None
    nothing = plan([], IndexSet(()), total=5)
    assert nothing.candidates is None and nothing.residual == And(())
    assert "no indexes" in nothing.explain


def test_planner_false_and_true_constants() -> None:
    indexes = _indexed([Row(1, 1)], "v")
    empty = plan([TRUE, FALSE], indexes, total=1)
    assert ids(empty.candidates) == set() and "FALSE" in empty.explain
    only_true = plan([TRUE], indexes, total=1)
    assert only_true.candidates is None and only_true.residual == TRUE

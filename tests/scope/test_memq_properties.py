"""MemQ ops agree with plain-Python reference implementations (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import sassi
from sassi import MemQ


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    k: int
    s: str


F = sassi.fields(Item)

items_st = st.lists(
    st.builds(Item, st.integers(0, 30), st.integers(-3, 3), st.sampled_from(["a", "b", "c"])),
    max_size=30,
)


def reference(op: tuple[Any, ...], items: list[Item]) -> list[Item]:
    kind = op[0]
    if kind == "take":
        return items[: op[1]]
    if kind == "skip":
        return items[op[1] :]
    if kind == "sort_k":
        return sorted(items, key=lambda i: i.k, reverse=op[1])
    if kind == "sort_id":
        return sorted(items, key=lambda i: i.id)
    if kind == "unique_s":
        seen: set[str] = set()
        out = []
        for i in items:
            if i.s not in seen:
                seen.add(i.s)
                out.append(i)
        return out
    if kind == "group_s":
        order: list[str] = []
        for i in items:
            if i.s not in order:
                order.append(i.s)
        return [i for key in order for i in items if i.s == key]
    if kind == "partition":
        return [i for i in items if i.k > 0] + [i for i in items if not i.k > 0]
    if kind == "where":
        return [i for i in items if i.k >= op[1]]
    if kind == "filter_raising":
        return [i for i in items if i.k != 0 and 6 // i.k > 1]
    raise AssertionError(kind)


def build(op: tuple[Any, ...]) -> MemQ:
    kind = op[0]
    if kind == "take":
        return MemQ.take(op[1])
    if kind == "skip":
        return MemQ.skip(op[1])
    if kind == "sort_k":
        return MemQ.sort(F.k, reverse=op[1])
    if kind == "sort_id":
        return MemQ.sort()
    if kind == "unique_s":
        return MemQ.unique(F.s)
    if kind == "group_s":
        return MemQ.group_by(F.s)
    if kind == "partition":
        return MemQ.partition(lambda i: i.k > 0)
    if kind == "where":
        return MemQ.where(F.k >= op[1])
    return MemQ.filter(lambda i: 6 // i.k > 1)  # ZeroDivisionError excludes k == 0


ops_st = st.lists(
    st.one_of(
        st.tuples(st.just("take"), st.integers(0, 10)),
        st.tuples(st.just("skip"), st.integers(0, 10)),
        st.tuples(st.just("sort_k"), st.booleans()),
        st.tuples(st.just("sort_id")),
        st.tuples(st.just("unique_s")),
        st.tuples(st.just("group_s")),
        st.tuples(st.just("partition")),
        st.tuples(st.just("where"), st.integers(-3, 3)),
        st.tuples(st.just("filter_raising")),
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(items=items_st, ops=ops_st)
def test_apply_all_matches_reference_in_order(
    items: list[Item], ops: list[tuple[Any, ...]]
) -> None:
    expected = list(items)
    for op in ops:
        expected = reference(op, expected)
    actual = MemQ.apply_all([build(op) for op in ops], items)
    assert actual == expected
    assert all(a is e for a, e in zip(actual, expected, strict=True))


@settings(max_examples=150, deadline=None)
@given(items=items_st, ops=ops_st)
def test_scope_equals_memq_over_the_pool_contents(
    items: list[Item], ops: list[tuple[Any, ...]]
) -> None:
    pool = sassi.Punnu(Item)
    for item in items:
        pool.insert(item)
    residents = MemQ.sort().apply(pool.scope().collect())
    scope = pool.scope().sort()
    for op in ops:
        scope = scope.then(build(op))
    expected = MemQ.apply_all([build(op) for op in ops], residents)
    assert scope.collect() == expected
    assert scope.count() == len(expected)
    assert scope.first() == (expected[0] if expected else None)
    assert scope.exists() is bool(expected)

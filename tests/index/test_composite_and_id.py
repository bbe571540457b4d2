"""SPEC 11.10: terms on the id field answered from the pool's map, and composite indexes.

Every query is checked against a scan of the same pool (same rows, same order when nothing is
expired), and ``explain()`` must name what answered it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sassi
from sassi import Delta, Punnu
from sassi._index import CompositeIndex, IndexSet
from sassi._store import Entry
from sassi.predicate import FieldPredicate, LookupOp
from sassi.testing import FakeClock


@dataclass(frozen=True)
class Person:
    id: int
    city: Any = None
    age: Any = None
    email: str | None = None


F = sassi.fields(Person)
CITIES = ("Oslo", "Pune", "Lima", None)


def people(n: int) -> list[Person]:
    return [Person(i, CITIES[i % 4], i % 90, f"p{i}@x") for i in range(n)]


def pool_of(rows: list[Person], **options: Any) -> Punnu[Person]:
    pool: Punnu[Person] = Punnu(Person, capacity=max(len(rows), 1) * 2, **options)
    pool.apply_delta(Delta(items=rows))
    return pool


def scan(pool: Punnu[Person], predicate: sassi.Predicate) -> list[Person]:
    return pool.scope().skip(0).where(predicate).collect()


def same_as_scan(pool: Punnu[Person], predicate: sassi.Predicate) -> list[Person]:
    got = pool.scope(predicate).collect()
    want = scan(pool, predicate)
    if pool._core.store.any_expired(pool._core.clock()):
        assert sorted(p.id for p in got) == sorted(p.id for p in want)
    else:
        assert got == want, (predicate, pool.scope(predicate).explain())
    return got


# -- the id field: no declared index -----------------------------------------------------------


def test_id_equality_reads_the_map_without_any_index() -> None:
    pool = pool_of(people(5_000))
    assert [p.id for p in same_as_scan(pool, F.id == 1234)] == [1234]
    assert pool.scope(F.id == 1234).explain() == (
        "id field 'id' (the pool's map) for F.id == 1234: 1 candidates of 5000 residents"
    )
    assert same_as_scan(pool, F.id == 99_999) == []
    assert "0 candidates of 5000" in pool.scope(F.id == 99_999).explain()


def test_id_in_reads_the_map_and_keeps_scan_order() -> None:
    pool = pool_of(people(2_000))
    pool.invalidate(10)
    pool.insert(Person(10, "Oslo", 3))  # moves id 10 within the dense list
    wanted = [1999, 10, 5, 10, 777, -1]
    got = same_as_scan(pool, F.id.in_(wanted))
    assert sorted(p.id for p in got) == [5, 10, 777, 1999]
    assert "4 candidates of 2000" in pool.scope(F.id.in_(wanted)).explain()


def test_id_terms_combine_with_other_terms_and_indexes() -> None:
    pool = pool_of(people(3_000), indexes=("city",))
    predicate = F.id.in_(range(0, 3_000, 7)) & (F.city == "Oslo") & (F.age > 10)
    same_as_scan(pool, predicate)
    assert "id field 'id'" in pool.scope(F.id == 3, F.city == "Oslo").explain()
    assert same_as_scan(pool, (F.id == 4) & (F.city == "Pune")) == []


def test_id_terms_skip_expired_entries_and_follow_removals() -> None:
    clock = FakeClock()
    pool: Punnu[Person] = Punnu(Person, capacity=100, clock=clock)
    pool.insert(Person(1, "Oslo"), ttl=5)
    pool.insert(Person(2, "Oslo"))
    clock.advance(10)
    assert pool.scope(F.id.in_([1, 2])).collect() == [Person(2, "Oslo")]
    pool.invalidate(2)
    assert pool.scope(F.id == 2).collect() == []


def test_a_renamed_id_field_is_used() -> None:
    @sassi.cacheable(id="sku")
    @dataclass(frozen=True)
    class Item:
        sku: str
        price: int

    pool: Punnu[Item] = Punnu(Item)
    pool.apply_delta(Delta(items=[Item(f"s{i}", i) for i in range(600)]))
    I = sassi.fields(Item)  # noqa: E741
    assert pool.scope(I.sku == "s5").collect() == [Item("s5", 5)]
    assert pool.scope(I.sku == "s5").explain().startswith("id field 'sku'")


def test_id_operands_a_dict_cannot_trust_fall_back_to_a_scan() -> None:
    pool = pool_of(people(600))
    unhashable = FieldPredicate("id", LookupOp.EQ, [1])  # built raw: F.id == [1] is refused
    assert pool.scope(unhashable).explain().startswith("scan 600 residents")
    assert same_as_scan(pool, unhashable) == []
    equal = FieldPredicate("id", LookupOp.IN, (3.0, math.nan, 4))  # 3.0 == 3, same hash
    assert [p.id for p in same_as_scan(pool, equal)] == [3, 4]
    assert "2 candidates" in pool.scope(equal).explain()
    assert pool.scope(F.id.present() == 3).collect() == [people(600)[3]]
    assert same_as_scan(pool, F.id != 3) == scan(pool, F.id != 3)  # not an id lookup


# -- composite indexes ---------------------------------------------------------------------


def test_config_accepts_and_checks_composite_indexes() -> None:
    pool: Punnu[Person] = Punnu(Person, indexes=(("city", "age"), "email", ("age",)))
    assert pool.config.indexes == (("city", "age"), "email", "age")
    assert pool._core.indexes.fields == (("city", "age"), "email", "age")
    with pytest.raises(ValueError, match="'nope' is not a field"):
        Punnu(Person, indexes=(("city", "nope"),))
    with pytest.raises(ValueError, match="distinct"):
        Punnu(Person, indexes=(("city", "city"),))
    with pytest.raises(ValueError, match="duplicate"):
        Punnu(Person, indexes=(("city", "age"), ("city", "age")))
    with pytest.raises(ValueError, match="distinct"):
        Punnu(Person, indexes=((),))
    with pytest.raises(TypeError, match="field names"):
        Punnu(Person, indexes=(("city", 3),))  # type: ignore[arg-type]


def test_composite_equality_on_both_fields() -> None:
    pool = pool_of(people(20_000), indexes=(("city", "age"),))
    predicate = (F.city == "Pune") & (F.age == 41)
    got = same_as_scan(pool, predicate)
    assert got and all(p.city == "Pune" and p.age == 41 for p in got)
    assert pool.scope(predicate).explain() == (
        "index ('city', 'age') for F.city == 'Pune' & F.age == 41: "
        f"{len(got)} candidates of 20000 residents"
    )


def test_composite_equality_then_a_range_on_the_next_field() -> None:
    pool = pool_of(people(20_000), indexes=(("city", "age"),))
    predicate = (F.age.between(10, 12)) & (F.city == "Lima")
    got = same_as_scan(pool, predicate)
    assert got and {p.age for p in got} <= {10, 11, 12} and {p.city for p in got} == {"Lima"}
    explain = pool.scope(predicate).explain()
    assert explain.startswith("index ('city', 'age') for F.city == 'Lima' & F.age.between")
    assert f"{len(got)} candidates of 20000" in explain
    less = (F.city.in_(["Oslo", "Lima"])) & (F.age < 2)
    assert same_as_scan(pool, less)
    assert pool.scope(less).explain().startswith("index ('city', 'age')")


def test_composite_prefix_alone_and_none_values() -> None:
    pool = pool_of(people(2_000), indexes=(("city", "age"),))
    pool._core.indexes.selectivity_limit = 1.0
    assert same_as_scan(pool, F.city == "Oslo")
    assert same_as_scan(pool, F.city.is_null() & (F.age == 3))
    assert "index ('city', 'age')" in pool.scope(F.city.is_null() & (F.age == 3)).explain()
    present_none = FieldPredicate("city", LookupOp.EQ, None, True)  # raw: the builder refuses
    assert same_as_scan(pool, present_none & (F.age == 3)) == []
    # no equality on the first field, no range either: the composite cannot help
    assert pool.scope(F.age == 3).explain() == "scan 2000 residents: no indexed term"


def test_three_field_composite_with_a_range_in_the_middle() -> None:
    rows = [Person(i, CITIES[i % 3], i % 50, f"e{i % 7}") for i in range(6_000)]
    pool = pool_of(rows, indexes=(("city", "age", "email"),))
    middle = (F.city == "Pune") & (F.age >= 48)
    assert same_as_scan(pool, middle)
    assert pool.scope(middle).explain().startswith("index ('city', 'age', 'email')")
    full = (F.city == "Pune") & (F.age == 46) & (F.email.in_(["e1", "e2"]))
    got = same_as_scan(pool, full)
    assert got and "& F.email.in_" in pool.scope(full).explain()


def test_composite_keeps_up_with_writes_evictions_and_expiry() -> None:
    clock = FakeClock()
    pool: Punnu[Person] = Punnu(Person, capacity=50, clock=clock, indexes=(("city", "age"),))
    pool._core.indexes.selectivity_limit = 1.0
    for i in range(80):  # evicts 30
        pool.insert(Person(i, CITIES[i % 2], i % 5), ttl=100 if i % 3 else 5)
    pool.insert(Person(79, "Lima", 4))  # moves 79 to another city
    pool.invalidate(78)
    clock.advance(10)
    composite = pool._core.indexes.composites[("city", "age")]
    assert composite.ids() == set(pool._core.store.map)
    for predicate in ((F.city == "Oslo") & (F.age == 1), (F.city == "Lima") & (F.age >= 0)):
        same_as_scan(pool, predicate)
    pool.sweep_expired()
    pool.clear()
    assert composite.ids() == set() and len(composite) == 0


def test_unfileable_values_stay_candidates() -> None:
    index = CompositeIndex(("city", "age"))
    rows = {
        1: Person(1, "Oslo", 3),
        2: Person(2, ["not", "hashable"], 3),  # loose at the first level
        3: Person(3, "Oslo", {"loose": True}),  # loose at the second level
        4: Person(4, "Oslo", math.nan),
        5: Person(5, "Pune", 3),
    }
    for ident, row in rows.items():
        index.add(Entry(row, 0, None, 0, ident))

    def ids(terms: list[FieldPredicate]) -> list[int]:
        found = index.lookup(terms)
        assert found is not None
        return sorted(e.key for e in found)  # sorted: each entry once

    eq = [FieldPredicate("city", LookupOp.EQ, "Oslo"), FieldPredicate("age", LookupOp.EQ, 3)]
    assert ids(eq) == [1, 2, 3]
    ranged = [FieldPredicate("city", LookupOp.EQ, "Oslo"), FieldPredicate("age", LookupOp.GE, 0)]
    assert ids(ranged) == [1, 2, 3, 4]  # NaN cannot be ordered: a candidate
    both = [FieldPredicate("city", LookupOp.IN, ("Oslo", "Pune", "Oslo")), ranged[1]]
    assert ids(both) == [1, 2, 3, 4, 5]
    for ident in rows:
        index.discard(ident)
    assert len(index) == 0 and not index._root.children
    with pytest.raises(ValueError, match="two fields"):
        CompositeIndex(("city",))


def test_index_set_normalises_specs() -> None:
    indexes = IndexSet([("a",), "b", ("a", "b"), "b", ("a", "b")])
    assert indexes.fields == ("a", "b", ("a", "b"))
    assert ("a", "b") in indexes and "a" in indexes


# -- differential: indexed == scan -----------------------------------------------------------

_values = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.sampled_from([0.5, -0.0, math.nan, 2.0]),
    st.sampled_from(["a", "b", "é"]),
    st.just([1]),  # unhashable: loose
    st.booleans(),
)
_people = st.lists(
    st.builds(Person, st.integers(0, 40), _values, _values, st.sampled_from([None, "x", "y"])),
    max_size=40,
)
_operands = st.one_of(st.none(), st.integers(-3, 3), st.sampled_from(["a", "b", 0.5, math.nan]))


@st.composite
def _terms(draw: st.DrawFn, field: str) -> sassi.Predicate:
    f = getattr(F, field)
    kind = draw(st.sampled_from(["eq", "in", "null", "lt", "ge", "between", "present_eq"]))
    value = draw(_operands)
    if kind == "eq":
        return f == value  # type: ignore[no-any-return]
    if kind == "in":
        return f.in_(draw(st.lists(_operands, max_size=3)))  # type: ignore[no-any-return]
    if kind == "null":
        return f.is_null()  # type: ignore[no-any-return]
    if kind == "present_eq":
        return FieldPredicate(field, LookupOp.EQ, value, True)
    number = draw(st.integers(-3, 3))
    if kind == "lt":
        return f < number  # type: ignore[no-any-return]
    if kind == "ge":
        return f >= number  # type: ignore[no-any-return]
    return f.between(number, number + draw(st.integers(0, 3)))  # type: ignore[no-any-return]


_id_terms = st.one_of(
    st.integers(-1, 42).map(lambda k: F.id == k),
    st.lists(st.one_of(st.integers(-1, 42), st.just(1.0)), max_size=6).map(
        lambda ks: FieldPredicate("id", LookupOp.IN, tuple(ks))
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    rows=_people,
    later=_people,
    city=_terms("city"),
    age=_terms("age"),
    ident=st.none() | _id_terms,
    expire=st.booleans(),
)
def test_composite_and_id_queries_equal_a_scan(
    rows: list[Person],
    later: list[Person],
    city: sassi.Predicate,
    age: sassi.Predicate,
    ident: sassi.Predicate | None,
    expire: bool,
) -> None:
    clock = FakeClock()
    pool: Punnu[Person] = Punnu(
        Person, capacity=60, clock=clock, indexes=(("city", "age"), ("age", "city", "email"))
    )
    pool._core.indexes.selectivity_limit = 1.0
    pool.apply_delta(Delta(items=rows))
    pool.apply_delta(Delta(items=later[::2], tombstones=[r.id for r in later[1::2]]))
    for row in later[:5]:
        pool.insert(row, ttl=1.0 if expire else None)
    if expire:
        clock.advance(2.0)
    conjunction = city & age
    for predicate in (conjunction, city, age, age & city, F.email.is_null() & conjunction):
        same_as_scan(pool, predicate)
        if ident is not None:
            same_as_scan(pool, ident & predicate)
    for composite in pool._core.indexes.composites.values():
        assert composite.ids() == set(pool._core.store.map)

"""Secondary indexes inside a Punnu: kept in step with every write path, identical to a scan.

The scan reference is the same pool queried through a scope whose first op is not a ``where``
(``scope().skip(0).where(p)``): the planner only hoists leading ``where`` ops, so that scope always
scans. Every check also verifies that each index holds exactly the resident ids.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sassi
from sassi import Delta, OnConflict, Punnu
from sassi.testing import FakeClock


@dataclass(frozen=True)
class Row:
    id: int
    age: int | None = None
    score: float | None = None
    name: str | None = None
    tag: Any = None


F = sassi.fields(Row)
INDEXED = ("age", "score", "name", "tag")


def make_pool(*, always_index: bool = True, **options: Any) -> Punnu[Row]:
    """A pool indexing ``INDEXED``; by default the planner uses an index whenever one applies
    (tiny test pools would otherwise always scan)."""
    options.setdefault("indexes", INDEXED)
    pool = Punnu(Row, **options)
    if always_index:
        pool._core.indexes.selectivity_limit = 1.0
    return pool


def index_ids(pool: Punnu[Row]) -> dict[str, set[int]]:
    return {name: set(ix._key_of) for name, ix in pool._core.indexes.indexes.items()}


def assert_in_step(pool: Punnu[Row]) -> None:
    """Every index holds exactly the resident ids (expired-but-resident included), and files
    each resident's current store entry (the very object in the map), once."""
    entries = pool._core.store.map
    resident = set(entries)
    for name, ids in index_ids(pool).items():
        assert ids == resident, name
    for name, index in pool._core.indexes.indexes.items():
        filed: list[Any] = list(index._loose.values())
        for bucket in index._buckets.values():
            filed.extend(bucket.values() if type(bucket) is dict else [bucket])
        assert Counter(e.key for e in filed) == Counter(resident), name  # each once
        assert all(entry is entries[entry.key] for entry in filed), name
        assert all(entries[k] is e for k, e in index._unordered.items()), name


def scan(pool: Punnu[Row], predicate: sassi.Predicate) -> list[Row]:
    return pool.scope().skip(0).where(predicate).collect()


def assert_same_as_scan(pool: Punnu[Row], predicate: sassi.Predicate) -> list[Row]:
    indexed = pool.scope(predicate).collect()
    reference = scan(pool, predicate)
    assert indexed == reference  # same rows, same order (expired residents around or not)
    return indexed


def ids(rows: list[Row]) -> list[int]:
    return sorted(r.id for r in rows)


# -- configuration ----------------------------------------------------------------------------


def test_unknown_index_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="indexes"):
        Punnu(Row, indexes=("age", "nope"))


def test_config_records_the_indexes() -> None:
    pool = make_pool(indexes=("age", "name"))
    assert pool.config.indexes == ("age", "name")
    assert pool._core.indexes.fields == ("age", "name")


def test_a_pool_without_indexes_has_no_observer_cost() -> None:
    pool = Punnu(Row)
    assert not pool._core.indexes
    assert pool._core.indexes not in pool._core.store.observers
    pool.insert(Row(1, age=3))
    assert pool.scope(F.age == 3).explain().startswith("scan 1 residents")


# -- explain ----------------------------------------------------------------------------------


def test_small_pools_use_an_applicable_index_whatever_its_selectivity() -> None:
    pool = make_pool(always_index=False)
    for i in range(10):
        pool.insert(Row(i, age=i % 2))
    assert pool.scope(F.age == 1).explain() == (
        "index 'age' for F.age == 1: 5 candidates of 10 residents"
    )
    assert ids(assert_same_as_scan(pool, F.age == 1)) == [1, 3, 5, 7, 9]
    assert pool.scope(F.age >= 0).explain().startswith("index 'age'")


def test_explain_names_the_index_or_the_scan() -> None:
    pool = make_pool(capacity=2000, always_index=False)
    pool.apply_delta(Delta(items=tuple(Row(i, age=i % 50, name=f"n{i}") for i in range(1000))))
    assert pool.scope(F.name == "n7").explain() == (
        "index 'name' for F.name == 'n7': 1 candidates of 1000 residents"
    )
    broad = pool.scope(F.age >= 1).explain()
    assert broad.startswith("scan 1000 residents") and "'age'" in broad
    assert "no indexed term" in pool.scope(F.name.startswith("n1")).explain()
    assert "no leading where" in pool.scope().explain()
    assert "no leading where" in pool.scope().take(3).where(F.name == "n7").explain()
    both = pool.scope(F.age == 7, F.name == "n57").explain()
    assert both.startswith("index 'name'")
    chained = pool.scope(F.age < 40).where(F.name == "n7").explain()
    assert chained.startswith("index 'name'")


# -- every write path -------------------------------------------------------------------------


def test_insert_replace_and_invalidate() -> None:
    pool = make_pool()
    pool.insert(Row(1, age=10, name="a"))
    pool.insert(Row(2, age=20, name="b"))
    assert ids(assert_same_as_scan(pool, F.age == 10)) == [1]
    pool.insert(Row(1, age=20, name="c"))  # LAST_WRITE_WINS replace moves the id
    assert ids(assert_same_as_scan(pool, F.age == 10)) == []
    assert ids(assert_same_as_scan(pool, F.age == 20)) == [1, 2]
    assert pool.invalidate(2)
    assert ids(assert_same_as_scan(pool, F.age == 20)) == [1]
    assert_in_step(pool)


def test_update_and_reject_policies() -> None:
    update = make_pool(on_conflict=OnConflict.UPDATE)
    update.insert(Row(1, age=1))
    update.insert(Row(1, age=2))
    assert ids(assert_same_as_scan(update, F.age == 2)) == [1]
    reject = make_pool(on_conflict=OnConflict.REJECT)
    reject.insert(Row(1, age=1))
    with pytest.raises(sassi.ConflictError):
        reject.insert(Row(1, age=2))
    assert ids(assert_same_as_scan(reject, F.age == 1)) == [1]
    assert ids(assert_same_as_scan(reject, F.age == 2)) == []
    assert_in_step(update)
    assert_in_step(reject)


def test_lru_eviction_removes_from_indexes() -> None:
    pool = make_pool(capacity=2)
    for i in range(5):
        pool.insert(Row(i, age=7))
    assert len(pool) == 2
    assert ids(assert_same_as_scan(pool, F.age == 7)) == [3, 4]
    assert_in_step(pool)


def test_expired_entries_are_never_returned() -> None:
    clock = FakeClock()
    pool = make_pool(clock=clock, capacity=10)
    pool.insert(Row(1, age=5), ttl=10)
    pool.insert(Row(2, age=5))
    pool.insert(Row(3, age=6), ttl=30)
    clock.advance(10)  # deadline <= now is expired; lazily, nothing is removed
    assert len(pool) == 3
    assert ids(assert_same_as_scan(pool, F.age == 5)) == [2]
    assert ids(assert_same_as_scan(pool, F.age.between(0, 10))) == [2, 3]
    assert_in_step(pool)
    assert pool.sweep_expired() == 1
    assert_in_step(pool)
    clock.advance(20)
    assert ids(assert_same_as_scan(pool, F.age >= 0)) == [2]
    # capacity pressure drops expired entries silently first
    for i in range(10, 19):
        pool.insert(Row(i, age=6))
    assert 3 not in pool._core.store.map
    assert_in_step(pool)


def test_apply_delta_items_and_tombstones() -> None:
    pool = make_pool()
    for i in range(5):
        pool.insert(Row(i, age=i))
    stats = pool.apply_delta(
        Delta(items=(Row(1, age=40), Row(9, age=40), Row(9, age=41)), tombstones=(2, 9, 4))
    )
    assert stats.tombstones_evicted == 2
    assert ids(assert_same_as_scan(pool, F.age == 40)) == [1]
    assert ids(assert_same_as_scan(pool, F.age.in_([2, 4, 41]))) == []
    assert ids(assert_same_as_scan(pool, F.age < 5)) == [0, 3]
    assert_in_step(pool)


def test_queries_combine_index_and_residual_terms() -> None:
    pool = make_pool(capacity=10_000, always_index=False)
    for i in range(2000):
        pool.insert(Row(i, age=None if i % 9 == 0 else i % 60, score=i / 7, name=f"u{i % 300}"))
    queries = [
        (F.name == "u17") & (F.age >= 20),
        F.age.is_null() & (F.score < 100),
        (F.age < 2) & F.name.startswith("u1"),
        F.age.present() < 2,
        F.score.between(10.0, 12.5),
        F.name.in_(["u1", "u2", "missing"]) & ~(F.age == 1),
        (F.age == 3) | (F.age == 4),
        F.name.iexact("U17"),
        F.age == 999,
    ]
    for predicate in queries:
        assert_same_as_scan(pool, predicate)
    assert pool.scope(queries[0]).explain().startswith("index 'name'")
    assert pool.scope(queries[4]).explain().startswith("index 'score'")


def test_scope_ops_after_the_indexed_where_still_run_in_order() -> None:
    pool = make_pool()
    for i in range(100):
        pool.insert(Row(i, age=i % 10, name=f"n{i}"))
    scope = pool.scope(F.age == 3).sort(F.name, reverse=True).take(2).map(lambda r: r.id)
    assert scope.collect() == [93, 83]
    assert pool.scope(F.age == 3).count() == 10
    assert pool.scope(F.age == 3).exists()
    assert not pool.scope(F.age == 11).exists()
    assert pool.scope(F.age == 3).first() == scan(pool, F.age == 3)[0]


def test_mixed_types_nan_and_unhashable_values_in_an_any_field() -> None:
    pool = make_pool()
    values: list[Any] = [1, 1.0, True, "1", None, float("nan"), [1], {"a": 1}, (1, 2), 2.5, "b"]
    for i, tag in enumerate(values):
        pool.insert(Row(i, tag=tag))
    for predicate in (
        F.tag == 1,
        F.tag == "1",
        F.tag.in_([2.5, "b", None]),
        F.tag.is_null(),
        F.tag < 2,
        F.tag > "a",
        F.tag.present() <= 2.5,
        F.tag.between(1, 3),
        F.tag == float("nan"),
        F.tag < float("nan"),
        F.tag == (1, 2),
    ):
        assert_same_as_scan(pool, predicate)
    assert_in_step(pool)


# -- differential: random operation sequences -------------------------------------------------

_values: dict[str, st.SearchStrategy[Any]] = {
    "age": st.integers(0, 6),
    "score": st.one_of(st.floats(-3, 3, width=16), st.just(float("nan"))),
    "name": st.sampled_from(["a", "ab", "b", "B", "é"]),
    "tag": st.one_of(st.integers(0, 3), st.sampled_from(["x", 1.5, (1,), float("nan")])),
}
_age, _score, _name, _tag = (st.one_of(st.none(), v) for v in _values.values())
_rows = st.builds(Row, id=st.integers(0, 15), age=_age, score=_score, name=_name, tag=_tag)

_ops = st.one_of(
    st.tuples(st.just("insert"), _rows, st.one_of(st.none(), st.sampled_from([1.0, 5.0]))),
    st.tuples(st.just("invalidate"), st.integers(0, 15)),
    st.tuples(st.just("advance"), st.sampled_from([0.5, 1.0, 3.0])),
    st.tuples(st.just("sweep")),
    st.tuples(
        st.just("delta"),
        st.lists(_rows, max_size=4),
        st.lists(st.integers(0, 15), max_size=3),
    ),
)


_ALL_KINDS = ("eq", "in", "lt", "le", "gt", "ge", "between", "null")


@st.composite
def _leaves(draw: st.DrawFn, kinds: tuple[str, ...] = _ALL_KINDS) -> sassi.Predicate:
    which = draw(st.sampled_from(["age", "score", "name", "tag"]))
    field = getattr(F, which)
    present = draw(st.booleans())
    if present:
        field = field.present()
    kind = draw(st.sampled_from(kinds))
    not_none = _values[which]
    operand = st.one_of(st.none(), not_none)
    if kind == "null":
        return getattr(F, which).is_null()  # type: ignore[no-any-return]
    if kind == "in":
        items = draw(st.lists(not_none if present else operand, max_size=3))
        return field.in_(items)  # type: ignore[no-any-return]
    value = draw(not_none)
    if which == "tag" and kind in ("lt", "le", "gt", "ge", "between"):
        value = draw(st.integers(0, 3))
    if kind == "between":
        return field.between(value, value if which == "name" else value + 1)  # type: ignore[no-any-return]
    return getattr(field, kind)(value)  # type: ignore[no-any-return]


_predicates = st.one_of(
    _leaves(),
    st.lists(_leaves(), min_size=2, max_size=3).map(lambda ps: sassi.And(tuple(ps))),
    st.tuples(_leaves(), _leaves()).map(lambda p: p[0] & (p[1] | ~p[0])),
    # several equality terms: the planner intersects their index lookups
    st.lists(_leaves(("eq", "in", "null")), min_size=2, max_size=3).map(
        lambda ps: sassi.And(tuple(ps))
    ),
)


@settings(max_examples=150, deadline=None)
@given(
    ops=st.lists(_ops, max_size=30),
    predicates=st.lists(_predicates, min_size=1, max_size=4),
    capacity=st.sampled_from([4, 8, 100]),
)
def test_indexed_scopes_equal_scans_after_random_operations(
    ops: list[tuple[Any, ...]], predicates: list[sassi.Predicate], capacity: int
) -> None:
    clock = FakeClock()
    pool = make_pool(capacity=capacity, clock=clock)
    for op in ops:
        match op:
            case ("insert", row, ttl):
                pool.insert(row, ttl=ttl)
            case ("invalidate", ident):
                pool.invalidate(ident)
            case ("advance", seconds):
                clock.advance(seconds)
            case ("sweep",):
                pool.sweep_expired()
            case ("delta", items, tombstones):
                pool.apply_delta(Delta(items=tuple(items), tombstones=tuple(tombstones)))
        assert_in_step(pool)
        assert_same_as_scan(pool, predicates[0])  # queries interleaved with writes
    for predicate in predicates:
        assert_same_as_scan(pool, predicate)


# -- threads ----------------------------------------------------------------------------------


def test_indexed_scopes_are_consistent_under_concurrent_writes() -> None:
    """A writer thread moves rows between two buckets in atomic deltas while readers query.

    Each delta flips a whole group of 10 rows from ``age == 1`` to ``age == 2`` (or back) in
    one commit, so a reader must always see every group entirely on one side, and every row
    it gets must satisfy the predicate.
    """
    import threading

    pool = make_pool(capacity=1000)
    groups = 8
    for g in range(groups):
        pool.apply_delta(
            Delta(items=tuple(Row(g * 10 + i, age=1, name=f"g{g}") for i in range(10)))
        )
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            flip = 0
            while not stop.is_set():
                flip += 1
                g = flip % groups
                age = 2 if (flip // groups) % 2 else 1
                pool.apply_delta(
                    Delta(items=tuple(Row(g * 10 + i, age=age, name=f"g{g}") for i in range(10)))
                )
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(300):
            for age in (1, 2):
                rows = pool.scope(F.age == age).collect()
                assert all(r.age == age for r in rows)
                per_group: dict[str | None, int] = {}
                for r in rows:
                    per_group[r.name] = per_group.get(r.name, 0) + 1
                assert set(per_group.values()) <= {10}, per_group
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert_in_step(pool)


# -- snapshots, L2 read-through, backend invalidation -----------------------------------------


def test_restore_replaces_the_indexed_contents() -> None:
    source = make_pool()
    for i in range(6):
        source.insert(Row(i, age=i % 3, name=f"s{i}"))
    target = make_pool()
    for i in range(4, 10):
        target.insert(Row(i, age=7, name=f"t{i}"))
    target.restore(source.snapshot())
    assert_in_step(target)
    assert ids(assert_same_as_scan(target, F.age == 7)) == []
    assert ids(assert_same_as_scan(target, F.age == 1)) == [1, 4]
    target.restore_entries(source.export_entries())
    assert_in_step(target)
    assert ids(assert_same_as_scan(target, F.name.in_(["s5", "t9"]))) == [5]


def test_load_from_the_backend_fills_the_indexes() -> None:
    backend = sassi.backends.MemoryBackend()
    writer = make_pool(backend=backend)
    writer.insert(Row(1, age=30, name="x"))
    reader = make_pool(backend=backend)
    assert ids(assert_same_as_scan(reader, F.age == 30)) == []
    loaded = reader.load(1)
    assert loaded == Row(1, age=30, name="x")
    assert ids(assert_same_as_scan(reader, F.age == 30)) == [1]
    assert_in_step(reader)


@pytest.mark.anyio
async def test_backend_invalidation_messages_update_the_indexes() -> None:
    backend = sassi.backends.MemoryBackend()
    listener = make_pool(backend=backend)
    other = make_pool(backend=backend)
    for i in range(4):
        await listener.ainsert(Row(i, age=5))
    with listener.events() as events:
        async with listener.background():
            assert listener._tier is not None
            await listener.wait_listening()
            await other.ainvalidate(2)
            event = await events.receive()
            assert event == sassi.Invalidated(2, sassi.EventReason.BACKEND_INVALIDATION)
            assert ids(assert_same_as_scan(listener, F.age == 5)) == [0, 1, 3]
            assert_in_step(listener)


# -- fetch inserts, invalidate_where, periodic refresh ----------------------------------------


def test_fetch_inserts_are_indexed() -> None:
    pool = make_pool()
    assert pool.get_or_fetch(1, lambda i: Row(i, age=9)) == Row(1, age=9)
    fetched = pool.get_or_fetch_many([1, 2, 3], lambda ids: [Row(i, age=9) for i in ids])
    assert sorted(r.id for r in fetched) == [1, 2, 3]
    assert ids(assert_same_as_scan(pool, F.age == 9)) == [1, 2, 3]
    assert_in_step(pool)


@pytest.mark.anyio
async def test_async_fetch_inserts_are_indexed() -> None:
    pool = make_pool()

    async def one(i: int) -> Row:
        return Row(i, name="fetched")

    async def many(wanted: list[int]) -> list[Row]:
        return [Row(i, name="batch") for i in wanted]

    await pool.aget_or_fetch(5, one)
    await pool.aget_or_fetch_many([5, 6, 7], many)
    assert ids(assert_same_as_scan(pool, F.name == "fetched")) == [5]
    assert ids(assert_same_as_scan(pool, F.name == "batch")) == [6, 7]
    assert_in_step(pool)


def test_invalidate_where_uses_and_updates_the_indexes() -> None:
    pool = make_pool()
    for i in range(30):
        pool.insert(Row(i, age=i % 3))
    assert pool.invalidate_where(F.age == 1) == 10
    assert ids(assert_same_as_scan(pool, F.age == 1)) == []
    assert len(ids(assert_same_as_scan(pool, F.age.in_([0, 2])))) == 20
    assert_in_step(pool)


@pytest.mark.anyio
async def test_replace_refresh_updates_the_indexes() -> None:
    pool = make_pool()
    for i in range(5):
        pool.insert(Row(i, age=1))

    async def fetch_all() -> list[Row]:
        return [Row(i, age=2) for i in range(3, 8)]

    async with pool.periodic_refresh(3600, fetch_all, mode=sassi.RefreshMode.REPLACE) as handle:
        await handle.refresh_now()
    assert ids(assert_same_as_scan(pool, F.age == 1)) == []
    assert ids(assert_same_as_scan(pool, F.age == 2)) == [3, 4, 5, 6, 7]
    assert_in_step(pool)


def test_indexes_file_the_stores_entries_and_keep_pool_order() -> None:
    """Buckets hold the store's own entries (no trip through the map), each resident's current
    one; candidates come back in pool order also after swap-removes and bucket moves shuffled
    the buckets' filing order (that path sorts positions), and with deadlines around."""
    clock = FakeClock()
    pool = make_pool(capacity=1000, clock=clock)
    pool.apply_delta(Delta(items=[Row(i, age=i % 3, name=f"n{i % 5}") for i in range(60)]))
    entries = pool._core.store.map

    def filed(age: int) -> list[Any]:
        found = pool._core.indexes.indexes["age"].lookup(F.age == age)
        assert found is not None
        return found

    assert all(entry is entries[entry.key] for entry in filed(1))
    in_order = [e.pos for e in filed(1)]
    assert in_order == sorted(in_order)  # fresh pool: filing order is pool order
    assert_same_as_scan(pool, F.age == 1)

    pool.insert(Row(4, age=1, name="moved"))  # same bucket, new entry: replaced in place
    assert entries[4] in filed(1) and [e.key for e in filed(1)][:2] == [1, 4]
    for ident in (0, 3, 9, 12):  # swap-removes move the last residents to low positions
        pool.invalidate(ident)
    pool.insert(Row(7, age=0))  # leaves the age-1 bucket, joins age 0 at its end
    pool.insert(Row(2, age=1))  # joins age 1 at its end, from an early position
    shuffled = [e.pos for e in filed(1)]
    assert shuffled != sorted(shuffled)
    for predicate in (F.age == 1, F.age.in_([0, 1]), F.age >= 1, (F.age == 1) & (F.name == "n1")):
        got = assert_same_as_scan(pool, predicate)
        assert got == [v for v in pool._core.store.values if predicate(v)]

    for ident in range(0, 60, 4):  # some residents get a deadline, a few of them expire
        if ident in pool:
            pool.insert(Row(ident, age=ident % 3), ttl=5 if ident % 8 else 50)
    clock.advance(10)
    for predicate in (F.age == 1, F.age.between(0, 2)):
        got = assert_same_as_scan(pool, predicate)
        assert got and not [v for v in got if v.id % 8 == 4]  # the ttl=5 ones expired
        assert [v for v in got if v.id % 8 == 0]  # the ttl=50 ones did not

"""L1 invariants under random operation sequences (hypothesis) and sampled-LRU behaviour."""

from __future__ import annotations

import itertools
import random
import threading
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import drain
from sassi import (
    ConflictError,
    Delta,
    Event,
    EventReason,
    Inserted,
    Invalidated,
    OnConflict,
    Punnu,
    Updated,
)
from sassi._eviction import pick_victim
from sassi._store import Store
from sassi.testing import FakeClock


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    version: int


class ExactModel:
    """The reference semantics for small pools (<= 5 residents when evicting: exact LRU)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.entries: dict[int, list[Any]] = {}  # id -> [value, epoch, deadline]
        self.epoch = itertools.count(1)

    def live(self, key: int, now: float) -> bool:
        entry = self.entries.get(key)
        return entry is not None and (entry[2] is None or entry[2] > now)

    def insert(self, value: Row, ttl: float | None, now: float) -> list[Event]:
        events: list[Event] = []
        self.entries[value.id] = [value, next(self.epoch), None if ttl is None else now + ttl]
        if len(self.entries) > self.capacity:
            for key in [k for k in self.entries if not self.live(k, now)]:
                del self.entries[key]
            while len(self.entries) > self.capacity:
                victim = min((k for k in self.entries if k != value.id), key=self.epoch_of)
                del self.entries[victim]
                events.append(Invalidated(victim, EventReason.LRU_EVICT))
        events.append(Inserted(value))
        return events

    def epoch_of(self, key: int) -> int:
        return int(self.entries[key][1])

    def get(self, key: int, now: float) -> Row | None:
        if not self.live(key, now):
            return None
        self.entries[key][1] = next(self.epoch)
        return self.entries[key][0]  # type: ignore[no-any-return]

    def invalidate(self, key: int, now: float) -> list[Event]:
        was_live = self.live(key, now)
        self.entries.pop(key, None)
        return [Invalidated(key, EventReason.MANUAL)] if was_live else []

    def sweep(self, now: float) -> list[Event]:
        dead = [k for k in self.entries if not self.live(k, now)]
        for key in dead:
            del self.entries[key]
        return [Invalidated(k, EventReason.TTL_EXPIRED) for k in dead]

    def contents(self, now: float) -> dict[int, Row]:
        return {k: e[0] for k, e in self.entries.items() if self.live(k, now)}


ids = st.integers(0, 7)
ttls = st.none() | st.sampled_from([0.5, 1.0, 3.0])
exact_ops = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), ids, ttls),
        st.tuples(st.just("get"), ids),
        st.tuples(st.just("invalidate"), ids),
        st.tuples(st.just("advance"), st.sampled_from([0.25, 0.5, 1.0])),
        st.tuples(st.just("sweep")),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(capacity=st.integers(1, 4), ops=exact_ops)
def test_small_pools_match_the_exact_lru_model(capacity: int, ops: list[tuple[Any, ...]]) -> None:
    clock = FakeClock()
    pool = Punnu(Row, capacity=capacity, clock=clock, event_capacity=10_000)
    model = ExactModel(capacity)
    sub = pool.events()
    versions = itertools.count()
    for op in ops:
        now = clock()
        if op[0] == "insert":
            value = Row(op[1], next(versions))
            assert pool.insert(value, ttl=op[2]) is value
            expected = model.insert(value, op[2], now)
        elif op[0] == "get":
            assert pool.get(op[1]) is model.get(op[1], now)
            expected = []
        elif op[0] == "invalidate":
            expected = model.invalidate(op[1], now)
            assert pool.invalidate(op[1]) is bool(expected)
        elif op[0] == "advance":
            clock.advance(op[1])
            expected = []
        else:
            expected = model.sweep(now)
            assert pool.sweep_expired() == len(expected)
            actual = drain(sub)
            assert sorted(actual, key=repr) == sorted(expected, key=repr)
            continue
        assert drain(sub) == expected
        assert len(pool) <= capacity
        assert {r.id: r for r in pool.scope().collect()} == model.contents(clock())


mixed_ops = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(0, 40), ttls),
        st.tuples(st.just("get"), st.integers(0, 40)),
        st.tuples(st.just("invalidate"), st.integers(0, 40)),
        st.tuples(st.just("advance"), st.sampled_from([0.5, 1.0])),
        st.tuples(st.just("sweep")),
        st.tuples(
            st.just("delta"),
            st.lists(st.integers(0, 40), max_size=12),
            st.lists(st.integers(0, 40), max_size=4),
        ),
    ),
    max_size=50,
)


@settings(max_examples=150, deadline=None)
@given(
    capacity=st.integers(1, 12),
    ttl=st.none() | st.just(2.0),
    policy=st.sampled_from(list(OnConflict)),
    ops=mixed_ops,
)
def test_random_operations_keep_invariants(
    capacity: int, ttl: float | None, policy: OnConflict, ops: list[tuple[Any, ...]]
) -> None:
    """len <= capacity after every write; get never returns another id's value; the event
    stream replays the visible contents exactly; REJECT never replaces a live value."""
    clock = FakeClock()
    pool = Punnu(
        Row, capacity=capacity, ttl=ttl, clock=clock, event_capacity=100_000, on_conflict=policy
    )
    sub = pool.events()
    versions = itertools.count()
    replica: dict[int, Row] = {}
    for op in ops:
        if op[0] == "insert":
            before = pool.get(op[1])
            try:
                pool.insert(Row(op[1], next(versions)), ttl=op[2])
            except ConflictError:
                assert policy is OnConflict.REJECT and before is not None
                assert pool.get(op[1]) is before
        elif op[0] == "get":
            got = pool.get(op[1])
            assert got is None or got.id == op[1]
        elif op[0] == "invalidate":
            pool.invalidate(op[1])
        elif op[0] == "advance":
            clock.advance(op[1])
        elif op[0] == "sweep":
            pool.sweep_expired()
        else:
            items = [Row(i, next(versions)) for i in op[1]]
            stats = pool.apply_delta(Delta(items=items, tombstones=op[2]))
            assert stats.applied_items <= len({r.id for r in items} - set(op[2]))
        assert len(pool) <= capacity
        assert len(pool._core.store.keys) == len(pool._core.store.values) == len(pool)
        for event in drain(sub):
            if isinstance(event, Inserted):
                replica[event.value.id] = event.value
            elif isinstance(event, Updated):
                assert policy is OnConflict.UPDATE
                assert replica[event.old.id] is event.old
                replica[event.new.id] = event.new
            else:
                assert isinstance(event, Invalidated)
                replica.pop(event.id, None)
        live = {r.id: r for r in pool.scope().collect()}
        # every live value was announced; announced values that are gone expired silently
        for key, value in live.items():
            assert replica[key] is value
        for key in set(replica) - set(live):
            assert key not in pool
        for pos, resident in enumerate(pool._core.store.keys):
            entry = pool._core.store.map[resident]
            assert entry.pos == pos and pool._core.store.values[pos] is entry.value


def test_capacity_holds_under_insert_pressure_and_recent_entries_survive() -> None:
    pool = Punnu(Row, capacity=100)
    for i in range(5_000):
        pool.insert(Row(i, 0))
        assert len(pool) <= 100
    assert 4_999 in pool
    # sampled LRU keeps the young: the oldest survivor is far younger than the first inserts
    assert min(r.id for r in pool.scope().collect()) > 4_000


def test_single_insert_never_evicts_itself() -> None:
    pool = Punnu(Row, capacity=1)
    for i in range(50):
        pool.insert(Row(i, 0))
        assert pool.get(i) == Row(i, 0)


def test_pick_victim_is_lowest_epoch_when_sample_covers_everything() -> None:
    store = Store()
    for key, epoch in [(1, 5), (2, 3), (3, 9)]:
        store.put(key, Row(key, 0), epoch, None)
    assert pick_victim(store) == 2
    assert pick_victim(store, protect=2) == 1
    assert pick_victim(Store()) is None


def test_pick_victim_falls_back_to_global_minimum_when_protected_is_sampled() -> None:
    store = Store()
    for key in range(20):
        store.put(key, Row(key, 0), 100 + key, None)
    store.map[7].epoch = 0  # the protected id is the oldest everywhere
    rng = random.Random(1)
    for _ in range(50):
        assert pick_victim(store, protect=7, rng=rng) != 7
    # with the protected id sampled, the fallback is the global minimum among the others
    only_protected_and_new = Store()
    only_protected_and_new.put("p", Row(0, 0), 0, None)
    only_protected_and_new.put("q", Row(1, 0), 50, None)
    assert pick_victim(only_protected_and_new, protect="p") == "q"


@pytest.mark.parametrize("n", [6, 7, 9])
def test_pick_victim_samples_five_distinct_residents(n: int) -> None:
    """Five distinct residents of ``n``: the victim is always among the ``n - 4`` oldest (a
    sample with a repeat could pick a younger one), and each of those is sometimes picked."""
    store = Store()
    for key in range(n):
        store.put(key, Row(key, 0), key, None)  # epoch == id
    rng = random.Random(5)
    victims = {pick_victim(store, rng=rng) for _ in range(3_000)}
    assert victims == set(range(n - 4))


def test_entry_positional_reads_match_attributes() -> None:
    from sassi._store import DEADLINE, EPOCH, POS, VALUE, Entry

    entry = Entry("v", 7, 1.5, 3)
    assert (entry[VALUE], entry[EPOCH], entry[DEADLINE], entry[POS]) == ("v", 7, 1.5, 3)


def test_store_swap_remove_keeps_positions_dense() -> None:
    store = Store()
    for key in range(6):
        store.put(key, Row(key, 0), key, None)
    store.remove(0)
    store.remove(3)
    assert set(store.keys) == {1, 2, 4, 5} and len(store.keys) == 4
    for pos, resident in enumerate(store.keys):
        assert store.map[resident].pos == pos
        assert store.values[pos] is store.map[resident].value
    assert store.remove(42) is None


def test_concurrent_writers_and_readers_keep_capacity_and_identity() -> None:
    pool = Punnu(Row, capacity=64)
    errors: list[str] = []
    barrier = threading.Barrier(6)

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        barrier.wait()
        for n in range(2_000):
            key = rng.randrange(200)
            if n % 7 == 0:
                pool.invalidate(key)
            elif n % 11 == 0:
                pool.apply_delta(Delta(items=[Row(rng.randrange(200), n) for _ in range(5)]))
            else:
                pool.insert(Row(key, n))

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        barrier.wait()
        for _ in range(4_000):
            key = rng.randrange(200)
            got = pool.get(key)
            if got is not None and got.id != key:
                errors.append(f"{key} -> {got}")
            if len(pool) > 64:
                errors.append(f"len {len(pool)}")

    threads = [threading.Thread(target=writer, args=(s,)) for s in range(3)]
    threads += [threading.Thread(target=reader, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(pool) <= 64
    assert set(pool._core.store.keys) == set(pool._core.store.map)
    assert len(pool._core.store.keys) == len(pool._core.store.map)


def test_concurrent_ttl_writes_sweeps_and_scopes_stay_consistent() -> None:
    clock = FakeClock()
    pool = Punnu(Row, capacity=50, ttl=5, clock=clock)
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def guarded(fn: Any) -> Any:
        def run(*args: Any) -> None:
            try:
                barrier.wait()
                fn(*args)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        return run

    @guarded
    def writer(seed: int) -> None:
        rng = random.Random(seed)
        for n in range(1_500):
            pool.insert(Row(rng.randrange(120), n), ttl=rng.choice([None, 1.0, 3.0]))
            if n % 50 == 0:
                clock.advance(0.5)

    @guarded
    def sweeper() -> None:
        for _ in range(300):
            pool.sweep_expired()

    @guarded
    def reader() -> None:
        for _ in range(300):
            rows = pool.scope().collect()
            assert len(rows) <= 50
            assert len({r.id for r in rows}) == len(rows)

    threads = [
        threading.Thread(target=writer, args=(1,)),
        threading.Thread(target=writer, args=(2,)),
        threading.Thread(target=sweeper),
        threading.Thread(target=reader),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store = pool._core.store
    assert len(store.map) == len(store.keys) == len(store.values) <= 50
    assert store.timed == sum(1 for e in store.map.values() if e.deadline is not None)
    live_in_heap = {id(row[3]) for row in store.heap}
    for entry in store.map.values():
        if entry.deadline is not None:
            assert id(entry) in live_in_heap

"""apply_delta: one atomic commit (reference section 2.9, contracts 68-73)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

import sassi
from helpers import drain
from sassi import (
    Delta,
    DeltaStats,
    EventReason,
    Inserted,
    Invalidated,
    OnConflict,
    Punnu,
    Updated,
)
from sassi.testing import FakeClock


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    v: str = ""
    group: int = 0


def test_delta_defaults_and_fields() -> None:
    delta: Delta[Row] = Delta()
    assert delta.items == () and delta.tombstones == frozenset() and delta.high_watermark is None
    d = Delta(items=[Row(1)], tombstones=[2, 2], high_watermark=9)
    assert d.items == (Row(1),) and d.tombstones == frozenset({2}) and d.high_watermark == 9
    assert DeltaStats() == DeltaStats(0, 0, 0, 0)
    q: sassi.DeltaQuery[Row] = sassi.DeltaQuery(since=3, recover_ids=frozenset({1}))
    assert q.since == 3 and q.recover_ids == {1}
    assert sassi.DeltaQuery().since is None


def test_tombstone_wins_over_item_for_the_same_id() -> None:
    pool = Punnu(Row)
    pool.insert(Row(1, "old"))
    sub = pool.events()
    stats = pool.apply_delta(Delta(items=[Row(1, "new"), Row(2)], tombstones=[1]))
    assert stats == DeltaStats(applied_items=1, tombstones_evicted=1)
    assert pool.get(1) is None
    assert drain(sub) == [Invalidated(1, EventReason.ON_DELETE), Inserted(Row(2))]


def test_tombstone_for_an_item_never_seen_is_a_noop() -> None:
    pool = Punnu(Row)
    sub = pool.events()
    stats = pool.apply_delta(Delta(items=[Row(5)], tombstones=[5, 6]))
    assert stats == DeltaStats()
    assert len(pool) == 0
    assert drain(sub) == []


def test_absence_from_items_never_deletes() -> None:
    pool = Punnu(Row)
    for i in range(3):
        pool.insert(Row(i, "a", group=1))
    stats = pool.apply_delta(Delta(items=[Row(1, "b", group=2)]))
    assert stats.applied_items == 1
    assert sorted(r.id for r in pool.scope().collect()) == [0, 1, 2]
    # a row that leaves a query filter is updated, not deleted
    F = sassi.fields(Row)
    assert sorted(r.id for r in pool.scope(F.group == 1).collect()) == [0, 2]


def test_reject_skips_live_priors_silently() -> None:
    pool = Punnu(Row, on_conflict=OnConflict.REJECT)
    pool.insert(Row(1, "old"))
    sub = pool.events()
    stats = pool.apply_delta(Delta(items=[Row(1, "new"), Row(2)]))
    assert stats.applied_items == 1
    assert pool.get(1) == Row(1, "old")
    assert drain(sub) == [Inserted(Row(2))]


def test_duplicate_ids_last_wins_with_one_event() -> None:
    pool = Punnu(Row)
    sub = pool.events()
    stats = pool.apply_delta(Delta(items=[Row(1, "a"), Row(1, "b"), Row(1, "c")]))
    assert stats.applied_items == 1
    assert pool.get(1) == Row(1, "c")
    assert drain(sub) == [Inserted(Row(1, "c"))]


def test_duplicate_ids_update_reports_the_original_old_once() -> None:
    pool = Punnu(Row, on_conflict=OnConflict.UPDATE)
    pool.insert(Row(1, "orig"))
    sub = pool.events()
    pool.apply_delta(Delta(items=[Row(1, "a"), Row(1, "b")]))
    assert drain(sub) == [Updated(Row(1, "orig"), Row(1, "b"))]


def test_duplicate_ids_reject_conflicts_only_with_a_live_prior() -> None:
    clock = FakeClock()
    pool = Punnu(Row, on_conflict=OnConflict.REJECT, clock=clock)
    pool.insert(Row(1, "live"))
    pool.insert(Row(2, "dying"), ttl=1)
    clock.advance(1)
    stats = pool.apply_delta(Delta(items=[Row(1, "x"), Row(1, "y"), Row(2, "x"), Row(2, "y")]))
    assert stats.applied_items == 1
    assert pool.get(1) == Row(1, "live")
    assert pool.get(2) == Row(2, "y")


def test_expired_prior_is_absent_and_expired_tombstone_is_not_counted() -> None:
    clock = FakeClock()
    pool = Punnu(Row, on_conflict=OnConflict.UPDATE, ttl=1, clock=clock)
    pool.insert(Row(1, "old"))
    pool.insert(Row(2, "old"))
    clock.advance(1)
    sub = pool.events()
    stats = pool.apply_delta(Delta(items=[Row(1, "new")], tombstones=[2]))
    assert stats == DeltaStats(applied_items=1, tombstones_evicted=0)
    assert drain(sub) == [Inserted(Row(1, "new"))]
    assert len(pool) == 1


def test_items_get_the_default_ttl() -> None:
    clock = FakeClock()
    pool = Punnu(Row, ttl=5, clock=clock)
    pool.apply_delta(Delta(items=[Row(1)]))
    clock.advance(5)
    assert pool.get(1) is None


def test_lru_evictions_counted_and_ordered_before_inserts() -> None:
    pool = Punnu(Row, capacity=4)
    for i in (10, 11, 12):
        pool.insert(Row(i))
    sub = pool.events()
    stats = pool.apply_delta(Delta(items=[Row(2), Row(1)], tombstones=[12]))
    assert stats == DeltaStats(applied_items=2, tombstones_evicted=1, lru_evictions=0)
    stats = pool.apply_delta(Delta(items=[Row(3)]))
    assert stats == DeltaStats(applied_items=1, lru_evictions=1)
    events = drain(sub)
    assert events == [
        Invalidated(12, EventReason.ON_DELETE),
        Inserted(Row(1)),
        Inserted(Row(2)),
        Invalidated(10, EventReason.LRU_EVICT),
        Inserted(Row(3)),
    ]


def test_delta_larger_than_capacity_reports_only_final_residents() -> None:
    pool = Punnu(Row, capacity=2)
    pool.insert(Row(100))
    sub = pool.events()
    stats = pool.apply_delta(Delta(items=[Row(i) for i in range(5)]))
    assert len(pool) == 2
    survivors = {r.id for r in pool.scope().collect()}
    events = drain(sub)
    lru = [e for e in events if isinstance(e, Invalidated)]
    inserts = [e for e in events if isinstance(e, Inserted)]
    # transient items (inserted then evicted in the same batch) produce no events at all
    assert {e.value.id for e in inserts} == survivors - {100}
    assert stats.applied_items == len(inserts)
    assert stats.lru_evictions == len(lru) == (0 if 100 in survivors else 1)
    assert all(e.reason is EventReason.LRU_EVICT and e.id == 100 for e in lru)
    assert events == lru + inserts  # LRU first, then inserts
    assert [e.value.id for e in inserts] == sorted(e.value.id for e in inserts)


def test_events_in_ascending_id_order() -> None:
    pool = Punnu(Row)
    sub = pool.events()
    pool.apply_delta(Delta(items=[Row(3), Row(1), Row(2)], tombstones=[]))
    assert [e.value.id for e in drain(sub)] == [1, 2, 3]


def test_wrong_argument_types() -> None:
    pool = Punnu(Row)
    with pytest.raises(TypeError):
        pool.apply_delta([Row(1)])  # type: ignore[arg-type]

    @dataclass(frozen=True)
    class Other:
        id: int

    with pytest.raises(TypeError):
        pool.apply_delta(Delta(items=[Row(1), Other(2)]))  # type: ignore[list-item]
    assert len(pool) == 0


def test_backend_reservation_hook_skips_the_whole_delta() -> None:
    pool = Punnu(Row)
    pool.insert(Row(1, "old"))
    from sassi._reservations import Reservations

    pool._core.reservations = Reservations()
    pool._core.reservations.acquire_sync(1)
    sub = pool.events()
    stats = pool.apply_delta(Delta(items=[Row(1, "new"), Row(2)]))
    assert stats == DeltaStats(backend_reserved_skips=1)
    assert pool.get(1) == Row(1, "old") and 2 not in pool
    assert drain(sub) == []


class SlowHash:
    """An id whose hashing yields the GIL, to widen any window a partial publish could use."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __hash__(self) -> int:
        for _ in range(50):
            pass
        return hash(self.n)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SlowHash) and other.n == self.n

    def __lt__(self, other: SlowHash) -> bool:
        return self.n < other.n


@dataclass(frozen=True)
class Versioned:
    id: SlowHash
    version: int


def test_readers_see_all_old_or_all_new_never_partial() -> None:
    size = 200
    pool = Punnu(Versioned, capacity=10_000)
    pool.apply_delta(Delta(items=[Versioned(SlowHash(i), 0) for i in range(size)]))
    stop = threading.Event()
    bad: list[set[int]] = []
    seen: set[int] = set()

    def reader() -> None:
        while not stop.is_set():
            versions = {v.version for v in pool.scope().collect()}
            seen.update(versions)
            if len(versions) != 1:
                bad.append(versions)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        for version in range(1, 30):
            pool.apply_delta(Delta(items=[Versioned(SlowHash(i), version) for i in range(size)]))
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert bad == []
    assert len(seen) >= 1
    assert {v.version for v in pool.scope().collect()} == {29}

"""TTL: lazy expiry (reference contracts 40-42) and sweeps (43-45), on a FakeClock."""

from __future__ import annotations

import sys
import threading
from datetime import timedelta

import anyio
import pytest

from helpers import User, drain
from sassi import (
    ConflictError,
    EventReason,
    Inserted,
    Invalidated,
    OnConflict,
    Punnu,
)
from sassi.testing import FakeClock


def test_entry_expires_lazily_on_get() -> None:
    clock = FakeClock()
    pool = Punnu(User, ttl=10, clock=clock)
    pool.insert(User(1))
    sub = pool.events()
    clock.advance(9.999)
    assert pool.get(1) == User(1)
    clock.advance(0.001)  # deadline <= now is expired
    assert pool.get(1) is None
    assert 1 not in pool
    assert len(pool) == 1  # still resident
    assert drain(sub) == []  # lazy expiry emits nothing


def test_no_default_ttl_never_expires() -> None:
    clock = FakeClock()
    pool = Punnu(User, clock=clock)
    pool.insert(User(1))
    clock.advance(10**9)
    assert pool.get(1) == User(1)


def test_insert_ttl_overrides_the_default() -> None:
    clock = FakeClock()
    pool = Punnu(User, ttl=100, clock=clock)
    pool.insert(User(1), ttl=5)
    pool.insert(User(2))
    clock.advance(5)
    assert pool.get(1) is None
    assert pool.get(2) == User(2)


def test_insert_ttl_applies_when_pool_has_no_default() -> None:
    clock = FakeClock()
    pool = Punnu(User, clock=clock)
    pool.insert(User(1), ttl=timedelta(seconds=3))
    clock.advance(2)
    assert 1 in pool
    clock.advance(1)
    assert 1 not in pool


@pytest.mark.parametrize(
    "huge", [timedelta.max, sys.float_info.max, float("inf"), 10.0**300, 2**80]
)
def test_huge_ttl_never_overflows_and_never_expires(huge: float | timedelta) -> None:
    clock = FakeClock()
    pool = Punnu(User, clock=clock)
    pool.insert(User(1), ttl=huge)
    clock.advance(10**12)
    assert pool.get(1) == User(1)


def test_invalid_insert_ttl_raises() -> None:
    pool = Punnu(User)
    with pytest.raises(ValueError, match="ttl"):
        pool.insert(User(1), ttl=0)
    with pytest.raises(ValueError, match="ttl"):
        pool.insert(User(1), ttl=float("nan"))
    assert len(pool) == 0


def test_unrelated_writer_does_not_drop_expired_entries_below_capacity() -> None:
    clock = FakeClock()
    pool = Punnu(User, ttl=1, clock=clock)
    pool.insert(User(1))
    clock.advance(2)
    pool.insert(User(2), ttl=100)
    assert len(pool) == 2


def test_writer_replacing_an_expired_id_does_not_duplicate_it() -> None:
    clock = FakeClock()
    pool = Punnu(User, ttl=1, clock=clock, on_conflict=OnConflict.UPDATE)
    pool.insert(User(1, "old"))
    clock.advance(1)
    sub = pool.events()
    pool.insert(User(1, "new"))
    assert len(pool) == 1
    assert drain(sub) == [Inserted(User(1, "new"))]  # expired prior: Inserted, not Updated
    assert pool.get(1) == User(1, "new")


def test_reject_treats_expired_resident_as_absent() -> None:
    clock = FakeClock()
    pool = Punnu(User, ttl=1, clock=clock, on_conflict=OnConflict.REJECT)
    pool.insert(User(1, "old"))
    with pytest.raises(ConflictError):
        pool.insert(User(1, "again"))
    clock.advance(1)
    pool.insert(User(1, "new"))
    assert pool.get(1) == User(1, "new")


def test_invalidate_of_expired_entry_is_false_without_event_and_removes_it() -> None:
    clock = FakeClock()
    pool = Punnu(User, ttl=1, clock=clock)
    pool.insert(User(1))
    clock.advance(5)
    sub = pool.events()
    assert pool.invalidate(1) is False
    assert drain(sub) == []
    assert len(pool) == 0


def test_capacity_pressure_reclaims_expired_entries_before_lru() -> None:
    clock = FakeClock()
    pool = Punnu(User, capacity=3, clock=clock)
    pool.insert(User(1), ttl=1)
    pool.insert(User(2))
    pool.insert(User(3), ttl=1)
    clock.advance(1)
    sub = pool.events()
    pool.insert(User(4))
    # the expired 1 and 3 are dropped silently, so the live 2 survives without any LRU event
    assert drain(sub) == [Inserted(User(4))]
    assert sorted(u.id for u in pool.scope().collect()) == [2, 4]
    assert len(pool) == 2


def test_lazy_expiry_under_concurrent_gets_keeps_len_and_emits_nothing() -> None:
    clock = FakeClock()
    pool = Punnu(User, ttl=1, clock=clock)
    for i in range(50):
        pool.insert(User(i))
    clock.advance(1)
    sub = pool.events()
    results: list[object] = []

    def reader() -> None:
        results.extend(pool.get(i) for i in range(50))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [None] * 200
    assert len(pool) == 50
    assert drain(sub) == []


def test_scope_excludes_expired_entries() -> None:
    clock = FakeClock()
    pool = Punnu(User, clock=clock)
    pool.insert(User(1), ttl=1)
    pool.insert(User(2))
    pool.insert(User(3), ttl=5)
    clock.advance(1)
    assert sorted(u.id for u in pool.scope().collect()) == [2, 3]
    assert pool.scope().count() == 2
    clock.advance(10)
    assert pool.scope().collect() == [User(2)]


def test_sweep_removes_expired_and_emits_ttl_expired() -> None:
    clock = FakeClock()
    pool = Punnu(User, clock=clock)
    pool.insert(User(1), ttl=1)
    pool.insert(User(2), ttl=3)
    pool.insert(User(3))
    sub = pool.events()
    assert pool.sweep_expired() == 0
    clock.advance(1)
    assert pool.sweep_expired() == 1
    assert drain(sub) == [Invalidated(1, EventReason.TTL_EXPIRED)]
    assert len(pool) == 2
    clock.advance(5)
    assert pool.sweep_expired() == 1
    assert drain(sub) == [Invalidated(2, EventReason.TTL_EXPIRED)]
    assert pool.get(3) == User(3)


def test_sweep_skips_entries_replaced_with_a_longer_ttl() -> None:
    clock = FakeClock()
    pool = Punnu(User, clock=clock)
    pool.insert(User(1), ttl=1)
    pool.insert(User(1, "again"), ttl=100)
    pool.insert(User(2), ttl=1)
    pool.invalidate(2)
    clock.advance(2)
    assert pool.sweep_expired() == 0
    assert pool.get(1) == User(1, "again")


def test_without_sweep_expired_entries_stay_resident() -> None:
    clock = FakeClock()
    pool = Punnu(User, ttl=1, clock=clock)
    pool.insert(User(1))
    clock.advance(100)
    assert len(pool) == 1


def test_heap_stays_bounded_under_churn() -> None:
    clock = FakeClock()
    pool = Punnu(User, capacity=10, ttl=1_000, clock=clock)
    for i in range(5_000):
        pool.insert(User(i % 10, str(i)))
    assert len(pool._core.store.heap) <= 2 * len(pool) + 64
    assert pool._core.store.timed == len(pool) == 10


@pytest.mark.anyio
async def test_background_sweep_runs_on_its_interval() -> None:
    clock = FakeClock()
    pool = Punnu(User, ttl=2, sweep_interval=0.01, clock=clock)
    pool.insert(User(1))
    pool.insert(User(2), ttl=60)
    sub = pool.events()
    with anyio.fail_after(10):
        async with pool.background():
            clock.advance(2)
            event = await sub.receive()
    assert event == Invalidated(1, EventReason.TTL_EXPIRED)
    assert len(pool) == 1
    assert pool.get(2) == User(2)


@pytest.mark.anyio
async def test_background_runs_registered_tasks_and_stops_them_on_exit() -> None:
    pool = Punnu(User)
    states: list[str] = []

    async def task(p: Punnu[User]) -> None:
        assert p is pool
        states.append("started")
        try:
            await anyio.sleep_forever()
        finally:
            states.append("stopped")

    pool._core.background.append(lambda: task(pool))
    with anyio.fail_after(10):
        async with pool.background() as same:
            assert same is pool
            await anyio.wait_all_tasks_blocked()
            assert states == ["started"]
    assert states == ["started", "stopped"]


@pytest.mark.anyio
async def test_background_without_sweep_interval_removes_nothing() -> None:
    clock = FakeClock()
    pool = Punnu(User, ttl=1, clock=clock)
    pool.insert(User(1))
    with anyio.fail_after(10):
        async with pool.background():
            clock.advance(5)
            await anyio.wait_all_tasks_blocked()
    assert len(pool) == 1

"""ttl_jitter (SPEC 11.6): every deadline the pool computes is the ttl times a factor in [1-j, 1].

Deadlines are read from the store (``pool._core.map[id].deadline``) so each test checks the
exact interval, and then that the entries really expire inside it on a FakeClock.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import anyio
import anyio.to_thread
import pytest

from helpers import User
from sassi import Delta, Punnu, SnapshotMode
from sassi.backends import MemoryBackend
from sassi.testing import FakeClock

START = 1_000.0


def deadlines(pool: Punnu[User]) -> dict[int, float]:
    return {k: e.deadline for k, e in pool._core.map.items()}  # type: ignore[misc]


def assert_spread(found: dict[int, float], low: float, high: float) -> None:
    """Every deadline inside [low, high], and not all equal (they are spread)."""
    assert found
    assert all(low <= d <= high for d in found.values()), (low, high, sorted(found.values()))
    assert len(set(found.values())) > len(found) // 2


def test_inserts_expire_spread_over_the_jitter_interval() -> None:
    clock = FakeClock(START)
    pool = Punnu(User, ttl=100, ttl_jitter=0.5, clock=clock)
    for i in range(200):
        pool.insert(User(i))
    assert_spread(deadlines(pool), START + 50, START + 100)
    clock.advance(49.999)
    assert sum(i in pool for i in range(200)) == 200
    clock.advance(25)
    live = sum(i in pool for i in range(200))
    assert 0 < live < 200  # some expired, some not: they do not all expire together
    clock.advance(25.001)
    assert not any(i in pool for i in range(200))


def test_without_jitter_every_entry_gets_the_exact_ttl() -> None:
    pool = Punnu(User, ttl=100, clock=FakeClock(START))
    for i in range(50):
        pool.insert(User(i))
    assert set(deadlines(pool).values()) == {START + 100}


def test_an_insert_ttl_is_jittered_too_and_no_ttl_stays_no_ttl() -> None:
    pool = Punnu(User, ttl_jitter=0.2, clock=FakeClock(START))
    for i in range(50):
        pool.insert(User(i), ttl=timedelta(seconds=10))
    pool.insert(User(99))  # no ttl at all
    found = deadlines(pool)
    assert found.pop(99) is None
    assert_spread(found, START + 8, START + 10)


@pytest.mark.anyio
async def test_fetches_deltas_and_batches_are_jittered() -> None:
    pool = Punnu(User, ttl=10, ttl_jitter=0.3, clock=FakeClock(START))

    async def one(id: int) -> User:
        return User(id)

    for i in range(40):
        await pool.aget_or_fetch(i, one)
    await pool.aget_or_fetch_many(range(40, 80), lambda ids: [User(i) for i in ids])
    pool.get_or_fetch_many(range(80, 120), lambda ids: [User(i) for i in ids])
    pool.apply_delta(Delta(items=[User(i) for i in range(120, 160)]))
    loader = pool.loader(lambda ids: [User(i) for i in ids])
    await loader.load_many(range(160, 200))
    found = deadlines(pool)
    assert len(found) == 200
    for start in range(0, 200, 40):
        assert_spread({k: found[k] for k in range(start, start + 40)}, START + 7, START + 10)


@pytest.mark.anyio
async def test_refresh_ticks_renew_unchanged_rows_with_a_jittered_ttl() -> None:
    clock = FakeClock(START)
    pool = Punnu(User, ttl=10, ttl_jitter=0.5, clock=clock)
    rows = [User(i) for i in range(60)]

    async def fetch_all() -> list[User]:
        return rows

    async with pool.periodic_refresh(3600, fetch_all) as handle:
        await handle.refresh_now()
        clock.advance(4)
        await handle.refresh_now()  # unchanged rows: only their expiry is renewed
    assert_spread(deadlines(pool), START + 4 + 5, START + 4 + 10)


def test_restoring_internal_state_keeps_remaining_ttls_exactly() -> None:
    clock = FakeClock(START)
    source = Punnu(User, ttl=100, ttl_jitter=0.5, clock=clock)
    for i in range(30):
        source.insert(User(i))
    target = Punnu(User, ttl=100, ttl_jitter=0.5, clock=clock)
    target.restore(source.snapshot(SnapshotMode.WITH_INTERNAL_STATE))
    assert deadlines(target) == pytest.approx(deadlines(source))


def test_the_l2_ttl_is_jittered_as_well() -> None:
    class Recording(MemoryBackend):
        def __init__(self) -> None:
            super().__init__()
            self.ttls: list[Any] = []

        def put_sync(self, keyspace: Any, id: Any, value: Any, ttl: Any) -> None:
            self.ttls.append(ttl)
            super().put_sync(keyspace, id, value, ttl)

    backend = Recording()
    pool = Punnu(User, ttl=100, ttl_jitter=0.25, backend=backend, clock=FakeClock(START))
    for i in range(50):
        pool.insert(User(i))
    assert all(75 <= t <= 100 for t in backend.ttls)
    assert len(set(backend.ttls)) > 25
    exact = Recording()
    plain = Punnu(User, ttl=100, backend=exact, clock=FakeClock(START))
    plain.insert(User(1))
    assert exact.ttls == [100.0]


@pytest.mark.parametrize("bad", [1.0, 1, -0.1, 2.5, float("nan"), float("inf")])
def test_ttl_jitter_out_of_range_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="ttl_jitter"):
        Punnu(User, ttl_jitter=bad)


@pytest.mark.parametrize("bad", ["0.1", True, None, timedelta(seconds=1)])
def test_ttl_jitter_of_the_wrong_type_is_refused(bad: Any) -> None:
    with pytest.raises(TypeError, match="ttl_jitter"):
        Punnu(User, ttl_jitter=bad)


def test_ttl_jitter_zero_and_just_below_one_are_accepted() -> None:
    assert Punnu(User, ttl_jitter=0).config.ttl_jitter == 0.0
    assert Punnu(User, ttl_jitter=0.999).config.ttl_jitter == 0.999


def test_jittered_inserts_from_a_worker_thread() -> None:
    # the commit path draws from the core's rng under the write lock: any thread
    clock = FakeClock(START)
    pool = Punnu(User, ttl=1, ttl_jitter=0.9, clock=clock)

    def work() -> None:
        for i in range(100):
            pool.insert(User(i))

    anyio.run(anyio.to_thread.run_sync, work)
    assert_spread(deadlines(pool), START + 0.1, START + 1)

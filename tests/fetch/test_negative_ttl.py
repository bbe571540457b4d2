"""negative_ttl (SPEC 11.6): a fetcher's ``None`` is remembered, outside the residents."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest

from helpers import User, drain
from sassi import Delta, EventReason, Punnu, fields
from sassi.backends import InvalidateAll, InvalidateId, MemoryBackend
from sassi.testing import FakeClock

F = fields(User)


class Source:
    """A fetcher over a dict that counts calls and may hold each call until ``gate`` opens."""

    def __init__(self, rows: dict[int, User] | None = None) -> None:
        self.rows = rows if rows is not None else {}
        self.calls: list[Any] = []
        self.gate: anyio.Event | None = None
        self.started = anyio.Event()

    async def one(self, id: int) -> User | None:
        self.calls.append(id)
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        return self.rows.get(id)

    def one_sync(self, id: int) -> User | None:
        self.calls.append(id)
        return self.rows.get(id)

    def many(self, ids: list[int]) -> list[User]:
        self.calls.append(list(ids))
        return [self.rows[i] for i in ids if i in self.rows]


def pool_with(clock: FakeClock, **kwargs: Any) -> Punnu[User]:
    return Punnu(User, negative_ttl=5, clock=clock, **kwargs)


@pytest.mark.anyio
async def test_none_is_remembered_until_negative_ttl_passes() -> None:
    clock = FakeClock()
    pool = pool_with(clock)
    src = Source()
    assert await pool.aget_or_fetch(1, src.one) is None
    clock.advance(4.999)
    assert await pool.aget_or_fetch(1, src.one) is None
    assert await pool.aget_or_fetch(1, src.one) is None
    assert src.calls == [1]
    assert pool.stats().negative_hits == 2
    clock.advance(0.001)
    src.rows[1] = User(1, "appeared")
    assert await pool.aget_or_fetch(1, src.one) == User(1, "appeared")
    assert src.calls == [1, 1]


@pytest.mark.anyio
async def test_without_negative_ttl_nothing_is_remembered() -> None:
    pool = Punnu(User, clock=FakeClock())
    src = Source()
    for _ in range(3):
        assert await pool.aget_or_fetch(1, src.one) is None
    assert src.calls == [1, 1, 1]
    assert pool.stats().negative_hits == 0


@pytest.mark.anyio
async def test_negative_entries_are_not_residents() -> None:
    pool = pool_with(FakeClock())
    sub = pool.events()
    empty = pool.export_entries()
    await pool.aget_or_fetch(1, Source().one)
    assert len(pool) == 0 and 1 not in pool and pool.get(1) is None
    assert pool.scope().collect() == [] and pool.scope(F.id == 1).count() == 0
    assert pool.export_entries() == empty
    assert drain(sub) == []
    assert pool.stats().size == 0


def test_sync_get_or_fetch_remembers_none_too() -> None:
    clock = FakeClock()
    pool = pool_with(clock)
    src = Source()
    assert pool.get_or_fetch(1, src.one_sync) is None
    assert pool.get_or_fetch(1, src.one_sync) is None
    assert src.calls == [1]
    clock.advance(5)
    pool.get_or_fetch(1, src.one_sync)
    assert src.calls == [1, 1]


@pytest.mark.parametrize(
    "forget",
    [
        pytest.param(lambda pool: pool.insert(User(1, "inserted")), id="insert"),
        pytest.param(lambda pool: pool.invalidate(1), id="invalidate"),
        pytest.param(lambda pool: pool.clear(), id="clear"),
        pytest.param(lambda pool: pool.invalidate_where(F.name == "nobody"), id="where"),
        pytest.param(lambda pool: pool.apply_delta(Delta(tombstones=[1])), id="tombstone"),
        pytest.param(lambda pool: pool.apply_delta(Delta(items=[User(1, "d")])), id="item"),
    ],
)
def test_insert_invalidate_clear_where_and_deltas_forget_it(forget: Any) -> None:
    clock = FakeClock()
    pool = pool_with(clock, ttl=1)
    src = Source({1: User(1, "db")})
    src.rows.clear()
    assert pool.get_or_fetch(1, src.one_sync) is None
    src.rows[1] = User(1, "db")
    forget(pool)
    clock.advance(1)  # whatever the forgetting operation stored has expired now
    assert pool.get_or_fetch(1, src.one_sync) == User(1, "db")
    assert src.calls == [1, 1]


@pytest.mark.anyio
async def test_backend_invalidations_forget_it() -> None:
    for message in (InvalidateId(1), InvalidateAll()):
        pool = pool_with(FakeClock(), backend=MemoryBackend())
        src = Source()
        await pool.aget_or_fetch(1, src.one)
        assert pool._listener is not None
        await pool._listener.apply(message)  # as if another process sent it
        src.rows[1] = User(1)
        assert await pool.aget_or_fetch(1, src.one) == User(1)
        assert src.calls == [1, 1]


@pytest.mark.anyio
async def test_an_invalidate_while_the_fetch_runs_means_nothing_is_remembered() -> None:
    pool = pool_with(FakeClock())
    src = Source()
    src.gate = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(pool.aget_or_fetch, 1, src.one)
        await src.started.wait()
        pool.invalidate(1)  # not resident: still a removal the fetch must not outlive
        src.gate.set()
    src.gate = None
    src.rows[1] = User(1)
    assert await pool.aget_or_fetch(1, src.one) == User(1)
    assert src.calls == [1, 1]


@pytest.mark.anyio
async def test_a_clear_or_where_while_the_fetch_runs_means_nothing_is_remembered() -> None:
    for remove in (lambda p: p.clear(), lambda p: p.invalidate_where(F.id == 99)):
        pool = pool_with(FakeClock())
        src = Source()
        src.gate = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(pool.aget_or_fetch, 1, src.one)
            await src.started.wait()
            remove(pool)
            src.gate.set()
        src.gate = None
        await pool.aget_or_fetch(1, src.one)
        assert src.calls == [1, 1]


@pytest.mark.anyio
async def test_an_insert_while_the_fetch_runs_wins_over_its_none() -> None:
    clock = FakeClock()
    pool = pool_with(clock, ttl=1)
    src = Source()
    src.gate = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(pool.aget_or_fetch, 1, src.one)
        await src.started.wait()
        pool.insert(User(1, "inserted"))
        src.gate.set()
    assert pool.get(1) == User(1, "inserted")
    clock.advance(1)  # the inserted value expired: nothing says "not found" for id 1
    src.gate = None
    src.rows[1] = User(1, "db")
    assert await pool.aget_or_fetch(1, src.one) == User(1, "db")


def test_the_store_is_bounded_by_capacity_oldest_first() -> None:
    pool = pool_with(FakeClock(), capacity=3)
    src = Source()
    for i in range(5):
        pool.get_or_fetch(i, src.one_sync)
    assert pool._core.negatives is not None and len(pool._core.negatives) == 3
    for i in (4, 3, 2, 0):  # 2, 3, 4 are remembered; 0 and 1 were dropped, oldest first
        pool.get_or_fetch(i, src.one_sync)
    assert src.calls == [0, 1, 2, 3, 4, 0]
    assert pool.stats().negative_hits == 3


def test_expired_negative_entries_are_dropped_as_new_ones_arrive() -> None:
    clock = FakeClock()
    pool = pool_with(clock, capacity=100)
    src = Source()
    for i in range(10):
        pool.get_or_fetch(i, src.one_sync)
    clock.advance(5)
    pool.get_or_fetch(100, src.one_sync)
    assert pool._core.negatives is not None and len(pool._core.negatives) == 1


@pytest.mark.anyio
async def test_get_or_fetch_many_skips_and_records_absent_ids() -> None:
    clock = FakeClock()
    pool = pool_with(clock)
    src = Source({1: User(1), 2: User(2)})
    assert pool.get_or_fetch_many([1, 2, 3, 4], src.many) == [User(1), User(2)]
    assert await pool.aget_or_fetch_many([1, 3, 4, 5], src.many) == [User(1)]
    assert src.calls == [[1, 2, 3, 4], [5]]
    assert pool.stats().negative_hits == 2
    assert await pool.aget_or_fetch(3, src.one) is None  # single fetches see them too
    assert len(src.calls) == 2


@pytest.mark.anyio
async def test_concurrent_callers_share_one_fetch_and_all_get_none() -> None:
    pool = pool_with(FakeClock())
    src = Source()
    src.gate = anyio.Event()
    results: list[Any] = []

    async def ask() -> None:
        results.append(await pool.aget_or_fetch(1, src.one))

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(ask)
        await src.started.wait()
        src.gate.set()
    assert results == [None] * 10 and src.calls == [1]


def test_threads_see_a_remembered_none() -> None:
    pool = pool_with(FakeClock())
    src = Source()
    pool.get_or_fetch(1, src.one_sync)
    seen: list[Any] = []
    threads = [
        threading.Thread(target=lambda: seen.append(pool.get_or_fetch(1, src.one_sync)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [None] * 8 and src.calls == [1]
    assert pool.stats().negative_hits == 8


def test_an_expired_value_and_a_none_from_the_source_leave_no_resident() -> None:
    # the fetcher's None says the row is gone: with a stale window, its kept value goes too
    clock = FakeClock()
    pool = pool_with(clock, ttl=1, stale_if_error=60)
    pool.insert(User(1))
    clock.advance(1)
    assert len(pool) == 1  # expired, kept for stale serving
    sub = pool.events()
    assert pool.get_or_fetch(1, Source().one_sync) is None
    assert len(pool) == 0
    assert drain(sub) == []  # an expired entry leaves silently
    assert pool.stats().evictions[EventReason.MANUAL] == 0

"""stale_if_error (SPEC 11.6), and how expired entries kept for stale serving stay invisible."""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

import anyio
import pytest

from helpers import GatedFetcher, User, drain, pool_expired_5s_ago
from sassi import EventReason, Invalidated, Punnu, SnapshotMode, fields
from sassi.testing import FakeClock

F = fields(User)


expired_pool = functools.partial(pool_expired_5s_ago, stale_if_error=30)
"""A pool (ttl 10, stale_if_error 30) whose id 1 expired 5 s ago."""


@pytest.mark.anyio
async def test_a_failing_fetcher_returns_the_stale_value_logged_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool, old = expired_pool(FakeClock())
    flaky = GatedFetcher("fresh", ConnectionError("db down"))
    with caplog.at_level(logging.WARNING, logger="sassi.fetch"):
        assert await pool.aget_or_fetch(1, flaky) is old
    assert "db down" in caplog.text and "stale" in caplog.text
    assert pool.stats().fetch_errors == 1
    # served, not refreshed: still expired everywhere, and the next call tries again
    assert pool.get(1) is None and 1 not in pool
    assert await pool.aget_or_fetch(1, flaky) is old
    assert flaky.calls == 2 and pool.stats().fetch_errors == 2
    flaky.error = None
    assert await pool.aget_or_fetch(1, flaky) == User(1, "fresh3")
    assert pool.get(1) == User(1, "fresh3")


@pytest.mark.anyio
async def test_past_the_window_or_never_cached_the_error_is_raised() -> None:
    clock = FakeClock()
    pool, _ = expired_pool(clock)
    flaky = GatedFetcher("fresh", ConnectionError("down"))
    with pytest.raises(ConnectionError):
        await pool.aget_or_fetch(2, flaky)  # nothing was ever cached for 2
    clock.advance(24.999)  # expired 29.999 s ago: still inside
    assert (await pool.aget_or_fetch(1, flaky)) is not None
    clock.advance(0.001)  # expired 30 s ago: outside
    with pytest.raises(ConnectionError):
        await pool.aget_or_fetch(1, flaky)
    assert pool.stats().fetch_errors == 3


@pytest.mark.anyio
async def test_without_stale_if_error_the_error_is_raised_and_counted() -> None:
    clock = FakeClock()
    pool = Punnu(User, ttl=10, clock=clock)
    pool.insert(User(1))
    clock.advance(11)
    with pytest.raises(ConnectionError):
        await pool.aget_or_fetch(1, GatedFetcher("fresh", ConnectionError()))
    assert pool.stats().fetch_errors == 1


def test_sync_get_or_fetch_serves_stale_on_error() -> None:
    pool, old = expired_pool(FakeClock())
    flaky = GatedFetcher("fresh", TimeoutError("slow"))
    assert pool.get_or_fetch(1, flaky.sync) is old
    assert pool.stats().fetch_errors == 1


@pytest.mark.anyio
async def test_every_waiter_of_the_failed_flight_gets_the_stale_value() -> None:
    pool, old = expired_pool(FakeClock())
    flaky = GatedFetcher("fresh", ConnectionError())
    flaky.gate = anyio.Event()
    got: list[Any] = []

    async def ask() -> None:
        got.append(await pool.aget_or_fetch(1, flaky))

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(ask)
        await flaky.started.wait()
        flaky.gate.set()
    assert got == [old] * 5 and all(g is old for g in got)
    assert flaky.calls == 1 and pool.stats().fetch_errors == 1


@pytest.mark.anyio
async def test_an_invalidated_entry_is_never_served_stale() -> None:
    pool, _ = expired_pool(FakeClock())
    pool.invalidate(1)  # expired: returns False, but the entry is gone
    with pytest.raises(ConnectionError):
        await pool.aget_or_fetch(1, GatedFetcher("fresh", ConnectionError()))


@pytest.mark.anyio
async def test_an_entry_matching_invalidate_where_is_never_served_stale() -> None:
    pool, _ = expired_pool(FakeClock())
    pool.insert(User(2, "old"), ttl=1000)
    sub = pool.events()
    assert pool.invalidate_where(F.name == "old") == 1  # counts the live match only
    assert drain(sub) == [Invalidated(2, EventReason.MANUAL)]  # the kept one goes silently
    assert len(pool) == 0
    with pytest.raises(ConnectionError):
        await pool.aget_or_fetch(1, GatedFetcher("fresh", ConnectionError()))


@pytest.mark.anyio
async def test_a_none_from_the_source_ends_stale_serving_for_that_id() -> None:
    pool, _ = expired_pool(FakeClock())

    async def gone(id: int) -> None:
        return None

    assert await pool.aget_or_fetch(1, gone) is None
    with pytest.raises(ConnectionError):
        await pool.aget_or_fetch(1, GatedFetcher("fresh", ConnectionError()))


@pytest.mark.anyio
async def test_a_loader_batch_error_serves_stale_ids_and_raises_for_the_others() -> None:
    pool, old = expired_pool(FakeClock())
    calls: list[list[int]] = []

    async def broken(ids: list[int]) -> list[User]:
        calls.append(ids)
        raise ConnectionError("batch down")

    loader = pool.loader(broken)
    results: dict[int, Any] = {}

    async def load(id: int) -> None:
        try:
            results[id] = await loader.load(id)
        except ConnectionError as exc:
            results[id] = exc

    async with anyio.create_task_group() as tg:
        for id in (1, 2, 3):
            tg.start_soon(load, id)
    assert len(calls) == 1 and sorted(calls[0]) == [1, 2, 3]
    assert results[1] is old
    assert isinstance(results[2], ConnectionError) and results[2] is results[3]
    assert pool.stats().fetch_errors == 1


def test_sweeps_keep_entries_inside_the_stale_window() -> None:
    clock = FakeClock()
    pool = Punnu(User, ttl=10, stale_if_error=30, stale_while_revalidate=5, clock=clock)
    pool.insert(User(1))
    pool.insert(User(2), ttl=100)
    sub = pool.events()
    clock.advance(39.999)  # 1 expired 29.999 s ago: inside the longer window
    assert pool.sweep_expired() == 0
    assert len(pool) == 2 and drain(sub) == []
    clock.advance(0.001)
    assert pool.sweep_expired() == 1
    assert drain(sub) == [Invalidated(1, EventReason.TTL_EXPIRED)]
    assert len(pool) == 1


def test_without_a_stale_window_sweeps_remove_at_expiry() -> None:
    clock = FakeClock()
    pool = Punnu(User, ttl=10, clock=clock)
    pool.insert(User(1))
    clock.advance(10)
    assert pool.sweep_expired() == 1


def test_kept_entries_are_invisible_to_get_in_scopes_and_snapshots() -> None:
    clock = FakeClock()
    pool = Punnu(User, ttl=10, stale_if_error=60, clock=clock, indexes=("name",))
    empty = Punnu(User).export_entries()
    pool.insert(User(1, "a"))
    clock.advance(10)
    assert pool.get(1) is None and 1 not in pool
    assert pool.scope().collect() == [] and pool.scope(F.name == "a").count() == 0
    assert pool.scope(F.name == "a").exists() is False
    assert pool.export_entries() == empty
    restored = Punnu(User)
    restored.restore(pool.snapshot(SnapshotMode.WITH_INTERNAL_STATE))
    assert len(restored) == 0
    assert len(pool) == 1  # counted as a resident, like any expired-but-not-removed entry


def test_capacity_pressure_reclaims_kept_entries_first() -> None:
    clock = FakeClock()
    pool = Punnu(User, capacity=3, ttl=10, stale_if_error=60, clock=clock)
    pool.insert(User(1), ttl=1)
    pool.insert(User(2), ttl=1)
    pool.insert(User(3))
    clock.advance(2)  # 1 and 2 are stale, kept
    sub = pool.events()
    pool.insert(User(4))
    pool.insert(User(5))
    assert len(pool) == 3 and {3, 4, 5} == {i for i in range(6) if i in pool}
    assert [e for e in drain(sub) if isinstance(e, Invalidated)] == []  # silently, no LRU
    with pytest.raises(ConnectionError):  # nothing stale is left to serve for 1
        pool.get_or_fetch(1, GatedFetcher("fresh", ConnectionError()).sync)


def test_concurrent_threads_each_get_the_stale_value() -> None:
    pool, old = expired_pool(FakeClock())
    flaky = GatedFetcher("fresh", ConnectionError())
    got: list[Any] = []
    threads = [
        threading.Thread(target=lambda: got.append(pool.get_or_fetch(1, flaky.sync)))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [old] * 6

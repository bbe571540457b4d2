"""stale_while_revalidate (SPEC 11.6): the stale value now, one single-flight refetch."""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

import anyio
import pytest

from helpers import GatedFetcher, User, drain, pool_expired_5s_ago
from sassi import Inserted, Punnu, fields
from sassi.backends import MemoryBackend
from sassi.testing import FakeClock

F = fields(User)


stale_pool = functools.partial(pool_expired_5s_ago, stale_while_revalidate=30)
"""ttl 10, stale_while_revalidate 30; id 1 expired 5 s ago."""


async def next_inserted(sub: Any) -> Any:
    with anyio.fail_after(5):
        while True:
            event = await sub.receive()
            if isinstance(event, Inserted):
                return event.value


pytestmark = pytest.mark.anyio


async def test_without_background_the_first_caller_refetches_and_the_others_get_stale() -> None:
    pool, old = stale_pool(FakeClock())
    src = GatedFetcher("new")
    src.gate = anyio.Event()
    first: list[Any] = []
    async with anyio.create_task_group() as tg:

        async def starter() -> None:
            first.append(await pool.aget_or_fetch(1, src))

        tg.start_soon(starter)
        await src.started.wait()
        # while the refetch runs, every other caller gets the stale value at once
        for _ in range(5):
            assert await pool.aget_or_fetch(1, src) is old
        assert first == []
        src.gate.set()
    assert first == [User(1, "new1")] and src.calls == 1
    assert pool.get(1) == User(1, "new1")


async def test_inside_background_every_caller_returns_at_once_and_one_refetch_runs() -> None:
    pool, old = stale_pool(FakeClock())
    sub = pool.events()
    src = GatedFetcher("new")
    src.gate = anyio.Event()
    async with pool.background():
        for _ in range(10):
            assert await pool.aget_or_fetch(1, src) is old
        await src.started.wait()
        assert src.calls == 1
        # the refetch is in flight: plain callers and loaders get the stale value too
        assert await pool.aget_or_fetch(1, src) is old
        assert await pool.loader(lambda ids: [User(i) for i in ids]).load(1) is old
        assert pool.get(1) is None and 1 not in pool  # get/in still see it expired
        src.gate.set()
        fresh = await next_inserted(sub)
    assert fresh == User(1, "new1") and pool.get(1) is fresh
    assert src.calls == 1
    assert drain(sub) == []  # exactly one Inserted


async def test_the_refetch_honours_no_stale_write_back() -> None:
    pool, _ = stale_pool(FakeClock())
    src = GatedFetcher("new")
    src.gate = anyio.Event()
    async with pool.background():
        await pool.aget_or_fetch(1, src)
        await src.started.wait()
        pool.invalidate(1)  # races the refetch
        src.gate.set()
        await anyio.wait_all_tasks_blocked()  # the refetch has finished
        assert pool._fetching.tasks.in_flight() == 0
    assert pool.get(1) is None and len(pool) == 0
    assert src.calls == 1


async def test_the_refetch_goes_through_l2() -> None:
    clock = FakeClock()
    backend = MemoryBackend()
    pool, old = stale_pool(clock, backend=backend, namespace="swr")
    other = Punnu(User, backend=backend, namespace="swr", clock=clock)
    other.insert(User(1, "from another process"))  # L2 holds a fresh value
    sub = pool.events()
    src = GatedFetcher("new")
    async with pool.background():
        assert await pool.aget_or_fetch(1, src) is old
        fresh = await next_inserted(sub)
    assert fresh == User(1, "from another process")
    assert src.calls == 0


async def test_the_refetch_writes_back_to_l2() -> None:
    clock = FakeClock()
    backend = MemoryBackend()
    pool, old = stale_pool(clock, backend=backend, namespace="swr")
    other = Punnu(User, backend=backend, namespace="swr", clock=clock)
    sub = pool.events()
    async with pool.background():
        assert await pool.aget_or_fetch(1, GatedFetcher("new")) is old
        await next_inserted(sub)
    assert other.load(1) == User(1, "new1")


async def test_a_failed_background_refetch_is_logged_and_the_next_caller_retries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool, old = stale_pool(FakeClock())
    src = GatedFetcher("new")
    src.error = ConnectionError("db down")
    with caplog.at_level(logging.WARNING, logger="sassi.fetch"):
        async with pool.background():
            assert await pool.aget_or_fetch(1, src) is old
            await anyio.wait_all_tasks_blocked()  # the refetch has failed
            assert src.calls == 1 and pool.stats().fetch_errors == 1
            src.error = None
            assert await pool.aget_or_fetch(1, src) is old  # still stale: refetch again
            await anyio.wait_all_tasks_blocked()
    assert "db down" in caplog.text
    assert src.calls == 2 and pool.get(1) == User(1, "new2")


async def test_past_the_window_the_caller_waits_for_a_normal_fetch() -> None:
    clock = FakeClock()
    pool, _ = stale_pool(clock)
    clock.advance(25)  # expired 30 s ago
    src = GatedFetcher("new")
    async with pool.background():
        assert await pool.aget_or_fetch(1, src) == User(1, "new1")
    assert src.calls == 1


async def test_a_failed_refetch_without_background_raises_to_its_caller_only() -> None:
    pool, old = stale_pool(FakeClock())
    src = GatedFetcher("new")
    src.gate = anyio.Event()
    src.error = ConnectionError()
    errors: list[BaseException] = []
    async with anyio.create_task_group() as tg:

        async def starter() -> None:
            try:
                await pool.aget_or_fetch(1, src)
            except ConnectionError as exc:
                errors.append(exc)

        tg.start_soon(starter)
        await src.started.wait()
        assert await pool.aget_or_fetch(1, src) is old
        src.gate.set()
    assert len(errors) == 1


async def test_loaders_serve_stale_and_revalidate_in_a_batch() -> None:
    clock = FakeClock()
    pool = Punnu(User, ttl=10, stale_while_revalidate=30, clock=clock)
    olds = [pool.insert(User(i, "old")) for i in range(5)]
    clock.advance(15)
    calls: list[list[int]] = []

    async def batch(ids: list[int]) -> list[User]:
        calls.append(sorted(ids))
        return [User(i, "new") for i in ids]

    loader = pool.loader(batch)
    async with pool.background():
        assert await loader.load_many(range(5)) == olds
        await anyio.wait_all_tasks_blocked()
        assert all(pool.get(i) == User(i, "new") for i in range(5))
    assert calls == [[0, 1, 2, 3, 4]]  # the five refetches were batched together


def test_sync_callers_get_stale_while_another_thread_refetches() -> None:
    pool, old = stale_pool(FakeClock())
    started = threading.Event()
    release = threading.Event()
    calls: list[int] = []

    def slow(id: int) -> User:
        calls.append(id)
        started.set()
        assert release.wait(5)
        return User(id, "new")

    got: list[Any] = []
    starter = threading.Thread(target=lambda: got.append(pool.get_or_fetch(1, slow)))
    starter.start()
    assert started.wait(5)
    assert pool.get_or_fetch(1, slow) is old
    release.set()
    starter.join()
    assert got == [User(1, "new")] and calls == [1]


async def test_scopes_and_membership_never_see_the_stale_entry() -> None:
    pool, old = stale_pool(FakeClock())
    async with pool.background():
        assert pool.scope(F.name == "old").collect() == []
        assert 1 not in pool and pool.get(1) is None
        assert await pool.aget_or_fetch(1, GatedFetcher("new")) is old

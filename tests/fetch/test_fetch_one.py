"""aget_or_fetch / get_or_fetch: one shared fetch per id, inserted once, never written back stale."""

from __future__ import annotations

import threading
import time
import warnings
from typing import Any

import anyio
import pytest

from helpers import User, drain
from sassi import (
    Delta,
    IdentityMismatchError,
    Inserted,
    Invalidated,
    OnConflict,
    Punnu,
)
from sassi.testing import FakeClock


class Fetcher:
    """Counts calls; optionally blocks on a gate; returns a fresh ``User`` per call."""

    def __init__(self, *, gated: bool = False, result: Any = "user") -> None:
        self.calls: list[int] = []
        self.gate = anyio.Event() if gated else None
        self.started = anyio.Event()
        self.cancelled = False
        self.result = result

    async def __call__(self, id: int) -> User | None:
        self.calls.append(id)
        self.started.set()
        if self.gate is not None:
            try:
                await self.gate.wait()
            except anyio.get_cancelled_exc_class():
                self.cancelled = True
                raise
        if isinstance(self.result, BaseException):
            raise self.result
        if self.result == "user":
            return User(id, f"v{len(self.calls)}")
        return self.result


class Metrics:
    def __init__(self) -> None:
        self.latencies: list[tuple[str, float]] = []

    def record_fetch_latency(self, type_name: str, seconds: float) -> None:
        self.latencies.append((type_name, seconds))


# --- async -------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_miss_fetches_once_and_caches_then_hits_without_calling() -> None:
    pool = Punnu(User)
    sub = pool.events()
    fetch = Fetcher()
    first = await pool.aget_or_fetch(1, fetch)
    assert first == User(1, "v1")
    assert pool.get(1) is first
    again = await pool.aget_or_fetch(1, fetch)
    assert again is first
    assert fetch.calls == [1]
    assert drain(sub) == [Inserted(first)]
    stats = pool.stats()
    assert stats.fetches == 1
    assert stats.coalesced_waiters == 0


@pytest.mark.anyio
async def test_none_caches_nothing_and_the_next_call_fetches_again() -> None:
    pool = Punnu(User)
    sub = pool.events()
    fetch = Fetcher(result=None)
    assert await pool.aget_or_fetch(1, fetch) is None
    assert await pool.aget_or_fetch(1, fetch) is None
    assert fetch.calls == [1, 1]
    assert len(pool) == 0
    assert drain(sub) == []


@pytest.mark.anyio
async def test_fetcher_error_propagates_with_its_type_and_is_not_cached() -> None:
    pool = Punnu(User)

    class NotFoundError(Exception):
        pass

    boom = NotFoundError("row 1 missing")
    failing = Fetcher(result=boom)
    with pytest.raises(NotFoundError, match="row 1 missing") as info:
        await pool.aget_or_fetch(1, failing)
    assert info.value is boom
    assert len(pool) == 0
    ok = Fetcher()
    assert await pool.aget_or_fetch(1, ok) == User(1, "v1")
    assert ok.calls == [1]


@pytest.mark.anyio
async def test_identity_mismatch_reaches_every_waiter_and_caches_nothing() -> None:
    pool = Punnu(User)
    sub = pool.events()
    fetch = Fetcher(gated=True, result=User(2, "wrong"))
    errors: list[BaseException] = []

    async def caller() -> None:
        try:
            await pool.aget_or_fetch(1, fetch)
        except IdentityMismatchError as exc:
            errors.append(exc)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(caller)
            await fetch.started.wait()
            await anyio.wait_all_tasks_blocked()
            assert fetch.gate is not None
            fetch.gate.set()
    assert len(errors) == 5
    assert all(e is errors[0] for e in errors)
    assert fetch.calls == [1]
    assert len(pool) == 0
    assert drain(sub) == []


@pytest.mark.anyio
async def test_wrong_model_type_is_a_type_error() -> None:
    pool = Punnu(User)

    async def fetch(id: int) -> Any:
        return {"id": id}

    with pytest.raises(TypeError, match="User"):
        await pool.aget_or_fetch(1, fetch)
    assert len(pool) == 0


@pytest.mark.anyio
async def test_concurrent_callers_share_one_fetch_and_one_inserted_event() -> None:
    pool = Punnu(User)
    sub = pool.events()
    fetch = Fetcher(gated=True)
    results: list[User | None] = []
    n = 200

    async def caller() -> None:
        results.append(await pool.aget_or_fetch(1, fetch))

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            for _ in range(n):
                tg.start_soon(caller)
            await fetch.started.wait()
            await anyio.wait_all_tasks_blocked()
            assert fetch.gate is not None
            fetch.gate.set()
    assert fetch.calls == [1]
    assert len(results) == n
    assert all(r is results[0] for r in results)
    assert pool.get(1) is results[0]
    assert drain(sub) == [Inserted(results[0])]
    stats = pool.stats()
    assert stats.fetches == 1
    assert stats.coalesced_waiters == n - 1


@pytest.mark.anyio
async def test_cancelling_the_originator_keeps_the_fetch_alive_for_peers() -> None:
    pool = Punnu(User)
    fetch = Fetcher(gated=True)
    originator = anyio.CancelScope()
    peer_result: list[User | None] = []

    async def first() -> None:
        with originator:
            await pool.aget_or_fetch(1, fetch)

    async def peer() -> None:
        peer_result.append(await pool.aget_or_fetch(1, fetch))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(first)
            await fetch.started.wait()
            tg.start_soon(peer)
            await anyio.wait_all_tasks_blocked()
            originator.cancel()
            await anyio.wait_all_tasks_blocked()
            assert not fetch.cancelled
            assert fetch.gate is not None
            fetch.gate.set()
    assert originator.cancelled_caught
    assert fetch.calls == [1]
    assert not fetch.cancelled
    assert peer_result == [User(1, "v1")]
    assert pool.get(1) is peer_result[0]


@pytest.mark.anyio
async def test_all_callers_cancelled_cancels_the_fetch_and_the_next_call_is_cold() -> None:
    pool = Punnu(User)
    sub = pool.events()
    fetch = Fetcher(gated=True)
    scopes = [anyio.CancelScope() for _ in range(4)]

    async def caller(scope: anyio.CancelScope) -> None:
        with scope:
            await pool.aget_or_fetch(1, fetch)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for scope in scopes:
                tg.start_soon(caller, scope)
            await fetch.started.wait()
            await anyio.wait_all_tasks_blocked()
            for scope in scopes:
                scope.cancel()
    assert fetch.cancelled
    assert len(pool) == 0
    assert drain(sub) == []
    fresh = Fetcher()
    assert await pool.aget_or_fetch(1, fresh) == User(1, "v1")
    assert fresh.calls == [1]


@pytest.mark.anyio
async def test_a_live_value_that_appears_during_the_fetch_wins() -> None:
    pool = Punnu(User, on_conflict=OnConflict.REJECT)
    sub = pool.events()
    winner = User(1, "inserted meanwhile")

    async def fetch(id: int) -> User:
        pool.insert(winner)
        return User(id, "fetched")

    assert await pool.aget_or_fetch(1, fetch) is winner
    assert pool.get(1) is winner
    assert drain(sub) == [Inserted(winner)]


@pytest.mark.anyio
async def test_an_expired_resident_is_replaced_even_under_reject() -> None:
    clock = FakeClock()
    pool = Punnu(User, on_conflict=OnConflict.REJECT, clock=clock)
    pool.insert(User(1, "old"), ttl=1)
    clock.advance(1)
    sub = pool.events()
    fetch = Fetcher()
    value = await pool.aget_or_fetch(1, fetch)
    assert value == User(1, "v1")
    assert pool.get(1) is value
    assert len(pool) == 1
    assert drain(sub) == [Inserted(value)]


@pytest.mark.anyio
async def test_fetched_values_get_the_pool_default_ttl() -> None:
    clock = FakeClock()
    pool = Punnu(User, ttl=10, clock=clock)
    fetch = Fetcher()
    await pool.aget_or_fetch(1, fetch)
    clock.advance(9.5)
    assert pool.get(1) is not None
    clock.advance(0.5)
    assert pool.get(1) is None
    await pool.aget_or_fetch(1, fetch)
    assert fetch.calls == [1, 1]


@pytest.mark.anyio
@pytest.mark.parametrize("how", ["invalidate", "ainvalidate", "tombstone"])
async def test_removal_during_the_fetch_returns_the_value_but_does_not_cache_it(how: str) -> None:
    pool = Punnu(User)
    sub = pool.events()
    fetch = Fetcher(gated=True)
    got: list[User | None] = []

    async def caller() -> None:
        got.append(await pool.aget_or_fetch(1, fetch))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(caller)
            await fetch.started.wait()
            if how == "invalidate":
                assert pool.invalidate(1) is False  # nothing resident, but the fetch is stale
            elif how == "ainvalidate":
                assert await pool.ainvalidate(1) is False
            else:
                pool.apply_delta(Delta(tombstones=[1]))
            assert fetch.gate is not None
            fetch.gate.set()
    assert got == [User(1, "v1")]
    assert pool.get(1) is None
    assert len(pool) == 0
    assert drain(sub) == []
    # the stale fetch left nothing behind: the next call fetches and caches normally
    assert await pool.aget_or_fetch(1, fetch) == User(1, "v2")
    assert pool.get(1) == User(1, "v2")


@pytest.mark.anyio
async def test_removing_another_id_during_the_fetch_does_not_block_caching() -> None:
    pool = Punnu(User)
    pool.insert(User(2))
    fetch = Fetcher(gated=True)

    async def caller() -> None:
        await pool.aget_or_fetch(1, fetch)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(caller)
            await fetch.started.wait()
            assert pool.invalidate(2) is True
            assert fetch.gate is not None
            fetch.gate.set()
    assert pool.get(1) == User(1, "v1")


@pytest.mark.anyio
async def test_fetch_latency_is_recorded_on_the_slow_path_only() -> None:
    metrics = Metrics()
    pool = Punnu(User, metrics=metrics)
    await pool.aget_or_fetch(1, Fetcher())
    assert len(metrics.latencies) == 1
    assert metrics.latencies[0][0] == pool.type_name
    assert metrics.latencies[0][1] >= 0
    await pool.aget_or_fetch(1, Fetcher())  # L1 hit
    assert len(metrics.latencies) == 1
    with pytest.raises(ValueError):
        await pool.aget_or_fetch(2, Fetcher(result=ValueError("boom")))
    assert len(metrics.latencies) == 2
    with pytest.raises(IdentityMismatchError):
        await pool.aget_or_fetch(3, Fetcher(result=User(4)))
    assert len(metrics.latencies) == 3


@pytest.mark.anyio
async def test_every_caller_on_the_slow_path_records_its_latency_but_not_a_cancelled_one() -> None:
    metrics = Metrics()
    pool = Punnu(User, metrics=metrics)
    fetch = Fetcher(gated=True)
    cancelled = anyio.CancelScope()

    async def caller() -> None:
        await pool.aget_or_fetch(1, fetch)

    async def impatient() -> None:
        with cancelled:
            await pool.aget_or_fetch(1, fetch)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(caller)
            tg.start_soon(impatient)
            await fetch.started.wait()
            await anyio.wait_all_tasks_blocked()
            cancelled.cancel()
            await anyio.wait_all_tasks_blocked()
            assert fetch.gate is not None
            fetch.gate.set()
    assert fetch.calls == [1]
    assert len(metrics.latencies) == 3


def test_sync_latency_is_recorded_on_the_slow_path_only() -> None:
    metrics = Metrics()
    pool = Punnu(User, metrics=metrics)
    pool.get_or_fetch(1, lambda id: User(id))
    pool.get_or_fetch(1, lambda id: User(id))
    with pytest.raises(IdentityMismatchError):
        pool.get_or_fetch(2, lambda id: User(3))
    pool.get_or_fetch_many([1, 4], lambda ids: [User(i) for i in ids])
    pool.get_or_fetch_many([1, 4], lambda ids: [User(i) for i in ids])
    assert len(metrics.latencies) == 3


@pytest.mark.anyio
async def test_a_fetch_asking_for_its_own_id_fails_instead_of_hanging() -> None:
    pool = Punnu(User)

    async def recursive(id: int) -> User | None:
        return await pool.aget_or_fetch(id, recursive)

    with anyio.fail_after(10), pytest.raises(RuntimeError, match="itself"):
        await pool.aget_or_fetch(1, recursive)
    assert len(pool) == 0


@pytest.mark.anyio
async def test_a_plain_function_fetcher_is_accepted_by_the_async_variant() -> None:
    pool = Punnu(User)
    assert await pool.aget_or_fetch(1, lambda id: User(id)) == User(1)


# --- sync --------------------------------------------------------------------------------------


def test_sync_miss_fetches_once_then_hits() -> None:
    pool = Punnu(User)
    sub = pool.events()
    calls: list[int] = []

    def fetch(id: int) -> User:
        calls.append(id)
        return User(id, "sync")

    value = pool.get_or_fetch(1, fetch)
    assert value == User(1, "sync")
    assert pool.get_or_fetch(1, fetch) is value
    assert calls == [1]
    assert drain(sub) == [Inserted(value)]


def test_sync_none_error_and_mismatch_cache_nothing() -> None:
    pool = Punnu(User)
    assert pool.get_or_fetch(1, lambda id: None) is None
    with pytest.raises(KeyError):
        pool.get_or_fetch(1, lambda id: {}[id])
    with pytest.raises(IdentityMismatchError):
        pool.get_or_fetch(1, lambda id: User(id + 1))
    assert len(pool) == 0


def test_sync_variant_rejects_an_async_fetcher_without_leaking_a_coroutine() -> None:
    pool = Punnu(User)

    async def fetch(id: int) -> User:
        return User(id)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TypeError, match="aget_or_fetch"):
            pool.get_or_fetch(1, fetch)
    assert len(pool) == 0


def test_fifty_threads_share_one_call_and_one_inserted_event() -> None:
    pool = Punnu(User)
    sub = pool.events()
    n = 50
    barrier = threading.Barrier(n)
    calls: list[int] = []
    results: list[User | None] = []

    def fetch(id: int) -> User:
        calls.append(id)
        # hold the flight open until every other thread has joined it
        deadline = time.monotonic() + 30
        while pool.stats().coalesced_waiters < n - 1:
            assert time.monotonic() < deadline, "threads never joined the flight"
            time.sleep(0.0005)
        return User(id, "shared")

    def worker() -> None:
        barrier.wait()
        results.append(pool.get_or_fetch(1, fetch))

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()
    assert calls == [1]
    assert len(results) == n
    assert all(r is results[0] for r in results)
    assert drain(sub) == [Inserted(results[0])]
    assert pool.stats().fetches == 1


def test_sync_invalidate_during_the_fetch_is_not_written_back() -> None:
    pool = Punnu(User)
    sub = pool.events()

    def fetch(id: int) -> User:
        pool.invalidate(id)
        return User(id, "stale")

    assert pool.get_or_fetch(1, fetch) == User(1, "stale")
    assert pool.get(1) is None
    assert drain(sub) == []


def test_sync_invalidate_of_a_resident_during_a_refetch_emits_only_its_event() -> None:
    clock = FakeClock()
    pool = Punnu(User, clock=clock, ttl=5)
    pool.insert(User(1, "old"))
    clock.advance(5)
    sub = pool.events()

    def fetch(id: int) -> User:
        pool.insert(User(id, "racing writer"), ttl=100)
        pool.invalidate(id)
        return User(id, "stale")

    assert pool.get_or_fetch(1, fetch) == User(1, "stale")
    assert pool.get(1) is None
    events = drain(sub)
    assert events == [Inserted(User(1, "racing writer")), Invalidated(1, events[1].reason)]


class InsertOnMiss:
    """A metrics hook that caches id 1 when a lookup misses, like a flight ending just then."""

    def __init__(self) -> None:
        self.pool: Punnu[User] | None = None

    def record_miss(self, type_name: str) -> None:
        assert self.pool is not None
        self.pool.insert(User(1, "cached meanwhile"))


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_value_cached_between_the_l1_check_and_the_flight_is_not_fetched_again(
    mode: str,
) -> None:
    metrics = InsertOnMiss()
    pool = Punnu(User, metrics=metrics)
    metrics.pool = pool
    calls: list[int] = []

    def fetch(id: int) -> User:
        calls.append(id)
        return User(id, "fetched")

    async def afetch(id: int) -> User:
        return fetch(id)

    if mode == "sync":
        value = pool.get_or_fetch(1, fetch)
    else:
        value = await pool.aget_or_fetch(1, afetch)
    assert value == User(1, "cached meanwhile")
    assert calls == []
    assert pool.stats().fetches == 0


def test_event_loops_in_different_threads_never_share_a_flight() -> None:
    """anyio events are loop-bound: each loop runs its own flight; the first insert wins."""
    pool = Punnu(User)
    both_fetching = threading.Barrier(2, timeout=30)
    results: dict[str, User | None] = {}
    errors: list[BaseException] = []

    def run(backend: str) -> None:
        async def fetch(id: int) -> User:
            both_fetching.wait()  # both loops are inside their own fetch at once
            return User(id, backend)

        async def main() -> None:
            results[backend] = await pool.aget_or_fetch(1, fetch)

        try:
            anyio.run(main, backend=backend)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(b,)) for b in ("asyncio", "trio")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()
    assert errors == []
    resident = pool.get(1)
    assert resident is not None
    assert results["asyncio"] is resident
    assert results["trio"] is resident
    assert pool.stats().fetches == 2

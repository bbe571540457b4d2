"""Regressions of issue 11 (items 7, 8, 12, 14, 19, 20): listener availability and resync, no
stale write-back after wide invalidations, bounded tracebacks, subscriptions, unknown outcomes."""

from __future__ import annotations

import traceback
from typing import Any

import anyio
import pytest
from tiering_helpers import Item, ScriptedBackend

import sassi
from sassi import BackendFailure, EventReason, Invalidated
from sassi.backends import InvalidateAll, InvalidateWhere, Keyspace, MemoryBackend
from sassi.exceptions import BackendTimeout, BackendUnavailable

pytestmark = pytest.mark.anyio

F = sassi.fields(Item)


class FlakyStreams(MemoryBackend):
    """A MemoryBackend whose invalidation stream fails, hangs or ends on demand."""

    def __init__(self, failures: int = 0, hang: bool = False, end: bool = False) -> None:
        super().__init__()
        self.failures = failures
        self.hang = hang
        self.end = end
        self.attempts = 0

    def invalidations(self, keyspace: Keyspace) -> Any:
        self.attempts += 1
        if self.failures:
            self.failures -= 1
            raise BackendUnavailable("redis is down")
        if self.hang:
            return Hung()
        if self.end:
            return Ended()
        return super().invalidations(keyspace)


class Hung:
    async def ready(self) -> None:
        await anyio.sleep_forever()

    def __aiter__(self) -> Hung:
        return self

    async def __anext__(self) -> Any:
        await anyio.sleep_forever()


class Ended(Hung):
    async def ready(self) -> None:
        return None

    async def __anext__(self) -> Any:
        raise StopAsyncIteration


async def test_the_first_subscription_after_failed_attempts_resyncs() -> None:
    backend = FlakyStreams(failures=2)
    pool = sassi.Punnu(Item, backend=backend)
    pool.insert(Item(1, "cached while the stream was down"))
    with pool.events() as sub:
        async with pool.background():
            with anyio.fail_after(5):
                await pool.wait_listening()
            assert pool.listening
            assert 1 not in pool  # messages sent before the subscription may have been missed
        assert sub.receive_nowait() == Invalidated(1, EventReason.BACKEND_INVALIDATION)
    assert not pool.listening and backend.attempts == 3


async def test_background_enters_at_once_while_the_backend_hangs() -> None:
    pool = sassi.Punnu(Item, backend=FlakyStreams(hang=True))
    pool.insert(Item(1, "a"))
    entered = False
    with anyio.fail_after(1.5):
        async with pool.background():
            entered = True
            assert not pool.listening
            assert pool.get(1) == Item(1, "a")  # L1 keeps serving
    assert entered


async def test_a_stream_that_ends_after_subscribing_is_reopened_with_backoff() -> None:
    backend = FlakyStreams(end=True)
    pool = sassi.Punnu(Item, backend=backend)
    async with pool.background():
        await anyio.sleep(0.5)
    # 10 ms doubling: about six attempts in half a second; without a backoff, thousands
    assert 2 <= backend.attempts <= 12


async def _fetch_racing(pool: sassi.Punnu[Item], race: Any) -> Item | None:
    started, gate = anyio.Event(), anyio.Event()
    got: list[Item | None] = []

    async def fetch(id: int) -> Item:
        started.set()
        await gate.wait()
        return Item(id, "fetched", age=30)

    async def caller() -> None:
        got.append(await pool.aget_or_fetch(1, fetch))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(caller)
            await started.wait()
            await race()
            gate.set()
    return got[0]


async def test_a_backend_invalidate_all_during_a_fetch_wins() -> None:
    pool = sassi.Punnu(Item, backend=MemoryBackend())
    assert pool._listener is not None
    listener = pool._listener
    value = await _fetch_racing(pool, lambda: listener.apply(InvalidateAll()))
    assert value == Item(1, "fetched", age=30)
    assert 1 not in pool  # returned to the caller, not cached


async def test_a_matching_invalidate_where_during_a_fetch_wins() -> None:
    pool = sassi.Punnu(Item, backend=MemoryBackend())
    assert pool._listener is not None
    listener = pool._listener
    message = InvalidateWhere(sassi.predicate.dumps(F.age >= 18))
    assert await _fetch_racing(pool, lambda: listener.apply(message)) is not None
    assert 1 not in pool

    other = sassi.Punnu(Item, backend=MemoryBackend())

    async def local() -> None:
        other.invalidate_where(F.age >= 18)

    assert await _fetch_racing(other, local) is not None
    assert 1 not in other


async def test_a_non_matching_invalidate_where_does_not_stop_the_fetch() -> None:
    pool = sassi.Punnu(Item)

    async def local() -> None:
        pool.invalidate_where(F.age < 18)

    await _fetch_racing(pool, local)
    assert pool.get(1) == Item(1, "fetched", age=30)


async def test_each_waiter_of_a_failed_fetch_gets_a_traceback_of_its_own_size() -> None:
    pool = sassi.Punnu(Item)
    gate = anyio.Event()
    depths: list[int] = []

    async def fetch(id: int) -> Item:
        await gate.wait()
        raise LookupError("db down")

    async def waiter() -> None:
        try:
            await pool.aget_or_fetch(1, fetch)
        except LookupError as exc:
            depths.append(len(traceback.extract_tb(exc.__traceback__)))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for _ in range(300):
                tg.start_soon(waiter)
            await anyio.wait_all_tasks_blocked()
            gate.set()
    assert len(depths) == 300
    assert max(depths) - min(depths) <= 3  # the host's frames differ a little; never growing


def test_closed_subscriptions_leave_the_pool_at_once() -> None:
    pool = sassi.Punnu(Item)
    for _ in range(2_000):
        with pool.events():
            pass
    assert pool._core.hub._subs == ()  # nothing accumulates without writes
    live = pool.events()
    pool.insert(Item(1, "a"))
    assert live.receive_nowait() is not None


def test_a_strict_write_that_times_out_drops_the_id_and_suppresses_reads() -> None:
    backend = ScriptedBackend()
    pool = sassi.Punnu(Item, backend=backend, backend_failure=BackendFailure.ERROR)
    pool.insert(Item(1, "old"))
    backend.fail["put"] = [BackendTimeout("no answer in 5 s")]
    with pool.events() as sub:
        with pytest.raises(BackendTimeout):
            pool.insert(Item(1, "new"))
        assert sub.receive_nowait() == Invalidated(1, EventReason.BACKEND_INVALIDATION)
    assert 1 not in pool  # L2 may hold either value now
    assert pool.load(1) is None and backend.calls["get"] == 0  # L2 reads suppressed
    pool.insert(Item(1, "newer"))  # a successful write lifts the suppression
    assert pool.load(1) == Item(1, "newer")


class HangingPut(MemoryBackend):
    async def put(self, keyspace: Keyspace, id: Any, value: Any, ttl: Any) -> None:
        await anyio.sleep_forever()


async def test_a_strict_write_cancelled_while_out_drops_the_id() -> None:
    pool = sassi.Punnu(Item, backend=HangingPut(), backend_failure=BackendFailure.ERROR)
    pool.insert(Item(1, "old"))  # the sync put answers
    with anyio.move_on_after(0.1) as scope:
        await pool.ainsert(Item(1, "new"))
    assert scope.cancelled_caught
    assert 1 not in pool


async def test_a_refused_strict_write_leaves_l1_untouched() -> None:
    backend = ScriptedBackend()
    pool = sassi.Punnu(Item, backend=backend, backend_failure=BackendFailure.ERROR)
    await pool.ainsert(Item(1, "old"))
    backend.fail["put"] = [BackendUnavailable("connection refused")]
    with pytest.raises(BackendUnavailable):
        await pool.ainsert(Item(1, "new"))
    assert pool.get(1) == Item(1, "old")

"""TaskFlights: one fetch per key for anyio tasks, on asyncio and trio."""

from __future__ import annotations

import random
from collections.abc import Callable

import anyio
import pytest

from sassi._flight import FlightStats, TaskFlights

pytestmark = pytest.mark.anyio


class Value:
    """A fresh object per fetch, so tests can tell executions apart by identity."""

    def __init__(self, n: int) -> None:
        self.n = n


class GatedFetch:
    """A fetch that blocks on ``gate``, counts its calls and records how it ended."""

    def __init__(self) -> None:
        self.gate = anyio.Event()
        self.started = anyio.Event()
        self.calls = 0
        self.cancelled = 0
        self.finished = 0
        self.cancel_seen = anyio.Event()

    async def __call__(self) -> Value:
        self.calls += 1
        self.started.set()
        try:
            await self.gate.wait()
        except anyio.get_cancelled_exc_class():
            self.cancelled += 1
            self.cancel_seen.set()
            raise
        self.finished += 1
        return Value(self.calls)


async def _spawn_waiters(
    tg: anyio.abc.TaskGroup,
    flights: TaskFlights[Value],
    key: object,
    fetch: Callable[[], object],
    n: int,
    results: dict[int, object],
) -> list[anyio.CancelScope]:
    """Start ``n`` callers of ``flights.run(key, fetch)``; return once every one has joined.

    A caller joins synchronously inside ``run`` before its first checkpoint, so when the last
    caller has bumped the counter and the spawner wakes up, all ``n`` are registered.
    """
    scopes = [anyio.CancelScope() for _ in range(n)]
    joined = 0
    all_joined = anyio.Event()

    async def one(i: int) -> None:
        nonlocal joined
        joined += 1
        if joined == n:
            all_joined.set()
        with scopes[i]:
            try:
                results[i] = await flights.run(key, fetch)  # type: ignore[arg-type]
            except Exception as exc:
                results[i] = exc

    for i in range(n):
        tg.start_soon(one, i)
    await all_joined.wait()
    return scopes


async def test_ten_thousand_waiters_share_one_fetch() -> None:
    flights: TaskFlights[Value] = TaskFlights()
    fetch = GatedFetch()
    results: dict[int, object] = {}
    n = 10_000
    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            await _spawn_waiters(tg, flights, "k", fetch, n, results)
            assert flights.in_flight() == 1
            fetch.gate.set()
    assert fetch.calls == 1
    assert len(results) == n
    first = results[0]
    assert isinstance(first, Value)
    assert all(r is first for r in results.values())
    assert flights.in_flight() == 0
    assert flights.stats() == FlightStats(fetches=1, coalesced=n - 1, in_flight=0)


async def test_exception_reaches_every_waiter_as_the_same_object_and_is_not_cached() -> None:
    flights: TaskFlights[Value] = TaskFlights()
    gate = anyio.Event()
    calls = 0

    class Boom(Exception):
        pass

    async def failing() -> Value:
        nonlocal calls
        calls += 1
        await gate.wait()
        raise Boom("no such row")

    results: dict[int, object] = {}
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            await _spawn_waiters(tg, flights, 7, failing, 25, results)
            gate.set()
    errors = list(results.values())
    assert len(errors) == 25
    assert isinstance(errors[0], Boom)
    assert all(e is errors[0] for e in errors)
    assert calls == 1
    assert flights.in_flight() == 0

    async def succeeding() -> Value:
        return Value(2)

    again = await flights.run(7, succeeding)
    assert again.n == 2
    assert flights.stats().fetches == 2


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5, 6, 7])
async def test_random_cancellations_leave_survivors_their_value_and_no_residue(seed: int) -> None:
    rng = random.Random(seed)
    flights: TaskFlights[Value] = TaskFlights()
    fetch = GatedFetch()
    n = 200
    results: dict[int, object] = {}
    cancelled = set(rng.sample(range(n), rng.randrange(1, n)))
    if seed % 2 == 0:
        cancelled.add(0)  # the host: the task that started the fetch
    survivors = set(range(n)) - cancelled
    assert survivors
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            scopes = await _spawn_waiters(tg, flights, ("user", 1), fetch, n, results)
            for i in sorted(cancelled, key=lambda _: rng.random()):
                scopes[i].cancel()
                if rng.random() < 0.3:
                    await anyio.lowlevel.checkpoint()
            await anyio.lowlevel.checkpoint()
            assert flights.in_flight() == 1  # survivors keep the flight alive
            fetch.gate.set()
    assert fetch.calls == 1
    assert fetch.cancelled == 0
    assert fetch.finished == 1
    assert set(results) == survivors
    values = list(results.values())
    assert all(isinstance(v, Value) and v is values[0] for v in values)
    for i in cancelled:
        assert scopes[i].cancelled_caught
    assert flights.in_flight() == 0


async def test_cancelling_every_waiter_cancels_the_fetch_and_the_next_call_is_cold() -> None:
    flights: TaskFlights[Value] = TaskFlights()
    fetch = GatedFetch()
    results: dict[int, object] = {}
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            scopes = await _spawn_waiters(tg, flights, "k", fetch, 50, results)
            await fetch.started.wait()
            for scope in reversed(scopes):
                scope.cancel()
            await fetch.cancel_seen.wait()
    assert results == {}
    assert fetch.calls == 1
    assert fetch.cancelled == 1
    assert flights.in_flight() == 0

    fetch.gate.set()
    value = await flights.run("k", fetch)
    assert fetch.calls == 2
    assert value.n == 2
    assert flights.stats() == FlightStats(fetches=2, coalesced=49, in_flight=0)


async def test_slot_is_cleared_when_the_last_waiter_leaves_even_while_the_fetch_unwinds() -> None:
    """A call arriving while an abandoned fetch is still cleaning up starts its own fetch."""
    flights: TaskFlights[Value] = TaskFlights()
    release_cleanup = anyio.Event()
    cleanup_started = anyio.Event()
    calls = 0

    async def slow_to_die() -> Value:
        nonlocal calls
        calls += 1
        mine = calls
        if mine == 1:
            try:
                await anyio.sleep_forever()
            finally:
                with anyio.CancelScope(shield=True):
                    cleanup_started.set()
                    await release_cleanup.wait()
        return Value(mine)

    scope = anyio.CancelScope()

    async def abandoned_caller() -> None:
        with scope:
            await flights.run("k", slow_to_die)

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(abandoned_caller)
            await anyio.lowlevel.checkpoint()
            while calls == 0:
                await anyio.lowlevel.checkpoint()
            scope.cancel()
            await cleanup_started.wait()
            assert flights.in_flight() == 0
            fresh = await flights.run("k", slow_to_die)
            release_cleanup.set()
    assert fresh.n == 2
    assert calls == 2
    assert scope.cancelled_caught


async def test_cancelled_host_leaves_after_the_fetch_completes_for_the_others() -> None:
    flights: TaskFlights[Value] = TaskFlights()
    fetch = GatedFetch()
    results: dict[int, object] = {}
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            scopes = await _spawn_waiters(tg, flights, "k", fetch, 3, results)
            scopes[0].cancel()
            await anyio.lowlevel.checkpoint()
            assert fetch.cancelled == 0
            fetch.gate.set()
    assert scopes[0].cancelled_caught
    assert set(results) == {1, 2}
    assert results[1] is results[2]
    assert fetch.calls == 1
    assert fetch.cancelled == 0


async def test_distinct_keys_run_independently_and_may_nest() -> None:
    flights: TaskFlights[Value] = TaskFlights()
    inner_done = anyio.Event()

    async def inner() -> Value:
        inner_done.set()
        return Value(2)

    async def outer() -> Value:
        nested = await flights.run("inner", inner)
        return Value(nested.n * 10)

    with anyio.fail_after(10):
        value = await flights.run("outer", outer)
    assert value.n == 20
    assert inner_done.is_set()
    assert flights.stats() == FlightStats(fetches=2, coalesced=0, in_flight=0)


async def test_reentering_the_same_key_from_its_own_fetch_raises_instead_of_deadlocking() -> None:
    flights: TaskFlights[Value] = TaskFlights()

    async def recursive() -> Value:
        return await flights.run("k", recursive)

    with anyio.fail_after(10), pytest.raises(RuntimeError, match="wait on itself"):
        await flights.run("k", recursive)
    assert flights.in_flight() == 0


async def test_reentry_guard_follows_tasks_the_fetch_spawns() -> None:
    flights: TaskFlights[Value] = TaskFlights()
    seen: list[BaseException] = []

    async def spawning() -> Value:
        async def child() -> None:
            try:
                await flights.run("k", spawning)
            except RuntimeError as exc:
                seen.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(child)
        return Value(1)

    with anyio.fail_after(10):
        value = await flights.run("k", spawning)
    assert value.n == 1
    assert len(seen) == 1


async def test_waiter_count_tracks_a_late_joiner_after_the_host_was_cancelled() -> None:
    """The host leaves; a newcomer joins the same flight and receives its value."""
    flights: TaskFlights[Value] = TaskFlights()
    fetch = GatedFetch()
    results: dict[int, object] = {}
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            scopes = await _spawn_waiters(tg, flights, "k", fetch, 1, results)
            scopes[0].cancel()
            await anyio.lowlevel.checkpoint()
            # the host left, so the flight is abandoned and its slot cleared
            await fetch.cancel_seen.wait()
            late: dict[int, object] = {}
            await _spawn_waiters(tg, flights, "k", fetch, 2, late)
            fetch.gate.set()
    assert results == {}
    assert fetch.calls == 2
    assert late[0] is late[1]
    assert isinstance(late[0], Value)
    assert late[0].n == 2

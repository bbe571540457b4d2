"""pool.loader and cancellation (SPEC 11.7): one caller leaving never cancels a batch others
wait for; when every caller has left, the batch is cancelled and the next load starts cold."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from helpers import User
from sassi import Punnu

pytestmark = pytest.mark.anyio


class Gated:
    """A batch fetcher that waits for ``gate`` and notes whether it was cancelled."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []
        self.gate = anyio.Event()
        self.started = anyio.Event()
        self.cancelled = False

    async def __call__(self, ids: list[int]) -> list[User]:
        self.calls.append(list(ids))
        self.started.set()
        try:
            await self.gate.wait()
        except anyio.get_cancelled_exc_class():
            self.cancelled = True
            raise
        return [User(i, "db") for i in ids]


async def run_cancellable(tg: Any, coro_fn: Any, *args: Any) -> anyio.CancelScope:
    """Start ``coro_fn(*args)`` in its own cancel scope; returns the scope."""
    scope = anyio.CancelScope()

    async def body() -> None:
        with scope:
            await coro_fn(*args)

    tg.start_soon(body)
    return scope


@pytest.mark.parametrize("leaving", ["host", "joiner"])
async def test_one_caller_leaving_keeps_the_batch_for_the_other(leaving: str) -> None:
    pool = Punnu(User)
    src = Gated()
    loader = pool.loader(src)
    got: list[Any] = []

    async def stay() -> None:
        got.append(await loader.load(1))

    async with anyio.create_task_group() as tg:
        if leaving == "host":
            scope = await run_cancellable(tg, loader.load, 1)
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(stay)
        else:
            tg.start_soon(stay)
            await anyio.wait_all_tasks_blocked()
            scope = await run_cancellable(tg, loader.load, 1)
        await src.started.wait()
        await anyio.wait_all_tasks_blocked()
        scope.cancel()
        await anyio.wait_all_tasks_blocked()
        assert not src.cancelled
        src.gate.set()
    assert got == [User(1, "db")] and src.calls == [[1]] and not src.cancelled
    assert pool.get(1) == User(1, "db")


async def test_cancelling_every_caller_cancels_the_batch_and_the_next_load_starts_cold() -> None:
    pool = Punnu(User)
    src = Gated()
    loader = pool.loader(src)
    async with anyio.create_task_group() as tg:
        scopes = [await run_cancellable(tg, loader.load, i) for i in (1, 2, 1)]
        await src.started.wait()
        for scope in scopes:
            scope.cancel()
    assert src.cancelled and len(pool) == 0
    assert pool._fetching.tasks.in_flight() == 0
    src.gate.set()
    assert await loader.load(1) == User(1, "db")
    assert len(src.calls) == 2 and src.calls[1] == [1]


async def test_callers_cancelled_before_the_batch_left_never_call_the_fetcher() -> None:
    pool = Punnu(User)
    src = Gated()
    loader = pool.loader(src)
    with anyio.CancelScope() as scope:
        scope.cancel()
        await loader.load_many([1, 2])
    assert src.calls == [] and pool._fetching.tasks.in_flight() == 0
    src.gate.set()
    assert await loader.load_many([1, 2]) == [User(1, "db"), User(2, "db")]
    assert len(src.calls) == 1 and sorted(src.calls[0]) == [1, 2]


async def test_an_aget_or_fetch_that_joined_a_batch_may_leave_without_cancelling_it() -> None:
    pool = Punnu(User)
    src = Gated()
    loader = pool.loader(src)
    got: list[Any] = []

    async def load() -> None:
        got.append(await loader.load(1))

    async def never(id: int) -> User:  # pragma: no cover - the batch serves id 1
        raise AssertionError("the joined batch serves id 1")

    async with anyio.create_task_group() as tg:
        tg.start_soon(load)
        await src.started.wait()
        scope = await run_cancellable(tg, pool.aget_or_fetch, 1, never)
        await anyio.wait_all_tasks_blocked()
        scope.cancel()
        await anyio.wait_all_tasks_blocked()
        src.gate.set()
    assert got == [User(1, "db")] and not src.cancelled


async def test_a_load_many_over_several_batches_cancels_only_batches_it_alone_waits_for() -> None:
    pool = Punnu(User)
    src = Gated()
    loader = pool.loader(src, max_batch=1)
    got: list[Any] = []

    async def other() -> None:
        got.append(await loader.load(2))

    async with anyio.create_task_group() as tg:
        scope = await run_cancellable(tg, loader.load_many, [1, 2, 3])
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(other)  # shares the batch of id 2
        await anyio.wait_all_tasks_blocked()
        assert sorted(src.calls) == [[1], [2], [3]]
        scope.cancel()
        await anyio.wait_all_tasks_blocked()
        src.gate.set()
    assert got == [User(2, "db")]
    assert 2 in pool and 1 not in pool and 3 not in pool

"""delta_refresh(wake=...): an async iterable that runs an update as soon as it yields.

The waker here is an anyio memory stream (or a small async generator), so these tests need no
database; ``tests/sql/test_notify.py`` runs the same path over a real PostgreSQL ``NOTIFY``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import pytest

import sassi
from sassi import Delta, DeltaQuery, Punnu

pytestmark = pytest.mark.anyio

NEVER = 3600.0  # no scheduled tick ever runs during a test


@sassi.cacheable(watermark="updated_at")
@dataclass(frozen=True, slots=True)
class Row:
    id: int
    updated_at: int = 0


class Table:
    """A delta fetcher over a dict of rows; records queries (and how many were answered); each
    call can be held at a gate."""

    def __init__(self) -> None:
        self.rows: dict[int, Row] = {}
        self.queries: list[DeltaQuery[Row]] = []
        self.answered = 0
        self.gate: anyio.Event | None = None
        self.entered = anyio.Event()
        self.fail: BaseException | None = None

    def put(self, id: int, updated_at: int) -> None:
        self.rows[id] = Row(id, updated_at)

    async def __call__(self, query: DeltaQuery[Row]) -> Delta[Row]:
        self.queries.append(query)
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        await anyio.lowlevel.checkpoint()
        if self.fail is not None:
            raise self.fail
        since = query.since
        items = [r for r in self.rows.values() if since is None or r.updated_at >= since]
        self.answered += 1
        return Delta(items)


class Stream:
    """A waker: ``await stream.wake()`` makes it yield once."""

    def __init__(self) -> None:
        self.send, self.receive = anyio.create_memory_object_stream[object](100)

    def __aiter__(self) -> AsyncIterator[object]:
        return self.receive.__aiter__()

    async def wake(self, item: object = None) -> None:
        await self.send.send(item)

    def close(self) -> None:
        self.send.close()
        self.receive.close()


@pytest.fixture
def waker() -> Iterator[Stream]:
    stream = Stream()
    yield stream
    stream.close()


async def until(condition: Any, limit: float = 5.0) -> None:
    """Wait (bounded) until ``condition()`` holds."""
    with anyio.fail_after(limit):
        while not condition():  # noqa: ASYNC110 - the state changes in other tasks
            await anyio.sleep(0.001)


async def test_a_wake_runs_an_update_at_once_whatever_the_interval(waker: Stream) -> None:
    pool, table = Punnu(Row), Table()
    async with pool.delta_refresh(NEVER, table, wake=waker) as handle:
        await handle.update()
        assert [q.since for q in table.queries] == [None]
        table.put(1, 10)
        await waker.wake()
        await until(lambda: pool.get(1) is not None)
        table.put(1, 11)
        await waker.wake("any payload")  # the item itself does not matter
        await until(lambda: pool.get(1) == Row(1, 11))
        assert [q.since for q in table.queries] == [None, None, 10]
        assert handle.watermark == 11


async def test_wakes_during_a_tick_run_one_more_tick_after_it(waker: Stream) -> None:
    pool, table = Punnu(Row), Table()
    async with pool.delta_refresh(NEVER, table, wake=waker):
        table.gate = anyio.Event()
        await waker.wake()
        await table.entered.wait()  # tick 1 holds at the gate, having read nothing yet
        table.put(1, 5)  # ... but a tick that started before a change must not count
        for _ in range(5):
            await waker.wake()
        await anyio.wait_all_tasks_blocked()
        assert len(table.queries) == 1
        table.gate.set()
        await until(lambda: pool.get(1) is not None)
        await anyio.wait_all_tasks_blocked()
        assert len(table.queries) == 2  # five wakes, one more tick


async def test_a_wake_never_joins_the_tick_in_flight(waker: Stream) -> None:
    pool, table = Punnu(Row), Table()
    async with pool.delta_refresh(NEVER, table, wake=waker) as handle:
        table.gate = anyio.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(handle.update)
            await table.entered.wait()
            await waker.wake()
            await anyio.wait_all_tasks_blocked()
            table.gate.set()
        await until(lambda: len(table.queries) == 2)


async def test_update_full_upgrades_a_queued_delta_tick(waker: Stream) -> None:
    pool, table = Punnu(Row), Table()
    table.put(1, 7)
    async with pool.delta_refresh(NEVER, table, wake=waker) as handle:
        await handle.update()
        table.gate = anyio.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(handle.update)
            await table.entered.wait()
            await waker.wake()  # queues a delta tick behind the one in flight
            await anyio.wait_all_tasks_blocked()
            full: list[Any] = []

            async def run_full() -> None:
                full.append(await handle.update_full())

            group.start_soon(run_full)
            await anyio.wait_all_tasks_blocked()
            table.gate.set()
        assert [q.since for q in table.queries] == [None, 7, None]
        assert full[0].full


async def test_a_failed_woken_tick_is_logged_and_the_next_wake_still_works(
    caplog: pytest.LogCaptureFixture, waker: Stream
) -> None:
    pool, table = Punnu(Row), Table()
    async with pool.delta_refresh(NEVER, table, wake=waker):
        table.fail = RuntimeError("database down")
        table.put(1, 1)
        with caplog.at_level(logging.ERROR, logger="sassi.refresh"):
            await waker.wake()
            await until(lambda: "database down" in caplog.text)
        assert pool.get(1) is None
        table.fail = None
        await waker.wake()
        await until(lambda: pool.get(1) is not None)


class Flaky:
    """Yields once, then fails; the next iteration yields forever on demand."""

    def __init__(self, stream: Stream) -> None:
        self.iterations = 0
        self.stream = stream

    def __aiter__(self) -> AsyncIterator[object]:
        self.iterations += 1
        return self._items(self.iterations)

    async def _items(self, iteration: int) -> AsyncIterator[object]:
        yield "listening"
        if iteration == 1:
            raise ConnectionError("connection lost")
        async for item in self.stream:
            yield item


async def test_a_failing_waker_is_iterated_again_and_its_first_item_runs_a_full_update(
    caplog: pytest.LogCaptureFixture, waker: Stream
) -> None:
    pool, table, flaky = Punnu(Row), Table(), Flaky(waker)
    table.put(1, 3)
    with caplog.at_level(logging.WARNING, logger="sassi.refresh"):
        async with pool.delta_refresh(NEVER, table, wake=flaky) as handle:
            # answered, not only asked: the full update must have read the table before row 2
            await until(lambda: table.answered == 2)
            # first iteration: its item runs an update (the first one: since=None); after the
            # failure, the new iteration's first item runs update_full()
            assert [q.since for q in table.queries] == [None, None]
            assert flaky.iterations == 2
            assert handle.watermark == 3
            table.put(2, 4)
            await waker.wake()
            await until(lambda: pool.get(2) is not None)
            assert [q.since for q in table.queries] == [None, None, 3]
    assert "connection lost" in caplog.text
    assert "iterating it again in 0.10 s" in caplog.text


async def test_a_waker_that_ends_leaves_the_scheduled_ticks_and_update(
    caplog: pytest.LogCaptureFixture, waker: Stream
) -> None:
    pool, table = Punnu(Row), Table()
    with caplog.at_level(logging.WARNING, logger="sassi.refresh"):
        async with pool.delta_refresh(0.01, table, wake=waker) as handle:
            await waker.send.aclose()
            await until(lambda: "ended" in caplog.text)
            seen = len(table.queries)
            await until(lambda: len(table.queries) > seen + 1)  # scheduled ticks go on
            table.put(1, 1)
            await handle.update()  # may join a scheduled tick that read the table before row 1
            await handle.update()  # so one more: it starts after that tick, and sees row 1
            assert pool.get(1) is not None


async def test_leaving_the_block_closes_the_waker() -> None:
    closed = anyio.Event()

    async def items() -> AsyncIterator[object]:
        try:
            yield None
            await anyio.sleep_forever()
        finally:
            closed.set()

    pool, table = Punnu(Row), Table()
    async with pool.delta_refresh(NEVER, table, wake=items()):
        await until(lambda: len(table.queries) == 1)
        assert not closed.is_set()
    assert closed.is_set()


async def test_wake_must_be_an_async_iterable(waker: Stream) -> None:
    pool, table = Punnu(Row), Table()
    with pytest.raises(TypeError, match="wake= needs an async iterable"):
        pool.delta_refresh(NEVER, table, wake=[1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="wake= needs an async iterable"):
        pool.delta_refresh(NEVER, table, wake=waker.wake)  # type: ignore[arg-type]

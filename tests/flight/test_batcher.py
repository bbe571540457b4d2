"""Batcher: same-tick batches filed in a TaskFlights registry, on asyncio and trio."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import anyio
import pytest

from sassi._flight import Batcher, Failed, FlightStats, TaskFlights

pytestmark = pytest.mark.anyio


class Fetch:
    """A batch fetch recording its key lists; answers ``{key: f"v{key}"}`` (or per-key
    ``Failed`` for keys in ``failing``), optionally after ``gate``."""

    def __init__(self) -> None:
        self.calls: list[list[Hashable]] = []
        self.gate: anyio.Event | None = None
        self.failing: dict[Hashable, Exception] = {}

    async def __call__(self, keys: list[Hashable]) -> Mapping[Hashable, Any]:
        self.calls.append(keys)
        if self.gate is not None:
            await self.gate.wait()
        return {
            k: Failed(self.failing[k]) if k in self.failing else f"v{k}"
            for k in keys
            if k != "absent"
        }


async def test_keys_of_one_tick_share_one_fetch_and_one_flight() -> None:
    flights: TaskFlights[Any] = TaskFlights()
    fetch = Fetch()
    batcher: Batcher[Any] = Batcher(flights, fetch, max_batch=10)
    got: dict[int, Any] = {}

    async def one(i: int, key: Hashable) -> None:
        got[i] = await batcher.load(key)

    async with anyio.create_task_group() as tg:
        for i, key in enumerate(["a", "b", "a", "absent"]):
            tg.start_soon(one, i, key)
    assert len(fetch.calls) == 1 and sorted(map(str, fetch.calls[0])) == ["a", "absent", "b"]
    assert got == {0: "va", 1: "vb", 2: "va", 3: None}
    assert flights.stats() == FlightStats(fetches=1, coalesced=1, in_flight=0)


async def test_a_per_key_failure_raises_for_that_key_only() -> None:
    flights: TaskFlights[Any] = TaskFlights()
    fetch = Fetch()
    boom = ValueError("boom")
    fetch.failing["b"] = boom
    batcher: Batcher[Any] = Batcher(flights, fetch, max_batch=10)
    assert (await batcher.load_many(["a"])) == ["va"]
    with pytest.raises(ValueError) as caught:
        await batcher.load_many(["c", "b"])
    assert caught.value is boom


async def test_run_joins_a_batch_and_running_sees_it() -> None:
    flights: TaskFlights[Any] = TaskFlights()
    fetch = Fetch()
    fetch.gate = anyio.Event()
    batcher: Batcher[Any] = Batcher(flights, fetch, max_batch=10)
    got: list[Any] = []

    async def never() -> Any:  # pragma: no cover - the batch serves the key
        raise AssertionError

    async with anyio.create_task_group() as tg:
        tg.start_soon(batcher.load, "k")
        await anyio.wait_all_tasks_blocked()
        assert flights.running("k") and not flights.running("other")

        async def join() -> None:
            got.append(await flights.run("k", never))

        tg.start_soon(join)
        await anyio.wait_all_tasks_blocked()
        fetch.gate.set()
    assert got == ["vk"] and not flights.running("k")
    assert flights.stats().coalesced == 1


async def test_max_batch_closes_a_batch_early() -> None:
    flights: TaskFlights[Any] = TaskFlights()
    fetch = Fetch()
    batcher: Batcher[Any] = Batcher(flights, fetch, max_batch=2)
    assert await batcher.load_many([1, 2, 3, 4, 5]) == ["v1", "v2", "v3", "v4", "v5"]
    assert sorted(sorted(c, key=str) for c in fetch.calls) == [[1, 2], [3, 4], [5]]
    assert flights.stats().fetches == 3

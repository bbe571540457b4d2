"""SPEC 11.2 in process: pools sharing a MemoryBackend behave like processes sharing a Redis."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

import anyio
import pytest

import sassi
from helpers import CountingBackend
from sassi import BackendFailure, Punnu
from sassi.backends import MemoryBackend
from sassi.exceptions import BackendError

pytestmark = pytest.mark.anyio


@sassi.cacheable(type_name="fleet.User")
@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str = ""


class Database:
    """The source of truth: counts calls; can be gated, fail or answer None."""

    def __init__(self) -> None:
        self.calls: Counter[int] = Counter()
        self.gate: anyio.Event | None = None
        self.started = anyio.Event()
        self.answers: list[Any] = []

    async def fetch(self, id: int) -> User | None:
        self.calls[id] += 1
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, BaseException):
                raise answer
            return answer  # type: ignore[no-any-return]
        return User(id, f"db{id}")


def fleet(n: int, backend: MemoryBackend | None = None, **kwargs: Any) -> list[Punnu[User]]:
    shared = backend if backend is not None else MemoryBackend()
    return [Punnu(User, backend=shared, namespace="fleet", **kwargs) for _ in range(n)]


async def test_an_l2_hit_fills_l1_without_calling_the_fetcher() -> None:
    a, b = fleet(2)
    a.insert(User(1, "in L2"))
    db = Database()
    assert await b.aget_or_fetch(1, db.fetch) == User(1, "in L2")
    assert db.calls[1] == 0 and b.get(1) == User(1, "in L2")


async def test_a_fetched_value_is_written_through_to_l2() -> None:
    a, b = fleet(2)
    db = Database()
    assert await a.aget_or_fetch(7, db.fetch) == User(7, "db7")
    assert b.load(7) == User(7, "db7")


async def test_one_fetch_for_many_pools_and_callers_on_a_cold_id() -> None:
    pools = fleet(4)
    db = Database()
    db.gate = anyio.Event()
    got: list[User | None] = []

    async def caller(pool: Punnu[User]) -> None:
        got.append(await pool.aget_or_fetch(1, db.fetch))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for pool in pools:
                for _ in range(25):
                    tg.start_soon(caller, pool)
            await db.started.wait()
            await anyio.wait_all_tasks_blocked()
            db.gate.set()
    assert db.calls[1] == 1
    assert got == [User(1, "db1")] * 100
    assert all(pool.get(1) == User(1, "db1") for pool in pools)


@pytest.mark.parametrize("outcome", ["none", "raises"])
async def test_when_the_holder_gets_nothing_a_waiter_fetches_itself(outcome: str) -> None:
    a, b = fleet(2)
    db = Database()
    db.gate = anyio.Event()
    db.answers = [None if outcome == "none" else LookupError("db hiccup"), User(1, "second")]
    results: dict[str, Any] = {}

    async def holder() -> None:
        try:
            results["a"] = await a.aget_or_fetch(1, db.fetch)
        except LookupError as exc:
            results["a"] = exc

    async def waiter() -> None:
        results["b"] = await b.aget_or_fetch(1, db.fetch)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(holder)
            await db.started.wait()
            tg.start_soon(waiter)
            await anyio.wait_all_tasks_blocked()
            db.gate.set()
    assert db.calls[1] == 2  # the waiter took the lease over
    assert results["b"] == User(1, "second")  # never the holder's exception
    if outcome == "none":
        assert results["a"] is None
    else:
        assert isinstance(results["a"], LookupError)


async def test_an_invalidation_elsewhere_during_a_fetch_keeps_the_value_out_of_both_tiers() -> None:
    a, b = fleet(2)
    db = Database()
    db.gate = anyio.Event()
    got: list[User | None] = []

    async def fetch() -> None:
        got.append(await a.aget_or_fetch(1, db.fetch))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(fetch)
            await db.started.wait()
            await b.ainvalidate(1)  # another process: the row changed while we fetched it
            db.gate.set()
    assert got == [User(1, "db1")]  # the caller still gets what it fetched
    assert 1 not in a and b.load(1) is None and a.load(1) is None


async def test_without_leases_every_pool_fetches() -> None:
    pools = fleet(3, fetch_lease=None)
    db = Database()
    db.gate = anyio.Event()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for pool in pools:
                tg.start_soon(pool.aget_or_fetch, 1, db.fetch)
            await anyio.wait_all_tasks_blocked()
            db.gate.set()
    assert db.calls[1] == 3


async def test_many_reads_and_writes_l2_in_one_round_trip_each() -> None:
    backend = CountingBackend()
    a, b = fleet(2, backend)
    a.insert(User(2, "in L2"))
    b.insert(User(1, "in L1"))
    backend.ops.clear()
    asked: list[list[int]] = []

    async def fetch_many(ids: list[int]) -> list[User]:
        asked.append(ids)
        return [User(i, f"db{i}") for i in ids]

    got = await b.aget_or_fetch_many([1, 2, 3, 4], fetch_many)
    assert asked == [[3, 4]]  # only the ids missing from both tiers
    assert got == [User(1, "in L1"), User(2, "in L2"), User(3, "db3"), User(4, "db4")]
    assert backend.ops == Counter(get_versioned=1, put_if_versions=1)
    assert a.load(4) == User(4, "db4")


def test_threads_in_two_pools_share_one_fetch_through_the_lease() -> None:
    a, b = fleet(2)
    calls: Counter[int] = Counter()
    release = threading.Event()

    def fetch(id: int) -> User:
        calls[id] += 1
        release.wait(5)
        return User(id, "db")

    got: list[User | None] = []
    threads = [
        threading.Thread(target=lambda p=p: got.append(p.get_or_fetch(1, fetch)))
        for p in (a, b, a, b)
    ]
    for t in threads:
        t.start()
    release.set()
    for t in threads:
        t.join(10)
    assert calls[1] == 1 and got == [User(1, "db")] * 4


async def test_strict_pools_raise_when_the_write_back_fails() -> None:
    class NoWrites(MemoryBackend):
        def put_if_versions_sync(self, *args: Any) -> list[bool]:
            raise BackendError("read-only replica")

    (strict,) = fleet(1, NoWrites(), backend_failure=BackendFailure.ERROR)
    (relaxed,) = fleet(1, NoWrites())
    db = Database()
    with pytest.raises(BackendError, match="read-only"):
        await strict.aget_or_fetch(1, db.fetch)
    assert 1 not in strict
    assert await relaxed.aget_or_fetch(1, db.fetch) == User(1, "db1")
    assert relaxed.get(1) == User(1, "db1") and relaxed.stats().backend_errors == 1

"""pool.loader (SPEC 11.7): same-tick batches, deduplicated, split, single-flight, L1 -> L2 -> source."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import anyio
import pytest

import sassi
from helpers import CountingBackend, User, drain
from sassi import IdentityMismatchError, Inserted, Punnu
from sassi.testing import FakeClock

pytestmark = pytest.mark.anyio


class Batches:
    """A batch fetcher over ``rows`` that records each call; may wait for ``gate`` or fail."""

    def __init__(self, rows: dict[int, User] | None = None) -> None:
        self.rows = rows if rows is not None else {i: User(i, f"db{i}") for i in range(10_000)}
        self.calls: list[list[int]] = []
        self.gate: anyio.Event | None = None
        self.started = anyio.Event()
        self.error: Exception | None = None
        self.cancelled = False

    async def __call__(self, ids: list[int]) -> list[User]:
        self.calls.append(list(ids))
        self.started.set()
        if self.gate is not None:
            try:
                await self.gate.wait()
            except anyio.get_cancelled_exc_class():
                self.cancelled = True
                raise
        if self.error is not None:
            raise self.error
        return [self.rows[i] for i in ids if i in self.rows]


async def gather(loader: Any, ids: list[int]) -> dict[int, Any]:
    """``loader.load(id)`` for each id from tasks started together (one tick)."""
    out: dict[int, Any] = {}

    async def one(position: int, id: int) -> None:
        out[position] = await loader.load(id)

    async with anyio.create_task_group() as tg:
        for position, id in enumerate(ids):
            tg.start_soon(one, position, id)
    return out


async def test_loads_of_one_tick_make_one_deduplicated_batch_call() -> None:
    pool = Punnu(User)
    src = Batches()
    loader = pool.loader(src)
    ids = [i % 100 for i in range(300)]
    got = await gather(loader, ids)
    assert len(src.calls) == 1 and sorted(src.calls[0]) == list(range(100))
    assert all(got[p] == User(id, f"db{id}") for p, id in enumerate(ids))
    assert all(got[p] is pool.get(id) for p, id in enumerate(ids))  # one object per id
    stats = pool.stats()
    assert stats.fetches == 1 and stats.coalesced_waiters == 200


async def test_batches_are_split_by_max_batch() -> None:
    src = Batches()
    loader = Punnu(User).loader(src, max_batch=100)
    await gather(loader, list(range(250)))
    assert sorted(len(c) for c in src.calls) == [50, 100, 100]
    assert sorted(i for c in src.calls for i in c) == list(range(250))


async def test_loads_after_the_batch_left_make_a_new_batch() -> None:
    src = Batches()
    loader = Punnu(User).loader(src)
    await loader.load(1)
    await loader.load(2)
    await gather(loader, [3, 4])
    assert len(src.calls) == 3 and src.calls[:2] == [[1], [2]] and sorted(src.calls[2]) == [3, 4]


async def test_load_many_keeps_input_order_duplicates_and_absent_ids() -> None:
    pool = Punnu(User)
    pool.insert(User(5, "cached"))
    src = Batches({1: User(1), 2: User(2)})
    got = await pool.loader(src).load_many([2, 5, 9, 1, 2, 9])
    assert got == [User(2), User(5, "cached"), None, User(1), User(2), None]
    assert src.calls == [[2, 9, 1]]
    assert 9 not in pool and len(pool) == 3  # None caches nothing


async def test_l1_hits_never_reach_the_batch() -> None:
    pool = Punnu(User)
    for i in range(3):
        pool.insert(User(i))
    src = Batches()
    loader = pool.loader(src)
    assert await loader.load_many([0, 1, 2]) == [User(0), User(1), User(2)]
    assert await loader.load(1) == User(1)
    assert src.calls == []
    assert await loader.load_many([]) == []


async def test_a_load_joins_a_running_aget_or_fetch_and_vice_versa() -> None:
    pool = Punnu(User)
    single_calls: list[int] = []
    gate = anyio.Event()

    async def single(id: int) -> User:
        single_calls.append(id)
        await gate.wait()
        return User(id, "single")

    src = Batches()
    loader = pool.loader(src)
    got: dict[str, Any] = {}

    async def record(name: str, coro: Any) -> None:
        got[name] = await coro

    async with anyio.create_task_group() as tg:
        tg.start_soon(record, "fetch", pool.aget_or_fetch(1, single))
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(record, "load", loader.load(1))  # joins the running fetch
        await anyio.wait_all_tasks_blocked()
        gate.set()
    assert single_calls == [1] and src.calls == []
    assert got["load"] is got["fetch"] == User(1, "single")

    src.gate = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(record, "load2", loader.load(2))
        await src.started.wait()
        tg.start_soon(record, "fetch2", pool.aget_or_fetch(2, single))  # joins the batch
        await anyio.wait_all_tasks_blocked()
        src.gate.set()
    assert single_calls == [1] and src.calls == [[2]]
    assert got["fetch2"] is got["load2"] == User(2, "db2")


async def test_two_loaders_share_flights_of_the_same_ids() -> None:
    pool = Punnu(User)
    a, b = Batches(), Batches()
    a.gate = anyio.Event()
    got: dict[str, Any] = {}

    async def load(name: str, loader: Any, ids: list[int]) -> None:
        got[name] = await loader.load_many(ids)

    async with anyio.create_task_group() as tg:
        tg.start_soon(load, "a", pool.loader(a), [1, 2])
        await a.started.wait()
        tg.start_soon(load, "b", pool.loader(b), [2, 3])
        await anyio.wait_all_tasks_blocked()
        a.gate.set()
    assert a.calls == [[1, 2]] and b.calls == [[3]]
    assert got["a"][1] is got["b"][0]


async def test_an_error_reaches_every_caller_of_the_batch_and_is_not_cached() -> None:
    pool = Punnu(User)
    src = Batches()
    src.error = ConnectionError("db down")
    loader = pool.loader(src)
    errors: list[BaseException] = []

    async def one(id: int) -> None:
        try:
            await loader.load(id)
        except ConnectionError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for id in (1, 2, 3, 1):
            tg.start_soon(one, id)
    assert len(src.calls) == 1 and len(errors) == 4
    assert all(e is errors[0] for e in errors)
    assert pool.stats().fetch_errors == 1 and len(pool) == 0
    src.error = None
    assert await loader.load(1) == User(1, "db1")
    assert len(src.calls) == 2


async def test_an_id_not_asked_for_fails_the_whole_batch_with_nothing_inserted() -> None:
    pool = Punnu(User)

    async def liar(ids: list[int]) -> list[User]:
        return [User(i) for i in ids] + [User(999)]

    loader = pool.loader(liar)
    with pytest.raises(IdentityMismatchError):
        await loader.load_many([1, 2])
    assert len(pool) == 0


async def test_a_sync_batch_fetcher_runs_in_a_worker_thread() -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []

    def fetch(ids: list[int]) -> list[User]:
        threads.append(threading.get_ident())
        return [User(i) for i in ids]

    assert await gather(Punnu(User).loader(fetch), [1, 2, 3]) == {
        0: User(1),
        1: User(2),
        2: User(3),
    }
    assert len(threads) == 1 and threads[0] != loop_thread


async def test_values_are_inserted_once_each_and_a_live_value_wins() -> None:
    pool = Punnu(User)
    sub = pool.events()
    src = Batches()
    src.gate = anyio.Event()
    loader = pool.loader(src)
    got: dict[int, Any] = {}

    async def load_all() -> None:
        got.update(enumerate(await loader.load_many([1, 2])))

    async with anyio.create_task_group() as tg:
        tg.start_soon(load_all)
        await src.started.wait()
        winner = pool.insert(User(2, "inserted meanwhile"))
        src.gate.set()
    assert got[1] is winner  # "insert if absent or expired", as aget_or_fetch
    assert drain(sub) == [Inserted(winner), Inserted(User(1, "db1"))]


async def test_an_invalidate_during_the_batch_returns_the_value_uncached() -> None:
    pool = Punnu(User)
    src = Batches()
    src.gate = anyio.Event()
    loader = pool.loader(src)
    got: list[Any] = []

    async def load() -> None:
        got.append(await loader.load(1))

    async with anyio.create_task_group() as tg:
        tg.start_soon(load)
        await src.started.wait()
        pool.invalidate(1)
        src.gate.set()
    assert got == [User(1, "db1")] and 1 not in pool


async def test_absent_ids_are_remembered_under_negative_ttl() -> None:
    clock = FakeClock()
    pool = Punnu(User, negative_ttl=5, clock=clock)
    src = Batches({1: User(1)})
    loader = pool.loader(src)
    assert await loader.load_many([1, 2]) == [User(1), None]
    assert await loader.load(2) is None
    assert await pool.aget_or_fetch(2, lambda id: User(id)) is None
    assert src.calls == [[1, 2]] and pool.stats().negative_hits == 2
    clock.advance(5)
    assert await loader.load(2) is None
    assert src.calls == [[1, 2], [2]]


async def test_a_batch_reads_and_writes_l2_once_each() -> None:
    backend = CountingBackend()
    pool = Punnu(User, backend=backend, namespace="loader")
    other = Punnu(User, backend=backend, namespace="loader")
    other.insert(User(2, "in L2"))
    backend.ops.clear()
    src = Batches()
    got = await gather(pool.loader(src), [1, 2, 3, 4])
    assert got == {0: User(1, "db1"), 1: User(2, "in L2"), 2: User(3, "db3"), 3: User(4, "db4")}
    assert len(src.calls) == 1 and sorted(src.calls[0]) == [1, 3, 4]
    assert backend.ops == Counter(get_versioned=1, put_if_versions=1)
    assert other.load(4) == User(4, "db4")


async def test_a_batch_fetcher_asking_its_own_loader_for_its_own_id_fails_fast() -> None:
    pool = Punnu(User)

    async def reentrant(ids: list[int]) -> list[User]:
        await loader.load(ids[0])
        return []

    loader = pool.loader(reentrant)
    with pytest.raises(RuntimeError, match="wait on itself"):
        await loader.load(1)


def test_loader_options_are_validated() -> None:
    pool = Punnu(User)
    with pytest.raises(ValueError, match="max_batch"):
        pool.loader(lambda ids: [], max_batch=0)
    with pytest.raises(TypeError, match="max_batch"):
        pool.loader(lambda ids: [], max_batch="10")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="batch_fetcher"):
        pool.loader(42)  # type: ignore[arg-type]
    loader = pool.loader(lambda ids: [], max_batch=7)
    assert loader.max_batch == 7 and "max_batch=7" in repr(loader)
    assert isinstance(loader, sassi.Loader)  # exported for annotations

"""Fetch helpers next to an L2 backend: never touch it, and wait out strict writes of the same id."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import anyio
import pytest

from helpers import User, drain
from sassi import BackendFailure, Inserted, Punnu
from sassi.backends import MemoryBackend

pytestmark = pytest.mark.anyio


class GatedBackend(MemoryBackend):
    """A memory backend whose async ``put`` waits for ``gate``; counts every call."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = anyio.Event()
        self.putting = anyio.Event()
        self.calls: list[str] = []

    async def put(self, keyspace: Any, id: Any, value: Any, ttl: float | timedelta | None) -> None:
        self.calls.append("put")
        self.putting.set()
        await self.gate.wait()
        await super().put(keyspace, id, value, ttl)

    async def get(self, keyspace: Any, id: Any) -> Any:
        self.calls.append("get")
        return await super().get(keyspace, id)


async def test_a_fetch_insert_waits_for_a_strict_write_of_the_same_id_and_keeps_it() -> None:
    backend = GatedBackend()
    pool = Punnu(User, backend=backend, backend_failure=BackendFailure.ERROR)
    sub = pool.events()
    written = User(1, "strict write")
    fetched: list[User | None] = []

    async def fetch(id: int) -> User:
        return User(id, "fetched")

    async def lazy() -> None:
        fetched.append(await pool.aget_or_fetch(1, fetch))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(pool.ainsert, written)
            await backend.putting.wait()  # the strict write holds id 1
            tg.start_soon(lazy)
            await anyio.wait_all_tasks_blocked()
            assert fetched == []  # the fetch finished but its insert waits
            assert len(pool) == 0
            backend.gate.set()
    assert fetched == [written]
    assert fetched[0] is written
    assert pool.get(1) is written
    assert drain(sub) == [Inserted(written)]


async def test_fetch_helpers_read_l2_first_and_write_through() -> None:
    # SPEC 11.2 (was: fetch helpers never touched L2, section 6 before round 2)
    backend = GatedBackend()
    backend.gate.set()
    pool = Punnu(User, backend=backend)
    other = Punnu(User, backend=backend)

    async def fetch(id: int) -> User:
        return User(id)

    async def fetch_many(ids: list[int]) -> list[User]:
        return [User(i) for i in ids]

    await pool.aget_or_fetch(1, fetch)
    pool.get_or_fetch(2, lambda id: User(id))
    await pool.aget_or_fetch_many([3, 4], fetch_many)
    pool.get_or_fetch_many([5], lambda ids: [User(i) for i in ids])
    assert backend.calls == ["get"]  # the async single fetch's plain L2 read (the hit path)
    assert len(pool) == 5
    assert [other.load(i) for i in range(1, 6)] == [User(i) for i in range(1, 6)]  # in L2

"""No stale write-back under concurrency: a cached value is never older than the last invalidate.

A fake database keeps a version per key. Writers bump the version and then invalidate the key
(the usual "write the database, then invalidate the cache" order); readers go through the fetch
helpers. Whatever the interleaving, once everything is quiet every cached value must carry the
database's current version: a fetch that read before an invalidate must not have cached.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

import anyio
import pytest

from sassi import Punnu

KEYS = range(8)


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    version: int


class Database:
    def __init__(self) -> None:
        self.versions = dict.fromkeys(KEYS, 0)
        self.settled = dict.fromkeys(KEYS, 0)  # versions whose cache invalidation completed
        self.lock = threading.Lock()

    def read(self, key: int) -> Item:
        with self.lock:
            return Item(key, self.versions[key])

    def bump(self, key: int) -> int:
        with self.lock:
            self.versions[key] += 1
            return self.versions[key]

    def settle(self, key: int, version: int) -> None:
        with self.lock:
            self.settled[key] = max(self.settled[key], version)


def assert_nothing_older_than_settled(pool: Punnu[Item], db: Database) -> None:
    """At any moment: no cached value predates an invalidation that has completed."""
    for key in KEYS:
        with db.lock:
            floor = db.settled[key]
        cached = pool.get(key)
        if cached is not None:
            assert cached.version >= floor, (key, cached, floor)


def assert_no_stale_values(pool: Punnu[Item], db: Database) -> None:
    for key in KEYS:
        cached = pool.get(key)
        if cached is not None:
            assert cached.version == db.versions[key], (key, cached, db.versions[key])


def test_threads_never_cache_a_value_older_than_the_last_invalidate() -> None:
    pool = Punnu(Item)
    db = Database()
    start = threading.Barrier(8)

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        start.wait()
        for _ in range(300):
            key = rng.choice(KEYS)
            if rng.random() < 0.5:
                pool.get_or_fetch(key, db.read)
            else:
                pool.get_or_fetch_many(rng.sample(KEYS, 3), lambda ids: [db.read(i) for i in ids])
            assert_nothing_older_than_settled(pool, db)

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        start.wait()
        for _ in range(300):
            key = rng.choice(KEYS)
            version = db.bump(key)
            pool.invalidate(key)
            db.settle(key, version)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(5)]
    threads += [threading.Thread(target=writer, args=(100 + i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()
    assert_no_stale_values(pool, db)


@pytest.mark.anyio
async def test_tasks_never_cache_a_value_older_than_the_last_invalidate() -> None:
    pool = Punnu(Item)
    db = Database()

    async def read(key: int) -> Item:
        item = db.read(key)
        await anyio.lowlevel.checkpoint()  # let writers run between the read and the insert
        return item

    async def read_many(ids: list[int]) -> list[Item]:
        items = [db.read(i) for i in ids]
        await anyio.lowlevel.checkpoint()
        return items

    async def reader(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(300):
            if rng.random() < 0.5:
                await pool.aget_or_fetch(rng.choice(KEYS), read)
            else:
                await pool.aget_or_fetch_many(rng.sample(KEYS, 3), read_many)
            assert_nothing_older_than_settled(pool, db)

    async def writer(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(300):
            key = rng.choice(KEYS)
            version = db.bump(key)
            await pool.ainvalidate(key)
            db.settle(key, version)
            await anyio.lowlevel.checkpoint()

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for i in range(5):
                tg.start_soon(reader, i)
            for i in range(3):
                tg.start_soon(writer, 100 + i)
    assert_no_stale_values(pool, db)

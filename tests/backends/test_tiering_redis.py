"""Pools over a real Redis: coherence between two pools, and surviving a redis-server restart."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
import redis
from tiering_helpers import Item

import sassi
from redis_server import OwnRedis, own_redis_fixture
from sassi import BackendFailure, EventReason, Invalidated
from sassi._effects import drive_async
from sassi.backends import Keyspace
from sassi.backends.redis import RedisBackend
from sassi.exceptions import BackendUnavailable

pytestmark = pytest.mark.redis

KS = Keyspace.for_model(Item, "rt")


async def next_event(sub: sassi.Subscription, limit: float = 15) -> sassi.Event:
    with anyio.fail_after(limit):
        return await sub.receive()


@pytest.mark.anyio
async def test_two_pools_over_one_redis_stay_coherent(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    backend_a, backend_b = RedisBackend(redis_url), RedisBackend(redis_url)
    a = sassi.Punnu(Item, namespace="rt", backend=backend_a)
    b = sassi.Punnu(Item, namespace="rt", backend=backend_b)
    try:
        async with b.background():
            assert b._tier is not None
            await b.wait_listening()
            await a.ainsert(Item(1, "one"))
            a.insert(Item(2, "two"))
            assert await b.aload(1) == Item(1, "one")  # read-through from L2
            assert b.load(2) == Item(2, "two")
            with b.events() as sub:
                await a.ainvalidate(1)
                assert await next_event(sub) == Invalidated(1, EventReason.BACKEND_INVALIDATION)
                assert 1 not in b and 2 in b
                await backend_a.invalidate_all(KS)
                assert await next_event(sub) == Invalidated(2, EventReason.BACKEND_INVALIDATION)
            assert len(b) == 0
            assert await b.aload(2) is None
    finally:
        await backend_a.aclose()
        await backend_b.aclose()


# --- outage -------------------------------------------------------------------------------------


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    yield from own_redis_fixture(tmp_path)


@pytest.mark.anyio
async def test_pools_survive_a_redis_restart(
    own_redis: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)  # the outage logs warnings by design
    backends = [RedisBackend(own_redis.url, socket_timeout=1.0) for _ in range(3)]
    writer = sassi.Punnu(Item, namespace="rt", backend=backends[0])
    strict = sassi.Punnu(
        Item, namespace="rt", backend=backends[1], backend_failure=BackendFailure.ERROR
    )
    reader = sassi.Punnu(Item, namespace="rt", backend=backends[2])
    try:
        async with reader.background():
            assert reader._tier is not None
            await reader.wait_listening()
            await writer.ainsert(Item(1, "one"))
            await strict.ainsert(Item(2, "two"))
            assert await reader.aload(1) == Item(1, "one")
            assert await reader.aload(2) == Item(2, "two")

            own_redis.stop()  # --- outage ---
            assert reader.get(1) == Item(1, "one")  # L1 keeps serving
            assert strict.get(2) == Item(2, "two")
            await writer.ainsert(Item(3, "three"))  # L1_ONLY: logged, carries on
            writer.insert(Item(4, "four"))
            assert writer.get(3) == Item(3, "three") and writer.get(4) == Item(4, "four")
            assert await writer.aload(99) is None
            with pytest.raises(BackendUnavailable):
                await strict.ainsert(Item(5, "five"))
            assert 5 not in strict
            with pytest.raises(BackendUnavailable):
                strict.invalidate(2)
            assert strict.get(2) == Item(2, "two")

            with reader.events() as sub:
                own_redis.start()  # --- back (empty: no persistence) ---
                # the listener reconnects and resyncs: L1 entries may have missed messages
                seen = {await next_event(sub, 30), await next_event(sub, 30)}
                assert seen == {
                    Invalidated(1, EventReason.BACKEND_INVALIDATION),
                    Invalidated(2, EventReason.BACKEND_INVALIDATION),
                }
                assert len(reader) == 0
                # and it is subscribed again: messages flow
                await writer.ainsert(Item(6, "six"))
                assert await reader.aload(6) == Item(6, "six")
                assert await next_event(sub) == sassi.Inserted(Item(6, "six"))
                await writer.ainvalidate(6)
                assert await next_event(sub) == Invalidated(6, EventReason.BACKEND_INVALIDATION)
            # nothing stale or corrupt is read back after the restart
            assert await reader.aload(1) is None
            await strict.ainsert(Item(7, "seven"))
            assert await reader.aload(7) == Item(7, "seven")
            assert writer.load(3) == Item(3, "three")  # still in writer's L1
    finally:
        for backend in backends:
            await backend.aclose()


@pytest.mark.anyio
async def test_predicate_invalidation_crosses_pools(redis_url: str) -> None:
    from sassi.backends import InvalidateWhere

    backend_a, backend_b = RedisBackend(redis_url), RedisBackend(redis_url)
    a = sassi.Punnu(Item, namespace="rt-where", backend=backend_a)
    b = sassi.Punnu(Item, namespace="rt-where", backend=backend_b)
    for i in range(5):
        b.insert(Item(i, "x", age=i))
    F = sassi.fields(Item)
    try:
        async with b.background():
            assert a._tier is not None and b._tier is not None
            await b.wait_listening()
            with b.events() as sub:
                await drive_async(
                    a._tier.publish(InvalidateWhere(sassi.predicate.dumps(F.age < 2)))
                )
                got = {await next_event(sub), await next_event(sub)}
            assert got == {
                Invalidated(0, EventReason.BACKEND_INVALIDATION),
                Invalidated(1, EventReason.BACKEND_INVALIDATION),
            }
            assert sorted(v.id for v in b.scope().collect()) == [2, 3, 4]
    finally:
        await backend_a.aclose()
        await backend_b.aclose()


@pytest.mark.anyio
async def test_own_invalidations_are_not_echoed_over_redis(redis_url: str) -> None:
    backend_a, backend_b = RedisBackend(redis_url), RedisBackend(redis_url)
    a = sassi.Punnu(Item, namespace="rt-echo", backend=backend_a)
    b = sassi.Punnu(Item, namespace="rt-echo", backend=backend_b)
    try:
        async with a.background():
            assert a._tier is not None
            await a.wait_listening()
            await a.ainsert(Item(1, "first"))
            await a.ainvalidate(1)
            await a.ainsert(Item(1, "re-inserted"))
            a.insert(Item(2, "two"))
            with a.events() as sub:
                await b.ainvalidate(2)  # published after the echo would have been
                assert await next_event(sub) == Invalidated(2, EventReason.BACKEND_INVALIDATION)
            assert a.get(1) == Item(1, "re-inserted")
    finally:
        await backend_a.aclose()
        await backend_b.aclose()

"""RedisBackend against a real redis-server: conformance suite plus key layout, index, stream."""

from __future__ import annotations

import contextlib
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import anyio
import pytest
import redis
import redis.asyncio
from anyio.streams.memory import MemoryObjectReceiveStream
from redis.backoff import NoBackoff
from redis.retry import Retry

from sassi.backends import Backend, InvalidateAll, InvalidateId, Keyspace, MalformedMessage
from sassi.backends._messages import encode_message
from sassi.backends._redis._keys import PERSISTENT_SCORE
from sassi.backends._redis._keys import ttl_ms as _ttl_ms
from sassi.backends.redis import RedisBackend
from sassi.exceptions import BackendUnavailable, CodecError
from sassi.testing import BackendConformance
from sassi.testing._conformance import ConformanceItem

pytestmark = pytest.mark.redis


class TestRedisBackend(BackendConformance):
    @pytest.fixture(autouse=True)
    def _url(self, redis_url: str) -> None:
        self.url = redis_url
        with redis.Redis.from_url(redis_url) as client:
            client.flushdb()

    def make_backend(self) -> RedisBackend:
        return RedisBackend(self.url)

    def store_raw(self, backend: RedisBackend, keyspace: Keyspace, id: object, data: bytes) -> None:
        backend.client.set(f"sassi:{{{keyspace.token}}}:id_{_token(id)}", data)

    def publish_malformed(self, backend: RedisBackend, keyspace: Keyspace) -> None:
        backend.client.publish(f"sassi:{{{keyspace.token}}}:invalidate", b"[" * 100_000)


def _token(ident: object) -> str:
    from sassi import wire

    return wire.id_token(ident)


KS = Keyspace.for_model(ConformanceItem, "rds")
PREFIX = f"sassi:{{ns_{b'rds'.hex()}:ty_{b'sassi.testing.ConformanceItem'.hex()}}}"


@pytest.fixture
def backend(redis_url: str) -> Any:
    b = RedisBackend(redis_url)
    b.client.flushdb()
    yield b
    b.close()


def test_redis_backend_satisfies_the_protocol(backend: RedisBackend) -> None:
    assert isinstance(backend, Backend)


def test_key_layout_and_persistent_index_score(backend: RedisBackend) -> None:
    backend.put_sync(KS, 5, ConformanceItem(5, "five"), None)
    key = f"{PREFIX}:id_{b'5'.hex()}"
    stored = backend.client.get(key)
    assert isinstance(stored, bytes)
    assert stored[:8] == b"SASSI\x00W\x00"
    assert backend.client.zscore(f"{PREFIX}:keys", key) == PERSISTENT_SCORE
    assert backend.client.pttl(key) == -1


def test_ttl_sets_key_expiry_and_index_score(backend: RedisBackend) -> None:
    before = int(time.time() * 1000)
    backend.put_sync(KS, 1, ConformanceItem(1, "a"), 60)
    key = f"{PREFIX}:id_{b'1'.hex()}"
    pttl = backend.client.pttl(key)
    assert 0 < pttl <= 60_000
    score = backend.client.zscore(f"{PREFIX}:keys", key)
    assert score is not None
    assert before + 60_000 - 5_000 <= score <= int(time.time() * 1000) + 60_000 + 5_000


def test_ttl_normalisation() -> None:
    assert _ttl_ms(None) == -1
    assert _ttl_ms(0) == 0
    assert _ttl_ms(-1) == 0
    assert _ttl_ms(0.0001) == 1  # sub-millisecond rounds up
    assert _ttl_ms(1.0005) == 1001
    assert _ttl_ms(float("inf")) == -1
    assert _ttl_ms(1e13) == -1  # past Redis's window (2**53 ms since the epoch): no expiry
    assert _ttl_ms(1e15) == -1
    assert _ttl_ms(timedelta.max) == -1
    assert _ttl_ms(1e300) == -1
    assert _ttl_ms(86_400 * 365 * 1000) == 86_400 * 365 * 1000 * 1000  # within: kept exactly


@pytest.mark.parametrize("ttl", [1e13, 1e15, 1e300, timedelta.max])
def test_a_ttl_past_the_expiry_window_is_stored_without_expiry(
    backend: RedisBackend, ttl: float | timedelta
) -> None:
    backend.put_sync(KS, 1, ConformanceItem(1, "a"), ttl)
    assert backend.get_sync(KS, 1) == ConformanceItem(1, "a")
    key = f"{PREFIX}:id_{b'1'.hex()}"
    assert backend.client.pttl(key) == -1
    assert backend.client.zscore(f"{PREFIX}:keys", key) == PERSISTENT_SCORE


def test_get_prunes_expired_index_members(backend: RedisBackend) -> None:
    index = f"{PREFIX}:keys"
    backend.client.zadd(index, {f"{PREFIX}:id_stale": 1})
    backend.put_sync(KS, 1, ConformanceItem(1, "a"), None)
    backend.client.zadd(index, {f"{PREFIX}:id_stale2": 2})
    backend.get_sync(KS, 2)
    assert backend.client.zrange(index, 0, -1) == [f"{PREFIX}:id_{b'1'.hex()}".encode()]


def test_invalidate_all_drains_the_index_in_batches_without_scan(backend: RedisBackend) -> None:
    for i in range(1_234):  # more than two batches of 500
        backend.put_sync(KS, i, ConformanceItem(i, "x"), None)
    stray = f"{PREFIX}:id_not_indexed"
    backend.client.set(stray, b"kept: only indexed keys are removed")
    backend.invalidate_all_sync(KS)
    assert backend.client.zcard(f"{PREFIX}:keys") == 0
    assert backend.client.get(stray) is not None  # proves no SCAN over the prefix
    assert backend.get_sync(KS, 1_000) is None


@pytest.mark.anyio
async def test_malformed_messages_come_out_as_items_and_the_stream_reads_on(
    redis_url: str,
) -> None:
    backend = RedisBackend(redis_url)
    stream = backend.invalidations(KS)
    junk = (b"not json", b"[]", b'{"v":2,"op":"all"}', b'{"v":1,"op":"nope"}', b'{"v":1}')
    try:
        await stream.ready()
        channel = f"{PREFIX}:invalidate"
        for data in junk:
            backend.client.publish(channel, data)
        backend.client.publish(channel, b'{"v":1,"op":"id","id":9}')
        with anyio.fail_after(10):
            for _ in junk:  # one item per bad message, carrying a CodecError
                item = await stream.__anext__()
                assert isinstance(item, MalformedMessage)
                assert isinstance(item.error, CodecError)
            assert await stream.__anext__() == InvalidateId(9)
    finally:
        await stream.aclose()
        await backend.aclose()


@pytest.mark.anyio
async def test_stream_reconnects_and_resyncs_after_losing_its_connection(redis_url: str) -> None:
    backend = RedisBackend(redis_url)
    stream = backend.invalidations(KS)
    try:
        await stream.ready()
        killed = backend.client.client_kill_filter(_type="pubsub")
        assert killed >= 1
        with anyio.fail_after(10):
            first = await stream.__anext__()  # notices the loss, reconnects, resyncs
        assert first == InvalidateAll()
        await stream.ready()
        backend.invalidate_sync(KS, 3)
        with anyio.fail_after(10):
            assert await stream.__anext__() == InvalidateId(3)
    finally:
        await stream.aclose()
        await backend.aclose()


def test_constructed_from_a_sync_client(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    backend = RedisBackend(client)
    backend.put_sync(KS, 1, ConformanceItem(1, "a"), None)
    assert backend.get_sync(KS, 1) == ConformanceItem(1, "a")
    assert backend.client is client
    client.close()


@pytest.mark.anyio
async def test_constructed_from_clients_async_paths(redis_url: str) -> None:
    sync_backend = RedisBackend(redis.Redis.from_url(redis_url))
    await sync_backend.put(KS, 2, ConformanceItem(2, "b"), None)
    assert await sync_backend.get(KS, 2) == ConformanceItem(2, "b")
    sync_backend.close()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_constructed_from_an_asyncio_client(redis_url: str, anyio_backend: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    backend = RedisBackend(client)
    await backend.put(KS, 3, ConformanceItem(3, "c"), None)
    assert await backend.get(KS, 3) == ConformanceItem(3, "c")
    assert backend.get_sync(KS, 3) == ConformanceItem(3, "c")
    await backend.aclose()
    await client.aclose()


def test_url_and_client_keywords(redis_url: str) -> None:
    by_url = RedisBackend(url=redis_url)
    by_url.put_sync(KS, 1, ConformanceItem(1, "a"), None)
    client = redis.Redis.from_url(redis_url)
    by_client = RedisBackend(client=client)
    assert by_client.get_sync(KS, 1) == ConformanceItem(1, "a")
    with pytest.raises(ValueError):
        RedisBackend()
    with pytest.raises(ValueError):
        RedisBackend(redis_url, client=client)
    by_url.close()
    client.close()


def test_decode_responses_clients_are_refused(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    with pytest.raises(ValueError, match="decode_responses"):
        RedisBackend(client)
    client.close()
    with pytest.raises(TypeError):
        RedisBackend(42)  # type: ignore[arg-type]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_server_is_backend_unavailable() -> None:
    backend = RedisBackend(f"redis://127.0.0.1:{_closed_port()}/0", socket_timeout=1.0)
    with pytest.raises(BackendUnavailable):
        backend.get_sync(KS, 1)
    with pytest.raises(BackendUnavailable):
        backend.put_sync(KS, 1, ConformanceItem(1, "a"), None)
    with pytest.raises(BackendUnavailable):
        backend.invalidate_all_sync(KS)
    backend.close()


@pytest.mark.anyio
async def test_unreachable_server_is_backend_unavailable_async() -> None:
    backend = RedisBackend(f"redis://127.0.0.1:{_closed_port()}/0", socket_timeout=1.0)
    with pytest.raises(BackendUnavailable):
        await backend.get(KS, 1)
    with pytest.raises(BackendUnavailable):
        await backend.invalidate(KS, 1)
    await backend.aclose()


LEAK_SCRIPT = """
import gc, sys, warnings
warnings.simplefilter("error")
import anyio
from sassi.backends import Keyspace
from sassi.backends.redis import RedisBackend
from sassi.testing._conformance import ConformanceItem

KS = Keyspace.for_model(ConformanceItem, "leak")

async def main():
    backend = RedisBackend(sys.argv[1])  # never closed on purpose
    await backend.put(KS, 1, ConformanceItem(1, "a"), None)
    assert await backend.get(KS, 1) == ConformanceItem(1, "a")
    stream = backend.invalidations(KS)
    await stream.ready()  # never closed either

for backend_name in ("asyncio", "trio"):
    anyio.run(main, backend=backend_name)
    gc.collect()
print("ok")
"""


def test_an_unclosed_backend_leaks_nothing_past_its_event_loop(redis_url: str) -> None:
    import subprocess
    import sys
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "src"
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", LEAK_SCRIPT, redis_url],
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "PYTHONPATH": str(src)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert "ResourceWarning" not in done.stderr, done.stderr
    assert "Exception ignored" not in done.stderr, done.stderr


class _Stop(Exception):
    pass


@pytest.mark.anyio
async def test_reconnect_backoff_doubles_and_caps_at_five_seconds() -> None:
    backend = RedisBackend(f"redis://127.0.0.1:{_closed_port()}/0", socket_timeout=1.0)
    stream = backend.invalidations(KS)
    delays: list[float] = []

    async def record(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 12:
            raise _Stop

    stream.sleep = record
    with pytest.raises(_Stop):
        await stream.ready()
    assert delays == [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.0, 5.0, 5.0]
    await stream.aclose()
    await backend.aclose()


@pytest.mark.anyio
async def test_a_closed_stream_ends(redis_url: str) -> None:
    backend = RedisBackend(redis_url)
    stream = backend.invalidations(KS)
    await stream.ready()
    await stream.aclose()
    await stream.ready()  # nothing to do any more
    assert [m async for m in stream] == []
    await backend.aclose()


def test_repr() -> None:
    backend = RedisBackend("redis://127.0.0.1:1234/2")
    assert repr(backend) == "<RedisBackend 127.0.0.1:1234 db=2>"
    backend.close()


# --- untrusted messages ----------------------------------------------------------------------

HOSTILE_MESSAGES: tuple[bytes, ...] = (
    b"[" * 1_000_000 + b"]" * 1_000_000,  # deep nesting (RecursionError in a naive decoder)
    b'{"v":1,"op":"id","id":' + b"[" * 5_000 + b"]" * 5_000 + b"}",  # a deeply nested id
    b'{"v":1,"op":"id","id":"' + b"x" * (3 << 20) + b'"}',  # huge
    b'{"v":1,"op":"where","predicate":"' + b"[" * 50_000 + b'"}',  # a deep predicate text
    b"\x00\xff garbage \xc1",
    b'{"v":1,"op":"id","id":{"a":1}}',  # an unhashable id
    b'{"v":1,"op":"id","id":"seven"}',  # not an id of the model
    b'{"v":1,"op":"where","predicate":5}',
    b'{"v":1,"op":"all","o":5}',
    b'{"v":1,"op":"id","id":' + b"9" * 50_000 + b"}",
    b"",
    b"[]",
)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.anyio
async def test_hostile_messages_interleaved_with_real_ones_lose_nothing(
    redis_url: str, seed: int
) -> None:
    rng = random.Random(seed)
    backend = RedisBackend(redis_url)
    stream = backend.invalidations(KS)
    channel = f"{PREFIX}:invalidate"
    expected: list[object] = []
    try:
        await stream.ready()
        for k in range(60):
            for _ in range(rng.randrange(3)):
                if rng.random() < 0.5:
                    hostile = rng.choice(HOSTILE_MESSAGES)
                else:
                    hostile = rng.randbytes(rng.randrange(1, 40))
                backend.client.publish(channel, hostile)
                expected.append(MalformedMessage)
            await backend.invalidate(KS, k)  # a real one, through the backend
            expected.append(InvalidateId(k))
        got = []
        with anyio.fail_after(60):
            for _ in expected:
                got.append(await stream.__anext__())
        for want, item in zip(expected, got, strict=True):
            if want is MalformedMessage:
                assert isinstance(item, MalformedMessage), item
                assert isinstance(item.error, CodecError)
            else:
                assert item == want
    finally:
        await stream.aclose()
        await backend.aclose()


# --- reconnects ------------------------------------------------------------------------------


async def _wait_subscribed(admin: redis.Redis, channel: str) -> None:
    """Until the server shows ``channel`` subscribed (polling every millisecond)."""
    for _ in range(10_000):
        if admin.pubsub_numsub(channel)[0][1]:
            return
        await anyio.sleep(0.001)
    raise AssertionError(f"{channel} was not resubscribed within 10 s")


@contextlib.asynccontextmanager
async def _consumed(stream: Any) -> AsyncIterator[MemoryObjectReceiveStream[object]]:
    """Read ``stream`` in a background task (as a pool's listener does), forwarding items."""
    send, receive = anyio.create_memory_object_stream[object](1000)
    async with anyio.create_task_group() as tg:

        async def consume() -> None:
            async with send:
                async for item in stream:
                    await send.send(item)

        tg.start_soon(consume)
        try:
            yield receive
        finally:
            tg.cancel_scope.cancel()
            receive.close()


async def _next(receive: MemoryObjectReceiveStream[object]) -> object:
    with anyio.fail_after(10):
        return await receive.receive()


@contextlib.asynccontextmanager
async def _fresh_stream(
    backend: RedisBackend, redis_url: str
) -> AsyncIterator[tuple[Any, redis.Redis, str]]:
    """A stream of ``backend`` (not subscribed yet: set it up, then ``await stream.ready()``) on
    a keyspace no other test uses, an admin client and the channel; the stream, the backend and
    the admin client are closed on exit."""
    admin = redis.Redis.from_url(redis_url)
    keyspace, channel = _fresh_keyspace()
    stream: Any = backend.invalidations(keyspace)
    try:
        yield stream, admin, channel
    finally:
        await stream.aclose()
        await backend.aclose()
        admin.close()


def _record_backoff(stream: Any) -> list[float]:
    """Make ``stream`` record each backoff delay (still sleeping it); returns the record."""
    delays: list[float] = []

    async def record(seconds: float) -> None:
        delays.append(seconds)
        await anyio.sleep(seconds)

    stream.sleep = record
    return delays


@pytest.mark.anyio
async def test_no_message_published_after_a_resubscription_is_lost(redis_url: str) -> None:
    async with _fresh_stream(RedisBackend(redis_url), redis_url) as (stream, admin, channel):
        await stream.ready()
        async with _consumed(stream) as receive:
            for k in range(5):
                await anyio.sleep(0.02)  # the consumer is blocked in its read
                assert admin.client_kill_filter(_type="pubsub") >= 1
                await _wait_subscribed(admin, channel)  # resubscribed at the server: from
                admin.publish(channel, encode_message(InvalidateId(k)))  # now on, nothing lost
                # the loss is announced by one InvalidateAll, before what follows it
                assert await _next(receive) == InvalidateAll()
                assert await _next(receive) == InvalidateId(k)


def _fresh_keyspace() -> tuple[Keyspace, str]:
    """A keyspace no other test subscribes to, and its channel."""
    keyspace = Keyspace.for_model(ConformanceItem, f"rds-{uuid.uuid4().hex}")
    return keyspace, f"sassi:{{{keyspace.token}}}:invalidate"


def _subscribers(admin: redis.Redis, channel: str) -> int:
    return int(admin.pubsub_numsub(channel)[0][1])


@pytest.mark.anyio
async def test_every_reconnect_follows_a_backoff_even_right_after_subscribing(
    redis_url: str,
) -> None:
    async with _fresh_stream(RedisBackend(redis_url), redis_url) as (stream, admin, channel):
        delays = _record_backoff(stream)
        stream.healthy_after = 3600.0  # a slow round must not count as a healthy subscription
        await stream.ready()
        async with _consumed(stream) as receive:
            for round_ in range(5):
                await anyio.sleep(0.01)  # the consumer is blocked in its read
                killed_at = anyio.current_time()
                assert admin.client_kill_filter(_type="pubsub") >= 1  # right after subscribing
                await _wait_subscribed(admin, channel)
                gap = anyio.current_time() - killed_at
                assert delays == [0.01 * 2**i for i in range(round_ + 1)], gap  # not started over
                assert gap >= delays[-1] * 0.9, (round_, gap)  # no attempt before the backoff
                assert _subscribers(admin, channel) == 1, delays  # one subscription
                assert await _next(receive) == InvalidateAll()


@pytest.mark.anyio
async def test_a_resubscription_redis_py_made_itself_is_kept_and_announced(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _fresh_stream(RedisBackend(redis_url), redis_url) as (stream, admin, channel):
        # as with a connection whose retry policy cannot be replaced: redis-py reconnects itself
        monkeypatch.setattr(stream, "_take_over_reconnects", lambda: False)
        await stream.ready()
        async with _consumed(stream) as receive:
            for k in range(3):
                await anyio.sleep(0.02)
                assert admin.client_kill_filter(_type="pubsub") >= 1
                await _wait_subscribed(admin, channel)  # redis-py's own resubscription
                admin.publish(channel, encode_message(InvalidateId(k)))
                assert await _next(receive) == InvalidateAll()
                assert await _next(receive) == InvalidateId(k)
                assert _subscribers(admin, channel) == 1  # that connection was kept


@pytest.mark.anyio
async def test_a_silent_reconnect_by_redis_py_is_announced(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = redis.connection.parse_url(redis_url)
    client = redis.Redis(
        host=url["host"], port=url["port"], retry=Retry(NoBackoff(), 3)
    )  # retries: redis-py resubscribes and the read goes on without an error
    with contextlib.closing(client):
        async with _fresh_stream(RedisBackend(client), redis_url) as (stream, admin, channel):
            monkeypatch.setattr(stream, "_take_over_reconnects", lambda: False)
            await stream.ready()
            async with _consumed(stream) as receive:
                await anyio.sleep(0.02)
                assert admin.client_kill_filter(_type="pubsub") >= 1
                await _wait_subscribed(admin, channel)
                admin.publish(channel, encode_message(InvalidateId(1)))
                assert await _next(receive) == InvalidateAll()
                assert await _next(receive) == InvalidateId(1)


@pytest.mark.anyio
async def test_a_subscription_that_lived_long_enough_starts_the_backoff_over(
    redis_url: str,
) -> None:
    async with _fresh_stream(RedisBackend(redis_url), redis_url) as (stream, admin, channel):
        delays = _record_backoff(stream)
        await stream.ready()
        async with _consumed(stream) as receive:
            for _ in range(2):  # two quick losses: 10 ms, then 20 ms
                await anyio.sleep(0.01)
                admin.client_kill_filter(_type="pubsub")
                await _wait_subscribed(admin, channel)
                assert await _next(receive) == InvalidateAll()
            stream.healthy_after = 0.05
            await anyio.sleep(0.1)  # this subscription lives past healthy_after
            admin.client_kill_filter(_type="pubsub")
            await _wait_subscribed(admin, channel)
            assert await _next(receive) == InvalidateAll()
        assert delays == [0.01, 0.02, 0.01]

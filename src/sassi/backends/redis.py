"""A Redis backend on redis-py (``pip install sassi[redis]``); the only module importing redis.

Keys of one keyspace share a Cluster hash tag::

    sassi:{ns_<hex(namespace)>:ty_<hex(type name)>}:id_<hex(json(id))>   a kind-1 wire value
    sassi:{ns_...:ty_...}:keys          sorted set of the value keys, scored by expiry unix-ms
                                        (2**53 - 1 for values without a ttl)
    sassi:{ns_...:ty_...}:invalidate    pub/sub channel

(``ns_none`` when the pool has no namespace; ids are encoded as compact JSON, see
:func:`sassi.wire.encode_id`.) Lua scripts keep each value and its index entry in step and prune
index members whose expiry has passed (Redis ``TIME``). ``invalidate`` deletes and publishes
``{"v":1,"op":"id","id":<json id>}`` in one script; ``invalidate_all`` drains the index in
batches of 500 (never ``SCAN``), then publishes ``{"v":1,"op":"all"}``; ``publish`` of an
:class:`InvalidateWhere` sends ``{"v":1,"op":"where","predicate":"<predicate JSON>"}``. A
keyspace with an ``origin`` adds ``"o":"<origin>"``; a stream skips messages carrying its own.

Sync methods use a ``redis.Redis`` client. Async methods use a ``redis.asyncio.Redis`` client
(one per event loop) under asyncio; under trio, where redis-py's asyncio client cannot run, they
run the sync client in a worker thread. ``invalidations()`` reconnects after a lost connection
with a capped backoff (10 ms doubling up to 5 s) and then yields :class:`InvalidateAll` once,
because messages published while it was disconnected are lost. Malformed messages are logged
and skipped. A command that meets a connection error is tried once more (pooled sockets go
stale when Redis restarts); then connection errors and timeouts raise
:class:`~sassi.BackendUnavailable` and other Redis errors :class:`~sassi.BackendError`.
"""

from __future__ import annotations

import enum
import logging
import math
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import anyio
import anyio.lowlevel
import anyio.to_thread
import msgspec
import redis
import redis.asyncio
import redis.exceptions

from .. import wire
from ..exceptions import BackendError, BackendUnavailable, WireFormatError
from ._protocol import (
    InvalidateAll,
    InvalidateId,
    InvalidateWhere,
    Invalidation,
    Keyspace,
    check_value,
    ttl_seconds,
)

__all__ = ["RedisBackend", "RedisInvalidations"]

log = logging.getLogger("sassi.backends.redis")
R = TypeVar("R")

PERSISTENT_SCORE = 2**53 - 1
BATCH = 500
BACKOFF_START = 0.010
BACKOFF_CAP = 5.0

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
"""
_GET = _NOW + "return redis.call('GET', KEYS[1])\n"
_PUT = (
    _NOW
    + """
local ttl = tonumber(ARGV[2])
if ttl < 0 then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('ZADD', KEYS[2], ARGV[3], KEYS[1])
elseif ttl == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
  redis.call('ZADD', KEYS[2], now + ttl, KEYS[1])
end
return 1
"""
)
_INVALIDATE = """
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
"""
_DRAIN = """
local members = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #members == 0 then return 0 end
redis.call('DEL', unpack(members))
redis.call('ZREM', KEYS[1], unpack(members))
return #members
"""


def _wrap(exc: Exception, what: str) -> BackendError:
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError | OSError):
        return BackendUnavailable(f"redis {what}: {exc}")
    return BackendError(f"redis {what}: {exc}")


def _run(what: str, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Call Redis; on a connection error try once more (a pooled socket may be stale after a
    server restart; redis-py has dropped it), then map errors to sassi's."""
    try:
        return fn(*args, **kwargs)
    except redis.exceptions.ConnectionError:
        pass
    except redis.exceptions.RedisError as exc:
        raise _wrap(exc, what) from exc
    try:
        return fn(*args, **kwargs)
    except redis.exceptions.RedisError as exc:
        raise _wrap(exc, what) from exc


async def _arun(what: str, fn: Callable[..., Awaitable[R]], *args: Any, **kwargs: Any) -> R:
    """Async twin of :func:`_run`."""
    try:
        return await fn(*args, **kwargs)
    except redis.exceptions.ConnectionError:
        pass
    except redis.exceptions.RedisError as exc:
        raise _wrap(exc, what) from exc
    try:
        return await fn(*args, **kwargs)
    except redis.exceptions.RedisError as exc:
        raise _wrap(exc, what) from exc


class _Keys:
    __slots__ = ("channel", "index", "prefix")

    def __init__(self, keyspace: Keyspace) -> None:
        self.prefix = f"sassi:{{{keyspace.token}}}"
        self.index = self.prefix + ":keys"
        self.channel = self.prefix + ":invalidate"

    def value(self, id: Any) -> str:
        return f"{self.prefix}:id_{wire.id_token(id)}"


_KEEPERS: weakref.WeakKeyDictionary[Any, list[AsyncGenerator[None, None]]] = (
    weakref.WeakKeyDictionary()
)
_KEEPERS_LOCK = threading.Lock()


async def _close_at_loop_shutdown(client: redis.asyncio.Redis) -> AsyncGenerator[None, None]:
    """Suspends once; the loop's ``shutdown_asyncgens`` closes it, which closes ``client``."""
    try:
        yield
    finally:
        await client.aclose()


class _AsyncSide:
    """One event loop's asyncio client and its registered scripts."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.client = client
        self.keeper: AsyncGenerator[None, None] | None = None
        self.get = client.register_script(_GET)
        self.put = client.register_script(_PUT)
        self.invalidate = client.register_script(_INVALIDATE)
        self.drain = client.register_script(_DRAIN)


def _ttl_ms(ttl: float | timedelta | None) -> int:
    """-1 for no ttl, 0 for "remove", else whole milliseconds (a sub-ms ttl rounds up to 1).

    :raises BackendError: when the ttl does not fit Redis's millisecond expiry window.
    """
    seconds = ttl_seconds(ttl)
    if seconds is None:
        return -1
    if seconds <= 0:
        return 0
    ms = max(1, math.ceil(seconds * 1000))
    if ms >= PERSISTENT_SCORE - math.ceil(time.time() * 1000):
        raise BackendError(f"ttl of {seconds} s overflows the Redis expiry window")
    return ms


def encode_message(message: Invalidation, origin: str | None = None) -> bytes:
    """The JSON form of an invalidation message on the Redis channel.

    ``{"v":1,"op":"id","id":<json id>}``, ``{"v":1,"op":"all"}`` or
    ``{"v":1,"op":"where","predicate":"<predicate JSON>"}``, plus ``"o":"<origin>"`` when the
    writer has an origin.

    :raises CodecError: when an id has no JSON form.
    :raises TypeError: for anything else than an invalidation message.
    """
    body: dict[str, Any] = {"v": 1}
    if isinstance(message, InvalidateId):
        body.update(op="id", id=message.id)
    elif isinstance(message, InvalidateWhere):
        body.update(op="where", predicate=message.predicate)
    elif isinstance(message, InvalidateAll):
        body["op"] = "all"
    else:
        raise TypeError(f"not an invalidation message: {message!r}")
    if origin is not None:
        body["o"] = origin
    return wire.encode_id(body)  # compact JSON with sassi's id encoding rules


class RedisBackend:
    """A :class:`~sassi.backends.Backend` on Redis.

    :param target: a ``redis://`` URL, a ``redis.Redis`` client or a ``redis.asyncio.Redis``
        client (or pass it as ``url=`` / ``client=``). With a sync client, async methods run it
        in worker threads; with an asyncio client, sync methods and trio use a sync client
        built from its connection settings. Clients must not use ``decode_responses=True``.
    :param socket_timeout: seconds before a Redis call counts as unavailable (URL form only).
    :raises ValueError: for a client with ``decode_responses=True``, or not exactly one target.
    :raises TypeError: for anything else than a URL or a redis-py client.
    """

    def __init__(
        self,
        target: str | redis.Redis | redis.asyncio.Redis | None = None,
        *,
        url: str | None = None,
        client: redis.Redis | redis.asyncio.Redis | None = None,
        socket_timeout: float = 5.0,
    ) -> None:
        given = [t for t in (target, url, client) if t is not None]
        if len(given) != 1:
            raise ValueError("RedisBackend needs exactly one of a URL or a client")
        target = given[0]
        self._lock = threading.Lock()
        self._sides: weakref.WeakKeyDictionary[Any, _AsyncSide] = weakref.WeakKeyDictionary()
        self._given_async: redis.asyncio.Redis | None = None
        self._async_factory: Callable[[], redis.asyncio.Redis] | None
        if isinstance(target, str):
            url = target
            self._sync = redis.Redis.from_url(
                url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
            )
            self._async_factory = lambda: redis.asyncio.Redis.from_url(
                url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
            )
        elif isinstance(target, redis.asyncio.Redis):
            kwargs = target.connection_pool.connection_kwargs
            self._check_bytes(kwargs)
            keep = ("host", "port", "db", "username", "password", "socket_timeout")
            self._sync = redis.Redis(**{k: kwargs[k] for k in keep if k in kwargs})
            self._given_async = target
            self._async_factory = None
        elif isinstance(target, redis.Redis):
            self._check_bytes(target.connection_pool.connection_kwargs)
            self._sync = target
            self._async_factory = None
        else:
            raise TypeError(
                f"RedisBackend needs a redis:// URL or a redis-py client, got {target!r}"
            )
        self._get = self._sync.register_script(_GET)
        self._put = self._sync.register_script(_PUT)
        self._invalidate = self._sync.register_script(_INVALIDATE)
        self._drain = self._sync.register_script(_DRAIN)

    def __repr__(self) -> str:
        kwargs = self._sync.connection_pool.connection_kwargs
        where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
        return f"<RedisBackend {where} db={kwargs.get('db', 0)}>"

    @staticmethod
    def _check_bytes(kwargs: dict[str, Any]) -> None:
        if kwargs.get("decode_responses"):
            raise ValueError("RedisBackend needs a client with decode_responses=False")

    @property
    def client(self) -> redis.Redis:
        """The sync client."""
        return self._sync

    # --- async plumbing ---------------------------------------------------------------------

    async def _side(self) -> _AsyncSide | None:
        """This loop's asyncio client, or ``None`` when async calls must use a worker thread."""
        native = anyio.lowlevel.current_token().native_token
        if not hasattr(native, "call_soon_threadsafe"):  # not asyncio (trio)
            return None
        factory = self._async_factory
        if self._given_async is None and factory is None:
            return None
        with self._lock:
            side = self._sides.get(native)
            if side is not None:
                return side
            if self._given_async is not None:  # the caller owns (and closes) that client
                side = self._sides[native] = _AsyncSide(self._given_async)
                return side
            assert factory is not None
            side = self._sides[native] = _AsyncSide(factory())
        # A client we made is closed when the loop finalises its async generators (asyncio.run
        # and anyio's runner do), so a backend nobody closes never leaks sockets past its loop.
        keeper = side.keeper = _close_at_loop_shutdown(side.client)
        await keeper.asend(None)
        with _KEEPERS_LOCK:  # the loop, not this backend, keeps it alive until its shutdown
            _KEEPERS.setdefault(native, []).append(keeper)
        return side

    async def _thread(self, fn: Callable[..., R], *args: Any) -> R:
        return await anyio.to_thread.run_sync(fn, *args)

    # --- operations --------------------------------------------------------------------------

    def _decode(self, keyspace: Keyspace, raw: bytes | None) -> Any | None:
        if raw is None:
            return None
        return wire.loads(keyspace.resolve_model(), raw)

    def get_sync(self, keyspace: Keyspace, id: Any) -> Any | None:
        """The stored value, or ``None`` (expired values are gone; stale index entries pruned).

        :raises BackendUnavailable: when Redis cannot be reached.
        :raises WireFormatError: when the stored bytes are not a valid value container.
        """
        keys = _Keys(keyspace)
        raw = _run("get", self._get, keys=[keys.value(id), keys.index])
        return self._decode(keyspace, raw)

    async def get(self, keyspace: Keyspace, id: Any) -> Any | None:
        """Async twin of :meth:`get_sync`."""
        side = await self._side()
        if side is None:
            return await self._thread(self.get_sync, keyspace, id)
        keys = _Keys(keyspace)
        raw = await _arun("get", side.get, keys=[keys.value(id), keys.index])
        return self._decode(keyspace, raw)

    def _put_args(
        self, keyspace: Keyspace, id: Any, value: Any, ttl: float | timedelta | None
    ) -> tuple[list[str], list[Any]]:
        check_value(keyspace, value)
        ms = _ttl_ms(ttl)
        keys = _Keys(keyspace)
        payload = wire.dumps(value) if ms != 0 else b""
        return [keys.value(id), keys.index], [payload, ms, PERSISTENT_SCORE]

    def put_sync(
        self, keyspace: Keyspace, id: Any, value: Any, ttl: float | timedelta | None
    ) -> None:
        """Store ``value`` and its index entry atomically (a ttl ``<= 0`` removes both).

        :raises BackendUnavailable: when Redis cannot be reached.
        :raises BackendError: when the ttl overflows Redis's expiry window.
        """
        keys, args = self._put_args(keyspace, id, value, ttl)
        _run("put", self._put, keys=keys, args=args)

    async def put(
        self, keyspace: Keyspace, id: Any, value: Any, ttl: float | timedelta | None
    ) -> None:
        """Async twin of :meth:`put_sync`."""
        side = await self._side()
        if side is None:
            return await self._thread(self.put_sync, keyspace, id, value, ttl)
        keys, args = self._put_args(keyspace, id, value, ttl)
        await _arun("put", side.put, keys=keys, args=args)
        return None

    def _invalidate_args(self, keyspace: Keyspace, id: Any) -> tuple[list[str], list[Any]]:
        keys = _Keys(keyspace)
        message = encode_message(InvalidateId(id), keyspace.origin)
        return [keys.value(id), keys.index], [keys.channel, message]

    def invalidate_sync(self, keyspace: Keyspace, id: Any) -> None:
        """Delete ``id`` and publish an id message, atomically (idempotent).

        :raises BackendUnavailable: when Redis cannot be reached.
        """
        keys, args = self._invalidate_args(keyspace, id)
        _run("invalidate", self._invalidate, keys=keys, args=args)

    async def invalidate(self, keyspace: Keyspace, id: Any) -> None:
        """Async twin of :meth:`invalidate_sync`."""
        side = await self._side()
        if side is None:
            return await self._thread(self.invalidate_sync, keyspace, id)
        keys, args = self._invalidate_args(keyspace, id)
        await _arun("invalidate", side.invalidate, keys=keys, args=args)
        return None

    def invalidate_all_sync(self, keyspace: Keyspace) -> None:
        """Drain the key index in batches (no ``SCAN``), then publish an "all" message.

        Not a barrier: a concurrent ``put`` may land after the drain.

        :raises BackendUnavailable: when Redis cannot be reached.
        """
        keys = _Keys(keyspace)
        while _run("invalidate_all", self._drain, keys=[keys.index], args=[BATCH]):
            pass
        message = encode_message(InvalidateAll(), keyspace.origin)
        _run("invalidate_all", self._sync.publish, keys.channel, message)

    async def invalidate_all(self, keyspace: Keyspace) -> None:
        """Async twin of :meth:`invalidate_all_sync`."""
        side = await self._side()
        if side is None:
            return await self._thread(self.invalidate_all_sync, keyspace)
        keys = _Keys(keyspace)
        while await _arun("invalidate_all", side.drain, keys=[keys.index], args=[BATCH]):
            pass
        message = encode_message(InvalidateAll(), keyspace.origin)
        await _arun("invalidate_all", side.client.publish, keys.channel, message)
        return None

    def publish_sync(self, keyspace: Keyspace, message: Invalidation) -> None:
        """Publish ``message`` on the keyspace's channel (stores nothing).

        :raises BackendUnavailable: when Redis cannot be reached.
        """
        _run(
            "publish",
            self._sync.publish,
            _Keys(keyspace).channel,
            encode_message(message, keyspace.origin),
        )

    async def publish(self, keyspace: Keyspace, message: Invalidation) -> None:
        """Async twin of :meth:`publish_sync`."""
        side = await self._side()
        if side is None:
            return await self._thread(self.publish_sync, keyspace, message)
        await _arun(
            "publish",
            side.client.publish,
            _Keys(keyspace).channel,
            encode_message(message, keyspace.origin),
        )
        return None

    def invalidations(self, keyspace: Keyspace) -> RedisInvalidations:
        """A subscription to the keyspace's channel (connects on first use).

        Call ``await stream.ready()`` to wait until it is subscribed; close it with
        ``await stream.aclose()``.
        """
        return RedisInvalidations(self, keyspace)

    # --- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the sync client's connections (async clients: use :meth:`aclose`)."""
        self._sync.close()

    async def aclose(self) -> None:
        """Close this event loop's asyncio client (if one was made) and the sync client."""
        native = anyio.lowlevel.current_token().native_token
        with self._lock:
            side = self._sides.pop(native, None)
        if side is not None and side.keeper is not None:
            with _KEEPERS_LOCK:
                keepers = _KEEPERS.get(native, [])
                if side.keeper in keepers:
                    keepers.remove(side.keeper)
            await side.keeper.aclose()  # closes the client
        self._sync.close()


class _Own(enum.Enum):
    OWN = "own"


_OWN = _Own.OWN
"""What :meth:`RedisInvalidations._parse` returns for a message this stream's writer sent."""


class RedisInvalidations:
    """The async iterator returned by :meth:`RedisBackend.invalidations`."""

    def __init__(self, backend: RedisBackend, keyspace: Keyspace) -> None:
        self._backend = backend
        self._keyspace = keyspace
        self._channel = _Keys(keyspace).channel
        self._pubsub: Any = None
        self._threaded = False
        self._connected_once = False
        self._resync = False
        self._delay = BACKOFF_START
        self._closed = False
        self._limiter: anyio.CapacityLimiter | None = None
        self.sleep: Callable[[float], Awaitable[None]] = anyio.sleep  # reconnect backoff waits

    def __aiter__(self) -> RedisInvalidations:
        return self

    async def _subscribe(self) -> None:
        side = await self._backend._side()
        if side is None:
            self._threaded = True
            self._pubsub = self._backend._sync.pubsub()  # type: ignore[no-untyped-call, unused-ignore]
            if self._limiter is None:  # own thread slot: never starve the default limiter
                self._limiter = anyio.CapacityLimiter(1)
            await anyio.to_thread.run_sync(
                self._pubsub.subscribe, self._channel, limiter=self._limiter
            )
            while True:
                msg = await anyio.to_thread.run_sync(
                    self._pubsub.get_message, False, 1.0, limiter=self._limiter
                )
                if msg is not None and msg.get("type") == "subscribe":
                    return
        self._threaded = False
        self._pubsub = side.client.pubsub()
        await self._pubsub.subscribe(self._channel)
        while True:
            msg = await self._pubsub.get_message(ignore_subscribe_messages=False, timeout=1.0)
            if msg is not None and msg.get("type") == "subscribe":
                return

    async def _drop(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is None:
            return
        try:
            if self._threaded:
                pubsub.close()
            else:
                await pubsub.aclose()
        except Exception:  # the connection is already gone
            log.debug("closing a broken pub/sub connection failed", exc_info=True)

    async def ready(self) -> None:
        """Subscribe now (retrying with backoff) unless already subscribed."""
        while self._pubsub is None and not self._closed:
            try:
                await self._subscribe()
            except (redis.exceptions.RedisError, OSError) as exc:
                await self._drop()
                log.warning(
                    "redis invalidation subscribe failed (%s); retrying in %.3f s", exc, self._delay
                )
                await self.sleep(self._delay)
                self._delay = min(self._delay * 2, BACKOFF_CAP)
                continue
            if self._connected_once:
                self._resync = True
            self._connected_once = True

    async def _next_raw(self) -> Any:
        if self._threaded:
            return await anyio.to_thread.run_sync(
                self._pubsub.get_message, True, 1.0, abandon_on_cancel=True, limiter=self._limiter
            )
        return await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)

    async def __anext__(self) -> Invalidation:
        while True:
            await self.ready()
            if self._closed:
                raise StopAsyncIteration
            if self._resync:
                self._resync = False
                return InvalidateAll()
            try:
                msg = await self._next_raw()
            except (redis.exceptions.RedisError, OSError) as exc:
                log.warning("redis invalidation stream lost (%s); reconnecting", exc)
                await self._drop()
                await self.sleep(self._delay)
                self._delay = min(self._delay * 2, BACKOFF_CAP)
                continue
            if msg is None or msg.get("type") != "message":
                continue
            parsed = self._parse(msg.get("data"))
            if parsed is _OWN:
                self._delay = BACKOFF_START
            elif parsed is not None:
                self._delay = BACKOFF_START
                return parsed

    def _parse(self, data: Any) -> Invalidation | _Own | None:
        try:
            body = msgspec.json.decode(data)
            if not isinstance(body, dict) or body.get("v") != 1:
                raise ValueError("not a version-1 sassi message")
            origin = body.get("o")
            if origin is not None and origin == self._keyspace.origin:
                return _OWN  # our own echo: already applied locally
            if body.get("op") == "all":
                return InvalidateAll()
            if body.get("op") == "where" and isinstance(body.get("predicate"), str):
                return InvalidateWhere(body["predicate"])
            if body.get("op") == "id" and "id" in body:
                model = self._keyspace.model or wire.model_for(self._keyspace.type_name)
                if model is None:
                    return InvalidateId(wire._hashable(body["id"]))
                return InvalidateId(wire.convert_id(model, body["id"]))
            raise ValueError(f"unknown op {body.get('op')!r}")
        except (msgspec.DecodeError, ValueError, TypeError, WireFormatError) as exc:
            log.warning("skipping malformed invalidation message on %s: %s", self._channel, exc)
            return None

    async def aclose(self) -> None:
        """Unsubscribe and release the connection."""
        self._closed = True
        await self._drop()

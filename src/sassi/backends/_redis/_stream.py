"""The pub/sub subscription behind :meth:`RedisBackend.invalidations`."""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import msgspec
import redis.exceptions

from ... import wire
from ..._wire._ids import hashable as _hashable
from ...exceptions import WireFormatError
from .._protocol import InvalidateAll, InvalidateId, InvalidateWhere, Invalidation, Keyspace
from ._keys import Keys

if TYPE_CHECKING:
    from ._backend import RedisBackend

__all__ = ["BACKOFF_CAP", "BACKOFF_START", "RedisInvalidations"]

log = logging.getLogger("sassi.backends.redis")

BACKOFF_START = 0.010
BACKOFF_CAP = 5.0


class _Own(enum.Enum):
    OWN = "own"


_OWN = _Own.OWN
"""What :meth:`RedisInvalidations._parse` returns for a message this stream's writer sent."""


class RedisInvalidations:
    """The async iterator returned by :meth:`RedisBackend.invalidations`."""

    def __init__(self, backend: RedisBackend, keyspace: Keyspace) -> None:
        self._backend = backend
        self._keyspace = keyspace
        self._channel = Keys(keyspace).channel
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
                    return InvalidateId(_hashable(body["id"]))
                return InvalidateId(wire.convert_id(model, body["id"]))
            raise ValueError(f"unknown op {body.get('op')!r}")
        except (msgspec.DecodeError, ValueError, TypeError, WireFormatError) as exc:
            log.warning("skipping malformed invalidation message on %s: %s", self._channel, exc)
            return None

    async def aclose(self) -> None:
        """Unsubscribe and release the connection."""
        self._closed = True
        await self._drop()

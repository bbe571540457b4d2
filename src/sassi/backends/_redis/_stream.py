"""The pub/sub subscription behind :meth:`RedisBackend.invalidations`.

Reconnects, and why nothing is lost. Pub/sub drops whatever is published while a subscriber is
disconnected, so a gap is unavoidable; what matters is that the reader learns of every gap and
that nothing published *after* a resubscription is dropped. redis-py complicates this: when a
pub/sub read meets a dead connection, redis-py (8.x) reconnects and resubscribes by itself
inside the failing call (with no backoff), then raises; with a retry policy that allows
retries it even resubscribes silently and the read just goes on. Dropping that connection, as
sassi once did, lost what was published on it before the next subscription, and silent
retries left the gap unnoticed.

So this stream takes the reconnects into its own hands and reads the server's subscription
confirmations (``ignore_subscribe_messages=False``):

- Once subscribed, the ``PubSub``'s connection gets a retry policy that retries nothing (the
  client's own policy is put back when the connection returns to its pool), so redis-py
  neither reconnects nor resubscribes by itself: a lost connection just raises.
- A lost connection is logged; the ``PubSub`` is closed; the stream waits out a backoff (10 ms
  doubling to 5 s, started over only once a subscription has lived 1 s, so a stream that ends
  right after a successful subscribe still backs off) and subscribes afresh. Every connection
  attempt follows a backoff; none is thrown away once subscribed.
- The first confirmation makes :meth:`RedisInvalidations.ready` return. Every later one means
  messages may have been missed: the stream yields one :class:`InvalidateAll` right then,
  before any message that follows the confirmation, and everything published after it is
  delivered.
- Should the retry policy not be replaceable (a connection class without a ``retry``
  attribute), the stream keeps the ``PubSub`` that redis-py resubscribed instead of dropping
  it, and still announces the gap when the confirmation arrives; a confirmation seen without
  any error (a silent redis-py retry) is announced the same way.

The stream never raises for a lost connection. A message that is not a valid, bounded
envelope (see :mod:`sassi.backends._messages`) comes out as a :class:`MalformedMessage` item
carrying the :class:`~sassi.CodecError`, and the stream goes on with the next message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import redis.asyncio.retry
import redis.backoff
import redis.exceptions
import redis.retry

from ...exceptions import WireFormatError
from .._messages import OWN, decode_message
from .._protocol import InvalidateAll, Invalidation, Keyspace, MalformedMessage
from ._keys import Keys

if TYPE_CHECKING:
    from ._backend import RedisBackend

__all__ = ["BACKOFF_CAP", "BACKOFF_START", "HEALTHY_AFTER", "RedisInvalidations"]

log = logging.getLogger("sassi.backends.redis")

BACKOFF_START = 0.010
BACKOFF_CAP = 5.0
HEALTHY_AFTER = 1.0
"""Seconds a subscription must live before a loss starts the backoff over at 10 ms."""
POLL = 1.0
"""Seconds one read waits for a message before the stream looks again."""
CONFIRM_POLLS = 3
"""Empty polls after which a subscription that was never confirmed is started afresh."""

_ERRORS = (redis.exceptions.RedisError, OSError)


class _Unconfirmed(Exception):
    """The server did not confirm a subscription in time."""


class RedisInvalidations:
    """The async iterator returned by :meth:`RedisBackend.invalidations` (see module docs).

    ``sleep`` is the coroutine function used for backoff waits and ``healthy_after`` the
    seconds a subscription must live before a loss starts the backoff over (tests set both).
    """

    def __init__(self, backend: RedisBackend, keyspace: Keyspace) -> None:
        self._backend = backend
        self._keyspace = keyspace
        self._channel = Keys(keyspace).channel
        self._pubsub: Any = None
        self._threaded = False
        self._confirmed = False  # the server confirmed the subscription on the live connection
        self._confirmations = 0  # confirmations so far: every one after the first is a gap
        self._confirmed_at = 0.0
        self._resync = False
        self._attempts = 0  # subscription attempts (a cluster relearns its slots after one)
        self._delay = BACKOFF_START
        self._closed = False
        self._limiter: anyio.CapacityLimiter | None = None
        self._restore: tuple[Any, Any] | None = None  # (connection, its own retry policy)
        self.sleep: Callable[[float], Awaitable[None]] = anyio.sleep
        self.healthy_after = HEALTHY_AFTER

    def __aiter__(self) -> RedisInvalidations:
        return self

    # --- the PubSub object ----------------------------------------------------------------

    async def _subscribe(self) -> None:
        """Make a ``PubSub`` and send ``SUBSCRIBE`` (the confirmation is read later)."""
        side = await self._backend._side()
        self._attempts += 1
        if side is None:  # trio, or a sync client: redis-py's sync PubSub in a worker thread
            self._threaded = True
            if self._limiter is None:  # own thread slot: never starve the default limiter
                self._limiter = anyio.CapacityLimiter(1)
            if self._backend.cluster and self._attempts:
                # after a loss: learn the cluster's slots anew (a replica may have been
                # promoted), so the subscription goes to the node that serves the channel now
                await anyio.to_thread.run_sync(
                    self._backend._sync.nodes_manager.initialize, limiter=self._limiter
                )
            self._pubsub = self._backend._sync.pubsub()  # type: ignore[no-untyped-call, unused-ignore]
            await anyio.to_thread.run_sync(
                self._pubsub.subscribe, self._channel, limiter=self._limiter
            )
        else:
            self._threaded = False
            self._pubsub = side.client.pubsub()
            await self._pubsub.subscribe(self._channel)
        self._take_over_reconnects()

    def _take_over_reconnects(self) -> bool:
        """Give the ``PubSub``'s connection a policy that retries nothing (see module docs).

        :returns: whether the stream now owns every reconnect of this ``PubSub``.
        """
        connection = getattr(self._pubsub, "connection", None)
        own = getattr(connection, "retry", None)
        if connection is None or own is None:
            return False
        module = redis.retry if self._threaded else redis.asyncio.retry
        never = module.Retry(redis.backoff.NoBackoff(), 0, ())
        try:
            connection.retry = never
        except AttributeError:
            return False
        if connection.retry is not never:
            return False
        self._restore = (connection, own)
        return True

    async def _read(self) -> Any:
        """The next pub/sub item (subscription confirmations included), or ``None`` after
        :data:`POLL` seconds without one."""
        if self._threaded:
            return await anyio.to_thread.run_sync(
                self._pubsub.get_message, False, POLL, abandon_on_cancel=True, limiter=self._limiter
            )
        return await self._pubsub.get_message(ignore_subscribe_messages=False, timeout=POLL)

    async def _drop(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        self._confirmed = False
        restore, self._restore = self._restore, None
        try:
            if pubsub is None:
                pass
            elif self._threaded:
                pubsub.close()
            else:
                await pubsub.aclose()
        except Exception:  # the connection is already gone
            log.debug("closing a broken pub/sub connection failed", exc_info=True)
        finally:
            # Only now does the connection get its own retry policy back: a read abandoned in a
            # worker thread that fails because of the close must not reconnect and resubscribe.
            if restore is not None:
                connection, own = restore
                connection.retry = own

    def _resumable(self) -> bool:
        """Whether redis-py (not this stream) reconnects the ``PubSub``, which it then keeps."""
        pubsub = self._pubsub
        if self._restore is not None or pubsub is None:
            return False
        return pubsub.connection is not None and bool(pubsub.subscribed)

    # --- confirmations and backoff ---------------------------------------------------------

    def _on_confirmation(self) -> None:
        self._confirmed = True
        self._confirmed_at = anyio.current_time()
        if self._confirmations:
            self._resync = True  # a resubscription: messages may have been missed before it
        self._confirmations += 1

    async def _backoff(self) -> None:
        await self.sleep(self._delay)
        self._delay = min(self._delay * 2, BACKOFF_CAP)

    async def _await_confirmation(self) -> None:
        polls = 0
        while not self._confirmed:
            msg = await self._read()
            if msg is None:
                polls += 1
                if polls >= CONFIRM_POLLS:
                    raise _Unconfirmed(f"no subscription confirmation in {polls * POLL:.0f} s")
            elif msg.get("type") == "subscribe":
                self._on_confirmation()
            # anything else was published before the confirmation: the resync covers it

    async def ready(self) -> None:
        """Return once the server has confirmed the subscription (retrying with backoff).

        Returns at once when already subscribed, or when the stream is closed.
        """
        while not self._closed and not self._confirmed:
            try:
                if self._pubsub is None:
                    await self._subscribe()
                await self._await_confirmation()
            except (*_ERRORS, _Unconfirmed) as exc:
                await self._drop()
                log.warning(
                    "redis invalidation subscribe failed (%s); retrying in %.3f s", exc, self._delay
                )
                await self._backoff()

    # --- iteration ---------------------------------------------------------------------------

    async def __anext__(self) -> Invalidation | MalformedMessage:
        """The next message, or a :class:`MalformedMessage` for one that cannot be decoded.

        :raises StopAsyncIteration: once the stream is closed.
        """
        while True:
            await self.ready()
            if self._closed:
                raise StopAsyncIteration
            if self._resync:
                self._resync = False
                return InvalidateAll()
            try:
                msg = await self._read()
            except _ERRORS as exc:
                await self._lost(exc)
                continue
            if msg is None:
                continue
            kind = msg.get("type")
            if kind == "subscribe":  # redis-py reconnected and resubscribed without raising
                log.warning("redis invalidation stream resubscribed after a silent reconnect")
                self._on_confirmation()
                continue
            if kind != "message":
                continue
            try:
                message = decode_message(msg.get("data"), self._keyspace)
            except WireFormatError as exc:
                return MalformedMessage(exc)
            if message is not OWN:
                return message

    async def _lost(self, exc: BaseException) -> None:
        """The connection broke: close the ``PubSub`` (unless redis-py resubscribed it), back
        off; the next :meth:`ready` subscribes again."""
        self._confirmed = False
        if anyio.current_time() - self._confirmed_at >= self.healthy_after:
            self._delay = BACKOFF_START
        log.warning(
            "redis invalidation stream lost (%s); resubscribing in %.3f s", exc, self._delay
        )
        if not self._resumable():
            await self._drop()
        await self._backoff()

    async def aclose(self) -> None:
        """Unsubscribe and release the connection."""
        self._closed = True
        await self._drop()

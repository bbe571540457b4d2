"""An in-process invalidation subscription any thread can feed and any event loop can read.

Producers call :meth:`LocalStream.push` from any thread (with or without an event loop); the
reader awaits in its own loop (asyncio or trio). A wake-up from another thread is scheduled
on the reader's loop through its native thread-safe hook, never by touching the loop from the
wrong thread. The queue is bounded: on overflow everything pending collapses into a single
:class:`InvalidateAll`, which is always a safe (if coarse) reading of what was lost.

Messages are checked as they are read (:func:`~sassi.backends._messages.check_message`): one
that is not a valid invalidation (an unhashable id, a predicate that is not a bounded string,
another object) comes out as a :class:`MalformedMessage` item and the stream goes on, as the
stream contract in :mod:`sassi.backends._protocol` says.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from .._wake import Waiter
from ..exceptions import CodecError
from ._messages import check_message
from ._protocol import InvalidateAll, Invalidation, MalformedMessage

__all__ = ["EmptyStream", "LocalStream"]


class LocalStream:
    """One subscriber's bounded queue of invalidation messages.

    :param on_close: called once with this stream when it is closed (unsubscribes it).
    :param maxlen: pending messages kept before collapsing into one ``InvalidateAll``.
    :param origin: the subscriber's writer identity; messages pushed with it are dropped.
    """

    def __init__(
        self,
        on_close: Callable[[LocalStream], None],
        maxlen: int = 1024,
        origin: str | None = None,
    ) -> None:
        self.origin = origin
        self._items: deque[object] = deque()
        self._lock = threading.Lock()
        self._waiter: Waiter | None = None
        self._closed = False
        self._on_close = on_close
        self._maxlen = maxlen

    def push(self, message: Invalidation, origin: str | None = None) -> None:
        """Queue ``message`` and wake the reader (callable from any thread).

        :param origin: the publisher's identity; equal to this stream's, the message is dropped.
        """
        if origin is not None and origin == self.origin:
            return
        with self._lock:
            if self._closed:
                return
            if len(self._items) >= self._maxlen:
                self._items.clear()
                message = InvalidateAll()
            self._items.append(message)
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.wake()

    async def ready(self) -> None:
        """Return once messages published from now on will be delivered (already true)."""

    def __aiter__(self) -> LocalStream:
        return self

    async def __anext__(self) -> Invalidation | MalformedMessage:
        """The next message (or :class:`MalformedMessage` for a bad one), waiting for one.

        :raises StopAsyncIteration: once the stream is closed.
        """
        while True:
            with self._lock:
                if self._items:
                    item = self._items.popleft()
                    break
                if self._closed:
                    raise StopAsyncIteration
                waiter = self._waiter = Waiter()
            try:
                await waiter.event.wait()
            finally:
                with self._lock:
                    if self._waiter is waiter:
                        self._waiter = None
        try:
            return check_message(item)
        except CodecError as exc:
            return MalformedMessage(exc)

    def close(self) -> None:
        """Stop the subscription; a waiting reader ends its iteration."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._items.clear()
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.wake()
        self._on_close(self)

    async def aclose(self) -> None:
        """Async form of :meth:`close`."""
        self.close()


class EmptyStream:
    """The invalidation stream of a backend that has none: ends at once."""

    async def ready(self) -> None:
        """Nothing to wait for."""

    def __aiter__(self) -> EmptyStream:
        return self

    async def __anext__(self) -> Invalidation:
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Nothing to release."""

"""Pool events and lossy, bounded subscriptions.

Every subscriber owns a buffer of at most ``event_capacity`` events. The producer (a pool commit,
from any thread) never blocks: when a buffer is full its oldest event is dropped and the
subscriber's next read returns :class:`Lagged` with the number dropped, then continues with the
oldest event still buffered. ``receive_nowait`` is the sync core; ``await receive()`` adds only
waiting. A waiting task is woken thread-safely: a commit made on another thread schedules the wake
on the waiter's event loop (asyncio or trio, through anyio's loop token).
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeAlias, TypeVar

import anyio
import anyio.lowlevel

from ._config import EventReason
from ._wake import Waiter

__all__ = [
    "Event",
    "EventHub",
    "Inserted",
    "Invalidated",
    "Lagged",
    "Subscription",
    "Updated",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Inserted(Generic[T]):
    """A value became resident (new id, replaced under ``LAST_WRITE_WINS``, or restored).

    :param value: the stored object.
    """

    value: T


@dataclass(frozen=True, slots=True)
class Updated(Generic[T]):
    """A live value was replaced under ``OnConflict.UPDATE``.

    :param old: the value that was resident before the write.
    :param new: the value now resident.
    """

    old: T
    new: T


@dataclass(frozen=True, slots=True)
class Invalidated:
    """A live entry left the pool.

    :param id: the entry's id.
    :param reason: why it left.
    """

    id: Any
    reason: EventReason


@dataclass(frozen=True, slots=True)
class Lagged:
    """The subscriber fell behind; ``skipped`` oldest events were dropped from its buffer.

    :param skipped: how many events were lost.
    """

    skipped: int


Event: TypeAlias = Inserted[Any] | Updated[Any] | Invalidated | Lagged


class Subscription:
    """A bounded, lossy stream of one pool's events, from the moment it was created.

    ``sub.receive_nowait()`` returns the next event or ``None``; ``await sub.receive()`` waits
    for one; ``async for ev in sub`` iterates until the subscription is closed. A subscription
    is a (sync and async) context manager that closes it on exit.
    """

    __slots__ = (
        "__weakref__",
        "_buffer",
        "_capacity",
        "_closed",
        "_lock",
        "_on_close",
        "_skipped",
        "_waiters",
    )

    def __init__(
        self, capacity: int, on_close: Callable[[Subscription], None] | None = None
    ) -> None:
        self._capacity = capacity
        self._on_close = on_close
        self._buffer: deque[Event] = deque()
        self._skipped = 0
        self._lock = threading.Lock()
        self._waiters: list[Waiter] = []
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def _push(self, events: Iterable[Event]) -> None:
        """Buffer ``events`` (dropping the oldest past capacity) and wake waiters; never blocks."""
        with self._lock:
            if self._closed:
                return
            buffer = self._buffer
            capacity = self._capacity
            for event in events:
                if len(buffer) >= capacity:
                    buffer.popleft()
                    self._skipped += 1
                buffer.append(event)
            waiters = self._waiters
            if not waiters:
                return
            self._waiters = []
        for waiter in waiters:
            waiter.wake()

    def receive_nowait(self) -> Event | None:
        """The next event without waiting, or ``None`` when nothing is buffered (or closed).

        :returns: ``Lagged(n)`` first if events were dropped, otherwise the oldest buffered event.
        """
        with self._lock:
            if self._skipped:
                skipped, self._skipped = self._skipped, 0
                return Lagged(skipped)
            if self._buffer:
                return self._buffer.popleft()
            return None

    async def receive(self) -> Event:
        """Wait for the next event.

        :returns: the next event (``Lagged`` first after an overflow).
        :raises anyio.ClosedResourceError: when the subscription is (or gets) closed.
        """
        await anyio.lowlevel.checkpoint()
        while True:
            if self._closed:
                raise anyio.ClosedResourceError
            event = self.receive_nowait()
            if event is not None:
                return event
            waiter = Waiter()
            with self._lock:
                if self._closed or self._skipped or self._buffer:
                    continue
                self._waiters.append(waiter)
            try:
                await waiter.event.wait()
            finally:
                with self._lock:
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)

    def close(self) -> None:
        """Stop receiving; buffered events are discarded and waiting receivers are woken."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._buffer.clear()
            self._skipped = 0
            waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.wake()
        if self._on_close is not None:  # leave the hub now, not at its next publish
            self._on_close(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        try:
            return await self.receive()
        except anyio.ClosedResourceError:
            raise StopAsyncIteration from None

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._buffer)} buffered"
        return f"<Subscription {state}, capacity {self._capacity}>"


class EventHub:
    """The set of live subscriptions of one pool. Holds them weakly; publishing never blocks."""

    __slots__ = ("_capacity", "_lock", "_subs", "active")

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._subs: tuple[weakref.ref[Subscription], ...] = ()
        # Whether anyone may be listening (cheap; may include collected subscriptions): a
        # plain attribute, read by every commit, kept equal to bool(self._subs).
        self.active = False

    def subscribe(self) -> Subscription:
        """A new subscription that sees only events published after this call.

        It leaves the hub as soon as it is closed (a collected one at the next publish), so
        opening and closing one per request costs the same however many came before.
        """
        sub = Subscription(self._capacity, self._release)
        with self._lock:
            self._subs = (*self._subs, weakref.ref(sub))
            self.active = True
        return sub

    def _release(self, sub: Subscription) -> None:
        with self._lock:
            self._subs = tuple(r for r in self._subs if (s := r()) is not None and s is not sub)
            self.active = bool(self._subs)

    def publish(self, events: list[Event]) -> None:
        """Deliver ``events`` (in order) to every open subscription.

        Call this while still holding the pool's write lock so deliveries follow commit order.
        """
        if not events or not self._subs:
            return
        stale = False
        for ref in self._subs:
            sub = ref()
            if sub is None or sub._closed:
                stale = True
                continue
            sub._push(events)
        if stale:
            with self._lock:
                self._subs = tuple(
                    r for r in self._subs if (s := r()) is not None and not s._closed
                )
                self.active = bool(self._subs)

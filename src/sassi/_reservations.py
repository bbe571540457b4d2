"""Per-id exclusive reservations for strict (``BackendFailure.ERROR``) backend writes.

:class:`Reservations` serialises same-id strict writers across threads and tasks alike; the
pool's :class:`~sassi._tier.Tiering` owns one; the pool core sees it as ``core.reservations``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from ._wake import Waiter


class Reservations:
    """Per-id exclusive reservations for strict (``ERROR``) writes; threads and tasks alike."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[Hashable, list[Callable[[], None]]] = {}

    def acquire_sync(self, key: Hashable) -> None:
        """Take ``key``, blocking this thread while someone else holds it."""
        while True:
            with self._lock:
                waiters = self._held.get(key)
                if waiters is None:
                    self._held[key] = []
                    return
                event = threading.Event()
                waiters.append(event.set)
            event.wait()

    async def acquire(self, key: Hashable) -> None:
        """Take ``key``, waiting (without blocking the event loop) while someone holds it."""
        while True:
            with self._lock:
                waiters = self._held.get(key)
                if waiters is None:
                    self._held[key] = []
                    return
                waiter = Waiter()
                waiters.append(waiter.wake)
            await waiter.event.wait()

    def release(self, key: Hashable) -> None:
        """Give ``key`` back and wake everyone waiting for it (they race to take it)."""
        with self._lock:
            waiters = self._held.pop(key, [])
        for wake in waiters:
            wake()

    def count(self, keys: list[Hashable]) -> int:
        """How many of ``keys`` are held right now."""
        with self._lock:
            return sum(1 for k in keys if k in self._held)

    def which(self, keys: list[Hashable]) -> list[Hashable]:
        """The ``keys`` held right now."""
        with self._lock:
            return [k for k in keys if k in self._held]

    async def wait_free(self, keys: list[Hashable]) -> None:
        """Wait until each of ``keys`` was free at least once (no-op for keys nobody holds)."""
        for key in keys:
            await self.acquire(key)
            self.release(key)

    def any(self) -> bool:
        """Whether any key is held."""
        with self._lock:
            return bool(self._held)

    def held(self) -> list[Hashable]:
        """The keys held right now."""
        with self._lock:
            return list(self._held)

"""The reference in-process backend: wire bytes in a dict, expiry by an injectable clock.

Values are stored as kind-1 wire containers (exactly what a remote backend would hold), so a
round trip through it exercises the same codec as Redis or files. Pools that share one
``MemoryBackend`` also share its invalidation stream: ``invalidate`` / ``invalidate_all`` from
one pool reach every other pool's listener, which keeps their L1s coherent — handy in tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from .. import wire
from .._clock import monotonic
from ._protocol import InvalidateAll, InvalidateId, Invalidation, Keyspace, check_value, ttl_seconds
from ._stream import LocalStream

__all__ = ["MemoryBackend"]

_Slot = tuple[str | None, str]


class MemoryBackend:
    """A thread-safe in-memory :class:`~sassi.backends.Backend`.

    :param clock: zero-argument callable returning monotonic seconds. Without one, the backend
        adopts the clock of the first pool it is attached to (so ``Punnu(..., clock=FakeClock(),
        backend=MemoryBackend())`` expires L1 and L2 on the same fake time, like the Rust
        crate's single runtime clock), else ``time.monotonic``.
    """

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._clock: Callable[[], float] = clock if clock is not None else monotonic
        self._clock_fixed = clock is not None
        self._lock = threading.Lock()
        self._data: dict[_Slot, dict[str, tuple[bytes, float | None]]] = {}
        self._subscribers: dict[_Slot, set[LocalStream]] = {}

    def bind_clock(self, clock: Callable[[], float]) -> None:
        """Adopt a pool's clock, unless a clock was given or another pool's was adopted."""
        with self._lock:
            if not self._clock_fixed:
                self._clock = clock
                self._clock_fixed = True

    @staticmethod
    def _slot(keyspace: Keyspace) -> _Slot:
        return (keyspace.namespace, keyspace.type_name)

    def get_sync(self, keyspace: Keyspace, id: Any) -> Any | None:
        """The stored value for ``id``, or ``None`` when absent or expired (expired is deleted).

        :raises WireFormatError: when the stored bytes are not a valid container.
        :raises BackendError: when no model class is known for the keyspace.
        """
        token = wire.id_token(id)
        slot = self._slot(keyspace)
        with self._lock:
            found = self._data.get(slot, {}).get(token)
            if found is None:
                return None
            data, deadline = found
            if deadline is not None and deadline <= self._clock():
                del self._data[slot][token]
                return None
        return wire.loads(keyspace.resolve_model(), data)

    def put_sync(
        self, keyspace: Keyspace, id: Any, value: Any, ttl: float | timedelta | None
    ) -> None:
        """Store ``value`` under ``id``; a ttl ``<= 0`` removes it instead.

        :raises ValueError: when ``value`` belongs to another model than the keyspace.
        :raises CodecError: when the value cannot be encoded.
        """
        check_value(keyspace, value)
        seconds = ttl_seconds(ttl)
        data = wire.dumps(value)
        token = wire.id_token(id)
        with self._lock:
            space = self._data.setdefault(self._slot(keyspace), {})
            if seconds is not None and seconds <= 0:
                space.pop(token, None)
                return
            deadline = None if seconds is None else self._clock() + seconds
            space[token] = (data, deadline)

    def put_raw(self, keyspace: Keyspace, id: Any, data: bytes) -> None:
        """Store raw bytes under ``id`` without any check (for tests of corrupt storage)."""
        with self._lock:
            self._data.setdefault(self._slot(keyspace), {})[wire.id_token(id)] = (data, None)

    def invalidate_sync(self, keyspace: Keyspace, id: Any) -> None:
        """Remove ``id`` (idempotent) and notify every subscriber of the keyspace."""
        token = wire.id_token(id)
        slot = self._slot(keyspace)
        with self._lock:
            self._data.get(slot, {}).pop(token, None)
        self._publish(slot, InvalidateId(id), keyspace.origin)

    def invalidate_all_sync(self, keyspace: Keyspace) -> None:
        """Remove every value of the keyspace and notify its subscribers."""
        slot = self._slot(keyspace)
        with self._lock:
            self._data.pop(slot, None)
        self._publish(slot, InvalidateAll(), keyspace.origin)

    async def get(self, keyspace: Keyspace, id: Any) -> Any | None:
        """Async twin of :meth:`get_sync` (never blocks)."""
        return self.get_sync(keyspace, id)

    async def put(
        self, keyspace: Keyspace, id: Any, value: Any, ttl: float | timedelta | None
    ) -> None:
        """Async twin of :meth:`put_sync`."""
        self.put_sync(keyspace, id, value, ttl)

    async def invalidate(self, keyspace: Keyspace, id: Any) -> None:
        """Async twin of :meth:`invalidate_sync`."""
        self.invalidate_sync(keyspace, id)

    async def invalidate_all(self, keyspace: Keyspace) -> None:
        """Async twin of :meth:`invalidate_all_sync`."""
        self.invalidate_all_sync(keyspace)

    def publish_sync(self, keyspace: Keyspace, message: Invalidation) -> None:
        """Deliver ``message`` to every subscriber of the keyspace (stores nothing)."""
        self._publish(self._slot(keyspace), message, keyspace.origin)

    async def publish(self, keyspace: Keyspace, message: Invalidation) -> None:
        """Async twin of :meth:`publish_sync`."""
        self.publish_sync(keyspace, message)

    def invalidations(self, keyspace: Keyspace) -> LocalStream:
        """A new subscription to the keyspace's messages, live from this call on.

        Messages published with the keyspace's own ``origin`` are not delivered. Close it
        (``close()`` / ``aclose()``) to unsubscribe.
        """
        slot = self._slot(keyspace)

        def unsubscribe(stream: LocalStream) -> None:
            with self._lock:
                self._subscribers.get(slot, set()).discard(stream)

        stream = LocalStream(unsubscribe, origin=keyspace.origin)
        with self._lock:
            self._subscribers.setdefault(slot, set()).add(stream)
        return stream

    def _publish(self, slot: _Slot, message: Invalidation, origin: str | None) -> None:
        with self._lock:
            targets = list(self._subscribers.get(slot, ()))
        for stream in targets:
            stream.push(message, origin)

    def __repr__(self) -> str:
        return f"<MemoryBackend {len(self)} entries>"

    def __len__(self) -> int:
        """Stored entries across all keyspaces (expired ones included until read)."""
        with self._lock:
            return sum(len(space) for space in self._data.values())

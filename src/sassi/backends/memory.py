"""The reference in-process backend: wire bytes in a dict, expiry by an injectable clock.

It implements every optional capability of :mod:`sassi.backends._capabilities` (versions,
batches, leases, delete-where) in process, so pools sharing one ``MemoryBackend`` behave like
processes sharing a Redis: one fetch per cold id among them, no stale write-back.

Values are stored as kind-1 wire containers (exactly what a remote backend would hold), so a
round trip through it exercises the same codec as Redis or files. Pools that share one
``MemoryBackend`` also share its invalidation stream: ``invalidate`` / ``invalidate_all`` from
one pool reach every other pool's listener, which keeps their L1s coherent — handy in tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from datetime import timedelta
from typing import Any

import anyio

from .. import wire
from .._clock import monotonic
from .._wake import Waiter
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
        self._epochs: dict[_Slot, int] = {}  # bumped by invalidate_all: every version changes
        self._versions: dict[_Slot, dict[str, int]] = {}  # bumped by invalidate, delete_where
        self._leases: dict[tuple[_Slot, str], tuple[str, float]] = {}  # -> (token, deadline)
        self._lease_waiters: dict[tuple[_Slot, str], list[Callable[[], None]]] = {}

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
        with self._lock:
            data = self._read(self._slot(keyspace), wire.id_token(id))
        return None if data is None else wire.loads(keyspace.resolve_model(), data)

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
            self._bump(slot, token)
        self._publish(slot, InvalidateId(id), keyspace.origin)

    def invalidate_all_sync(self, keyspace: Keyspace) -> None:
        """Remove every value of the keyspace and notify its subscribers."""
        slot = self._slot(keyspace)
        with self._lock:
            self._data.pop(slot, None)
            self._epochs[slot] = self._epochs.get(slot, 0) + 1
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

    # --- versions (SupportsVersions) ------------------------------------------------------------

    def _bump(self, slot: _Slot, token: str) -> None:
        versions = self._versions.setdefault(slot, {})
        versions[token] = versions.get(token, 0) + 1

    def _version(self, slot: _Slot, token: str) -> Hashable:
        return (self._epochs.get(slot, 0), self._versions.get(slot, {}).get(token, 0))

    def _read(self, slot: _Slot, token: str) -> bytes | None:
        """The live bytes under ``token`` (caller holds the lock); expired ones are dropped."""
        found = self._data.get(slot, {}).get(token)
        if found is None:
            return None
        data, deadline = found
        if deadline is not None and deadline <= self._clock():
            del self._data[slot][token]
            return None
        return data

    def get_versioned_sync(
        self, keyspace: Keyspace, ids: list[Any]
    ) -> list[tuple[Any | None, Hashable]]:
        """``[(value or None, version)]`` for ``ids``, read atomically."""
        slot = self._slot(keyspace)
        tokens = [wire.id_token(i) for i in ids]
        with self._lock:
            raw = [(self._read(slot, t), self._version(slot, t)) for t in tokens]
        model = keyspace.resolve_model()
        return [(None if data is None else wire.loads(model, data), v) for data, v in raw]

    async def get_versioned(
        self, keyspace: Keyspace, ids: list[Any]
    ) -> list[tuple[Any | None, Hashable]]:
        """Async twin of :meth:`get_versioned_sync`."""
        return self.get_versioned_sync(keyspace, ids)

    def put_if_versions_sync(
        self,
        keyspace: Keyspace,
        items: list[tuple[Any, Any, Hashable]],
        ttl: float | timedelta | None,
    ) -> list[bool]:
        """Store each ``(id, value, version)`` whose id still has ``version``."""
        for _, value, _ in items:
            check_value(keyspace, value)
        seconds = ttl_seconds(ttl)
        encoded = [(wire.id_token(i), wire.dumps(v), version) for i, v, version in items]
        slot = self._slot(keyspace)
        written: list[bool] = []
        with self._lock:
            space = self._data.setdefault(slot, {})
            deadline = None if seconds is None else self._clock() + seconds
            for token, data, version in encoded:
                ok = self._version(slot, token) == version
                if ok and (seconds is None or seconds > 0):
                    space[token] = (data, deadline)
                written.append(ok)
        return written

    async def put_if_versions(
        self,
        keyspace: Keyspace,
        items: list[tuple[Any, Any, Hashable]],
        ttl: float | timedelta | None,
    ) -> list[bool]:
        """Async twin of :meth:`put_if_versions_sync`."""
        return self.put_if_versions_sync(keyspace, items, ttl)

    # --- batches (SupportsBatch) ---------------------------------------------------------------

    def get_many_sync(self, keyspace: Keyspace, ids: list[Any]) -> list[Any | None]:
        """The values of ``ids`` (``None`` where absent), in order."""
        return [value for value, _ in self.get_versioned_sync(keyspace, ids)]

    async def get_many(self, keyspace: Keyspace, ids: list[Any]) -> list[Any | None]:
        """Async twin of :meth:`get_many_sync`."""
        return self.get_many_sync(keyspace, ids)

    def put_many_sync(
        self, keyspace: Keyspace, items: list[tuple[Any, Any]], ttl: float | timedelta | None
    ) -> None:
        """Store every ``(id, value)``."""
        for id, value in items:
            self.put_sync(keyspace, id, value, ttl)

    async def put_many(
        self, keyspace: Keyspace, items: list[tuple[Any, Any]], ttl: float | timedelta | None
    ) -> None:
        """Async twin of :meth:`put_many_sync`."""
        self.put_many_sync(keyspace, items, ttl)

    # --- leases (SupportsLeases) ---------------------------------------------------------------

    def acquire_lease_sync(self, keyspace: Keyspace, id: Any, token: str, ttl: float) -> bool:
        """Take the lease of ``id`` for ``ttl`` seconds (backend clock) unless it is held."""
        key = (self._slot(keyspace), wire.id_token(id))
        with self._lock:
            held = self._leases.get(key)
            if held is not None and held[1] > self._clock():
                return False
            self._leases[key] = (token, self._clock() + ttl)
            return True

    async def acquire_lease(self, keyspace: Keyspace, id: Any, token: str, ttl: float) -> bool:
        """Async twin of :meth:`acquire_lease_sync`."""
        return self.acquire_lease_sync(keyspace, id, token, ttl)

    def release_lease_sync(self, keyspace: Keyspace, id: Any, token: str) -> bool:
        """Give the lease back if ``token`` holds it; wakes everyone waiting for it."""
        key = (self._slot(keyspace), wire.id_token(id))
        with self._lock:
            held = self._leases.get(key)
            if held is None or held[0] != token:
                return False
            del self._leases[key]
            wakers = self._lease_waiters.pop(key, [])
        for wake in wakers:
            wake()
        return True

    async def release_lease(self, keyspace: Keyspace, id: Any, token: str) -> bool:
        """Async twin of :meth:`release_lease_sync`."""
        return self.release_lease_sync(keyspace, id, token)

    def _lease_free(self, key: tuple[_Slot, str], wake: Callable[[], None]) -> bool:
        """Whether the lease is free now; else register ``wake`` (caller holds the lock)."""
        held = self._leases.get(key)
        if held is None or held[1] <= self._clock():
            return True
        self._lease_waiters.setdefault(key, []).append(wake)
        return False

    def wait_lease_sync(self, keyspace: Keyspace, id: Any, max_wait: float) -> None:
        """Block until the lease of ``id`` is released or free, or ``max_wait`` seconds pass."""
        key = (self._slot(keyspace), wire.id_token(id))
        event = threading.Event()
        with self._lock:
            if self._lease_free(key, event.set):
                return
        event.wait(max_wait)

    async def wait_lease(self, keyspace: Keyspace, id: Any, max_wait: float) -> None:
        """Async twin of :meth:`wait_lease_sync` (woken from any thread)."""
        key = (self._slot(keyspace), wire.id_token(id))
        waiter = Waiter()
        with self._lock:
            if self._lease_free(key, waiter.wake):
                return
        with anyio.move_on_after(max_wait):
            await waiter.event.wait()

    # --- delete by test (SupportsDeleteWhere) --------------------------------------------------

    def delete_where_sync(
        self, keyspace: Keyspace, test: Callable[[Any], bool], batch: int = 500
    ) -> int:
        """Delete every live entry whose decoded value passes ``test`` (a raising test or an
        undecodable entry is no match), ``batch`` entries at a time."""
        slot = self._slot(keyspace)
        model = keyspace.resolve_model()
        with self._lock:
            tokens = list(self._data.get(slot, {}))
        deleted = 0
        for start in range(0, len(tokens), max(1, batch)):
            with self._lock:
                chunk = [(t, self._read(slot, t)) for t in tokens[start : start + batch]]
            doomed = [t for t, data in chunk if data is not None and _passes(test, model, data)]
            with self._lock:
                space = self._data.get(slot, {})
                for token in doomed:
                    if space.pop(token, None) is not None:
                        deleted += 1
                    self._bump(slot, token)
        return deleted

    async def delete_where(
        self, keyspace: Keyspace, test: Callable[[Any], bool], batch: int = 500
    ) -> int:
        """Async twin of :meth:`delete_where_sync`."""
        return self.delete_where_sync(keyspace, test, batch)

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


def _passes(test: Callable[[Any], bool], model: type, data: bytes) -> bool:
    try:
        return bool(test(wire.loads(model, data)))
    except Exception:
        return False

"""Optional backend capabilities (SPEC 11.2): what a fleet of pools needs beyond section 6.

A backend that implements only :class:`~sassi.backends.Backend` works with every pool feature,
through per-id calls, per-process single-flight and in-process stale-write protection. Each
protocol here is opt-in; the pool checks ``isinstance(backend, SupportsX)`` once, and the
conformance suite (:mod:`sassi.testing`) tests every capability a backend declares.

``SupportsVersions``
    Every id has an opaque *version* that changes whenever its entry is invalidated (by
    ``invalidate``, ``invalidate_all``, ``delete_where``, a lease-less overwrite does not count).
    ``get_versioned`` reads values with their versions in one round trip;
    ``put_if_versions`` writes each value only if its id's version is still the one read, in one
    atomic step per id. A fetch's write-back uses them: an invalidation anywhere during the
    fetch wins over the fetched value (no stale write-back across processes).
``SupportsBatch``
    ``get_many`` / ``put_many``: many ids in one round trip (``*_many`` fetch helpers).
``SupportsLeases``
    A lease per id: ``acquire_lease(id, token, ttl)`` succeeds for one holder at a time (until
    it is released with the same token or ``ttl`` passes); ``wait_lease(id, max_wait)`` returns
    when the lease is released (or a value lands) or ``max_wait`` seconds pass — notified, not polled,
    where the backend can (a spurious early return is allowed: callers re-check).
``SupportsDeleteWhere``
    ``delete_where(test, batch)``: delete every entry whose decoded value passes ``test``,
    reading values in batches of at most ``batch`` (never SCAN-ing the whole database at once),
    changing the deleted ids' versions; returns how many were deleted.

Every method has an async form and a ``_sync`` twin, as in section 6.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

from ._protocol import Keyspace

__all__ = [
    "SupportsBatch",
    "SupportsDeleteWhere",
    "SupportsLeases",
    "SupportsVersions",
    "Ttl",
]

Ttl = float | timedelta | None


@runtime_checkable
class SupportsVersions(Protocol):
    """Versioned reads and compare-and-set writes (see the module docstring)."""

    async def get_versioned(
        self, keyspace: Keyspace, ids: list[Any]
    ) -> list[tuple[Any | None, Hashable]]:
        """``[(value or None, version)]`` for ``ids``, in order, in one round trip."""

    def get_versioned_sync(
        self, keyspace: Keyspace, ids: list[Any]
    ) -> list[tuple[Any | None, Hashable]]:
        """Sync twin of :meth:`get_versioned`."""

    async def put_if_versions(
        self, keyspace: Keyspace, items: list[tuple[Any, Any, Hashable]], ttl: Ttl
    ) -> list[bool]:
        """Write each ``(id, value, version)`` whose id still has ``version``; which were."""

    def put_if_versions_sync(
        self, keyspace: Keyspace, items: list[tuple[Any, Any, Hashable]], ttl: Ttl
    ) -> list[bool]:
        """Sync twin of :meth:`put_if_versions`."""


@runtime_checkable
class SupportsBatch(Protocol):
    """Batched reads and writes (see the module docstring)."""

    async def get_many(self, keyspace: Keyspace, ids: list[Any]) -> list[Any | None]:
        """The values of ``ids`` (``None`` where absent), in order, in one round trip."""

    def get_many_sync(self, keyspace: Keyspace, ids: list[Any]) -> list[Any | None]:
        """Sync twin of :meth:`get_many`."""

    async def put_many(self, keyspace: Keyspace, items: list[tuple[Any, Any]], ttl: Ttl) -> None:
        """Store every ``(id, value)`` in one round trip."""

    def put_many_sync(self, keyspace: Keyspace, items: list[tuple[Any, Any]], ttl: Ttl) -> None:
        """Sync twin of :meth:`put_many`."""


@runtime_checkable
class SupportsLeases(Protocol):
    """Per-id fetch leases shared by every process on the backend (module docstring)."""

    async def acquire_lease(self, keyspace: Keyspace, id: Any, token: str, ttl: float) -> bool:
        """Take the lease of ``id`` for ``ttl`` seconds unless someone holds it."""

    def acquire_lease_sync(self, keyspace: Keyspace, id: Any, token: str, ttl: float) -> bool:
        """Sync twin of :meth:`acquire_lease`."""

    async def release_lease(self, keyspace: Keyspace, id: Any, token: str) -> bool:
        """Give the lease back if ``token`` still holds it (and wake its waiters)."""

    def release_lease_sync(self, keyspace: Keyspace, id: Any, token: str) -> bool:
        """Sync twin of :meth:`release_lease`."""

    async def wait_lease(self, keyspace: Keyspace, id: Any, max_wait: float) -> None:
        """Return once the lease of ``id`` is released (or free) or ``max_wait`` seconds passed."""

    def wait_lease_sync(self, keyspace: Keyspace, id: Any, max_wait: float) -> None:
        """Sync twin of :meth:`wait_lease`."""


@runtime_checkable
class SupportsDeleteWhere(Protocol):
    """Deleting by a test over decoded values (module docstring)."""

    async def delete_where(
        self, keyspace: Keyspace, test: Callable[[Any], bool], batch: int = 500
    ) -> int:
        """Delete every entry whose value passes ``test``; how many were deleted."""

    def delete_where_sync(
        self, keyspace: Keyspace, test: Callable[[Any], bool], batch: int = 500
    ) -> int:
        """Sync twin of :meth:`delete_where`."""

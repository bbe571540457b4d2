"""What fetching needs from L2 in a fleet of processes (SPEC 11.2), as sans-I/O operations.

A fetch reads L2 before calling its fetcher, writes what it fetched back to L2, and — on a
backend with leases — lets one process in the fleet fetch a cold id while the others wait for
the value to land. Each step uses the richest capability the backend declares
(:mod:`sassi.backends._capabilities`) and falls back to the section 6 calls:

- reads: ``get_versioned`` (values and versions in one round trip), else ``get_many``, else
  one ``get`` per id;
- write-back: ``put_if_versions`` against the versions read before the fetch (an invalidation
  anywhere in the fleet during the fetch wins), else ``put_many``, else ``put``;
- leases: ``acquire_lease`` / ``wait_lease`` / ``release_lease``; without them, single-flight
  is per process.

Failures follow the pool's ``backend_failure``: under ``L1_ONLY`` / retry a failed read is a
miss, a failed write-back is logged and L1 is still filled, a failed lease call means fetching
without one (availability first); under ``ERROR`` reads and write-backs raise.
"""

from __future__ import annotations

import secrets
from collections.abc import Hashable
from typing import Any

from .._config import CacheTier
from .._core import DEFAULT_TTL
from .._effects import Call, Op, Shielded
from ..backends._capabilities import (
    SupportsBatch,
    SupportsDeleteWhere,
    SupportsLeases,
    SupportsVersions,
)
from ..exceptions import BackendError
from ._ops import Tiering
from ._policy import BackendIdentityMismatch

__all__ = ["NO_LEASE", "Fleet"]

NO_LEASE = ""
"""The token of a fetch that goes ahead without a lease (the backend failed to grant one)."""

Row = tuple[Any | None, Hashable | None]


class Fleet:
    """L2 reads, write-backs and leases for one pool's fetches.

    :param tier: the pool's tier.
    :param lease_seconds: the pool's ``fetch_lease`` (``None``: no cross-process leases).
    """

    def __init__(self, tier: Tiering, lease_seconds: float | None) -> None:
        backend = tier.backend
        self.tier = tier
        self.versions = isinstance(backend, SupportsVersions)
        self.batch = isinstance(backend, SupportsBatch)
        self.deletes = isinstance(backend, SupportsDeleteWhere)
        self.lease_seconds = lease_seconds if isinstance(backend, SupportsLeases) else None

    @property
    def leases(self) -> bool:
        """Whether fetches take cross-process leases."""
        return self.lease_seconds is not None

    # --- reads ---------------------------------------------------------------------------------

    def read(self, keys: list[Hashable], *, versioned: bool = True) -> Op[list[Row]]:
        """``[(value or None, version or None)]`` for ``keys``: suppressed ids, failed reads
        (best-effort policies) and bad values are misses. ``versioned=False`` reads values
        only (a plain, cheaper read: the hit path)."""
        tier = self.tier
        rows: list[Row] = [(None, None)] * len(keys)
        wanted = [i for i, key in enumerate(keys) if not tier.suppressed(key)]
        if not wanted:
            return rows
        ids = [keys[i] for i in wanted]
        try:
            if self.versions and versioned:
                got: list[Row] = yield from tier._backend("get", "get_versioned", ids)
            elif self.batch and len(ids) > 1:
                values = yield from tier._backend("get", "get_many", ids)
                got = [(value, None) for value in values]
            else:
                got = []
                for key in ids:
                    got.append(((yield from tier._backend("get", "get", key)), None))
        except BackendError as exc:
            tier.policy.failed("get", ids if len(ids) > 1 else ids[0], exc)
            if tier.strict:
                raise
            return rows
        core = tier.core
        for i, key, (raw, version) in zip(wanted, ids, got, strict=True):
            value = None
            if raw is not None:
                try:
                    value = tier._decoded(raw)
                    tier._check_identity(key, value)
                except BackendIdentityMismatch:  # already logged and counted: a miss
                    value = None
                except BackendError as exc:  # undecodable bytes: a miss
                    tier.policy.failed("get", key, exc)
                    value = None
                else:
                    if core.metrics_on:
                        core.metrics.hit(CacheTier.L2)
            rows[i] = (value, version)
        return rows

    # --- write-back ----------------------------------------------------------------------------

    def write(
        self, values: dict[Hashable, Any], versions: dict[Hashable, Hashable | None]
    ) -> Op[set[Hashable]]:
        """Write fetched values to L2; returns the ids whose write-back an invalidation beat
        (they must not reach L1 either)."""
        tier = self.tier
        ttl = tier._ttl(DEFAULT_TTL)
        keys = list(values)
        try:
            if self.versions and all(versions.get(k) is not None for k in keys):
                items = [(k, values[k], versions[k]) for k in keys]
                written = yield from tier._backend("put", "put_if_versions", items, ttl)
                return {k for k, ok in zip(keys, written, strict=True) if not ok}
            if self.batch and len(keys) > 1:
                yield from tier._backend("put", "put_many", [(k, values[k]) for k in keys], ttl)
            else:
                for key in keys:
                    yield from tier._backend("put", "put", key, values[key], ttl)
        except BackendError as exc:
            tier.policy.failed("put", keys if len(keys) > 1 else keys[0], exc)
            if tier.strict:
                raise
        return set()

    # --- leases --------------------------------------------------------------------------------

    def acquire(self, key: Hashable) -> Op[str | None]:
        """The lease of ``key``: a token, ``None`` while another process holds it, or
        :data:`NO_LEASE` when the backend could not say (fetch anyway)."""
        assert self.lease_seconds is not None
        token = secrets.token_hex(8)
        try:
            held = yield from self.tier._backend(
                "lease", "acquire_lease", key, token, self.lease_seconds
            )
        except BackendError as exc:
            self.tier.policy.failed("lease", key, exc)
            return NO_LEASE
        return token if held else None

    def release(self, key: Hashable, token: str) -> Op[None]:
        """Give the lease back (even while the fetch is being cancelled); never raises."""
        if token == NO_LEASE:
            return
        tier = self.tier
        backend = tier.backend
        try:
            yield Shielded(
                Call(backend.release_lease_sync, backend.release_lease, tier.keyspace, key, token)
            )
        except Exception as exc:
            tier.policy.failed("lease release", key, exc)

    def wait(self, key: Hashable, max_wait: float) -> Op[None]:
        """Wait for the holder of ``key``'s lease to release it (or ``max_wait`` seconds)."""
        tier = self.tier
        try:
            yield from tier._backend("lease wait", "wait_lease", key, max_wait)
        except BackendError as exc:
            tier.policy.failed("lease wait", key, exc)
            yield Call(tier.policy.sleep_sync, tier.policy.sleep, min(0.05, max_wait))

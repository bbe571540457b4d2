"""The L1/L2 operations of one pool, each written once as a sans-I/O operation.

Failure policies (``backend_failure=``):

- ``L1_ONLY``: L1 first, then the backend; a backend failure is logged, counted
  (``record_backend_error``) and otherwise ignored.
- ``retry(n)``: like ``L1_ONLY`` but :class:`~sassi.BackendUnavailable` is retried up to ``n``
  attempts in total, sleeping 25 ms * 2**(k-2) (capped at 1 s, plus 0-25 % jitter) before
  attempt ``k``; other errors are not retried.
- ``ERROR``: a per-id *reservation* serialises same-id strict writers; the backend is written
  **first** and a failure raises :class:`~sassi.BackendError` with L1 untouched. While an id is
  reserved, ``apply_delta`` skips it (``backend_reserved_skips``) and ``restore`` raises
  :class:`~sassi.BackendWriteInFlight`.

Read suppression: when a best-effort invalidate (``L1_ONLY`` / retry) fails at the backend, the
id is *suppressed*: ``load`` returns ``None`` for it without reading L2 (which may still hold the
stale value) until a later successful local write or invalidate of that id. Backend messages
never clear it. A ``load`` whose id is invalidated or written while its L2 read is in flight
returns the value it read but does not cache it (no stale write-back: the read registers in the
core's fetch generations like any fetch).

Each public operation here is a generator (:mod:`sassi._effects`); the pool drives it with
``drive_sync`` in its sync methods and ``drive_async`` in its async twins.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Callable, Hashable
from typing import Any

from .. import wire
from .._config import CacheTier, EventReason, OnConflict
from .._core import Conflict, PoolCore
from .._effects import Call, Op
from .._reservations import Reservations
from ..backends._capabilities import SupportsDeleteWhere
from ..backends._protocol import Invalidation, Keyspace
from ..exceptions import BackendError, BackendTimeout, ConflictError
from ._policy import BackendIdentityMismatch, Policy, as_backend_error

__all__ = ["Tiering"]


class _Aborted(Exception):
    """Raised inside a commit precheck to drop a cache fill (nothing was changed)."""


class Tiering:
    """The L2 side of one pool (see the module docstring).

    :param core: the pool core; its ``config.backend`` must not be ``None``.
    """

    def __init__(self, core: PoolCore[Any]) -> None:
        config = core.config
        self.core = core
        self.backend: Any = config.backend
        # a unique origin: backends do not echo this pool's own messages back to its listener
        self.keyspace = Keyspace.for_model(
            core.model, config.namespace, origin=secrets.token_hex(8)
        )
        failure = config.backend_failure
        self.policy = Policy(failure.mode, failure.attempts, core.type_name, core.backend_error)
        self.strict = self.policy.strict
        self.reservations = Reservations()
        self._lock = threading.Lock()
        self._suppressed: set[Hashable] = set()
        bind_clock = getattr(self.backend, "bind_clock", None)
        if callable(bind_clock):  # MemoryBackend without its own clock follows the pool's
            bind_clock(core.clock)
        if self.strict:
            core.reservations = self.reservations

    # --- bookkeeping -------------------------------------------------------------------------

    def suppressed(self, key: Hashable) -> bool:
        """Whether L2 reads of ``key`` are suppressed after a failed invalidate."""
        with self._lock:
            return key in self._suppressed

    def _suppress(self, key: Hashable, on: bool) -> None:
        with self._lock:
            if on:
                self._suppressed.add(key)
            else:
                self._suppressed.discard(key)

    def _ttl(self, ttl: Any) -> float | None:
        """The backend ttl for a pool-level ttl (``DEFAULT_TTL`` sentinel, seconds or None),
        scaled by the pool's ``ttl_jitter`` like L1 deadlines (its own draw)."""
        core = self.core
        seconds = ttl if isinstance(ttl, int | float) else core.config.ttl
        if seconds is None or math.isinf(seconds):
            return None
        jitter = core.config.ttl_jitter
        return float(seconds) * (1.0 - jitter * core.rng.random()) if jitter else float(seconds)

    def _backend(self, op: str, name: str, *args: Any) -> Op[Any]:
        """``backend.<name>_sync`` / ``backend.<name>`` on this keyspace, under the policy."""
        backend = self.backend
        return self.policy.backend_call(
            op, getattr(backend, f"{name}_sync"), getattr(backend, name), self.keyspace, *args
        )

    def _reserve(self, key: Hashable) -> Call:
        reservations = self.reservations
        return Call(reservations.acquire_sync, reservations.acquire, key)

    # --- insert ------------------------------------------------------------------------------

    def insert(self, key: Hashable, value: Any, ttl: Any) -> Op[None]:
        """Write-through insert; ``ttl`` as ``core.commit`` takes it."""
        backend_ttl = self._ttl(ttl)
        if not self.strict:
            self._commit_insert(key, value, ttl)
            try:
                yield from self._backend("put", "put", key, value, backend_ttl)
            except BackendError as exc:
                self.policy.failed("put", key, exc)
                return
            self._suppress(key, False)
            return
        yield self._reserve(key)
        try:
            self._check_reject(key)
            yield from self._strict("put", "put", key, value, backend_ttl)
            self._suppress(key, False)
            self._commit_insert(key, value, ttl)
        finally:
            self.reservations.release(key)

    def _strict(self, op: str, name: str, key: Hashable, *args: Any) -> Op[None]:
        """A strict (``ERROR``) backend write of ``key``; L1 follows its outcome.

        A failure is raised with L1 untouched (SPEC 6), unless its outcome at the backend is
        *unknown* — a :class:`~sassi.exceptions.BackendTimeout` (no answer in time: the command
        may have run) or a cancellation while the call was out: then ``key`` is removed from L1
        and L2 reads of it are suppressed until the next successful write or invalidate
        (SPEC 11.1), so L1 never keeps a value L2 may no longer hold.
        """
        try:
            yield from self._backend(op, name, key, *args)
        except BackendTimeout as exc:
            self.policy.failed(op, key, exc)
            self._forget(key)
            raise
        except BackendError as exc:
            self.policy.failed(op, key, exc)
            raise
        except BaseException:
            self._forget(key)
            raise

    def _forget(self, key: Hashable) -> None:
        """After a strict write of unknown outcome: drop ``key`` from L1, suppress L2 reads."""
        self._suppress(key, True)
        self.core.commit(removals=(key,), reason=EventReason.BACKEND_INVALIDATION)

    def _check_reject(self, key: Hashable) -> None:
        core = self.core
        if core.config.on_conflict is OnConflict.REJECT and core.contains(key):
            raise ConflictError(
                f"{core.type_name} id {key!r} is already cached (OnConflict.REJECT)"
            )

    def _commit_insert(self, key: Hashable, value: Any, ttl: Any) -> None:
        self.core.commit(((key, value),), ttl=ttl, protect=True)

    # --- invalidate --------------------------------------------------------------------------

    def _drop_local(self, key: Hashable, reason: EventReason, *, suppressed: bool) -> bool:
        """The L1 half of an invalidate: read suppression (``True`` before a best-effort
        backend delete, ``False`` after a strict one succeeded), then the removal (which also
        makes loads and fetches of ``key`` in flight stale)."""
        self._suppress(key, suppressed)
        return self.core.commit(removals=(key,), reason=reason).removed > 0

    def invalidate(self, key: Hashable, reason: EventReason) -> Op[bool]:
        """Remove ``key`` from L1 and L2; see the module docstring for the policies."""
        if self.strict:
            yield self._reserve(key)
            try:
                yield from self._strict("invalidate", "invalidate", key)
                return self._drop_local(key, reason, suppressed=False)
            finally:
                self.reservations.release(key)
        removed = self._drop_local(key, reason, suppressed=True)
        try:
            yield from self._backend("invalidate", "invalidate", key)
        except BackendError as exc:
            self.policy.failed("invalidate", key, exc)
            return removed
        self._suppress(key, False)
        return removed

    # --- load --------------------------------------------------------------------------------

    def load(self, key: Hashable) -> Op[Any | None]:
        """L1, then L2 (unless suppressed), then fill L1."""
        core = self.core
        found = core.get(key)
        if found is not None or self.suppressed(key):
            return found
        with core.lock:
            ticket = core.generations.begin((key,))
        try:
            try:
                raw = yield from self._backend("get", "get", key)
                value = self._decoded(raw)
            except BackendError as exc:
                self.policy.failed("get", key, exc)
                if self.strict:
                    raise
                return None
            if value is None:
                return None
            self._check_identity(key, value)
            if core.metrics_on:
                core.metrics.hit(CacheTier.L2)

            def unchanged(now: float) -> None:
                if core.generations.stale(ticket, {key: value}) or self.suppressed(key):
                    raise _Aborted
                if self.strict and self.reservations.count([key]):
                    raise _Aborted

            try:
                result = core.commit(
                    ((key, value),), conflict=Conflict.KEEP, protect=True, precheck=unchanged
                )
            except _Aborted:
                return value
            return result.stored.get(key, value)
        finally:
            with core.lock:
                core.generations.end(ticket)

    def _decoded(self, value: Any) -> Any:
        """A backend may hand back wire bytes instead of a value: decode them."""
        if isinstance(value, bytes | bytearray | memoryview):
            try:
                return wire.loads(self.core.model, value)
            except Exception as exc:  # undecodable bytes are a backend fault, never retried
                raise as_backend_error("get", exc) from exc
        return value

    def _check_identity(self, key: Hashable, value: Any) -> None:
        core = self.core
        if isinstance(value, core.model) and core.id_of(value) == key:
            return
        got = core.id_of(value) if isinstance(value, core.model) else type(value).__name__
        error = BackendIdentityMismatch(
            f"backend returned {got!r} for {core.type_name} id {key!r}; not cached"
        )
        self.policy.failed("get", key, error)
        raise error

    # --- reservations seen by other features -------------------------------------------------

    def wait_unreserved(self, key: Hashable) -> Op[None]:
        """Wait until no strict write holds ``key`` (no-op when none does)."""
        if self.strict and self.reservations.count([key]):
            yield self._reserve(key)
            self.reservations.release(key)

    # --- removing many (invalidate_where, clear) ---------------------------------------------

    def delete_where(self, test: Callable[[Any], bool]) -> Op[None]:
        """Delete the L2 entries whose value passes ``test`` (backends that can; SPEC 11.3)."""
        if not isinstance(self.backend, SupportsDeleteWhere):
            return
        try:
            yield from self._backend("delete_where", "delete_where", test)
        except BackendError as exc:
            self.policy.failed("delete_where", "predicate", exc)
            if self.strict:
                raise

    def clear(self) -> Op[None]:
        """Remove every L2 entry of the keyspace; the backend publishes ``InvalidateAll``."""
        try:
            yield from self._backend("invalidate_all", "invalidate_all")
        except BackendError as exc:
            self.policy.failed("invalidate_all", self.keyspace, exc)
            if self.strict:
                raise

    # --- publishing (invalidate_where) -------------------------------------------------------

    def publish(self, message: Invalidation) -> Op[None]:
        """Send ``message`` on the backend channel under the pool's failure policy.

        Backends without ``publish`` (not :class:`~sassi.backends.SupportsPublish`) are
        skipped. ``L1_ONLY``/retry log and count a failure; ``ERROR`` raises it.

        :raises BackendError: under ``BackendFailure.ERROR`` when publishing fails.
        """
        if getattr(self.backend, "publish_sync", None) is None:
            return
        try:
            yield from self._backend("publish", "publish", message)
        except BackendError as exc:
            self.policy.failed("publish", message, exc)
            if self.strict:
                raise

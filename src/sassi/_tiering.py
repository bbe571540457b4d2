"""L1 <-> L2: write-through, read-through, failure policies, the invalidation listener, snapshots.

A pool built with ``backend=`` owns one :class:`Tiering`; the pool's ``insert`` / ``ainsert`` /
``invalidate`` / ``ainvalidate`` / ``load`` / ``aload`` call into it. Nothing else in the pool
touches L2 (``get``, scopes, fetches, deltas, refresh and restore are L1 only).

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
returns the value it read but does not cache it (no stale write-back).

The listener (inside ``async with pool.background()``) applies backend messages:
``InvalidateId`` / ``InvalidateAll`` / ``InvalidateWhere`` remove L1 entries with
``EventReason.BACKEND_INVALIDATION`` (``InvalidateAll`` first waits for strict reservations to
drain). If the stream fails it is reopened with a capped backoff; if it ends, the listener ends.

Snapshots (no backend needed) live in :mod:`sassi._snapshot` and the per-id reservations in
:mod:`sassi._reservations`; both are re-exported here for existing importers.

Internal API for other modules
==============================

``pool._tier`` is ``None`` without a backend, else a :class:`Tiering` with:

``keyspace`` / ``backend``
    What the pool passes to the backend (the keyspace carries a unique ``origin``, so the
    backend never echoes this pool's own messages back to its listener).
``insert`` / ``ainsert`` / ``invalidate`` / ``ainvalidate`` / ``load`` / ``aload``
    Called by the pool's methods of the same names.
``publish(message)`` / ``await apublish(message)``
    Send an invalidation message (e.g. ``InvalidateWhere``) under the failure policy.
``reserved_count(ids)``, ``wait_unreserved_sync(id)`` / ``await wait_unreserved(id)``
    Strict-write reservations: fetch inserts wait for them; ``apply_delta`` counts them
    (``pool._reserved``).
``_touch_all()``
    Mark every in-flight ``load`` stale (call while removing entries outside this module).
``await wait_listening()``
    Returns once the listener inside ``pool.background()`` is subscribed (tests, startup).
"""

from __future__ import annotations

import logging
import math
import random
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from . import wire
from ._config import CacheTier, EventReason, OnConflict
from ._reservations import _Reservations as _Reservations
from ._snapshot import RestoreStats as RestoreStats
from ._snapshot import export_entries as export_entries
from ._snapshot import restore as restore
from ._snapshot import restore_entries as restore_entries
from ._snapshot import snapshot as snapshot
from ._store import VALUE
from .backends._protocol import (
    InvalidateAll,
    InvalidateId,
    InvalidateWhere,
    Invalidation,
    Keyspace,
)
from .exceptions import (
    BackendError,
    BackendUnavailable,
    ConflictError,
    IdentityMismatchError,
)

if TYPE_CHECKING:
    from ._punnu import Punnu

__all__ = [
    "BackendIdentityMismatch",
    "RestoreStats",
    "Tiering",
    "export_entries",
    "restore",
    "restore_entries",
    "snapshot",
]

log = logging.getLogger("sassi.tiering")
R = TypeVar("R")


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to sleep before ``attempt`` (1-based): 0, 25 ms, 50 ms, ... capped at 1 s, + jitter.

    :param attempt: the attempt about to run (1 never sleeps).
    :param rng: jitter source (``None``: no jitter).
    """
    if attempt <= 1:
        return 0.0
    base: float = min(0.025 * 2.0 ** (attempt - 2), 1.0)
    return base + (base * 0.25 * rng.random() if rng is not None else 0.0)


class BackendIdentityMismatch(IdentityMismatchError, BackendError):
    """The backend holds a value under another id: an identity mismatch *and* a backend fault,
    so ``except IdentityMismatchError`` and ``except BackendError`` both catch it."""


class _Aborted(Exception):
    """Raised inside a commit precheck to drop a cache fill (nothing was changed)."""


class Tiering:
    """The L2 side of one pool (see the module docstring).

    :param pool: the pool; its ``config.backend`` must not be ``None``.
    """

    def __init__(self, pool: Punnu[Any]) -> None:
        config = pool.config
        self.pool = pool
        self.backend: Any = config.backend
        # a unique origin: backends do not echo this pool's own messages back to its listener
        self.keyspace = Keyspace.for_model(
            pool.model, config.namespace, origin=secrets.token_hex(8)
        )
        self.mode = config.backend_failure.mode
        self.attempts = config.backend_failure.attempts if self.mode == "retry" else 1
        self.reservations = _Reservations()
        self._lock = threading.Lock()
        self._suppressed: set[Hashable] = set()
        self._loading: dict[Hashable, int] = {}
        self._dirty: set[Hashable] = set()
        self._rng = random.Random()
        self._ready: anyio.Event | None = None
        self._attempted: anyio.Event | None = None
        self.sleep_sync: Callable[[float], None] = time.sleep
        self.sleep: Callable[[float], Awaitable[None]] = anyio.sleep

    @property
    def strict(self) -> bool:
        return self.mode == "error"

    # --- bookkeeping ---------------------------------------------------------------------------

    def suppressed(self, key: Hashable) -> bool:
        """Whether L2 reads of ``key`` are suppressed after a failed invalidate."""
        with self._lock:
            return key in self._suppressed

    def _touch(self, key: Hashable) -> None:
        """A local write/invalidate or a backend message hit ``key``: in-flight loads go stale."""
        with self._lock:
            if key in self._loading:
                self._dirty.add(key)

    def _touch_all(self) -> None:
        with self._lock:
            self._dirty.update(self._loading)

    def _suppress(self, key: Hashable, on: bool) -> None:
        with self._lock:
            if on:
                self._suppressed.add(key)
            else:
                self._suppressed.discard(key)

    def _failed(self, op: str, key: object, exc: BaseException) -> None:
        log.warning("sassi %s backend %s of %r failed: %s", self.pool.type_name, op, key, exc)
        self.pool._metrics.backend_error(exc)

    @staticmethod
    def _as_backend_error(op: str, exc: Exception) -> BackendError:
        """Any backend failure as a :class:`BackendError`; builtin connection/timeout/OS errors
        of third-party backends count as transient (:class:`BackendUnavailable`)."""
        if isinstance(exc, BackendError):
            return exc
        kind = BackendUnavailable if isinstance(exc, OSError) else BackendError
        error = kind(f"backend {op} failed: {exc!r}")
        error.__cause__ = exc
        return error

    def _ttl(self, ttl: Any) -> float | None:
        """The backend ttl for a pool-level ttl (``DEFAULT_TTL`` sentinel, seconds or None)."""
        seconds = ttl if isinstance(ttl, int | float) else self.pool.config.ttl
        return None if seconds is None or math.isinf(seconds) else float(seconds)

    # --- retrying calls --------------------------------------------------------------------------

    def _call_sync(self, op: str, fn: Callable[..., R], *args: Any) -> R:
        """Run ``fn``; retry transient failures per policy; raise a ``BackendError``."""
        for attempt in range(1, self.attempts + 1):
            try:
                return fn(*args)
            except Exception as exc:
                error = self._as_backend_error(op, exc)
                if not isinstance(error, BackendUnavailable) or attempt == self.attempts:
                    if error is exc:
                        raise
                    raise error from exc
            self.sleep_sync(backoff_delay(attempt + 1, self._rng))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _call(self, op: str, fn: Callable[..., Awaitable[R]], *args: Any) -> R:
        """Async twin of :meth:`_call_sync`."""
        for attempt in range(1, self.attempts + 1):
            try:
                return await fn(*args)
            except Exception as exc:
                error = self._as_backend_error(op, exc)
                if not isinstance(error, BackendUnavailable) or attempt == self.attempts:
                    if error is exc:
                        raise
                    raise error from exc
            await self.sleep(backoff_delay(attempt + 1, self._rng))
        raise AssertionError("unreachable")  # pragma: no cover

    # --- insert --------------------------------------------------------------------------------

    def _check_reject(self, key: Hashable) -> None:
        if self.pool.config.on_conflict is OnConflict.REJECT and key in self.pool:
            raise ConflictError(
                f"{self.pool.type_name} id {key!r} is already cached (OnConflict.REJECT)"
            )

    def insert(self, key: Hashable, value: Any, ttl: Any) -> None:
        """Write-through insert (sync); ``ttl`` as ``pool._commit`` takes it."""
        backend_ttl = self._ttl(ttl)
        if not self.strict:
            self._touch(key)
            self._commit_insert(key, value, ttl)
            try:
                self._call_sync(
                    "put", self.backend.put_sync, self.keyspace, key, value, backend_ttl
                )
            except BackendError as exc:
                self._failed("put", key, exc)
                return
            self._suppress(key, False)
            return
        self.reservations.acquire_sync(key)
        try:
            self._check_reject(key)
            try:
                self._call_sync(
                    "put", self.backend.put_sync, self.keyspace, key, value, backend_ttl
                )
            except BackendError as exc:
                self._failed("put", key, exc)
                raise
            self._touch(key)
            self._suppress(key, False)
            self._commit_insert(key, value, ttl)
        finally:
            self.reservations.release(key)

    async def ainsert(self, key: Hashable, value: Any, ttl: Any) -> None:
        """Write-through insert (async twin of :meth:`insert`)."""
        backend_ttl = self._ttl(ttl)
        if not self.strict:
            self._touch(key)
            self._commit_insert(key, value, ttl)
            try:
                await self._call("put", self.backend.put, self.keyspace, key, value, backend_ttl)
            except BackendError as exc:
                self._failed("put", key, exc)
                return
            self._suppress(key, False)
            return
        await self.reservations.acquire(key)
        try:
            self._check_reject(key)
            try:
                await self._call("put", self.backend.put, self.keyspace, key, value, backend_ttl)
            except BackendError as exc:
                self._failed("put", key, exc)
                raise
            self._touch(key)
            self._suppress(key, False)
            self._commit_insert(key, value, ttl)
        finally:
            self.reservations.release(key)

    def _commit_insert(self, key: Hashable, value: Any, ttl: Any) -> None:
        self.pool._commit(((key, value),), ttl=ttl, protect=True)

    # --- invalidate ----------------------------------------------------------------------------

    def _remove(self, key: Hashable, reason: EventReason) -> bool:
        return self.pool._commit(removals=(key,), reason=reason).removed > 0

    def _drop_local(self, key: Hashable, reason: EventReason, *, suppressed: bool) -> bool:
        """The L1 half of an invalidate, shared by the sync and async twins.

        Marks in-flight loads of ``key`` stale, sets its read suppression (``True`` before a
        best-effort backend delete, ``False`` after a strict one succeeded) and removes it.
        """
        self._suppress(key, suppressed)
        self._touch(key)
        return self._remove(key, reason)

    def invalidate(self, key: Hashable, reason: EventReason) -> bool:
        """Remove ``key`` from L1 and L2 (sync); see the module docstring for the policies."""
        if self.strict:
            self.reservations.acquire_sync(key)
            try:
                try:
                    self._call_sync("invalidate", self.backend.invalidate_sync, self.keyspace, key)
                except BackendError as exc:
                    self._failed("invalidate", key, exc)
                    raise
                return self._drop_local(key, reason, suppressed=False)
            finally:
                self.reservations.release(key)
        removed = self._drop_local(key, reason, suppressed=True)
        try:
            self._call_sync("invalidate", self.backend.invalidate_sync, self.keyspace, key)
        except BackendError as exc:
            self._failed("invalidate", key, exc)
            return removed
        self._suppress(key, False)
        return removed

    async def ainvalidate(self, key: Hashable, reason: EventReason) -> bool:
        """Async twin of :meth:`invalidate`."""
        if self.strict:
            await self.reservations.acquire(key)
            try:
                try:
                    await self._call("invalidate", self.backend.invalidate, self.keyspace, key)
                except BackendError as exc:
                    self._failed("invalidate", key, exc)
                    raise
                return self._drop_local(key, reason, suppressed=False)
            finally:
                self.reservations.release(key)
        removed = self._drop_local(key, reason, suppressed=True)
        try:
            await self._call("invalidate", self.backend.invalidate, self.keyspace, key)
        except BackendError as exc:
            self._failed("invalidate", key, exc)
            return removed
        self._suppress(key, False)
        return removed

    # --- load ------------------------------------------------------------------------------------

    def _begin_load(self, key: Hashable) -> None:
        with self._lock:
            self._loading[key] = self._loading.get(key, 0) + 1

    def _end_load(self, key: Hashable) -> None:
        with self._lock:
            left = self._loading[key] - 1
            if left:
                self._loading[key] = left
            else:
                del self._loading[key]
                self._dirty.discard(key)

    def _fill(self, key: Hashable, value: Any) -> Any:
        """Validate an L2 value and cache it unless ``key`` changed meanwhile."""
        pool = self.pool
        if not isinstance(value, pool.model) or pool._id_of(value) != key:
            got = pool._id_of(value) if isinstance(value, pool.model) else type(value).__name__
            error = BackendIdentityMismatch(
                f"backend returned {got!r} for {pool.type_name} id {key!r}; not cached"
            )
            self._failed("get", key, error)
            raise error
        if pool._metrics_on:
            pool._metrics.hit(CacheTier.L2)

        def unchanged(now: float) -> None:
            with self._lock:
                if key in self._dirty or key in self._suppressed:
                    raise _Aborted
            if self.strict and self.reservations.count([key]):
                raise _Aborted

        from ._punnu import Conflict

        try:
            result = pool._commit(
                ((key, value),), conflict=Conflict.KEEP, protect=True, precheck=unchanged
            )
        except _Aborted:
            return value
        return result.stored.get(key, value)

    def _decoded(self, value: Any) -> Any:
        """A backend may hand back wire bytes instead of a value: decode them."""
        if isinstance(value, bytes | bytearray | memoryview):
            return wire.loads(self.pool.model, value)
        return value

    def _get_sync(self, key: Hashable) -> Any:
        return self._decoded(self.backend.get_sync(self.keyspace, key))

    async def _get(self, key: Hashable) -> Any:
        return self._decoded(await self.backend.get(self.keyspace, key))

    def _read_failed(self, key: Hashable, exc: BackendError) -> None:
        self._failed("get", key, exc)
        if self.strict:
            raise exc

    def load(self, key: Hashable) -> Any | None:
        """L1, then L2 (unless suppressed), then fill L1 (sync)."""
        found = self.pool.get(key)
        if found is not None or self.suppressed(key):
            return found
        self._begin_load(key)
        try:
            try:
                value = self._call_sync("get", self._get_sync, key)
            except BackendError as exc:
                self._read_failed(key, exc)
                return None
            return None if value is None else self._fill(key, value)
        finally:
            self._end_load(key)

    async def aload(self, key: Hashable) -> Any | None:
        """Async twin of :meth:`load`."""
        found = self.pool.get(key)
        if found is not None or self.suppressed(key):
            return found
        self._begin_load(key)
        try:
            try:
                value = await self._call("get", self._get, key)
            except BackendError as exc:
                self._read_failed(key, exc)
                return None
            return None if value is None else self._fill(key, value)
        finally:
            self._end_load(key)

    # --- reservations seen by the pool -------------------------------------------------------------

    def reserved_count(self, keys: list[Hashable]) -> int:
        """How many of ``keys`` a strict write holds (``pool._reserved`` for ``apply_delta``)."""
        return self.reservations.count(keys)

    def wait_unreserved_sync(self, key: Hashable) -> None:
        """Block until no strict write holds ``key`` (for fetch inserts; no-op when none does)."""
        if self.strict and self.reservations.count([key]):
            self.reservations.acquire_sync(key)
            self.reservations.release(key)

    async def wait_unreserved(self, key: Hashable) -> None:
        """Async twin of :meth:`wait_unreserved_sync`."""
        if self.strict and self.reservations.count([key]):
            await self.reservations.acquire(key)
            self.reservations.release(key)

    # --- publishing (invalidate_where) --------------------------------------------------------------

    def publish(self, message: Invalidation) -> None:
        """Send ``message`` on the backend channel under the pool's failure policy.

        Backends without ``publish_sync`` (not :class:`~sassi.backends.SupportsPublish`) are
        skipped. ``L1_ONLY``/retry log and count a failure; ``ERROR`` raises it.

        :raises BackendError: under ``BackendFailure.ERROR`` when publishing fails.
        """
        send = getattr(self.backend, "publish_sync", None)
        if send is None:
            return
        try:
            self._call_sync("publish", send, self.keyspace, message)
        except BackendError as exc:
            self._failed("publish", message, exc)
            if self.strict:
                raise

    async def apublish(self, message: Invalidation) -> None:
        """Async twin of :meth:`publish`.

        :raises BackendError: under ``BackendFailure.ERROR`` when publishing fails.
        """
        send = getattr(self.backend, "publish", None)
        if send is None:
            return
        try:
            await self._call("publish", send, self.keyspace, message)
        except BackendError as exc:
            self._failed("publish", message, exc)
            if self.strict:
                raise

    # --- the listener ------------------------------------------------------------------------------

    def _ready_event(self) -> anyio.Event:
        if self._ready is None:
            self._ready = anyio.Event()
        return self._ready

    async def wait_listening(self) -> None:
        """Return once the listener's subscription is live (for tests and orderly startup)."""
        await self._ready_event().wait()

    def _attempted_event(self) -> anyio.Event:
        if self._attempted is None:
            self._attempted = anyio.Event()
        return self._attempted

    async def wait_first_attempt(self) -> None:
        """Return once the listener has subscribed, or failed its first attempt to.

        ``pool.background()`` waits for this before running its body, so an invalidation
        published right after entering the block is not missed; a backend that is down does
        not hold the body up (the listener keeps retrying in the background).
        """
        await self._attempted_event().wait()

    async def _drain_reservations(self) -> None:
        for key in self.reservations.held():
            await self.reservations.acquire(key)
            self.reservations.release(key)

    async def apply_message(self, message: object) -> int:
        """Apply one backend message to L1; returns how many live entries it removed."""
        pool = self.pool
        reason = EventReason.BACKEND_INVALIDATION
        if isinstance(message, InvalidateId):
            self._touch(message.id)
            return pool._commit(removals=(message.id,), reason=reason).removed
        if isinstance(message, InvalidateAll):
            await self._drain_reservations()
            self._touch_all()
            return pool._commit(removals=list(pool._store.keys), reason=reason).removed
        if isinstance(message, InvalidateWhere):
            from .predicate import loads as load_predicate

            try:
                predicate = load_predicate(pool.model, message.predicate)
            except (ValueError, TypeError) as exc:
                log.warning(
                    "sassi %s: ignoring undecodable predicate message: %s", pool.type_name, exc
                )
                return 0
            test = predicate.compile()
            with pool._lock:
                matches = [
                    k
                    for k, entry in pool._store.live_items(pool._clock())
                    if _safe(test, entry[VALUE])
                ]
                self._touch_all()
                return pool._commit(removals=matches, reason=reason).removed
        log.warning("sassi %s: ignoring unknown backend message %r", pool.type_name, message)
        return 0

    async def listen(self) -> None:
        """Apply backend messages until cancelled or the stream ends (reopened on errors)."""
        delay = 0.010
        try:
            while True:
                stream: Any = None
                try:
                    stream = self.backend.invalidations(self.keyspace)
                    ready = getattr(stream, "ready", None)
                    if ready is not None:
                        await ready()
                    self._ready_event().set()
                    self._attempted_event().set()
                    async for message in stream:
                        try:
                            await self.apply_message(message)
                        except Exception as exc:  # one bad message must not stop the listener
                            self._failed("invalidation message", message, exc)
                        delay = 0.010
                    return
                except Exception as exc:
                    self._failed("invalidation stream", self.keyspace, exc)
                    self._attempted_event().set()
                finally:
                    aclose = getattr(stream, "aclose", None)
                    if aclose is not None:
                        with anyio.CancelScope(shield=True):
                            await aclose()
                await anyio.sleep(delay)
                delay = min(delay * 2, 5.0)
        finally:
            self._ready = None
            self._attempted = None


def _safe(test: Callable[[Any], bool], value: Any) -> bool:
    try:
        return bool(test(value))
    except Exception:
        return False


def attach(pool: Punnu[Any]) -> Tiering | None:
    """Create the pool's :class:`Tiering` when it has a backend and wire its hooks in.

    Sets ``pool._reserved`` (strict mode) and registers the listener in ``pool._background``.
    """
    if pool.config.backend is None:
        return None
    tier = Tiering(pool)
    bind_clock = getattr(tier.backend, "bind_clock", None)
    if callable(bind_clock):  # MemoryBackend without its own clock follows the pool's
        bind_clock(pool._clock)
    if tier.strict:
        pool._reserved = tier.reserved_count

    async def listener(owner: Punnu[Any]) -> None:
        await tier.listen()

    if callable(getattr(tier.backend, "invalidations", None)):
        pool._background.append(listener)
    return tier


def insert_serialized(pool: Punnu[Any], data: bytes) -> Any:
    """Decode a kind-1 value and insert it (nothing is inserted when decoding fails).

    :raises WireFormatError: on a bad header or body.
    """
    value = wire.loads(pool.model, data)
    return pool.insert(value)

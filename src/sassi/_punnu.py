"""``Punnu``: the typed pool, a thin facade over the core and its features.

``Punnu`` owns no logic of its own: it validates its options, builds a
:class:`~sassi._core.PoolCore` (store, write lock, commit path, events, metrics, clock, fetch
generations) and the features that stand on it — :class:`~sassi._tier.Tiering` and its
:class:`~sassi._tier.Listener` (L2), :class:`~sassi._fetch.Fetching`, scopes
(:mod:`sassi._scope`), snapshots (:mod:`sassi._snapshot`), refresh (:mod:`sassi._refresh`,
:mod:`sassi._delta_refresh`) — and forwards each public method to one of them. Sync methods
drive the tier's sans-I/O operations with :func:`~sassi._effects.drive_sync`, async ones with
:func:`~sassi._effects.drive_async`. See ``docs/architecture.md``.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import AsyncIterable, AsyncIterator, Callable, Hashable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio

from . import _delta_refresh, _refresh, _snapshot, wire
from ._config import (
    BackendFailure,
    EventReason,
    InvalidationReason,
    OnConflict,
    PunnuConfig,
    RefreshMode,
    SnapshotMode,
    make_config,
    positive_seconds,
)
from ._core import DEFAULT_TTL, CommitResult, Conflict, DefaultTTL, PoolCore
from ._core._checks import mutable_instances
from ._delta import Delta, DeltaStats, normalize_delta
from ._effects import drive_async, drive_sync
from ._events import Subscription
from ._fetch import Fetching, Loader
from ._model import model_info
from ._scope import MemQ, Scope
from ._stats import PunnuStats
from ._tier import Listener, Tiering, remove_all, remove_where
from .backends._protocol import InvalidateWhere
from .backends._url import resolve_backend
from .predicate import And, Predicate, SupportsPredicate, as_predicate
from .predicate import dumps as dumps_predicate

if TYPE_CHECKING:
    from ._delta import DeltaQuery
    from ._delta_refresh import DeltaRefreshHandle
    from ._refresh import RefreshHandle
    from ._snapshot import RestoreStats

__all__ = ["DEFAULT_TTL", "CommitResult", "Conflict", "Punnu"]

T = TypeVar("T")
log = logging.getLogger("sassi.punnu")


class Punnu(Generic[T]):
    """A typed, thread-safe, in-memory identity map of ``Model`` values keyed by their id.

    :param model: the model class (any class with an identity field; see :func:`sassi.cacheable`).
    :param capacity: the most residents kept; sampled-LRU eviction beyond it.
    :param ttl: default time-to-live (seconds or ``timedelta``), or ``None``.
    :param on_conflict: what ``insert`` does over a live value with the same id.
    :param event_capacity: buffer size of each event subscription.
    :param sweep_interval: seconds between TTL sweeps inside ``pool.background()``, or ``None``.
    :param namespace: L2 keyspace prefix (does not isolate L1).
    :param backend: an L2 backend, a backend URL (``redis://…``, ``rediss://…``,
        ``redis+cluster://…``, ``file:///path``), or ``None``.
    :param backend_failure: what to do when the backend fails.
    :param metrics: an object with some of the ``record_*`` hooks, or ``None``.
    :param clock: a zero-argument monotonic clock in seconds (default ``time.monotonic``).
    :param indexes: field names to keep secondary indexes on; a tuple of field names is one
        composite index (``indexes=(("city", "age"), "email")``).
    :param fetch_lease: with a backend that has leases (``MemoryBackend``, ``RedisBackend``):
        how long (seconds or ``timedelta``) one process's fetch of a cold id holds the fleet's
        lease while the others wait for its value; ``None`` keeps single-flight per process.
    :param negative_ttl: how long a fetcher's ``None`` for an id is remembered (seconds or
        ``timedelta``; ``None``: never): ``get_or_fetch`` and friends answer ``None`` without
        calling a fetcher until it passes or the id is inserted, invalidated or cleared.
    :param stale_while_revalidate: for this long after an entry expires (seconds or
        ``timedelta``; ``None``: off), ``aget_or_fetch`` returns the stale value while one
        refetch runs (in ``pool.background()`` when inside one).
    :param stale_if_error: for this long after an entry expires (``None``: off), a fetcher
        error on that id returns the stale value instead of raising (logged, counted).
    :param ttl_jitter: ``0 <= j < 1``: each entry's ttl is multiplied by a uniform factor in
        ``[1 - j, 1]`` so that entries written together do not expire together.
    :raises ValueError: for an out-of-range option (the message names it).
    :raises TypeError: for an option of the wrong type, or a model without an identity field.
    :warns UserWarning: for ``indexes=`` on a model whose instances can be mutated in place.
    """

    def __init__(
        self,
        model: type[T],
        capacity: int = 10_000,
        ttl: float | timedelta | None = None,
        on_conflict: OnConflict = OnConflict.LAST_WRITE_WINS,
        event_capacity: int = 256,
        sweep_interval: float | timedelta | None = None,
        namespace: str | None = None,
        backend: Any = None,
        backend_failure: BackendFailure = BackendFailure.L1_ONLY,
        metrics: Any = None,
        clock: Callable[[], float] | None = None,
        indexes: Iterable[str | tuple[str, ...]] = (),
        fetch_lease: float | timedelta | None = 10.0,
        negative_ttl: float | timedelta | None = None,
        stale_while_revalidate: float | timedelta | None = None,
        stale_if_error: float | timedelta | None = None,
        ttl_jitter: float = 0.0,
    ) -> None:
        info = model_info(model)
        self.model: type[T] = model
        self.type_name: str = info.type_name
        backend = resolve_backend(backend)
        self.config: PunnuConfig = make_config(
            capacity=capacity,
            ttl=ttl,
            on_conflict=on_conflict,
            event_capacity=event_capacity,
            sweep_interval=sweep_interval,
            namespace=namespace,
            backend=backend,
            backend_failure=backend_failure,
            metrics=metrics,
            clock=clock,
            indexes=indexes,
            field_names=info.field_names,
            fetch_lease=fetch_lease,
            negative_ttl=negative_ttl,
            stale_while_revalidate=stale_while_revalidate,
            stale_if_error=stale_if_error,
            ttl_jitter=ttl_jitter,
        )
        if self.config.indexes and mutable_instances(model):
            warnings.warn(
                f"{model.__qualname__} instances can be mutated in place, but Punnu(indexes=...) "
                "indexes the values as inserted: replace residents (insert a new value), never "
                "mutate them, or the indexes and scopes go stale",
                UserWarning,
                stacklevel=2,
            )
        core = self._core = PoolCore(model, info, self.config, clock, metrics)
        self._tier: Tiering | None = None
        self._listener: Listener | None = None
        if self.config.backend is not None:
            self._tier = Tiering(core)
            if callable(getattr(self._tier.backend, "invalidations", None)):
                self._listener = Listener(core, self._tier)
                core.background.append(self._listener.run)
        self._fetching: Fetching[T] = Fetching(core, self._tier)
        # The instance attribute shadows the documented method: same contract, one call fewer
        # (the core's bound method; compiled, a C method with the same docstring).
        if type(self).get is Punnu.get:  # a subclass's get() wins
            self.__dict__["get"] = core.get
        if self._tier is None and type(self).insert is Punnu.insert:  # the same for insert
            self.__dict__["insert"] = core.insert

    # reads ----------------------------------------------------------------------------------

    def get(self, id: Hashable) -> T | None:
        """The live value stored under ``id``, or ``None``. L1 only; never touches a backend.

        A hit refreshes LRU recency. An expired entry reads as ``None``, stays resident and
        emits nothing (lazy expiry).

        :param id: the id.
        :returns: the value or ``None``.
        """
        return self._core.get(id)

    def __contains__(self, id: object) -> bool:
        return self._core.contains(id)

    def __len__(self) -> int:
        return self._core.size

    def __repr__(self) -> str:
        return f"<Punnu[{self.model.__qualname__}] {len(self._core.map)}/{self.config.capacity}>"

    # writes ---------------------------------------------------------------------------------

    def _ttl(self, ttl: float | timedelta | None) -> float | DefaultTTL:
        return DEFAULT_TTL if ttl is None else positive_seconds(ttl, "ttl")

    def insert(self, value: T, *, ttl: float | timedelta | None = None) -> T:
        """Store ``value`` under its id and return it (the same object).

        Over a live value: ``LAST_WRITE_WINS`` replaces (``Inserted``), ``UPDATE`` replaces
        (``Updated(old, new)``), ``REJECT`` raises. An expired resident counts as absent. May
        evict (sampled LRU), never the value being inserted. With a backend: write-through.

        :param value: the value.
        :param ttl: time-to-live for this value (overrides the pool default), or ``None`` for
            the pool default.
        :returns: ``value``.
        :raises ConflictError: under ``OnConflict.REJECT`` when a live value has the id.
        :raises ValueError: when ``ttl <= 0``.
        :raises TypeError: when ``value`` is not an instance of the pool's model.
        :raises BackendError: under ``BackendFailure.ERROR`` when the backend write fails.
        """
        if self._tier is None:
            return self._core.insert(value, ttl=ttl)
        key = self._core.checked_id(value)
        drive_sync(self._tier.insert(key, value, self._ttl(ttl)))
        return value

    async def ainsert(self, value: T, *, ttl: float | timedelta | None = None) -> T:
        """Async twin of :meth:`insert` (uses the backend's async API when one is attached).

        :raises ConflictError: under ``OnConflict.REJECT`` when a live value has the id.
        :raises BackendError: under ``BackendFailure.ERROR`` when the backend write fails.
        """
        if self._tier is None:
            return self.insert(value, ttl=ttl)
        key = self._core.checked_id(value)
        await drive_async(self._tier.insert(key, value, self._ttl(ttl)))
        return value

    def invalidate(
        self, id: Hashable, reason: InvalidationReason = InvalidationReason.MANUAL
    ) -> bool:
        """Remove the live entry ``id`` and emit ``Invalidated(id, reason)``.

        :param id: the id.
        :param reason: ``MANUAL``, ``ON_SAVE`` or ``ON_DELETE``.
        :returns: whether a live entry was removed (unknown or expired id: ``False``, no event).
        :raises ValueError: when ``reason`` is not an :class:`InvalidationReason`.
        :raises BackendError: under ``BackendFailure.ERROR`` when the backend delete fails.
        """
        event_reason = EventReason(InvalidationReason(reason).value)
        if self._tier is not None:
            return drive_sync(self._tier.invalidate(id, event_reason))
        return self._core.commit(removals=(id,), reason=event_reason).removed > 0

    async def ainvalidate(
        self, id: Hashable, reason: InvalidationReason = InvalidationReason.MANUAL
    ) -> bool:
        """Async twin of :meth:`invalidate`.

        :raises ValueError: when ``reason`` is not an :class:`InvalidationReason`.
        :raises BackendError: under ``BackendFailure.ERROR`` when the backend delete fails.
        """
        if self._tier is None:
            return self.invalidate(id, reason)
        event_reason = EventReason(InvalidationReason(reason).value)
        return await drive_async(self._tier.invalidate(id, event_reason))

    def invalidate_where(self, predicate: Predicate | SupportsPredicate) -> int:
        """Remove every live entry matching ``predicate``, here and in other processes' pools.

        Local matches go through the commit path and emit ``Invalidated(id, EventReason.MANUAL)``
        in ascending id order; fetches in flight whose value matches are not cached. With a
        backend, the matching L2 entries are deleted too (backends with ``delete_where``:
        memory, Redis; values decoded and tested in bounded batches), so no process loads them
        back, then ``InvalidateWhere(sassi.predicate.dumps(predicate, model=Model))`` is
        published on its invalidation channel; every pool listening (``async with
        pool.background()``) removes its own live matches with
        ``EventReason.BACKEND_INVALIDATION``.

        :param predicate: which entries to drop.
        :returns: how many local entries were removed.
        :raises TypeError: when ``predicate`` is not a predicate, or (with a backend) holds an
            operand the predicate wire form cannot carry; nothing is removed then.
        :raises BackendError: under ``BackendFailure.ERROR`` when publishing fails (the local
            entries are already removed: dropping cache entries is always safe).
        """
        checked, message = self._where(predicate)
        test = checked.compile()
        removed = remove_where(self._core, test, EventReason.MANUAL)
        if message is not None and self._tier is not None:
            drive_sync(self._tier.delete_where(test))
            drive_sync(self._tier.publish(message))
        return removed

    async def ainvalidate_where(self, predicate: Predicate | SupportsPredicate) -> int:
        """Async twin of :meth:`invalidate_where` (publishes with the backend's async API).

        :raises TypeError: when ``predicate`` is not a predicate or cannot be encoded.
        :raises BackendError: under ``BackendFailure.ERROR`` when publishing fails.
        """
        checked, message = self._where(predicate)
        test = checked.compile()
        removed = remove_where(self._core, test, EventReason.MANUAL)
        if message is not None and self._tier is not None:
            await drive_async(self._tier.delete_where(test))
            await drive_async(self._tier.publish(message))
        return removed

    def clear(self) -> int:
        """Remove every entry: L1 (``Invalidated(id, MANUAL)`` each) and, with a backend, the
        whole keyspace in L2, publishing ``InvalidateAll`` to every pool listening.

        Fetches in flight return their values uncached.

        :returns: how many local entries were removed.
        :raises BackendError: under ``BackendFailure.ERROR`` when the backend fails (L1 is
            already empty: dropping cache entries is always safe).
        """
        removed = remove_all(self._core, EventReason.MANUAL)
        if self._tier is not None:
            drive_sync(self._tier.clear())
        return removed

    async def aclear(self) -> int:
        """Async twin of :meth:`clear`.

        :raises BackendError: under ``BackendFailure.ERROR`` when the backend fails.
        """
        removed = remove_all(self._core, EventReason.MANUAL)
        if self._tier is not None:
            await drive_async(self._tier.clear())
        return removed

    def _where(
        self, predicate: Predicate | SupportsPredicate
    ) -> tuple[Predicate, InvalidateWhere | None]:
        """The checked predicate and, with a backend, its message (encoded before anything is
        removed: a predicate the wire cannot carry changes nothing)."""
        checked = as_predicate(predicate, what="invalidate_where()")
        if self._tier is None:
            return checked, None
        return checked, InvalidateWhere(dumps_predicate(checked, model=self.model))

    def sweep_expired(self) -> int:
        """Remove every expired entry now, emitting ``Invalidated(id, TTL_EXPIRED)`` for each.

        A metrics ``record_size`` sample is taken after every sweep, even an empty one.

        :returns: how many entries were removed.
        """
        core = self._core
        removed = core.commit(sweep=True).removed if core.store.timed else 0
        if not removed and core.metrics_on:
            core.metrics.size(core.size)
        return removed

    def apply_delta(self, delta: Delta[T]) -> DeltaStats:
        """Apply a :class:`Delta` in one atomic commit.

        Tombstones beat items with the same id; duplicate item ids keep the last; absence from
        ``items`` never deletes; ``REJECT`` skips live priors silently; items use the default
        ttl; LRU runs without protection. Events: tombstone ``Invalidated(ON_DELETE)``, then LRU
        evictions, then ``Inserted``/``Updated`` in ascending id order for surviving items.

        :param delta: the batch.
        :returns: the counts.
        :raises TypeError: when ``delta`` is not a ``Delta`` or holds a value of another model.
        """
        if not isinstance(delta, Delta):
            raise TypeError(f"apply_delta() needs a sassi.Delta, got {type(delta).__qualname__}")
        core = self._core
        upserts, tombstones = normalize_delta(delta, core.checked_id)
        with core.lock:
            if core.reservations is not None:
                skips = core.reservations.count([k for k, _ in upserts] + tombstones)
                if skips:
                    return DeltaStats(backend_reserved_skips=skips)
            result = core.commit(
                upserts,
                tombstones,
                reason=EventReason.ON_DELETE,
                conflict=Conflict.SKIP,
                ordered=True,
                keep_stored=False,
            )
        return DeltaStats(
            applied_items=result.applied,
            tombstones_evicted=result.removed,
            lru_evictions=result.lru_evictions,
        )

    # L2 and snapshots -----------------------------------------------------------------------

    def load(self, id: Hashable) -> T | None:
        """L1, then the backend, then fill L1: the value for ``id`` or ``None``.

        A backend value is cached with the default ttl unless a live value appeared meanwhile
        (that one wins and is returned). Without a backend this is :meth:`get`.

        :param id: the id.
        :returns: the value or ``None``.
        :raises IdentityMismatchError: when the backend holds a value with another id (not cached).
        :raises BackendError: under ``BackendFailure.ERROR`` when the backend read fails.
        """
        if self._tier is None:
            return self.get(id)
        return drive_sync(self._tier.load(id))

    async def aload(self, id: Hashable) -> T | None:
        """Async twin of :meth:`load` (uses the backend's async API).

        :raises IdentityMismatchError: when the backend holds a value with another id.
        :raises BackendError: under ``BackendFailure.ERROR`` when the backend read fails.
        """
        if self._tier is None:
            return self.get(id)
        return await drive_async(self._tier.load(id))

    def insert_serialized(self, data: bytes) -> T:
        """Decode a ``sassi.wire.dumps`` value and :meth:`insert` it.

        :param data: a kind-1 wire container of this pool's model.
        :returns: the inserted value.
        :raises WireFormatError: on a bad header or body (nothing inserted).
        """
        return self.insert(wire.loads(self.model, data))

    def export_entries(self) -> bytes:
        """The unexpired values as a kind-3 wire container, sorted by id (deterministic bytes).

        :returns: the snapshot bytes.
        """
        return _snapshot.export_entries(self._core)

    def snapshot(self, mode: SnapshotMode = SnapshotMode.ENTRIES_ONLY) -> bytes:
        """A snapshot of the pool: ``ENTRIES_ONLY`` (= :meth:`export_entries`) or
        ``WITH_INTERNAL_STATE`` (also each entry's remaining ttl and LRU rank).

        :param mode: what to record.
        :returns: the snapshot bytes.
        """
        return _snapshot.snapshot(self._core, mode)

    def restore_entries(self, data: bytes) -> RestoreStats:
        """Replace the whole pool with an :meth:`export_entries` snapshot (L1 only).

        Validated before any change; entries get this pool's default ttl; live residents absent
        from the snapshot are removed with ``Invalidated(MANUAL)``.

        :param data: kind-3 bytes.
        :returns: ``RestoreStats(inserted, updated, removed)``.
        :raises WireFormatError: bad bytes (a ``WITH_INTERNAL_STATE`` snapshot: ``KindMismatch``).
        :raises TooManyEntries: more entries than ``capacity`` (checked before decoding them).
        :raises DuplicateId: an id occurs twice.
        :raises BackendWriteInFlight: a strict backend write is in flight.
        """
        return _snapshot.restore_entries(self._core, data)

    def restore(self, data: bytes) -> RestoreStats:
        """Replace the whole pool with a snapshot of either mode (L1 only).

        ``WITH_INTERNAL_STATE`` snapshots keep remaining ttls and relative LRU order; entries-only
        snapshots get this pool's default ttl.

        :param data: kind-3 or kind-4 bytes.
        :returns: ``RestoreStats(inserted, updated, removed)``.
        :raises WireFormatError: bad bytes.
        :raises TooManyEntries: more entries than ``capacity`` (checked before decoding them).
        :raises DuplicateId: an id occurs twice.
        :raises BackendWriteInFlight: a strict backend write is in flight.
        """
        return _snapshot.restore(self._core, data)

    # fetching (sassi._fetch) ------------------------------------------------------------------

    async def aget_or_fetch(self, id: Hashable, fetcher: Callable[[Any], Any]) -> T | None:
        """The live value for ``id``, else the fetcher's, cached, with single-flight.

        On an L1 hit the fetcher is not called. Concurrent callers for one id share one fetcher
        call and get the same object; the value is inserted once inside that call ("insert if
        absent or expired, else return the live value": ``on_conflict`` does not apply), so
        there is exactly one ``Inserted`` event. ``None`` caches nothing. An exception from the
        fetcher reaches every waiter and is not cached. A cancelled caller leaves without
        cancelling the fetch while others wait; when all have left it is cancelled. (The fetch
        runs in a child task of the caller that started it, so that caller's task, if
        cancelled, returns once the fetch ends or the other callers leave.) If ``id`` is
        invalidated while the fetch runs, the fetched value is returned but not cached.
        The pool's ``negative_ttl``, ``stale_while_revalidate`` and ``stale_if_error`` apply
        (see the class docstring and ``docs/fetching.md``).

        :param id: the id.
        :param fetcher: ``async (id) -> value | None``, or a plain function (run in a worker
            thread).
        :returns: the cached, fetched or already-live value, or ``None``.
        :raises IdentityMismatchError: when the fetched value has another id (nothing cached).
        :raises TypeError: when the fetcher returned something other than the pool's model.
        """
        return await self._fetching.aget_or_fetch(id, fetcher)

    def get_or_fetch(self, id: Hashable, fetcher: Callable[[Any], T | None]) -> T | None:
        """Sync twin of :meth:`aget_or_fetch`: concurrent threads share one ``fetcher(id)`` call.

        Under ``stale_while_revalidate`` the thread that starts the refetch waits for it and
        the threads arriving meanwhile get the stale value.

        :param id: the id.
        :param fetcher: ``(id) -> value | None`` (a plain function).
        :returns: the cached, fetched or already-live value, or ``None``.
        :raises IdentityMismatchError: when the fetched value has another id (nothing cached).
        :raises TypeError: when the fetcher is async or not returning the pool's model.
        """
        return self._fetching.get_or_fetch(id, fetcher)

    async def aget_or_fetch_many(
        self, ids: Iterable[Hashable], fetcher: Callable[[list[Any]], Any]
    ) -> list[T]:
        """The live values for ``ids``, fetching the missing ones in one fetcher call.

        ``fetcher`` receives the missing ids (deduplicated, in input order) and returns an
        iterable of values; all-hit or empty input never calls it. Every returned id must have
        been asked for; a duplicate returned id keeps the first value. The fetched values are
        inserted in one atomic commit that follows ``on_conflict``.

        :param ids: the ids.
        :param fetcher: ``async (missing_ids) -> iterable of values`` (or a plain function,
            run in a worker thread).
        :returns: the hits in input order, then the fetched values in the fetcher's order.
        :raises IdentityMismatchError: when a returned id was not asked for (nothing inserted).
        :raises ConflictError: under ``OnConflict.REJECT`` when a fetched id is live by the time
            of the commit (nothing inserted).
        """
        return await self._fetching.aget_or_fetch_many(ids, fetcher)

    def get_or_fetch_many(
        self, ids: Iterable[Hashable], fetcher: Callable[[list[Any]], Iterable[T]]
    ) -> list[T]:
        """Sync twin of :meth:`aget_or_fetch_many`.

        :param ids: the ids.
        :param fetcher: ``(missing_ids) -> iterable of values`` (a plain function).
        :returns: the hits in input order, then the fetched values in the fetcher's order.
        :raises IdentityMismatchError: when a returned id was not asked for (nothing inserted).
        :raises ConflictError: under ``OnConflict.REJECT`` when a fetched id is live (nothing
            inserted).
        :raises TypeError: when the fetcher is async.
        """
        return self._fetching.get_or_fetch_many(ids, fetcher)

    def loader(
        self, batch_fetcher: Callable[[list[Any]], Any], *, max_batch: int = 1000
    ) -> Loader[T]:
        """A batched loader (the DataLoader pattern) over this pool; see :class:`Loader`.

        ``await loader.load(id)`` / ``await loader.load_many(ids)``: loads that miss L1 (and
        L2) issued before the event loop gets back to the loader are combined into one
        ``batch_fetcher(ids)`` call (deduplicated, at most ``max_batch`` ids per call),
        single-flight with other loads and with ``aget_or_fetch`` of the same ids.

        :param batch_fetcher: ``async (ids) -> iterable of values`` (or a plain function, run
            in a worker thread); ids it leaves out load as ``None``.
        :param max_batch: the most ids in one call.
        :returns: a new :class:`Loader`.
        :raises TypeError: when ``batch_fetcher`` is not callable or ``max_batch`` not an int.
        :raises ValueError: when ``max_batch < 1``.
        """
        return Loader(self._fetching, batch_fetcher, max_batch)

    # queries (sassi._scope) -------------------------------------------------------------------

    def scope(self, *predicates: Predicate | SupportsPredicate) -> Scope[T]:
        """A lazy query over the live values; the predicates are ANDed.

        :param predicates: zero or more predicates (or objects with ``__sassi_predicate__()``).
        :returns: a new :class:`Scope`.
        :raises TypeError: when an argument is not a predicate (a ``bool`` usually means two
            fields were compared: the message says so).
        """
        checked = [as_predicate(p, what="scope()") for p in predicates]
        if not checked:
            return Scope(self._core)
        combined = checked[0] if len(checked) == 1 else And(tuple(checked))
        return Scope(self._core, (MemQ.where(combined),))

    # refresh (sassi._refresh, sassi._delta_refresh) -------------------------------------------

    def periodic_refresh(
        self,
        interval: float | timedelta,
        fetcher: Callable[[], Any],
        mode: RefreshMode = RefreshMode.UPSERT_ONLY,
    ) -> contextlib.AbstractAsyncContextManager[RefreshHandle]:
        """Refetch every row each ``interval`` while an ``async with`` block runs.

        ``async with pool.periodic_refresh(60, fetch_all) as handle:`` — ``fetcher()`` (async,
        or plain: run in a worker thread) returns all rows. ``UPSERT_ONLY`` never deletes;
        ``REPLACE`` also removes live residents missing from the result
        (``Invalidated(MANUAL)``). Writes follow ``on_conflict`` (``REJECT`` keeps the old
        value) and the default ttl, in one commit per tick; a tick that meets an id held by a
        strict backend write waits for that write, then applies. The first scheduled tick comes
        one ``interval`` after entry; ``await handle.refresh_now()`` runs one in between (never
        overlapping a scheduled one) and raises what the fetch raised. Scheduled errors are
        logged and the loop goes on; a failed tick changes nothing. Leaving the block stops it.

        :param interval: seconds (or a ``timedelta``) between scheduled ticks.
        :param fetcher: ``() -> iterable of values``.
        :param mode: ``RefreshMode.UPSERT_ONLY`` (default) or ``RefreshMode.REPLACE``.
        :returns: an async context manager yielding a :class:`RefreshHandle`.
        :raises ValueError: when ``interval <= 0``.
        :raises TypeError: when ``mode`` is not a ``RefreshMode`` or ``fetcher`` not callable.
        """
        return _refresh.periodic_refresh(self._core, interval, fetcher, mode)

    def delta_refresh(
        self,
        interval: float | timedelta,
        fetcher: Callable[[DeltaQuery[T]], Any],
        *,
        wake: AsyncIterable[object] | None = None,
    ) -> contextlib.AbstractAsyncContextManager[DeltaRefreshHandle[T]]:
        """Apply what changed since the last watermark, each ``interval``, while a block runs.

        ``async with pool.delta_refresh(30, fetch_changes) as handle:`` — ``fetcher(query)``
        (async, or plain: run in a worker thread) gets a :class:`DeltaQuery` (``since``: the
        last successful watermark, inclusive, or ``None`` for everything; ``recover_ids``:
        evicted ids to send again) and returns a :class:`Delta`. See
        :class:`DeltaRefreshHandle` for ``update()``, ``update_full()``, ``watermark`` and
        eviction recovery.

        :param interval: seconds (or a ``timedelta``) between scheduled ticks.
        :param fetcher: ``(DeltaQuery) -> Delta``.
        :param wake: an async iterable; each item it yields runs ``update()`` at once, whatever
            ``interval`` is (``wake=source.listen(channel)``: on every PostgreSQL ``NOTIFY``).
        :returns: an async context manager yielding a :class:`DeltaRefreshHandle`.
        :raises TypeError: when the model declares no ``watermark``, ``fetcher`` is not
            callable or ``wake`` is not an async iterable.
        :raises ValueError: when ``interval <= 0``.
        """
        return _delta_refresh.delta_refresh(self._core, interval, fetcher, wake)

    # events, stats, background ----------------------------------------------------------------

    def events(self) -> Subscription:
        """Subscribe to this pool's future events (bounded and lossy; see :class:`Subscription`).

        :returns: a new subscription.
        """
        return self._core.subscribe()

    def stats(self) -> PunnuStats:
        """A snapshot of the pool's counters.

        :returns: hits, misses, hit ratio, size, evictions per reason and fetch counters.
        """
        return self._core.stats()

    @property
    def listening(self) -> bool:
        """Whether the backend invalidation stream is subscribed now (``False`` without a
        backend stream, or outside ``pool.background()``)."""
        return self._listener is not None and self._listener.listening

    async def wait_listening(self) -> None:
        """Return once the invalidation stream is subscribed (readiness probes, tests).

        :raises RuntimeError: when the pool has no backend with an invalidation stream (it
            would never return).
        """
        if self._listener is None:
            raise RuntimeError(f"{self!r} has no backend invalidation stream to listen to")
        await self._listener.wait_listening()

    async def _sweep_loop(self, interval: float) -> None:
        while True:
            await anyio.sleep(interval)
            try:
                self.sweep_expired()
            except Exception:
                log.exception("sassi TTL sweep of %s failed", self.type_name)

    @contextlib.asynccontextmanager
    async def background(self) -> AsyncIterator[Punnu[T]]:
        """Run the pool's background work (TTL sweep, backend listener) while the block runs.

        ``async with pool.background():`` — the sweep runs every ``sweep_interval`` seconds of
        real time and expires by the pool's clock. The body starts once the invalidation
        listener has subscribed or failed its first attempt, and within a second whatever the
        backend's state (down, refusing, hung); the listener keeps (re)subscribing in the
        background (see :attr:`listening`). Leaving the block stops everything.

        :returns: an async context manager yielding the pool.
        """
        async with anyio.create_task_group() as group:
            if self.config.sweep_interval is not None:
                group.start_soon(self._sweep_loop, self.config.sweep_interval)
            for task in self._core.background:
                group.start_soon(task)
            if self._listener is not None:
                await self._listener.wait_started()
            try:
                with self._fetching.revalidations.serving(group):
                    yield self
            finally:
                group.cancel_scope.cancel()

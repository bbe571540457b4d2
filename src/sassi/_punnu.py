"""``Punnu``: the typed L1 pool. The facade that ties store, eviction, events and scopes together.

Reads (``get``, ``in``, ``len``) take no lock: one dict lookup, a deadline check skipped for
entries without a deadline, an epoch store (``len`` reads the size published at the end of the
last commit, so it never shows a commit's transient overshoot of ``capacity``). Hits are counted
for free: every epoch drawn outside the write lock is a hit. Every write takes the pool's
re-entrant write lock, goes through ``_commit`` (the one choke point, in :mod:`sassi._commit`),
publishes its events to subscribers while still holding the lock (so deliveries follow commit
order and happen only once the commit is visible), and calls the metrics hooks after releasing
it.

Internal API for other modules
==============================

All of this is private to the package; signatures are stable for sassi's own modules.

``pool._lock``
    ``threading.RLock``: the write lock. Hold it to make several steps atomic with respect to
    other writers and to scope snapshots; ``_commit`` re-acquires it.
``pool._commit(upserts=(), removals=(), *, reason=EventReason.MANUAL, conflict=Conflict.RAISE,
ttl=DEFAULT_TTL, protect=False, replace_all=False, sweep=False, hints=None, precheck=None)``
    The only way to change residents. Returns a :class:`CommitResult`. Implemented by
    ``sassi._commit.CommitPath`` (a base class of ``Punnu``); ``Conflict``, ``DEFAULT_TTL`` and
    ``CommitResult`` are importable from :mod:`sassi._punnu` or :mod:`sassi._commit`. A call
    with exactly one upsert in a ``tuple`` and nothing else takes a fast path with the same
    semantics.

    - ``upserts``: ``(id, value)`` pairs (duplicate ids: the last wins). Applied in ascending id
      order when there is more than one.
    - ``removals``: ids to remove; live ones emit ``Invalidated(id, reason)``, expired ones go
      silently, absent ones are ignored; an id also in ``upserts`` is not removed.
    - ``conflict``: :class:`Conflict` — ``RAISE`` (the pool's ``on_conflict``; ``REJECT`` raises
      ``ConflictError`` before any mutation if any upsert id is live), ``SKIP`` (``REJECT`` skips
      live priors silently), ``KEEP`` (a live prior always wins: "insert if absent or expired",
      for fetch inserts), ``REPLACE`` (always replace; ``Updated`` under ``UPDATE`` pools, else
      ``Inserted``: restore).
    - ``ttl``: ``DEFAULT_TTL`` (pool default), ``None`` (never expires) or seconds.
    - ``protect``: a single upsert never evicts itself (single insert / single fetch).
    - ``replace_all``: also remove every resident not in ``upserts`` (REPLACE refresh, restore).
    - ``sweep``: also remove every expired entry, emitting ``Invalidated(id, TTL_EXPIRED)``.
    - ``hints``: ``{id: (remaining_ttl_seconds | None, lru_rank)}`` for restoring internal state:
      overrides ``ttl`` per id and orders recency by rank (0 = oldest).
    - ``precheck(now)``: runs under the lock before any mutation; raise to abort with nothing
      changed (e.g. a strict backend reservation, a fetch generation check).

    Event order: removals (incl. ``replace_all`` and ``sweep``), then LRU evictions, then
    ``Inserted``/``Updated`` of the upserts that survived, in id order.
``CommitResult``
    ``events`` (what was published; ``Inserted``/``Updated`` are only built while the pool has
    a subscriber, ``Invalidated`` always), ``stored`` (id -> the value resident for each upsert id
    after the upsert step: the new value, or the live prior that was kept), ``applied``
    (surviving upserts), ``inserted``/``updated`` (survivors without/with a live prior),
    ``removed`` (live entries removed by removals/replace_all/sweep), ``lru_evictions``.
``pool._store``
    The :class:`~sassi._store.Store`; ``store.map`` holds :class:`~sassi._store.Entry` objects
    (read ``entry.value`` / ``.deadline`` / ``.pos`` / ``.epoch``; ``entry[VALUE]`` still works
    but is slower). Register secondary indexes and other observers with
    ``pool._store.observers.append(obj)``; ``obj.on_put(id, old, new)`` /
    ``obj.on_remove(id, old)`` run under the write lock for every mutation (inserts, replaces,
    invalidations, LRU evictions, expiry drops, sweeps, deltas, restores).
``pool._scope_source(ops) -> (items, remaining_ops)``
    How a scope gets its input, under the lock: index candidates when an index applies (all ops
    still run); else, when nothing is expired and the first op is a ``where``, that scan run in
    place over the resident list (the remaining ops returned); else a snapshot of the unexpired
    values and all ops.
``pool._reserved``
    ``None`` or ``Callable[[list[id]], int]``, called under the lock by ``apply_delta``: a
    positive count means strict backend writes hold some of those ids; nothing is applied and
    ``DeltaStats.backend_reserved_skips`` reports the count.
``pool._background``
    A list of ``async def task(pool)`` factories that ``async with pool.background()`` starts in
    its task group next to the TTL sweep (e.g. the backend invalidation listener).
``pool._metrics``
    :class:`~sassi._stats.Metrics`: ``hit(tier)``, ``miss()``, ``eviction(reason)``,
    ``backend_error(exc)``, ``fetch_latency(seconds)``, ``size(n)``; never raises.
``pool._record_fetch(n=1)``, ``pool._record_coalesced(n=1)``
    Bump the fetch counters reported by ``stats()``.
``pool._inflight``
    :class:`~sassi._fetch.InFlight`: the single-flight engines of the fetch helpers and the
    per-id fetch generations. ``_commit`` calls ``pool._inflight.removed(ids)`` for its explicit
    removals, so a fetch racing them returns its value without caching it; any other path that
    makes an in-flight fetch stale should call it too (under the write lock).
``pool._id_of(value)``, ``pool.model``, ``pool.type_name``, ``pool._clock``
    Id getter, model class, ``sassi.type_name(model)``, the clock.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import random
import threading
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Hashable,
    Iterable,
    Sequence,
)
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from . import _fetch, _tiering
from ._clock import monotonic
from ._commit import DEFAULT_TTL, CommitPath, CommitResult, Conflict, DefaultTTL, Tally
from ._config import (
    BackendFailure,
    CacheTier,
    EventReason,
    InvalidationReason,
    OnConflict,
    PunnuConfig,
    RefreshMode,
    SnapshotMode,
    make_config,
    positive_seconds,
)
from ._delta import Delta, DeltaStats, normalize_delta, sorted_by_id
from ._events import EventHub, Subscription
from ._index import IndexSet
from ._model import model_info
from ._scope import MemQ, Scope
from ._stats import Metrics, PunnuStats
from ._store import Store
from .backends._protocol import InvalidateWhere
from .predicate import And, Predicate
from .predicate import dumps as dumps_predicate

if TYPE_CHECKING:
    from ._delta import DeltaQuery
    from ._delta_refresh import DeltaRefreshHandle
    from ._refresh import RefreshHandle

__all__ = ["DEFAULT_TTL", "CommitResult", "Conflict", "Punnu"]

T = TypeVar("T")
log = logging.getLogger("sassi.punnu")


class Punnu(CommitPath[T]):
    """A typed, thread-safe, in-memory identity map of ``Model`` values keyed by their id.

    :param model: the model class (any class with an identity field; see :func:`sassi.cacheable`).
    :param capacity: the most residents kept; sampled-LRU eviction beyond it.
    :param ttl: default time-to-live (seconds or ``timedelta``), or ``None``.
    :param on_conflict: what ``insert`` does over a live value with the same id.
    :param event_capacity: buffer size of each event subscription.
    :param sweep_interval: seconds between TTL sweeps inside ``pool.background()``, or ``None``.
    :param namespace: L2 keyspace prefix (does not isolate L1).
    :param backend: an L2 backend, or ``None``.
    :param backend_failure: what to do when the backend fails.
    :param metrics: an object with some of the ``record_*`` hooks, or ``None``.
    :param clock: a zero-argument monotonic clock in seconds (default ``time.monotonic``).
    :param indexes: field names to keep secondary indexes on.
    :raises ValueError: for an out-of-range option (the message names it).
    :raises TypeError: for an option of the wrong type, or a model without an identity field.
    """

    __slots__ = (
        "_background",
        "_clock",
        "_coalesced",
        "_epoch",
        "_evictions",
        "_fetches",
        "_hub",
        "_id_of",
        "_inflight",
        "_lock",
        "_map",
        "_metrics",
        "_metrics_on",
        "_misses",
        "_reserved",
        "_rng",
        "_size",
        "_store",
        "_write_epochs",
        "config",
        "model",
        "type_name",
    )

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
        indexes: Iterable[str] = (),
    ) -> None:
        info = model_info(model)
        self.model: type[T] = model
        self.type_name: str = info.type_name
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
        )
        self._id_of: Callable[[Any], Hashable] = info.get_id
        self._clock: Callable[[], float] = clock if clock is not None else monotonic
        self._lock = threading.RLock()
        self._store = Store()
        self._map = self._store.map
        self._size = 0
        self._indexes = IndexSet(self.config.indexes)  # secondary indexes (sassi._index)
        if self._indexes:
            self._store.observers.append(self._indexes)
        self._hub = EventHub(self.config.event_capacity)
        self._epoch = itertools.count(1)
        self._write_epochs = 0
        self._misses = Tally()
        self._fetches = Tally()
        self._coalesced = Tally()
        self._evictions: dict[EventReason, int] = dict.fromkeys(EventReason, 0)
        self._metrics = Metrics(metrics, self.type_name)
        self._metrics_on = metrics is not None
        self._rng = random.Random()
        self._reserved: Callable[[list[Hashable]], int] | None = None
        self._background: list[Callable[[Punnu[T]], Coroutine[Any, Any, None]]] = []
        self._tier = _tiering.attach(self)  # L2 write/read-through (None without a backend)
        self._inflight = _fetch.InFlight(self._record_coalesced)  # fetch flights (sassi._fetch)
        # The instance attribute shadows the documented method: same contract, fewer lookups.
        if not self._metrics_on and type(self).get is Punnu.get:  # a subclass's get() wins
            self.__dict__["get"] = self._fast_get()

    # reads ----------------------------------------------------------------------------------

    def get(self, id: Hashable) -> T | None:
        """The live value stored under ``id``, or ``None``. L1 only; never touches a backend.

        A hit refreshes LRU recency. An expired entry reads as ``None``, stays resident and
        emits nothing (lazy expiry).

        :param id: the id.
        :returns: the value or ``None``.
        """
        return self._get(id)

    def _get(self, id: Hashable) -> T | None:
        entry = self._map.get(id)
        if entry is not None:
            deadline = entry.deadline
            if deadline is None or deadline > self._clock():
                entry.epoch = next(self._epoch)
                if self._metrics_on:
                    self._metrics.hit(CacheTier.L1)
                return entry.value  # type: ignore[no-any-return]
            self._expired_read()
            return None
        self._miss()
        return None

    def _expired_read(self) -> None:
        self._evictions[EventReason.TTL_EXPIRED] += 1
        if self._metrics_on:
            self._metrics.eviction(EventReason.TTL_EXPIRED)
        self._miss()

    def _miss(self) -> None:
        self._misses.bump()
        if self._metrics_on:
            self._metrics.miss()

    def _fast_get(self) -> Callable[[Hashable], T | None]:
        """``get`` as a closure over locals: the hit path is one dict lookup, a deadline check
        (skipped when the entry has none) and an epoch store. Used when there are no metrics."""
        lookup = self._map.get
        stamp = self._epoch.__next__
        clock = self._clock
        expired = self._expired_read
        miss = self._miss

        def get(id: Hashable, /) -> T | None:
            entry = lookup(id)
            if entry is not None:
                deadline = entry.deadline
                if deadline is None or deadline > clock():
                    entry.epoch = stamp()
                    return entry.value  # type: ignore[no-any-return]
                expired()
                return None
            miss()
            return None

        get.__doc__ = Punnu.get.__doc__
        return get

    def __contains__(self, id: object) -> bool:
        entry = self._map.get(id)
        if entry is None:
            return False
        deadline = entry.deadline
        return deadline is None or deadline > self._clock()

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"<Punnu[{self.model.__qualname__}] {len(self._map)}/{self.config.capacity}>"

    # writes ---------------------------------------------------------------------------------

    def _checked_id(self, value: object) -> Hashable:
        if not isinstance(value, self.model):
            raise TypeError(
                f"this pool holds {self.model.__qualname__} values, got {type(value).__qualname__}"
            )
        return self._id_of(value)

    def insert(self, value: T, *, ttl: float | timedelta | None = None) -> T:
        """Store ``value`` under its id and return it (the same object).

        Over a live value: ``LAST_WRITE_WINS`` replaces (``Inserted``), ``UPDATE`` replaces
        (``Updated(old, new)``), ``REJECT`` raises. An expired resident counts as absent. May
        evict (sampled LRU), never the value being inserted.

        :param value: the value.
        :param ttl: time-to-live for this value (overrides the pool default), or ``None`` for
            the pool default.
        :returns: ``value``.
        :raises ConflictError: under ``OnConflict.REJECT`` when a live value has the id.
        :raises ValueError: when ``ttl <= 0``.
        :raises TypeError: when ``value`` is not an instance of the pool's model.
        """
        key = self._checked_id(value)
        seconds: float | DefaultTTL = DEFAULT_TTL if ttl is None else positive_seconds(ttl, "ttl")
        if self._tier is not None:  # write-through (sassi._tiering)
            self._tier.insert(key, value, seconds)
            return value
        self._commit_one((key, value), Conflict.RAISE, seconds, True, None)  # = _commit fast path
        return value

    async def ainsert(self, value: T, *, ttl: float | timedelta | None = None) -> T:
        """Async twin of :meth:`insert` (uses the backend's async API when one is attached).

        :raises ConflictError: under ``OnConflict.REJECT`` when a live value has the id.
        :raises BackendError: under ``BackendFailure.ERROR`` when the backend write fails.
        """
        if self._tier is None:
            return self.insert(value, ttl=ttl)
        key = self._checked_id(value)
        seconds: float | DefaultTTL = DEFAULT_TTL if ttl is None else positive_seconds(ttl, "ttl")
        await self._tier.ainsert(key, value, seconds)
        return value

    def invalidate(
        self, id: Hashable, reason: InvalidationReason = InvalidationReason.MANUAL
    ) -> bool:
        """Remove the live entry ``id`` and emit ``Invalidated(id, reason)``.

        :param id: the id.
        :param reason: ``MANUAL``, ``ON_SAVE`` or ``ON_DELETE``.
        :returns: whether a live entry was removed (unknown or expired id: ``False``, no event).
        :raises ValueError: when ``reason`` is not an :class:`InvalidationReason`.
        """
        event_reason = EventReason(InvalidationReason(reason).value)
        if self._tier is not None:  # delete + publish (sassi._tiering)
            return self._tier.invalidate(id, event_reason)
        return self._commit(removals=(id,), reason=event_reason).removed > 0

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
        return await self._tier.ainvalidate(id, event_reason)

    def invalidate_where(self, predicate: Predicate) -> int:
        """Remove every live entry matching ``predicate``, here and in other processes' pools.

        Local matches go through the commit path and emit ``Invalidated(id, EventReason.MANUAL)``
        in ascending id order. With a backend, ``InvalidateWhere(sassi.predicate.dumps(predicate,
        model=Model))`` is then published on its invalidation channel; every pool listening
        (``async with pool.background()``, this one included) removes its own live matches with
        ``EventReason.BACKEND_INVALIDATION``. Values stored in the backend are not scanned.

        :param predicate: which entries to drop.
        :returns: how many local entries were removed.
        :raises TypeError: when ``predicate`` is not a predicate, or (with a backend) holds an
            operand the predicate wire form cannot carry; nothing is removed then.
        :raises BackendError: under ``BackendFailure.ERROR`` when publishing fails (the local
            entries are already removed: dropping cache entries is always safe).
        """
        message = self._where_message(predicate)
        removed = self._remove_where(predicate)
        if message is not None and self._tier is not None:
            self._tier.publish(message)
        return removed

    async def ainvalidate_where(self, predicate: Predicate) -> int:
        """Async twin of :meth:`invalidate_where` (publishes with the backend's async API).

        :raises TypeError: when ``predicate`` is not a predicate or cannot be encoded.
        :raises BackendError: under ``BackendFailure.ERROR`` when publishing fails.
        """
        message = self._where_message(predicate)
        removed = self._remove_where(predicate)
        if message is not None and self._tier is not None:
            await self._tier.apublish(message)
        return removed

    def _where_message(self, predicate: Predicate) -> InvalidateWhere | None:
        if not isinstance(predicate, Predicate):
            raise TypeError(f"invalidate_where() takes a sassi predicate, got {predicate!r}")
        if self._tier is None:
            return None
        return InvalidateWhere(dumps_predicate(predicate, model=self.model))

    def _remove_where(self, predicate: Predicate) -> int:
        with self._lock:
            matches = [(self._id_of(v), v) for v in self.scope(predicate).collect()]
            if self._tier is not None:
                self._tier._touch_all()  # loads in flight must not write a match back
            removals = [key for key, _ in sorted_by_id(matches)]
            return self._commit(removals=removals, reason=EventReason.MANUAL).removed

    # L2 and snapshots (implemented in sassi._tiering) -----------------------------------------

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
        return self._tier.load(id)

    async def aload(self, id: Hashable) -> T | None:
        """Async twin of :meth:`load` (uses the backend's async API).

        :raises IdentityMismatchError: when the backend holds a value with another id.
        :raises BackendError: under ``BackendFailure.ERROR`` when the backend read fails.
        """
        if self._tier is None:
            return self.get(id)
        return await self._tier.aload(id)

    def insert_serialized(self, data: bytes) -> T:
        """Decode a ``sassi.wire.dumps`` value and :meth:`insert` it.

        :param data: a kind-1 wire container of this pool's model.
        :returns: the inserted value.
        :raises WireFormatError: on a bad header or body (nothing inserted).
        """
        return _tiering.insert_serialized(self, data)  # type: ignore[no-any-return]

    def export_entries(self) -> bytes:
        """The unexpired values as a kind-3 wire container, sorted by id (deterministic bytes).

        :returns: the snapshot bytes.
        """
        return _tiering.export_entries(self)

    def snapshot(self, mode: SnapshotMode = SnapshotMode.ENTRIES_ONLY) -> bytes:
        """A snapshot of the pool: ``ENTRIES_ONLY`` (= :meth:`export_entries`) or
        ``WITH_INTERNAL_STATE`` (also each entry's remaining ttl and LRU rank).

        :param mode: what to record.
        :returns: the snapshot bytes.
        """
        return _tiering.snapshot(self, mode)

    def restore_entries(self, data: bytes) -> _tiering.RestoreStats:
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
        return _tiering.restore_entries(self, data)

    def restore(self, data: bytes) -> _tiering.RestoreStats:
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
        return _tiering.restore(self, data)

    def sweep_expired(self) -> int:
        """Remove every expired entry now, emitting ``Invalidated(id, TTL_EXPIRED)`` for each.

        A metrics ``record_size`` sample is taken after every sweep, even an empty one.

        :returns: how many entries were removed.
        """
        removed = self._commit(sweep=True).removed if self._store.timed else 0
        if not removed and self._metrics_on:
            self._metrics.size(self._size)
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
        upserts, tombstones = normalize_delta(delta, self._checked_id)
        with self._lock:
            if self._reserved is not None:
                skips = self._reserved([k for k, _ in upserts] + tombstones)
                if skips:
                    return DeltaStats(backend_reserved_skips=skips)
            result = self._commit(
                upserts, tombstones, reason=EventReason.ON_DELETE, conflict=Conflict.SKIP
            )
        return DeltaStats(
            applied_items=result.applied,
            tombstones_evicted=result.removed,
            lru_evictions=result.lru_evictions,
        )

    # fetching (implemented in sassi._fetch) ---------------------------------------------------

    async def aget_or_fetch(
        self, id: Hashable, fetcher: Callable[[Any], Awaitable[T | None]]
    ) -> T | None:
        """The live value for ``id``, else ``await fetcher(id)``, cached, with single-flight.

        On an L1 hit the fetcher is not called. Concurrent callers for one id share one fetcher
        call and get the same object; the value is inserted once inside that call ("insert if
        absent or expired, else return the live value": ``on_conflict`` does not apply), so
        there is exactly one ``Inserted`` event. ``None`` caches nothing. An exception from the
        fetcher reaches every waiter and is not cached. A cancelled caller leaves without
        cancelling the fetch while others wait; when all have left it is cancelled. (The fetch
        runs in a child task of the caller that started it, so that caller's task, if
        cancelled, returns once the fetch ends or the other callers leave.) If ``id`` is
        invalidated while the fetch runs, the fetched value is returned but not cached.

        :param id: the id.
        :param fetcher: ``async (id) -> value | None``.
        :returns: the cached, fetched or already-live value, or ``None``.
        :raises IdentityMismatchError: when the fetched value has another id (nothing cached).
        :raises TypeError: when the fetcher returned something other than the pool's model.
        """
        return await _fetch.aget_or_fetch(self, id, fetcher)

    def get_or_fetch(self, id: Hashable, fetcher: Callable[[Any], T | None]) -> T | None:
        """Sync twin of :meth:`aget_or_fetch`: concurrent threads share one ``fetcher(id)`` call.

        :param id: the id.
        :param fetcher: ``(id) -> value | None`` (a plain function).
        :returns: the cached, fetched or already-live value, or ``None``.
        :raises IdentityMismatchError: when the fetched value has another id (nothing cached).
        :raises TypeError: when the fetcher returned an awaitable or not the pool's model.
        """
        return _fetch.get_or_fetch(self, id, fetcher)

    async def aget_or_fetch_many(
        self, ids: Iterable[Hashable], fetcher: Callable[[list[Any]], Awaitable[Iterable[T]]]
    ) -> list[T]:
        """The live values for ``ids``, fetching the missing ones in one ``await fetcher(...)``.

        ``fetcher`` receives the missing ids (deduplicated, in input order) and returns an
        iterable of values; all-hit or empty input never calls it. Every returned id must have
        been asked for; a duplicate returned id keeps the first value. The fetched values are
        inserted in one atomic commit that follows ``on_conflict``.

        :param ids: the ids.
        :param fetcher: ``async (missing_ids) -> iterable of values``.
        :returns: the hits in input order, then the fetched values in the fetcher's order.
        :raises IdentityMismatchError: when a returned id was not asked for (nothing inserted).
        :raises ConflictError: under ``OnConflict.REJECT`` when a fetched id is live by the time
            of the commit (nothing inserted).
        """
        return await _fetch.aget_or_fetch_many(self, ids, fetcher)

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
        :raises TypeError: when the fetcher returned an awaitable.
        """
        return _fetch.get_or_fetch_many(self, ids, fetcher)

    # queries --------------------------------------------------------------------------------

    def scope(self, *predicates: Predicate) -> Scope[T]:
        """A lazy query over the live values; the predicates are ANDed.

        :param predicates: zero or more predicates.
        :returns: a new :class:`Scope`.
        :raises TypeError: when an argument is not a predicate.
        """
        for predicate in predicates:
            if not isinstance(predicate, Predicate):
                raise TypeError(f"scope() takes sassi predicates, got {predicate!r}")
        if not predicates:
            return Scope(self)
        combined = predicates[0] if len(predicates) == 1 else And(tuple(predicates))
        return Scope(self, (MemQ.where(combined),))

    def _scope_source(self, ops: Sequence[MemQ]) -> tuple[list[Any], Sequence[MemQ]]:
        with self._lock:
            now = self._clock()
            if self._indexes:
                candidates = self._indexes.source(self._store, ops, now)
                if candidates is not None:  # leading where ops still run over the candidates
                    return candidates, ops
            store = self._store
            if ops and ops[0].kind == "where" and not store.any_expired(now):
                # A leading predicate scans the resident list in place, under the lock: its
                # output is the only copy made. A compiled predicate only reads fields and
                # compares operands, so holding the lock for the scan is short and safe.
                values = store.values
                matched = ops[0].apply(values)
                return (matched if matched is not values else values.copy()), ops[1:]
            return store.snapshot(now), ops

    def _explain(self, ops: Sequence[MemQ]) -> str:
        """One line: how a scope with ``ops`` reads the pool (which index, or a scan)."""
        with self._lock:
            return self._indexes.plan_ops(self._store, ops).explain

    # refresh (implemented in sassi._refresh) -------------------------------------------------

    def periodic_refresh(
        self,
        interval: float | timedelta,
        fetcher: Callable[[], Any],
        mode: RefreshMode = RefreshMode.UPSERT_ONLY,
    ) -> contextlib.AbstractAsyncContextManager[RefreshHandle]:
        """Refetch every row each ``interval`` while an ``async with`` block runs.

        ``async with pool.periodic_refresh(60, fetch_all) as handle:`` — ``fetcher()`` (async
        or plain) returns all rows. ``UPSERT_ONLY`` never deletes; ``REPLACE`` also removes live
        residents missing from the result (``Invalidated(MANUAL)``). Writes follow
        ``on_conflict`` (``REJECT`` keeps the old value) and the default ttl, in one commit per
        tick. The first scheduled tick comes one ``interval`` after entry; ``await
        handle.refresh_now()`` runs one in between (never overlapping a scheduled one) and
        raises what the fetch raised. Scheduled errors are logged and the loop goes on; a failed
        tick changes nothing. Leaving the block stops it.

        :param interval: seconds (or a ``timedelta``) between scheduled ticks.
        :param fetcher: ``() -> iterable of values``.
        :param mode: ``RefreshMode.UPSERT_ONLY`` (default) or ``RefreshMode.REPLACE``.
        :returns: an async context manager yielding a :class:`RefreshHandle`.
        :raises ValueError: when ``interval <= 0``.
        :raises TypeError: when ``mode`` is not a ``RefreshMode`` or ``fetcher`` not callable.
        """
        from . import _refresh

        return _refresh.periodic_refresh(self, interval, fetcher, mode)

    def delta_refresh(
        self, interval: float | timedelta, fetcher: Callable[[DeltaQuery[T]], Any]
    ) -> contextlib.AbstractAsyncContextManager[DeltaRefreshHandle[T]]:
        """Apply what changed since the last watermark, each ``interval``, while a block runs.

        ``async with pool.delta_refresh(30, fetch_changes) as handle:`` — ``fetcher(query)``
        (async or plain) gets a :class:`DeltaQuery` (``since``: the last successful watermark,
        inclusive, or ``None`` for everything; ``recover_ids``: evicted ids to send again) and
        returns a :class:`Delta`. See :class:`DeltaRefreshHandle` for ``update()``,
        ``update_full()``, ``watermark`` and eviction recovery.

        :param interval: seconds (or a ``timedelta``) between scheduled ticks.
        :param fetcher: ``(DeltaQuery) -> Delta``.
        :returns: an async context manager yielding a :class:`DeltaRefreshHandle`.
        :raises TypeError: when the model declares no ``watermark`` or ``fetcher`` is not
            callable.
        :raises ValueError: when ``interval <= 0``.
        """
        from . import _delta_refresh

        return _delta_refresh.delta_refresh(self, interval, fetcher)

    # events, stats, background --------------------------------------------------------------

    def events(self) -> Subscription:
        """Subscribe to this pool's future events (bounded and lossy; see :class:`Subscription`).

        :returns: a new subscription.
        """
        with self._lock:  # never between a commit's "anyone listening?" and its publish
            return self._hub.subscribe()

    def _record_fetch(self, n: int = 1) -> None:
        self._fetches.add(n)

    def _record_coalesced(self, n: int = 1) -> None:
        self._coalesced.add(n)

    def stats(self) -> PunnuStats:
        """A snapshot of the pool's counters.

        :returns: hits, misses, hit ratio, size, evictions per reason and fetch counters.
        """
        with self._lock:
            hits = self._next_epoch() - self._write_epochs
            evictions = dict(self._evictions)
            size = len(self._map)
        misses = self._misses.value
        total = hits + misses
        return PunnuStats(
            hits=hits,
            misses=misses,
            hit_ratio=hits / total if total else 0.0,
            size=size,
            evictions=evictions,
            fetches=self._fetches.value,
            coalesced_waiters=self._coalesced.value,
        )

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
        real time and expires by the pool's clock. Leaving the block stops everything.

        :returns: an async context manager yielding the pool.
        """
        async with anyio.create_task_group() as group:
            if self.config.sweep_interval is not None:
                group.start_soon(self._sweep_loop, self.config.sweep_interval)
            for task in self._background:
                group.start_soon(task, self)
            if self._background and self._tier is not None:
                # Don't run the body before the invalidation listener has subscribed (or
                # failed its first attempt): a message published right away must not be lost.
                await self._tier.wait_first_attempt()
            try:
                yield self
            finally:
                group.cancel_scope.cancel()

"""The pool's single write path: :class:`CommitPath`, the write half of :class:`PoolCore`.

Every change to a pool's residents — insert, invalidate, sweep, apply_delta, fetch inserts,
refresh, restore, backend invalidations — is one call of :meth:`CommitPath.commit` (or its
single-upsert fast path), made under the pool's write lock. A commit mutates the store through
its ``put``/``remove`` primitives, restores capacity (expired entries first, then sampled LRU),
then publishes its events while still holding the lock (so deliveries follow commit order and
happen only once the commit is visible), and calls the metrics hooks after releasing it. The
contract of ``commit``'s arguments and result is in :mod:`sassi._core`.
"""

from __future__ import annotations

import collections
import itertools
import random
import threading
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Final, Generic, TypeVar

from .._batch import sorted_by_id
from .._config import EventReason, OnConflict, PunnuConfig
from .._events import Event, EventHub, Inserted, Invalidated, Updated
from .._eviction import pick_victim
from .._stats import Metrics
from .._store import Entry, Store
from ..exceptions import ConflictError
from ._generations import Generations
from ._negatives import Negatives
from ._values import DEFAULT_TTL, CommitResult, Conflict, DefaultTTL, deadline_at

__all__ = ["NATIVE_TICKS", "CommitPath"]

T = TypeVar("T")


# Final: compiled, these are C statics instead of module-dict and class-attribute lookups
_REJECT: Final = OnConflict.REJECT

#: Whether this module runs compiled (mypyc): recency epochs are then a native int bump
#: (:meth:`CommitPath.stamp`), which needs no lock because compiled code never hands the GIL to
#: another thread between the read and the write.
NATIVE_TICKS: Final = not __file__.endswith(".py")
_UPDATE: Final = OnConflict.UPDATE
_NONE: Final[dict[Hashable, Any]] = {}  # read-only: "no survivors / priors" for _evict


class CommitPath(Generic[T]):
    """The write half of a pool core. :class:`~sassi._core.PoolCore` sets the state declared
    here."""

    config: PunnuConfig
    # copies of config fields the insert path reads (the config is frozen)
    capacity: int
    default_ttl: float | None
    policy: OnConflict
    type_name: str
    lock: threading.RLock
    acquire: Callable[[], Any]  # lock.acquire, bound once: compiled, a call of a stored C
    release: Callable[[], Any]  # method costs less than looking the method up on every write
    clock: Callable[[], float]
    store: Store
    map: dict[Hashable, Entry]
    size: int
    hub: EventHub
    epoch: itertools.count[int]  # the recency epochs as pure Python
    next_tick: Callable[[], int]  # its bound __next__
    ticks: int  # the recency epochs compiled
    write_epochs: int
    evictions: dict[EventReason, int]
    metrics: Metrics
    metrics_on: bool
    rng: random.Random
    generations: Generations
    negatives: Negatives | None

    def stamp(self) -> int:
        """The next recency epoch; any thread may draw one without the lock, and none is lost
        (``stats().hits`` is the epochs drawn minus the writes').

        Compiled, a bump of a native int: no allocation, and no point between its read and its
        write where the GIL could pass to another thread (no bytecode runs in between). As pure
        Python, ``next`` of an ``itertools.count``, one call in C, for the same guarantee.
        """
        if NATIVE_TICKS:
            ticks = self.ticks + 1
            self.ticks = ticks
            return ticks
        return self.next_tick()

    def next_epoch(self) -> int:
        self.write_epochs += 1
        return self.stamp()

    def deadline(self, now: float, seconds: float | None) -> float | None:
        """:func:`deadline_at` with the pool's ``ttl_jitter``: ``seconds`` times a uniform
        factor in ``[1 - ttl_jitter, 1]`` (SPEC 11.6)."""
        jitter = self.config.ttl_jitter
        if jitter and seconds is not None:
            seconds *= 1.0 - jitter * self.rng.random()
        return deadline_at(now, seconds)

    def reserve_epochs(self, n: int) -> int:
        """Draw ``n`` consecutive recency epochs (caller holds the lock); returns the first."""
        self.write_epochs += n
        if NATIVE_TICKS:
            first = self.ticks + 1
            self.ticks += n
            return first
        first = next(self.epoch)
        if n > 1:
            collections.deque(itertools.islice(self.epoch, n - 1), maxlen=0)
        return first

    def commit(
        self,
        upserts: Iterable[tuple[Hashable, T]] = (),
        removals: Iterable[Hashable] = (),
        *,
        reason: EventReason = EventReason.MANUAL,
        conflict: Conflict = Conflict.RAISE,
        ttl: float | DefaultTTL | None = DEFAULT_TTL,
        protect: bool = False,
        replace_all: bool = False,
        sweep: bool = False,
        hints: dict[Hashable, tuple[float | None, int]] | None = None,
        precheck: Callable[[float], None] | None = None,
        ordered: bool = False,
        keep_stored: bool = True,
    ) -> CommitResult:
        """The single write path; see the module docstring.

        ``ordered=True`` promises that ``upserts`` is a list of distinct ids in ascending order
        (what :func:`sassi._batch.normalize` returns): it is used as it is, not copied and sorted.
        ``keep_stored=False``: leave ``CommitResult.stored`` empty (a caller that never reads
        it, such as ``apply_delta``, saves a dict of every upsert).
        """
        if (
            type(upserts) is tuple
            and len(upserts) == 1
            and not removals
            and not (replace_all or sweep or hints)
        ):
            return self.commit_one(upserts[0], conflict, ttl, protect, precheck)
        config = self.config
        policy = config.on_conflict
        seconds = config.ttl if ttl is DEFAULT_TTL else ttl
        store = self.store
        entries = store.map
        result = CommitResult()
        with self.lock:
            now = self.clock()
            pending: dict[Hashable, T] | None = None  # only built when removals need it
            if ordered and isinstance(upserts, list):
                ordered_upserts: list[tuple[Hashable, T]] = upserts
            else:
                pending = {}
                for key, value in upserts:
                    pending.pop(key, None)
                    pending[key] = value
                ordered_upserts = (
                    list(pending.items()) if len(pending) < 2 else sorted_by_id(pending.items())
                )
            if conflict is Conflict.RAISE and policy is OnConflict.REJECT:
                for key, _ in ordered_upserts:
                    entry = entries.get(key)
                    if entry is not None and (entry.deadline is None or entry.deadline > now):
                        raise ConflictError(
                            f"{self.type_name} id {key!r} is already cached (OnConflict.REJECT)"
                        )
            if precheck is not None:
                precheck(now)

            removal_events: list[Event] = []
            removal_ids = list(removals)
            if pending is None and (removal_ids or replace_all):
                pending = dict(ordered_upserts)
            if replace_all:
                keep = pending if pending is not None else {}
                removal_ids.extend(k for k in store.keys if k not in keep)
            if self.generations:  # a fetch racing these removals must not write back
                self.generations.removed(removal_ids)
            if self.negatives:  # ids written or removed are no longer "not found"
                written_ids = (key for key, _ in ordered_upserts)
                self.negatives.forget_all(itertools.chain(written_ids, removal_ids))
            for key in removal_ids:
                if pending is not None and key in pending:
                    continue
                entry = store.remove(key)
                if entry is not None and (entry.deadline is None or entry.deadline > now):
                    result.removed += 1
                    removal_events.append(Invalidated(key, reason))
            if sweep:  # entries inside a stale window stay (invisible) until it ends
                for key, _ in store.pop_expired(now - config.stale_window):
                    result.removed += 1
                    removal_events.append(Invalidated(key, EventReason.TTL_EXPIRED))

            prior: dict[Hashable, Any] = {}  # id -> the live value this commit replaced
            survivors: dict[Hashable, Any] = {}  # id -> value written (evictions remove)
            # Without a subscriber and with room for every upsert, no event and no eviction
            # needs the survivors by id: count them instead (bulk loads into a pool).
            track = self.hub.active or len(entries) + len(ordered_upserts) > config.capacity
            written = replaced = 0
            epoch_base = 0
            if hints:
                epoch_base = self.reserve_epochs(1 + max(rank for _, rank in hints.values()))
            epoch = self.reserve_epochs(len(ordered_upserts)) if ordered_upserts else 0
            default_deadline = deadline_at(now, seconds)
            jitter = config.ttl_jitter and seconds is not None
            stored = result.stored
            for key, value in ordered_upserts:
                entry = entries.get(key)
                if entry is not None and (entry.deadline is None or entry.deadline > now):
                    old = entry.value
                    if conflict is Conflict.KEEP or (
                        policy is OnConflict.REJECT and conflict is not Conflict.REPLACE
                    ):
                        if keep_stored:
                            stored[key] = old
                        continue
                    if track:
                        prior[key] = old
                    replaced += 1
                hint = hints.get(key) if hints else None
                if hint is None:
                    deadline = self.deadline(now, seconds) if jitter else default_deadline
                    store.put_over(key, value, epoch, deadline, entry)
                    epoch += 1
                else:
                    hinted = deadline_at(now, hint[0])
                    store.put_over(key, value, epoch_base + hint[1], hinted, entry)
                if keep_stored:
                    stored[key] = value
                if track:
                    survivors[key] = value
                written += 1

            lru_events: list[Event] = []
            if track:
                if len(entries) > config.capacity:
                    protected = (
                        ordered_upserts[0][0] if protect and len(ordered_upserts) == 1 else None
                    )
                    self._evict(now, protected, survivors, prior, lru_events)
                written = len(survivors)
                replaced = sum(1 for k in survivors if k in prior) if prior else 0
            result.applied = written
            result.updated = replaced
            result.inserted = written - replaced
            result.lru_evictions = len(lru_events)
            events = result.events
            events.extend(removal_events)
            events.extend(lru_events)
            if survivors and self.hub.active:  # nobody listening: skip building them
                if policy is OnConflict.UPDATE and prior:
                    events.extend(
                        Updated(prior[k], v) if k in prior else Inserted(v)
                        for k, v in survivors.items()
                    )
                else:
                    events.extend(map(Inserted, survivors.values()))
            self._publish(events)
        self._after_commit(events, bool(events) or written > 0)
        return result

    def commit_one(
        self,
        upsert: tuple[Hashable, T],
        conflict: Conflict,
        ttl: float | DefaultTTL | None,
        protect: bool,
        precheck: Callable[[float], None] | None,
    ) -> CommitResult:
        """:meth:`_commit` for exactly one upsert and nothing else (the insert/fetch path)."""
        key, value = upsert
        policy = self.config.on_conflict
        result = CommitResult()
        with self.lock:
            now = self.clock()
            entry = self.map.get(key)
            if entry is not None and (entry.deadline is None or entry.deadline > now):
                old = entry.value
                if conflict is Conflict.KEEP or (
                    policy is OnConflict.REJECT and conflict is not Conflict.REPLACE
                ):
                    if conflict is Conflict.RAISE:
                        raise ConflictError(
                            f"{self.type_name} id {key!r} is already cached (OnConflict.REJECT)"
                        )
                    if precheck is not None:
                        precheck(now)
                    result.stored[key] = old
                    return result
                result.updated = 1
            else:
                old = None
                result.inserted = 1
            if precheck is not None:
                precheck(now)
            seconds = self.config.ttl if ttl is DEFAULT_TTL else ttl
            if self.negatives:
                self.negatives.forget(key)
            jittered = self.config.ttl_jitter
            deadline = self.deadline(now, seconds) if jittered else deadline_at(now, seconds)
            self.store.put(key, value, self.next_epoch(), deadline)
            result.stored[key] = value
            events = result.events
            if len(self.map) > self.config.capacity:
                survivors = {key: value}
                prior = {key: old} if result.updated else {}
                self._evict(now, key if protect else None, survivors, prior, events)
                result.lru_evictions = len(events)
                if key not in survivors:
                    result.inserted = result.updated = 0
                    self._publish(events)
                    self._after_commit(events, bool(events))
                    return result
            result.applied = 1
            if self.hub.active:  # nobody listening: skip building the event
                if result.updated and policy is OnConflict.UPDATE:
                    events.append(Updated(old, value))
                else:
                    events.append(Inserted(value))
            self._publish(events)
        self._after_commit(events, True)
        return result

    def insert_one(self, key: Hashable, value: T, ttl: float | DefaultTTL | None) -> None:
        """``commit_one((key, value), Conflict.RAISE, ttl, True, None)`` without building a
        :class:`CommitResult`: the plain ``insert`` path.

        The clock is read only when a deadline is involved (a ttl, or timed residents) or the
        write overflows the capacity; the result is the same as reading it first. The lock is
        taken with ``acquire``/``release`` bound once (cheaper than ``with`` on this path,
        compiled or not).
        """
        policy = self.policy
        seconds = self.default_ttl if ttl is DEFAULT_TTL else ttl
        store = self.store
        entries = store.map
        self.acquire()
        try:
            timed = seconds is not None or store.timed > 0
            now = self.clock() if timed else 0.0
            entry = entries.get(key)
            old: Any = None
            updated = False
            if entry is not None:
                deadline = entry.deadline
                if deadline is None or deadline > now:
                    if policy is _REJECT:
                        raise ConflictError(
                            f"{self.type_name} id {key!r} is already cached (OnConflict.REJECT)"
                        )
                    old = entry.value
                    updated = True
            if self.negatives:  # a written id is no longer "not found" (negative_ttl)
                self.negatives.forget(key)
            self.write_epochs += 1
            if seconds is None:
                deadline_of_value = None
            elif self.config.ttl_jitter:
                deadline_of_value = self.deadline(now, seconds)
            else:
                deadline_of_value = deadline_at(now, seconds)
            store.put_over(key, value, self.stamp(), deadline_of_value, entry)
            events: list[Event] = []
            if len(entries) > self.capacity:
                if not timed:
                    now = self.clock()
                # key is protected, so it is never a victim: no survivors or priors to track;
                # with nobody to tell (no subscriber, no metrics) the evictions are only counted
                heard = self.hub.active or self.metrics_on
                self._evict(now, key, _NONE, _NONE, events if heard else None)
            if self.hub.active:  # nobody listening: skip building the event
                if updated and policy is _UPDATE:
                    events.append(Updated(old, value))
                else:
                    events.append(Inserted(value))
            self._publish(events)
        finally:
            self.release()
        self._after_commit(events, True)

    def drop_unchanged(
        self, upserts: list[tuple[Hashable, T]]
    ) -> tuple[list[tuple[Hashable, T]], int]:
        """Refresh ticks: ``(upserts without those equal to their live resident, how many)``.

        An item ``==`` to the live value under its id is left alone: no write, no event, no
        recency change; only its expiry is renewed to the pool's default ttl (the tick has just
        confirmed it). An ``==`` that raises counts as a change. Call with the lock held.
        """
        entries = self.map
        now = self.clock()
        changed: list[tuple[Hashable, T]] = []
        unchanged = 0
        for key, value in upserts:
            entry = entries.get(key)
            if entry is not None and (entry.deadline is None or entry.deadline > now):
                try:
                    same = bool(entry.value == value)
                except Exception:
                    same = False
                if same:
                    unchanged += 1
                    deadline = self.deadline(now, self.config.ttl)
                    if entry.deadline != deadline:
                        self.store.put(key, entry.value, entry.epoch, deadline)
                    continue
            changed.append((key, value))
        return changed, unchanged

    def _evict(
        self,
        now: float,
        protected: Hashable | None,
        survivors: dict[Hashable, Any],
        prior: dict[Hashable, Any],
        lru_events: list[Event] | None,
    ) -> None:
        """Bring the store back to capacity (caller holds the lock and checked it is over).

        Drops every expired entry silently, then evicts sampled-LRU victims. A victim that is
        one of this commit's upserts leaves ``survivors``; it gets an ``LRU_EVICT`` event only
        if a live value was resident before the commit (in ``prior``; otherwise transient).
        ``lru_events=None``: build no events, only count the evictions (``stats().evictions``;
        :meth:`_publish` counts the events it is given).
        """
        store = self.store
        entries = store.map
        capacity = self.config.capacity
        store.pop_expired(now)
        uncounted = 0
        while len(entries) > capacity:
            victim = pick_victim(store, protected, self.rng)
            if victim is None:
                break
            store.remove(victim)
            if victim in survivors:
                del survivors[victim]
                if victim not in prior:
                    continue
            if lru_events is None:
                uncounted += 1
            else:
                lru_events.append(Invalidated(victim, EventReason.LRU_EVICT))
        if uncounted:
            self.evictions[EventReason.LRU_EVICT] += uncounted

    def _publish(self, events: list[Event]) -> None:
        """Count and deliver a commit's events and publish its size (caller holds the lock)."""
        if events:
            evictions = self.evictions
            for event in events:
                if type(event) is Invalidated:
                    evictions[event.reason] += 1
            self.hub.publish(events)
        self.size = len(self.map)

    def _after_commit(self, events: list[Event], changed: bool) -> None:
        """Metrics for a committed write (called after releasing the lock; never raises).

        ``changed``: the commit emitted at least one event (built or not: upsert events are
        only materialised when someone subscribes), so a size sample is due.
        """
        if changed and self.metrics_on:
            metrics = self.metrics
            for event in events:
                if type(event) is Invalidated:
                    metrics.eviction(event.reason)
            metrics.size(self.size)

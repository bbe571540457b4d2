""":class:`PoolCore`: the state of one pool and the operations every feature builds on.

Reads (``get``, ``contains``, ``size``) take no lock: one dict lookup, a deadline check skipped
for entries without a deadline, an epoch store (``size`` is the count published at the end of
the last commit, so it never shows a commit's transient overshoot of ``capacity``). Hits are
counted for free: every epoch drawn outside the write lock is a hit. Every write takes
``lock`` (re-entrant) and goes through :meth:`~sassi._core.CommitPath.commit`.
"""

from __future__ import annotations

import functools
import itertools
import random
import threading
from collections.abc import Callable, Coroutine, Hashable
from datetime import timedelta
from typing import Any, Generic, TypeVar

from .._clock import monotonic
from .._config import CacheTier, EventReason, PunnuConfig, positive_seconds
from .._events import EventHub, Subscription
from .._index import IndexSet
from .._model import ModelInfo, check_portable
from .._reservations import Reservations
from .._stats import Metrics, PunnuStats
from .._store import Store
from ._checks import exact_id_type, id_check, never_none_fields
from ._commit import NATIVE_TICKS, CommitPath
from ._generations import Generations
from ._negatives import Negatives
from ._values import DEFAULT_TTL, Tally

__all__ = ["PoolCore"]

T = TypeVar("T")


class PoolCore(CommitPath[T], Generic[T]):
    """The store, write lock, commit path, events, metrics, clock and fetch generations.

    :param model: the model class.
    :param info: its :func:`~sassi._model.model_info`.
    :param config: the validated pool options.
    :param clock: the monotonic clock (``None``: ``time.monotonic``).
    :param metrics: the user's metrics object, or ``None``.
    """

    __slots__ = (
        "_id_check",
        "_id_type",
        "acquire",
        "backend_errors",
        "background",
        "capacity",
        "checks",
        "clock",
        "coalesced",
        "config",
        "default_ttl",
        "epoch",
        "evictions",
        "fetch_errors",
        "fetches",
        "generations",
        "hub",
        "id_of",
        "indexes",
        "info",
        "lock",
        "map",
        "metrics",
        "metrics_on",
        "misses",
        "model",
        "negative_hits",
        "negatives",
        "never_none",
        "next_tick",
        "policy",
        "release",
        "reservations",
        "rng",
        "size",
        "store",
        "ticks",
        "type_name",
        "write_epochs",
    )

    def __init__(
        self,
        model: type[T],
        info: ModelInfo,
        config: PunnuConfig,
        clock: Callable[[], float] | None,
        metrics: Any,
    ) -> None:
        self.model: type[T] = model
        self.info = info
        self.type_name: str = info.type_name
        self.config = config
        self.capacity = config.capacity
        self.default_ttl = config.ttl
        self.policy = config.on_conflict
        self.id_of: Callable[[Any], Hashable] = info.get_id
        self.clock: Callable[[], float] = clock if clock is not None else monotonic
        self.lock = threading.RLock()
        self.acquire = self.lock.acquire
        self.release = self.lock.release
        self.store = Store()
        self.map = self.store.map
        self.size = 0
        # secondary indexes (sassi._index); terms on the id field use the map itself
        self.indexes = IndexSet(config.indexes, id_field=info.id_field)
        if self.indexes:
            self.store.observers.append(self.indexes)
        self.hub = EventHub(config.event_capacity)
        self.epoch = itertools.count(1)
        self.next_tick = self.epoch.__next__
        self.ticks = 0
        self.write_epochs = 0
        self.misses = Tally()
        self.fetches = Tally()
        self.coalesced = Tally()
        self.backend_errors = Tally()
        self.evictions: dict[EventReason, int] = dict.fromkeys(EventReason, 0)
        self.metrics = Metrics(metrics, self.type_name)
        self.metrics_on = metrics is not None
        self.rng = random.Random()
        # negative_ttl: remembered "not found" answers, forgotten by any commit of their id
        # and by whole-pool / by-predicate removals (SPEC 11.6)
        self.negatives: Negatives | None = None
        self.negative_hits = Tally()
        self.fetch_errors = Tally()
        if config.negative_ttl is not None:
            self.negatives = Negatives(config.capacity)
        self.generations = Generations(None if self.negatives is None else self.negatives.clear)
        # Set by the tier under BackendFailure.ERROR: the ids strict backend writes hold now
        # (deltas, refresh ticks, fetch inserts and restores must not touch those).
        self.reservations: Reservations | None = None
        # ``async def task()`` factories that ``pool.background()`` runs (e.g. the listener).
        self.background: list[Callable[[], Coroutine[Any, Any, None]]] = []
        # Checks every value must pass before it is stored: ``check(value) -> None`` or raise.
        self.checks: list[Callable[[Any], None]] = []
        if info.wire_portable:  # cacheable(wire_portable=True): no NaN or infinities
            self.checks.append(functools.partial(check_portable, info))
        self._id_check = id_check(info)
        self._id_type = exact_id_type(info)  # ids of exactly this class skip _id_check
        self.never_none = never_none_fields(info)  # scans skip their None guards

    # reads ------------------------------------------------------------------------------------

    def get(self, id: Hashable) -> T | None:
        """The live value stored under ``id``, or ``None``. L1 only; never touches a backend.

        A hit refreshes LRU recency. An expired entry reads as ``None``, stays resident and
        emits nothing (lazy expiry).

        :param id: the id.
        :returns: the value or ``None``.
        """
        entry = self.map.get(id)
        if entry is not None:
            deadline = entry.deadline
            if deadline is None or deadline > self.clock():
                if NATIVE_TICKS:  # CommitPath.stamp() inlined: the hottest path of all
                    ticks = self.ticks + 1
                    self.ticks = ticks
                    entry.epoch = ticks
                else:
                    entry.epoch = self.next_tick()
                if self.metrics_on:
                    self.metrics.hit(CacheTier.L1)
                return entry.value  # type: ignore[no-any-return]
            self.expired_read()
            return None
        self.miss()
        return None

    def insert(self, value: T, *, ttl: float | timedelta | None = None) -> T:
        """:meth:`sassi.Punnu.insert` (documented there) for a pool without a backend, which
        installs this bound method as its ``insert``: check the value, then one commit."""
        key = self.checked_id(value)
        self.insert_one(key, value, DEFAULT_TTL if ttl is None else positive_seconds(ttl, "ttl"))
        return value

    def peek(self, id: Hashable) -> T | None:
        """The live value under ``id`` without touching recency or counters."""
        entry = self.map.get(id)
        if entry is None:
            return None
        deadline = entry.deadline
        if deadline is None or deadline > self.clock():
            return entry.value  # type: ignore[no-any-return]
        return None

    def stale(self, id: Hashable, window: float | None) -> T | None:
        """The value of an entry under ``id`` that expired less than ``window`` seconds ago
        (stale serving, SPEC 11.6), else ``None``. Uncounted; a live entry is not stale."""
        entry = self.map.get(id)
        if entry is None or entry.deadline is None or not window:
            return None
        now = self.clock()
        if entry.deadline > now or now - entry.deadline >= window:
            return None
        return entry.value  # type: ignore[no-any-return]

    def contains(self, id: object) -> bool:
        """Whether a live value is stored under ``id`` (no counters)."""
        entry = self.map.get(id)
        if entry is None:
            return False
        deadline = entry.deadline
        return deadline is None or deadline > self.clock()

    def expired_read(self) -> None:
        """Count a read that found only an expired entry (a TTL eviction and a miss)."""
        self.evictions[EventReason.TTL_EXPIRED] += 1
        if self.metrics_on:
            self.metrics.eviction(EventReason.TTL_EXPIRED)
        self.miss()

    def miss(self) -> None:
        """Count a miss."""
        self.misses.bump()
        if self.metrics_on:
            self.metrics.miss()

    # values -----------------------------------------------------------------------------------

    def checked_id(self, value: object) -> Hashable:
        """The id of ``value`` after checking it may be stored in this pool.

        :raises TypeError: when ``value`` is not an instance of the model, or its id does not
            fit the model's annotated id type.
        :raises ValueError: when a value check (e.g. ``wire_portable``) refuses it.
        """
        if not isinstance(value, self.model):
            raise TypeError(
                f"this pool holds {self.model.__qualname__} values, got {type(value).__qualname__}"
            )
        if self.checks:
            for check in self.checks:
                check(value)
        key = self.id_of(value)
        if self._id_check is not None and type(key) is not self._id_type:
            self._id_check(key)
        return key

    # events and stats -------------------------------------------------------------------------

    def backend_error(self, error: BaseException) -> None:
        """Count one backend failure the pool carried on from, and report it to the hooks."""
        self.backend_errors.bump()
        self.metrics.backend_error(error)

    def subscribe(self) -> Subscription:
        """A new event subscription (taken under the lock, never inside a commit)."""
        with self.lock:
            return self.hub.subscribe()

    def stats(self) -> PunnuStats:
        """A snapshot of the counters."""
        with self.lock:
            hits = self.next_epoch() - self.write_epochs
            evictions = dict(self.evictions)
            size = len(self.map)
        misses = self.misses.value
        total = hits + misses
        return PunnuStats(
            hits=hits,
            misses=misses,
            hit_ratio=hits / total if total else 0.0,
            size=size,
            evictions=evictions,
            fetches=self.fetches.value,
            coalesced_waiters=self.coalesced.value,
            backend_errors=self.backend_errors.value,
            negative_hits=self.negative_hits.value,
            fetch_errors=self.fetch_errors.value,
        )

    def __repr__(self) -> str:
        return f"<PoolCore[{self.model.__qualname__}] {len(self.map)}/{self.config.capacity}>"

"""The pool core: the floor every pool feature stands on (see ``docs/architecture.md``).

A :class:`PoolCore` owns a pool's mutable state and the one way to change it. Features —
fetching (:mod:`sassi._fetch`), the L2 tier (:mod:`sassi._tier`), refresh, delta refresh,
scopes, snapshots — receive a core and use only the interface below; none of them imports
:class:`~sassi.Punnu`, which is a facade that composes them. Nothing here awaits.

The interface
=============

``core.model``, ``core.type_name``, ``core.config``, ``core.info``, ``core.id_of(value)``
    The model class, its :func:`sassi.type_name`, the validated options, its
    :class:`~sassi._model.ModelInfo` and the id getter.
``core.checked_id(value)``
    The id of a value that may be stored here (model type and value checks), or raise.
``core.clock()``
    The pool's monotonic clock, read once per operation.
``core.lock``
    ``threading.RLock``: the write lock. Hold it to make several steps atomic with respect to
    other writers and to scope snapshots; ``commit`` re-acquires it.
``core.commit(upserts=(), removals=(), *, reason=EventReason.MANUAL, conflict=Conflict.RAISE,
ttl=DEFAULT_TTL, protect=False, replace_all=False, sweep=False, hints=None, precheck=None)``
    The only way to change residents; returns a :class:`CommitResult`. A call with exactly one
    upsert in a ``tuple`` and nothing else takes a fast path with the same semantics.

    - ``upserts``: ``(id, value)`` pairs (duplicate ids: the last wins). Applied in ascending id
      order when there is more than one.
    - ``removals``: ids to remove; live ones emit ``Invalidated(id, reason)``, expired ones go
      silently, absent ones are ignored; an id also in ``upserts`` is not removed.
    - ``conflict``: :class:`Conflict` — ``RAISE`` (the pool's ``on_conflict``; ``REJECT`` raises
      ``ConflictError`` before any mutation if any upsert id is live), ``SKIP`` (``REJECT`` skips
      live priors silently), ``KEEP`` (a live prior always wins: "insert if absent or expired",
      for fetch inserts), ``REPLACE`` (always replace; ``Updated`` under ``UPDATE`` pools, else
      ``Inserted``: restore).
    - ``ttl``: ``DEFAULT_TTL`` (pool default), ``None`` (never expires) or seconds; the pool's
      ``ttl_jitter`` scales each entry's ttl by a uniform factor in ``[1 - j, 1]``
      (``core.deadline(now, seconds)``), except restored ``hints``.
    - ``protect``: a single upsert never evicts itself (single insert / single fetch).
    - ``replace_all``: also remove every resident not in ``upserts`` (REPLACE refresh, restore).
    - ``sweep``: also remove every expired entry, emitting ``Invalidated(id, TTL_EXPIRED)``,
      except those still inside the pool's stale window (``config.stale_window``: the longer
      of ``stale_while_revalidate`` and ``stale_if_error``); they stay, invisible, until it
      ends. Capacity pressure still drops every expired entry first.
    - ``hints``: ``{id: (remaining_ttl_seconds | None, lru_rank)}`` for restoring internal state:
      overrides ``ttl`` per id and orders recency by rank (0 = oldest).
    - ``precheck(now)``: runs under the lock before any mutation; raise to abort with nothing
      changed (e.g. a strict backend reservation, a fetch generation check).

    Event order: removals (incl. ``replace_all`` and ``sweep``), then LRU evictions, then
    ``Inserted``/``Updated`` of the upserts that survived, in id order. Every id a commit
    upserts or removes is forgotten by ``core.negatives``.
``CommitResult``
    ``events`` (what was published; ``Inserted``/``Updated`` are only built while the pool has
    a subscriber, ``Invalidated`` always), ``stored`` (id -> the value resident for each upsert id
    after the upsert step: the new value, or the live prior that was kept), ``applied``
    (surviving upserts), ``inserted``/``updated`` (survivors without/with a live prior),
    ``removed`` (live entries removed by removals/replace_all/sweep), ``lru_evictions``.
``core.get(id)`` / ``core.peek(id)`` / ``core.contains(id)`` / ``core.size``
    Reads: counted (hit/miss, recency), uncounted, membership, the published size.
``core.stale(id, window)``
    The value of an entry that expired less than ``window`` seconds ago (stale serving).
``core.negatives``
    ``None``, or (``negative_ttl``) the :class:`~sassi._core._negatives.Negatives` store of
    remembered "not found" answers: bounded by ``capacity``, never residents.
``core.store``, ``core.map``, ``core.indexes``
    The :class:`~sassi._store.Store` (``store.map``: id -> :class:`~sassi._store.Entry`), and
    the :class:`~sassi._index.IndexSet` observing it. Observers registered with
    ``core.store.observers.append(obj)`` see every mutation (``on_put(id, old, new)`` /
    ``on_remove(id, old)``, given the store's :class:`~sassi._store.Entry` objects).
``core.generations``
    :class:`Generations`: fetches register there; ``commit`` bumps the ids it removes
    explicitly; whole-pool and by-predicate removals call ``removed_all()`` /
    ``removed_where(test)`` (under the lock), which also clear ``core.negatives``;
    ``raced(ticket, id)`` tells whether any removal could concern a fetch that found nothing.
``core.reservations``
    ``None``, or (set by the tier under ``BackendFailure.ERROR``) the
    :class:`~sassi._reservations.Reservations` of strict backend writes in flight:
    ``count(ids)``, ``held()``, ``any()``.
``core.background``
    ``async def task()`` factories that ``pool.background()`` starts next to the TTL sweep.
``core.checks``
    ``check(value)`` callables every stored value passes (``checked_id`` runs them).
``core.metrics`` / ``core.metrics_on``, ``core.fetches`` / ``core.coalesced`` / ``core.misses``
/ ``core.negative_hits`` / ``core.fetch_errors``
    The metrics hooks (never raise) and the counters ``stats()`` reports.
``core.subscribe()`` / ``core.stats()``
    A new event subscription; a snapshot of the counters.
"""

from ._commit import CommitPath as CommitPath
from ._generations import Generations as Generations
from ._generations import Ticket as Ticket
from ._pool import PoolCore as PoolCore
from ._values import DEFAULT_TTL as DEFAULT_TTL
from ._values import CommitResult as CommitResult
from ._values import Conflict as Conflict
from ._values import DefaultTTL as DefaultTTL
from ._values import Tally as Tally
from ._values import deadline_at as deadline_at

__all__ = [
    "DEFAULT_TTL",
    "CommitPath",
    "CommitResult",
    "Conflict",
    "DefaultTTL",
    "Generations",
    "PoolCore",
    "Tally",
    "Ticket",
    "deadline_at",
]

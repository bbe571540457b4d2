"""Fetch-on-miss for the pool: ``get_or_fetch``, ``get_or_fetch_many`` (sync and async) and
``pool.loader(...)`` (batched loading, :mod:`._loader`).

Each operation is written once as a sans-I/O generator (:mod:`sassi._effects`) and driven by
the sync API (blocking, any thread) or the async one (asyncio or trio). Fetchers of either
colour are accepted by the async API (a plain function runs in a worker thread); the sync API
refuses async fetchers with a ``TypeError``.

Single fetches go through single-flight engines (:mod:`sassi._flight`): concurrent callers for
one id share one fetcher call, and the L1 insert happens once inside that call as "insert if
absent or expired, else keep the live value" (``OnConflict`` is not applied), so however many
callers waited there is exactly one ``Inserted`` event and all of them get the same object.

No stale write-back: each fetch registers in the core's :class:`~sassi._core.Generations`; a
removal that races it (by id, whole-pool, or by a predicate its value matches) makes the
write-back a no-op, checked under the write lock. A fetch that lost that race returns its value
uncached.

Batch fetches call the fetcher once with the missing ids, validate the whole answer before
touching the pool, and insert it in one commit that follows the pool's ``on_conflict``.

Cache policies (SPEC 11.6), decided here and nowhere else:

- ``negative_ttl``: a fetcher's ``None`` (or an id a batch fetcher left out) is remembered in
  ``core.negatives`` unless a removal raced the fetch or a live value appeared; lookups answer
  ``None`` from it (``stats().negative_hits``) without calling a fetcher.
- ``stale_if_error``: a fetcher that raises, for an id whose entry expired less than
  ``stale_if_error`` ago, yields that stale value (logged, ``stats().fetch_errors``) instead of
  the error — for every waiter of the flight, and per id in a loader's batch.
- ``stale_while_revalidate``: on an entry that expired less than that long ago, a caller that
  finds a flight of the id running, or can hand the refetch to ``pool.background()``, returns
  the stale value at once; otherwise it runs the refetch itself (an ordinary flight: L2, the
  fetcher, no stale write-back) and waits for it.
- A fetcher's ``None`` also drops an expired entry of the id kept for stale serving: the
  source has no such row any more.

Modules: :mod:`._fetching` (the operations), :mod:`._policies` (the policies above),
:mod:`._checks` (what a fetcher returned), :mod:`._loader` (``Loader``).
"""

from ._fetching import Fetching as Fetching
from ._loader import Loader as Loader

__all__ = ["Fetching", "Loader"]

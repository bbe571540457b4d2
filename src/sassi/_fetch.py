"""Fetch-on-miss for the pool: ``get_or_fetch`` and ``get_or_fetch_many``, sync and async.

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
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

from ._core import Conflict, PoolCore, Ticket
from ._effects import CallFetcher, Op, drive_async, drive_sync
from ._flight import TaskFlights, ThreadFlights
from ._tier import Fleet, Tiering
from .exceptions import IdentityMismatchError

__all__ = ["Fetching"]

T = TypeVar("T")


class _Retry(Exception):
    """A strict backend write holds one of the ids: wait for it, then try the insert again."""


class Fetching(Generic[T]):
    """The fetch helpers of one pool.

    :param core: the pool core.
    :param tier: the pool's L2 tier, or ``None``.
    """

    def __init__(self, core: PoolCore[T], tier: Tiering | None) -> None:
        self.core = core
        self.tier = tier
        self.fleet = None if tier is None else Fleet(tier, core.config.fetch_lease)
        self.tasks: TaskFlights[Any] = TaskFlights(core.coalesced.bump)
        self.threads: ThreadFlights[Any] = ThreadFlights(core.coalesced.bump)

    # --- the public operations -------------------------------------------------------------

    async def aget_or_fetch(self, key: Hashable, fetcher: Callable[[Any], Any]) -> T | None:
        """``Punnu.aget_or_fetch``: L1, else one shared fetcher call per id."""
        value = self.core.get(key)
        if value is not None:
            return value
        started = time.perf_counter()
        try:
            result = await self.tasks.run(
                key, lambda: drive_async(self._fetch_one(key, fetcher, "get_or_fetch"))
            )
        except Exception:
            self._latency(started)
            raise
        self._latency(started)
        return result  # type: ignore[no-any-return]

    def get_or_fetch(self, key: Hashable, fetcher: Callable[[Any], Any]) -> T | None:
        """``Punnu.get_or_fetch``: L1, else one shared ``fetcher(key)`` call across threads."""
        value = self.core.get(key)
        if value is not None:
            return value
        started = time.perf_counter()
        try:
            result = self.threads.run(
                key, lambda: drive_sync(self._fetch_one(key, fetcher, "get_or_fetch"))
            )
        finally:
            self._latency(started)
        return result  # type: ignore[no-any-return]

    async def aget_or_fetch_many(
        self, keys: Iterable[Hashable], fetcher: Callable[[list[Any]], Any]
    ) -> list[T]:
        """``Punnu.aget_or_fetch_many``: the hits, then one fetcher call for the misses."""
        return await drive_async(self._fetch_many(keys, fetcher))

    def get_or_fetch_many(
        self, keys: Iterable[Hashable], fetcher: Callable[[list[Any]], Any]
    ) -> list[T]:
        """``Punnu.get_or_fetch_many``: the hits, then one ``fetcher(missing)`` call."""
        return drive_sync(self._fetch_many(keys, fetcher))

    # --- the operations, once --------------------------------------------------------------

    def _fetch_one(self, key: Hashable, fetcher: Callable[[Any], Any], api: str) -> Op[T | None]:
        """Inside the flight: L2, else (holding the fleet's lease for ``key`` when the backend
        has leases) the fetcher; the value goes to L2 and L1 unless a removal raced it."""
        core = self.core
        live = core.peek(key)  # a flight that ended just before ours started already filled L1
        if live is not None:
            return live
        fleet = self.fleet
        ticket = self._begin((key,))
        lease: str | None = None
        try:
            version: Hashable | None = None
            if fleet is not None:
                found, version = (yield from fleet.read([key], versioned=False))[0]
                if found is None and fleet.leases:
                    lease, found, version = yield from self._lease(fleet, key)
                elif found is None:  # the version this fetch's write-back compares with
                    found, version = (yield from fleet.read([key]))[0]
                if found is not None:
                    stored = yield from self._store(ticket, {key: found}, Conflict.KEEP)
                    return stored.get(key, found)
            core.fetches.bump()
            result = yield CallFetcher(fetcher, api, key)
            if result is None:
                return None
            value = self._check_one(key, result, fetcher)
            if fleet is not None and key in (yield from fleet.write({key: value}, {key: version})):
                return value  # an invalidation somewhere in the fleet beat this fetch
            stored = yield from self._store(ticket, {key: value}, Conflict.KEEP)
            return stored.get(key, value)  # type: ignore[no-any-return]
        finally:
            if lease and fleet is not None:
                yield from fleet.release(key, lease)
            self._end(ticket)

    def _lease(self, fleet: Fleet, key: Hashable) -> Op[tuple[str | None, Any, Hashable | None]]:
        """``(lease token, value found in L2, version)``: take the fleet's lease of ``key``, or
        wait (at most ``fetch_lease``) for its holder's value to land, taking the lease over
        when the holder gives up or dies. After waiting in vain: fetch without a lease."""
        deadline = time.monotonic() + (fleet.lease_seconds or 0.0)
        while True:
            lease = yield from fleet.acquire(key)
            if lease is not None:
                # re-read under the lease: the value may have landed since the first read
                found, version = (yield from fleet.read([key]))[0]
                return lease, found, version
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                found, version = (yield from fleet.read([key]))[0]
                return None, found, version
            yield from fleet.wait(key, remaining)
            found, version = (yield from fleet.read([key]))[0]
            if found is not None:
                return None, found, version

    def _fetch_many(
        self, keys: Iterable[Hashable], fetcher: Callable[[list[Any]], Any]
    ) -> Op[list[T]]:
        hits, missing = self._split(keys)
        if not missing:
            return hits
        fleet = self.fleet
        ticket = self._begin(missing)
        started = time.perf_counter()
        try:
            versions: dict[Hashable, Hashable | None] = {}
            if fleet is not None:  # one batched L2 read for the L1 misses
                rows = yield from fleet.read(list(missing))
                found = {k: v for k, (v, _) in zip(missing, rows, strict=True) if v is not None}
                versions = {k: ver for k, (_, ver) in zip(missing, rows, strict=True)}
                if found:
                    stored = yield from self._store(ticket, found, Conflict.KEEP)
                    hits.extend(stored.get(k, v) for k, v in found.items())
                    missing = {k: None for k in missing if k not in found}
                    if not missing:
                        return hits
            self.core.fetches.bump()
            result = yield CallFetcher(fetcher, "get_or_fetch_many", list(missing), collect=True)
            fetched = self._check_many(missing, result, fetcher)
            lost: set[Hashable] = set()
            if fleet is not None and fetched:  # one batched write-back
                lost = yield from fleet.write(fetched, versions)
            keep = {k: v for k, v in fetched.items() if k not in lost}
            yield from self._store(ticket, keep, Conflict.RAISE)
        finally:
            self._end(ticket)
            self._latency(started)
        hits.extend(fetched.values())
        return hits

    def _store(
        self, ticket: Ticket, values: dict[Hashable, T], conflict: Conflict
    ) -> Op[dict[Hashable, Any]]:
        """Commit fetched values, waiting out strict backend writes that hold their ids."""
        while True:
            try:
                return self._commit_fetched(ticket, values, conflict)
            except _Retry:
                assert self.tier is not None
                for key in values:
                    yield from self.tier.wait_unreserved(key)

    def _commit_fetched(
        self, ticket: Ticket, values: dict[Hashable, T], conflict: Conflict
    ) -> dict[Hashable, Any]:
        """Insert ``values`` except those a removal raced; returns ``CommitResult.stored``.

        ``Conflict.KEEP`` (a single fetch, an L2 fill): "insert if absent or expired, else keep
        the live value"; ``Conflict.RAISE`` (a batch fetch) follows the pool's ``on_conflict``.

        :raises _Retry: when a strict backend write holds one of the ids (nothing changed).
        :raises ConflictError: (batch under ``REJECT``) when one of the ids is live.
        """
        core = self.core
        with core.lock:  # re-entrant: the checks and the commit form one atomic step
            if core.reservations is not None and core.reservations.count(list(values)):
                raise _Retry
            stale = core.generations.stale(ticket, values)
            upserts = tuple((k, v) for k, v in values.items() if k not in stale)
            if not upserts:
                return {}
            result = core.commit(upserts, conflict=conflict, protect=conflict is Conflict.KEEP)
        return result.stored

    # --- helpers -------------------------------------------------------------------------------

    def _begin(self, keys: Iterable[Hashable]) -> Ticket:
        core = self.core
        with core.lock:
            return core.generations.begin(keys)

    def _end(self, ticket: Ticket) -> None:
        core = self.core
        with core.lock:
            core.generations.end(ticket)

    def _latency(self, started: float) -> None:
        """Report one slow-path call (an L1 miss) to ``metrics.record_fetch_latency``."""
        self.core.metrics.fetch_latency(time.perf_counter() - started)

    def _checked(self, value: object, fetcher: object, asked: str) -> Hashable:
        """``core.checked_id`` with a message that names the fetcher and what it was asked."""
        try:
            return self.core.checked_id(value)
        except TypeError as exc:
            raise TypeError(f"the fetcher {fetcher!r}, asked for {asked}: {exc}") from None

    def _check_one(self, key: Hashable, value: object, fetcher: object) -> T:
        core = self.core
        got = self._checked(value, fetcher, f"{core.type_name} id {key!r}")
        if got != key:
            raise IdentityMismatchError(
                f"{core.type_name}: the fetcher was asked for id {key!r} but returned id {got!r}"
            )
        return value  # type: ignore[return-value]

    def _check_many(
        self, missing: dict[Hashable, None], values: Iterable[Any], fetcher: object
    ) -> dict[Hashable, T]:
        """The fetched values by id (first occurrence wins), or raise before any insert."""
        core = self.core
        fetched: dict[Hashable, T] = {}
        asked = f"{core.type_name} ids {list(missing)!r}"
        if not isinstance(values, Iterable):
            raise TypeError(
                f"the fetcher {fetcher!r}, asked for {asked}, returned "
                f"{type(values).__qualname__}, not an iterable of {core.model.__qualname__}"
            )
        for value in values:
            got = self._checked(value, fetcher, asked)
            if got not in missing:
                raise IdentityMismatchError(
                    f"{core.type_name}: the batch fetcher returned id {got!r}, "
                    "which was not asked for"
                )
            if got not in fetched:
                fetched[got] = value
        return fetched

    def _split(self, keys: Iterable[Hashable]) -> tuple[list[T], dict[Hashable, None]]:
        """L1 hits in input order (once per occurrence), the misses (deduplicated, ordered)."""
        hits: list[T] = []
        missing: dict[Hashable, None] = {}
        get = self.core.get
        for key in keys:
            value = get(key)
            if value is not None:
                hits.append(value)
            else:
                missing[key] = None
        return hits, missing

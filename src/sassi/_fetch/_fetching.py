"""Fetching: the fetch helpers of one pool (see :mod:`sassi._fetch`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

from .._core import Conflict, PoolCore, Ticket
from .._effects import CallFetcher, Op, drive_async, drive_sync
from .._flight import Failed, TaskFlights, ThreadFlights
from .._tier import Fleet, Tiering
from ._checks import check_many, check_one
from ._policies import Policies, Revalidations

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
        self.policies: Policies[T] = Policies(core)
        self.revalidations = Revalidations(core.type_name)

    # --- the public operations -------------------------------------------------------------

    async def aget_or_fetch(self, key: Hashable, fetcher: Callable[[Any], Any]) -> T | None:
        """``Punnu.aget_or_fetch``: L1, else one shared fetcher call per id."""
        core = self.core
        value = core.get(key)
        if value is not None:
            return value
        if self.policies.negative(key):
            return None
        stale = self.policies.revalidatable(key)
        if stale is not None and (
            self.tasks.running(key)
            or self.revalidations.hand_off(key, lambda: self._flight(key, fetcher))
        ):
            return stale
        started = time.perf_counter()
        try:
            result = await self._flight(key, fetcher)
        except Exception:
            self._latency(started)
            raise
        self._latency(started)
        return result  # type: ignore[no-any-return]

    def get_or_fetch(self, key: Hashable, fetcher: Callable[[Any], Any]) -> T | None:
        """``Punnu.get_or_fetch``: L1, else one shared ``fetcher(key)`` call across threads."""
        core = self.core
        value = core.get(key)
        if value is not None:
            return value
        if self.policies.negative(key):
            return None
        stale = self.policies.revalidatable(key)
        if stale is not None and self.threads.running(key):
            return stale
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

    def _flight(self, key: Hashable, fetcher: Callable[[Any], Any]) -> Any:
        """The task flight of ``key`` (joined or started): an awaitable of its value."""
        return self.tasks.run(
            key, lambda: drive_async(self._fetch_one(key, fetcher, "get_or_fetch"))
        )

    # --- the operations, once --------------------------------------------------------------

    def _fetch_one(self, key: Hashable, fetcher: Callable[[Any], Any], api: str) -> Op[T | None]:
        """Inside the flight: L2, else (holding the fleet's lease for ``key`` when the backend
        has leases) the fetcher; the value goes to L2 and L1 unless a removal raced it."""
        core = self.core
        live = core.peek(key)  # a flight that ended just before ours started already filled L1
        if live is not None:
            return live
        if self.policies.negative(key):  # ... or found nothing
            return None
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
            try:
                result = yield CallFetcher(fetcher, api, key)
            except Exception as exc:
                core.fetch_errors.bump()
                stale = self.policies.failed(key, exc)
                if stale is None:
                    raise
                return stale
            if result is None:
                self.policies.not_found(ticket, (key,))
                return None
            value: T = check_one(core, key, result, fetcher)
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
        found = yield from self.fetch_batch(missing, fetcher, "get_or_fetch_many", Conflict.RAISE)
        hits.extend(found.values())
        return hits

    def load_batch(self, keys: list[Hashable], fetcher: Callable[[list[Any]], Any]) -> Op[Any]:
        """A loader's batch (its keys missed L1 when they were asked for): what is live or
        remembered as not found now is answered from L1; the rest goes through
        :meth:`fetch_batch` ("insert if absent or expired", as single fetches do). Returns
        id -> value or :class:`~sassi._flight.Failed` (an id it omits: ``None``)."""
        out: dict[Hashable, Any] = {}
        missing: dict[Hashable, None] = {}
        peek = self.core.peek
        for key in keys:
            live = peek(key)
            if live is not None:
                out[key] = live
            elif not self.policies.negative(key):
                missing[key] = None
        if missing:
            found = yield from self.fetch_batch(
                missing, fetcher, "loader", Conflict.KEEP, stale_if_error=True
            )
            out.update(found)
        return out

    def fetch_batch(
        self,
        missing: dict[Hashable, None],
        fetcher: Callable[[list[Any]], Any],
        api: str,
        conflict: Conflict,
        *,
        stale_if_error: bool = False,
    ) -> Op[dict[Hashable, Any]]:
        """L1 misses ``missing`` (ordered, distinct): one batched L2 read, one fetcher call for
        the rest, one batched L2 write-back, one commit (``conflict``). Returns id -> value
        for what L2 and the fetcher found (L2 first, then in the fetcher's order; the live
        value where ``Conflict.KEEP`` kept one); ids found nowhere are absent.

        ``stale_if_error`` (the loader): when the fetcher raises, map each id to its stale
        value (within ``stale_if_error``) or to :class:`~sassi._flight.Failed` instead of
        raising.
        """
        fleet = self.fleet
        ticket = self._begin(missing)
        started = time.perf_counter()
        out: dict[Hashable, Any] = {}
        try:
            versions: dict[Hashable, Hashable | None] = {}
            if fleet is not None:  # one batched L2 read for the L1 misses
                rows = yield from fleet.read(list(missing))
                found = {k: v for k, (v, _) in zip(missing, rows, strict=True) if v is not None}
                versions = {k: ver for k, (_, ver) in zip(missing, rows, strict=True)}
                if found:
                    stored = yield from self._store(ticket, found, Conflict.KEEP)
                    out.update((k, stored.get(k, v)) for k, v in found.items())
                    missing = {k: None for k in missing if k not in found}
                    if not missing:
                        return out
            self.core.fetches.bump()
            try:
                result = yield CallFetcher(fetcher, api, list(missing), collect=True)
            except Exception as exc:
                self.core.fetch_errors.bump()
                if not stale_if_error:
                    raise
                failed = Failed(exc)
                for key in missing:
                    stale = self.policies.failed(key, exc)
                    out[key] = failed if stale is None else stale
                return out
            fetched = check_many(self.core, missing, result, fetcher)
            lost: set[Hashable] = set()
            if fleet is not None and fetched:  # one batched write-back
                lost = yield from fleet.write(fetched, versions)
            keep = {k: v for k, v in fetched.items() if k not in lost}
            stored = yield from self._store(ticket, keep, conflict)
            if len(fetched) < len(missing):
                self.policies.not_found(ticket, [k for k in missing if k not in fetched])
        finally:
            self._end(ticket)
            self._latency(started)
        out.update((k, stored.get(k, v)) for k, v in fetched.items())
        return out

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

    def _split(self, keys: Iterable[Hashable]) -> tuple[list[T], dict[Hashable, None]]:
        """L1 hits in input order (once per occurrence), the misses (deduplicated, ordered)."""
        hits: list[T] = []
        missing: dict[Hashable, None] = {}
        get = self.core.get
        negative = self.policies.negative
        for key in keys:
            value = get(key)
            if value is not None:
                hits.append(value)
            elif key not in missing and not negative(key):
                missing[key] = None
        return hits, missing

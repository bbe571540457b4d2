"""Fetch-on-miss for the pool: ``get_or_fetch`` and ``get_or_fetch_many``, sync and async.

Single fetches go through the pool's single-flight engines (:mod:`sassi._flight`): concurrent
callers for one id share one fetcher call, and the L1 insert happens once inside that call as
"insert if absent or expired, else keep the live value" (``OnConflict`` is not applied), so
however many callers waited there is exactly one ``Inserted`` event and all of them get the same
object.

No stale write-back: :class:`InFlight` keeps a generation per id while a fetch for it runs. Every
explicit removal of the id (``invalidate``, a delta tombstone, a backend invalidation, a REPLACE
refresh dropping it) bumps the generation inside the pool's commit, and the fetch's own insert
re-checks it under the same lock. A fetch that lost that race returns its value uncached.

Batch fetches call the fetcher once with the missing ids, validate the whole answer before
touching the pool, and insert it in one commit that follows the pool's ``on_conflict``.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from ._flight import TaskFlights, ThreadFlights
from ._store import DEADLINE, VALUE
from .exceptions import IdentityMismatchError

if TYPE_CHECKING:
    from ._punnu import Punnu

__all__ = ["InFlight", "aget_or_fetch", "aget_or_fetch_many", "get_or_fetch", "get_or_fetch_many"]

T = TypeVar("T")


class InFlight:
    """Per-pool fetch bookkeeping: the single-flight engines and per-id fetch generations.

    ``pool._inflight`` holds one. The pool's commit calls :meth:`removed` (under the write lock)
    with the ids it removes explicitly; it is truthy only while some fetch is running, so the
    commit pays one attribute check otherwise.

    :param on_coalesced: called each time a caller joins a fetch already in flight.
    """

    __slots__ = ("_gens", "tasks", "threads")

    def __init__(self, on_coalesced: Callable[[], object] | None = None) -> None:
        self.tasks: TaskFlights[Any] = TaskFlights(on_coalesced)
        self.threads: ThreadFlights[Any] = ThreadFlights(on_coalesced)
        self._gens: dict[Hashable, list[int]] = {}  # id -> [fetches running, generation]

    def __bool__(self) -> bool:
        return bool(self._gens)

    def removed(self, ids: Iterable[Hashable]) -> None:
        """Bump the generation of every id in ``ids`` that a fetch is running for.

        Call with the pool's write lock held, for removals that are certain to be applied.
        """
        gens = self._gens
        for key in ids:
            slot = gens.get(key)
            if slot is not None:
                slot[1] += 1

    def begin(self, pool: Punnu[Any], keys: Iterable[Hashable]) -> dict[Hashable, int]:
        """Register running fetches for ``keys``; returns each key's generation now."""
        with pool._lock:
            gens = self._gens
            start: dict[Hashable, int] = {}
            for key in keys:
                slot = gens.get(key)
                if slot is None:
                    slot = gens[key] = [0, 0]
                slot[0] += 1
                start[key] = slot[1]
            return start

    def end(self, pool: Punnu[Any], keys: Iterable[Hashable]) -> None:
        """Unregister the fetches :meth:`begin` registered."""
        with pool._lock:
            gens = self._gens
            for key in keys:
                slot = gens[key]
                slot[0] -= 1
                if slot[0] == 0:
                    del gens[key]

    def stale(self, keys: dict[Hashable, int]) -> set[Hashable]:
        """The keys whose generation moved since :meth:`begin` (call under the write lock)."""
        gens = self._gens
        return {key for key, gen in keys.items() if gens[key][1] != gen}


class _Retry(Exception):
    """A strict backend write holds one of the ids: wait for it, then try the insert again."""


def _peek(pool: Punnu[T], key: Hashable) -> T | None:
    """The live value under ``key`` without touching recency or counters."""
    entry = pool._map.get(key)
    if entry is None:
        return None
    deadline = entry[DEADLINE]
    if deadline is None or deadline > pool._clock():
        return entry[VALUE]  # type: ignore[no-any-return]
    return None


def _check_one(pool: Punnu[T], key: Hashable, value: object) -> T:
    got = pool._checked_id(value)
    if got != key:
        raise IdentityMismatchError(
            f"{pool.type_name}: the fetcher was asked for id {key!r} but returned id {got!r}"
        )
    return value  # type: ignore[return-value]


def _check_many(
    pool: Punnu[T], missing: dict[Hashable, None], values: Iterable[Any]
) -> dict[Hashable, T]:
    """The fetched values by id (first occurrence wins), or raise before any insert."""
    fetched: dict[Hashable, T] = {}
    for value in values:
        got = pool._checked_id(value)
        if got not in missing:
            raise IdentityMismatchError(
                f"{pool.type_name}: the batch fetcher returned id {got!r}, which was not asked for"
            )
        if got not in fetched:
            fetched[got] = value
    return fetched


def _reserved(pool: Punnu[Any], keys: list[Hashable]) -> bool:
    tier = pool._tier
    return tier is not None and tier.reserved_count(keys) > 0


def _commit_fetched(
    pool: Punnu[T], gens: dict[Hashable, int], values: dict[Hashable, T], *, single: bool
) -> dict[Hashable, Any]:
    """Insert ``values`` except those a removal raced; returns ``CommitResult.stored``.

    A single fetch inserts "if absent or expired, else keep the live value"; a batch follows the
    pool's ``on_conflict``.

    :raises _Retry: when a strict backend write holds one of the ids (nothing changed).
    :raises ConflictError: (batch under ``REJECT``) when one of the ids is live; nothing changed.
    """
    from ._punnu import Conflict

    with pool._lock:  # re-entrant: the checks and the commit form one atomic step
        if _reserved(pool, list(values)):
            raise _Retry
        stale = pool._inflight.stale(gens)
        upserts = tuple((k, v) for k, v in values.items() if k not in stale)
        if not upserts:
            return {}
        result = pool._commit(
            upserts, conflict=Conflict.KEEP if single else Conflict.RAISE, protect=single
        )
    return result.stored


def _store_sync(
    pool: Punnu[T], gens: dict[Hashable, int], values: dict[Hashable, T], *, single: bool
) -> dict[Hashable, Any]:
    tier = pool._tier
    while True:
        try:
            return _commit_fetched(pool, gens, values, single=single)
        except _Retry:
            assert tier is not None
            for key in values:
                tier.wait_unreserved_sync(key)


async def _store_async(
    pool: Punnu[T], gens: dict[Hashable, int], values: dict[Hashable, T], *, single: bool
) -> dict[Hashable, Any]:
    tier = pool._tier
    while True:
        try:
            return _commit_fetched(pool, gens, values, single=single)
        except _Retry:
            assert tier is not None
            for key in values:
                await tier.wait_unreserved(key)


def _latency(pool: Punnu[Any], started: float) -> None:
    """Report one slow-path call (an L1 miss) to ``metrics.record_fetch_latency``."""
    pool._metrics.fetch_latency(time.perf_counter() - started)


def _not_sync(fetcher: object, result: object) -> TypeError:
    if inspect.iscoroutine(result):
        result.close()  # never awaited: close it so no RuntimeWarning escapes
    return TypeError(
        f"the fetcher {fetcher!r} returned an awaitable; use the async variant "
        "(aget_or_fetch / aget_or_fetch_many) for async fetchers"
    )


# single id -------------------------------------------------------------------------------------


def _settle_one(pool: Punnu[T], key: Hashable, value: T, stored: dict[Hashable, Any]) -> T:
    return stored.get(key, value)  # type: ignore[no-any-return]


async def _afetch_one(pool: Punnu[T], key: Hashable, fetcher: Callable[[Any], Any]) -> T | None:
    live = _peek(pool, key)  # a flight that ended just before ours started already filled L1
    if live is not None:
        return live
    inflight = pool._inflight
    gens = inflight.begin(pool, (key,))
    pool._record_fetch()
    try:
        result = fetcher(key)
        if inspect.isawaitable(result):
            result = await result
        if result is None:
            return None
        value = _check_one(pool, key, result)
        stored = await _store_async(pool, gens, {key: value}, single=True)
        return _settle_one(pool, key, value, stored)
    finally:
        inflight.end(pool, (key,))


def _fetch_one(pool: Punnu[T], key: Hashable, fetcher: Callable[[Any], Any]) -> T | None:
    live = _peek(pool, key)
    if live is not None:
        return live
    inflight = pool._inflight
    gens = inflight.begin(pool, (key,))
    pool._record_fetch()
    try:
        result = fetcher(key)
        if inspect.isawaitable(result):
            raise _not_sync(fetcher, result)
        if result is None:
            return None
        value = _check_one(pool, key, result)
        stored = _store_sync(pool, gens, {key: value}, single=True)
        return _settle_one(pool, key, value, stored)
    finally:
        inflight.end(pool, (key,))


async def aget_or_fetch(
    pool: Punnu[T], key: Hashable, fetcher: Callable[[Any], Awaitable[T | None]]
) -> T | None:
    """``Punnu.aget_or_fetch``: L1, else one shared ``await fetcher(key)`` per id.

    :raises IdentityMismatchError: when the fetcher returned a value with another id.
    :raises TypeError: when the fetcher returned something that is not the pool's model.
    """
    value = pool.get(key)
    if value is not None:
        return value
    started = time.perf_counter()
    try:
        result = await pool._inflight.tasks.run(key, lambda: _afetch_one(pool, key, fetcher))
    except Exception:
        _latency(pool, started)
        raise
    _latency(pool, started)
    return result  # type: ignore[no-any-return]


def get_or_fetch(pool: Punnu[T], key: Hashable, fetcher: Callable[[Any], T | None]) -> T | None:
    """``Punnu.get_or_fetch``: L1, else one shared ``fetcher(key)`` call per id across threads.

    :raises IdentityMismatchError: when the fetcher returned a value with another id.
    :raises TypeError: when the fetcher returned an awaitable or not the pool's model.
    """
    value = pool.get(key)
    if value is not None:
        return value
    started = time.perf_counter()
    try:
        result = pool._inflight.threads.run(key, lambda: _fetch_one(pool, key, fetcher))
    finally:
        _latency(pool, started)
    return result  # type: ignore[no-any-return]


# many ids --------------------------------------------------------------------------------------


def _split(pool: Punnu[T], keys: Iterable[Hashable]) -> tuple[list[T], dict[Hashable, None]]:
    """L1 hits in input order (once per occurrence) and the missing ids (deduplicated, ordered)."""
    hits: list[T] = []
    missing: dict[Hashable, None] = {}
    get = pool.get
    for key in keys:
        value = get(key)
        if value is not None:
            hits.append(value)
        else:
            missing[key] = None
    return hits, missing


async def aget_or_fetch_many(
    pool: Punnu[T],
    keys: Iterable[Hashable],
    fetcher: Callable[[list[Any]], Awaitable[Iterable[T]]],
) -> list[T]:
    """``Punnu.aget_or_fetch_many``: the hits, then one ``await fetcher(missing)``.

    :raises IdentityMismatchError: when the fetcher returned an id it was not asked for.
    :raises ConflictError: under ``OnConflict.REJECT`` when a fetched id became live meanwhile.
    """
    hits, missing = _split(pool, keys)
    if not missing:
        return hits
    inflight = pool._inflight
    gens = inflight.begin(pool, missing)
    pool._record_fetch()
    started = time.perf_counter()
    try:
        result: Any = fetcher(list(missing))
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, AsyncIterable):  # an async generator of values
            result = [value async for value in result]
        fetched = _check_many(pool, missing, result)
        await _store_async(pool, gens, fetched, single=False)
    finally:
        inflight.end(pool, missing)
        _latency(pool, started)
    hits.extend(fetched.values())
    return hits


def get_or_fetch_many(
    pool: Punnu[T], keys: Iterable[Hashable], fetcher: Callable[[list[Any]], Iterable[T]]
) -> list[T]:
    """``Punnu.get_or_fetch_many``: the hits, then one ``fetcher(missing)`` call.

    :raises IdentityMismatchError: when the fetcher returned an id it was not asked for.
    :raises ConflictError: under ``OnConflict.REJECT`` when a fetched id became live meanwhile.
    :raises TypeError: when the fetcher returned an awaitable.
    """
    hits, missing = _split(pool, keys)
    if not missing:
        return hits
    inflight = pool._inflight
    gens = inflight.begin(pool, missing)
    pool._record_fetch()
    started = time.perf_counter()
    try:
        result = fetcher(list(missing))
        if inspect.isawaitable(result):
            raise _not_sync(fetcher, result)
        fetched = _check_many(pool, missing, result)
        _store_sync(pool, gens, fetched, single=False)
    finally:
        inflight.end(pool, missing)
        _latency(pool, started)
    hits.extend(fetched.values())
    return hits

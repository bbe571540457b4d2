"""Delta refresh: a subscription that asks its source only for what changed.

``async with pool.delta_refresh(interval, fetcher) as handle:`` runs :class:`DeltaRefreshHandle`
on the shared runner of :mod:`sassi._refresh` (one fetch at a time in the handle's task group;
see that module for scheduling, cancellation and error delivery).

Delta refresh per subscription (see reference 2.11): ``since`` is the last successful watermark
(``None`` = full; fetchers treat it as inclusive); the new watermark is the max of the old one,
every returned item's watermark and ``high_watermark``, and never regresses. With eviction
recovery on, ids the subscription has observed and the pool evicted are asked for again in
``DeltaQuery.recover_ids`` (failed attempts back off ``2 ** min(attempts, 6)`` ticks); a
recovered row never overwrites a resident with a newer watermark; a lagged event stream or more
pending recoveries than the pool's capacity turn the next update into a full refresh.

``wake=`` (any async iterable; ``sassi.sql.Source.listen(channel)`` yields on every PostgreSQL
``NOTIFY``) runs ``update()`` as soon as it yields, and ``update_full()`` for the first item
after it failed and was iterated again (see :mod:`sassi._refresh`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

import anyio.abc

from ._config import EventReason
from ._core import Conflict, PoolCore
from ._delta import Delta, DeltaQuery, normalize_delta
from ._events import Invalidated, Lagged
from ._refresh import _call, _Handle, _interval, _Op, _waker, log
from ._store import DEADLINE, VALUE

__all__ = ["DeltaRefreshHandle", "UpdateResult", "delta_refresh"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """What one delta-refresh tick did.

    :param applied: items the tick's commit wrote (inserted or replaced) and that stayed
        resident.
    :param watermark: the subscription's watermark after the tick.
    :param full: whether the tick was a full refresh (``since=None``).
    :param unchanged: items equal (``==``) to their live resident, left alone (no event;
        only their expiry renewed), e.g. the row at the inclusive ``since`` boundary.
    """

    applied: int
    watermark: Any
    full: bool
    unchanged: int = 0


@dataclass(slots=True)
class _Recovery:
    attempts: int = 0
    eligible_at: int = 0


def _raise_watermark(current: Any, candidates: Iterable[Any]) -> Any:
    best = current
    for candidate in candidates:
        if candidate is not None and (best is None or candidate > best):
            best = candidate
    return best


class DeltaRefreshHandle(_Handle, Generic[T]):
    """Controls a running :meth:`Punnu.delta_refresh` subscription.

    ``await handle.update()`` runs one delta tick (or joins the one in flight);
    ``await handle.update_full()`` runs a full one (queued behind a delta in flight, shared by
    every full caller, never starved by later updates). ``handle.watermark`` is the last
    successful watermark.
    """

    _what = "delta refresh"

    def __init__(
        self,
        core: PoolCore[T],
        interval: float,
        fetcher: Callable[[DeltaQuery[T]], Any],
        wake: AsyncIterable[object] | None = None,
    ) -> None:
        super().__init__(core, interval, wake)
        info = core.info
        assert info.get_watermark is not None
        self._watermark_of: Callable[[Any], Any] = info.get_watermark
        self._fetcher = fetcher
        self._watermark: Any = None
        self._members: set[Hashable] = set()
        self._recovery: dict[Hashable, _Recovery] = {}
        self._recovering = False
        self._force_full = False
        self._lags = 0
        self._warned = False
        self._every: int | None = None
        self._progress = 0
        self._ticks = 0
        self._events = core.subscribe()

    # options ----------------------------------------------------------------------------------

    @property
    def watermark(self) -> Any:
        """The last successful watermark (``None`` before the first successful tick)."""
        return self._watermark

    def with_eviction_recovery(self, enabled: bool = True) -> DeltaRefreshHandle[T]:
        """Ask again for observed ids the pool evicts (off by default; off clears the queue).

        :param enabled: on or off.
        :returns: the handle.
        """
        self._absorb_pending()
        self._recovering = bool(enabled)
        if not self._recovering:
            self._recovery.clear()
            self._force_full = False
        return self

    def with_periodic_full_refresh(self, every: int | None) -> DeltaRefreshHandle[T]:
        """Make every ``every``-th successful scheduled tick a full refresh (``None``: never).

        Resets the progress towards the next full refresh.

        :param every: a positive tick count, or ``None``.
        :returns: the handle.
        :raises ValueError: when ``every < 1``.
        """
        if every is not None:
            if isinstance(every, bool) or not isinstance(every, int):
                raise TypeError(f"with_periodic_full_refresh(every) needs an int, got {every!r}")
            if every < 1:
                raise ValueError(f"with_periodic_full_refresh(every) needs every >= 1, got {every}")
        self._every = every
        self._progress = 0
        return self

    def periodic_full_refresh_progress(self) -> tuple[int, int] | None:
        """``(successful scheduled delta ticks since the last full, every)``, or ``None``."""
        return None if self._every is None else (self._progress, self._every)

    def pending_eviction_recovery_count(self) -> int:
        """How many evicted ids wait to be asked for again (0 when recovery is off)."""
        self._absorb_pending()
        return len(self._recovery) if self._recovering else 0

    # ticks ------------------------------------------------------------------------------------

    async def update(self) -> UpdateResult:
        """Run one delta tick, or join the tick in flight.

        :returns: what the tick applied and the watermark after it.
        :raises Exception: whatever the fetcher raised (watermark and pool unchanged).
        :raises TypeError: when the fetcher returned something other than a ``Delta`` of the
            pool's model.
        :raises RuntimeError: when the handle is stopped, or a strict backend write holds an id
            (the tick is deferred: nothing applied, watermark unchanged).
        """
        op = self._runner.submit(full=False, scheduled=False, join=lambda running: True)
        return await op.result()  # type: ignore[no-any-return]

    async def update_full(self) -> UpdateResult:
        """Run a full tick (``since=None``); queued behind a delta tick in flight.

        The watermark never moves backwards, even when the full fetch returns older rows.

        :returns: what the tick applied and the watermark after it.
        :raises Exception: whatever the fetcher raised (watermark and pool unchanged).
        :raises RuntimeError: when the handle is stopped, or a strict backend write holds an id
            (the tick is deferred: nothing applied, watermark unchanged).
        """
        op = self._runner.submit(full=True, scheduled=False, join=lambda running: running.full)
        return await op.result()  # type: ignore[no-any-return]

    async def _scheduled_tick(self) -> None:
        due = self._every is not None and self._progress + 1 >= self._every
        op = self._runner.submit(
            full=due, scheduled=True, join=lambda running: running.full or not due
        )
        await self._tick_logged(op)

    async def _listen(self) -> None:
        async for event in self._events:
            self._absorb(event)

    def _start_helpers(self, group: anyio.abc.TaskGroup) -> None:
        group.start_soon(self._listen)
        super()._start_helpers(group)

    # event bookkeeping ------------------------------------------------------------------------

    def _absorb(self, event: object) -> None:
        # Evictions of observed ids are recorded even while recovery is off, so enabling it
        # later still asks for them (Rust: enabling_eviction_recovery_after_eviction_...).
        if type(event) is Lagged:
            if self._recovering:
                self._force_full = True
                self._lags += 1
        elif (
            type(event) is Invalidated
            and event.reason is EventReason.LRU_EVICT
            and event.id in self._members
        ):
            self._queue_recovery(event.id)

    def _absorb_pending(self) -> None:
        while (event := self._events.receive_nowait()) is not None:
            self._absorb(event)

    def _queue_recovery(self, key: Hashable) -> None:
        if self._recovering and not self._warned:
            self._warned = True
            log.warning(
                "sassi delta refresh of %s: the pool evicted ids this subscription observed; "
                "they will be asked for again (raise the pool's capacity to avoid this)",
                self._core.type_name,
            )
        self._recovery.setdefault(key, _Recovery())

    def _restore_recovery(self, taken: dict[Hashable, _Recovery], tick: int, backoff: bool) -> None:
        for key, entry in taken.items():
            if key in self._recovery:  # evicted again meanwhile: the newer entry stands
                continue
            if backoff:
                entry.attempts += 1  # asked again next tick, then after 2, 4, ... 64 ticks
                entry.eligible_at = tick + 2 ** min(entry.attempts - 1, 6)
            self._recovery[key] = entry

    # one tick ---------------------------------------------------------------------------------

    async def _execute(self, op: _Op) -> UpdateResult:
        self._absorb_pending()
        self._ticks += 1
        tick = self._ticks
        capacity = self._core.config.capacity
        full = (
            op.full
            or (self._recovering and self._force_full)
            or (self._recovering and len(self._recovery) > capacity)
        )
        op.full = full
        lags_before = self._lags
        if full:
            taken, self._recovery = self._recovery, {}
            recover: frozenset[Hashable] = frozenset()
        elif not self._recovering:
            taken, recover = {}, frozenset()
        else:
            taken = {k: e for k, e in self._recovery.items() if e.eligible_at <= tick}
            for key in taken:
                del self._recovery[key]
            recover = frozenset(taken)
        query: DeltaQuery[T] = DeltaQuery(None if full else self._watermark, recover)
        try:
            delta = await _call(self._fetcher, "delta_refresh", query)
            if not isinstance(delta, Delta):
                raise TypeError(
                    f"the delta fetcher must return a sassi.Delta, got {type(delta).__qualname__}"
                )
            applied, unchanged = self._apply(delta, recover, full)
        except BaseException:
            self._restore_recovery(taken, tick, backoff=not full)
            raise
        if full:
            self._progress = 0
            if self._lags == lags_before:
                self._force_full = False
        elif op.scheduled:
            self._progress += 1
        return UpdateResult(applied, self._watermark, full, unchanged)

    def _apply(self, delta: Delta[T], recover: frozenset[Hashable], full: bool) -> tuple[int, int]:
        """Apply a fetched delta; returns ``(applied, unchanged)``.

        Everything that can fail — model and id checks, every watermark read, the strict
        reservation check — runs before the commit, and nothing after it can fail, so a failed
        tick leaves L1, the watermark, membership and the recovery set as they were.
        """
        core = self._core
        for item in delta.items:
            core.checked_id(item)
        upserts, tombstones = normalize_delta(delta, core.id_of)
        watermark = _raise_watermark(
            self._watermark,
            [delta.high_watermark, *(self._watermark_of(item) for item in delta.items)],
        )
        returned = {core.id_of(item) for item in delta.items} - delta.tombstones
        with core.lock:
            self._absorb_pending()
            now = core.clock()
            if recover:
                upserts = [(k, v) for k, v in upserts if not self._stale(k, v, recover, now)]
            reservations = core.reservations
            if reservations is not None and reservations.which(
                [k for k, _ in upserts] + tombstones
            ):
                raise RuntimeError(
                    "delta refresh deferred: strict backend writes are in flight for some ids; "
                    "nothing was applied"
                )
            upserts, unchanged = core.drop_unchanged(upserts)
            result = core.commit(
                upserts, tombstones, reason=EventReason.ON_DELETE, conflict=Conflict.SKIP
            )
            while self._events.receive_nowait() is not None:
                pass  # our own commit's events: handled below from ``result``
            if full:
                self._members = set(returned)
            else:
                self._members |= returned
                self._members -= delta.tombstones
                self._members -= recover - returned
            for event in result.events:
                if (
                    type(event) is Invalidated
                    and event.reason is EventReason.LRU_EVICT
                    and event.id in self._members
                ):
                    self._queue_recovery(event.id)
            entries = core.store.map
            for key in returned:
                if key not in entries:  # evicted by this very batch
                    self._queue_recovery(key)
        self._watermark = watermark
        return result.applied, unchanged

    def _stale(self, key: Hashable, value: T, recover: frozenset[Hashable], now: float) -> bool:
        """A recovered row older than the live resident must not overwrite it."""
        if key not in recover:
            return False
        entry = self._core.map.get(key)
        if entry is None or (entry[DEADLINE] is not None and entry[DEADLINE] <= now):
            return False
        resident, fetched = self._watermark_of(entry[VALUE]), self._watermark_of(value)
        return resident is not None and fetched is not None and bool(resident > fetched)


@contextlib.asynccontextmanager
async def _delta(handle: DeltaRefreshHandle[T]) -> AsyncIterator[DeltaRefreshHandle[T]]:
    try:
        async with handle._lifetime():
            yield handle
    finally:
        handle._events.close()


def delta_refresh(
    core: PoolCore[T],
    interval: float | timedelta,
    fetcher: Callable[[DeltaQuery[T]], Any],
    wake: AsyncIterable[object] | None = None,
) -> contextlib.AbstractAsyncContextManager[DeltaRefreshHandle[T]]:
    """``Punnu.delta_refresh``; validates its arguments now, runs while the block runs.

    :raises TypeError: when the pool's model declares no watermark, ``fetcher`` is not
        callable, or ``wake`` is not an async iterable.
    :raises ValueError: when ``interval <= 0``.
    """
    info = core.info
    if info.get_watermark is None:
        raise TypeError(
            f"delta_refresh() needs a watermark on {core.model.__qualname__}: declare one with "
            '@sassi.cacheable(watermark="updated_at")'
        )
    seconds = _interval(interval)
    if not callable(fetcher):
        raise TypeError(f"fetcher must be callable, got {fetcher!r}")
    return _delta(DeltaRefreshHandle(core, seconds, fetcher, _waker(wake)))

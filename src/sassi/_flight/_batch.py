"""Same-tick batches over the task single-flight registry: :class:`Batcher` (DataLoader).

See :mod:`sassi._flight` for the flights it shares with :meth:`TaskFlights.run`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import anyio

from ._engines import _ACTIVE, TaskFlights, _BatchFlight, _reentry_error, _TaskFlight

__all__ = ["Batcher"]

V = TypeVar("V")


class Batcher(Generic[V]):
    """Same-tick batches of keys over a :class:`TaskFlights` registry (the DataLoader pattern).

    Keys asked for with no flight running are collected into an open batch until the event
    loop gets back to it (the batch's task runs after every task that was ready when the first
    key arrived, and once more), then fetched with one ``fetch(keys)`` call; a batch closes
    early at ``max_batch`` keys and the next key opens a new one. Keys with a flight running
    (``flights.run`` or another batch) join it. No timers.

    :param flights: the registry shared with ``flights.run`` (single-flight with it).
    :param fetch: ``async (keys) -> {key: value or Failed}`` (a missing key: ``None``).
    :param max_batch: the most keys in one batch.
    """

    def __init__(
        self,
        flights: TaskFlights[Any],
        fetch: Callable[[list[Hashable]], Awaitable[Mapping[Hashable, Any]]],
        max_batch: int,
    ) -> None:
        self._flights = flights
        self._fetch = fetch
        self._max_batch = max_batch
        self._open: dict[int, _BatchFlight] = {}  # thread -> the batch still taking keys

    async def load(self, key: Hashable) -> V:
        """:meth:`load_many` of one key (the common case, without its bookkeeping)."""
        flights = self._flights
        thread = threading.get_ident()
        if (id(flights), thread, key) in _ACTIVE.get():
            raise _reentry_error(key)
        slot = (thread, key)
        hosted: list[_BatchFlight] = []
        with flights._lock:
            flight = flights._flights.get(slot)
            joined = flight is not None
            if flight is None:
                flight = self._add(thread, slot, key, hosted)
            else:
                flights._coalesced += 1
            flight.waiters += 1
        if joined:
            flights._coalesced_hook()
        if hosted:
            async with anyio.create_task_group() as tg:
                tg.start_soon(flights._drive, hosted[0], functools.partial(self._run, hosted[0]))
                await flights._wait((flight,))
        else:
            await flights._wait((flight,))
        result: V = flight.result(key)
        return result

    async def load_many(self, keys: Sequence[Hashable]) -> list[V]:
        """Each key's value (or raise its error), in input order, sharing flights.

        :raises BaseException: what the fetch raised for a key (the same object for every
            waiter of it); the cancellation exception when this caller is cancelled.
        :raises RuntimeError: when called from inside the fetch of one of ``keys``.
        """
        flights = self._flights
        thread = threading.get_ident()
        active = _ACTIVE.get()
        for key in keys:
            if (id(flights), thread, key) in active:
                raise _reentry_error(key)
        per_key: list[_TaskFlight[Any]] = []
        waiting: dict[int, _TaskFlight[Any]] = {}  # id -> flight: one waiter per flight
        hosted: list[_BatchFlight] = []
        added: set[Hashable] = set()
        coalesced = 0
        with flights._lock:
            registry = flights._flights
            for key in keys:
                slot = (thread, key)
                flight = registry.get(slot)
                if flight is None:
                    flight = self._add(thread, slot, key, hosted)
                    added.add(key)
                elif key not in added:
                    coalesced += 1
                per_key.append(flight)
                if id(flight) not in waiting:
                    waiting[id(flight)] = flight
                    flight.waiters += 1
            flights._coalesced += coalesced
        for _ in range(coalesced):
            flights._coalesced_hook()
        if hosted:
            async with anyio.create_task_group() as tg:
                for batch in hosted:
                    tg.start_soon(flights._drive, batch, functools.partial(self._run, batch))
                await flights._wait(list(waiting.values()))
        else:
            await flights._wait(list(waiting.values()))
        return [flight.result(key) for key, flight in zip(keys, per_key, strict=True)]

    def _add(
        self, thread: int, slot: tuple[int, Hashable], key: Hashable, hosted: list[_BatchFlight]
    ) -> _BatchFlight:
        """File ``key`` in this thread's open batch, opening one (hosted by the caller) when
        there is none; closes it at ``max_batch`` keys. Caller holds the registry lock."""
        batch = self._open.get(thread)
        if batch is None or batch.closed:
            batch = self._open[thread] = _BatchFlight()
            self._flights._fetches += 1
            hosted.append(batch)
        batch.keys.append(key)
        batch.slots.append(slot)
        self._flights._flights[slot] = batch
        if len(batch.keys) >= self._max_batch:
            batch.closed = True
        if batch.closed:
            del self._open[thread]
        return batch

    async def _run(self, batch: _BatchFlight) -> Mapping[Hashable, Any]:
        """The fetch of a closed batch (``TaskFlights._drive`` closed it)."""
        thread = batch.slots[0][0]
        with self._flights._lock:
            if self._open.get(thread) is batch:
                del self._open[thread]
        return await self._fetch(list(batch.keys))

"""Fetch generations: how a fetch learns that a removal raced it (no stale write-back).

While a fetch for an id runs, :class:`Generations` keeps a counter for that id. Every removal
that must beat the fetch bumps it, under the pool's write lock: an explicit removal of the id
(``invalidate``, a delta tombstone, a backend ``InvalidateId``, a REPLACE refresh dropping it),
a whole-pool removal (``clear``, a backend ``InvalidateAll``, the listener's resync), or a
removal by predicate (``invalidate_where``) whose predicate matches the fetched value. The
fetch's own write-back asks :meth:`Generations.stale` under the same lock; a fetch that lost
the race returns its value uncached.

Whole-pool and by-predicate removals also call ``on_reset`` (when given), whether or not a
fetch runs: remembered "not found" answers (:mod:`._negatives`) are void after them.

All methods are called with the pool's write lock held (they take no lock of their own).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any

__all__ = ["Generations", "Ticket"]


class Ticket:
    """What :meth:`Generations.begin` hands a fetch: the counters to compare at write-back."""

    __slots__ = ("gens", "where", "wide")

    def __init__(self, gens: dict[Hashable, int], wide: int, where: int) -> None:
        self.gens = gens
        self.wide = wide
        self.where = where


class Generations:
    """Per-id fetch generations plus pool-wide and by-predicate removal counters."""

    __slots__ = ("_on_reset", "_slots", "_tests", "_where_base", "_wide")

    def __init__(self, on_reset: Callable[[], None] | None = None) -> None:
        self._on_reset = on_reset
        self._slots: dict[Hashable, list[int]] = {}  # id -> [fetches running, generation]
        self._wide = 0  # whole-pool removals seen
        self._tests: list[Callable[[Any], bool]] = []  # predicate removals while fetches run
        self._where_base = 0  # how many predicate removals were dropped from _tests

    def __bool__(self) -> bool:
        """Whether any fetch is running (commits skip the bookkeeping otherwise)."""
        return bool(self._slots)

    def begin(self, keys: Iterable[Hashable]) -> Ticket:
        """Register running fetches for ``keys``; the returned ticket goes to :meth:`stale`."""
        slots = self._slots
        start: dict[Hashable, int] = {}
        for key in keys:
            slot = slots.get(key)
            if slot is None:
                slot = slots[key] = [0, 0]
            slot[0] += 1
            start[key] = slot[1]
        return Ticket(start, self._wide, self._where_base + len(self._tests))

    def end(self, ticket: Ticket) -> None:
        """Unregister the fetches :meth:`begin` registered."""
        slots = self._slots
        for key in ticket.gens:
            slot = slots[key]
            slot[0] -= 1
            if slot[0] == 0:
                del slots[key]
        if not slots:  # nobody can ask about older predicate removals any more
            self._where_base += len(self._tests)
            self._tests.clear()

    def removed(self, ids: Iterable[Hashable]) -> None:
        """Bump the generation of every id in ``ids`` that a fetch is running for."""
        slots = self._slots
        for key in ids:
            slot = slots.get(key)
            if slot is not None:
                slot[1] += 1

    def removed_all(self) -> None:
        """A whole-pool removal: every fetch running now is stale."""
        if self._on_reset is not None:
            self._on_reset()
        if self._slots:
            self._wide += 1

    def removed_where(self, test: Callable[[Any], bool]) -> None:
        """A removal by predicate: fetches running now whose value passes ``test`` are stale."""
        if self._on_reset is not None:
            self._on_reset()
        if self._slots:
            self._tests.append(test)

    def stale(self, ticket: Ticket, values: dict[Hashable, Any]) -> set[Hashable]:
        """The ids of ``values`` whose write-back a removal raced since :meth:`begin`."""
        if ticket.wide != self._wide:
            return set(values)
        slots = self._slots
        stale = {key for key in values if slots[key][1] != ticket.gens[key]}
        tests = self._tests[ticket.where - self._where_base :]
        if tests:
            stale.update(
                key
                for key, value in values.items()
                if key not in stale and any(_matches(test, value) for test in tests)
            )
        return stale

    def raced(self, ticket: Ticket, key: Hashable) -> bool:
        """Whether any removal that could concern ``key`` happened since :meth:`begin`: of the
        id, of the whole pool, or by any predicate (a fetch that found nothing has no value to
        test). A fetch's "not found" is remembered only when nothing raced it."""
        return (
            ticket.wide != self._wide
            or self._slots[key][1] != ticket.gens[key]
            or self._where_base + len(self._tests) != ticket.where
        )


def _matches(test: Callable[[Any], bool], value: Any) -> bool:
    try:
        return bool(test(value))
    except Exception:  # a predicate that cannot evaluate a value does not match it
        return False

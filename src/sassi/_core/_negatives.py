"""Remembered "not found" answers of fetchers (``negative_ttl``, SPEC 11.6).

When a fetcher returns ``None`` for an id, the fetch helpers remember it here until
``negative_ttl`` passes, and answer ``None`` for that id without calling a fetcher again.
These are not residents: ``len``, ``in``, scopes, snapshots and events never see them.

Bounded: at most ``limit`` ids (the pool's ``capacity``), first in first out — adding one more
drops the oldest, and every add first drops the expired ids at the front (all of them share
one ``negative_ttl``, so the oldest expire first). An entry is about 150 bytes (a dict slot,
the id, a float), so a pool of capacity 10,000 spends at most about 1.5 MB here.

Forgotten, so the next fetch asks the source again, when any commit writes or removes the id
(insert, fetch and load fills, delta items and tombstones, refresh, restore, invalidate,
backend invalidations; resident or not), and all at once on a whole-pool or by-predicate
removal (``clear``, ``InvalidateAll``, ``invalidate_where``: ``on_reset`` of
:class:`~sassi._core.Generations`). A fetch whose id a removal raced records nothing (the
fetch path checks its generation ticket). Every method is called with the pool's write lock
held.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable

__all__ = ["Negatives"]


class Negatives:
    """id -> deadline of a remembered ``None``, bounded FIFO.

    :param limit: the most ids kept (the pool's ``capacity``).
    """

    __slots__ = ("_deadlines", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._deadlines: OrderedDict[Hashable, float] = OrderedDict()  # oldest first

    def __len__(self) -> int:
        return len(self._deadlines)

    def hit(self, key: Hashable, now: float) -> bool:
        """Whether ``None`` is remembered for ``key`` at ``now`` (an expired one is dropped)."""
        deadline = self._deadlines.get(key)
        if deadline is None:
            return False
        if deadline > now:
            return True
        del self._deadlines[key]
        return False

    def add(self, key: Hashable, now: float, seconds: float) -> None:
        """Remember ``None`` for ``key`` until ``now + seconds``."""
        deadlines = self._deadlines
        deadlines.pop(key, None)
        while deadlines:  # drop the expired front: the oldest expire first
            oldest = next(iter(deadlines))
            if deadlines[oldest] > now:
                break
            del deadlines[oldest]
        deadlines[key] = now + seconds
        while len(deadlines) > self.limit:
            deadlines.popitem(last=False)

    def forget(self, key: Hashable) -> None:
        """Drop whatever is remembered for ``key``."""
        self._deadlines.pop(key, None)

    def forget_all(self, keys: Iterable[Hashable]) -> None:
        """:meth:`forget` each of ``keys``."""
        pop = self._deadlines.pop
        for key in keys:
            pop(key, None)

    def clear(self) -> None:
        """Drop everything (a whole-pool or by-predicate removal)."""
        self._deadlines.clear()

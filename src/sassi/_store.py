"""The resident map: the pool's only mutable state. Synchronous; the caller holds the write lock.

Layout, chosen for a tiny ``get`` hit path and O(1) random sampling:

- ``map``: id -> :class:`Entry`, a slotted object ``(value, epoch, deadline, pos, key)`` whose
  fields sit inline (one memory load from the dict slot to the value). ``deadline`` is ``None``
  for "never expires" (so reads skip the clock); a writer replaces the whole entry, so a
  lock-free reader sees either the old or the new value/deadline pair, never a mix. Readers may
  store a new ``epoch`` into an entry without the lock (recency is advisory).
- ``keys`` / ``values``: parallel lists of resident ids and values (``entry.pos`` is the
  index), kept dense with swap-remove, so the eviction sampler draws random positions in O(1)
  and a scope snapshot is one ``list.copy()`` when nothing is expired.
- ``heap``: ``(deadline, seq, id, entry)`` for entries that have a deadline; stale rows (entry
  replaced or removed) are skipped lazily and the heap is rebuilt when mostly stale. ``timed``
  counts resident entries with a deadline.

All mutation goes through :meth:`Store.put` and :meth:`Store.remove`, which notify the
``observers`` (the secondary indexes) with ``on_put(id, old, new)`` / ``on_remove(id, old)``,
passing the :class:`Entry` objects themselves (``old`` is ``None`` when the id was absent), so an
index can hold the very entries the map holds and answer a query without going back to the map.

``entry[VALUE]``, ``entry[EPOCH]``, ``entry[DEADLINE]``, ``entry[POS]`` still read the fields
(a compatibility path from when entries were lists); attribute access is faster.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Hashable
from typing import Any, Protocol

__all__ = ["DEADLINE", "EPOCH", "POS", "VALUE", "Entry", "Store", "StoreObserver"]

VALUE = 0
EPOCH = 1
DEADLINE = 2
POS = 3

_FIELDS = ("value", "epoch", "deadline", "pos", "key")


class Entry:
    """One resident: its value, recency epoch, deadline (``None``: never), dense position and id.

    :param value: the stored value.
    :param epoch: recency stamp (higher is more recent).
    :param deadline: absolute expiry on the pool clock, or ``None``.
    :param pos: index in ``Store.keys`` / ``Store.values``.
    :param key: the id it is stored under (indexes hand entries around, not ids).
    """

    __slots__ = _FIELDS

    def __init__(
        self, value: Any, epoch: int, deadline: float | None, pos: int, key: Any = None
    ) -> None:
        self.value = value
        self.epoch = epoch
        self.deadline = deadline
        self.pos = pos
        self.key = key

    def __getitem__(self, index: int) -> Any:
        """``entry[VALUE]`` etc.: positional read access (prefer the attributes)."""
        return getattr(self, _FIELDS[index])

    def __repr__(self) -> str:
        return (
            f"Entry({self.value!r}, epoch={self.epoch}, deadline={self.deadline}, pos={self.pos}, "
            f"key={self.key!r})"
        )


class StoreObserver(Protocol):
    """Something kept in step with every resident-map mutation (e.g. a secondary index)."""

    def on_put(self, id: Any, old: Entry | None, new: Entry) -> None:
        """``id`` now maps to the entry ``new``; ``old`` is the entry it replaced, or ``None``."""

    def on_remove(self, id: Any, old: Entry) -> None:
        """``id`` (whose entry was ``old``) left the map."""


class Store:
    """Resident entries, their recency epochs and deadlines. Not thread-safe by itself.

    The owning pool serialises all calls except the lock-free reads documented in the module
    docstring.
    """

    __slots__ = ("_seq", "heap", "keys", "map", "observers", "timed", "values")

    def __init__(self) -> None:
        self.map: dict[Hashable, Entry] = {}
        self.keys: list[Hashable] = []
        self.values: list[Any] = []
        self.heap: list[tuple[float, int, Hashable, Entry]] = []
        self.timed = 0
        self.observers: list[StoreObserver] = []
        self._seq: Callable[[], int] = itertools.count().__next__  # heap tie-breaker

    def __len__(self) -> int:
        return len(self.map)

    @staticmethod
    def live(entry: Entry, now: float) -> bool:
        """Whether ``entry`` is unexpired at ``now`` (``deadline <= now`` is expired)."""
        deadline = entry.deadline
        return deadline is None or deadline > now

    def put(self, id: Hashable, value: Any, epoch: int, deadline: float | None) -> Entry | None:
        """Make ``id`` map to ``value`` with the given recency and deadline.

        :param id: the key.
        :param value: the value (never ``None``).
        :param epoch: its recency stamp.
        :param deadline: absolute expiry on the pool clock, or ``None``.
        :returns: the replaced entry, or ``None`` if ``id`` was absent.
        """
        return self.put_over(id, value, epoch, deadline, self.map.get(id))

    def put_over(
        self, id: Hashable, value: Any, epoch: int, deadline: float | None, old: Entry | None
    ) -> Entry | None:
        """:meth:`put` for a caller that has just read ``old = map.get(id)`` under the same
        lock (the commit path): one dict lookup fewer per write."""
        if old is None:
            pos = len(self.keys)
            self.keys.append(id)
            self.values.append(value)
        else:
            pos = old.pos
            self.values[pos] = value
            if old.deadline is not None:
                self.timed -= 1
        entry = Entry(value, epoch, deadline, pos, id)
        self.map[id] = entry
        if deadline is not None:
            self.timed += 1
            heapq.heappush(self.heap, (deadline, self._seq(), id, entry))
            if len(self.heap) > 64 and len(self.heap) > 2 * self.timed:
                self._rebuild_heap()
        if self.observers:
            for observer in self.observers:
                observer.on_put(id, old, entry)
        return old

    def remove(self, id: Hashable) -> Entry | None:
        """Remove ``id`` (swap-remove from the dense lists).

        :returns: the removed entry, or ``None`` if ``id`` was absent.
        """
        entry = self.map.pop(id, None)
        if entry is None:
            return None
        pos = entry.pos
        last = len(self.keys) - 1
        if pos != last:
            moved = self.keys[last]
            self.keys[pos] = moved
            self.values[pos] = self.values[last]
            self.map[moved].pos = pos
        self.keys.pop()
        self.values.pop()
        if entry.deadline is not None:
            self.timed -= 1
        for observer in self.observers:
            observer.on_remove(id, entry)
        return entry

    def _rebuild_heap(self) -> None:
        self.heap = [
            (e.deadline, self._seq(), k, e) for k, e in self.map.items() if e.deadline is not None
        ]
        heapq.heapify(self.heap)

    def _drop_stale_heads(self) -> None:
        heap = self.heap
        while heap and self.map.get(heap[0][2]) is not heap[0][3]:
            heapq.heappop(heap)

    def any_expired(self, now: float) -> bool:
        """Whether some resident entry is expired at ``now`` (O(1) amortised)."""
        if not self.timed:
            return False
        self._drop_stale_heads()
        return bool(self.heap) and self.heap[0][0] <= now

    def pop_expired(self, now: float) -> list[tuple[Hashable, Entry]]:
        """Remove every entry expired at ``now``, earliest deadline first.

        :returns: ``(id, entry)`` of each removed entry.
        """
        removed: list[tuple[Hashable, Entry]] = []
        heap = self.heap
        while heap and heap[0][0] <= now:
            _, _, id, entry = heapq.heappop(heap)
            if self.map.get(id) is entry:
                self.remove(id)
                removed.append((id, entry))
        return removed

    def snapshot(self, now: float) -> list[Any]:
        """The unexpired resident values (a new list), in the order of ``values`` (pool order)."""
        if not self.any_expired(now):
            return self.values.copy()
        entries = self.map
        live: list[Any] = []
        for key in self.keys:
            entry = entries[key]
            deadline = entry.deadline
            if deadline is None or deadline > now:
                live.append(entry.value)
        return live

    def live_items(self, now: float) -> list[tuple[Hashable, Entry]]:
        """``(id, entry)`` for every unexpired resident (a new list; order unspecified)."""
        return [(k, e) for k, e in self.map.items() if e.deadline is None or e.deadline > now]

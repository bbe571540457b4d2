"""The small value types of the commit contract: :class:`Conflict`, :data:`DEFAULT_TTL`,
:class:`CommitResult` (what one commit did), :class:`Tally` (a lock-free counter) and
:func:`deadline_at`. :mod:`sassi._core._commit` is the write path that uses them."""

from __future__ import annotations

import enum
import itertools
import math
import threading
from collections.abc import Hashable
from typing import Any, Final

from .._events import Event

__all__ = ["DEFAULT_TTL", "CommitResult", "Conflict", "DefaultTTL", "Tally", "deadline_at"]


class Conflict(enum.Enum):
    """How :meth:`PoolCore.commit` treats an upsert over a live resident."""

    RAISE = "raise"
    SKIP = "skip"
    KEEP = "keep"
    REPLACE = "replace"


class DefaultTTL(enum.Enum):
    """The type of :data:`DEFAULT_TTL`."""

    DEFAULT_TTL = "default_ttl"


DEFAULT_TTL: Final = DefaultTTL.DEFAULT_TTL
"""Sentinel for "use the pool's default ttl" (distinct from ``None``, "never expires")."""


class CommitResult:
    """What one :meth:`PoolCore.commit` did (see the module docstring)."""

    __slots__ = (
        "applied",
        "events",
        "inserted",
        "lru_evictions",
        "removed",
        "stored",
        "updated",
    )

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.stored: dict[Hashable, Any] = {}
        self.applied = 0
        self.inserted = 0
        self.updated = 0
        self.removed = 0
        self.lru_evictions = 0

    def __repr__(self) -> str:
        return (
            f"CommitResult(applied={self.applied}, inserted={self.inserted}, "
            f"updated={self.updated}, removed={self.removed}, "
            f"lru_evictions={self.lru_evictions}, events={len(self.events)})"
        )


class Tally:
    """A counter safe to bump from any thread without a lock (``itertools.count``)."""

    __slots__ = ("_count", "_lock", "_reads", "bump")

    def __init__(self) -> None:
        self._count = itertools.count()
        self._reads = 0
        self._lock = threading.Lock()
        self.bump = self._count.__next__

    def add(self, n: int) -> None:
        """Add ``n`` (``n`` bumps)."""
        for _ in range(n):
            self.bump()

    @property
    def value(self) -> int:
        """The current count."""
        with self._lock:
            raw = next(self._count)
            value = raw - self._reads
            self._reads += 1
            return value


def deadline_at(now: float, seconds: float | None) -> float | None:
    """``now + seconds``; ``None`` (never expires) for no ttl or an infinite deadline."""
    if seconds is None:
        return None
    deadline = now + seconds
    return None if math.isinf(deadline) else deadline

"""The cache policies of the fetch helpers (SPEC 11.6): "not found" answers, stale serving,
background revalidation. See :mod:`sassi._fetch` for where each applies."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from anyio.abc import TaskGroup

from .._core import PoolCore, Ticket

__all__ = ["Policies", "Revalidations"]

log = logging.getLogger("sassi.fetch")

T = TypeVar("T")


class Policies(Generic[T]):
    """``negative_ttl``, ``stale_if_error`` and the stale reads of one pool's fetches.

    :param core: the pool core.
    """

    def __init__(self, core: PoolCore[T]) -> None:
        self.core = core

    def negative(self, key: Hashable) -> bool:
        """Whether a "not found" is remembered for ``key`` (counted as a negative hit)."""
        core = self.core
        negatives = core.negatives
        if negatives is None:
            return False
        with core.lock:
            hit = negatives.hit(key, core.clock())
        if hit:
            core.negative_hits.bump()
        return hit

    def revalidatable(self, key: Hashable) -> T | None:
        """The stale value of ``key`` within ``stale_while_revalidate``, or ``None``."""
        return self.core.stale(key, self.core.config.stale_while_revalidate)

    def not_found(self, ticket: Ticket, keys: Iterable[Hashable]) -> None:
        """The fetcher found nothing for ``keys``: drop their expired entries (no stale value
        outlives its row) and remember "not found" (``negative_ttl``), except for ids that a
        removal raced or that are live again. Call while ``ticket`` is registered."""
        core = self.core
        config = core.config
        if core.negatives is None and not config.stale_window:
            return
        with core.lock:
            quiet = [
                k for k in keys if not core.generations.raced(ticket, k) and not core.contains(k)
            ]
            expired = [k for k in quiet if k in core.map]
            if expired:
                core.commit(removals=expired)  # expired entries leave silently
            if core.negatives is not None and config.negative_ttl is not None:
                now = core.clock()
                for key in quiet:
                    core.negatives.add(key, now, config.negative_ttl)

    def failed(self, key: Hashable, error: Exception) -> T | None:
        """The fetcher raised for ``key``: the stale value to serve instead
        (``stale_if_error``, logged), or ``None`` to raise. Counting is the caller's."""
        core = self.core
        stale = core.stale(key, core.config.stale_if_error)
        if stale is not None:
            log.warning(
                "sassi: fetcher for %s id %r raised %r; serving the stale value (stale_if_error)",
                core.type_name,
                key,
                error,
            )
        return stale


class Revalidations:
    """``stale_while_revalidate`` refetches handed to ``pool.background()``'s task group.

    :param type_name: for log messages.
    """

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name
        self._groups: dict[int, list[TaskGroup]] = {}  # thread -> background() task groups
        self._scheduled: set[Hashable] = set()  # ids whose refetch is scheduled or running

    @contextlib.contextmanager
    def serving(self, group: TaskGroup) -> Iterator[None]:
        """While inside, refetches asked for from this thread run in ``group``."""
        groups = self._groups.setdefault(threading.get_ident(), [])
        groups.append(group)
        try:
            yield
        finally:
            groups.remove(group)
            if not groups:
                del self._groups[threading.get_ident()]

    def hand_off(self, key: Hashable, refetch: Callable[[], Awaitable[Any]]) -> bool:
        """Run ``refetch()`` in this thread's background group, unless one for ``key`` is
        scheduled already; ``False`` (nothing started) when there is no such group."""
        groups = self._groups.get(threading.get_ident())
        if not groups:
            return False
        if key not in self._scheduled:
            self._scheduled.add(key)
            groups[-1].start_soon(self._run, key, refetch)
        return True

    async def _run(self, key: Hashable, refetch: Callable[[], Awaitable[Any]]) -> None:
        try:
            await refetch()
        except Exception as exc:  # nobody waits for a background refetch: log it
            log.warning("sassi: refetch of %s id %r failed: %r", self.type_name, key, exc)
        finally:
            self._scheduled.discard(key)

"""Pool counters (``pool.stats()``) and the guarded metrics hook.

``metrics=`` accepts any object with some of ``record_hit(type_name, tier)``,
``record_miss(type_name)``, ``record_eviction(type_name, reason)``,
``record_backend_error(type_name, error)``, ``record_fetch_latency(type_name, seconds)`` and
``record_size(type_name, size)``. :class:`Metrics` binds the methods that exist once; calling a
missing one is a no-op and an exception inside one is logged, never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._config import EventReason

__all__ = ["Metrics", "PunnuStats"]

log = logging.getLogger("sassi.metrics")

_HOOKS = (
    "record_hit",
    "record_miss",
    "record_eviction",
    "record_backend_error",
    "record_fetch_latency",
    "record_size",
)


@dataclass(frozen=True, slots=True)
class PunnuStats:
    """A point-in-time copy of a pool's counters.

    :param hits: ``get`` calls (and fetch-helper L1 hits) that found a live value.
    :param misses: lookups that found nothing live (an expired entry counts as a miss).
    :param hit_ratio: ``hits / (hits + misses)``, ``0.0`` before any lookup.
    :param size: residents now (expired-but-not-removed included, like ``len(pool)``).
    :param evictions: per :class:`~sassi.EventReason`: every ``Invalidated`` event emitted, plus
        one ``TTL_EXPIRED`` per lazy-expiry miss (the metrics hook's accounting).
    :param fetches: fetcher calls started by the fetch helpers.
    :param coalesced_waiters: fetch-helper callers that joined a fetch already in flight.
    :param backend_errors: backend failures and hostile or undecodable backend messages the
        pool logged and carried on from (each also reported to ``record_backend_error``).
    :param negative_hits: fetch-helper and loader lookups answered ``None`` from a remembered
        "not found" (``negative_ttl``) without calling the fetcher.
    :param fetch_errors: fetcher calls of the fetch helpers and loaders that raised (served
        stale under ``stale_if_error``, raised to the callers, or logged by a background
        revalidation).
    """

    hits: int
    misses: int
    hit_ratio: float
    size: int
    evictions: Mapping[EventReason, int]
    fetches: int
    coalesced_waiters: int
    backend_errors: int = 0
    negative_hits: int = 0
    fetch_errors: int = 0


def _guard(name: str, method: Callable[..., Any]) -> Callable[..., None]:
    def call(*args: Any) -> None:
        try:
            method(*args)
        except Exception:
            log.exception("sassi metrics hook %s raised; ignored", name)

    return call


class Metrics:
    """The user's metrics object with each hook bound (or ``None`` when it lacks it).

    :param target: the ``metrics=`` object, or ``None``.
    :param type_name: ``sassi.type_name(Model)``, passed as the first argument of every hook.
    """

    __slots__ = ("_type_name", *_HOOKS)

    record_hit: Callable[..., None] | None
    record_miss: Callable[..., None] | None
    record_eviction: Callable[..., None] | None
    record_backend_error: Callable[..., None] | None
    record_fetch_latency: Callable[..., None] | None
    record_size: Callable[..., None] | None

    def __init__(self, target: Any, type_name: str) -> None:
        self._type_name = type_name
        for name in _HOOKS:
            method = getattr(target, name, None) if target is not None else None
            setattr(self, name, _guard(name, method) if callable(method) else None)

    def hit(self, tier: Any) -> None:
        """Record a hit in ``tier``."""
        if self.record_hit is not None:
            self.record_hit(self._type_name, tier)

    def miss(self) -> None:
        """Record a miss."""
        if self.record_miss is not None:
            self.record_miss(self._type_name)

    def eviction(self, reason: EventReason) -> None:
        """Record one entry leaving for ``reason``."""
        if self.record_eviction is not None:
            self.record_eviction(self._type_name, reason)

    def backend_error(self, error: BaseException) -> None:
        """Record a backend failure."""
        if self.record_backend_error is not None:
            self.record_backend_error(self._type_name, error)

    def fetch_latency(self, seconds: float) -> None:
        """Record how long a slow-path fetch took."""
        if self.record_fetch_latency is not None:
            self.record_fetch_latency(self._type_name, seconds)

    def size(self, size: int) -> None:
        """Record the resident count after a committed write."""
        if self.record_size is not None:
            self.record_size(self._type_name, size)

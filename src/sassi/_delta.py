"""Delta batches: what a source changed since a watermark, applied to a pool in one commit.

:func:`normalize_delta` is the pure first step of ``Punnu.apply_delta``: tombstones beat items
with the same id, duplicate item ids keep the last one, and survivors come out in ascending id
order (the event order the pool promises).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ._batch import normalize, sorted_by_id

__all__ = ["Delta", "DeltaQuery", "DeltaStats", "normalize_delta", "sorted_by_id"]

# sorted_by_id (re-exported): ``sassi._batch``, compiled with the core

T = TypeVar("T")


@dataclass(frozen=True, slots=True, init=False)
class Delta(Generic[T]):
    """Changed rows plus deleted ids, applied atomically by :meth:`~sassi.Punnu.apply_delta`.

    :param items: rows to upsert (absence never deletes).
    :param tombstones: ids to delete; a tombstone beats an item with the same id.
    :param high_watermark: the source's watermark after this batch, if it reports one.
    """

    items: tuple[T, ...]
    tombstones: frozenset[Any]
    high_watermark: Any

    def __init__(
        self,
        items: Iterable[T] = (),
        tombstones: Iterable[Any] = (),
        high_watermark: Any = None,
    ) -> None:
        object.__setattr__(self, "items", tuple(items))
        object.__setattr__(self, "tombstones", frozenset(tombstones))
        object.__setattr__(self, "high_watermark", high_watermark)


@dataclass(frozen=True, slots=True)
class DeltaStats:
    """What one ``apply_delta`` did.

    :param applied_items: items resident after the commit (inserted or replaced and not evicted).
    :param tombstones_evicted: live entries removed by tombstones.
    :param lru_evictions: previously visible entries evicted for capacity.
    :param backend_reserved_skips: ids held by a strict backend write (then nothing is applied).
    """

    applied_items: int = 0
    tombstones_evicted: int = 0
    lru_evictions: int = 0
    backend_reserved_skips: int = 0


@dataclass(frozen=True, slots=True)
class DeltaQuery(Generic[T]):
    """What a delta fetcher is asked for.

    :param since: the last successful watermark (inclusive: return rows with watermark
        ``>= since``), or ``None`` for a full fetch.
    :param recover_ids: ids evicted from the pool that the fetcher should return again.
    """

    since: Any = None
    recover_ids: frozenset[Any] = frozenset()


def normalize_delta(
    delta: Delta[T], id_of: Callable[[T], Hashable]
) -> tuple[list[tuple[Hashable, T]], list[Hashable]]:
    """The upserts and tombstones of ``delta`` as the pool applies them.

    :param delta: the batch.
    :param id_of: the model's id getter.
    :returns: ``(upserts, tombstones)``: upserts are ``(id, value)`` with tombstoned ids dropped,
        duplicates resolved to the last value, in ascending id order; tombstones in ascending
        id order.
    """
    return normalize(delta.items, delta.tombstones, id_of)

"""Batches of upserts as the pool applies them: ids deduplicated, tombstones first, id order.

The per-item loop of ``apply_delta`` and delta refresh (compiled with the core; see
``pyproject.toml``). :mod:`sassi._delta` wraps it for a :class:`~sassi.Delta`.
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Callable, Collection, Hashable, Iterable
from typing import Any

__all__ = ["normalize", "sorted_by_id"]

_FIRST = operator.itemgetter(0)


def sorted_by_id(pairs: Iterable[tuple[Hashable, Any]]) -> list[tuple[Hashable, Any]]:
    """``pairs`` sorted by id; insertion order is kept if the ids are not mutually orderable.

    Already-sorted input (the usual delta) costs one linear pass.
    """
    items = list(pairs)
    with contextlib.suppress(TypeError):
        items.sort(key=_FIRST)
    return items


def normalize(
    items: Iterable[Any], tombstones: Collection[Hashable], id_of: Callable[[Any], Hashable]
) -> tuple[list[tuple[Hashable, Any]], list[Hashable]]:
    """``(upserts, tombstones)`` in ascending id order: a tombstone beats an item with its id,
    duplicate item ids keep the last item.

    :param items: the rows.
    :param tombstones: the ids to delete.
    :param id_of: the id getter (it may also check the value, and raise).
    :returns: upserts as ``(id, value)`` pairs, and the tombstones, both sorted by id.
    """
    pairs: list[tuple[Hashable, Any]] = []
    append = pairs.append
    ascending = True  # ids strictly increasing so far: then unique and sorted already
    last: Any = None
    for item in items:
        key = id_of(item)
        if tombstones and key in tombstones:
            continue
        if ascending and pairs:
            try:
                ascending = bool(key > last)
            except TypeError:
                ascending = False
        append((key, item))
        last = key
    if not ascending:  # dedupe (the last item wins, in its position), then sort
        latest: dict[Hashable, Any] = {}
        for key, item in pairs:
            latest.pop(key, None)
            latest[key] = item
        pairs = sorted_by_id(latest.items())
    return pairs, [k for k, _ in sorted_by_id([(t, t) for t in tombstones])]

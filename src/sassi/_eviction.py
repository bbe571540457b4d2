"""Sampled-LRU victim choice (the Rust crate's algorithm). Stores nothing, mutates nothing.

Sample ``min(len, 5)`` distinct random residents and pick the one with the lowest recency epoch.
With five or fewer residents the sample is the whole set, so eviction is exact LRU. A single
insert protects its own id: when the sampled victim is the protected id, fall back to the global
minimum epoch among the other residents.
"""

from __future__ import annotations

import random
from collections.abc import Hashable

from ._store import Store

__all__ = ["SAMPLE_SIZE", "pick_victim"]

SAMPLE_SIZE = 5


def pick_victim(
    store: Store, protect: Hashable | None = None, rng: random.Random | None = None
) -> Hashable | None:
    """The id to evict next, or ``None`` when nothing can be evicted.

    :param store: the resident map.
    :param protect: an id that must not be chosen, if any.
    :param rng: the random source (``random`` module's by default).
    :returns: the victim id.
    """
    keys = store.keys
    entries = store.map
    n = len(keys)
    if n == 0:
        return None
    if n <= SAMPLE_SIZE:
        positions: range | list[int] = range(n)
    else:
        draw = (rng or random).random
        positions = []
        while len(positions) < SAMPLE_SIZE:  # distinct uniform positions, O(1) expected
            pos = int(draw() * n)
            if pos not in positions:
                positions.append(pos)
    best_pos = -1
    best_epoch = 0
    for pos in positions:
        epoch = entries[keys[pos]].epoch
        if best_pos < 0 or epoch < best_epoch:
            best_pos, best_epoch = pos, epoch
    best = keys[best_pos]
    if protect is None or best != protect:
        return best
    fallback_pos = -1
    fallback_epoch = 0
    for pos, key in enumerate(keys):
        if key == protect:
            continue
        epoch = entries[key].epoch
        if fallback_pos < 0 or epoch < fallback_epoch:
            fallback_pos, fallback_epoch = pos, epoch
    return None if fallback_pos < 0 else keys[fallback_pos]

"""Smaller pool behaviours: the get fast path and its metrics twin, reprs, background errors."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import anyio
import pytest

import sassi
from sassi import EventReason, Punnu
from sassi.testing import FakeClock


@dataclass(frozen=True, slots=True)
class Item:
    id: int


class Hits:
    def __init__(self) -> None:
        self.hits = 0

    def record_hit(self, type_name: str, tier: object) -> None:
        self.hits += 1


@pytest.mark.parametrize("metrics", [None, Hits()])
def test_get_paths_agree_with_and_without_metrics(metrics: Any) -> None:
    clock = FakeClock()
    pool = Punnu(Item, capacity=2, clock=clock, metrics=metrics)
    pool.insert(Item(1))
    pool.insert(Item(2), ttl=1)
    assert pool.get(1) == Item(1)
    assert Punnu.get(pool, 1) == Item(1)  # the documented method works unbound too
    clock.advance(1)
    assert pool.get(2) is None
    assert pool.get(3) is None
    pool.insert(Item(3))  # 2 is expired (dropped silently); nothing live is evicted
    assert pool.get(1) == Item(1)
    stats = pool.stats()
    assert (stats.hits, stats.misses) == (3, 2)
    assert stats.evictions[EventReason.TTL_EXPIRED] == 1
    assert stats.evictions[EventReason.LRU_EVICT] == 0
    if metrics is not None:
        assert metrics.hits == 3
    # the instance's get is the core's method; compiled, mypyc keeps no docstrings on it
    # (help(Punnu.get) has the documented one either way)
    assert pool.get.__doc__ == (None if sassi.compiled else Punnu.get.__doc__)


def test_repr_mentions_model_and_fill() -> None:
    pool = Punnu(Item, capacity=3)
    pool.insert(Item(1))
    assert repr(pool) == "<Punnu[Item] 1/3>"
    assert "Item" in repr(pool.scope())


def test_pool_is_weakly_referenceable_and_takes_extra_attributes() -> None:
    import weakref

    pool = Punnu(Item)
    assert weakref.ref(pool)() is pool
    pool.extra = 1  # type: ignore[attr-defined]  # other modules hang state on a pool


@pytest.mark.anyio
async def test_sweep_errors_are_logged_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    pool = Punnu(Item, ttl=1, sweep_interval=0.001, clock=clock)
    pool.insert(Item(1))
    calls = 0
    real = pool.sweep_expired

    def flaky() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("sweep boom")
        return real()

    pool.sweep_expired = flaky  # type: ignore[method-assign]
    sub = pool.events()
    with caplog.at_level(logging.ERROR, logger="sassi.punnu"), anyio.fail_after(10):
        async with pool.background():
            clock.advance(1)
            event = await sub.receive()
    assert event.id == 1  # type: ignore[union-attr]
    assert calls >= 2
    assert any("TTL sweep" in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
async def test_a_failing_background_task_surfaces_from_the_block() -> None:
    pool = Punnu(Item)

    async def broken(p: Punnu[Item]) -> None:
        raise LookupError("listener died")

    pool._core.background.append(lambda: broken(pool))
    with pytest.raises(ExceptionGroup) as info:
        async with pool.background():
            await anyio.sleep_forever()
    assert info.group_contains(LookupError, match="listener died")


def test_a_subclass_get_override_is_respected() -> None:
    class Counting(Punnu[Item]):
        calls = 0

        def get(self, id: Any) -> Item | None:
            type(self).calls += 1
            return super().get(id)

    pool = Counting(Item)
    pool.insert(Item(1))
    assert pool.get(1) == Item(1)
    assert Counting.calls == 1

"""Metrics hooks and stats() (reference section 2.13, contracts 49-52)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest

import sassi
from sassi import CacheTier, EventReason, OnConflict, Punnu, PunnuStats
from sassi.testing import FakeClock


@sassi.cacheable(type_name="test.Metric")
@dataclass(frozen=True, slots=True)
class Item:
    id: int


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def record_hit(self, type_name: str, tier: object) -> None:
        self.calls.append(("hit", type_name, tier))

    def record_miss(self, type_name: str) -> None:
        self.calls.append(("miss", type_name))

    def record_eviction(self, type_name: str, reason: EventReason) -> None:
        self.calls.append(("eviction", type_name, reason))

    def record_size(self, type_name: str, size: int) -> None:
        self.calls.append(("size", type_name, size))

    def of(self, kind: str) -> list[tuple[Any, ...]]:
        return [c[2:] if len(c) > 2 else () for c in self.calls if c[0] == kind]


def test_records_hit_and_miss_with_type_name() -> None:
    rec = Recorder()
    pool = Punnu(Item, metrics=rec)
    pool.insert(Item(1))
    rec.calls.clear()
    pool.get(1)
    pool.get(2)
    assert rec.calls == [("hit", "test.Metric", CacheTier.L1), ("miss", "test.Metric")]
    assert rec.calls[0][2] == "L1"


def test_records_size_after_insert_insert_invalidate() -> None:
    rec = Recorder()
    pool = Punnu(Item, metrics=rec)
    pool.insert(Item(1))
    pool.insert(Item(2))
    pool.invalidate(1)
    pool.invalidate(99)  # no event, no size sample
    assert rec.of("size") == [(1,), (2,), (1,)]


def test_records_eviction_on_manual_invalidate_lru_and_lazy_ttl() -> None:
    rec = Recorder()
    clock = FakeClock()
    pool = Punnu(Item, capacity=1, metrics=rec, clock=clock)
    pool.insert(Item(1))
    pool.invalidate(1)
    pool.insert(Item(2))
    pool.insert(Item(3))
    pool.insert(Item(4), ttl=1)
    clock.advance(1)
    assert pool.get(4) is None
    assert rec.of("eviction") == [
        (EventReason.MANUAL,),
        (EventReason.LRU_EVICT,),
        (EventReason.LRU_EVICT,),
        (EventReason.TTL_EXPIRED,),
    ]
    assert rec.of("miss") == [()]


def test_records_sweep_evictions() -> None:
    rec = Recorder()
    clock = FakeClock()
    pool = Punnu(Item, metrics=rec, clock=clock, ttl=1)
    pool.insert(Item(1))
    clock.advance(1)
    pool.sweep_expired()
    assert rec.of("eviction") == [(EventReason.TTL_EXPIRED,)]
    assert rec.of("size")[-1] == (0,)
    pool.insert(Item(2), ttl=100)
    samples = len(rec.of("size"))
    assert pool.sweep_expired() == 0  # nothing expired: still one size sample
    assert rec.of("size")[samples:] == [(1,)]


def test_missing_methods_are_skipped() -> None:
    class OnlyMiss:
        def __init__(self) -> None:
            self.misses = 0

        def record_miss(self, type_name: str) -> None:
            self.misses += 1

    hooks = OnlyMiss()
    pool = Punnu(Item, metrics=hooks)
    pool.insert(Item(1))
    pool.get(1)
    pool.get(2)
    pool.invalidate(1)
    assert hooks.misses == 1


def test_raising_hooks_are_logged_and_never_break_the_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        def __getattr__(self, name: str) -> Any:
            if not name.startswith("record_"):
                raise AttributeError(name)

            def hook(*args: object) -> None:
                raise RuntimeError(f"boom in {name}")

            return hook

    pool = Punnu(Item, capacity=1, metrics=Broken(), on_conflict=OnConflict.UPDATE)
    with caplog.at_level(logging.ERROR, logger="sassi.metrics"):
        pool.insert(Item(1))
        pool.insert(Item(2))
        assert pool.get(2) == Item(2)
        assert pool.get(1) is None
        assert pool.invalidate(2)
    assert len(pool) == 0
    logged = {r.getMessage() for r in caplog.records}
    for hook in ("record_size", "record_hit", "record_miss", "record_eviction"):
        assert f"sassi metrics hook {hook} raised; ignored" in logged
    pool.insert(Item(3))  # the commit path is not poisoned
    assert pool.get(3) == Item(3)


def test_metrics_none_means_no_calls() -> None:
    pool = Punnu(Item)
    pool.insert(Item(1))
    pool.get(1)
    assert pool._core.metrics.record_hit is None


def test_stats_counts_hits_misses_and_evictions() -> None:
    clock = FakeClock()
    pool = Punnu(Item, capacity=2, clock=clock)
    assert pool.stats() == PunnuStats(
        hits=0,
        misses=0,
        hit_ratio=0.0,
        size=0,
        evictions=dict.fromkeys(EventReason, 0),
        fetches=0,
        coalesced_waiters=0,
    )
    pool.insert(Item(1))
    pool.insert(Item(2))
    pool.insert(Item(3))  # evicts 1
    for _ in range(3):
        pool.get(3)
    pool.get(1)
    pool.invalidate(2)
    pool.insert(Item(4), ttl=1)
    clock.advance(1)
    pool.get(4)  # lazy expiry: a miss and a TTL eviction count
    stats = pool.stats()
    assert stats.hits == 3
    assert stats.misses == 2
    assert stats.hit_ratio == pytest.approx(3 / 5)
    assert stats.size == 2
    assert stats.evictions[EventReason.LRU_EVICT] == 1
    assert stats.evictions[EventReason.MANUAL] == 1
    assert stats.evictions[EventReason.TTL_EXPIRED] == 1
    again = pool.stats()  # reading stats does not change them
    assert again == stats


def test_fetch_counters_can_be_bumped() -> None:
    pool = Punnu(Item)
    pool._core.fetches.bump()
    pool._core.fetches.add(2)
    pool._core.coalesced.add(5)
    stats = pool.stats()
    assert (stats.fetches, stats.coalesced_waiters) == (3, 5)
    assert pool.stats().fetches == 3


@pytest.mark.parametrize("told", ["nobody", "a subscriber", "metrics", "both"])
def test_lru_evictions_on_insert_are_counted_whoever_listens(told: str) -> None:
    """Inserts into a full pool build no eviction events when nobody would receive them; the
    count in ``stats()`` is the same either way, and so are the events and metrics calls."""
    rec = Recorder()
    pool = Punnu(Item, capacity=10, metrics=rec if told in ("metrics", "both") else None)
    with pool.events() as sub:
        if told in ("nobody", "metrics"):
            sub.close()
        for i in range(50):
            pool.insert(Item(i))
        evicted = [e.id for e in iter(sub.receive_nowait, None) if isinstance(e, sassi.Invalidated)]
    assert len(pool) == 10 and pool.stats().evictions[EventReason.LRU_EVICT] == 40
    if told in ("a subscriber", "both"):
        assert len(evicted) == 40 and set(evicted) | {r.id for r in pool.scope()} == set(range(50))
    if told in ("metrics", "both"):
        assert rec.of("eviction") == [(EventReason.LRU_EVICT,)] * 40

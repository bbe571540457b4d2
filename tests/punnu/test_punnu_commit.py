"""The internal write path other modules build on: Punnu._commit and store observers."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import drain
from sassi import (
    ConflictError,
    EventReason,
    Inserted,
    Invalidated,
    OnConflict,
    Punnu,
    Updated,
)
from sassi._core import Conflict
from sassi.testing import FakeClock


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    v: str = ""


def test_keep_returns_the_live_prior_and_installs_over_absent_or_expired() -> None:
    clock = FakeClock()
    pool = Punnu(Row, on_conflict=OnConflict.REJECT, clock=clock)
    live = pool.insert(Row(1, "live"))
    pool.insert(Row(2, "dying"), ttl=1)
    clock.advance(1)
    sub = pool.events()
    result = pool._core.commit(((1, Row(1, "fetched")),), conflict=Conflict.KEEP, protect=True)
    assert result.stored[1] is live and result.applied == 0 and drain(sub) == []
    fetched = Row(2, "fetched")
    result = pool._core.commit(((2, fetched),), conflict=Conflict.KEEP, protect=True)
    assert result.stored[2] is fetched and result.inserted == 1
    assert drain(sub) == [Inserted(fetched)]


def test_raise_is_all_or_nothing_under_reject() -> None:
    pool = Punnu(Row, on_conflict=OnConflict.REJECT)
    pool.insert(Row(2))
    sub = pool.events()
    with pytest.raises(ConflictError):
        pool._core.commit([(1, Row(1)), (2, Row(2, "x")), (3, Row(3))])
    assert len(pool) == 1 and 1 not in pool and drain(sub) == []


def test_replace_all_removes_absent_live_residents_and_counts() -> None:
    clock = FakeClock()
    pool = Punnu(Row, on_conflict=OnConflict.UPDATE, clock=clock)
    for i in (1, 2, 3):
        pool.insert(Row(i))
    pool.insert(Row(4), ttl=1)
    clock.advance(1)
    sub = pool.events()
    result = pool._core.commit(
        [(3, Row(3, "new")), (5, Row(5))], replace_all=True, conflict=Conflict.REPLACE
    )
    assert (result.removed, result.updated, result.inserted) == (2, 1, 1)
    events = drain(sub)
    assert events[:2] == [Invalidated(1, EventReason.MANUAL), Invalidated(2, EventReason.MANUAL)]
    assert events[2:] == [Updated(Row(3), Row(3, "new")), Inserted(Row(5))]
    assert sorted(r.id for r in pool.scope().collect()) == [3, 5]
    assert len(pool) == 2  # the expired 4 went silently


def test_replace_overrides_reject() -> None:
    pool = Punnu(Row, on_conflict=OnConflict.REJECT)
    pool.insert(Row(1, "old"))
    sub = pool.events()
    result = pool._core.commit([(1, Row(1, "new"))], conflict=Conflict.REPLACE)
    assert result.updated == 1
    assert pool.get(1) == Row(1, "new")
    assert drain(sub) == [Inserted(Row(1, "new"))]


def test_hints_set_remaining_ttl_and_lru_order() -> None:
    clock = FakeClock()
    pool = Punnu(Row, capacity=3, ttl=100, clock=clock)
    hints: dict[Any, tuple[float | None, int]] = {1: (None, 2), 2: (5.0, 0), 3: (50.0, 1)}
    pool._core.commit([(i, Row(i)) for i in (1, 2, 3)], hints=hints, conflict=Conflict.REPLACE)
    pool.insert(Row(4))  # evicts the rank-0 entry, 2
    assert sorted(r.id for r in pool.scope().collect()) == [1, 3, 4]
    pool.insert(Row(5))  # then rank 1, 3
    assert sorted(r.id for r in pool.scope().collect()) == [1, 4, 5]
    clock.advance(10**6)
    assert pool.get(1) == Row(1)  # no ttl stays no ttl (the pool default is ignored)
    assert pool.stats().hits == 1  # reserving epochs does not count as hits


def test_hinted_ttl_expires() -> None:
    clock = FakeClock()
    pool = Punnu(Row, clock=clock)
    pool._core.commit([(1, Row(1))], hints={1: (5.0, 0)})
    clock.advance(5)
    assert pool.get(1) is None


def test_precheck_runs_under_the_lock_and_aborts_without_changes() -> None:
    pool = Punnu(Row)
    pool.insert(Row(1))
    seen: list[float] = []

    def refuse(now: float) -> None:
        seen.append(now)
        assert pool._core.lock._is_owned()  # type: ignore[attr-defined]
        raise RuntimeError("reserved")

    sub = pool.events()
    with pytest.raises(RuntimeError):
        pool._core.commit([(2, Row(2))], removals=[1], precheck=refuse)
    assert seen and 1 in pool and 2 not in pool and drain(sub) == []


def test_ttl_argument_none_means_never_expires_despite_pool_default() -> None:
    clock = FakeClock()
    pool = Punnu(Row, ttl=1, clock=clock)
    pool._core.commit([(1, Row(1))], ttl=None)
    pool._core.commit([(2, Row(2))])
    clock.advance(2)
    assert 1 in pool and 2 not in pool


class Recorder:
    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []

    def on_put(self, id: Any, old: Any, new: Any) -> None:
        # observers get the store's entries: the entry's key is the id, its value the row
        assert new.key == id and (old is None or old.key == id)
        self.log.append(("put", id, None if old is None else old.value, new.value))

    def on_remove(self, id: Any, old: Any) -> None:
        assert old.key == id
        self.log.append(("remove", id, old.value))


def test_observers_see_every_mutation() -> None:
    clock = FakeClock()
    pool = Punnu(Row, capacity=2, clock=clock)
    rec = Recorder()
    pool._core.store.observers.append(rec)
    a, a2, b, c = Row(1, "a"), Row(1, "a2"), Row(2, "b"), Row(3, "c")
    pool.insert(a)
    pool.insert(a2)
    pool.insert(b, ttl=1)
    pool.invalidate(1)
    clock.advance(1)
    pool.insert(c)
    pool.insert(Row(4))  # over capacity: the expired b is dropped silently, no LRU needed
    assert rec.log == [
        ("put", 1, None, a),
        ("put", 1, a, a2),
        ("put", 2, None, b),
        ("remove", 1, a2),
        ("put", 3, None, c),
        ("put", 4, None, Row(4)),
        ("remove", 2, b),
    ]


def test_events_emitted_for_removals_lru_and_upserts_in_that_order() -> None:
    pool = Punnu(Row, capacity=3)
    for i in (1, 2, 3):
        pool.insert(Row(i))
    sub = pool.events()
    pool._core.commit(
        [(6, Row(6)), (5, Row(5))], removals=[3], reason=EventReason.BACKEND_INVALIDATION
    )
    assert drain(sub) == [
        Invalidated(3, EventReason.BACKEND_INVALIDATION),
        Invalidated(1, EventReason.LRU_EVICT),
        Inserted(Row(5)),
        Inserted(Row(6)),
    ]


single_ops = st.lists(
    st.tuples(
        st.integers(0, 12),
        st.sampled_from(list(Conflict)),
        st.none() | st.sampled_from([0.5, 2.0]),
        st.booleans(),
        st.sampled_from([0.0, 0.5, 1.0]),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    capacity=st.integers(1, 8),
    policy=st.sampled_from(list(OnConflict)),
    ops=single_ops,
)
def test_single_upsert_fast_path_matches_the_general_path(
    capacity: int, policy: OnConflict, ops: list[tuple[Any, ...]]
) -> None:
    clocks = [FakeClock(), FakeClock()]
    pools = [Punnu(Row, capacity=capacity, on_conflict=policy, clock=c) for c in clocks]
    subs = [p.events() for p in pools]
    for p in pools:
        p._core.rng = random.Random(7)
    for n, (key, conflict, ttl, protect, step) in enumerate(ops):
        value = Row(key, str(n))
        outcomes: list[object] = []
        for pool, clock, shape in zip(pools, clocks, (tuple, list), strict=True):
            clock.advance(step)
            upserts = shape([(key, value)])
            try:
                r = pool._core.commit(upserts, conflict=conflict, ttl=ttl, protect=protect)
            except ConflictError:
                outcomes.append("conflict")
                continue
            outcomes.append(
                (r.stored, r.applied, r.inserted, r.updated, r.removed, r.lru_evictions, r.events)
            )
        assert outcomes[0] == outcomes[1]
        assert drain(subs[0]) == drain(subs[1])
        assert {r.id: r for r in pools[0].scope().collect()} == {
            r.id: r for r in pools[1].scope().collect()
        }
        assert len(pools[0]) == len(pools[1]) <= capacity

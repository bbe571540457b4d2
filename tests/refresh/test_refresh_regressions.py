"""Regressions of issue 11 (items 1-4 and 21): delta/periodic refresh against the Rust crate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

import sassi
from helpers import drain
from sassi import Delta, DeltaQuery, EventReason, Inserted, Invalidated, Punnu

pytestmark = pytest.mark.anyio

NEVER = 3600.0


@sassi.cacheable(watermark="updated_at")
@dataclass(frozen=True, slots=True)
class Row:
    id: int
    name: str = ""
    updated_at: Any = 0


class Boom:
    """A watermark whose every comparison raises, as a broken accessor would."""

    def __gt__(self, other: object) -> bool:
        raise ArithmeticError("watermark accessor failed")

    __lt__ = __ge__ = __le__ = __gt__


class Fetcher:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.queries: list[DeltaQuery[Row]] = []

    async def __call__(self, query: DeltaQuery[Row]) -> Delta[Row]:
        self.queries.append(query)
        return self.answer(query)  # type: ignore[no-any-return]


async def test_enabling_recovery_after_an_eviction_still_asks_for_the_evicted_id() -> None:
    # Rust delta_sync_recovery.rs: enabling_eviction_recovery_after_eviction_preserves_observed_ids
    pool = Punnu(Row, capacity=2)
    fetch = Fetcher(
        lambda q: Delta([Row(1, "a", 1), Row(2, "b", 1)]) if q.since is None else Delta()
    )
    sub = pool.events()
    async with pool.delta_refresh(NEVER, fetch) as handle:
        await handle.update()  # observes 1 and 2
        drain(sub)
        pool.insert(Row(3))  # recovery is off: the eviction of an observed id must be kept
        evicted = [e.id for e in drain(sub) if type(e) is Invalidated]
        assert len(evicted) == 1 and evicted[0] in (1, 2)
        handle.with_eviction_recovery()
        assert handle.pending_eviction_recovery_count() == 1
        await handle.update()
    assert fetch.queries[-1].recover_ids == frozenset(evicted)


async def test_recovery_ids_are_not_asked_for_while_recovery_is_off() -> None:
    pool = Punnu(Row, capacity=2)
    fetch = Fetcher(
        lambda q: Delta([Row(1, "a", 1), Row(2, "b", 1)]) if q.since is None else Delta()
    )
    async with pool.delta_refresh(NEVER, fetch) as handle:
        await handle.update()
        pool.insert(Row(3))
        await handle.update()
        assert handle.pending_eviction_recovery_count() == 0
        handle.with_eviction_recovery(False)  # switching off forgets what was recorded
        handle.with_eviction_recovery()
        await handle.update()
    assert [q.recover_ids for q in fetch.queries[1:]] == [frozenset(), frozenset()]


async def test_a_raising_watermark_leaves_pool_watermark_and_membership_as_before() -> None:
    # Rust: panic_after_membership_prime_restores_recovery_and_membership
    pool = Punnu(Row)
    answers = iter(
        [
            Delta([Row(1, "a", 5)]),
            Delta([Row(1, "a2", 6), Row(2, "b", Boom())]),
            Delta([Row(3, "c", 7)]),
        ]
    )
    fetch = Fetcher(lambda q: next(answers))
    sub = pool.events()
    async with pool.delta_refresh(NEVER, fetch) as handle:
        await handle.update()
        drain(sub)
        with pytest.raises(ArithmeticError):
            await handle.update()
        assert handle.watermark == 5
        assert pool.get(1) == Row(1, "a", 5) and 2 not in pool  # nothing of the failed tick
        assert drain(sub) == []
        result = await handle.update()
    assert [q.since for q in fetch.queries] == [None, 5, 5]  # not turned into a full refresh
    assert not result.full and handle.watermark == 7


async def test_a_tick_that_returns_the_boundary_row_again_emits_nothing() -> None:
    pool = Punnu(Row)
    fetch = Fetcher(lambda q: Delta([Row(1, "a", 5)]))  # since is inclusive: row 1 again
    sub = pool.events()
    async with pool.delta_refresh(NEVER, fetch) as handle:
        first = await handle.update()
        assert drain(sub) == [Inserted(Row(1, "a", 5))]
        again = await handle.update()
        assert drain(sub) == []
    assert (first.applied, first.unchanged) == (1, 0)
    assert (again.applied, again.unchanged) == (0, 1)


async def test_periodic_ticks_leave_equal_rows_alone_but_write_changed_ones() -> None:
    pool = Punnu(Row, ttl=60, clock=(clock := sassi.testing.FakeClock()))
    current = [Row(1, "a"), Row(2, "b")]

    async def fetch_all() -> list[Row]:
        return list(current)

    sub = pool.events()
    async with pool.periodic_refresh(NEVER, fetch_all) as handle:
        assert await handle.refresh_now() == 2
        drain(sub)
        clock.advance(50)
        current[1] = Row(2, "b2")
        assert await handle.refresh_now() == 2
        assert drain(sub) == [Inserted(Row(2, "b2"))]
        clock.advance(50)  # 100 s after the first write: the equal row's expiry was renewed
        assert pool.get(1) == Row(1, "a")
    assert pool.stats().evictions[EventReason.TTL_EXPIRED] == 0


def test_a_sync_fetcher_runs_off_the_event_loop() -> None:
    # SPEC 11.5: a plain fetcher given to an async API runs in a worker thread
    import threading

    import anyio

    pool = Punnu(Row)
    threads: list[int] = []

    def fetch(id: int) -> Row:
        threads.append(threading.get_ident())
        return Row(id)

    async def main() -> None:
        assert await pool.aget_or_fetch(1, fetch) == Row(1)

    anyio.run(main)
    assert threads and threads[0] != threading.get_ident()


def test_the_sync_api_refuses_an_async_fetcher_with_a_clear_message() -> None:
    pool = Punnu(Row)

    async def fetch(id: int) -> Row:
        return Row(id)

    with pytest.raises(TypeError, match="aget_or_fetch"):
        pool.get_or_fetch(1, fetch)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="aget_or_fetch_many"):
        pool.get_or_fetch_many([1], fetch)  # type: ignore[arg-type]

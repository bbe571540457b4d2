"""delta_refresh: watermarks, shared updates, full refreshes, eviction recovery (reference 2.11)."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import pytest

import sassi
from helpers import drain
from sassi import (
    Delta,
    DeltaQuery,
    EventReason,
    Inserted,
    Invalidated,
    OnConflict,
    Punnu,
    UpdateResult,
)

pytestmark = pytest.mark.anyio

NEVER = 3600.0


@sassi.cacheable(watermark="updated_at")
@dataclass(frozen=True, slots=True)
class Row:
    id: int
    name: str = ""
    updated_at: int = 0


@dataclass(frozen=True, slots=True)
class NoWatermark:
    id: int


class Source:
    """A delta fetcher driven by ``answer(query)``; records every query; can be gated."""

    def __init__(self, answer: Callable[[DeltaQuery[Row]], Any] | None = None) -> None:
        self.queries: list[DeltaQuery[Row]] = []
        self.answer = answer if answer is not None else (lambda q: Delta())
        self.gate: anyio.Event | None = None
        self.started = anyio.Event()

    async def __call__(self, query: DeltaQuery[Row]) -> Delta[Row]:
        self.queries.append(query)
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        else:
            await anyio.lowlevel.checkpoint()
        result = self.answer(query)
        if isinstance(result, BaseException):
            raise result
        return result

    @property
    def since(self) -> list[Any]:
        return [q.since for q in self.queries]


def rows(*specs: tuple[int, int]) -> Delta[Row]:
    return Delta([Row(i, f"r{i}@{w}", w) for i, w in specs])


# --- watermarks --------------------------------------------------------------------------------


async def test_first_update_is_full_then_since_is_the_previous_watermark() -> None:
    pool = Punnu(Row)
    src = Source(lambda q: rows((1, 10), (2, 7)) if q.since is None else rows((3, 12)))
    async with pool.delta_refresh(NEVER, src) as handle:
        assert handle.watermark is None
        first = await handle.update()
        assert first == UpdateResult(applied=2, watermark=10, full=False)
        second = await handle.update()
        assert second == UpdateResult(applied=1, watermark=12, full=False)
        assert handle.watermark == 12
    assert src.since == [None, 10]
    assert all(q.recover_ids == frozenset() for q in src.queries)
    assert sorted(r.id for r in pool.scope().collect()) == [1, 2, 3]


async def test_update_full_asks_for_everything_and_never_rolls_the_watermark_back() -> None:
    pool = Punnu(Row)
    src = Source(
        lambda q: rows((1, 50)) if q.since is None and len(src.queries) == 1 else rows((1, 5))
    )
    async with pool.delta_refresh(NEVER, src) as handle:
        await handle.update()
        result = await handle.update_full()
        assert result.full
        assert handle.watermark == 50
        await handle.update()
    assert src.since == [None, None, 50]


async def test_boundary_rows_are_reapplied_by_identity() -> None:
    pool = Punnu(Row)
    src = Source(lambda q: rows((1, 10), (2, 10)))
    async with pool.delta_refresh(NEVER, src) as handle:
        await handle.update()
        await handle.update()  # since=10 is inclusive: the same rows come back
    assert src.since == [None, 10]
    assert len(pool) == 2


async def test_watermark_is_the_max_over_all_items_and_high_watermark() -> None:
    pool = Punnu(Row, on_conflict=OnConflict.REJECT, capacity=1)
    pool.insert(Row(1, "live, so REJECT skips the fetched row", 0))
    answers = iter(
        [
            Delta([Row(1, "rejected", 40), Row(2, "evicted in-batch", 30)], high_watermark=20),
            Delta([Row(3, "", 5)], high_watermark=60),
            Delta(tombstones=[3], high_watermark=70),
            Delta(),
        ]
    )
    src = Source(lambda q: next(answers))
    async with pool.delta_refresh(NEVER, src) as handle:
        assert (await handle.update()).watermark == 40  # a rejected row still counts
        assert (await handle.update()).watermark == 60  # high_watermark above the items
        assert (await handle.update()).watermark == 70  # a tombstone-only batch moves it
        assert (await handle.update()).watermark == 70  # an empty batch keeps it
    assert src.since == [None, 40, 60, 70]


@pytest.mark.parametrize(
    ("low", "high"),
    [
        (1.5, 2.25),
        (dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 1, 2, tzinfo=dt.UTC)),
        (dt.date(2026, 1, 1), dt.date(2026, 3, 1)),
        (decimal.Decimal("1.10"), decimal.Decimal("1.20")),
        ((3, 1), (3, 2)),
    ],
)
async def test_watermarks_of_every_orderable_kind(low: Any, high: Any) -> None:
    @sassi.cacheable(watermark="version")
    @dataclass(frozen=True)
    class Doc:
        id: int
        version: Any

    pool = Punnu(Doc)
    queries: list[DeltaQuery[Doc]] = []

    def fetch(query: DeltaQuery[Doc]) -> Delta[Doc]:
        queries.append(query)
        return Delta([Doc(1, high), Doc(2, low)])

    async with pool.delta_refresh(NEVER, fetch) as handle:
        await handle.update()
        assert handle.watermark == high
        await handle.update()
    assert [q.since for q in queries] == [None, high]


async def test_a_failed_fetch_moves_nothing_and_the_retry_uses_the_same_since() -> None:
    pool = Punnu(Row)
    failures = [ValueError("boom")]
    src = Source(
        lambda q: (
            rows((1, 10)) if q.since is None else (failures.pop() if failures else rows((2, 11)))
        )
    )
    async with pool.delta_refresh(NEVER, src) as handle:
        await handle.update()
        sub = pool.events()
        with pytest.raises(ValueError, match="boom"):
            await handle.update()
        assert handle.watermark == 10
        assert drain(sub) == []
        await handle.update()
        assert handle.watermark == 11
    assert src.since == [None, 10, 10]


async def test_a_non_delta_answer_is_a_type_error() -> None:
    pool = Punnu(Row)
    async with pool.delta_refresh(NEVER, lambda q: [Row(1)]) as handle:
        with pytest.raises(TypeError, match="Delta"):
            await handle.update()
        assert handle.watermark is None
    assert len(pool) == 0


async def test_a_row_leaving_a_filter_is_updated_not_deleted() -> None:
    pool = Punnu(Row)
    answers = iter([rows((1, 1), (2, 1)), Delta([Row(1, "archived", 2)])])
    async with pool.delta_refresh(NEVER, lambda q: next(answers)) as handle:
        await handle.update()
        await handle.update()
    assert pool.get(1) == Row(1, "archived", 2)
    assert pool.get(2) == Row(2, "r2@1", 1)


async def test_tombstones_delete_with_on_delete_events() -> None:
    pool = Punnu(Row)
    answers = iter([rows((1, 1), (2, 1)), Delta(tombstones=[2], high_watermark=2)])
    async with pool.delta_refresh(NEVER, lambda q: next(answers)) as handle:
        await handle.update()
        sub = pool.events()
        await handle.update()
    assert drain(sub) == [Invalidated(2, EventReason.ON_DELETE)]
    assert pool.get(2) is None


# --- sharing and ordering ----------------------------------------------------------------------


async def test_subscriptions_on_one_pool_are_independent() -> None:
    pool = Punnu(Row)
    a = Source(lambda q: rows((1, 10)))
    b = Source(lambda q: rows((2, 99)))
    async with pool.delta_refresh(NEVER, a) as ha, pool.delta_refresh(NEVER, b) as hb:
        a.gate = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(ha.update)
            await a.started.wait()
            await hb.update()  # not blocked by a's in-flight update
            assert hb.watermark == 99 and ha.watermark is None
            a.gate.set()
        await ha.update()
        assert ha.watermark == 10
    assert a.since == [None, 10]
    assert b.since == [None]


async def test_concurrent_updates_share_one_fetch() -> None:
    pool = Punnu(Row)
    src = Source(lambda q: rows((1, 10)))
    src.gate = anyio.Event()
    results: list[UpdateResult] = []

    async def update() -> None:
        results.append(await handle.update())

    with anyio.fail_after(10):
        async with pool.delta_refresh(NEVER, src) as handle:
            async with anyio.create_task_group() as tg:
                for _ in range(5):
                    tg.start_soon(update)
                await src.started.wait()
                await anyio.wait_all_tasks_blocked()
                src.gate.set()
    assert len(src.queries) == 1
    assert len(results) == 5
    assert all(r is results[0] for r in results)


async def test_update_full_waits_behind_a_delta_and_cannot_be_starved() -> None:
    pool = Punnu(Row)
    src = Source(lambda q: rows((1, 10 + len(src.queries))))
    fulls: list[UpdateResult] = []
    deltas: list[UpdateResult] = []

    async def full() -> None:
        fulls.append(await handle.update_full())

    async def delta() -> None:
        deltas.append(await handle.update())

    with anyio.fail_after(10):
        async with pool.delta_refresh(NEVER, src) as handle:
            await handle.update()  # watermark 11: later deltas ask since=11
            src.started = anyio.Event()
            src.gate = gate = anyio.Event()
            async with anyio.create_task_group() as tg:
                tg.start_soon(delta)
                await src.started.wait()  # a delta is in flight
                tg.start_soon(full)
                tg.start_soon(full)
                await anyio.wait_all_tasks_blocked()
                for _ in range(3):  # more updates join the running delta, not a new one
                    tg.start_soon(delta)
                await anyio.wait_all_tasks_blocked()
                gate.set()
    assert src.since == [None, 11, None]
    assert len(fulls) == 2 and fulls[0] is fulls[1]
    assert fulls[0].full
    assert len(deltas) == 4 and all(d is deltas[0] for d in deltas)


async def test_a_cancelled_caller_does_not_cancel_its_update() -> None:
    pool = Punnu(Row)
    src = Source(lambda q: rows((1, 10)))
    src.gate = anyio.Event()
    scope = anyio.CancelScope()

    async def impatient() -> None:
        with scope:
            await handle.update_full()

    with anyio.fail_after(10):
        async with pool.delta_refresh(NEVER, src) as handle:
            async with anyio.create_task_group() as tg:
                tg.start_soon(impatient)
                await src.started.wait()
                scope.cancel()
            src.gate.set()
            joined = await handle.update()  # joins the full refresh still in flight
            assert joined.full
            assert handle.watermark == 10
    assert len(src.queries) == 1
    assert scope.cancelled_caught
    assert pool.get(1) == Row(1, "r1@10", 10)


async def test_stopping_cancels_the_fetch_in_flight_without_changing_anything() -> None:
    pool = Punnu(Row)
    src = Source(lambda q: rows((1, 10)))
    src.gate = anyio.Event()
    errors: list[BaseException] = []

    async def waiter() -> None:
        try:
            await handle.update()
        except RuntimeError as exc:
            errors.append(exc)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            async with pool.delta_refresh(NEVER, src) as handle:
                tg.start_soon(waiter)
                await src.started.wait()
    assert len(errors) == 1 and "stopped" in str(errors[0])
    assert handle.watermark is None
    assert len(pool) == 0
    with pytest.raises(RuntimeError, match="stopped"):
        await handle.update_full()


# --- eviction recovery -------------------------------------------------------------------------


async def test_evicted_observed_ids_are_recovered_by_their_own_subscription_only() -> None:
    pool = Punnu(Row, capacity=2)
    a = Source(lambda q: rows((1, 1), (2, 1)) if q.since is None else Delta())
    b = Source(lambda q: Delta())
    async with (
        pool.delta_refresh(NEVER, a) as ha,
        pool.delta_refresh(NEVER, b) as hb,
    ):
        ha.with_eviction_recovery(True)
        hb.with_eviction_recovery()
        await ha.update()
        await hb.update()
        pool.insert(Row(3))  # exact LRU at this size: evicts id 1
        assert ha.pending_eviction_recovery_count() == 1
        assert hb.pending_eviction_recovery_count() == 0
        await ha.update()
        await hb.update()
        assert ha.pending_eviction_recovery_count() == 0
    assert a.queries[1].recover_ids == frozenset({1})
    assert b.queries[1].recover_ids == frozenset()


async def test_enabling_recovery_later_keeps_the_ids_already_observed() -> None:
    pool = Punnu(Row, capacity=2)
    src = Source(lambda q: rows((1, 1), (2, 1)) if q.since is None else Delta())
    async with pool.delta_refresh(NEVER, src) as handle:
        assert handle.pending_eviction_recovery_count() == 0
        await handle.update()
        handle.with_eviction_recovery(True)
        pool.insert(Row(3))
        assert handle.pending_eviction_recovery_count() == 1
        handle.with_eviction_recovery(False)  # disabling clears the queue
        assert handle.pending_eviction_recovery_count() == 0


async def test_rows_evicted_by_their_own_batch_are_queued_for_recovery() -> None:
    pool = Punnu(Row, capacity=2)
    src = Source(lambda q: rows((1, 1), (2, 1), (3, 1)) if q.since is None else Delta())
    async with pool.delta_refresh(NEVER, src) as handle:
        handle.with_eviction_recovery()
        result = await handle.update()
        assert result.applied == 2
        assert handle.watermark == 1
        assert handle.pending_eviction_recovery_count() == 1
        await handle.update()
    [missing] = [i for i in (1, 2, 3) if pool.get(i) is None]
    assert src.queries[1].recover_ids == frozenset({missing})


async def test_recovered_ids_not_returned_are_forgotten() -> None:
    pool = Punnu(Row, capacity=2)
    src = Source(lambda q: rows((1, 1), (2, 1)) if q.since is None else Delta())
    async with pool.delta_refresh(NEVER, src) as handle:
        handle.with_eviction_recovery()
        await handle.update()
        pool.insert(Row(3))  # evicts 1
        await handle.update()  # asks for 1, the source no longer has it
        pool.insert(Row(4))  # evicts 2 (1 is gone from membership, 3 is not ours)
        assert handle.pending_eviction_recovery_count() == 1
        await handle.update()  # asks for 2, gone too
        for i in (1, 5, 6):  # someone else caches 1 again, and it is evicted again
            pool.insert(Row(i))
        assert pool.get(1) is None
        assert handle.pending_eviction_recovery_count() == 0  # no longer ours to recover
    assert [q.recover_ids for q in src.queries] == [frozenset(), {1}, {2}]


async def test_our_own_large_batch_does_not_count_as_lag() -> None:
    pool = Punnu(Row, event_capacity=2)
    src = Source(lambda q: rows(*((i, 1) for i in range(10))))
    async with pool.delta_refresh(NEVER, src) as handle:
        handle.with_eviction_recovery()
        await handle.update()
        await handle.update()
    assert src.since == [None, 1]


async def test_event_lag_forces_full_refreshes_until_one_succeeds() -> None:
    pool = Punnu(Row, event_capacity=2)
    fail_next_full = [True]

    def answer(q: DeltaQuery[Row]) -> Any:
        if q.since is None and len(src.queries) > 1 and fail_next_full:
            fail_next_full.pop()
            return ConnectionError("full failed")
        return rows((1, len(src.queries)))

    src = Source(answer)
    async with pool.delta_refresh(NEVER, src) as handle:
        handle.with_eviction_recovery()
        await handle.update()
        for i in range(100, 105):  # five events into a buffer of two: the stream lags
            pool.insert(Row(i))
        with pytest.raises(ConnectionError):
            await handle.update()
        result = await handle.update()  # still forced to be full
        assert result.full
        assert not (await handle.update()).full
    assert src.since == [None, None, None, 3]


async def test_lag_without_recovery_does_not_force_a_full() -> None:
    pool = Punnu(Row, event_capacity=2)
    src = Source(lambda q: rows((1, 5)))
    async with pool.delta_refresh(NEVER, src) as handle:
        await handle.update()
        for i in range(100, 105):
            pool.insert(Row(i))
        await handle.update()
    assert src.since == [None, 5]


async def test_lag_during_a_full_refresh_requires_another_full() -> None:
    pool = Punnu(Row, event_capacity=2)
    src = Source(lambda q: rows((1, 7)))
    async with pool.delta_refresh(NEVER, src) as handle:
        handle.with_eviction_recovery()
        await handle.update()
        src.gate = anyio.Event()
        src.started = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(handle.update_full)
            await src.started.wait()
            for i in range(100, 105):
                pool.insert(Row(i))
            await anyio.wait_all_tasks_blocked()
            src.gate.set()
        src.gate = None
        assert (await handle.update()).full
        assert not (await handle.update()).full
    assert src.since == [None, None, None, 7]


async def test_recovery_overflow_forces_a_full_refresh() -> None:
    pool = Punnu(Row, capacity=2)
    src = Source(lambda q: rows(*((i, 1) for i in range(1, 6))))
    async with pool.delta_refresh(NEVER, src) as handle:
        handle.with_eviction_recovery()
        await handle.update()
        assert handle.pending_eviction_recovery_count() == 3  # more than capacity
        result = await handle.update()
        assert result.full
    assert src.since == [None, None]
    assert src.queries[1].recover_ids == frozenset()


async def test_failed_recovery_backs_off_exponentially() -> None:
    pool = Punnu(Row, capacity=2)
    failures = 2

    def answer(q: DeltaQuery[Row]) -> Any:
        nonlocal failures
        if q.since is None:
            return rows((1, 1), (2, 1))
        if q.recover_ids and failures:
            failures -= 1
            return ValueError("down")
        return Delta()

    src = Source(answer)
    async with pool.delta_refresh(NEVER, src) as handle:
        handle.with_eviction_recovery()
        await handle.update()  # tick 1
        pool.insert(Row(3))  # evicts 1
        for _ in range(8):  # ticks 2..9
            with contextlib.suppress(ValueError):
                await handle.update()
    recovered = [sorted(q.recover_ids) for q in src.queries[1:]]
    # Rust recovery_set_merges_back_on_fetch_error: tick 2 fails (attempt 1): asked again on
    # the next tick (3); tick 3 fails (attempt 2): eligible 2 ticks later (tick 5), which
    # succeeds
    assert recovered == [[1], [1], [], [1], [], [], [], []]


async def test_failed_full_keeps_evictions_that_happened_meanwhile() -> None:
    pool = Punnu(Row, capacity=2)
    src = Source(lambda q: rows((1, 1), (2, 1)))
    async with pool.delta_refresh(NEVER, src) as handle:
        handle.with_eviction_recovery()
        await handle.update()
        pool.insert(Row(3))  # evicts 1
        src.answer = lambda q: ValueError("full failed")
        src.gate = anyio.Event()
        src.started = anyio.Event()
        async with anyio.create_task_group() as tg:

            async def full() -> None:
                with pytest.raises(ValueError):
                    await handle.update_full()

            tg.start_soon(full)
            await src.started.wait()
            pool.insert(Row(4))  # evicts 2 while the full is in flight
            await anyio.wait_all_tasks_blocked()
            src.gate.set()
        src.gate = None
        src.answer = lambda q: Delta()
        assert handle.pending_eviction_recovery_count() == 2
        await handle.update()
    assert src.queries[-1].recover_ids == frozenset({1, 2})


async def test_stale_recovery_never_overwrites_a_newer_resident() -> None:
    pool = Punnu(Row, capacity=2)
    src = Source(lambda q: rows((1, 1), (2, 1)) if q.since is None else Delta())
    async with pool.delta_refresh(NEVER, src) as handle:
        handle.with_eviction_recovery()
        await handle.update()
        pool.insert(Row(3))  # evicts 1
        newer = pool.insert(Row(1, "written meanwhile", 9))  # evicts 2
        src.answer = lambda q: Delta([Row(i, "recovered", 4) for i in sorted(q.recover_ids)])
        await handle.update()
    assert src.queries[1].recover_ids == frozenset({1, 2})
    assert pool.get(1) is newer
    assert handle.watermark == 4


# --- periodic full refreshes -------------------------------------------------------------------


async def test_every_nth_scheduled_tick_is_full() -> None:
    pool = Punnu(Row)
    enough = anyio.Event()

    def answer(q: DeltaQuery[Row]) -> Delta[Row]:
        if len(src.queries) >= 6:
            enough.set()
        return rows((1, len(src.queries)))

    src = Source(answer)
    with anyio.fail_after(30):
        async with pool.delta_refresh(0.005, src) as handle:
            assert handle.periodic_full_refresh_progress() is None
            handle.with_periodic_full_refresh(3)
            await enough.wait()
    fulls = [q.since is None for q in src.queries[:6]]
    # tick 1 has no watermark yet (since=None but a delta tick); tick 3 and 6 are full
    assert fulls == [True, False, True, False, False, True]


async def test_manual_updates_do_not_advance_progress_and_a_manual_full_resets_it() -> None:
    pool = Punnu(Row)
    src = Source(lambda q: rows((1, len(src.queries))))
    async with pool.delta_refresh(NEVER, src) as handle:
        handle.with_periodic_full_refresh(3)
        await handle._scheduled_tick()
        await handle._scheduled_tick()
        assert handle.periodic_full_refresh_progress() == (2, 3)
        await handle.update()
        assert handle.periodic_full_refresh_progress() == (2, 3)
        await handle.update_full()
        assert handle.periodic_full_refresh_progress() == (0, 3)
        await handle._scheduled_tick()
        assert handle.periodic_full_refresh_progress() == (1, 3)
        with pytest.raises(ValueError):
            handle.with_periodic_full_refresh(0)
        assert handle.with_periodic_full_refresh(None) is handle
        assert handle.periodic_full_refresh_progress() is None


# --- arguments and deferral --------------------------------------------------------------------


def test_a_model_without_a_watermark_is_rejected() -> None:
    pool = Punnu(NoWatermark)
    with pytest.raises(TypeError, match="watermark"):
        pool.delta_refresh(1, lambda q: Delta())


def test_invalid_intervals_are_rejected() -> None:
    pool = Punnu(Row)
    with pytest.raises(ValueError, match="interval"):
        pool.delta_refresh(0, lambda q: Delta())
    with pytest.raises(TypeError, match="callable"):
        pool.delta_refresh(1, None)  # type: ignore[arg-type]


async def test_strict_reservations_defer_without_moving_the_watermark() -> None:
    # Rust (reference 2.11, step 4): a strict-backend reservation defers the delta tick with
    # an error; nothing is applied and the watermark does not move.
    from sassi._reservations import Reservations

    pool = Punnu(Row)
    reservations = pool._core.reservations = Reservations()
    reservations.acquire_sync(1)
    src = Source(lambda q: rows((1, 10)))
    async with pool.delta_refresh(NEVER, src) as handle:
        with pytest.raises(RuntimeError, match="deferred"):
            await handle.update()
        assert handle.watermark is None and 1 not in pool
        reservations.release(1)
        await handle.update()
        assert handle.watermark == 10
    assert src.since == [None, None]
    assert pool.get(1) == Row(1, "r1@10", 10)


async def test_inserted_events_for_delta_rows() -> None:
    pool = Punnu(Row)
    sub = pool.events()
    async with pool.delta_refresh(NEVER, lambda q: rows((2, 1), (1, 1))) as handle:
        await handle.update()
    assert drain(sub) == [Inserted(Row(1, "r1@1", 1)), Inserted(Row(2, "r2@1", 1))]


async def test_an_error_in_the_block_propagates_unwrapped() -> None:
    pool = Punnu(Row)
    with pytest.raises(KeyError, match="body"):
        async with pool.delta_refresh(0.001, lambda q: rows((1, 1))) as handle:
            await handle.update()
            raise KeyError("body")
    assert handle.stopped
    with pytest.raises(RuntimeError, match="stopped"):
        await handle.update()


async def test_cancel_stops_the_subscription_inside_the_block() -> None:
    pool = Punnu(Row)
    src = Source(lambda q: rows((1, 3)))
    async with pool.delta_refresh(0.001, src) as handle:
        await handle.update()
        handle.cancel()
        handle.cancel()
        assert handle.stopped
        await anyio.wait_all_tasks_blocked()  # a tick already started may finish recording
        calls = len(src.queries)
        await anyio.sleep(0.05)  # fifty intervals: any surviving scheduler would have ticked
        assert len(src.queries) == calls
        with pytest.raises(RuntimeError, match="stopped"):
            await handle.update()
        assert handle.watermark == 3  # still readable

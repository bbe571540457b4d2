"""periodic_refresh: upsert/replace ticks through one task, refresh_now, errors, stopping."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import anyio
import pytest

from helpers import User, drain
from sassi import (
    EventReason,
    Inserted,
    Invalidated,
    OnConflict,
    Punnu,
    RefreshMode,
    Updated,
)
from sassi.testing import FakeClock

pytestmark = pytest.mark.anyio

NEVER = 3600.0  # an interval no test waits for: only refresh_now ticks run


class Rows:
    """An async fetcher returning ``rows`` (or raising ``error``); counts calls and overlap."""

    def __init__(self, rows: Iterable[User] = (), *, gated: bool = False) -> None:
        self.rows = list(rows)
        self.error: BaseException | None = None
        self.calls = 0
        self.active = 0
        self.max_active = 0
        self.gate = anyio.Event() if gated else None
        self.started = anyio.Event()
        self.cancelled = False

    async def __call__(self) -> list[User]:
        self.calls += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        self.started.set()
        try:
            if self.gate is not None:
                await self.gate.wait()
            else:
                await anyio.lowlevel.checkpoint()
        except anyio.get_cancelled_exc_class():
            self.cancelled = True
            raise
        finally:
            self.active -= 1
        if self.error is not None:
            raise self.error
        return list(self.rows)


async def test_refresh_now_upserts_and_keeps_unrelated_entries() -> None:
    pool = Punnu(User)
    other = pool.insert(User(9, "unrelated"))
    fetch = Rows([User(1, "a"), User(2, "b")])
    sub = pool.events()
    async with pool.periodic_refresh(NEVER, fetch) as handle:
        assert handle.mode is RefreshMode.UPSERT_ONLY
        assert await handle.refresh_now() == 2
    assert pool.get(9) is other
    assert pool.get(1) == User(1, "a") and pool.get(2) == User(2, "b")
    assert drain(sub) == [Inserted(User(1, "a")), Inserted(User(2, "b"))]
    assert fetch.calls == 1


async def test_two_upsert_refreshers_share_one_identity_map() -> None:
    pool = Punnu(User)
    async with (
        pool.periodic_refresh(NEVER, Rows([User(1), User(2)])) as first,
        pool.periodic_refresh(NEVER, Rows([User(3)])) as second,
    ):
        await first.refresh_now()
        await second.refresh_now()
        await first.refresh_now()
    assert sorted(u.id for u in pool.scope().collect()) == [1, 2, 3]


async def test_replace_removes_live_entries_missing_from_the_result() -> None:
    clock = FakeClock()
    pool = Punnu(User, clock=clock)
    pool.insert(User(1, "kept"))
    pool.insert(User(2, "dropped"))
    pool.insert(User(3, "expired"), ttl=1)
    clock.advance(1)
    sub = pool.events()
    fetch = Rows([User(1, "kept"), User(4, "new")])
    seen_inside: list[list[int]] = []

    async with pool.periodic_refresh(NEVER, fetch, mode=RefreshMode.REPLACE) as handle:
        await handle.refresh_now()
        seen_inside.append(sorted(u.id for u in pool.scope().collect()))
    assert seen_inside == [[1, 4]]
    assert len(pool) == 2
    # User(1, "kept") equals its resident: left alone, no event (issue 11 item 21)
    assert drain(sub) == [
        Invalidated(2, EventReason.MANUAL),
        Inserted(User(4, "new")),
    ]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (OnConflict.LAST_WRITE_WINS, lambda old, new: [Inserted(new)]),
        (OnConflict.UPDATE, lambda old, new: [Updated(old, new)]),
        (OnConflict.REJECT, lambda old, new: []),
    ],
)
async def test_refresh_follows_on_conflict(policy: OnConflict, expected: object) -> None:
    pool = Punnu(User, on_conflict=policy)
    old = pool.insert(User(1, "old"))
    new = User(1, "new")
    sub = pool.events()
    async with pool.periodic_refresh(NEVER, Rows([new])) as handle:
        await handle.refresh_now()
    assert drain(sub) == expected(old, new)  # type: ignore[operator]
    assert pool.get(1) is (old if policy is OnConflict.REJECT else new)


async def test_no_tick_at_entry_and_scheduled_ticks_apply_after_the_interval() -> None:
    pool = Punnu(User)
    fetch = Rows([User(1, "tick")])
    sub = pool.events()
    with anyio.fail_after(30):
        # 100 ms: long enough that a loaded machine reaches the entry check before a tick
        async with pool.periodic_refresh(0.1, fetch):
            await anyio.wait_all_tasks_blocked()
            assert fetch.calls == 0  # nothing at entry
            assert await sub.receive() == Inserted(User(1, "tick"))
            while fetch.calls < 3:  # noqa: ASYNC110 - later ticks come; equal rows emit nothing
                await anyio.sleep(0.02)
    calls = fetch.calls
    await anyio.sleep(0.3)  # three intervals: a surviving loop would have ticked again
    assert fetch.calls == calls  # leaving the block stopped the loop


async def test_refresh_now_raises_the_fetch_error_and_changes_nothing() -> None:
    pool = Punnu(User)
    pool.insert(User(1, "old"))
    fetch = Rows([User(1, "new"), User(2)])
    boom = ConnectionError("db unreachable")
    fetch.error = boom
    sub = pool.events()
    async with pool.periodic_refresh(NEVER, fetch, mode=RefreshMode.REPLACE) as handle:
        with pytest.raises(ConnectionError) as info:
            await handle.refresh_now()
        assert info.value is boom
        fetch.error = None
        assert await handle.refresh_now() == 2  # the loop is still usable
    assert drain(sub)[0] == Inserted(User(1, "new"))


async def test_scheduled_errors_are_logged_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = Punnu(User)
    failures = 0
    done = anyio.Event()

    async def flaky() -> list[User]:
        nonlocal failures
        if failures < 2:
            failures += 1
            raise RuntimeError(f"transient {failures}")
        done.set()
        return [User(1)]

    caplog.set_level(logging.ERROR, logger="sassi.refresh")
    with anyio.fail_after(30):
        async with pool.periodic_refresh(0.01, flaky):
            await done.wait()
            await anyio.wait_all_tasks_blocked()
    assert pool.get(1) == User(1)
    logged = [r for r in caplog.records if r.name == "sassi.refresh"]
    assert len(logged) >= 2
    assert any("transient 1" in str(r.exc_info[1]) for r in logged if r.exc_info)


async def test_refresh_now_never_overlaps_and_queued_callers_share_one_tick() -> None:
    pool = Punnu(User)
    fetch = Rows([User(1)], gated=True)
    results: list[int] = []

    async def call() -> None:
        results.append(await handle.refresh_now())

    with anyio.fail_after(30):
        async with pool.periodic_refresh(NEVER, fetch) as handle:
            async with anyio.create_task_group() as tg:
                tg.start_soon(call)
                await fetch.started.wait()
                for _ in range(5):  # queued behind the running tick: they share the next one
                    tg.start_soon(call)
                await anyio.wait_all_tasks_blocked()
                assert fetch.calls == 1
                assert fetch.gate is not None
                fetch.gate.set()
    assert fetch.calls == 2
    assert fetch.max_active == 1
    assert results == [1] * 6


async def test_ticks_never_overlap_under_a_fast_schedule() -> None:
    pool = Punnu(User)
    fetch = Rows([User(1)])
    with anyio.fail_after(30):
        async with pool.periodic_refresh(0.001, fetch) as handle:
            for _ in range(20):
                await handle.refresh_now()
    assert fetch.max_active == 1


async def test_a_cancelled_caller_does_not_cancel_the_tick() -> None:
    pool = Punnu(User)
    fetch = Rows([User(1)], gated=True)
    scope = anyio.CancelScope()

    async def impatient() -> None:
        with scope:
            await handle.refresh_now()

    with anyio.fail_after(30):
        async with pool.periodic_refresh(NEVER, fetch) as handle:
            async with anyio.create_task_group() as tg:
                tg.start_soon(impatient)
                await fetch.started.wait()
                scope.cancel()
            assert fetch.gate is not None
            fetch.gate.set()
            await handle.refresh_now()  # queued behind the first tick, which still completes
    assert scope.cancelled_caught
    assert not fetch.cancelled
    assert fetch.calls == 2


async def test_leaving_the_block_cancels_the_fetch_in_flight_without_touching_l1() -> None:
    pool = Punnu(User)
    fetch = Rows([User(1)], gated=True)
    errors: list[BaseException] = []

    async def waiter() -> None:
        try:
            await handle.refresh_now()
        except RuntimeError as exc:
            errors.append(exc)

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            async with pool.periodic_refresh(NEVER, fetch) as handle:
                tg.start_soon(waiter)
                await fetch.started.wait()
    assert fetch.cancelled
    assert len(pool) == 0
    assert len(errors) == 1
    assert "stopped" in str(errors[0])
    with pytest.raises(RuntimeError, match="stopped"):
        await handle.refresh_now()
    assert fetch.calls == 1


async def test_cancel_is_idempotent_and_later_calls_do_not_fetch() -> None:
    pool = Punnu(User)
    fetch = Rows([User(1)])
    async with pool.periodic_refresh(NEVER, fetch) as handle:
        await handle.refresh_now()
        handle.cancel()
        handle.cancel()
        assert handle.stopped
        with pytest.raises(RuntimeError, match="stopped"):
            await handle.refresh_now()
    assert fetch.calls == 1


async def test_cancel_during_a_refresh_drops_it_and_queued_callers_fail() -> None:
    pool = Punnu(User)
    fetch = Rows([User(1)], gated=True)
    outcomes: list[str] = []

    async def call() -> None:
        try:
            await handle.refresh_now()
            outcomes.append("ok")
        except RuntimeError:
            outcomes.append("stopped")

    with anyio.fail_after(30):
        async with pool.periodic_refresh(NEVER, fetch) as handle:
            async with anyio.create_task_group() as tg:
                tg.start_soon(call)
                await fetch.started.wait()
                tg.start_soon(call)  # queued
                await anyio.wait_all_tasks_blocked()
                handle.cancel()
    assert outcomes == ["stopped", "stopped"]
    assert fetch.calls == 1
    assert len(pool) == 0


async def test_plain_function_fetchers_and_type_checks() -> None:
    pool = Punnu(User)
    async with pool.periodic_refresh(NEVER, lambda: [User(5)]) as handle:
        assert await handle.refresh_now() == 1
    assert pool.get(5) == User(5)
    async with pool.periodic_refresh(NEVER, lambda: [{"id": 6}]) as handle:
        with pytest.raises(TypeError, match="User"):
            await handle.refresh_now()
    assert pool.get(6) is None


def test_invalid_arguments_raise_at_call_time() -> None:
    pool = Punnu(User)
    with pytest.raises(ValueError, match="interval"):
        pool.periodic_refresh(0, Rows())
    with pytest.raises(ValueError, match="interval"):
        pool.periodic_refresh(-1, Rows())
    with pytest.raises(TypeError, match="RefreshMode"):
        pool.periodic_refresh(1, Rows(), mode="replace")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        pool.periodic_refresh(1, [User(1)])  # type: ignore[arg-type]


async def test_a_tick_waits_for_a_strict_write_in_flight_then_applies() -> None:
    # Rust: error_mode_refresh_skips_id_reserved_by_strict_insert_in_flight — the tick waits
    # for the strict write holding id 1 to finish, then applies on top of it.
    from sassi._reservations import Reservations

    pool = Punnu(User)
    reservations = pool._core.reservations = Reservations()
    reservations.acquire_sync(1)
    async with pool.periodic_refresh(NEVER, Rows([User(1), User(2)])) as handle:
        async with anyio.create_task_group() as tg:
            results: list[int] = []

            async def tick() -> None:
                results.append(await handle.refresh_now())

            tg.start_soon(tick)
            await anyio.wait_all_tasks_blocked()
            assert results == [] and len(pool) == 0  # waiting for the strict write
            reservations.release(1)
        assert results == [2]
    assert sorted(u.id for u in pool.scope().collect()) == [1, 2]


async def test_an_error_in_the_block_propagates_unwrapped_and_stops_the_loop() -> None:
    pool = Punnu(User)
    fetch = Rows([User(1)])

    class BodyError(Exception):
        pass

    with pytest.raises(BodyError):
        async with pool.periodic_refresh(0.001, fetch) as handle:
            await handle.refresh_now()
            raise BodyError
    assert handle.stopped
    calls = fetch.calls
    await anyio.sleep(0.02)  # twenty intervals
    assert fetch.calls == calls


async def test_an_outer_cancellation_ends_the_block() -> None:
    pool = Punnu(User)
    fetch = Rows([User(1)], gated=True)
    with anyio.fail_after(10):
        with anyio.CancelScope() as outer:
            async with pool.periodic_refresh(NEVER, fetch) as handle:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(handle.refresh_now)
                    await fetch.started.wait()
                    outer.cancel()
    assert outer.cancelled_caught
    assert fetch.cancelled
    assert len(pool) == 0


async def test_an_async_generator_fetcher_works() -> None:
    pool = Punnu(User)

    async def stream() -> Any:
        for i in (1, 2, 3):
            await anyio.lowlevel.checkpoint()
            yield User(i)

    async with pool.periodic_refresh(NEVER, stream) as handle:
        assert await handle.refresh_now() == 3
    assert len(pool) == 3

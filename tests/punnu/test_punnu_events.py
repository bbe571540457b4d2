"""Events: order, LRU-before-insert, lossy subscriptions, async receive on asyncio and trio."""

from __future__ import annotations

import threading

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import User, drain
from sassi import (
    Event,
    EventReason,
    Inserted,
    Invalidated,
    Lagged,
    OnConflict,
    Punnu,
    Updated,
)
from sassi._events import EventHub


def test_insert_emits_inserted() -> None:
    pool = Punnu(User)
    sub = pool.events()
    alice = User(1)
    pool.insert(alice)
    [event] = drain(sub)
    assert event == Inserted(alice)
    assert isinstance(event, Inserted) and event.value is alice


def test_new_subscription_sees_only_future_events() -> None:
    pool = Punnu(User)
    pool.insert(User(1))
    sub = pool.events()
    assert drain(sub) == []
    pool.insert(User(2))
    assert drain(sub) == [Inserted(User(2))]


def test_lru_eviction_event_precedes_insert_of_the_cause() -> None:
    pool = Punnu(User, capacity=1)
    pool.insert(User(1))
    sub = pool.events()
    pool.insert(User(2))
    assert drain(sub) == [Invalidated(1, EventReason.LRU_EVICT), Inserted(User(2))]


def test_lossy_subscriber_gets_lagged_and_producer_never_blocks() -> None:
    pool = Punnu(User, event_capacity=4)
    sub = pool.events()
    for i in range(100):
        pool.insert(User(i))
    assert len(pool) == 100
    events = drain(sub)
    assert events[0] == Lagged(96)
    assert events[1:] == [Inserted(User(i)) for i in range(96, 100)]
    assert len(events) - 1 <= 4


def test_lag_is_reported_again_after_more_drops() -> None:
    pool = Punnu(User, event_capacity=2)
    sub = pool.events()
    for i in range(3):
        pool.insert(User(i))
    assert sub.receive_nowait() == Lagged(1)
    assert sub.receive_nowait() == Inserted(User(1))
    for i in range(3, 6):
        pool.insert(User(i))
    assert drain(sub) == [Lagged(2), Inserted(User(4)), Inserted(User(5))]


def test_each_subscriber_has_its_own_buffer() -> None:
    pool = Punnu(User, event_capacity=2)
    slow, fast = pool.events(), pool.events()
    pool.insert(User(1))
    assert drain(fast) == [Inserted(User(1))]
    pool.insert(User(2))
    pool.insert(User(3))
    assert drain(fast) == [Inserted(User(2)), Inserted(User(3))]
    assert drain(slow) == [Lagged(1), Inserted(User(2)), Inserted(User(3))]


def test_writes_without_subscribers_and_after_close_succeed() -> None:
    pool = Punnu(User)
    pool.insert(User(1))
    assert pool.invalidate(1)
    sub = pool.events()
    sub.close()
    assert sub.closed
    pool.insert(User(2))
    assert sub.receive_nowait() is None


def test_context_manager_closes() -> None:
    pool = Punnu(User)
    with pool.events() as sub:
        pool.insert(User(1))
        assert drain(sub) == [Inserted(User(1))]
    assert sub.closed
    pool.insert(User(2))
    assert sub.receive_nowait() is None


def test_abandoned_subscriptions_are_not_kept_alive() -> None:
    import gc
    import weakref

    pool = Punnu(User)
    sub = pool.events()
    ref = weakref.ref(sub)
    del sub
    gc.collect()
    assert ref() is None
    pool.insert(User(1))  # publishing prunes the dead subscription without error


def test_update_and_invalidate_sequence_in_commit_order() -> None:
    pool = Punnu(User, on_conflict=OnConflict.UPDATE)
    sub = pool.events()
    a1, a2 = User(1, "a"), User(1, "b")
    pool.insert(a1)
    pool.insert(a2)
    pool.invalidate(1)
    assert drain(sub) == [Inserted(a1), Updated(a1, a2), Invalidated(1, EventReason.MANUAL)]


def test_events_from_many_threads_arrive_in_commit_order() -> None:
    """Each event is delivered while its commit holds the lock: the stream replays the pool."""
    pool = Punnu(User, capacity=8, event_capacity=100_000, on_conflict=OnConflict.UPDATE)
    sub = pool.events()
    barrier = threading.Barrier(4)

    def writer(base: int) -> None:
        barrier.wait()
        for i in range(300):
            key = (base * 7 + i) % 20
            if i % 5 == 4:
                pool.invalidate(key)
            else:
                pool.insert(User(key, f"{base}-{i}"))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    replica: dict[int, User] = {}
    for event in drain(sub):
        if isinstance(event, Inserted):
            assert event.value.id not in replica
            replica[event.value.id] = event.value
        elif isinstance(event, Updated):
            assert replica[event.old.id] is event.old
            replica[event.new.id] = event.new
        elif isinstance(event, Invalidated):
            assert event.id in replica
            del replica[event.id]
        else:  # pragma: no cover - capacity is large enough
            raise AssertionError(event)
    assert replica == {u.id: u for u in pool.scope().collect()}


@pytest.mark.anyio
async def test_receive_waits_for_an_insert() -> None:
    pool = Punnu(User)
    sub = pool.events()
    received: list[Event] = []

    async def consumer() -> None:
        received.append(await sub.receive())

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(consumer)
            await anyio.wait_all_tasks_blocked()
            pool.insert(User(1))
    assert received == [Inserted(User(1))]


@pytest.mark.anyio
async def test_receive_returns_buffered_event_immediately() -> None:
    pool = Punnu(User)
    sub = pool.events()
    pool.insert(User(1))
    with anyio.fail_after(10):
        assert await sub.receive() == Inserted(User(1))


@pytest.mark.anyio
async def test_insert_from_another_thread_wakes_an_async_receiver() -> None:
    pool = Punnu(User)
    sub = pool.events()
    started = threading.Event()

    def producer() -> None:
        started.wait()
        pool.insert(User(7))

    thread = threading.Thread(target=producer)
    thread.start()
    try:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:

                async def release() -> None:
                    await anyio.wait_all_tasks_blocked()
                    started.set()

                group.start_soon(release)
                event = await sub.receive()
    finally:
        started.set()
        thread.join()
    assert event == Inserted(User(7))


@pytest.mark.anyio
async def test_async_for_iterates_until_closed() -> None:
    pool = Punnu(User)
    sub = pool.events()
    seen: list[Event] = []

    async def consumer() -> None:
        async for event in sub:
            seen.append(event)
            if len(seen) == 3:
                sub.close()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(consumer)
            for i in range(3):
                await anyio.wait_all_tasks_blocked()
                pool.insert(User(i))
    assert seen == [Inserted(User(i)) for i in range(3)]


@pytest.mark.anyio
async def test_close_wakes_a_waiting_receiver() -> None:
    pool = Punnu(User)
    sub = pool.events()
    outcome: list[str] = []

    async def consumer() -> None:
        try:
            await sub.receive()
        except anyio.ClosedResourceError:
            outcome.append("closed")

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(consumer)
            await anyio.wait_all_tasks_blocked()
            sub.close()
    assert outcome == ["closed"]


@pytest.mark.anyio
async def test_cancelled_receive_leaves_no_waiter_and_loses_no_event() -> None:
    pool = Punnu(User)
    sub = pool.events()

    async def doomed(scope: anyio.CancelScope) -> None:
        with scope:
            await sub.receive()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            scope = anyio.CancelScope()
            group.start_soon(doomed, scope)
            await anyio.wait_all_tasks_blocked()
            scope.cancel()
    assert sub._waiters == []
    pool.insert(User(1))
    with anyio.fail_after(10):
        assert await sub.receive() == Inserted(User(1))


@pytest.mark.anyio
async def test_async_context_manager_closes() -> None:
    pool = Punnu(User)
    async with pool.events() as sub:
        pool.insert(User(1))
        assert await sub.receive() == Inserted(User(1))
    assert sub.closed


@pytest.mark.anyio
async def test_many_receivers_from_worker_threads() -> None:
    """Inserts from several worker threads reach one async receiver, none lost, no hang."""
    pool = Punnu(User, event_capacity=10_000)
    sub = pool.events()

    def produce(base: int) -> None:
        for i in range(50):
            pool.insert(User(base * 100 + i))

    got: list[int] = []

    async def consume() -> None:
        while len(got) < 200:
            event = await sub.receive()
            assert isinstance(event, Inserted)
            got.append(event.value.id)

    with anyio.fail_after(20):
        async with anyio.create_task_group() as group:
            group.start_soon(consume)
            for base in range(4):
                group.start_soon(anyio.to_thread.run_sync, produce, base)
    assert sorted(got) == sorted(b * 100 + i for b in range(4) for i in range(50))


def test_an_event_is_delivered_only_after_its_commit_is_visible() -> None:
    pool = Punnu(User, event_capacity=100_000)
    sub = pool.events()
    done = threading.Event()
    problems: list[int] = []
    seen = 0

    def consumer() -> None:
        nonlocal seen
        while True:
            event = sub.receive_nowait()
            if event is None:
                if done.is_set() and seen == 2_000:
                    return
                continue
            seen += 1
            if not isinstance(event, Inserted):
                problems.append(-1)
            elif pool.get(event.value.id) is not event.value:
                problems.append(event.value.id)

    thread = threading.Thread(target=consumer)
    thread.start()
    for i in range(2_000):
        pool.insert(User(i))
    done.set()
    thread.join()
    assert problems == []


def test_hits_are_counted_exactly_across_threads() -> None:
    pool = Punnu(User)
    for i in range(10):
        pool.insert(User(i))

    def reader() -> None:
        for n in range(1_000):
            pool.get(n % 20)  # half hits, half misses

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = pool.stats()
    assert (stats.hits, stats.misses) == (2_000, 2_000)
    assert stats.hit_ratio == 0.5


@settings(max_examples=200, deadline=None)
@given(
    capacity=st.integers(1, 6),
    steps=st.lists(st.one_of(st.integers(1, 9), st.just(0)), max_size=40),
)
def test_subscription_buffer_matches_the_lossy_model(capacity: int, steps: list[int]) -> None:
    """Positive step: publish that many events in one commit; 0: one receive_nowait."""
    hub = EventHub(capacity)
    sub = hub.subscribe()
    buffer: list[Event] = []
    skipped = 0
    counter = 0
    for step in steps:
        if step:
            batch: list[Event] = [Invalidated(counter + i, EventReason.MANUAL) for i in range(step)]
            counter += step
            hub.publish(batch)
            for event in batch:
                if len(buffer) >= capacity:
                    buffer.pop(0)
                    skipped += 1
                buffer.append(event)
        else:
            expected: Event | None
            if skipped:
                expected, skipped = Lagged(skipped), 0
            else:
                expected = buffer.pop(0) if buffer else None
            assert sub.receive_nowait() == expected
        assert len(sub._buffer) <= capacity

"""Pool <-> backend: write-through, read-through, failure policies, suppression, reservations."""

from __future__ import annotations

import logging
import threading

import anyio
import pytest
from tiering_helpers import Item, RecordingMetrics, ScriptedBackend, broken, down

import sassi
from sassi import BackendFailure, CacheTier, EventReason, Inserted, Invalidated, OnConflict
from sassi._effects import drive_async, drive_sync
from sassi.backends import InvalidateId, Keyspace, MemoryBackend
from sassi.exceptions import (
    BackendError,
    BackendUnavailable,
    BackendWriteInFlight,
    ConflictError,
    IdentityMismatchError,
)
from sassi.testing import FakeClock

KS = Keyspace.for_model(Item, None)


def pool(backend: object, **kwargs: object) -> sassi.Punnu[Item]:
    return sassi.Punnu(Item, backend=backend, **kwargs)  # type: ignore[arg-type]


def no_sleep(p: sassi.Punnu[Item]) -> list[float]:
    """Record retry sleeps instead of sleeping."""
    delays: list[float] = []
    tier = p._tier
    assert tier is not None
    tier.policy.sleep_sync = delays.append

    async def fake_sleep(seconds: float) -> None:
        delays.append(seconds)

    tier.policy.sleep = fake_sleep
    return delays


# --- write-through / read-through --------------------------------------------------------------


def test_insert_writes_through_and_invalidate_deletes() -> None:
    backend = ScriptedBackend()
    users = pool(backend)
    users.insert(Item(1, "a"))
    assert backend.get_sync(KS, 1) == Item(1, "a")
    assert users.invalidate(1) is True
    assert backend.get_sync(KS, 1) is None
    assert users.get(1) is None
    assert users.invalidate(1) is False  # nothing live, but the backend is still told
    assert backend.calls["invalidate"] == 2


@pytest.mark.anyio
async def test_async_twins_use_the_async_api() -> None:
    backend = ScriptedBackend()
    users = pool(backend)
    await users.ainsert(Item(1, "a"))
    assert backend.get_sync(KS, 1) == Item(1, "a")
    other = pool(backend)
    assert await other.aload(1) == Item(1, "a")
    assert await users.ainvalidate(1) is True
    assert backend.get_sync(KS, 1) is None
    assert await other.aload(2) is None


def test_keyspace_uses_namespace_and_type_name() -> None:
    backend = MemoryBackend()
    tenant = pool(backend, namespace="tenant-a")
    tenant.insert(Item(1, "a"))
    assert backend.get_sync(Keyspace.for_model(Item, "tenant-a"), 1) == Item(1, "a")
    assert backend.get_sync(Keyspace("tenant-a", "tiering.Item"), 1) == Item(1, "a")
    assert backend.get_sync(KS, 1) is None
    assert pool(backend).load(1) is None
    assert pool(backend, namespace="tenant-a").load(1) == Item(1, "a")


def test_load_reads_l2_once_and_fills_l1() -> None:
    backend = ScriptedBackend()
    backend.put_sync(KS, 1, Item(1, "from-l2"), None)
    metrics = RecordingMetrics()
    users = pool(backend, metrics=metrics)
    with users.events() as sub:
        assert users.load(1) == Item(1, "from-l2")
        assert users.load(1) == Item(1, "from-l2")
        assert backend.calls["get"] == 1  # the second load was an L1 hit
        assert sub.receive_nowait() == Inserted(Item(1, "from-l2"))
        assert sub.receive_nowait() is None
    assert users.get(1) == Item(1, "from-l2")
    assert CacheTier.L2 in metrics.hits
    assert users.load(99) is None
    assert 99 not in users


def test_load_without_backend_is_get() -> None:
    users = sassi.Punnu(Item)
    users.insert(Item(1, "a"))
    assert users.load(1) == Item(1, "a")
    assert users.load(2) is None


def test_load_rejects_a_value_with_another_id() -> None:
    backend = MemoryBackend()
    backend.put_sync(KS, 1, Item(2, "impostor"), None)
    users = pool(backend)
    with pytest.raises(IdentityMismatchError):
        users.load(1)
    with pytest.raises(BackendError):  # also a backend fault, whatever the failure policy
        users.load(1)
    assert len(users) == 0


def test_backend_ttl_follows_the_pool_ttl() -> None:
    clock = FakeClock()
    backend = MemoryBackend(clock=clock)
    users = pool(backend, ttl=10, clock=clock)
    users.insert(Item(1, "default ttl"))
    users.insert(Item(2, "own ttl"), ttl=100)
    clock.advance(11)
    assert backend.get_sync(KS, 1) is None
    assert backend.get_sync(KS, 2) == Item(2, "own ttl")


def test_l1_only_operations_never_touch_the_backend() -> None:
    backend = ScriptedBackend()
    users = pool(backend, capacity=3)
    users.get(1)
    users.apply_delta(sassi.Delta(items=(Item(1, "a"), Item(2, "b")), tombstones=(2,)))
    users.scope().collect()
    data = users.export_entries()
    users.restore_entries(data)
    users.restore(users.snapshot(sassi.SnapshotMode.WITH_INTERNAL_STATE))
    users.sweep_expired()
    assert sum(backend.calls.values()) == 0


def test_insert_serialized_writes_through() -> None:
    backend = MemoryBackend()
    users = pool(backend)
    assert users.insert_serialized(sassi.wire.dumps(Item(3, "c"))) == Item(3, "c")
    assert backend.get_sync(KS, 3) == Item(3, "c")
    with pytest.raises(sassi.VersionMismatch):
        users.insert_serialized(b'{"__sassi_v":0}')
    assert len(users) == 1


# --- L1_ONLY ----------------------------------------------------------------------------------


def test_l1_only_put_failure_keeps_l1_and_is_counted(caplog: pytest.LogCaptureFixture) -> None:
    backend = ScriptedBackend()
    backend.fail["put"] = broken()
    metrics = RecordingMetrics()
    users = pool(backend, metrics=metrics)
    with caplog.at_level(logging.WARNING, "sassi.tiering"):
        assert users.insert(Item(1, "a")) == Item(1, "a")
    assert users.get(1) == Item(1, "a")
    assert len(metrics.backend_errors) == 1
    assert "put" in caplog.text


def test_l1_only_get_failure_is_a_miss() -> None:
    backend = ScriptedBackend()
    backend.put_sync(KS, 1, Item(1, "a"), None)
    backend.fail["get"] = down()
    users = pool(backend)
    assert users.load(1) is None
    assert users.load(1) == Item(1, "a")


def test_corrupt_l2_bytes_are_a_backend_failure() -> None:
    backend = MemoryBackend()
    backend.put_raw(KS, 1, b"\x00garbage")
    assert pool(backend).load(1) is None
    with pytest.raises(BackendError):
        pool(backend, backend_failure=BackendFailure.ERROR).load(1)


# --- ERROR --------------------------------------------------------------------------------------


def test_error_mode_put_failure_raises_and_leaves_l1_untouched() -> None:
    backend = ScriptedBackend()
    users = pool(backend, backend_failure=BackendFailure.ERROR)
    users.insert(Item(1, "old"))
    backend.fail["put"] = down()
    with users.events() as sub:
        with pytest.raises(BackendUnavailable):
            users.insert(Item(1, "new"))
        assert sub.receive_nowait() is None
    assert users.get(1) == Item(1, "old")
    backend.fail["put"] = broken()
    with pytest.raises(BackendError):
        users.insert(Item(2, "x"))
    assert 2 not in users


@pytest.mark.anyio
async def test_error_mode_async_put_failure() -> None:
    backend = ScriptedBackend()
    users = pool(backend, backend_failure=BackendFailure.ERROR)
    backend.fail["put"] = broken()
    with pytest.raises(BackendError):
        await users.ainsert(Item(1, "a"))
    assert 1 not in users
    await users.ainsert(Item(1, "a"))
    assert users.get(1) == Item(1, "a")


def test_error_mode_invalidate_failure_raises_and_keeps_l1() -> None:
    backend = ScriptedBackend()
    users = pool(backend, backend_failure=BackendFailure.ERROR)
    users.insert(Item(1, "a"))
    backend.fail["invalidate"] = broken()
    with pytest.raises(BackendError):
        users.invalidate(1)
    assert users.get(1) == Item(1, "a")
    assert users.invalidate(1) is True


def test_error_mode_get_failure_raises() -> None:
    backend = ScriptedBackend()
    backend.fail["get"] = down()
    with pytest.raises(BackendUnavailable):
        pool(backend, backend_failure=BackendFailure.ERROR).load(1)


def test_error_mode_reject_is_checked_before_the_backend_write() -> None:
    backend = ScriptedBackend()
    users = pool(backend, backend_failure=BackendFailure.ERROR, on_conflict=OnConflict.REJECT)
    users.insert(Item(1, "first"))
    with pytest.raises(ConflictError):
        users.insert(Item(1, "second"))
    assert backend.calls["put"] == 1
    assert backend.get_sync(KS, 1) == Item(1, "first")


# --- retry ----------------------------------------------------------------------------------


def test_retry_succeeds_within_its_attempts() -> None:
    backend = ScriptedBackend()
    users = pool(backend, backend_failure=BackendFailure.retry(3))
    delays = no_sleep(users)
    backend.fail["put"] = down(2)
    users.insert(Item(1, "a"))
    assert backend.calls["put"] == 3
    assert backend.get_sync(KS, 1) == Item(1, "a")
    assert len(delays) == 2
    assert 0.025 <= delays[0] <= 0.025 * 1.25 and 0.05 <= delays[1] <= 0.05 * 1.25


def test_retry_exhaustion_keeps_the_l1_write() -> None:
    backend = ScriptedBackend()
    metrics = RecordingMetrics()
    users = pool(backend, backend_failure=BackendFailure.retry(3), metrics=metrics)
    no_sleep(users)
    backend.fail["put"] = down(5)
    users.insert(Item(1, "a"))
    assert backend.calls["put"] == 3
    assert users.get(1) == Item(1, "a")
    assert len(metrics.backend_errors) == 1


def test_retry_does_not_retry_permanent_errors() -> None:
    backend = ScriptedBackend()
    users = pool(backend, backend_failure=BackendFailure.retry(4))
    delays = no_sleep(users)
    backend.fail["put"] = broken(3)
    users.insert(Item(1, "a"))
    assert backend.calls["put"] == 1
    assert delays == []


@pytest.mark.anyio
async def test_retry_async_load_and_invalidate() -> None:
    backend = ScriptedBackend()
    backend.put_sync(KS, 1, Item(1, "a"), None)
    users = pool(backend, backend_failure=BackendFailure.retry(2))
    delays = no_sleep(users)
    backend.fail["get"] = down(1)
    assert await users.aload(1) == Item(1, "a")
    assert backend.calls["get"] == 2  # two attempts
    backend.fail["invalidate"] = down(1)
    assert await users.ainvalidate(1) is True
    assert backend.calls["invalidate"] == 2
    assert backend.get_sync(KS, 1) is None
    assert len(delays) == 2
    backend.fail["get"] = down(2)
    backend.put_sync(KS, 5, Item(5, "e"), None)
    assert await users.aload(5) is None  # exhausted: a miss


def test_backoff_schedule() -> None:
    from sassi._tier import backoff_delay

    assert [backoff_delay(k) for k in range(1, 9)] == [0.0, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0]
    assert backoff_delay(30) == 1.0
    import random

    rng = random.Random(1)
    assert all(1.0 <= backoff_delay(20, rng) <= 1.25 for _ in range(50))


# --- read suppression ---------------------------------------------------------------------------


@pytest.mark.parametrize("policy", [BackendFailure.L1_ONLY, BackendFailure.retry(2)])
def test_failed_invalidate_suppresses_l2_reads_until_a_later_success(
    policy: BackendFailure,
) -> None:
    backend = ScriptedBackend()
    users = pool(backend, backend_failure=policy, capacity=2)
    no_sleep(users)
    users.insert(Item(1, "stale"))
    backend.fail["invalidate"] = down(5)
    assert users.invalidate(1) is True
    assert backend.get_sync(KS, 1) == Item(1, "stale")  # L2 still holds it
    reads = backend.calls["get"]
    assert users.load(1) is None
    assert backend.calls["get"] == reads  # not even read
    for i in range(10, 20):  # LRU churn does not forget the suppression
        users.insert(Item(i, "churn"))
    assert users.load(1) is None
    backend.fail["invalidate"] = []
    users.insert(Item(1, "fresh"))
    users.invalidate(1)  # now succeeds
    assert users.load(1) is None  # gone from L2 too
    backend.put_sync(KS, 1, Item(1, "again"), None)
    assert users.load(1) == Item(1, "again")


def test_successful_insert_clears_suppression() -> None:
    backend = ScriptedBackend()
    users = pool(backend)
    users.insert(Item(1, "a"))
    backend.fail["invalidate"] = broken()
    users.invalidate(1)
    assert users._tier is not None and users._tier.suppressed(1)
    other = pool(backend)
    other.insert(Item(1, "written elsewhere"))
    assert users.load(1) is None  # remote writes don't clear it
    users.insert(Item(1, "b"))
    assert not users._tier.suppressed(1)
    users.invalidate(1, sassi.InvalidationReason.ON_DELETE)
    assert users.load(1) is None


@pytest.mark.anyio
async def test_backend_messages_do_not_clear_suppression() -> None:
    backend = ScriptedBackend()
    users = pool(backend)
    users.insert(Item(1, "a"))
    backend.fail["invalidate"] = broken()
    users.invalidate(1)
    assert users._tier is not None
    assert users._listener is not None
    await users._listener.apply(InvalidateId(1))
    assert users._tier.suppressed(1)
    assert users.load(1) is None


@pytest.mark.anyio
async def test_load_in_flight_during_invalidate_is_not_cached() -> None:
    backend = ScriptedBackend()
    backend.put_sync(KS, 1, Item(1, "stale"), None)
    users = pool(backend)
    backend.gate["get"] = threading.Event()
    backend.entered["get"] = threading.Event()
    results: list[object] = []

    async def reader() -> None:
        results.append(await users.aload(1))

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        await anyio.to_thread.run_sync(backend.entered["get"].wait)
        await users.ainvalidate(1)  # succeeds at the backend while the read is in flight
        backend.gate["get"].set()
    assert results == [Item(1, "stale")]  # the reader gets what it read...
    assert 1 not in users  # ...but it was not written back


# --- strict reservations ------------------------------------------------------------------------


def _in_thread(fn: object, *args: object) -> tuple[threading.Thread, list[object]]:
    out: list[object] = []

    def run() -> None:
        try:
            out.append(fn(*args))  # type: ignore[operator]
        except BaseException as exc:
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_strict_write_in_flight_blocks_deltas_and_restores() -> None:
    backend = ScriptedBackend()
    users = pool(backend, backend_failure=BackendFailure.ERROR)
    backend.gate["put"] = threading.Event()
    backend.entered["put"] = threading.Event()
    first, first_out = _in_thread(users.insert, Item(1, "first"))
    assert backend.entered["put"].wait(10)
    stats = users.apply_delta(sassi.Delta(items=(Item(1, "delta"), Item(2, "other"))))
    assert stats == sassi.DeltaStats(backend_reserved_skips=1)
    assert len(users) == 0
    with pytest.raises(BackendWriteInFlight):
        users.restore_entries(sassi.Punnu(Item).export_entries())
    with pytest.raises(BackendWriteInFlight):
        users.restore(sassi.Punnu(Item).export_entries())
    backend.gate["put"].set()
    first.join(10)
    assert first_out == [Item(1, "first")]
    assert users.apply_delta(sassi.Delta(items=(Item(2, "other"),))).applied_items == 1
    assert users.restore_entries(sassi.Punnu(Item).export_entries()) == sassi.RestoreStats(0, 0, 2)


@pytest.mark.anyio
async def test_strict_same_id_writers_serialize() -> None:
    backend = ScriptedBackend()
    users = pool(backend, backend_failure=BackendFailure.ERROR, on_conflict=OnConflict.REJECT)
    backend.gate["put"] = threading.Event()
    backend.entered["put"] = threading.Event()
    outcome: list[object] = []

    async def second() -> None:
        try:
            await users.ainsert(Item(1, "second"))
        except ConflictError as exc:
            outcome.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(users.ainsert, Item(1, "first"))
        await anyio.to_thread.run_sync(backend.entered["put"].wait)
        tg.start_soon(second)
        await anyio.wait_all_tasks_blocked()
        assert backend.calls["put"] == 1  # the second writer waits for the reservation
        backend.gate["put"].set()
    assert len(outcome) == 1 and isinstance(outcome[0], ConflictError)
    assert users.get(1) == Item(1, "first")
    assert backend.calls["put"] == 1
    assert backend.get_sync(KS, 1) == Item(1, "first")


@pytest.mark.anyio
async def test_strict_invalidate_waits_for_the_insert() -> None:
    backend = ScriptedBackend()
    users = pool(backend, backend_failure=BackendFailure.ERROR)
    backend.gate["put"] = threading.Event()
    backend.entered["put"] = threading.Event()
    order: list[str] = []

    async def writer() -> None:
        await users.ainsert(Item(1, "a"))
        order.append("inserted")

    async def killer() -> None:
        await users.ainvalidate(1)
        order.append("invalidated")

    async with anyio.create_task_group() as tg:
        tg.start_soon(writer)
        await anyio.to_thread.run_sync(backend.entered["put"].wait)
        tg.start_soon(killer)
        await anyio.wait_all_tasks_blocked()
        assert backend.calls["invalidate"] == 0  # waiting on the reservation
        backend.gate["put"].set()
    assert order == ["inserted", "invalidated"]
    assert 1 not in users and backend.get_sync(KS, 1) is None


# --- listener -----------------------------------------------------------------------------------


async def _next_event(sub: sassi.Subscription) -> sassi.Event:
    with anyio.fail_after(10):
        return await sub.receive()


@pytest.mark.anyio
async def test_listener_keeps_two_pools_coherent() -> None:
    backend = MemoryBackend()
    a = pool(backend)
    b = pool(backend)
    c = pool(backend, namespace="elsewhere")
    async with b.background(), c.background():
        assert b._tier is not None and c._tier is not None
        await b.wait_listening()
        await c.wait_listening()
        for p in (a, b, c):
            p.insert(Item(1, "one"))
            p.insert(Item(2, "two"))
        with b.events() as sub:
            await a.ainvalidate(1)
            assert await _next_event(sub) == Invalidated(1, EventReason.BACKEND_INVALIDATION)
            assert 1 not in b and 2 in b
            await a._tier.backend.invalidate_all(a._tier.keyspace)  # type: ignore[union-attr]
            assert await _next_event(sub) == Invalidated(2, EventReason.BACKEND_INVALIDATION)
        assert len(b) == 0
    assert 1 in c and 2 in c  # other namespace untouched


@pytest.mark.anyio
async def test_listener_applies_predicate_messages() -> None:
    from sassi.backends import InvalidateWhere

    backend = MemoryBackend()
    users = pool(backend)
    for i in range(6):
        users.insert(Item(i, "x", age=i * 10))
    F = sassi.fields(Item)
    async with users.background():
        assert users._tier is not None
        await users.wait_listening()
        with users.events() as sub:
            backend.publish_sync(KS, InvalidateWhere(sassi.predicate.dumps(F.age >= 30)))
            for expected in (3, 4, 5):
                assert await _next_event(sub) == Invalidated(
                    expected, EventReason.BACKEND_INVALIDATION
                )
    assert sorted(v.id for v in users.scope().collect()) == [0, 1, 2]
    assert users._tier is not None
    assert users._listener is not None
    assert await users._listener.apply(InvalidateWhere("not json")) == 0


@pytest.mark.anyio
async def test_listener_stops_with_the_background_block() -> None:
    backend = MemoryBackend()
    users = pool(backend)
    async with users.background():
        assert users._tier is not None
        await users.wait_listening()
    users.insert(Item(1, "a"))
    backend.invalidate_sync(KS, 1)  # nobody listening any more
    assert users.get(1) == Item(1, "a")
    assert not backend._subscribers.get((None, "tiering.Item"))


# --- helpers other pool features use ---------------------------------------------------------


@pytest.mark.anyio
async def test_publish_follows_the_failure_policy() -> None:
    from sassi.backends import InvalidateWhere

    backend = ScriptedBackend()
    metrics = RecordingMetrics()
    relaxed = pool(backend, metrics=metrics)
    strict = pool(backend, backend_failure=BackendFailure.ERROR)
    assert relaxed._tier is not None and strict._tier is not None
    stream = backend.invalidations(KS)
    message = InvalidateWhere('{"v":1}')
    drive_sync(relaxed._tier.publish(message))
    await drive_async(strict._tier.publish(message))
    with anyio.fail_after(5):
        assert await stream.__anext__() == message
        assert await stream.__anext__() == message
    backend.fail["publish"] = broken(2)
    drive_sync(relaxed._tier.publish(message))
    await drive_async(relaxed._tier.publish(message))
    assert len(metrics.backend_errors) == 2
    backend.fail["publish"] = broken(2)
    with pytest.raises(BackendError):
        drive_sync(strict._tier.publish(message))
    with pytest.raises(BackendError):
        await drive_async(strict._tier.publish(message))
    stream.close()


@pytest.mark.anyio
async def test_wait_unreserved_waits_for_a_strict_write() -> None:
    backend = ScriptedBackend()
    users = pool(backend, backend_failure=BackendFailure.ERROR)
    assert users._tier is not None
    await drive_async(users._tier.wait_unreserved(1))  # nothing reserved: returns at once
    drive_sync(users._tier.wait_unreserved(1))
    backend.gate["put"] = threading.Event()
    backend.entered["put"] = threading.Event()
    seen: list[object] = []

    async def fetch_insert() -> None:
        assert users._tier is not None
        await drive_async(users._tier.wait_unreserved(1))
        seen.append(users.get(1))

    async with anyio.create_task_group() as tg:
        tg.start_soon(users.ainsert, Item(1, "strict"))
        await anyio.to_thread.run_sync(backend.entered["put"].wait)
        tg.start_soon(fetch_insert)
        await anyio.wait_all_tasks_blocked()
        assert seen == []
        backend.gate["put"].set()
    assert seen == [Item(1, "strict")]


class ForeignErrors(ScriptedBackend):
    """A third-party backend raising builtin exceptions instead of sassi's."""


def test_third_party_errors_are_wrapped_and_os_errors_retried() -> None:
    backend = ForeignErrors()
    users = pool(backend, backend_failure=BackendFailure.retry(3))
    no_sleep(users)
    backend.fail["put"] = [ConnectionRefusedError("nope"), TimeoutError("slow")]
    users.insert(Item(1, "a"))
    assert backend.calls["put"] == 3
    assert backend.get_sync(KS, 1) == Item(1, "a")
    strict = pool(backend, backend_failure=BackendFailure.ERROR)
    backend.fail["put"] = [ConnectionRefusedError("nope")]
    with pytest.raises(BackendUnavailable) as transient:
        strict.insert(Item(2, "b"))
    assert isinstance(transient.value.__cause__, ConnectionRefusedError)
    backend.fail["put"] = [RuntimeError("bug in backend")]
    with pytest.raises(BackendError) as permanent:
        strict.insert(Item(2, "b"))
    assert not isinstance(permanent.value, BackendUnavailable)
    assert isinstance(permanent.value.__cause__, RuntimeError)
    calls = backend.calls["put"]
    backend.fail["put"] = [RuntimeError("bug")]
    users.insert(Item(3, "c"))  # permanent errors are not retried
    assert backend.calls["put"] == calls + 1


@pytest.mark.anyio
async def test_a_bad_message_does_not_stop_the_listener() -> None:
    backend = MemoryBackend()
    users = pool(backend)
    users.insert(Item(1, "a"))
    async with users.background():
        assert users._tier is not None
        await users.wait_listening()
        with users.events() as sub:
            backend.publish_sync(KS, InvalidateId([1, 2]))  # unhashable id from a foreign writer
            backend.publish_sync(KS, InvalidateId(1))
            assert await _next_event(sub) == Invalidated(1, EventReason.BACKEND_INVALIDATION)


@pytest.mark.anyio
async def test_pools_over_a_file_backend(tmp_path: object) -> None:
    from sassi.backends import FileBackend

    backend = FileBackend(tmp_path)  # type: ignore[arg-type]
    writer = pool(backend, namespace="files")
    reader = pool(backend, namespace="files")
    await writer.ainsert(Item(1, "async"))
    writer.insert(Item(2, "sync"))
    assert await reader.aload(1) == Item(1, "async")
    assert reader.load(2) == Item(2, "sync")
    await writer.ainvalidate(1)
    assert await pool(backend, namespace="files").aload(1) is None
    assert reader.get(1) == Item(1, "async")  # files have no invalidation channel


@pytest.mark.anyio
async def test_a_pool_never_hears_its_own_echo() -> None:
    backend = MemoryBackend()
    a = pool(backend)
    b = pool(backend)
    async with a.background():
        assert a._tier is not None
        await a.wait_listening()
        a.insert(Item(1, "first"))
        a.invalidate(1)
        a.insert(Item(1, "re-inserted"))  # the echo of the invalidate must not remove this
        a.insert(Item(2, "two"))
        with a.events() as sub:
            b.invalidate(2)  # a message from another pool, delivered after any echo would be
            assert await _next_event(sub) == Invalidated(2, EventReason.BACKEND_INVALIDATION)
        assert a.get(1) == Item(1, "re-inserted")


def test_memory_backend_without_a_clock_follows_the_pool_clock() -> None:
    clock = FakeClock()
    backend = MemoryBackend()
    users = pool(backend, ttl=10, clock=clock)
    users.insert(Item(1, "a"))
    other = pool(backend, clock=FakeClock(5_000.0))  # the first pool's clock stays
    clock.advance(10)
    assert users.get(1) is None
    assert users.load(1) is None  # expired in L2 too: nothing stale comes back
    assert other.load(1) is None
    own = MemoryBackend(clock=FakeClock())
    pool(own, clock=clock)
    own.put_sync(KS, 2, Item(2, "b"), 1)
    clock.advance(100)
    assert own.get_sync(KS, 2) == Item(2, "b")  # an explicit clock is never replaced


def test_threads_writing_and_reading_through_one_backend() -> None:
    """Writers and readers on several threads: no error, never a value under another id."""
    import random

    backend = MemoryBackend()
    # strict writes serialise per id, so L1 and L2 agree once the writers are done
    writer = pool(backend, capacity=50, backend_failure=BackendFailure.ERROR)
    reader = pool(backend, capacity=20)
    errors: list[BaseException] = []
    wrong: list[tuple[int, object]] = []

    def write(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(300):
                ident = rng.randrange(40)
                if rng.random() < 0.3:
                    writer.invalidate(ident)
                else:
                    writer.insert(Item(ident, f"v{seed}", age=seed))
        except BaseException as exc:
            errors.append(exc)

    def read(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(300):
                ident = rng.randrange(40)
                got = reader.load(ident)
                if got is not None and got.id != ident:
                    wrong.append((ident, got))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(3)]
    threads += [threading.Thread(target=read, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and wrong == []
    assert len(reader) <= 20 and len(writer) <= 50
    for ident in range(40):  # L2 agrees with the writer's last word on every id
        assert backend.get_sync(KS, ident) == writer.get(ident)


class BytesBackend(MemoryBackend):
    """A third-party backend that hands back the stored wire bytes."""

    def get_sync(self, keyspace: Keyspace, id: object) -> object:
        if id == 2:
            return b"\x00 not a container"
        value = super().get_sync(keyspace, id)
        return None if value is None else sassi.wire.dumps(value)

    async def get(self, keyspace: Keyspace, id: object) -> object:
        return self.get_sync(keyspace, id)


@pytest.mark.anyio
async def test_backends_may_return_wire_bytes() -> None:
    backend = BytesBackend()
    pool(backend).insert(Item(1, "a"))
    assert pool(backend).load(1) == Item(1, "a")
    assert await pool(backend).aload(1) == Item(1, "a")
    assert pool(backend).load(2) is None  # undecodable: a backend failure (L1_ONLY: a miss)
    with pytest.raises(BackendError):
        await pool(backend, backend_failure=BackendFailure.ERROR).aload(2)

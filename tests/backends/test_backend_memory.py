"""MemoryBackend: the shared conformance suite plus what only the memory backend promises."""

from __future__ import annotations

import anyio
import pytest

from sassi.backends import Backend, InvalidateAll, InvalidateId, Keyspace, MemoryBackend
from sassi.testing import BackendConformance, FakeClock
from sassi.testing._conformance import ConformanceItem


class TestMemoryBackend(BackendConformance):
    def make_backend(self) -> MemoryBackend:
        self.clock = FakeClock()
        return MemoryBackend(clock=self.clock)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def store_raw(
        self, backend: MemoryBackend, keyspace: Keyspace, id: object, data: bytes
    ) -> None:
        backend.put_raw(keyspace, id, data)

    def publish_malformed(self, backend: MemoryBackend, keyspace: Keyspace) -> None:
        backend.publish_sync(keyspace, InvalidateId([1, 2]))  # an id no pool can hold


KS = Keyspace.for_model(ConformanceItem, "mem")


def test_memory_backend_satisfies_the_protocol() -> None:
    assert isinstance(MemoryBackend(), Backend)


def test_expired_entries_are_deleted_on_read() -> None:
    clock = FakeClock()
    backend = MemoryBackend(clock=clock)
    backend.put_sync(KS, 1, ConformanceItem(1, "a"), 5)
    assert len(backend) == 1
    clock.advance(5)  # deadline <= now is expired
    assert backend.get_sync(KS, 1) is None
    assert len(backend) == 0


def test_keyspace_equality_ignores_the_model_hint() -> None:
    assert Keyspace("mem", ConformanceItem.__module__) != KS
    assert Keyspace("mem", "sassi.testing.ConformanceItem") == KS
    assert hash(Keyspace("mem", "sassi.testing.ConformanceItem")) == hash(KS)


def test_values_decode_without_a_model_hint_once_the_model_is_known() -> None:
    backend = MemoryBackend()
    bare = Keyspace("mem", "sassi.testing.ConformanceItem")
    backend.put_sync(bare, 1, ConformanceItem(1, "a"), None)
    assert backend.get_sync(bare, 1) == ConformanceItem(1, "a")


@pytest.mark.anyio
async def test_two_subscribers_both_receive_and_closed_ones_stop() -> None:
    backend = MemoryBackend()
    first = backend.invalidations(KS)
    second = backend.invalidations(KS)
    backend.invalidate_sync(KS, 1)
    second.close()
    backend.invalidate_sync(KS, 2)
    with anyio.fail_after(5):
        assert await first.__anext__() == InvalidateId(1)
        assert await first.__anext__() == InvalidateId(2)
    assert [m async for m in second] == []
    first.close()


@pytest.mark.anyio
async def test_overflowing_subscriber_collapses_to_invalidate_all() -> None:
    backend = MemoryBackend()
    stream = backend.invalidations(KS)
    for i in range(2000):
        backend.invalidate_sync(KS, i)
    received = []
    backend.invalidate_sync(KS, "last")
    stream.close()
    async for message in stream:
        received.append(message)
    assert received == []  # closing drops what was pending
    stream = backend.invalidations(KS)
    for i in range(1100):
        backend.invalidate_sync(KS, i)
    with anyio.fail_after(5):
        first = await stream.__anext__()
    assert first == InvalidateAll()
    stream.close()


@pytest.mark.anyio
async def test_close_wakes_a_waiting_reader() -> None:
    backend = MemoryBackend()
    stream = backend.invalidations(KS)
    done = anyio.Event()
    received: list[object] = []

    async def reader() -> None:
        async for message in stream:
            received.append(message)
        done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        await anyio.wait_all_tasks_blocked()
        stream.close()
        with anyio.fail_after(5):
            await done.wait()
    assert received == []


def test_unknown_type_name_without_a_model_hint_is_a_backend_error() -> None:
    from sassi.exceptions import BackendError

    backend = MemoryBackend()
    unknown = Keyspace(None, "never.registered.Model")
    backend.put_raw(unknown, 1, b"whatever")
    with pytest.raises(BackendError, match=r"never\.registered\.Model"):
        backend.get_sync(unknown, 1)


@pytest.mark.parametrize("ttl", ["10", True, object()])
def test_bad_ttl_types_are_type_errors(ttl: object) -> None:
    with pytest.raises(TypeError):
        MemoryBackend().put_sync(KS, 1, ConformanceItem(1, "a"), ttl)  # type: ignore[arg-type]


def test_nan_ttl_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        MemoryBackend().put_sync(KS, 1, ConformanceItem(1, "a"), float("nan"))


def test_repr() -> None:
    backend = MemoryBackend()
    backend.put_sync(KS, 1, ConformanceItem(1, "a"), None)
    assert repr(backend) == "<MemoryBackend 1 entries>"

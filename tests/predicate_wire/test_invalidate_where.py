"""``pool.invalidate_where`` / ``ainvalidate_where``: local removal, and other pools (in this process
and in another OS process over a real Redis) removing their matches from the backend channel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

import sassi
from sassi import BackendFailure, EventReason, Invalidated
from sassi.backends import InvalidateId, InvalidateWhere, Keyspace, MemoryBackend
from sassi.exceptions import BackendError, BackendUnavailable
from sassi.predicate import dumps, loads
from sassi.testing import FakeClock


@sassi.cacheable(type_name="tests.iw.Person")
@dataclass(frozen=True)
class Person:
    id: int
    age: int | None
    name: str = ""


F = sassi.fields(Person)
ADULT = F.age >= 18
PEOPLE = [Person(1, 10), Person(2, 20), Person(3, None), Person(4, 40), Person(5, 17)]


def drain(sub: sassi.Subscription) -> list[sassi.Event]:
    out: list[sassi.Event] = []
    while (event := sub.receive_nowait()) is not None:
        out.append(event)
    return out


def filled(**kwargs: Any) -> sassi.Punnu[Person]:
    pool = sassi.Punnu(Person, **kwargs)
    for person in PEOPLE:
        pool.insert(person)
    return pool


# --------------------------------------------------------------------------- local behaviour


@pytest.mark.parametrize("indexes", [(), ("age",)])
def test_removes_live_matches_and_returns_the_count(indexes: tuple[str, ...]) -> None:
    pool = filled(indexes=indexes)
    with pool.events() as sub:
        assert pool.invalidate_where(ADULT) == 2
        assert drain(sub) == [
            Invalidated(2, EventReason.MANUAL),
            Invalidated(4, EventReason.MANUAL),
        ]
    assert sorted(p.id for p in pool.scope().collect()) == [1, 3, 5]
    assert pool.invalidate_where(ADULT) == 0  # nothing left to match
    assert pool.invalidate_where(sassi.TRUE) == 3
    assert len(pool) == 0


def test_present_and_composite_predicates() -> None:
    pool = filled()
    assert pool.invalidate_where(F.age.present() != 10) == 3  # None never matches present()
    assert sorted(p.id for p in pool.scope().collect()) == [1, 3]
    assert pool.invalidate_where(sassi.FALSE) == 0
    assert pool.invalidate_where(~(F.age == 10)) == 1  # plain != matches None


def test_expired_entries_are_not_counted_and_emit_nothing() -> None:
    clock = FakeClock()
    pool: sassi.Punnu[Person] = sassi.Punnu(Person, clock=clock)
    pool.insert(Person(1, 30), ttl=5)
    pool.insert(Person(2, 30))
    clock.advance(5)
    with pool.events() as sub:
        assert pool.invalidate_where(ADULT) == 1
        assert drain(sub) == [Invalidated(2, EventReason.MANUAL)]


def test_rejects_non_predicates() -> None:
    pool = filled()
    for bad in (lambda p: True, "age >= 18", None, F.age):
        with pytest.raises(TypeError):
            pool.invalidate_where(bad)  # type: ignore[arg-type]
    assert len(pool) == len(PEOPLE)


@pytest.mark.anyio
async def test_async_twin() -> None:
    pool = filled()
    with pool.events() as sub:
        assert await pool.ainvalidate_where(F.name == "") == len(PEOPLE)
        assert [e.id for e in drain(sub)] == [1, 2, 3, 4, 5]  # type: ignore[union-attr]


def test_without_backend_any_operand_works() -> None:
    """Nothing is published without a backend, so operands need not be wire-encodable."""

    class Opaque:
        def __eq__(self, other: object) -> bool:
            return False

        __hash__ = object.__hash__

    pool: sassi.Punnu[Tagged] = sassi.Punnu(Tagged)
    pool.insert(Tagged(1, "x"))
    assert pool.invalidate_where(sassi.fields(Tagged).tag == Opaque()) == 0
    assert pool.invalidate_where(sassi.fields(Tagged).tag != Opaque()) == 1


# --------------------------------------------------------------------------- through a backend


class RecordingBackend(MemoryBackend):
    """A MemoryBackend that remembers what was published (and can fail to publish)."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.fail = fail
        self.published: list[tuple[Keyspace, Any]] = []

    def publish_sync(self, keyspace: Keyspace, message: Any) -> None:
        if self.fail:
            raise BackendUnavailable("channel down")
        self.published.append((keyspace, message))
        super().publish_sync(keyspace, message)

    async def publish(self, keyspace: Keyspace, message: Any) -> None:
        self.publish_sync(keyspace, message)


def test_publishes_the_wire_form_on_the_pool_keyspace() -> None:
    backend = RecordingBackend()
    pool = filled(backend=backend, namespace="iw")
    assert pool.invalidate_where(ADULT) == 2
    ((keyspace, message),) = backend.published
    assert keyspace == Keyspace("iw", "tests.iw.Person")
    assert isinstance(message, InvalidateWhere)
    assert loads(Person, message.predicate) == ADULT
    assert json.loads(message.predicate)["model"] == "tests.iw.Person"
    # SPEC 11.3: matching values are deleted from L2 too, so nobody loads them back
    assert pool.load(2) is None


def test_publishes_even_when_nothing_matched_locally() -> None:
    backend = RecordingBackend()
    pool: sassi.Punnu[Person] = sassi.Punnu(Person, backend=backend)
    assert pool.invalidate_where(ADULT) == 0
    assert len(backend.published) == 1


@dataclass(frozen=True)
class Tagged:
    id: int
    tag: Any


def test_unencodable_predicate_changes_nothing() -> None:
    backend = RecordingBackend()
    pool: sassi.Punnu[Tagged] = sassi.Punnu(Tagged, backend=backend)
    pool.insert(Tagged(1, "x"))
    with pytest.raises(TypeError, match="tag"):
        pool.invalidate_where(sassi.fields(Tagged).tag != object())
    assert len(pool) == 1 and backend.published == []


def test_publish_failure_policies() -> None:
    lenient = filled(backend=RecordingBackend(fail=True))
    assert lenient.invalidate_where(ADULT) == 2  # L1_ONLY: logged and counted

    strict = filled(backend=RecordingBackend(fail=True), backend_failure=BackendFailure.ERROR)
    with pytest.raises(BackendError):
        strict.invalidate_where(ADULT)
    # removing from a cache is always safe: L1 already dropped the matches
    assert sorted(p.id for p in strict.scope().collect()) == [1, 3, 5]


@pytest.mark.anyio
async def test_async_publish_failure_under_error_policy_raises() -> None:
    strict = filled(backend=RecordingBackend(fail=True), backend_failure=BackendFailure.ERROR)
    with pytest.raises(BackendError):
        await strict.ainvalidate_where(ADULT)


@pytest.mark.anyio
async def test_other_pools_remove_their_matches() -> None:
    backend = MemoryBackend()
    writer: sassi.Punnu[Person] = sassi.Punnu(Person, backend=backend)
    reader = filled(backend=backend)
    writer.insert(Person(4, 40))
    async with reader.background():
        assert reader._tier is not None
        await reader.wait_listening()
        with reader.events() as sub:
            assert await writer.ainvalidate_where(ADULT) == 1
            removed: list[sassi.Event] = []
            with anyio.fail_after(10):
                while len(removed) < 2:
                    removed.append(await sub.receive())
            assert sorted(removed, key=lambda e: e.id) == [  # type: ignore[union-attr]
                Invalidated(2, EventReason.BACKEND_INVALIDATION),
                Invalidated(4, EventReason.BACKEND_INVALIDATION),
            ]
    assert sorted(p.id for p in reader.scope().collect()) == [1, 3, 5]


# --------------------------------------------------------------------------- two OS processes

CHILD = r"""
import json, sys
from dataclasses import dataclass
import anyio
import sassi
from sassi.backends.redis import RedisBackend

@sassi.cacheable(type_name="tests.iw.Person")
@dataclass(frozen=True)
class Person:
    id: int
    age: int | None
    name: str = ""

async def main(url: str, namespace: str) -> None:
    backend = RedisBackend(url)
    pool = sassi.Punnu(Person, namespace=namespace, backend=backend)
    for i, age in enumerate([10, 20, None, 40, 17, 65], start=1):
        pool.insert(Person(i, age, f"p{i}"))
    removed = []
    async with pool.background():
        await pool.wait_listening()
        with pool.events() as sub:
            print("ready", flush=True)
            with anyio.fail_after(30):
                while len(removed) < 3:
                    event = await sub.receive()
                    removed.append([event.id, event.reason.name])
    left = sorted(p.id for p in pool.scope().collect())
    print(json.dumps({"removed": removed, "left": left}), flush=True)
    await backend.aclose()

anyio.run(main, sys.argv[1], sys.argv[2])
"""


@pytest.fixture
def child(redis_url: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    namespace = f"iw-{uuid.uuid4().hex}"
    src = str(Path(sassi.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": src}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, redis_url, namespace],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        yield proc, namespace
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


@pytest.mark.redis
def test_invalidate_where_reaches_another_process_over_redis(
    redis_url: str, child: tuple[subprocess.Popen[str], str]
) -> None:
    from sassi.backends.redis import RedisBackend

    proc, namespace = child
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        pytest.fail(f"child did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    backend = RedisBackend(redis_url)
    try:
        pool: sassi.Punnu[Person] = sassi.Punnu(Person, namespace=namespace, backend=backend)
        pool.insert(Person(4, 40, "mine"))
        pool.insert(Person(9, 90, "mine"))
        pool.insert(Person(5, 15, "mine"))
        assert pool.invalidate_where(ADULT & F.name.startswith("p") | (F.id == 9)) == 1
        assert sorted(p.id for p in pool.scope().collect()) == [4, 5]
    finally:
        backend.close()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert sorted(result["removed"]) == [[i, "BACKEND_INVALIDATION"] for i in (2, 4, 6)]
    assert result["left"] == [1, 3, 5]


def test_wire_text_is_what_the_listener_decodes() -> None:
    """The message body is exactly ``dumps(pred, model=Model)``."""
    backend = RecordingBackend()
    pool: sassi.Punnu[Person] = sassi.Punnu(Person, backend=backend)
    predicate = (F.age.between(1, 2) ^ F.name.iexact("x")) | ~F.age.is_null()
    pool.invalidate_where(predicate)
    assert backend.published[0][1] == InvalidateWhere(dumps(predicate, model=Person))


@pytest.mark.anyio
async def test_own_echo_removes_nothing_twice() -> None:
    """The publishing pool hears its own message too; its matches are already gone."""
    backend = MemoryBackend()
    pool = filled(backend=backend)
    async with pool.background():
        assert pool._tier is not None
        await pool.wait_listening()
        with pool.events() as sub:
            assert await pool.ainvalidate_where(ADULT) == 2
            # a marker behind the echo on the same FIFO channel: once it is applied, so is the echo
            await backend.publish(Keyspace(None, "tests.iw.Person"), InvalidateId(5))
            seen: list[sassi.Event] = []
            with anyio.fail_after(10):
                while len(seen) < 3:
                    seen.append(await sub.receive())
            assert seen == [
                Invalidated(2, EventReason.MANUAL),
                Invalidated(4, EventReason.MANUAL),
                Invalidated(5, EventReason.BACKEND_INVALIDATION),
            ]
            assert sub.receive_nowait() is None
    assert sorted(p.id for p in pool.scope().collect()) == [1, 3]


def test_concurrent_writers_each_match_removed_exactly_once() -> None:
    import threading

    pool: sassi.Punnu[Person] = sassi.Punnu(Person, capacity=100_000, event_capacity=100_000)
    per_writer, writers = 400, 3
    removed_counts: list[int] = []
    done = threading.Event()
    start = threading.Barrier(writers + 1)

    def write(w: int) -> None:
        start.wait()
        for i in range(per_writer):
            key = w * per_writer + i
            pool.insert(Person(key, 30 if key % 2 else 5))

    def invalidate() -> None:
        start.wait()
        while not done.is_set():
            removed_counts.append(pool.invalidate_where(ADULT))

    with pool.events() as sub:
        threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        remover = threading.Thread(target=invalidate)
        remover.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        remover.join()
        removed_counts.append(pool.invalidate_where(ADULT))
        events = drain(sub)
    adults = {k for k in range(writers * per_writer) if k % 2}
    manual = [e.id for e in events if isinstance(e, Invalidated)]
    assert sorted(manual) == sorted(adults)  # every adult once, no minor, none twice
    assert sum(removed_counts) == len(adults)
    assert sorted(p.id for p in pool.scope().collect()) == sorted(
        k for k in range(writers * per_writer) if not k % 2
    )

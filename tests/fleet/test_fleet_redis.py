"""SPEC 11.1/11.2 across real OS processes over a real redis-server.

Fetches are counted in Redis itself, so "exactly one fetch" is checked across processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from fleet_worker import connect

import sassi
from redis_server import OwnRedis, own_redis_fixture
from sassi import BackendFailure, EventReason, Invalidated
from sassi.backends.redis import RedisBackend
from sassi.exceptions import BackendTimeout

pytestmark = pytest.mark.redis

WORKER = str(Path(__file__).with_name("fleet_worker.py"))


@sassi.cacheable(type_name="fleet.Row")
@dataclass(frozen=True, slots=True)
class Row:
    id: int
    by: str


class Fleet:
    """Worker processes sharing one namespace on one Redis."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ns = "fleet-" + uuid.uuid4().hex[:8]
        self.client: Any = connect(url)
        self.procs: list[subprocess.Popen[str]] = []

    def spawn(
        self, mode: str = "ok", callers: int = 25, lease: str = "10"
    ) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, WORKER, self.url, self.ns, mode, str(callers), lease],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        return proc

    def go(self) -> None:
        self.client.set(f"go:{self.ns}", 1)

    @property
    def calls(self) -> int:
        return int(self.client.get(f"calls:{self.ns}") or 0)

    def wait_calls(self, n: int, limit: float = 20) -> None:
        deadline = time.monotonic() + limit
        while self.calls < n:  # another process's progress: nothing to wait on but Redis
            assert time.monotonic() < deadline, f"{self.calls} fetches, expected {n}"
            time.sleep(0.01)

    def result(self, proc: subprocess.Popen[str], limit: float = 60) -> dict[str, Any]:
        out, err = proc.communicate(timeout=limit)
        assert proc.returncode == 0, err
        return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=10)  # reaps it and closes its pipes
        self.client.close()


@pytest.fixture(params=["redis", "cluster"])
def fleet(request: pytest.FixtureRequest, redis_url: str) -> Iterator[Fleet]:
    """The same fleet over one Redis node and over the local Redis Cluster (SPEC 11.4)."""
    if request.param == "cluster":
        cluster = os.environ.get("SASSI_REDIS_CLUSTER_URL")
        if not cluster:
            message = (
                "no Redis Cluster: apt-get install redis-server; python3 dev.py test starts one"
            )
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        url = cluster.replace("redis://", "redis+cluster://")
    else:
        url = redis_url
    f = Fleet(url)
    try:
        yield f
    finally:
        f.close()


def test_four_processes_of_25_callers_fetch_a_cold_id_once(fleet: Fleet) -> None:
    procs = [fleet.spawn("ok", 25) for _ in range(4)]
    time.sleep(0.5)  # let every process import and wait for the start signal
    fleet.go()
    results = [fleet.result(p) for p in procs]
    assert fleet.calls == 1
    holders = {r for res in results for r in res["results"]}
    assert len(holders) == 1 and None not in holders  # every caller got the one fetched row
    assert sum(len(res["results"]) for res in results) == 100


def test_without_leases_each_process_fetches(fleet: Fleet) -> None:
    procs = [fleet.spawn("ok", 10, lease="none") for _ in range(3)]
    time.sleep(0.5)
    fleet.go()
    for p in procs:
        fleet.result(p)
    assert fleet.calls == 3


@pytest.mark.parametrize("mode", ["none", "raise"])
def test_a_holder_that_gets_nothing_hands_the_lease_on(fleet: Fleet, mode: str) -> None:
    holder = fleet.spawn(mode, 5)
    fleet.go()
    fleet.wait_calls(1)
    other = fleet.spawn("ok", 5)
    bad, good = fleet.result(holder), fleet.result(other)
    assert fleet.calls == 2
    expected = None if mode == "none" else "error: database hiccup"
    assert bad["results"] == [expected] * 5
    assert len(set(good["results"])) == 1 and good["results"][0].startswith("pid")


def test_a_sigkilled_holder_hands_the_lease_on_when_it_expires(fleet: Fleet) -> None:
    holder = fleet.spawn("hang", 3, lease="1.5")
    fleet.go()
    fleet.wait_calls(1)
    holder.kill()  # SIGKILL mid-fetch: its lease is never released
    holder.communicate(timeout=10)
    started = time.monotonic()
    other = fleet.spawn("ok", 3, lease="1.5")
    got = fleet.result(other)
    assert fleet.calls == 2
    assert len(set(got["results"])) == 1 and got["results"][0].startswith("pid")
    assert time.monotonic() - started < 20


@pytest.mark.anyio
async def test_an_invalidation_in_another_process_during_a_slow_fetch_wins(
    fleet: Fleet,
) -> None:
    holder = fleet.spawn("slow", 3)
    fleet.go()
    fleet.wait_calls(1)
    backend = RedisBackend.from_url(fleet.url)
    try:
        other = sassi.Punnu(Row, backend=backend, namespace=fleet.ns)
        await other.ainvalidate(1)  # the row changed while the holder was fetching it
        fleet.client.set(f"release:{fleet.ns}", 1)
        got = fleet.result(holder)
        assert len(set(got["results"])) == 1  # the callers still get what was fetched
        assert await other.aload(1) is None  # but neither tier kept it
        pattern = f"sassi:{{ns_{fleet.ns.encode().hex()}:*}}:id_*"
        assert list(fleet.client.keys(pattern)) == []
    finally:
        await backend.aclose()


# --- availability (SPEC 11.1) against a private server we stop, pause and restart ---------------


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    yield from own_redis_fixture(tmp_path)


@pytest.mark.anyio
async def test_a_hung_redis_at_startup_and_mid_run(own_redis: OwnRedis) -> None:
    backend = RedisBackend(own_redis.url, socket_timeout=0.5)
    writer_backend = RedisBackend(own_redis.url, socket_timeout=0.5)
    pool = sassi.Punnu(Row, backend=backend, namespace="hung")
    writer = sassi.Punnu(Row, backend=writer_backend, namespace="hung")
    try:
        pool.insert(Row(1, "cached"))
        own_redis.pause()  # SIGSTOP: connections hang
        entering = time.monotonic()
        async with pool.background():
            assert time.monotonic() - entering < 1.5  # SPEC 11.1: enters at once
            assert not pool.listening
            assert pool.get(1) == Row(1, "cached")  # L1 keeps serving
            own_redis.resume()
            with pool.events() as sub, anyio.fail_after(30):
                await pool.wait_listening()
                # the first subscription after the outage resyncs
                assert await sub.receive() == Invalidated(1, EventReason.BACKEND_INVALIDATION)
                pool.insert(Row(2, "again"))
                own_redis.pause()  # --- hung mid-run ---
                assert pool.get(2) == Row(2, "again")
                await anyio.sleep(1.0)
                own_redis.resume()
                await writer.ainsert(Row(3, "written after"))
                assert await pool.aload(3) == Row(3, "written after")
                await writer.ainvalidate(3)  # reaches pool: a message, or the resync
                seen = []
                while Invalidated(3, EventReason.BACKEND_INVALIDATION) not in seen:
                    seen.append(await sub.receive())
    finally:
        own_redis.resume()
        await backend.aclose()
        await writer_backend.aclose()


@pytest.mark.anyio
async def test_redis_refusing_connections_at_startup(own_redis: OwnRedis) -> None:
    own_redis.stop()
    backend = RedisBackend(own_redis.url, socket_timeout=0.5)
    pool = sassi.Punnu(Row, backend=backend, namespace="down")
    try:
        pool.insert(Row(1, "L1 only"))  # L1_ONLY: logged and counted
        assert pool.stats().backend_errors >= 1
        entering = time.monotonic()
        async with pool.background():
            assert time.monotonic() - entering < 1.5
            assert not pool.listening and pool.get(1) == Row(1, "L1 only")
            own_redis.start()
            with anyio.fail_after(30):
                await pool.wait_listening()
            assert 1 not in pool  # resynced on the first subscription
    finally:
        await backend.aclose()


def test_a_strict_write_to_a_hung_redis_drops_the_id(own_redis: OwnRedis) -> None:
    backend = RedisBackend(own_redis.url, socket_timeout=0.3)
    pool = sassi.Punnu(
        Row, backend=backend, namespace="strict", backend_failure=BackendFailure.ERROR
    )
    try:
        pool.insert(Row(1, "old"))
        own_redis.pause()
        with pytest.raises(BackendTimeout):
            pool.insert(Row(1, "new"))
        assert 1 not in pool  # Redis may run the queued write later: L1 must not disagree
        own_redis.resume()
        time.sleep(0.2)  # the queued SET lands now
        assert pool.load(1) is None  # reads stay suppressed until a successful write
        pool.insert(Row(1, "newest"))
        assert pool.load(1) == Row(1, "newest")
    finally:
        own_redis.resume()
        backend.close()

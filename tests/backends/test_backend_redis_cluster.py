"""SPEC 11.4 against a real local Redis Cluster (3 masters, 3 replicas, started by dev.py):
the conformance suite, a keyspace spread over every master, coherence across nodes, failover."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster

import sassi
from sassi import EventReason, Invalidated
from sassi.backends import Keyspace
from sassi.backends.redis import RedisBackend
from sassi.exceptions import BackendError
from sassi.testing import BackendConformance

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cluster_url() -> str:
    url = os.environ.get("SASSI_REDIS_CLUSTER_URL")
    if url:
        return url
    message = (
        "a Redis Cluster is not available (SASSI_REDIS_CLUSTER_URL is unset): install "
        "`apt-get install redis-server`; `python3 dev.py test` then starts a local cluster"
    )
    if os.environ.get("CI"):
        pytest.fail(message + " Under CI it is required.")
    pytest.skip(message)


def flush(url: str) -> None:
    client = RedisCluster.from_url(url)
    try:
        client.flushall(target_nodes=RedisCluster.PRIMARIES)
    finally:
        client.close()


class TestRedisClusterBackend(BackendConformance):
    @pytest.fixture(autouse=True)
    def _url(self, cluster_url: str) -> None:
        self.url = cluster_url
        flush(cluster_url)

    def make_backend(self) -> RedisBackend:
        return RedisBackend.from_url(self.url, cluster=True)

    def store_raw(self, backend: RedisBackend, keyspace: Keyspace, id: object, data: bytes) -> None:
        backend.client.set(backend._layout.keys(keyspace, id).value(id), data)

    def publish_malformed(self, backend: RedisBackend, keyspace: Keyspace) -> None:
        backend.client.publish(f"sassi:{{{keyspace.token}}}:invalidate", b"[" * 100_000)


@sassi.cacheable(type_name="cluster.Row")
@dataclass(frozen=True, slots=True)
class Row:
    id: int
    name: str = ""
    org: int = 0


def test_every_master_holds_part_of_a_large_type(cluster_url: str) -> None:
    flush(cluster_url)
    backend = RedisBackend.from_url(cluster_url, cluster=True)
    try:
        assert backend.cluster and backend.shards == 16
        pool = sassi.Punnu(Row, backend=backend, namespace="spread", capacity=2_000)
        for i in range(1_000):
            pool.insert(Row(i))
        primaries = RedisCluster.get_primaries(backend.client)  # type: ignore[arg-type]
        sizes = [node.redis_connection.dbsize() for node in primaries]
        assert len(sizes) == 3 and all(size > 0 for size in sizes), sizes
        backend.invalidate_all_sync(pool._tier.keyspace)  # type: ignore[union-attr]
        assert sum(n.redis_connection.dbsize() for n in primaries) <= 3 * 16
    finally:
        backend.close()


def test_cluster_clients_and_urls_are_accepted(cluster_url: str) -> None:
    sync_client = RedisCluster.from_url(cluster_url)
    async_client = AsyncRedisCluster.from_url(cluster_url)
    for backend in (
        RedisBackend(sync_client),
        RedisBackend(async_client),
        RedisBackend.from_url(cluster_url.replace("redis://", "redis+cluster://")),
        sassi.Punnu(Row, backend=cluster_url.replace("redis://", "redis+cluster://"))._tier.backend,  # type: ignore[union-attr]
    ):
        assert backend.cluster
        ks = Keyspace.for_model(Row, "clients")
        backend.put_sync(ks, 1, Row(1, "x"), None)
        assert backend.get_sync(ks, 1) == Row(1, "x")
    sync_client.close()


def node_urls(url: str) -> list[str]:
    client = RedisCluster.from_url(url)
    try:
        return [f"redis://{n.host}:{n.port}" for n in client.get_primaries()]
    finally:
        client.close()


@pytest.mark.anyio
async def test_two_pools_on_different_nodes_stay_coherent(cluster_url: str) -> None:
    flush(cluster_url)
    first, second = node_urls(cluster_url)[:2]
    a_backend = RedisBackend.from_url(first, cluster=True)
    b_backend = RedisBackend.from_url(second, cluster=True)
    a = sassi.Punnu(Row, backend=a_backend, namespace="coherent")
    b = sassi.Punnu(Row, backend=b_backend, namespace="coherent")
    F = sassi.fields(Row)
    try:
        async with b.background():
            with anyio.fail_after(20):
                await b.wait_listening()
            for i in range(40):
                await a.ainsert(Row(i, org=i % 2))
            assert all([await b.aload(i) == Row(i, org=i % 2) for i in range(40)])
            with b.events() as sub, anyio.fail_after(20):
                await a.ainvalidate(3)
                assert await sub.receive() == Invalidated(3, EventReason.BACKEND_INVALIDATION)
                assert await a.ainvalidate_where(F.org == 0) == 20
                seen: set[int] = set()
                while len(seen) < 20:
                    event = await sub.receive()
                    assert isinstance(event, Invalidated)
                    seen.add(event.id)
                assert seen == set(range(0, 40, 2))
            assert await b.aload(2) is None and await b.aload(5) == Row(5, org=1)
    finally:
        await a_backend.aclose()
        await b_backend.aclose()


# --- failover, on a private cluster this test may break ----------------------------------------


@pytest.fixture
def private_cluster(tmp_path: Path) -> Iterator[Any]:
    binary = os.environ.get("SASSI_REDIS_SERVER") or shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server not found: apt-get install redis-server")
        pytest.skip("redis-server not found: apt-get install redis-server")
    sys.path.insert(0, str(ROOT))
    try:
        import dev
    finally:
        sys.path.remove(str(ROOT))
    cluster = dev.LocalCluster(binary, tmp_path)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def _wait_failed_over(cluster: Any, victim: int, timeout: float = 90.0) -> None:
    """Until every live node flags ``victim`` as failed (``fail``, not the suspected ``fail?``)
    and reports a whole cluster again (a replica took the victim's slots over)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        views = [cluster.info(port, "cluster nodes") for port in cluster.procs]
        if all(_flagged_failed(view, victim) for view in views):
            cluster.wait_ok(max(deadline - time.monotonic(), 1.0))
            return
        time.sleep(0.2)
    raise AssertionError(f"the cluster did not fail node {victim} over in {timeout:.0f} s")


def _flagged_failed(nodes: str, port: int) -> bool:
    for line in nodes.splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[1].split("@")[0].endswith(f":{port}"):
            return "fail" in fields[2].split(",")
    return False


@pytest.mark.anyio
@pytest.mark.timeout(300)  # above the sum of the phases' own deadlines, so a hang names its phase
async def test_failover_keeps_l1_serving_and_resumes_everything(
    private_cluster: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)  # the outage logs warnings by design
    url = private_cluster.url
    backend = RedisBackend.from_url(url, cluster=True, socket_timeout=1.0)
    writer_backend = RedisBackend.from_url(url, cluster=True, socket_timeout=1.0)
    pool = sassi.Punnu(Row, backend=backend, namespace="failover")
    writer = sassi.Punnu(Row, backend=writer_backend, namespace="failover")
    try:
        async with pool.background():
            with anyio.fail_after(20):
                await pool.wait_listening()
            for i in range(30):
                pool.insert(Row(i, "before"))
            # kill the master serving the invalidation channel: the listener loses its node too
            channel = f"sassi:{{{pool._tier.keyspace.token}}}:invalidate"  # type: ignore[union-attr]
            victim = backend.client.get_node_from_key(channel)  # type: ignore[union-attr]
            private_cluster.kill_node(int(victim.port))
            assert all(pool.get(i) == Row(i, "before") for i in range(30))  # L1 serves
            pool.insert(Row(100, "during"))  # L1_ONLY: L1 written whatever its shard's node does
            assert pool.get(100) == Row(100, "during")
            # (a resync may empty L1 at any later await: the listener reconnects on its own)
            # a replica is promoted (cluster-node-timeout 2 s): L2 writes and reads resume
            keyspace = writer._tier.keyspace  # type: ignore[union-attr]
            # every live node marks the victim failed, then agrees the cluster is whole again
            # (its replica took over)
            await anyio.to_thread.run_sync(_wait_failed_over, private_cluster, int(victim.port))
            with anyio.fail_after(60):  # the clients learn the new topology
                while True:  # until the promotion: another process's progress, nothing to await
                    await writer.ainsert(Row(200, "after"))  # L1_ONLY: never raises
                    with contextlib.suppress(BackendError):
                        if await writer_backend.get(keyspace, 200) == Row(200, "after"):
                            break
                    await anyio.sleep(0.2)
            with pool.events() as sub, anyio.fail_after(60):
                await pool.wait_listening()  # the listener is back, on a live node
                await writer.ainsert(Row(300, "new"))
                assert await pool.aload(300) == Row(300, "new")
                await writer.ainvalidate(300)  # reaches pool: a message or the resync
                while True:
                    event = await sub.receive()
                    if event == Invalidated(300, EventReason.BACKEND_INVALIDATION):
                        break
            assert 300 not in pool
    finally:
        await backend.aclose()
        await writer_backend.aclose()


# --- resharding, on a private cluster: slots move between masters under load ------------------


def _masters(cluster: Any) -> dict[str, tuple[int, list[tuple[int, int]]]]:
    """``{node id: (port, [(first slot, last slot), …])}`` of the masters, as a node sees them."""
    masters: dict[str, tuple[int, list[tuple[int, int]]]] = {}
    for line in cluster.info(cluster.ports[0], "cluster nodes").splitlines():
        fields = line.split()
        if len(fields) >= 8 and "master" in fields[2].split(","):
            ranges = [r.split("-") for r in fields[8:] if not r.startswith("[")]
            port = int(fields[1].split("@")[0].rsplit(":", 1)[1])
            masters[fields[0]] = (port, [(int(r[0]), int(r[-1])) for r in ranges])
    return masters


def _owner(masters: dict[str, tuple[int, list[tuple[int, int]]]], slot: int) -> str:
    return next(n for n, (_, ranges) in masters.items() if any(a <= slot <= b for a, b in ranges))


class _Hammer:
    """Puts, reads back and invalidates ids ``0..count-1`` through a backend's sync API in a
    thread until stopped, recording every error and every read that is not what was written."""

    def __init__(self, backend: RedisBackend, keyspace: Keyspace, count: int) -> None:
        self.backend, self.keyspace, self.count = backend, keyspace, count
        self.rounds = 0
        self.errors: list[str] = []
        self.wrong: list[tuple[int, Row | None, Row | None]] = []
        self.stop = threading.Event()
        self.last: dict[int, Row | None] = {}

    def __call__(self) -> None:
        b, ks = self.backend, self.keyspace
        while not self.stop.is_set():
            self.rounds += 1
            for i in range(self.count):
                value = Row(i, f"sync {self.rounds}")
                try:
                    b.put_sync(ks, i, value, None)
                    self.last[i] = value
                    if (got := b.get_sync(ks, i)) != value:
                        self.wrong.append((i, got, value))
                    if i % 5 == 0:
                        b.invalidate_sync(ks, i)
                        self.last[i] = None
                        if (got := b.get_sync(ks, i)) is not None:
                            self.wrong.append((i, got, None))
                except Exception as exc:  # recorded (with where it came from); asserted empty
                    self.errors.append("".join(traceback.format_exception(exc))[-1500:])


@pytest.mark.anyio
@pytest.mark.timeout(300)
@pytest.mark.parametrize("how", ["reshard", "grow"])
async def test_resharding_under_load_loses_nothing(private_cluster: Any, how: str) -> None:
    """Slots move between masters, one key per MIGRATE, while a thread writes, reads and
    invalidates through the sync API and the event loop does the same through a pool (and its
    fetch path) and a second backend. ``reshard``: ``redis-cli --cluster reshard`` moves every
    slot of the master holding most of the keyspace's shards to another master. ``grow``: the
    fleet outgrows its three masters: a fourth joins (``add-node``) and ``rebalance
    --cluster-use-empty-masters`` hands it a quarter of the slots, some of the keyspace's among
    them. No error, no lost or stale read, and afterwards everything is where it was written,
    the listener still hears invalidations and ``clear()`` reaches every shard on its new node."""
    url = private_cluster.url
    a_backend = RedisBackend.from_url(url, cluster=True, socket_timeout=5.0)
    b_backend = RedisBackend.from_url(url, cluster=True, socket_timeout=5.0)
    a = sassi.Punnu(Row, backend=a_backend, namespace="reshard", capacity=5_000)
    b = sassi.Punnu(Row, backend=b_backend, namespace="reshard", capacity=5_000)
    keyspace = a._tier.keyspace  # type: ignore[union-attr]
    shards = a_backend._layout.every(keyspace)
    slots = [a_backend.client.keyslot(keys.index) for keys in shards]  # type: ignore[union-attr]
    cli = private_cluster.cli
    if how == "grow":
        await anyio.to_thread.run_sync(private_cluster.add_master)
    before = _masters(private_cluster)
    owners = [_owner(before, slot) for slot in slots]
    source = max(before, key=owners.count)
    if how == "reshard":
        target = next(node for node in before if node != source and before[node][1])
        command = [cli, "--cluster", "reshard", f"127.0.0.1:{before[source][0]}",
                   "--cluster-from", source, "--cluster-to", target, "--cluster-slots", "16384",
                   "--cluster-pipeline", "1", "--cluster-yes"]  # fmt: skip
    else:
        target = next(node for node in before if not before[node][1])  # the new, empty master
        command = [cli, "--cluster", "rebalance", f"127.0.0.1:{before[source][0]}",
                   "--cluster-use-empty-masters", "--cluster-pipeline", "1"]  # fmt: skip
    hammer = _Hammer(a_backend, keyspace, 300)
    thread = threading.Thread(target=hammer, daemon=True)
    fetched: list[int] = []

    async def fetch(id: int) -> Row:
        fetched.append(id)
        return Row(id, "fetched")

    async def pools(done: anyio.Event) -> tuple[int, list[Any]]:
        rounds, wrong = 0, list[Any]()
        while not done.is_set() or rounds == 0:
            rounds += 1
            for i in range(1_000, 1_100):
                value = Row(i, f"async {rounds}")
                await a.ainsert(value)
                if (got := await b_backend.get(keyspace, i)) != value:  # L2, as b's misses see it
                    wrong.append((i, got, value))
                if i % 4 == 0:
                    await a.ainvalidate(i)
                    if (got := await b_backend.get(keyspace, i)) is not None:
                        wrong.append((i, got, None))
                    if (got := await a.aget_or_fetch(i, fetch)) != Row(i, "fetched"):
                        wrong.append((i, got, "fetched"))
        return rounds, wrong

    try:
        async with b.background():
            with anyio.fail_after(20):
                await b.wait_listening()
            thread.start()
            done = anyio.Event()
            outcome: list[tuple[int, list[Any]]] = []

            async def run_pools() -> None:
                outcome.append(await pools(done))

            async with anyio.create_task_group() as group:
                group.start_soon(run_pools)
                with anyio.fail_after(180):
                    moved = await anyio.run_process(command, check=False)
                done.set()
            hammer.stop.set()
            await anyio.to_thread.run_sync(thread.join, 60)
            assert moved.returncode == 0, moved.stdout.decode()[-2000:]
            after = _masters(private_cluster)
            now = [_owner(after, slot) for slot in slots]
            if how == "reshard":
                # every slot left it (an emptied master becomes its successor's replica)
                assert source not in after or after[source][1] == []
                assert all(n == target for n, o in zip(now, owners, strict=True) if o == source)
            else:
                assert sum(b - a + 1 for a, b in after[target][1]) >= 4_000  # ~a quarter
                assert target in now  # some of the keyspace's shards moved to the new master
            assert now != owners
            rounds, wrong = outcome[0]
            assert hammer.errors == [] and hammer.wrong == [] and wrong == []
            assert hammer.rounds >= 1 and rounds >= 1
            assert a.stats().backend_errors == 0 and b.stats().backend_errors == 0
            assert fetched  # the fetch path (versioned reads and write-backs) ran during the move
            for i, value in hammer.last.items():  # each id as the thread last left it
                assert await b_backend.get(keyspace, i) == value
            await b.aload(1_001)  # in b's L1, so that its invalidation is an event
            with b.events() as sub, anyio.fail_after(20):  # the listener hears the fleet still
                await a.ainvalidate(1_001)
                while await sub.receive() != Invalidated(1_001, EventReason.BACKEND_INVALIDATION):
                    pass
            await a.aclear()  # every shard drained, on whichever node now serves it
            for i in [*range(300), *range(1_000, 1_100)]:
                assert await b_backend.get(keyspace, i) is None
    finally:
        hammer.stop.set()
        await a_backend.aclose()
        await b_backend.aclose()


def test_a_slot_migrating_to_a_new_master_is_read_through_the_ask_redirect(
    private_cluster: Any,
) -> None:
    """The state ``rebalance`` onto a new master passes through, built by hand so it is
    certain: a fourth master owning no slot yet imports a slot whose keys have all moved, so
    the old master answers ``ASK`` to the new one — which redis-py's cluster client cannot
    route (redis/redis-py#4015). sassi sends the call again until the slot has moved (then
    the old master answers ``MOVED``, which redis-py follows), so the read succeeds."""
    from redis import Redis

    from sassi.backends._redis import _client

    backend = RedisBackend.from_url(private_cluster.url, cluster=True, socket_timeout=5.0)
    keyspace = Keyspace.for_model(Row, "ask")
    try:
        backend.put_sync(keyspace, 1, Row(1, "one"), None)
        keys = backend._layout.keys(keyspace, 1)
        slot = backend.client.keyslot(keys.value(1))  # type: ignore[union-attr]
        new_port = private_cluster.add_master()
        masters = _masters(private_cluster)
        new_id = next(node for node, (port, _) in masters.items() if port == new_port)
        source_id = _owner(masters, slot)
        source = Redis(port=masters[source_id][0])
        new = Redis(port=new_port)
        new.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        source.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", new_id)
        moving = source.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 1000)
        assert keys.value(1).encode() in moving
        source.execute_command("MIGRATE", "127.0.0.1", new_port, "", 0, 5000, "KEYS", *moving)
        try:  # what redis-py itself does now: fail on the unknown node, or (once fixed) read
            assert backend.client.get(keys.value(1)) is not None
        except AttributeError as exc:
            assert _client._misrouted(exc)

        def finish() -> None:
            time.sleep(0.3)
            for port, _ in masters.values():
                Redis(port=port).execute_command("CLUSTER", "SETSLOT", slot, "NODE", new_id)

        finishing = threading.Thread(target=finish)
        finishing.start()
        assert backend.get_sync(keyspace, 1) == Row(1, "one")
        finishing.join()
        assert backend.get_sync(keyspace, 1) == Row(1, "one")
    finally:
        backend.close()

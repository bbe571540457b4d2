"""L2 on a real Redis: write-through, read-through, and cross-process invalidation latency.

Uses ``SASSI_REDIS_URL`` when set, else starts a private ``redis-server`` on a free loopback port
(the same way ``dev.py`` does); without either the group is skipped.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import anyio

import sassi

from ._harness import Group, Settings, best_of
from ._models import User, make_users
from ._services import service_url

__all__ = ["FLEET_TITLE", "REDIS_TITLE", "bench_fleet", "bench_redis"]

REDIS_TITLE = "L2 on Redis (loopback)"
FLEET_TITLE = "A fleet on Redis: one cold id, 4 processes"
ROOT = Path(__file__).resolve().parent.parent

# The listening process: loads the users into its own pool, then prints one line per
# invalidation it applies: "<id> <monotonic seconds>".
_LISTENER = """
import sys, time, anyio, sassi
from sassi.backends.redis import RedisBackend
from benchmarks._models import make_users, User

url, namespace, n = sys.argv[1], sys.argv[2], int(sys.argv[3])

async def main():
    pool = sassi.Punnu(User, namespace=namespace, backend=RedisBackend(url))
    async with pool.background():
        for user in make_users(n):
            pool._core.commit(((user.id, user),))  # L1 only: the other process owns L2
        with pool.events() as sub:
            print("ready", flush=True)
            seen = 0
            while seen < n:
                event = await sub.receive()
                if isinstance(event, sassi.Invalidated):
                    print(event.id, time.monotonic(), flush=True)
                    seen += 1

anyio.run(main)
"""


# One process of a fleet: waits for "go", runs CALLERS concurrent aget_or_fetch of one cold id
# through a pool over Redis (the "database" is 10 ms and counted in Redis), prints latencies.
_FLEET = """
import json, sys, time, anyio, redis, sassi
from sassi.backends.redis import RedisBackend
from benchmarks._models import make_users, User

url, namespace, lease, callers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
client = redis.Redis.from_url(url)
pool = sassi.Punnu(User, namespace=namespace, backend=RedisBackend(url),
                   fetch_lease=None if lease == "none" else float(lease))
row = make_users(1)[0]

async def fetch(id):
    client.incr("calls:" + namespace)
    await anyio.sleep(0.010)  # the database
    return row

async def main():
    print("ready", flush=True)
    while not client.exists("go:" + namespace):
        await anyio.sleep(0.001)
    latencies = []
    async def caller():
        start = time.monotonic()
        assert await pool.aget_or_fetch(row.id, fetch) == row
        latencies.append(time.monotonic() - start)
    async with anyio.create_task_group() as tg:
        for _ in range(callers):
            tg.start_soon(caller)
    print(json.dumps(latencies), flush=True)

anyio.run(main)
"""


def _fleet_round(url: str, lease: str, processes: int, callers: int) -> tuple[int, list[float]]:
    """Database calls and every caller's latency of one cold fetch by the whole fleet."""
    import json

    import redis

    namespace = f"bench-fleet-{os.getpid()}-{time.monotonic_ns()}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _FLEET, url, namespace, lease, str(callers)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    client = redis.Redis.from_url(url)
    try:
        for child in children:
            assert child.stdout is not None
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError("a fleet process did not start")
        client.set("go:" + namespace, 1)
        latencies: list[float] = []
        for child in children:
            out, _ = child.communicate(timeout=60)
            latencies += json.loads(out.strip().splitlines()[-1])
        return int(client.get("calls:" + namespace) or 0), sorted(latencies)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()
        client.close()


def bench_fleet(settings: Settings) -> Group | None:
    """4 processes x 100 callers on one cold id, with and without the fleet's lease."""
    with _redis_url() as url:
        if url is None:
            print("  fleet: no redis-server (set SASSI_REDIS_URL or install it): skipped")
            return None
        return _fleet_group(url, settings)


def _fleet_group(url: str, settings: Settings) -> Group:
    processes, callers = 4, 100
    rounds = 2 if settings.quick else 5
    group = Group(
        FLEET_TITLE,
        f"{processes} OS processes x {callers} concurrent `aget_or_fetch` callers ask for the "
        "same cold id through pools sharing one local redis-server; the database answers in "
        f"10 ms and counts its calls in Redis. p99 of all {processes * callers} callers' "
        f"latencies, median over {rounds} rounds; the note gives the database calls per round.",
        "fetch_lease=None: p99",
    )
    for label, lease in (("fetch_lease=None", "none"), ("fetch_lease=10 s", "10")):
        results = [_fleet_round(url, lease, processes, callers) for _ in range(rounds)]
        p99s = sorted(lat[max(0, int(len(lat) * 0.99) - 1)] for _, lat in results)
        calls = sorted({c for c, _ in results})
        group.add(
            f"{label}: p99",
            p99s[len(p99s) // 2],
            note=f"database calls per cold id: {', '.join(map(str, calls))}",
        )
    return group


def _redis_url() -> contextlib.AbstractContextManager[str | None]:
    return service_url("SASSI_REDIS_URL", "redis_server", "sassi-bench-redis-")


def _latencies(url: str, namespace: str, n: int) -> list[float]:
    """Seconds from ``invalidate`` in this process to the removal in another process."""
    from sassi.backends.redis import RedisBackend

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    child = subprocess.Popen(
        [sys.executable, "-c", _LISTENER, url, namespace, str(n)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    try:
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("the listening process did not start")
        pool = sassi.Punnu(User, namespace=namespace, backend=RedisBackend(url))
        out = []
        for user in make_users(n):
            start = time.monotonic()
            pool.invalidate(user.id)
            ident, seen_at = child.stdout.readline().split()
            assert int(ident) == user.id
            out.append(float(seen_at) - start)
        return sorted(out)
    finally:
        child.wait(30)


def bench_redis(settings: Settings) -> Group | None:
    """Write-through and read-through per operation against raw redis-py SET/GET, plus the
    p50/p99 latency of a cross-process invalidation."""
    import redis

    from sassi.backends.redis import RedisBackend

    with _redis_url() as url:
        if url is None:
            print("  redis: no redis-server (set SASSI_REDIS_URL or install it): skipped")
            return None
        n = 500 if settings.quick else 2_000
        users = make_users(n)
        namespace = f"bench-{os.getpid()}"
        raw = redis.Redis.from_url(url)
        payload = sassi.wire.dumps(users[0])
        group = Group(
            REDIS_TITLE,
            f"A local redis-server; {n:,} users per run, one round trip per operation (no "
            "pipelining: each call is a separate user request). Time per operation; ratios "
            "against the same number of raw redis-py `SET`/`GET` calls of the same bytes, the "
            "floor any L2 write/read pays. Invalidation latency: from `invalidate(id)` in this "
            "process to the `Invalidated` event in another process listening through "
            "`pool.background()` (monotonic clock shared by both processes).",
            "redis-py SET (raw)",
        )
        group.add(
            "redis-py SET (raw)",
            best_of(lambda: [raw.set(f"raw:{u.id}", payload) for u in users], settings.repeat) / n,
        )
        writer = sassi.Punnu(User, namespace=namespace, backend=RedisBackend(url), capacity=n)
        group.add(
            "sassi insert, write-through",
            best_of(lambda: [writer.insert(u) for u in users], settings.repeat) / n,
            note="L1 + wire encode + Lua SET with key index",
        )
        group.add(
            "redis-py GET (raw)",
            best_of(lambda: [raw.get(f"raw:{u.id}") for u in users], settings.repeat) / n,
            vs="redis-py GET (raw)",
        )

        def read_through() -> None:
            reader = sassi.Punnu(User, namespace=namespace, backend=RedisBackend(url))
            for u in users:
                assert reader.load(u.id) == u

        group.add(
            "sassi load, read-through (L1 miss)",
            best_of(read_through, settings.heavy_repeat) / n,
            note="GET + wire decode + L1 fill",
            vs="redis-py GET (raw)",
        )

        async def fetch_through() -> None:
            reader = sassi.Punnu(User, namespace=namespace, backend=RedisBackend(url))
            for u in users:
                assert await reader.aget_or_fetch(u.id, _never) == u

        group.add(
            "sassi aget_or_fetch, L2 hit (L1 miss)",
            best_of(lambda: anyio.run(fetch_through), settings.heavy_repeat) / n,
            note="L1 miss, single-flight, L2 GET script + decode + L1 fill; no fetcher call",
            vs="redis-py GET (raw)",
        )
        group.add(
            "sassi load, L1 hit",
            best_of(lambda: [writer.load(u.id) for u in users], settings.repeat) / n,
            note="never touches Redis",
            vs="redis-py GET (raw)",
        )
        lat = _latencies(url, namespace, 200 if settings.quick else 1_000)
        p50, p99 = lat[len(lat) // 2], lat[max(0, int(len(lat) * 0.99) - 1)]
        group.add(
            "cross-process invalidation p50",
            p50,
            note="PUBLISH -> listener -> L1 removal",
            vs="cross-process invalidation p50",
        )
        group.add(
            "cross-process invalidation p99",
            p99,
            note=f"goal p99 < 5 ms: {'met' if p99 < 0.005 else 'MISSED'}",
            vs="cross-process invalidation p50",
        )
        writer._tier.backend.invalidate_all_sync(writer._tier.keyspace)  # type: ignore[union-attr]
        raw.delete(*[f"raw:{u.id}" for u in users])
        raw.close()
        return group


async def _never(id: object) -> None:
    raise AssertionError("an L2 hit must not call the fetcher")

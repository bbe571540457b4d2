"""L2 on a real Redis: write-through, read-through, and cross-process invalidation latency.

Uses ``SASSI_REDIS_URL`` when set, else starts a private ``redis-server`` on a free loopback port
(the same way ``dev.py`` does); without either the group is skipped.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import sassi

from ._harness import Group, Settings, best_of
from ._models import User, make_users

__all__ = ["REDIS_TITLE", "bench_redis"]

REDIS_TITLE = "L2 on Redis (loopback)"
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


@contextlib.contextmanager
def _redis_url() -> Iterator[str | None]:
    url = os.environ.get("SASSI_REDIS_URL")
    if url:
        yield url
        return
    sys.path.insert(0, str(ROOT))
    try:
        import dev  # the project's own service starter
    finally:
        sys.path.remove(str(ROOT))
    with (
        tempfile.TemporaryDirectory(prefix="sassi-bench-redis-") as tmp,
        dev.redis_server(Path(tmp)) as env,
    ):
        yield env.get("SASSI_REDIS_URL")


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

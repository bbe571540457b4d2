"""One process of a fleet: ``python fleet_worker.py URL NAMESPACE MODE CALLERS LEASE``.

Waits for ``go:<namespace>`` in Redis, then runs CALLERS concurrent ``aget_or_fetch(1, ...)``
in one pool and prints a JSON line ``{"results": [...], "seconds": ...}``. The "database" is a
Redis counter ``calls:<namespace>`` the fetcher increments, so fetches are counted across
processes. MODE: ``ok`` (slow fetch, returns a value), ``none``, ``raise``, ``hang`` (never
returns: for SIGKILL), ``slow`` (returns after ``release:<namespace>`` appears).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from typing import Any

import anyio
import redis
from redis.cluster import RedisCluster

import sassi
from sassi.backends.redis import RedisBackend


@sassi.cacheable(type_name="fleet.Row")
@dataclass(frozen=True, slots=True)
class Row:
    id: int
    by: str


def connect(url: str) -> Any:
    """A client for the counters: ``redis+cluster://`` means a Redis Cluster."""
    if url.startswith("redis+cluster://"):
        return RedisCluster.from_url("redis://" + url.split("://", 1)[1])
    return redis.Redis.from_url(url)


def main() -> None:
    url, namespace, mode, callers, lease = sys.argv[1:6]
    client = connect(url)
    backend = RedisBackend.from_url(url, socket_timeout=2.0)
    pool = sassi.Punnu(
        Row,
        backend=backend,
        namespace=namespace,
        fetch_lease=None if lease == "none" else float(lease),
    )
    me = f"pid{__import__('os').getpid()}"

    async def fetch(id: int) -> Row | None:
        client.incr(f"calls:{namespace}")
        if mode == "hang":
            await anyio.sleep_forever()
        if mode == "slow":
            while not client.exists(f"release:{namespace}"):  # noqa: ASYNC110 - another process
                await anyio.sleep(0.01)
        else:
            await anyio.sleep(0.3)  # long enough for every caller everywhere to pile up
        if mode == "none":
            return None
        if mode == "raise":
            raise LookupError("database hiccup")
        return Row(id, me)

    async def run() -> None:
        while not client.exists(f"go:{namespace}"):  # noqa: ASYNC110 - another process
            await anyio.sleep(0.005)
        started = time.monotonic()
        results: list[object] = []

        async def caller() -> None:
            try:
                value = await pool.aget_or_fetch(1, fetch)
                results.append(None if value is None else value.by)
            except LookupError as exc:
                results.append(f"error: {exc}")

        async with anyio.create_task_group() as tg:
            for _ in range(int(callers)):
                tg.start_soon(caller)
        line = {"results": results, "seconds": time.monotonic() - started, "pid": me}
        print(json.dumps(line), flush=True)
        await backend.aclose()

    anyio.run(run)


if __name__ == "__main__":
    main()

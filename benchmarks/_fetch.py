"""Single-flight fetching against ``async_lru.alru_cache`` (asyncio)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from async_lru import alru_cache

import sassi

from ._harness import Group, Settings
from ._models import User, make_users

__all__ = ["bench_fetch"]

FETCH_TITLE = "single-flight fetch (asyncio)"


async def _best(
    make: Callable[[], Awaitable[object]], repeat: int, *, warmup: bool = True
) -> float:
    """Fastest of ``repeat`` awaited runs (after one warm-up unless told not to), in seconds."""
    if warmup:
        await make()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        await make()
        best = min(best, time.perf_counter() - start)
    return best


async def _run(group: Group, settings: Settings) -> None:
    user = make_users(1)[0]
    waiters = settings.waiters
    calls = {"sassi": 0, "alru": 0}

    async def fetch_user(ident: int) -> User:
        calls["sassi"] += 1
        await asyncio.sleep(0)
        return user

    async def cold_sassi() -> None:
        pool: sassi.Punnu[User] = sassi.Punnu(User, capacity=16)
        results = await asyncio.gather(
            *(pool.aget_or_fetch(user.id, fetch_user) for _ in range(waiters))
        )
        assert all(r is user for r in results)

    async def cold_alru() -> None:
        @alru_cache(maxsize=16)
        async def load(ident: int) -> User:
            calls["alru"] += 1
            await asyncio.sleep(0)
            return user

        results = await asyncio.gather(*(load(user.id) for _ in range(waiters)))
        assert all(r is user for r in results)

    cold_alru_best = cold_sassi_best = float("inf")
    await cold_alru()
    await cold_sassi()
    for _ in range(settings.heavy_repeat):  # round-robin, like race()
        cold_alru_best = min(cold_alru_best, await _best(cold_alru, 1, warmup=False))
        cold_sassi_best = min(cold_sassi_best, await _best(cold_sassi, 1, warmup=False))
    group.add(
        f"async-lru: {waiters:,} waiters, cold",
        cold_alru_best / waiters,
        note="per waiter; gather() of fresh coroutines",
    )
    group.add(
        f"sassi aget_or_fetch: {waiters:,} waiters, cold",
        cold_sassi_best / waiters,
        note="per waiter; one fetch shared by all",
    )
    runs = settings.heavy_repeat + 1
    assert calls == {"sassi": runs, "alru": runs}, calls  # one fetch per run, for both

    hits = 50_000
    pool: sassi.Punnu[User] = sassi.Punnu(User, capacity=16)
    pool.insert(user)

    @alru_cache(maxsize=16)
    async def load(ident: int) -> User:
        return user

    await load(user.id)

    async def hit_alru() -> None:
        for _ in range(hits):
            await load(0)

    async def hit_sassi() -> None:
        aget = pool.aget_or_fetch
        for _ in range(hits):
            await aget(0, fetch_user)

    async def hit_get() -> None:
        get = pool.get
        for _ in range(hits):
            get(0)

    group.add("async-lru: hit", await _best(hit_alru, settings.repeat) / hits)
    group.add(
        "sassi aget_or_fetch: hit",
        await _best(hit_sassi, settings.repeat) / hits,
        vs="async-lru: hit",
    )
    group.add(
        "sassi get (sync, for scale)",
        await _best(hit_get, settings.repeat) / hits,
        note="no await",
        vs="async-lru: hit",
    )


def bench_fetch(settings: Settings) -> Group:
    """A cold read by many concurrent waiters, then the hit path, under asyncio."""
    group = Group(
        FETCH_TITLE,
        f"Cold: {settings.waiters:,} concurrent callers ask for one missing id; the fetcher "
        "yields once and returns; both libraries must run it once. Hit: 50,000 sequential "
        "awaits of a cached id. Time per waiter / per call; ratios against async-lru.",
        baseline=f"async-lru: {settings.waiters:,} waiters, cold",
    )
    if not hasattr(sassi.Punnu, "aget_or_fetch"):
        group.description += " (Punnu.aget_or_fetch is not available in this build: skipped.)"
        return group
    asyncio.run(_run(group, settings))
    return group

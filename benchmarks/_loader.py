"""Batched loading: ``pool.loader`` against ``aget_or_fetch`` per id and aiodataloader (asyncio)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import sassi

from ._harness import Group, Settings
from ._models import User, make_users

__all__ = ["LOADER_TITLE", "bench_loader"]

LOADER_TITLE = "batched loading: 1,000 concurrent loads of cold ids (asyncio)"
N = 1_000
LATENCY = 0.001  # every fetcher call, batched or not, costs one 1 ms round trip

try:
    from aiodataloader import DataLoader

    HAVE_AIODATALOADER = True
except ImportError:  # pragma: no cover - the bench extra installs it
    HAVE_AIODATALOADER = False


async def _round(
    contenders: dict[str, Callable[[], Awaitable[None]]], best: dict[str, float]
) -> None:
    for name, run in contenders.items():  # round-robin: noise hits every contender alike
        start = time.perf_counter()
        await run()
        best[name] = min(best.get(name, float("inf")), time.perf_counter() - start)


async def _run(group: Group, settings: Settings) -> None:
    rows = {u.id: u for u in make_users(N)}
    calls: Counter[str] = Counter()

    async def fetch_one(ident: int) -> User:
        calls["aget_or_fetch"] += 1
        await asyncio.sleep(LATENCY)
        return rows[ident]

    def batch_fn(name: str) -> Callable[[list[int]], Coroutine[Any, Any, list[User]]]:
        async def fetch_batch(ids: list[int]) -> list[User]:
            calls[name] += 1
            await asyncio.sleep(LATENCY)
            return [rows[i] for i in ids]

        return fetch_batch

    loader_batch, many_batch, aio_batch = batch_fn("loader"), batch_fn("many"), batch_fn("aio")
    ids = list(range(N))

    async def sassi_loader() -> None:
        pool: sassi.Punnu[User] = sassi.Punnu(User, capacity=2 * N)
        loader = pool.loader(loader_batch)

        async def resolve(ident: int) -> User | None:  # a GraphQL resolver, say
            return await loader.load(ident)

        got = await asyncio.gather(*(resolve(i) for i in ids))
        assert got[-1] is rows[N - 1]

    async def sassi_fetch() -> None:
        pool: sassi.Punnu[User] = sassi.Punnu(User, capacity=2 * N)

        async def resolve(ident: int) -> User | None:
            return await pool.aget_or_fetch(ident, fetch_one)

        got = await asyncio.gather(*(resolve(i) for i in ids))
        assert got[-1] is rows[N - 1]

    async def sassi_many() -> None:
        pool: sassi.Punnu[User] = sassi.Punnu(User, capacity=2 * N)
        got = await pool.aget_or_fetch_many(ids, many_batch)
        assert len(got) == N

    async def aiodataloader() -> None:
        loader: DataLoader[int, User] = DataLoader(aio_batch)

        async def resolve(ident: int) -> User:
            row: User = await loader.load(ident)
            return row

        got = await asyncio.gather(*(resolve(i) for i in ids))
        assert got[-1] is rows[N - 1]

    contenders: dict[str, Callable[[], Awaitable[None]]] = {
        "sassi loader.load": sassi_loader,
        "sassi aget_or_fetch, one per id": sassi_fetch,
        "sassi aget_or_fetch_many (one call)": sassi_many,
    }
    if HAVE_AIODATALOADER:
        contenders["aiodataloader DataLoader.load"] = aiodataloader
    rounds = settings.repeat + 1  # the first round also warms up
    best: dict[str, float] = {}
    for _ in range(rounds):
        await _round(contenders, best)
    per_run = {name: count / rounds for name, count in calls.items()}
    expected = {"loader": 1, "aget_or_fetch": N, "many": 1}
    if HAVE_AIODATALOADER:
        expected["aio"] = 1
    assert per_run == expected, per_run  # every run made exactly these fetcher calls
    notes = {
        "sassi loader.load": "1 fetcher call per burst",
        "sassi aget_or_fetch, one per id": f"{N:,} fetcher calls per burst",
        "sassi aget_or_fetch_many (one call)": "for scale: one caller, one call",
        "aiodataloader DataLoader.load": "1 fetcher call per burst",
    }
    for name in contenders:
        group.add(name, best[name], note=notes[name])


def bench_loader(settings: Settings) -> Group:
    """1,000 concurrent loads of different cold ids, with a 1 ms fetcher round trip."""
    baseline = "aiodataloader DataLoader.load" if HAVE_AIODATALOADER else "sassi loader.load"
    group = Group(
        LOADER_TITLE,
        f"{N:,} resolver tasks started together (asyncio.gather of `async def resolve(id): "
        "return await loader.load(id)`) each ask for a different cold id; every "
        f"fetcher call sleeps {LATENCY * 1000:g} ms (the database round trip). Time per burst "
        "of 1,000 loads, fresh pool and loader each run; ratios against "
        + (
            "aiodataloader."
            if HAVE_AIODATALOADER
            else "sassi's loader (aiodataloader is not installed: pip install 'sassi[bench]')."
        ),
        baseline=baseline,
    )
    asyncio.run(_run(group, settings))
    return group

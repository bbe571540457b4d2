"""Key-value paths: ``get`` hits and ``insert`` throughput against plain and LRU caches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cachebox
import cachetools
import theine

import sassi

from ._harness import Group, Settings, race
from ._models import User, shuffled_ids, users

__all__ = ["bench_get", "bench_insert"]

GET_TITLE = "get hit, 100k residents"
INSERT_TITLE = "insert into an empty container"


def _sassi_pool(rows: list[User], **options: Any) -> sassi.Punnu[User]:
    pool: sassi.Punnu[User] = sassi.Punnu(User, capacity=len(rows), **options)
    pool.apply_delta(sassi.Delta(items=rows))
    return pool


def _loop(get: Callable[[int], object], keys: list[int]) -> Callable[[], None]:
    def run() -> None:
        for key in keys:
            get(key)

    return run


def bench_get(settings: Settings) -> Group:
    """Read every resident once, in shuffled order, through each library's ``get``."""
    n = settings.get_entries
    rows = users(n)
    keys = shuffled_ids(n)[: settings.get_reads]
    group = Group(
        GET_TITLE,
        f"{n:,} resident entries; {len(keys):,} distinct ones read per run in a shuffled "
        "order, through the "
        "library's bound `get` method in the same `for key in keys: get(key)` loop (the loop "
        "costs the same for everyone and is included). Time per read; ratio against `dict.get`.",
        baseline="dict.get",
    )
    plain = {u.id: u for u in rows}
    lru_cb: Any = cachebox.LRUCache(n)
    lru_ct: Any = cachetools.LRUCache(n)
    ttl_ct: Any = cachetools.TTLCache(n, ttl=3600)
    th: Any = theine.Cache(n)
    for u in rows:
        lru_cb[u.id] = u
        lru_ct[u.id] = u
        ttl_ct[u.id] = u
        th.set(u.id, u)
    pool = _sassi_pool(rows)
    pool_ttl = _sassi_pool(rows, ttl=3600.0)
    assert pool.get(keys[0]) is plain[keys[0]]
    contenders: list[tuple[str, Callable[[int], object], str]] = [
        ("dict.get", plain.get, ""),
        ("sassi Punnu.get", pool.get, "no TTL"),
        ("sassi Punnu.get (ttl)", pool_ttl.get, "every entry has a deadline"),
        ("cachebox.LRUCache.get", lru_cb.get, "Rust"),
        ("cachetools.LRUCache.get", lru_ct.get, ""),
        ("cachetools.TTLCache.get", ttl_ct.get, ""),
        ("theine Cache.get", th.get, "returns (value, found)"),
    ]
    timings = race([(name, _loop(get, keys)) for name, get, _ in contenders], settings.repeat)
    for name, _, note in contenders:
        group.add(name, timings[name] / len(keys), note=note)
    return group


def bench_insert(settings: Settings) -> Group:
    """Fill an empty container (capacity = n, so nothing is evicted) with n entries."""
    n = settings.insert_entries
    rows = users(n)
    group = Group(
        INSERT_TITLE,
        f"Build an empty container with capacity {n:,} and insert {n:,} entries (no evictions); "
        f"the last rows use a capacity of {max(1, n // 10):,}, so 90% of the inserts evict. "
        "Time per insert, container creation included; ratio against `dict[k] = v`.",
        baseline="dict[k] = v",
    )

    def fill(make: Callable[[], Any], setter: Callable[[Any], Callable[[int, User], object]]):
        def run() -> None:
            target = make()
            put = setter(target)
            for u in rows:
                put(u.id, u)

        return run

    def pool_fill(capacity: int = n, **options: Any) -> Callable[[], None]:
        def run() -> None:
            pool: sassi.Punnu[User] = sassi.Punnu(User, capacity=capacity, **options)
            insert = pool.insert
            for u in rows:
                insert(u)

        return run

    small = max(1, n // 10)

    def delta_fill() -> None:
        pool: sassi.Punnu[User] = sassi.Punnu(User, capacity=n)
        pool.apply_delta(sassi.Delta(items=rows))

    contenders: list[tuple[str, Callable[[], None], str]] = [
        ("dict[k] = v", fill(dict, lambda d: d.__setitem__), ""),
        ("sassi Punnu.insert", pool_fill(), "events + LRU stamp + write lock"),
        ("sassi Punnu.apply_delta, one batch", delta_fill, "all n items in one commit"),
        ("sassi Punnu.insert (ttl)", pool_fill(ttl=3600.0), "plus a deadline heap push"),
        (
            "sassi Punnu.insert (2 indexes)",
            pool_fill(indexes=("age", "email")),
            "hash upkeep (ordered part: on first range query)",
        ),
        (
            "cachebox.LRUCache[k] = v",
            fill(lambda: cachebox.LRUCache(n), lambda c: c.__setitem__),
            "Rust",
        ),
        (
            "cachetools.LRUCache[k] = v",
            fill(lambda: cachetools.LRUCache(n), lambda c: c.__setitem__),
            "",
        ),
        (
            "cachetools.TTLCache[k] = v",
            fill(lambda: cachetools.TTLCache(n, ttl=3600), lambda c: c.__setitem__),
            "",
        ),
        ("theine Cache.set", fill(lambda: theine.Cache(n), lambda c: c.set), ""),
        (
            "sassi Punnu.insert, evicting",
            pool_fill(capacity=small),
            f"capacity {small:,}: sampled LRU; events only for a subscriber",
        ),
        (
            "cachebox.LRUCache[k] = v, evicting",
            fill(lambda: cachebox.LRUCache(small), lambda c: c.__setitem__),
            f"capacity {small:,}",
        ),
        (
            "cachetools.LRUCache[k] = v, evicting",
            fill(lambda: cachetools.LRUCache(small), lambda c: c.__setitem__),
            f"capacity {small:,}",
        ),
    ]
    timings = race([(name, run) for name, run, _ in contenders], settings.heavy_repeat)
    for name, _, note in contenders:
        group.add(name, timings[name] / n, note=note)
    return group

"""Memory per resident entry, measured with ``tracemalloc`` (objects included)."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable

import cachetools

import sassi

from ._harness import Group, Settings
from ._models import User, make_users

__all__ = ["bench_memory"]

MEMORY_TITLE = "memory per resident entry"


def _traced(build: Callable[[], object], n: int) -> float:
    """Bytes still allocated after ``build()`` (which creates the objects too), per entry."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        keep = build()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del keep
    return (after - before) / n


def bench_memory(settings: Settings) -> Group:
    """Objects + container, per entry: a list, a dict, cachetools, and sassi pools."""
    n = settings.memory_entries
    group = Group(
        MEMORY_TITLE,
        f"`tracemalloc` bytes still allocated after building {n:,} `User` objects and storing "
        "them, divided by the entry count; the objects themselves are included in every row. "
        "Ratio against a `dict` keyed by id (one dict slot + the object). cachebox and theine "
        "allocate in Rust/C outside `tracemalloc`'s view, so they are not listed.",
        baseline="dict {id: obj}",
    )

    def objects_only() -> object:
        return make_users(n)

    def plain_dict() -> object:
        return {u.id: u for u in make_users(n)}

    def lru() -> object:
        cache: cachetools.LRUCache[int, User] = cachetools.LRUCache(n)
        for u in make_users(n):
            cache[u.id] = u
        return cache

    def ttl() -> object:
        cache: cachetools.TTLCache[int, User] = cachetools.TTLCache(n, ttl=3600)
        for u in make_users(n):
            cache[u.id] = u
        return cache

    def pool(**options: object) -> Callable[[], object]:
        def build() -> object:
            p: sassi.Punnu[User] = sassi.Punnu(User, capacity=n, **options)  # type: ignore[arg-type]
            for u in make_users(n):
                p.insert(u)
            return p

        return build

    contenders: list[tuple[str, Callable[[], object], str]] = [
        ("list of objects", objects_only, "the objects alone"),
        ("dict {id: obj}", plain_dict, ""),
        ("cachetools.LRUCache", lru, ""),
        ("cachetools.TTLCache", ttl, ""),
        ("sassi Punnu", pool(), "no TTL"),
        ("sassi Punnu (ttl)", pool(ttl=3600.0), "deadline + heap row"),
        (
            "sassi Punnu (2 indexes)",
            pool(indexes=("age", "email")),
            "hash parts only: no range query ran",
        ),
    ]
    for name, build, note in contenders:
        group.add(name, _traced(build, n), unit="B", note=note)
    return group

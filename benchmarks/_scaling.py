"""How the cost per operation moves with the pool's size: 10k, 100k and (``--scale-1m``) 1M.

Each size builds its own pool from the shared population (grown on demand) and measures, per
operation or per resident: ``get`` (shuffled reads of every resident), ``insert`` (filling an
empty pool), ``apply_delta`` (one batch into an empty pool), the 3-term scan, an indexed
two-field query on a composite index (per candidate), ``snapshot`` + ``restore`` (per entry),
and ``tracemalloc`` bytes per entry. A flat line is what "costs in proportion" means.
"""

from __future__ import annotations

import gc
import random
import tracemalloc
from collections.abc import Callable

import cachetools

import sassi

from ._harness import Group, Settings, race
from ._models import User, users
from ._query import handwritten, three_terms

__all__ = ["METRICS", "REFERENCES", "SCALING_TITLE", "bench_scaling", "label", "sizes"]

SCALING_TITLE = "scaling: cost per operation at 10k, 100k, 1M residents"

F = sassi.fields(User)

#: metric name -> (what a figure is per, unit)
METRICS: dict[str, tuple[str, str]] = {
    "get": ("read", "s"),
    "insert": ("insert", "s"),
    "apply_delta": ("item", "s"),
    "scan (3 terms)": ("resident", "s"),
    "indexed query (composite)": ("candidate", "s"),
    "snapshot": ("entry", "s"),
    "restore": ("entry", "s"),
    "memory": ("entry", "B"),
    # references, drawn in the panel of the metric they compare with (REFERENCES)
    "dict.get": ("read", "s"),
    "cachetools LRUCache[k] = v": ("item", "s"),
}

#: reference metric -> the sassi metric whose panel shows it
REFERENCES: dict[str, str] = {"dict.get": "get", "cachetools LRUCache[k] = v": "apply_delta"}


def sizes(settings: Settings) -> list[int]:
    """The pool sizes of this run."""
    return [10_000, 100_000, 1_000_000] if settings.scale_1m else [10_000, 100_000]


def label(metric: str, n: int) -> str:
    """The result name of ``metric`` at size ``n`` (``"get @ 100k"``)."""
    shown = f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"
    return f"{metric} @ {shown}"


def _pool(rows: list[User], **options: object) -> sassi.Punnu[User]:
    pool: sassi.Punnu[User] = sassi.Punnu(User, capacity=len(rows), **options)  # type: ignore[arg-type]
    pool.apply_delta(sassi.Delta(items=rows))
    return pool


def _bytes_per_entry(rows: list[User]) -> float:
    """``tracemalloc`` bytes a pool holding ``rows`` adds (the rows themselves excluded)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        pool = _pool(rows)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del pool
    return (after - before) / len(rows)


def _measure(n: int, settings: Settings, group: Group) -> None:
    rows = users(n)
    keys = [u.id for u in rows]
    random.Random(5).shuffle(keys)
    reads = keys[: min(n, 200_000)]
    pool = _pool(rows)
    indexed = _pool(rows, indexes=(("org", "age"),))
    get = pool.get
    # ~1% of the rows: org == 3 (5%) and age in a 16-value band (~18%)
    query = (F.org == 3) & F.age.between(40, 55)
    scope = indexed.scope(query)
    assert scope.explain().startswith("index ('org', 'age')"), scope.explain()
    candidates = len(scope.collect())
    predicate = three_terms()
    scan_scope = pool.scope(predicate)
    assert len(scan_scope.collect()) == len(handwritten(rows))
    data = pool.snapshot()
    target: sassi.Punnu[User] = sassi.Punnu(User, capacity=n)

    def reads_run() -> None:
        for key in reads:
            get(key)

    def insert_run() -> None:
        fresh: sassi.Punnu[User] = sassi.Punnu(User, capacity=n)
        insert = fresh.insert
        for u in rows:
            insert(u)

    def delta_run() -> None:
        fresh: sassi.Punnu[User] = sassi.Punnu(User, capacity=n)
        fresh.apply_delta(sassi.Delta(items=rows))

    def lru_run() -> None:
        cache: cachetools.LRUCache[int, User] = cachetools.LRUCache(n)
        put = cache.__setitem__
        for u in rows:
            put(u.id, u)

    plain = {u.id: u for u in rows}
    plain_get = plain.get

    def dict_reads() -> None:
        for key in reads:
            plain_get(key)

    heavy: list[tuple[str, Callable[[], object], int]] = [
        ("insert", insert_run, n),
        ("apply_delta", delta_run, n),
        ("cachetools LRUCache[k] = v", lru_run, n),
        ("snapshot", pool.snapshot, n),
        ("restore", lambda: target.restore(data), n),
    ]
    light: list[tuple[str, Callable[[], object], int]] = [
        ("get", reads_run, len(reads)),
        ("dict.get", dict_reads, len(reads)),
        ("scan (3 terms)", scan_scope.collect, n),
        ("indexed query (composite)", scope.collect, max(candidates, 1)),
    ]
    rounds = settings.heavy_repeat if n >= 1_000_000 else settings.repeat
    for batch, repeat in ((heavy, settings.heavy_repeat), (light, rounds)):
        timings = race([(name, fn) for name, fn, _ in batch], repeat)
        for name, _, count in batch:
            per, unit = METRICS[name]
            note = f"per {per}" + (f"; {candidates:,} candidates" if "indexed" in name else "")
            group.add(label(name, n), timings[name] / count, unit, note=note)
    group.add(label("memory", n), _bytes_per_entry(rows), "B", note="per entry, pool only")


def bench_scaling(settings: Settings) -> Group:
    """Every metric at each size; ratios against the smallest size of the same metric."""
    chosen = sizes(settings)
    group = Group(
        SCALING_TITLE,
        "The same workloads at "
        + ", ".join(f"{n:,}" for n in chosen)
        + " residents (1M with `--scale-1m`): `get` of shuffled ids, `insert` into an empty "
        "pool, one `apply_delta` batch into an empty pool, the 3-term scan, "
        '`(F.org == 3) & F.age.between(40, 55)` on a composite index `("org", "age")` (per '
        "candidate: about 1% of the rows), `snapshot()` and `restore()` (per entry), and "
        "`tracemalloc` bytes per entry held by the pool (the rows excluded). Ratio: against the "
        "same metric at the smallest size (1.00x = flat).",
        baseline=label("get", chosen[0]),
    )
    for n in chosen:
        _measure(n, settings, group)
    # each row compares with its own metric at the smallest size
    first = chosen[0]
    group.results[:] = [
        type(r)(r.name, r.value, r.unit, r.note, label(r.name.split(" @ ")[0], first))
        for r in group.results
    ]
    return group

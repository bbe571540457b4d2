"""Predicate queries: a 3-term scan, and selective queries answered by secondary indexes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tinydb import Query, TinyDB
from tinydb.storages import MemoryStorage

import sassi
from sassi import _index
from sassi.predicate._codegen import compile_scan

from ._harness import Group, Settings, best_of, race
from ._models import User
from ._models import users as shared_users

__all__ = ["bench_index", "bench_scan"]

SCAN_TITLE = "3-term scan, 100k residents"
INDEX_TITLE = "selective query, 200k residents"

F = sassi.fields(User)


def three_terms() -> sassi.Predicate:
    """``age >= 18 and org in (7, 9) and name startswith "a"`` (about 5% of rows match)."""
    return (F.age >= 18) & F.org.in_([7, 9]) & F.name.startswith("a")


def handwritten(users: list[User]) -> list[User]:
    """The list comprehension a user would write by hand, with the same ``None`` handling."""
    orgs = {7, 9}
    return [
        u
        for u in users
        if u.age is not None
        and u.age >= 18
        and u.org in orgs
        and u.name is not None
        and u.name.startswith("a")
    ]


def bench_scan(settings: Settings) -> Group:
    """One 3-term predicate over every resident: sassi scope, generated scan, hand code, TinyDB."""
    n = settings.scan_entries
    users = shared_users(n)
    predicate = three_terms()
    group = Group(
        SCAN_TITLE,
        f'`(F.age >= 18) & F.org.in_([7, 9]) & F.name.startswith("a")` over {n:,} slotted '
        "frozen dataclasses. Time per row visited; ratio against the handwritten list "
        "comprehension. The scope figure includes taking the snapshot of the pool.",
        baseline="handwritten list comprehension",
    )
    pool: sassi.Punnu[User] = sassi.Punnu(User, capacity=n)
    pool.apply_delta(sassi.Delta(items=users))
    scan = compile_scan(predicate)
    evaluator = predicate.compile()
    expected = sorted(u.id for u in handwritten(users))
    assert sorted(u.id for u in scan(users)) == expected
    assert sorted(u.id for u in pool.scope(predicate).collect()) == expected
    scope = pool.scope(predicate)
    contenders: list[tuple[str, Callable[[], object], str]] = [
        ("handwritten list comprehension", lambda: handwritten(users), ""),
        ("sassi compile_scan(pred)(rows)", lambda: scan(users), "generated code"),
        ("sassi pool.scope(pred).collect()", scope.collect, "snapshot + generated scan"),
        (
            "sassi [u for u in rows if pred(u)]",
            lambda: [u for u in users if evaluator(u)],
            "one compiled call per row",
        ),
    ]
    timings = race([(name, run) for name, run, _ in contenders], settings.repeat)
    for name, _, note in contenders:
        group.add(name, timings[name] / n, note=note)

    m = min(settings.tinydb_entries, n)
    db = TinyDB(storage=MemoryStorage)
    table = db.table("users", cache_size=0)
    table.insert_multiple(
        {"id": u.id, "name": u.name, "age": u.age, "org": u.org, "email": u.email}
        for u in users[:m]
    )
    q = Query()
    tiny_query = (
        (q.age.test(lambda a: a is not None and a >= 18))
        & q.org.one_of([7, 9])
        & q.name.test(lambda s: s.startswith("a"))
    )
    assert sorted(d["id"] for d in table.search(tiny_query)) == sorted(
        u.id for u in handwritten(users[:m])
    )
    group.add(
        "TinyDB table.search (MemoryStorage)",
        best_of(lambda: table.search(tiny_query), max(2, settings.repeat // 3)) / m,
        note=f"measured on the first {m:,} rows (too slow for all), per row",
    )
    return group


def bench_index(settings: Settings) -> Group:
    """Selective lookups on a pool with secondary indexes vs the same pool without."""
    n = settings.index_entries
    users = shared_users(n)
    group = Group(
        INDEX_TITLE,
        f"{n:,} residents; the same queries through `scope(...).collect()` on a pool built with "
        '`indexes=("email", "score", "org", "age")` and on one without. Time per query; the goal is '
        "stated as speed-up (scan time / indexed time). Then SPEC 11.10: `F.id == k` on the pool "
        "without indexes (the pool's map; its scan reference is forced with "
        "`scope().skip(0).where(...)`), and two-field queries on a pool with the composite index "
        '`("org", "age")`, each also against a handwritten list comprehension over exactly its '
        "candidates (a prebuilt list, in pool order). The last rows force the index on broader "
        "ranges to show where the planner's 2% selectivity limit comes from.",
        baseline="scan: email == x",
    )
    plain: sassi.Punnu[User] = sassi.Punnu(User, capacity=n)
    indexed: sassi.Punnu[User] = sassi.Punnu(
        User, capacity=n, indexes=("email", "score", "org", "age")
    )
    plain.apply_delta(sassi.Delta(items=users))
    indexed.apply_delta(sassi.Delta(items=users))
    target = users[n // 3]
    queries: list[tuple[str, Any]] = [
        ("email == x", F.email == target.email),
        ("email in (3 values)", F.email.in_([users[1].email, users[77].email, "nobody"])),
        ("score between (narrow)", F.score.between(target.score, target.score + 0.05)),
        (
            "email == x & age >= 18",
            (F.email == target.email) & (F.age >= 18),
        ),
        ("org == 3 & age == 30 (two indexes intersected)", (F.org == 3) & (F.age == 30)),
    ]
    for label, predicate in queries:
        want = sorted(u.id for u in plain.scope(predicate).collect())
        got = sorted(u.id for u in indexed.scope(predicate).collect())
        assert got == want, (label, got, want)
        scan_scope = plain.scope(predicate)
        index_scope = indexed.scope(predicate)

        def hundred(scope: sassi.Scope[User] = index_scope) -> None:
            for _ in range(100):
                scope.collect()

        timings = race(
            [("scan", scan_scope.collect), ("indexed", hundred)], settings.heavy_repeat + 1
        )
        slow, fast = timings["scan"], timings["indexed"] / 100
        group.add(f"scan: {label}", slow, vs=f"scan: {label}")
        group.add(
            f"indexed: {label}",
            fast,
            note=f"{len(want)} match(es); {slow / fast:,.0f}x faster",
            vs=f"scan: {label}",
        )

    _round_two(settings, group, plain, users)

    # Where the planner's selectivity limit comes from: ranges matching 1% and 5% of the rows,
    # answered through the index on purpose (the planner would scan at 5%).
    indexed._core.indexes.selectivity_limit = 1.0
    try:
        for percent in (1, 5):
            predicate = F.score < 10.0 * percent
            label = f"score < x ({percent}% of rows, index forced)"
            timings = race(
                [
                    ("scan", plain.scope(predicate).collect),
                    ("indexed", indexed.scope(predicate).collect),
                ],
                settings.heavy_repeat + 1,
            )
            slow, fast = timings["scan"], timings["indexed"]
            group.add(f"scan: {label}", slow, vs=f"scan: {label}")
            verdict = f"{slow / fast:.1f}x faster" if fast < slow else f"{fast / slow:.1f}x slower"
            group.add(f"indexed: {label}", fast, note=verdict, vs=f"scan: {label}")
    finally:
        indexed._core.indexes.selectivity_limit = _index.SELECTIVITY_LIMIT
    return group


def _round_two(
    settings: Settings, group: Group, plain: sassi.Punnu[User], users: list[User]
) -> None:
    """SPEC 11.10 rows: id terms from the map, composite indexes, cost per candidate."""
    n = len(users)
    composite: sassi.Punnu[User] = sassi.Punnu(User, capacity=n, indexes=(("org", "age"),))
    composite.apply_delta(sassi.Delta(items=users))
    target = users[n // 3]
    id_query = F.id == target.id
    assert plain.scope(id_query).explain().startswith("id field 'id'")
    id_scan = plain.scope().skip(0).where(id_query)
    id_scope = plain.scope(id_query)
    assert id_scan.collect() == id_scope.collect() == [target]

    def thousand(scope: sassi.Scope[User] = id_scope) -> None:
        for _ in range(1000):
            scope.collect()

    timings = race([("scan", id_scan.collect), ("id", thousand)], settings.heavy_repeat + 1)
    slow, fast = timings["scan"], timings["id"] / 1000
    group.add("scan: id == x", slow, vs="scan: id == x", note="forced: skip(0) first")
    group.add(
        "indexed: id == x (the pool's map, no index)",
        fast,
        note=f"{slow / fast:,.0f}x faster",
        vs="scan: id == x",
    )

    for label, predicate, check in (
        ("org == 3 & age == 30", (F.org == 3) & (F.age == 30), _eq30),
        ("org == 3 & age between 40 and 55", (F.org == 3) & F.age.between(40, 55), _band),
    ):
        scope = composite.scope(predicate)
        assert scope.explain().startswith("index ('org', 'age')"), scope.explain()
        scan_scope = plain.scope(predicate)
        got = scope.collect()
        assert got == scan_scope.collect()
        candidates = [u for u in composite.scope().collect() if check(u)]  # pool order
        assert candidates == got

        def by_hand(rows: list[User] = candidates, test: Any = check) -> list[User]:
            return [u for u in rows if test(u)]

        def hundred(s: sassi.Scope[User] = scope) -> None:
            for _ in range(100):
                s.collect()

        def hundred_by_hand(fn: Any = by_hand) -> None:
            for _ in range(100):
                fn()

        timings = race(
            [("scan", scan_scope.collect), ("indexed", hundred), ("hand", hundred_by_hand)],
            settings.heavy_repeat + 1,
        )
        slow, fast, hand = timings["scan"], timings["indexed"] / 100, timings["hand"] / 100
        group.add(f"scan: {label}", slow, vs=f"scan: {label}")
        group.add(
            f"indexed: {label} (composite)",
            fast,
            note=f"{len(got)} matches; {slow / fast:,.0f}x faster; "
            f"{fast / hand:.2f}x the handwritten comprehension",
            vs=f"scan: {label}",
        )
        group.add(
            f"handwritten over its candidates: {label}",
            hand,
            vs=f"scan: {label}",
            note=f"{len(candidates)} candidates, prebuilt",
        )


def _eq30(u: User) -> bool:
    return u.org == 3 and u.age is not None and u.age == 30


def _band(u: User) -> bool:
    return u.org == 3 and u.age is not None and 40 <= u.age <= 55

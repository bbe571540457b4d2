"""``python -m benchmarks --profile NAME``: a pyinstrument profile of one sassi hot path.

The same workloads the tables time, run long enough to sample, so a finding in
``docs/benchmarks.md`` can be reproduced (and re-checked after a change) in one command.
"""

from __future__ import annotations

from collections.abc import Callable

import sassi

from ._models import User, shuffled_ids, users

__all__ = ["PROFILES", "profile"]


def _get() -> None:
    rows = users(100_000)
    pool: sassi.Punnu[User] = sassi.Punnu(User, capacity=len(rows))
    pool.apply_delta(sassi.Delta(items=rows))
    get = pool.get
    keys = shuffled_ids(len(rows))
    for _ in range(10):
        for key in keys:
            get(key)


def _insert() -> None:
    rows = users(100_000)
    for capacity in (len(rows), len(rows) // 10):
        pool: sassi.Punnu[User] = sassi.Punnu(User, capacity=capacity)
        for row in rows:
            pool.insert(row)


def _scan() -> None:
    from ._query import three_terms

    rows = users(100_000)
    pool: sassi.Punnu[User] = sassi.Punnu(User, capacity=len(rows))
    pool.apply_delta(sassi.Delta(items=rows))
    scope = pool.scope(three_terms())
    for _ in range(50):
        scope.collect()


def _index() -> None:
    rows = users(200_000)
    pool: sassi.Punnu[User] = sassi.Punnu(User, capacity=len(rows), indexes=("email", "score"))
    pool.apply_delta(sassi.Delta(items=rows))
    F = sassi.fields(User)
    equal = pool.scope(F.email == rows[777].email)
    ranged = pool.scope(F.score.between(100.0, 101.0))
    for _ in range(20_000):
        equal.collect()
    for _ in range(200):
        ranged.collect()


PROFILES: dict[str, Callable[[], None]] = {
    "get": _get,
    "insert": _insert,
    "scan": _scan,
    "index": _index,
}


def profile(name: str) -> str:
    """Run one workload under pyinstrument and return the text report.

    :param name: a key of :data:`PROFILES`.
    :returns: pyinstrument's text output.
    :raises KeyError: for an unknown name.
    """
    from pyinstrument import Profiler

    workload = PROFILES[name]
    profiler = Profiler(interval=0.0005)
    profiler.start()
    try:
        workload()
    finally:
        profiler.stop()
    return str(profiler.output_text(unicode=False, color=False))

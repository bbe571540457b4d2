"""The model and data every benchmark shares (deterministic: a fixed seed)."""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["User", "make_users", "shuffled_ids", "users"]


@dataclass(frozen=True, slots=True)
class User:
    """A typical cached row: an id, a few scalars and strings."""

    id: int
    name: str
    age: int | None
    org: int
    email: str
    score: float


_SYLLABLES = ("al", "be", "ca", "do", "el", "fi", "ga", "ha", "io", "ju", "ka", "lu")


def make_users(n: int, seed: int = 7) -> list[User]:
    """``n`` users with ids ``0..n-1``; ~5% have no age, names start with varied letters."""
    rng = random.Random(seed)
    rand = rng.random
    parts = [rng.choices(_SYLLABLES, k=n) for _ in range(3)]
    return [
        User(
            id=i,
            name=a + b + c,
            age=None if rand() < 0.05 else 1 + int(rand() * 89),
            org=int(rand() * 20),
            email=f"user{i}@example.com",
            score=rand() * 1000.0,
        )
        for i, (a, b, c) in enumerate(zip(*parts, strict=True))
    ]


def shuffled_ids(n: int, seed: int = 11) -> list[int]:
    """The ids ``0..n-1`` in a fixed random order (so lookups do not walk memory in order)."""
    ids = list(range(n))
    random.Random(seed).shuffle(ids)
    return ids


_shared: list[User] = []


def users(n: int) -> list[User]:
    """The first ``n`` of one shared, deterministic population (built once, grown on demand).

    Benchmarks never mutate it; memory measurements call :func:`make_users` instead.
    """
    if len(_shared) < n:
        _shared[:] = make_users(max(n, 200_000))
    return _shared[:n]

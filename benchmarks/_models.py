"""The model and data every benchmark shares (deterministic: a fixed seed)."""

from __future__ import annotations

import functools
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
    users = []
    for i in range(n):
        name = "".join(rng.choice(_SYLLABLES) for _ in range(3))
        age = None if rng.random() < 0.05 else rng.randrange(1, 90)
        users.append(
            User(
                id=i,
                name=name,
                age=age,
                org=rng.randrange(20),
                email=f"user{i}@example.com",
                score=rng.random() * 1000.0,
            )
        )
    return users


def shuffled_ids(n: int, seed: int = 11) -> list[int]:
    """The ids ``0..n-1`` in a fixed random order (so lookups do not walk memory in order)."""
    ids = list(range(n))
    random.Random(seed).shuffle(ids)
    return ids


@functools.cache
def users(n: int) -> list[User]:
    """``make_users(n)``, built once per process and shared (benchmarks never mutate it)."""
    return make_users(n)

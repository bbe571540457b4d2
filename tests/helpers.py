"""Small test doubles shared by the pool, fetch and refresh suites.

Importable as ``helpers`` (pytest puts ``tests/`` on ``sys.path`` through ``tests/conftest.py``,
the same way ``strategies`` is imported).

Stable API (other suites import it; extend, do not break):

- :class:`User` — frozen ``id: int, name: str = ""``; the plain model most pool tests cache.
- :func:`drain` — every event already queued on a subscription, without waiting.
- :class:`GatedFetcher` — a one-id fetcher that counts calls, can be held at a gate and made to
  fail; :func:`pool_expired_5s_ago` — a pool whose id 1 expired 5 s ago (stale-serving tests).
- :class:`CountingBackend` — a ``MemoryBackend`` counting its versioned reads and writes (``ops``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import anyio

from sassi import Event, Punnu, Subscription
from sassi.backends import Keyspace, MemoryBackend
from sassi.testing import FakeClock

__all__ = ["CountingBackend", "GatedFetcher", "User", "drain", "pool_expired_5s_ago"]


@dataclass(frozen=True, slots=True)
class User:
    """The plain cached model: an ``id`` and a ``name``."""

    id: int
    name: str = ""


def drain(sub: Subscription) -> list[Event]:
    """Take every event already queued on ``sub``, without waiting.

    :param sub: a subscription from ``pool.events()``.
    :returns: the queued events, oldest first; empty when nothing is queued.
    """
    out = []
    while (event := sub.receive_nowait()) is not None:
        out.append(event)
    return out


class GatedFetcher:
    """A fetcher for one id: counts its calls, makes each async call wait for ``gate`` when one
    is set (``started`` tells a call began), raises ``error`` while it is set, and otherwise
    answers ``User(id, f"{prefix}{calls}")``.

    :param prefix: the name prefix of the answers.
    :param error: raised by every call until it is set back to ``None``.
    """

    def __init__(self, prefix: str, error: Exception | None = None) -> None:
        self.prefix = prefix
        self.error = error
        self.calls = 0
        self.gate: anyio.Event | None = None
        self.started = anyio.Event()

    async def __call__(self, id: int) -> User:
        self.calls += 1
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        return self._answer(id)

    def sync(self, id: int) -> User:
        """The same as a blocking fetcher (never waits for the gate)."""
        self.calls += 1
        return self._answer(id)

    def _answer(self, id: int) -> User:
        if self.error is not None:
            raise self.error
        return User(id, f"{self.prefix}{self.calls}")


def pool_expired_5s_ago(clock: FakeClock, **options: Any) -> tuple[Punnu[User], User]:
    """A pool with ``ttl=10`` (plus ``options``) whose id 1 was inserted and expired 5 s ago.

    :returns: the pool and the expired value.
    """
    pool = Punnu(User, ttl=10, clock=clock, **options)
    old = pool.insert(User(1, "old"))
    clock.advance(15)
    return pool, old


class CountingBackend(MemoryBackend):
    """A :class:`MemoryBackend` that counts its versioned batch reads and writes in ``ops``
    (``"get_versioned"``, ``"put_if_versions"``): one each is one round trip on Redis."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: Counter[str] = Counter()

    def get_versioned_sync(self, keyspace: Keyspace, ids: list[Any]) -> Any:
        self.ops["get_versioned"] += 1
        return super().get_versioned_sync(keyspace, ids)

    def put_if_versions_sync(self, keyspace: Keyspace, items: Any, ttl: Any) -> list[bool]:
        self.ops["put_if_versions"] += 1
        return super().put_if_versions_sync(keyspace, items, ttl)

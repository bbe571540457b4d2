"""`async with pool.background()` runs its body only once the listener has subscribed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
import pytest

import sassi
from sassi.backends import Keyspace, MemoryBackend


@dataclass(frozen=True)
class Item:
    id: int
    name: str


@pytest.mark.anyio
async def test_message_published_right_after_entering_is_not_lost() -> None:
    for _ in range(20):  # the race, if any, needs a few tries to show
        shared = MemoryBackend()
        a = sassi.Punnu(Item, backend=shared)
        b = sassi.Punnu(Item, backend=shared)
        a.insert(Item(1, "x"))
        assert b.load(1) == Item(1, "x")
        async with b.background():
            with b.events() as sub:
                await a.ainvalidate(1)  # first thing in the block
                with anyio.fail_after(5):
                    ev = await sub.receive()
        assert ev == sassi.Invalidated(1, sassi.EventReason.BACKEND_INVALIDATION)
        assert 1 not in b


class _DownStream(MemoryBackend):
    """A backend whose invalidation stream cannot be opened."""

    def invalidations(self, keyspace: Keyspace) -> Any:
        raise sassi.BackendUnavailable("stream is down")


@pytest.mark.anyio
async def test_a_backend_that_is_down_does_not_hold_the_body_up() -> None:
    pool = sassi.Punnu(Item, backend=_DownStream())
    with anyio.fail_after(5):
        async with pool.background():
            pool.insert(Item(2, "y"))  # L1 keeps working while the listener retries
    assert pool.get(2) == Item(2, "y")

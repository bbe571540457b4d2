"""SPEC 11.3: invalidate_where deletes matching L2 entries; clear()/aclear() empty both tiers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from tiering_helpers import Item

import sassi
from helpers import drain
from sassi import EventReason, Invalidated
from sassi.backends import FileBackend, MemoryBackend

F = sassi.fields(Item)


def backends(tmp_path: Path) -> list[Any]:
    return [MemoryBackend(), FileBackend(tmp_path / "l2")]


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_invalidate_where_deletes_matching_l2_entries(tmp_path: Path, kind: str) -> None:
    backend = backends(tmp_path)[0 if kind == "memory" else 1]
    a = sassi.Punnu(Item, backend=backend, namespace="l2")
    b = sassi.Punnu(Item, backend=backend, namespace="l2")
    for i in range(20):
        a.insert(Item(i, f"n{i}", age=i))
    assert b.load(3) == Item(3, "n3", age=3)
    assert a.invalidate_where(F.age < 10) == 10  # the local count
    fresh = sassi.Punnu(Item, backend=backend, namespace="l2")
    assert [i for i in range(20) if fresh.load(i) is not None] == list(range(10, 20))
    assert b.get(3) == Item(3, "n3", age=3)  # b's L1: only its listener would remove it


@pytest.mark.anyio
async def test_ainvalidate_where_and_aclear_reach_every_tier_and_pool() -> None:
    backend = MemoryBackend()
    a = sassi.Punnu(Item, backend=backend, namespace="l2")
    b = sassi.Punnu(Item, backend=backend, namespace="l2")
    for i in range(6):
        await a.ainsert(Item(i, f"n{i}", age=i))
    async with b.background():
        await b.wait_listening()
        for i in range(6):
            assert await b.aload(i) is not None
        with b.events() as sub:
            assert await a.ainvalidate_where(F.age >= 4) == 2
            with anyio.fail_after(5):
                seen = {await sub.receive(), await sub.receive()}
            assert seen == {
                Invalidated(4, EventReason.BACKEND_INVALIDATION),
                Invalidated(5, EventReason.BACKEND_INVALIDATION),
            }
            assert await b.aload(5) is None  # gone from L2 too
            with a.events() as mine:
                assert await a.aclear() == 4
                assert drain(mine) == [Invalidated(i, EventReason.MANUAL) for i in range(4)]
            with anyio.fail_after(5):
                while len(b):
                    await sub.receive()
        assert await b.aload(0) is None and len(backend) == 0


def test_clear_without_a_backend_empties_l1() -> None:
    pool = sassi.Punnu(Item)
    pool.insert(Item(1, "a"))
    pool.insert(Item(2, "b"))
    assert pool.clear() == 2 and len(pool) == 0
    assert pool.clear() == 0


@pytest.mark.anyio
async def test_clear_during_a_fetch_keeps_the_value_out_of_both_tiers() -> None:
    backend = MemoryBackend()
    pool = sassi.Punnu(Item, backend=backend, namespace="l2")
    started, gate = anyio.Event(), anyio.Event()

    async def fetch(id: int) -> Item:
        started.set()
        await gate.wait()
        return Item(id, "fetched")

    got: list[Item | None] = []
    async with anyio.create_task_group() as tg:

        async def caller() -> None:
            got.append(await pool.aget_or_fetch(1, fetch))

        tg.start_soon(caller)
        await started.wait()
        await pool.aclear()
        gate.set()
    assert got == [Item(1, "fetched")]
    assert 1 not in pool and pool.load(1) is None

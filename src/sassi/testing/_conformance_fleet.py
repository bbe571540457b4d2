"""Conformance of the optional capabilities (SPEC 11.2): each test runs when the backend
declares the capability (``isinstance(backend, SupportsX)``) and skips otherwise."""

from __future__ import annotations

import threading
import time
from typing import Any

import anyio
import pytest

from ..backends._capabilities import (
    SupportsBatch,
    SupportsDeleteWhere,
    SupportsLeases,
    SupportsVersions,
)
from ._conformance_base import ConformanceBase, ConformanceItem

__all__ = ["FleetConformance"]


def _item(i: int, name: str = "") -> ConformanceItem:
    return ConformanceItem(i, name or f"n{i}")


class FleetConformance(ConformanceBase):
    """Tests of versions, batches, leases and delete-where."""

    def _needs(self, backend: Any, capability: type) -> None:
        if not isinstance(backend, capability):
            pytest.skip(f"this backend does not declare {capability.__name__}")

    def _elapse(self, seconds: float) -> None:
        """Let ``seconds`` pass on the backend's clock (a fake one is advanced)."""
        try:
            self.advance(seconds)
        except NotImplementedError:
            time.sleep(seconds)

    # --- versions ----------------------------------------------------------------------------

    def test_versions_change_on_every_kind_of_invalidation(self) -> None:
        with self.opened() as b:
            self._needs(b, SupportsVersions)
            [(absent, v0)] = b.get_versioned_sync(self.ks, [1])
            assert absent is None
            b.put_sync(self.ks, 1, _item(1), None)
            [(value, v1)] = b.get_versioned_sync(self.ks, [1])
            assert value == _item(1) and v1 == v0  # a plain write is not an invalidation
            b.invalidate_sync(self.ks, 1)
            [(gone, v2)] = b.get_versioned_sync(self.ks, [1])
            assert gone is None and v2 != v1
            b.put_sync(self.ks, 2, _item(2), None)
            [(_, w1)] = b.get_versioned_sync(self.ks, [2])
            b.invalidate_all_sync(self.ks)
            [(_, w2)] = b.get_versioned_sync(self.ks, [2])
            assert w2 != w1

    def test_put_if_versions_loses_to_an_invalidation(self) -> None:
        with self.opened() as b:
            self._needs(b, SupportsVersions)
            rows = b.get_versioned_sync(self.ks, [1, 2, 3])
            b.invalidate_sync(self.ks, 2)  # races the "fetch" of 2
            items = [
                (i, _item(i, "fetched"), version)
                for i, (_, version) in zip([1, 2, 3], rows, strict=True)
            ]
            assert b.put_if_versions_sync(self.ks, items, None) == [True, False, True]
            assert b.get_sync(self.ks, 1) == _item(1, "fetched")
            assert b.get_sync(self.ks, 2) is None
            (_, stale) = rows[0]
            b.invalidate_all_sync(self.ks)
            assert b.put_if_versions_sync(self.ks, [(1, _item(1), stale)], None) == [False]
            assert b.get_sync(self.ks, 1) is None

    @pytest.mark.anyio
    async def test_versions_async(self) -> None:
        async with self.aopened() as b:
            self._needs(b, SupportsVersions)
            [(_, version)] = await b.get_versioned(self.ks, [5])
            assert await b.put_if_versions(self.ks, [(5, _item(5), version)], 60) == [True]
            [(value, same)] = await b.get_versioned(self.ks, [5])
            assert value == _item(5) and same == version
            await b.invalidate(self.ks, 5)
            assert await b.put_if_versions(self.ks, [(5, _item(5), version)], 60) == [False]

    # --- batches -----------------------------------------------------------------------------

    def test_batches(self) -> None:
        with self.opened() as b:
            self._needs(b, SupportsBatch)
            b.put_many_sync(self.ks, [(i, _item(i)) for i in (1, 2, 3)], None)
            assert b.get_many_sync(self.ks, [3, 9, 1]) == [_item(3), None, _item(1)]
            assert b.get_many_sync(self.ks, []) == []

    @pytest.mark.anyio
    async def test_batches_async(self) -> None:
        async with self.aopened() as b:
            self._needs(b, SupportsBatch)
            await b.put_many(self.ks, [(i, _item(i)) for i in (4, 5)], 60)
            assert await b.get_many(self.ks, [5, 4, 6]) == [_item(5), _item(4), None]

    # --- leases ------------------------------------------------------------------------------

    def test_a_lease_has_one_holder_until_released_or_expired(self) -> None:
        with self.opened() as b:
            self._needs(b, SupportsLeases)
            assert b.acquire_lease_sync(self.ks, 1, "a", 30.0)
            assert not b.acquire_lease_sync(self.ks, 1, "b", 30.0)
            assert b.acquire_lease_sync(self.ks, 2, "b", 30.0)  # per id
            assert b.acquire_lease_sync(self.other_ns, 1, "b", 30.0)  # per keyspace
            assert not b.release_lease_sync(self.ks, 1, "b")  # not the holder's token
            assert b.release_lease_sync(self.ks, 1, "a")
            assert not b.release_lease_sync(self.ks, 1, "a")
            assert b.acquire_lease_sync(self.ks, 1, "c", 0.2)
            self._elapse(0.35)  # the holder died: its lease expires
            assert b.acquire_lease_sync(self.ks, 1, "d", 30.0)

    def test_wait_lease_wakes_when_the_holder_releases(self) -> None:
        with self.opened() as b:
            self._needs(b, SupportsLeases)
            started = time.monotonic()
            b.wait_lease_sync(self.ks, 1, 5.0)  # nobody holds it: returns at once
            assert b.acquire_lease_sync(self.ks, 1, "a", 30.0)
            b.wait_lease_sync(self.ks, 1, 0.1)  # held: returns after max_wait
            releaser = threading.Timer(0.2, b.release_lease_sync, (self.ks, 1, "a"))
            releaser.start()
            b.wait_lease_sync(self.ks, 1, 20.0)
            releaser.join()
            assert time.monotonic() - started < 10  # woken by the release, not max_wait
            assert b.acquire_lease_sync(self.ks, 1, "b", 30.0)

    @pytest.mark.anyio
    async def test_leases_async(self) -> None:
        async with self.aopened() as b:
            self._needs(b, SupportsLeases)
            assert await b.acquire_lease(self.ks, 7, "a", 30.0)
            assert not await b.acquire_lease(self.ks, 7, "b", 30.0)
            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(b.wait_lease, self.ks, 7, 20.0)
                    await anyio.sleep(0.1)
                    assert await b.release_lease(self.ks, 7, "a")
            assert await b.acquire_lease(self.ks, 7, "b", 30.0)

    # --- delete where ------------------------------------------------------------------------

    def test_delete_where_deletes_matches_in_batches_and_changes_their_versions(self) -> None:
        with self.opened() as b:
            self._needs(b, SupportsDeleteWhere)
            for i in range(10):
                b.put_sync(self.ks, i, _item(i, "odd" if i % 2 else "even"), None)
            b.put_sync(self.other_ns, 1, _item(1, "odd"), None)
            before = (
                b.get_versioned_sync(self.ks, [1])[0][1]
                if isinstance(b, SupportsVersions)
                else None
            )
            assert b.delete_where_sync(self.ks, lambda v: v.name == "odd", 3) == 5
            assert [i for i in range(10) if b.get_sync(self.ks, i) is not None] == [0, 2, 4, 6, 8]
            assert b.get_sync(self.other_ns, 1) == _item(1, "odd")  # other keyspaces untouched
            if before is not None:
                assert b.get_versioned_sync(self.ks, [1])[0][1] != before
            assert b.delete_where_sync(self.ks, lambda v: 1 / 0, 3) == 0  # raising: no match

    @pytest.mark.anyio
    async def test_delete_where_async(self) -> None:
        async with self.aopened() as b:
            self._needs(b, SupportsDeleteWhere)
            await b.put(self.ks, 1, _item(1, "x"), None)
            await b.put(self.ks, 2, _item(2, "y"), None)
            assert await b.delete_where(self.ks, lambda v: v.name == "x") == 1
            assert await b.get(self.ks, 1) is None and await b.get(self.ks, 2) == _item(2, "y")

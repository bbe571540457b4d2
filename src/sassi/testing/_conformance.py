"""A conformance suite every backend test module reuses by subclassing.

Usage (a whole test module)::

    from sassi.backends import MemoryBackend
    from sassi.testing import BackendConformance, FakeClock

    class TestMemory(BackendConformance):
        def make_backend(self):
            self.clock = FakeClock()
            return MemoryBackend(clock=self.clock)

        def advance(self, seconds):
            self.clock.advance(seconds)

        def store_raw(self, backend, keyspace, id, data):
            backend.put_raw(keyspace, id, data)

Hooks: :meth:`make_backend` (required); :meth:`advance` (move the backend's clock; leave it
unimplemented when the backend's time cannot be controlled and TTL expiry tests skip);
:meth:`store_raw` (write arbitrary bytes where the value of ``id`` lives, for corruption tests;
unimplemented -> those tests skip); :meth:`publish_malformed` (send one undecodable message on
the invalidation channel; unimplemented -> that test skips); ``has_invalidation_stream``
(``False`` for backends whose stream is empty); :meth:`aclose_backend` / :meth:`close_backend`
(release clients). The optional capabilities of SPEC 11.2 (versions, batches, leases,
delete-where) are tested for every backend that declares them (``_conformance_fleet``).
Async tests carry ``@pytest.mark.anyio``, so they run on every ``anyio_backend`` the project's
conftest provides. This module imports pytest; ``sassi.testing`` loads it only on first use.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest

from ..exceptions import BackendError, WireFormatError
from ._conformance_base import GARBAGE as GARBAGE
from ._conformance_base import ConformanceItem as ConformanceItem
from ._conformance_base import ConformanceOther as ConformanceOther
from ._conformance_fleet import FleetConformance
from ._conformance_streams import StreamConformance

__all__ = ["BackendConformance", "ConformanceItem", "ConformanceOther"]


class BackendConformance(FleetConformance, StreamConformance):
    """Base class of a backend's conformance tests (see the module docstring)."""

    # --- round trips -------------------------------------------------------------------------

    def test_sync_round_trip(self) -> None:
        with self.opened() as b:
            item = ConformanceItem(1, "one", {"tags": ["a", "b"], "n": 1.5, "ok": True})
            assert b.get_sync(self.ks, 1) is None
            b.put_sync(self.ks, 1, item, None)
            got = b.get_sync(self.ks, 1)
            assert got == item
            assert type(got) is ConformanceItem

    @pytest.mark.anyio
    async def test_async_round_trip(self) -> None:
        async with self.aopened() as b:
            item = ConformanceItem(2, "two", None)
            assert await b.get(self.ks, 2) is None
            await b.put(self.ks, 2, item, None)
            assert await b.get(self.ks, 2) == item
            assert b.get_sync(self.ks, 2) == item

    def test_put_replaces(self) -> None:
        with self.opened() as b:
            b.put_sync(self.ks, 1, ConformanceItem(1, "old"), None)
            b.put_sync(self.ks, 1, ConformanceItem(1, "new"), None)
            assert b.get_sync(self.ks, 1) == ConformanceItem(1, "new")

    def test_structured_ids(self) -> None:
        with self.opened() as b:
            item = ConformanceOther((7, "x"), "seven")
            b.put_sync(self.other_type, (7, "x"), item, None)
            assert b.get_sync(self.other_type, (7, "x")) == item
            assert b.get_sync(self.other_type, (7, "y")) is None

    def test_very_long_string_ids(self) -> None:
        long_a = "a" * 10_000
        long_b = "a" * 9_999 + "b"  # shares all but its last character with long_a
        with self.opened() as b:
            b.put_sync(self.ks, long_a, ConformanceItem(1, "long a"), None)
            b.put_sync(self.ks, long_b, ConformanceItem(2, "long b"), None)
            assert b.get_sync(self.ks, long_a) == ConformanceItem(1, "long a")
            assert b.get_sync(self.ks, long_b) == ConformanceItem(2, "long b")
            b.invalidate_sync(self.ks, long_a)
            assert b.get_sync(self.ks, long_a) is None
            assert b.get_sync(self.ks, long_b) == ConformanceItem(2, "long b")
            pair = (3, "x" * 10_000)
            b.put_sync(self.other_type, pair, ConformanceOther(pair, "pair"), None)
            assert b.get_sync(self.other_type, pair) == ConformanceOther(pair, "pair")
            b.invalidate_all_sync(self.ks)
            assert b.get_sync(self.ks, long_b) is None

    @pytest.mark.anyio
    async def test_very_long_string_ids_async(self) -> None:
        ident = "z" * 10_000
        async with self.aopened() as b:
            await b.put(self.ks, ident, ConformanceItem(1, "long"), 60)
            assert await b.get(self.ks, ident) == ConformanceItem(1, "long")
            await b.invalidate(self.ks, ident)
            assert await b.get(self.ks, ident) is None

    def test_value_of_another_model_is_refused(self) -> None:
        with self.opened() as b, pytest.raises(ValueError):
            b.put_sync(self.ks, (1, "a"), ConformanceOther((1, "a"), "x"), None)

    # --- isolation -------------------------------------------------------------------------------

    def test_namespaces_and_types_are_isolated(self) -> None:
        with self.opened() as b:
            b.put_sync(self.ks, 1, ConformanceItem(1, "conf"), None)
            b.put_sync(self.other_ns, 1, ConformanceItem(1, "other"), None)
            b.put_sync(self.no_ns, 1, ConformanceItem(1, "none"), None)
            assert b.get_sync(self.ks, 1) == ConformanceItem(1, "conf")
            assert b.get_sync(self.other_ns, 1) == ConformanceItem(1, "other")
            assert b.get_sync(self.no_ns, 1) == ConformanceItem(1, "none")
            b.put_sync(self.other_type, (1, "a"), ConformanceOther((1, "a"), "t"), None)
            b.invalidate_sync(self.ks, 1)
            assert b.get_sync(self.ks, 1) is None
            assert b.get_sync(self.other_ns, 1) == ConformanceItem(1, "other")
            assert b.get_sync(self.no_ns, 1) == ConformanceItem(1, "none")

    # --- invalidation ------------------------------------------------------------------------

    def test_invalidate_is_idempotent(self) -> None:
        with self.opened() as b:
            b.put_sync(self.ks, 1, ConformanceItem(1, "a"), None)
            b.put_sync(self.ks, 2, ConformanceItem(2, "b"), None)
            b.invalidate_sync(self.ks, 1)
            b.invalidate_sync(self.ks, 1)
            b.invalidate_sync(self.ks, 99)
            assert b.get_sync(self.ks, 1) is None
            assert b.get_sync(self.ks, 2) == ConformanceItem(2, "b")

    @pytest.mark.anyio
    async def test_async_invalidate(self) -> None:
        async with self.aopened() as b:
            await b.put(self.ks, 1, ConformanceItem(1, "a"), None)
            await b.invalidate(self.ks, 1)
            await b.invalidate(self.ks, 1)
            assert await b.get(self.ks, 1) is None

    def test_invalidate_all_is_keyspace_scoped(self) -> None:
        with self.opened() as b:
            for i in range(1, 6):
                b.put_sync(self.ks, i, ConformanceItem(i, "x"), None)
            b.put_sync(self.other_ns, 1, ConformanceItem(1, "keep"), None)
            b.put_sync(self.other_type, (1, "a"), ConformanceOther((1, "a"), "keep"), None)
            b.invalidate_all_sync(self.ks)
            assert all(b.get_sync(self.ks, i) is None for i in range(1, 6))
            assert b.get_sync(self.other_ns, 1) == ConformanceItem(1, "keep")
            assert b.get_sync(self.other_type, (1, "a")) == ConformanceOther((1, "a"), "keep")
            b.invalidate_all_sync(self.ks)  # empty keyspace: still fine
            b.put_sync(self.ks, 1, ConformanceItem(1, "again"), None)
            assert b.get_sync(self.ks, 1) == ConformanceItem(1, "again")

    @pytest.mark.anyio
    async def test_async_invalidate_all(self) -> None:
        async with self.aopened() as b:
            await b.put(self.ks, 1, ConformanceItem(1, "x"), None)
            await b.put(self.no_ns, 1, ConformanceItem(1, "keep"), None)
            await b.invalidate_all(self.ks)
            assert await b.get(self.ks, 1) is None
            assert await b.get(self.no_ns, 1) == ConformanceItem(1, "keep")

    # --- ttl ------------------------------------------------------------------------------------

    def test_ttl_none_and_non_positive(self) -> None:
        with self.opened() as b:
            b.put_sync(self.ks, 1, ConformanceItem(1, "a"), None)
            b.put_sync(self.ks, 1, ConformanceItem(1, "a"), 0)
            assert b.get_sync(self.ks, 1) is None
            b.put_sync(self.ks, 2, ConformanceItem(2, "b"), -5.0)
            assert b.get_sync(self.ks, 2) is None
            b.put_sync(self.ks, 3, ConformanceItem(3, "c"), timedelta(hours=1))
            assert b.get_sync(self.ks, 3) == ConformanceItem(3, "c")
            b.put_sync(self.ks, 4, ConformanceItem(4, "d"), float("inf"))
            assert b.get_sync(self.ks, 4) == ConformanceItem(4, "d")

    @pytest.mark.parametrize("ttl", [1e13, 1e15, 1e300, timedelta.max])
    def test_huge_ttl_never_overflows(self, ttl: float | timedelta) -> None:
        with self.opened() as b:
            b.put_sync(self.ks, 1, ConformanceItem(1, "huge"), ttl)
            assert b.get_sync(self.ks, 1) == ConformanceItem(1, "huge")
            with contextlib.suppress(NotImplementedError):  # no controllable clock: skip on
                self.advance(1_000_000.0)
            assert b.get_sync(self.ks, 1) == ConformanceItem(1, "huge")

    @pytest.mark.anyio
    async def test_huge_ttl_never_overflows_async(self) -> None:
        async with self.aopened() as b:
            await b.put(self.ks, 2, ConformanceItem(2, "huge"), 1e13)
            assert await b.get(self.ks, 2) == ConformanceItem(2, "huge")

    def test_ttl_expiry(self) -> None:
        with self.opened() as b:
            b.put_sync(self.ks, 1, ConformanceItem(1, "short"), 10.0)
            b.put_sync(self.ks, 2, ConformanceItem(2, "long"), 100.0)
            b.put_sync(self.ks, 3, ConformanceItem(3, "forever"), None)
            self._advance_or_skip(9.0)
            assert b.get_sync(self.ks, 1) == ConformanceItem(1, "short")
            self._advance_or_skip(1.5)
            assert b.get_sync(self.ks, 1) is None
            assert b.get_sync(self.ks, 2) == ConformanceItem(2, "long")
            self._advance_or_skip(1_000_000.0)
            assert b.get_sync(self.ks, 2) is None
            assert b.get_sync(self.ks, 3) == ConformanceItem(3, "forever")

    # --- corrupt storage ------------------------------------------------------------------------

    @pytest.mark.parametrize("data", GARBAGE)
    def test_garbage_in_storage_raises_sassi_errors(self, data: bytes) -> None:
        with self.opened() as b:
            self._store_raw_or_skip(b, self.ks, 1, data)
            with pytest.raises((WireFormatError, BackendError)):
                b.get_sync(self.ks, 1)

    @pytest.mark.anyio
    async def test_garbage_in_storage_async(self) -> None:
        async with self.aopened() as b:
            self._store_raw_or_skip(b, self.ks, 1, b"\x93garbage")
            with pytest.raises((WireFormatError, BackendError)):
                await b.get(self.ks, 1)

    # --- threads -------------------------------------------------------------------------------

    def test_invalidate_all_racing_writers(self) -> None:
        with self.opened() as b:
            errors: list[BaseException] = []

            def write(offset: int) -> None:
                try:
                    for i in range(150):
                        ident = offset * 1000 + i % 10
                        b.put_sync(self.ks, ident, ConformanceItem(ident, str(i)), None)
                except BaseException as exc:  # reported below
                    errors.append(exc)

            def wipe() -> None:
                try:
                    for _ in range(60):
                        b.invalidate_all_sync(self.ks)
                except BaseException as exc:  # reported below
                    errors.append(exc)

            threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
            threads += [threading.Thread(target=wipe) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []
            b.invalidate_all_sync(self.ks)
            assert all(
                b.get_sync(self.ks, n * 1000 + i) is None for n in range(3) for i in range(10)
            )
            b.put_sync(self.ks, 7, ConformanceItem(7, "after"), None)
            assert b.get_sync(self.ks, 7) == ConformanceItem(7, "after")

    def test_concurrent_writers_and_readers(self) -> None:
        with self.opened() as b:
            errors: list[BaseException] = []

            def work(offset: int) -> None:
                try:
                    for i in range(20):
                        ident = offset * 100 + i
                        b.put_sync(self.ks, ident, ConformanceItem(ident, str(i)), None)
                        assert b.get_sync(self.ks, ident) == ConformanceItem(ident, str(i))
                except BaseException as exc:  # reported below
                    errors.append(exc)

            threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []

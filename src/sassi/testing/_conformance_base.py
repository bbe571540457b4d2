"""The base of the backend conformance suite: its models, hooks and helpers.

See :mod:`sassi.testing._conformance` for how to use the suite. This module imports pytest.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from .._model import cacheable
from ..backends._protocol import Backend, Keyspace
from ..predicate import JSON

__all__ = ["GARBAGE", "ConformanceBase", "ConformanceItem", "ConformanceOther"]


@cacheable(type_name="sassi.testing.ConformanceItem")
@dataclass(frozen=True)
class ConformanceItem:
    """The model the conformance suite stores (an int id, a string, a JSON payload)."""

    id: int
    name: str
    payload: JSON | None = None


@cacheable(type_name="sassi.testing.ConformanceOther")
@dataclass(frozen=True)
class ConformanceOther:
    """A second model with a tuple id, to check type isolation and structured ids."""

    id: tuple[int, str]
    label: str


GARBAGE: tuple[bytes, ...] = (
    b"",
    b"{}",
    b'{"__sassi_v":0,"payload":{}}',
    b"\x00" * 40,
    b"SASSI\x00W\x00",
    b"SASSI\x00W\x00\x02\x00\x01\x00\x05\x00",
    b"SASSI\x00W\x00\x01\x00\x01\x00\x05\x00abc",
    b"SASSI\x00W\x00\x01\x00\x01\x00\x1e\x00sassi.testing.ConformanceItem\x93\x01",
    b"SASSI\x00W\x00\x02\x00\x01\x00\x1e\x00sassi.testing.ConformanceItem\x01",
    b"SASSI\x00W\x00\x09\x00\x01\x00\x1e\x00sassi.testing.ConformanceItem",
    bytes(range(256)),
)


class ConformanceBase:
    """Hooks, helpers and keyspaces of :class:`~sassi.testing.BackendConformance`."""

    has_invalidation_stream: bool = True

    # --- hooks ---------------------------------------------------------------------------------

    def make_backend(self) -> Backend:
        """A fresh, empty backend for one test."""
        raise NotImplementedError

    def advance(self, seconds: float) -> None:
        """Move the backend's clock forward; unimplemented -> TTL expiry tests skip."""
        raise NotImplementedError

    def store_raw(self, backend: Any, keyspace: Keyspace, id: Any, data: bytes) -> None:
        """Put ``data`` where the value of ``id`` is stored; unimplemented -> tests skip."""
        raise NotImplementedError

    def publish_malformed(self, backend: Any, keyspace: Keyspace) -> None:
        """Send one message the stream of ``keyspace`` cannot decode; unimplemented -> skip."""
        raise NotImplementedError

    def close_backend(self, backend: Any) -> None:
        """Release a backend made by :meth:`make_backend` (sync tests)."""
        close = getattr(backend, "close", None)
        if callable(close):
            close()

    async def aclose_backend(self, backend: Any) -> None:
        """Release a backend made by :meth:`make_backend` (async tests)."""
        aclose = getattr(backend, "aclose", None)
        if callable(aclose):
            await aclose()
        else:
            self.close_backend(backend)

    # --- helpers ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def opened(self) -> Iterator[Any]:
        backend = self.make_backend()
        try:
            yield backend
        finally:
            self.close_backend(backend)

    @contextlib.asynccontextmanager
    async def aopened(self) -> AsyncIterator[Any]:
        backend = self.make_backend()
        try:
            yield backend
        finally:
            await self.aclose_backend(backend)

    def _advance_or_skip(self, seconds: float) -> None:
        try:
            self.advance(seconds)
        except NotImplementedError:
            pytest.skip("this backend's clock cannot be advanced")

    def _store_raw_or_skip(self, backend: Any, keyspace: Keyspace, id: Any, data: bytes) -> None:
        try:
            self.store_raw(backend, keyspace, id, data)
        except NotImplementedError:
            pytest.skip("this backend cannot store raw bytes")

    ks = Keyspace.for_model(ConformanceItem, "conf")
    other_ns = Keyspace.for_model(ConformanceItem, "conf-other")
    no_ns = Keyspace.for_model(ConformanceItem, None)
    other_type = Keyspace.for_model(ConformanceOther, "conf")

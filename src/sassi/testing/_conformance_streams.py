"""The invalidation-stream half of the backend conformance suite (see ``_conformance``)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from ..backends._protocol import (
    InvalidateAll,
    InvalidateId,
    InvalidateWhere,
    Keyspace,
    MalformedMessage,
    SupportsPublish,
)
from ..exceptions import WireFormatError
from ._conformance_base import ConformanceBase, ConformanceItem

__all__ = ["StreamConformance"]


class StreamConformance(ConformanceBase):
    """Tests of ``invalidations()``: delivery, structured ids, echoes, malformed messages."""

    @contextlib.asynccontextmanager
    async def ready_stream(self, keyspace: Keyspace) -> AsyncIterator[tuple[Any, Any]]:
        """An opened backend and its stream on ``keyspace``, subscribed (closed on exit);
        skips the test when the backend has no invalidation stream."""
        if not self.has_invalidation_stream:
            pytest.skip("this backend has no invalidation stream")
        async with self.aopened() as b:
            stream: Any = b.invalidations(keyspace)
            try:
                await stream.ready()
                yield b, stream
            finally:
                await stream.aclose()

    # --- invalidation stream -------------------------------------------------------------

    @pytest.mark.anyio
    async def test_invalidation_stream(self) -> None:
        async with self.aopened() as b:
            stream: Any = b.invalidations(self.ks)
            try:
                if not self.has_invalidation_stream:
                    assert [m async for m in stream] == []
                    return
                await stream.ready()
                await b.invalidate(self.other_ns, 5)  # other keyspaces never reach this stream
                await b.invalidate_all(self.other_type)
                await b.invalidate(self.ks, 1)
                b.invalidate_sync(self.ks, 2)
                await b.invalidate_all(self.ks)
                got = []
                with anyio.fail_after(10):
                    async for message in stream:
                        got.append(message)
                        if len(got) == 3:
                            break
                assert got == [InvalidateId(1), InvalidateId(2), InvalidateAll()]
            finally:
                await stream.aclose()

    @pytest.mark.anyio
    async def test_invalidation_stream_structured_ids(self) -> None:
        async with self.ready_stream(self.other_type) as (b, stream):
            await b.invalidate(self.other_type, (3, "z"))
            with anyio.fail_after(10):
                message = await stream.__anext__()
            assert message == InvalidateId((3, "z"))
            assert hash(message.id) == hash((3, "z"))

    @pytest.mark.anyio
    async def test_sync_invalidate_from_a_thread_reaches_the_stream(self) -> None:
        async with self.ready_stream(self.ks) as (b, stream):
            thread = threading.Thread(target=b.invalidate_sync, args=(self.ks, 42))
            thread.start()
            with anyio.fail_after(10):
                message = await stream.__anext__()
            thread.join()
            assert message == InvalidateId(42)

    @pytest.mark.anyio
    async def test_own_messages_are_not_echoed(self) -> None:
        mine = Keyspace.for_model(ConformanceItem, "conf", origin="writer-a")
        theirs = Keyspace.for_model(ConformanceItem, "conf", origin="writer-b")
        async with self.ready_stream(mine) as (b, stream):
            b.invalidate_sync(mine, 1)  # our own: not delivered back
            await b.invalidate(mine, 2)
            b.invalidate_all_sync(mine)
            b.invalidate_sync(theirs, 3)
            b.invalidate_sync(self.ks, 4)  # no origin: delivered
            with anyio.fail_after(10):
                assert await stream.__anext__() == InvalidateId(3)
                assert await stream.__anext__() == InvalidateId(4)

    @pytest.mark.anyio
    async def test_a_malformed_message_does_not_stop_the_stream(self) -> None:
        async with self.ready_stream(self.ks) as (b, stream):
            try:
                self.publish_malformed(b, self.ks)
            except NotImplementedError:
                pytest.skip("this backend cannot send a malformed message")
            await b.invalidate(self.ks, 1)
            with anyio.fail_after(10):
                first = await stream.__anext__()
                second = await stream.__anext__()
            assert isinstance(first, MalformedMessage)
            assert isinstance(first.error, WireFormatError)
            assert second == InvalidateId(1)

    @pytest.mark.anyio
    async def test_publish_reaches_subscribers_without_storing(self) -> None:
        async with self.aopened() as b:
            can_publish = isinstance(b, SupportsPublish)
            if not can_publish:
                pytest.skip("this backend cannot publish messages")
            b.put_sync(self.ks, 1, ConformanceItem(1, "kept"), None)
            stream: Any = b.invalidations(self.ks)
            try:
                await stream.ready()
                await b.publish(self.ks, InvalidateWhere('{"v":1}'))
                b.publish_sync(self.ks, InvalidateId(1))
                if self.has_invalidation_stream:
                    with anyio.fail_after(10):
                        assert await stream.__anext__() == InvalidateWhere('{"v":1}')
                        assert await stream.__anext__() == InvalidateId(1)
                else:
                    assert [m async for m in stream] == []
                assert b.get_sync(self.ks, 1) == ConformanceItem(1, "kept")
            finally:
                await stream.aclose()

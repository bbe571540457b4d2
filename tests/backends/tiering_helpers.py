"""Backends that count, fail on demand or block, for the pool <-> backend tests."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio

import sassi
from sassi.backends import Keyspace, MemoryBackend
from sassi.exceptions import BackendError, BackendUnavailable


@sassi.cacheable(type_name="tiering.Item")
@dataclass(frozen=True)
class Item:
    id: int
    name: str
    age: int = 0


class ScriptedBackend(MemoryBackend):
    """A MemoryBackend whose operations can fail (a queue of errors per op) and are counted.

    ``fail[op]`` is a list of exceptions raised by the next calls of ``op`` (``get``, ``put``,
    ``invalidate``, ``invalidate_all``), sync or async alike.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: Counter[str] = Counter()
        self.fail: dict[str, list[BaseException]] = {}
        self.gate: dict[str, threading.Event] = {}
        self.entered: dict[str, threading.Event] = {}

    def _step(self, op: str) -> None:
        self.calls[op] += 1
        if op in self.entered:
            self.entered[op].set()
        if op in self.gate:
            assert self.gate[op].wait(10), f"{op} gate never opened"
        queue = self.fail.get(op)
        if queue:
            raise queue.pop(0)

    async def _astep(self, op: str) -> None:
        if op in self.gate:  # block in a thread so the event loop stays free
            await anyio.to_thread.run_sync(self._step, op)
        else:
            self._step(op)

    def get_sync(self, keyspace: Keyspace, id: Any) -> Any | None:
        value = super().get_sync(keyspace, id)  # read first: a gate delays the *answer*
        self._step("get")
        return value

    def put_sync(
        self, keyspace: Keyspace, id: Any, value: Any, ttl: float | timedelta | None
    ) -> None:
        self._step("put")
        super().put_sync(keyspace, id, value, ttl)

    def invalidate_sync(self, keyspace: Keyspace, id: Any) -> None:
        self._step("invalidate")
        super().invalidate_sync(keyspace, id)

    def invalidate_all_sync(self, keyspace: Keyspace) -> None:
        self._step("invalidate_all")
        super().invalidate_all_sync(keyspace)

    def publish_sync(self, keyspace: Keyspace, message: Any) -> None:
        self._step("publish")
        super().publish_sync(keyspace, message)

    async def publish(self, keyspace: Keyspace, message: Any) -> None:
        await self._astep("publish")
        MemoryBackend.publish_sync(self, keyspace, message)

    async def get(self, keyspace: Keyspace, id: Any) -> Any | None:
        value = MemoryBackend.get_sync(self, keyspace, id)
        await self._astep("get")
        return value

    async def put(
        self, keyspace: Keyspace, id: Any, value: Any, ttl: float | timedelta | None
    ) -> None:
        await self._astep("put")
        MemoryBackend.put_sync(self, keyspace, id, value, ttl)

    async def invalidate(self, keyspace: Keyspace, id: Any) -> None:
        await self._astep("invalidate")
        MemoryBackend.invalidate_sync(self, keyspace, id)

    async def invalidate_all(self, keyspace: Keyspace) -> None:
        await self._astep("invalidate_all")
        MemoryBackend.invalidate_all_sync(self, keyspace)


def down(n: int = 1) -> list[BaseException]:
    return [BackendUnavailable("backend down") for _ in range(n)]


def broken(n: int = 1) -> list[BaseException]:
    return [BackendError("backend refused") for _ in range(n)]


class RecordingMetrics:
    def __init__(self) -> None:
        self.backend_errors: list[BaseException] = []
        self.hits: list[object] = []

    def record_backend_error(self, type_name: str, error: BaseException) -> None:
        self.backend_errors.append(error)

    def record_hit(self, type_name: str, tier: object) -> None:
        self.hits.append(tier)

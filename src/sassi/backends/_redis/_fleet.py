"""The optional capabilities of :class:`RedisBackend` (SPEC 11.2): versions, batches, leases,
delete-where — each one Lua script or one pipeline, so one round trip.

Versions: ``sassi:{…}:ver_<id>`` counts the id's invalidations (kept a day after the last one)
and ``sassi:{…}:epoch`` the keyspace's ``invalidate_all`` calls; a version is the pair.
Leases: ``SET sassi:{…}:lease_<id> <token> NX PX <ms>``; released by a compare-and-delete
script that publishes the id on ``sassi:{…}:leases``, which waiters subscribe to (they check
the lease after subscribing, so a release between the two is never missed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from ... import wire
from ..._wire._ids import id_token
from .._protocol import Keyspace, check_value
from ._client import arun, run
from ._keys import BATCH, PERSISTENT_SCORE, VERSION_TTL_MS, Keys, Layout, ttl_ms

if TYPE_CHECKING:
    from ._client import AsyncSide

__all__ = ["FleetMixin"]

R = TypeVar("R")
Ttl = float | timedelta | None


def _versioned_keys(keys: Keys, ids: list[Any]) -> list[str]:
    out = [keys.epoch, keys.index]
    for id in ids:
        out += [keys.value(id), keys.version(id)]
    return out


def _rows(
    decode: Callable[[bytes | None], Any], raw: list[Any]
) -> list[tuple[Any | None, Hashable]]:
    """A ``get_versioned`` script's answer: ``(value, (epoch, counter))`` per id."""
    epoch = bytes(raw[-1])
    return [(decode(raw[i]), (epoch, bytes(raw[i + 1]))) for i in range(0, len(raw) - 1, 2)]


class FleetMixin:
    """Capabilities of :class:`RedisBackend` beyond section 6 (see the module docstring)."""

    _sync: Any
    _scripts: dict[str, Any]
    _layout: Layout
    cluster: bool

    if TYPE_CHECKING:

        def _script_sync(self, what: str, name: str, keys: list[str], args: list[Any]) -> Any: ...

        async def _script(self, what: str, name: str, keys: list[str], args: list[Any]) -> Any: ...

        async def _side(self) -> AsyncSide | None: ...

        async def _thread(self, fn: Callable[..., R], *args: Any) -> R: ...

        def _decode(self, keyspace: Keyspace, raw: bytes | None) -> Any | None: ...

    # --- versions (SupportsVersions) ------------------------------------------------------------

    def get_versioned_sync(
        self, keyspace: Keyspace, ids: list[Any]
    ) -> list[tuple[Any | None, Hashable]]:
        """``[(value or None, version)]`` for ``ids``: one script per shard they fall in."""
        out: list[tuple[Any | None, Hashable]] = [(None, None)] * len(ids)
        for keys, at in self._layout.group(keyspace, ids):
            raw = self._script_sync(
                "get", "get_versioned", _versioned_keys(keys, [ids[i] for i in at]), []
            )
            for i, row in zip(at, _rows(lambda b: self._decode(keyspace, b), raw), strict=True):
                out[i] = row
        return out

    async def get_versioned(
        self, keyspace: Keyspace, ids: list[Any]
    ) -> list[tuple[Any | None, Hashable]]:
        """Async twin of :meth:`get_versioned_sync`."""
        out: list[tuple[Any | None, Hashable]] = [(None, None)] * len(ids)
        for keys, at in self._layout.group(keyspace, ids):
            raw = await self._script(
                "get", "get_versioned", _versioned_keys(keys, [ids[i] for i in at]), []
            )
            for i, row in zip(at, _rows(lambda b: self._decode(keyspace, b), raw), strict=True):
                out[i] = row
        return out

    def _cas_calls(
        self, keyspace: Keyspace, items: list[tuple[Any, Any, Hashable]], ttl: Ttl
    ) -> list[tuple[list[int], list[str], list[Any]]]:
        """One ``put_if_versions`` call per shard: ``(positions, keys, args)``."""
        ms = ttl_ms(ttl)
        calls = []
        for keys, at in self._layout.group(keyspace, [id for id, _, _ in items]):
            args: list[Any] = [ms, PERSISTENT_SCORE]
            for i in at:
                _, value, version = items[i]
                check_value(keyspace, value)
                epoch, counter = _version(version)
                args += [wire.dumps(value) if ms != 0 else b"", epoch, counter]
            calls.append((at, _versioned_keys(keys, [items[i][0] for i in at]), args))
        return calls

    def put_if_versions_sync(
        self, keyspace: Keyspace, items: list[tuple[Any, Any, Hashable]], ttl: Ttl
    ) -> list[bool]:
        """Write each ``(id, value, version)`` whose version is unchanged (a script per shard)."""
        out = [False] * len(items)
        for at, keys, args in self._cas_calls(keyspace, items, ttl):
            done = self._script_sync("put", "put_if_versions", keys, args)
            for i, ok in zip(at, done, strict=True):
                out[i] = bool(ok)
        return out

    async def put_if_versions(
        self, keyspace: Keyspace, items: list[tuple[Any, Any, Hashable]], ttl: Ttl
    ) -> list[bool]:
        """Async twin of :meth:`put_if_versions_sync`."""
        out = [False] * len(items)
        for at, keys, args in self._cas_calls(keyspace, items, ttl):
            done = await self._script("put", "put_if_versions", keys, args)
            for i, ok in zip(at, done, strict=True):
                out[i] = bool(ok)
        return out

    # --- batches (SupportsBatch) ------------------------------------------------------------

    def get_many_sync(self, keyspace: Keyspace, ids: list[Any]) -> list[Any | None]:
        """The values of ``ids`` (``None`` where absent), in one script."""
        return [value for value, _ in self.get_versioned_sync(keyspace, ids)]

    async def get_many(self, keyspace: Keyspace, ids: list[Any]) -> list[Any | None]:
        """Async twin of :meth:`get_many_sync`."""
        return [value for value, _ in await self.get_versioned(keyspace, ids)]

    def put_many_sync(self, keyspace: Keyspace, items: list[tuple[Any, Any]], ttl: Ttl) -> None:
        """Store every ``(id, value)``: one pipeline of the ``put`` script on a single node
        (one ``put`` script per id on a cluster, whose pipelines do not carry scripts)."""
        ms = ttl_ms(ttl)
        pipe = None if self.cluster else self._sync.pipeline(transaction=False)
        script = self._scripts["put"]
        for id, value in items:
            check_value(keyspace, value)
            keys = self._layout.keys(keyspace, id)
            args = [wire.dumps(value) if ms != 0 else b"", ms, PERSISTENT_SCORE]
            if pipe is None:
                run("put", script, keys=[keys.value(id), keys.index], args=args)
            else:
                script(keys=[keys.value(id), keys.index], args=args, client=pipe)
        if pipe is not None:
            run("put", pipe.execute)

    async def put_many(self, keyspace: Keyspace, items: list[tuple[Any, Any]], ttl: Ttl) -> None:
        """Async twin of :meth:`put_many_sync` (the pipeline runs in a worker thread)."""
        await self._thread(self.put_many_sync, keyspace, items, ttl)

    # --- leases (SupportsLeases) ------------------------------------------------------------

    def acquire_lease_sync(self, keyspace: Keyspace, id: Any, token: str, ttl: float) -> bool:
        """``SET lease token NX PX ttl``: whether this caller holds the lease now."""
        ms = max(1, int(ttl * 1000))
        key = self._layout.keys(keyspace, id).lease(id)
        return bool(run("lease", self._sync.set, key, token, nx=True, px=ms))

    async def acquire_lease(self, keyspace: Keyspace, id: Any, token: str, ttl: float) -> bool:
        """Async twin of :meth:`acquire_lease_sync`."""
        side = await self._side()
        if side is None:
            return await self._thread(self.acquire_lease_sync, keyspace, id, token, ttl)
        ms = max(1, int(ttl * 1000))
        key = self._layout.keys(keyspace, id).lease(id)
        return bool(await arun("lease", side.client.set, key, token, nx=True, px=ms))

    def _release_args(self, keyspace: Keyspace, id: Any, token: str) -> tuple[list[str], list[Any]]:
        keys = self._layout.keys(keyspace, id)
        return [keys.lease(id)], [token, keys.lease_channel, id_token(id)]

    def release_lease_sync(self, keyspace: Keyspace, id: Any, token: str) -> bool:
        """Compare-and-delete the lease, then wake its waiters (one script)."""
        args = self._release_args(keyspace, id, token)
        return bool(self._script_sync("lease release", "release_lease", *args))

    async def release_lease(self, keyspace: Keyspace, id: Any, token: str) -> bool:
        """Async twin of :meth:`release_lease_sync`."""
        args = self._release_args(keyspace, id, token)
        return bool(await self._script("lease release", "release_lease", *args))

    def wait_lease_sync(self, keyspace: Keyspace, id: Any, max_wait: float) -> None:
        """Block until the lease of ``id`` is released (notified) or free, at most
        ``max_wait`` seconds."""
        keys = self._layout.keys(keyspace, id)
        token = id_token(id).encode()
        deadline = time.monotonic() + max_wait
        pubsub = self._sync.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call, unused-ignore]
        try:
            run("lease wait", pubsub.subscribe, keys.lease_channel)
            if not run("lease wait", self._sync.exists, keys.lease(id)):
                return
            while (left := deadline - time.monotonic()) > 0:
                message = run("lease wait", pubsub.get_message, timeout=min(left, 1.0))
                if message is not None and message.get("data") == token:
                    return
                if message is None and not run("lease wait", self._sync.exists, keys.lease(id)):
                    return  # expired (a holder that died): no message comes for that
        finally:
            pubsub.close()

    async def wait_lease(self, keyspace: Keyspace, id: Any, max_wait: float) -> None:
        """Async twin of :meth:`wait_lease_sync` (a worker thread waits; cancellable: the
        thread is abandoned and ends within its timeout)."""
        with anyio.move_on_after(max_wait + 1.0):
            await anyio.to_thread.run_sync(
                self.wait_lease_sync, keyspace, id, max_wait, abandon_on_cancel=True
            )

    # --- delete by test (SupportsDeleteWhere) -----------------------------------------------

    def delete_where_sync(
        self, keyspace: Keyspace, test: Callable[[Any], bool], batch: int = BATCH
    ) -> int:
        """Delete every entry whose decoded value passes ``test``, reading the key index
        ``batch`` members at a time (``ZRANGE`` + ``MGET``, never ``SCAN``); changes the deleted
        ids' versions. An undecodable entry or a raising test is no match."""
        model = keyspace.resolve_model()
        deleted = 0
        step = max(1, batch)
        for keys in self._layout.every(keyspace):  # each shard's index, a page at a time
            start = 0
            while True:
                found = run("delete_where", self._sync.zrange, keys.index, start, start + step - 1)
                members: list[bytes] = list(found)
                if not members:
                    break
                raws: list[Any] = list(run("delete_where", self._sync.mget, members))
                doomed: list[str] = []
                for member, raw in zip(members, raws, strict=True):
                    value = _decoded(model, raw)
                    if value is not None and _passes(test, value):
                        name = member.decode()
                        doomed += [name, keys.prefix + ":ver_" + name.rsplit(":id_", 1)[1]]
                if doomed:
                    deleted += int(
                        self._script_sync(
                            "delete_where", "delete_ids", [keys.index, *doomed], [VERSION_TTL_MS]
                        )
                    )
                start += step - len(doomed) // 2
        return deleted

    async def delete_where(
        self, keyspace: Keyspace, test: Callable[[Any], bool], batch: int = BATCH
    ) -> int:
        """Async twin of :meth:`delete_where_sync` (a worker thread)."""
        return await self._thread(self.delete_where_sync, keyspace, test, batch)


def _version(version: Hashable) -> tuple[bytes, bytes]:
    """A version as :meth:`FleetMixin.get_versioned` made it: ``(epoch, counter)``."""
    if not (isinstance(version, tuple) and len(version) == 2):
        raise TypeError(f"not a RedisBackend version: {version!r}")
    epoch, counter = version
    return bytes(epoch), bytes(counter)


def _decoded(model: type, raw: bytes | None) -> Any | None:
    if raw is None:
        return None
    try:
        return wire.loads(model, raw)
    except Exception:
        return None


def _passes(test: Callable[[Any], bool], value: Any) -> bool:
    try:
        return bool(test(value))
    except Exception:
        return False

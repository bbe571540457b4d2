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
import redis

from ... import wire
from ..._wire._ids import id_token
from .._protocol import Keyspace, check_value
from ._client import arun, run
from ._keys import BATCH, PERSISTENT_SCORE, VERSION_TTL_MS, Keys, ttl_ms

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


class FleetMixin:
    """Capabilities of :class:`RedisBackend` beyond section 6 (see the module docstring)."""

    _sync: redis.Redis
    _scripts: dict[str, Any]

    if TYPE_CHECKING:

        def _script_sync(self, what: str, name: str, keys: list[str], args: list[Any]) -> Any: ...

        async def _script(self, what: str, name: str, keys: list[str], args: list[Any]) -> Any: ...

        async def _side(self) -> AsyncSide | None: ...

        async def _thread(self, fn: Callable[..., R], *args: Any) -> R: ...

        def _decode(self, keyspace: Keyspace, raw: bytes | None) -> Any | None: ...

    # --- versions (SupportsVersions) ------------------------------------------------------------

    def _rows(self, keyspace: Keyspace, raw: list[Any]) -> list[tuple[Any | None, Hashable]]:
        epoch = bytes(raw[-1])
        return [
            (self._decode(keyspace, raw[i]), (epoch, bytes(raw[i + 1])))
            for i in range(0, len(raw) - 1, 2)
        ]

    def get_versioned_sync(
        self, keyspace: Keyspace, ids: list[Any]
    ) -> list[tuple[Any | None, Hashable]]:
        """``[(value or None, version)]`` for ``ids``, in one script."""
        keys = _versioned_keys(Keys(keyspace), ids)
        return self._rows(keyspace, self._script_sync("get", "get_versioned", keys, []))

    async def get_versioned(
        self, keyspace: Keyspace, ids: list[Any]
    ) -> list[tuple[Any | None, Hashable]]:
        """Async twin of :meth:`get_versioned_sync`."""
        keys = _versioned_keys(Keys(keyspace), ids)
        return self._rows(keyspace, await self._script("get", "get_versioned", keys, []))

    def _cas_args(
        self, keyspace: Keyspace, items: list[tuple[Any, Any, Hashable]], ttl: Ttl
    ) -> tuple[list[str], list[Any]]:
        ms = ttl_ms(ttl)
        args: list[Any] = [ms, PERSISTENT_SCORE]
        for _, value, version in items:
            check_value(keyspace, value)
            epoch, counter = _version(version)
            args += [wire.dumps(value) if ms != 0 else b"", epoch, counter]
        return _versioned_keys(Keys(keyspace), [id for id, _, _ in items]), args

    def put_if_versions_sync(
        self, keyspace: Keyspace, items: list[tuple[Any, Any, Hashable]], ttl: Ttl
    ) -> list[bool]:
        """Write each ``(id, value, version)`` whose version is unchanged, in one script."""
        done = self._script_sync("put", "put_if_versions", *self._cas_args(keyspace, items, ttl))
        return [bool(x) for x in done]

    async def put_if_versions(
        self, keyspace: Keyspace, items: list[tuple[Any, Any, Hashable]], ttl: Ttl
    ) -> list[bool]:
        """Async twin of :meth:`put_if_versions_sync`."""
        done = await self._script("put", "put_if_versions", *self._cas_args(keyspace, items, ttl))
        return [bool(x) for x in done]

    # --- batches (SupportsBatch) ------------------------------------------------------------

    def get_many_sync(self, keyspace: Keyspace, ids: list[Any]) -> list[Any | None]:
        """The values of ``ids`` (``None`` where absent), in one script."""
        return [value for value, _ in self.get_versioned_sync(keyspace, ids)]

    async def get_many(self, keyspace: Keyspace, ids: list[Any]) -> list[Any | None]:
        """Async twin of :meth:`get_many_sync`."""
        return [value for value, _ in await self.get_versioned(keyspace, ids)]

    def put_many_sync(self, keyspace: Keyspace, items: list[tuple[Any, Any]], ttl: Ttl) -> None:
        """Store every ``(id, value)``: one pipeline of the ``put`` script."""
        keys, ms = Keys(keyspace), ttl_ms(ttl)
        pipe = self._sync.pipeline(transaction=False)
        script = self._scripts["put"]
        for id, value in items:
            check_value(keyspace, value)
            payload = wire.dumps(value) if ms != 0 else b""
            args = [payload, ms, PERSISTENT_SCORE]
            script(keys=[keys.value(id), keys.index], args=args, client=pipe)
        run("put", pipe.execute)

    async def put_many(self, keyspace: Keyspace, items: list[tuple[Any, Any]], ttl: Ttl) -> None:
        """Async twin of :meth:`put_many_sync` (the pipeline runs in a worker thread)."""
        await self._thread(self.put_many_sync, keyspace, items, ttl)

    # --- leases (SupportsLeases) ------------------------------------------------------------

    def acquire_lease_sync(self, keyspace: Keyspace, id: Any, token: str, ttl: float) -> bool:
        """``SET lease token NX PX ttl``: whether this caller holds the lease now."""
        ms = max(1, int(ttl * 1000))
        return bool(run("lease", self._sync.set, Keys(keyspace).lease(id), token, nx=True, px=ms))

    async def acquire_lease(self, keyspace: Keyspace, id: Any, token: str, ttl: float) -> bool:
        """Async twin of :meth:`acquire_lease_sync`."""
        side = await self._side()
        if side is None:
            return await self._thread(self.acquire_lease_sync, keyspace, id, token, ttl)
        ms = max(1, int(ttl * 1000))
        key = Keys(keyspace).lease(id)
        return bool(await arun("lease", side.client.set, key, token, nx=True, px=ms))

    def _release_args(self, keyspace: Keyspace, id: Any, token: str) -> tuple[list[str], list[Any]]:
        keys = Keys(keyspace)
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
        keys = Keys(keyspace)
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
        keys = Keys(keyspace)
        model = keyspace.resolve_model()
        start = deleted = 0
        step = max(1, batch)
        while True:
            found = run("delete_where", self._sync.zrange, keys.index, start, start + step - 1)
            members: list[bytes] = list(found)  # type: ignore[arg-type]
            if not members:
                return deleted
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

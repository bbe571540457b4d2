"""The Redis backend: values, the key index and invalidations through Lua scripts."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import anyio
import anyio.lowlevel
import anyio.to_thread
import redis
import redis.asyncio
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster

from ... import wire
from .._messages import encode_message
from .._protocol import InvalidateAll, InvalidateId, Invalidation, Keyspace, check_value
from ._client import KEEPERS, KEEPERS_LOCK, AsyncSide, arun, close_at_loop_shutdown, run
from ._fleet import FleetMixin
from ._keys import BATCH, PERSISTENT_SCORE, SCRIPTS, VERSION_TTL_MS, Keys, Layout, ttl_ms
from ._stream import RedisInvalidations

__all__ = ["RedisBackend"]

R = TypeVar("R")


class RedisBackend(FleetMixin):
    """A :class:`~sassi.backends.Backend` on Redis or a Redis Cluster.

    :param target: a ``redis://`` URL, a ``redis.Redis`` / ``redis.asyncio.Redis`` client, or a
        ``redis.cluster.RedisCluster`` / ``redis.asyncio.cluster.RedisCluster`` client (or pass it
        as ``url=`` / ``client=``). With a sync client, async methods run it in worker threads;
        with an asyncio client, sync methods and trio use a sync client built from its
        connection settings. Clients must not use ``decode_responses=True``.
    :param socket_timeout: seconds before a Redis call counts as unavailable (URL form only).
    :param cluster: treat a URL as one node of a Redis Cluster (see :meth:`from_url`).
    :param shards: how many hash tags (slots) one keyspace is spread over; default 1 on a
        single node and 16 on a cluster. Every process sharing a keyspace must use the same
        count (it is part of the key names).
    :raises ValueError: for a client with ``decode_responses=True``, not exactly one target, or
        a shard count outside 1..16384.
    :raises TypeError: for anything else than a URL or a redis-py client.
    """

    def __init__(
        self,
        target: str
        | redis.Redis
        | redis.asyncio.Redis
        | RedisCluster
        | AsyncRedisCluster
        | None = None,
        *,
        url: str | None = None,
        client: redis.Redis | redis.asyncio.Redis | RedisCluster | AsyncRedisCluster | None = None,
        socket_timeout: float = 5.0,
        cluster: bool = False,
        shards: int | None = None,
    ) -> None:
        given = [t for t in (target, url, client) if t is not None]
        if len(given) != 1:
            raise ValueError("RedisBackend needs exactly one of a URL or a client")
        target = given[0]
        self._lock = threading.Lock()
        self._sides: weakref.WeakKeyDictionary[Any, AsyncSide] = weakref.WeakKeyDictionary()
        self._given_async: redis.asyncio.Redis | None = None
        self._async_factory: Callable[[], redis.asyncio.Redis] | None = None
        timeouts: dict[str, Any] = {
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout,
        }
        self._sync: Any
        if isinstance(target, str):
            url = target
            if cluster:
                self._sync = RedisCluster.from_url(url, **timeouts)
            else:
                self._sync = redis.Redis.from_url(url, **timeouts)
                self._async_factory = lambda: redis.asyncio.Redis.from_url(url, **timeouts)
        elif isinstance(target, AsyncRedisCluster):
            # an asyncio cluster client that never ran a command knows only its startup nodes
            nodes = target.get_nodes() or list(target.nodes_manager.startup_nodes.values())
            node = target.get_default_node() or nodes[0]
            settings: dict[str, Any] = dict(node.connection_kwargs)
            self._check_bytes(settings)
            wanted = ("username", "password", "socket_timeout", "socket_connect_timeout")
            self._sync = RedisCluster(
                host=node.host,
                port=int(node.port),
                **{k: settings[k] for k in wanted if k in settings},
            )
        elif isinstance(target, RedisCluster):
            self._check_bytes(target.get_connection_kwargs())  # type: ignore[no-untyped-call]
            self._sync = target
        elif isinstance(target, redis.asyncio.Redis):
            kwargs = target.connection_pool.connection_kwargs
            self._check_bytes(kwargs)
            keep = ("host", "port", "db", "username", "password", "socket_timeout")
            self._sync = redis.Redis(**{k: kwargs[k] for k in keep if k in kwargs})
            self._given_async = target
        elif isinstance(target, redis.Redis):
            self._check_bytes(target.connection_pool.connection_kwargs)
            self._sync = target
        else:
            raise TypeError(
                f"RedisBackend needs a redis:// URL or a redis-py client, got {target!r}"
            )
        self.cluster = isinstance(self._sync, RedisCluster)
        self._layout = Layout((16 if self.cluster else 1) if shards is None else shards)
        self._scripts = {name: self._sync.register_script(src) for name, src in SCRIPTS.items()}

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        cluster: bool = False,
        shards: int | None = None,
        socket_timeout: float = 5.0,
    ) -> RedisBackend:
        """A backend for ``url``; with ``cluster=True`` the URL names any node of a Redis
        Cluster (the client discovers the others), and a keyspace is spread over ``shards``
        hash tags (16 by default) so every master holds some of a large type.

        ``redis+cluster://host:port`` URLs (SPEC 11.11, e.g. ``Punnu(backend=...)``) mean
        ``cluster=True``.
        """
        if url.startswith("redis+cluster://"):
            url, cluster = "redis://" + url.split("://", 1)[1], True
        return cls(url, cluster=cluster, shards=shards, socket_timeout=socket_timeout)

    @property
    def shards(self) -> int:
        """How many hash tags one keyspace is spread over."""
        return self._layout.shards

    def __repr__(self) -> str:
        if self.cluster:
            nodes = ", ".join(n.name for n in self._sync.get_primaries())
            return f"<RedisBackend cluster [{nodes}] shards={self.shards}>"
        kwargs = self._sync.connection_pool.connection_kwargs
        where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
        return f"<RedisBackend {where} db={kwargs.get('db', 0)}>"

    @staticmethod
    def _check_bytes(kwargs: dict[str, Any]) -> None:
        if kwargs.get("decode_responses"):
            raise ValueError("RedisBackend needs a client with decode_responses=False")

    @property
    def client(self) -> redis.Redis | RedisCluster:
        """The sync client (a ``RedisCluster`` on a cluster)."""
        client: redis.Redis | RedisCluster = self._sync
        return client

    # --- async plumbing ---------------------------------------------------------------------

    async def _side(self) -> AsyncSide | None:
        """This loop's asyncio client, or ``None`` when async calls must use a worker thread."""
        native = anyio.lowlevel.current_token().native_token
        if not hasattr(native, "call_soon_threadsafe"):  # not asyncio (trio)
            return None
        factory = self._async_factory
        if self._given_async is None and factory is None:
            return None
        with self._lock:
            side = self._sides.get(native)
            if side is not None:
                return side
            if self._given_async is not None:  # the caller owns (and closes) that client
                side = self._sides[native] = AsyncSide(self._given_async)
                return side
            assert factory is not None
            side = self._sides[native] = AsyncSide(factory())
        # A client we made is closed when the loop finalises its async generators (asyncio.run
        # and anyio's runner do), so a backend nobody closes never leaks sockets past its loop.
        keeper = side.keeper = close_at_loop_shutdown(side.client)
        await keeper.asend(None)
        with KEEPERS_LOCK:  # the loop, not this backend, keeps it alive until its shutdown
            KEEPERS.setdefault(native, []).append(keeper)
        return side

    async def _thread(self, fn: Callable[..., R], *args: Any) -> R:
        return await anyio.to_thread.run_sync(fn, *args)

    def _script_sync(self, what: str, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run the Lua script ``name`` (one round trip), errors mapped to sassi's."""
        return run(what, self._scripts[name], keys=keys, args=args)

    async def _script(self, what: str, name: str, keys: list[str], args: list[Any]) -> Any:
        """Async twin of :meth:`_script_sync` (a worker thread under trio)."""
        side = await self._side()
        if side is None:
            return await self._thread(self._script_sync, what, name, keys, args)
        return await arun(what, side.scripts[name], keys=keys, args=args)

    # --- operations --------------------------------------------------------------------------

    def _decode(self, keyspace: Keyspace, raw: bytes | None) -> Any | None:
        if raw is None:
            return None
        return wire.loads(keyspace.resolve_model(), raw)

    def get_sync(self, keyspace: Keyspace, id: Any) -> Any | None:
        """The stored value, or ``None`` (expired values are gone; stale index entries pruned).

        :raises BackendUnavailable: when Redis cannot be reached.
        :raises WireFormatError: when the stored bytes are not a valid value container.
        """
        keys = self._layout.keys(keyspace, id)
        raw = self._script_sync("get", "get", [keys.value(id), keys.index], [])
        return self._decode(keyspace, raw)

    async def get(self, keyspace: Keyspace, id: Any) -> Any | None:
        """Async twin of :meth:`get_sync`."""
        keys = self._layout.keys(keyspace, id)
        raw = await self._script("get", "get", [keys.value(id), keys.index], [])
        return self._decode(keyspace, raw)

    def _put_args(
        self, keyspace: Keyspace, id: Any, value: Any, ttl: float | timedelta | None
    ) -> tuple[list[str], list[Any]]:
        check_value(keyspace, value)
        ms = ttl_ms(ttl)
        keys = self._layout.keys(keyspace, id)
        payload = wire.dumps(value) if ms != 0 else b""
        return [keys.value(id), keys.index], [payload, ms, PERSISTENT_SCORE]

    def put_sync(
        self, keyspace: Keyspace, id: Any, value: Any, ttl: float | timedelta | None
    ) -> None:
        """Store ``value`` and its index entry atomically (a ttl ``<= 0`` removes both).

        A ttl beyond Redis's expiry window (about 285,000 years) is stored without expiry.

        :raises BackendUnavailable: when Redis cannot be reached.
        """
        keys, args = self._put_args(keyspace, id, value, ttl)
        self._script_sync("put", "put", keys, args)

    async def put(
        self, keyspace: Keyspace, id: Any, value: Any, ttl: float | timedelta | None
    ) -> None:
        """Async twin of :meth:`put_sync`."""
        keys, args = self._put_args(keyspace, id, value, ttl)
        await self._script("put", "put", keys, args)

    def _invalidate_args(self, keyspace: Keyspace, id: Any) -> tuple[list[str], list[Any]]:
        keys = self._layout.keys(keyspace, id)
        message = encode_message(InvalidateId(id), keyspace.origin)
        return [keys.value(id), keys.index, keys.version(id)], [
            "" if self.cluster else keys.channel,
            message,
            VERSION_TTL_MS,
        ]

    def _publish_sync(self, channel: str, payload: bytes) -> None:
        """``PUBLISH``; on a cluster always through the node serving the channel's slot, where
        the keyspace's subscribers listen, so they see messages in the order sent."""
        if self.cluster:
            node = self._sync.get_node_from_key(channel)
            run("publish", self._sync.publish, channel, payload, target_nodes=node)
        else:
            run("publish", self._sync.publish, channel, payload)

    def invalidate_sync(self, keyspace: Keyspace, id: Any) -> None:
        """Delete ``id``, change its version and publish an id message: atomically on one
        node; on a cluster the publish follows the delete (through the channel's node).

        :raises BackendUnavailable: when Redis cannot be reached.
        """
        keys, args = self._invalidate_args(keyspace, id)
        self._script_sync("invalidate", "invalidate", keys, args)
        if self.cluster:
            self._publish_sync(Keys(keyspace).channel, args[1])

    async def invalidate(self, keyspace: Keyspace, id: Any) -> None:
        """Async twin of :meth:`invalidate_sync`."""
        if self.cluster:
            return await self._thread(self.invalidate_sync, keyspace, id)
        await self._script("invalidate", "invalidate", *self._invalidate_args(keyspace, id))
        return None

    def invalidate_all_sync(self, keyspace: Keyspace) -> None:
        """Change the keyspace's epoch (every version), drain the key index in batches (no
        ``SCAN``), then publish an "all" message.

        Not a barrier for plain ``put`` calls: one may land after the drain. A fetch's
        versioned write-back cannot (its epoch is gone).

        :raises BackendUnavailable: when Redis cannot be reached.
        """
        every = self._layout.every(keyspace)
        for keys in every:  # each shard: its epoch first, then its index
            run("invalidate_all", self._sync.incr, keys.epoch)
            while self._script_sync("invalidate_all", "drain", [keys.index], [BATCH]):
                pass
        self._publish_sync(every[0].channel, encode_message(InvalidateAll(), keyspace.origin))

    async def invalidate_all(self, keyspace: Keyspace) -> None:
        """Async twin of :meth:`invalidate_all_sync`."""
        side = await self._side()
        if side is None:
            return await self._thread(self.invalidate_all_sync, keyspace)
        every = self._layout.every(keyspace)
        for keys in every:
            await arun("invalidate_all", side.client.incr, keys.epoch)
            while await self._script("invalidate_all", "drain", [keys.index], [BATCH]):
                pass
        message = encode_message(InvalidateAll(), keyspace.origin)
        await arun("invalidate_all", side.client.publish, every[0].channel, message)
        return None

    def publish_sync(self, keyspace: Keyspace, message: Invalidation) -> None:
        """Publish ``message`` on the keyspace's channel (stores nothing).

        :raises BackendUnavailable: when Redis cannot be reached.
        """
        self._publish_sync(Keys(keyspace).channel, encode_message(message, keyspace.origin))

    async def publish(self, keyspace: Keyspace, message: Invalidation) -> None:
        """Async twin of :meth:`publish_sync`."""
        side = await self._side()
        if side is None:
            return await self._thread(self.publish_sync, keyspace, message)
        await arun(
            "publish",
            side.client.publish,
            Keys(keyspace).channel,
            encode_message(message, keyspace.origin),
        )
        return None

    def invalidations(self, keyspace: Keyspace) -> RedisInvalidations:
        """A subscription to the keyspace's channel (connects on first use).

        Call ``await stream.ready()`` to wait until it is subscribed; close it with
        ``await stream.aclose()``.
        """
        return RedisInvalidations(self, keyspace)

    # --- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the sync client's connections (async clients: use :meth:`aclose`)."""
        self._sync.close()

    async def aclose(self) -> None:
        """Close this event loop's asyncio client (if one was made) and the sync client."""
        native = anyio.lowlevel.current_token().native_token
        with self._lock:
            side = self._sides.pop(native, None)
        if side is not None and side.keeper is not None:
            with KEEPERS_LOCK:
                keepers = KEEPERS.get(native, [])
                if side.keeper in keepers:
                    keepers.remove(side.keeper)
            await side.keeper.aclose()  # closes the client
        self._sync.close()

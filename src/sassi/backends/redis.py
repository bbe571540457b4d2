"""A Redis backend on redis-py (``pip install sassi[redis]``).

This module is the public surface; the implementation lives in ``sassi.backends._redis``, and
those are the only modules that import redis.

Keys of one keyspace share a Cluster hash tag::

    sassi:{ns_<hex(namespace)>:ty_<hex(type name)>}:id_<hex(json(id))>   a kind-1 wire value
    sassi:{ns_...:ty_...}:keys          sorted set of the value keys, scored by expiry unix-ms
                                        (2**53 - 1 for values without a ttl)
    sassi:{ns_...:ty_...}:invalidate    pub/sub channel

(``ns_none`` when the pool has no namespace; ids are encoded as compact JSON, see
:func:`sassi.wire.encode_id`.) Lua scripts keep each value and its index entry in step and prune
index members whose expiry has passed (Redis ``TIME``). A ttl beyond Redis's expiry window
(``now + ttl`` at or past ``2**53`` ms since the epoch, some 285,000 years away) is stored
without expiry. ``invalidate`` deletes and publishes ``{"v":1,"op":"id","id":<json id>}`` in
one script; ``invalidate_all`` drains the index in batches of 500 (never ``SCAN``), then
publishes ``{"v":1,"op":"all"}``; ``publish`` of an :class:`InvalidateWhere` sends
``{"v":1,"op":"where","predicate":"<predicate JSON>"}``. A keyspace with an ``origin`` adds
``"o":"<origin>"``; a stream skips messages carrying its own. Messages are untrusted input,
bounded before decoding (:mod:`sassi.backends._messages`).

Sync methods use a ``redis.Redis`` client. Async methods use a ``redis.asyncio.Redis`` client
(one per event loop) under asyncio; under trio, where redis-py's asyncio client cannot run, they
run the sync client in a worker thread. A command that meets a connection error is tried once
more (pooled sockets go stale when Redis restarts); then connection errors raise
:class:`~sassi.BackendUnavailable`, timeouts :class:`~sassi.BackendTimeout` (a subclass: the
command may have run) and other Redis errors :class:`~sassi.BackendError`.

``invalidations()`` returns a :class:`RedisInvalidations` stream. It never raises for a lost
connection: it waits out a capped backoff (10 ms doubling up to 5 s, started over only after a
subscription lived 1 s) and resubscribes, keeping the connection redis-py itself resubscribed,
then yields :class:`InvalidateAll` once (messages published while disconnected are gone) and
every message published after the resubscription. A malformed message comes out as a
:class:`~sassi.backends.MalformedMessage` item (its ``error`` a :class:`~sassi.CodecError`)
and the stream goes on.
"""

from __future__ import annotations

from ._redis._backend import RedisBackend as RedisBackend
from ._redis._stream import RedisInvalidations as RedisInvalidations

__all__ = ["RedisBackend", "RedisInvalidations"]

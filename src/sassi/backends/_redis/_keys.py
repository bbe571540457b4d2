"""Key layout, the Lua scripts that keep values and the key index in step, ttl conversion."""

from __future__ import annotations

import hashlib
import math
import time
from datetime import timedelta
from typing import Any

from ..._wire._ids import id_token
from .._protocol import Keyspace, ttl_seconds

__all__ = [
    "BATCH",
    "Layout",
    "PERSISTENT_SCORE",
    "SCRIPTS",
    "VERSION_TTL_MS",
    "Keys",
    "ttl_ms",
]

PERSISTENT_SCORE = 2**53 - 1
BATCH = 500
VERSION_TTL_MS = 86_400_000
"""How long an id's version outlives its last invalidation: far longer than any fetch."""

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
"""
GET = _NOW + "return redis.call('GET', KEYS[1])\n"
_STORE = """
local function store(key, index, payload, ttl, persistent)
  if ttl < 0 then
    redis.call('SET', key, payload)
    redis.call('ZADD', index, persistent, key)
  elseif ttl == 0 then
    redis.call('DEL', key)
    redis.call('ZREM', index, key)
  else
    redis.call('SET', key, payload, 'PX', ttl)
    redis.call('ZADD', index, now + ttl, key)
  end
end
"""
PUT = _NOW + _STORE + "store(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), ARGV[3])\nreturn 1\n"
# KEYS: value, index, version. ARGV: channel ('' to publish apart, as a cluster does), message,
# version ttl (ms). Deleting bumps the
# id's version, so a fetch that read the old one cannot write back (put_if_versions).
INVALIDATE = """
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], KEYS[1])
redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
if ARGV[1] ~= '' then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
return 1
"""
DRAIN = """
local members = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #members == 0 then return 0 end
redis.call('DEL', unpack(members))
redis.call('ZREM', KEYS[1], unpack(members))
return #members
"""


# KEYS: epoch, index, then (value, version) per id. Returns value, version per id, then the
# keyspace epoch (bumped by invalidate_all).
GET_VERSIONED = (
    _NOW
    + """
local out = {}
for i = 3, #KEYS, 2 do
  out[#out + 1] = redis.call('GET', KEYS[i]) or false
  out[#out + 1] = redis.call('GET', KEYS[i + 1]) or '0'
end
out[#out + 1] = redis.call('GET', KEYS[1]) or '0'
return out
"""
)
# KEYS: epoch, index, then (value, version) per id. ARGV: ttl, persistent score, then
# (payload, expected epoch, expected version) per id. Writes each id whose epoch and version
# are unchanged; returns 1/0 per id.
PUT_IF_VERSIONS = (
    _NOW
    + _STORE
    + """
local epoch = redis.call('GET', KEYS[1]) or '0'
local ttl = tonumber(ARGV[1])
local out = {}
for i = 3, #KEYS, 2 do
  local a = 3 + (i - 3) / 2 * 3
  local version = redis.call('GET', KEYS[i + 1]) or '0'
  if epoch == ARGV[a + 1] and version == ARGV[a + 2] then
    store(KEYS[i], KEYS[2], ARGV[a], ttl, ARGV[2])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
"""
)
# KEYS: index, then (value, version) per id. ARGV: version ttl. Deletes without publishing.
DELETE_IDS = """
local deleted = 0
for i = 2, #KEYS, 2 do
  deleted = deleted + redis.call('DEL', KEYS[i])
  redis.call('ZREM', KEYS[1], KEYS[i])
  redis.call('INCR', KEYS[i + 1])
  redis.call('PEXPIRE', KEYS[i + 1], ARGV[1])
end
return deleted
"""
# KEYS: lease. ARGV: token, channel, id token. Compare-and-delete, then wake the waiters.
RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0
"""

SCRIPTS = {
    "get": GET,
    "put": PUT,
    "invalidate": INVALIDATE,
    "drain": DRAIN,
    "get_versioned": GET_VERSIONED,
    "put_if_versions": PUT_IF_VERSIONS,
    "delete_ids": DELETE_IDS,
    "release_lease": RELEASE_LEASE,
}


class Keys:
    """The Redis keys of one keyspace, or of one shard of it (all under one hash tag).

    ``shard=None`` (one Redis node, the default): ``sassi:{<token>}:…``; a shard ``k`` of a
    sharded keyspace (Redis Cluster): ``sassi:{<token>:s<k>}:…``, so each shard lands in its
    own slot and a large type spreads over the masters. The pub/sub channels are per keyspace.
    """

    __slots__ = ("channel", "epoch", "index", "lease_channel", "prefix")

    def __init__(self, keyspace: Keyspace, shard: int | None = None) -> None:
        tag = keyspace.token if shard is None else f"{keyspace.token}:s{shard}"
        self.prefix = f"sassi:{{{tag}}}"
        self.index = self.prefix + ":keys"
        self.epoch = self.prefix + ":epoch"
        base = f"sassi:{{{keyspace.token}}}"
        self.channel = base + ":invalidate"
        self.lease_channel = base + ":leases"

    def value(self, id: Any) -> str:
        return f"{self.prefix}:id_{id_token(id)}"

    def version(self, id: Any) -> str:
        return f"{self.prefix}:ver_{id_token(id)}"

    def lease(self, id: Any) -> str:
        return f"{self.prefix}:lease_{id_token(id)}"


class Layout:
    """How a keyspace maps onto Redis: one hash tag (``shards == 1``) or ``shards`` of them.

    Every process sharing a keyspace must use the same shard count (it is part of the key
    names). The shard of an id is a stable hash of its wire id, so it is the same everywhere.
    """

    __slots__ = ("shards",)

    def __init__(self, shards: int) -> None:
        if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= 16384:
            raise ValueError(f"shards must be an int from 1 to 16384, got {shards!r}")
        self.shards = shards

    def shard(self, id: Any) -> int | None:
        if self.shards == 1:
            return None
        digest = hashlib.blake2b(id_token(id).encode(), digest_size=4).digest()
        return int.from_bytes(digest, "big") % self.shards

    def keys(self, keyspace: Keyspace, id: Any) -> Keys:
        """The keys of ``id``'s shard."""
        return Keys(keyspace, self.shard(id))

    def every(self, keyspace: Keyspace) -> list[Keys]:
        """The keys of every shard (one entry without sharding)."""
        if self.shards == 1:
            return [Keys(keyspace)]
        return [Keys(keyspace, k) for k in range(self.shards)]

    def group(self, keyspace: Keyspace, ids: list[Any]) -> list[tuple[Keys, list[int]]]:
        """``ids`` by shard: ``[(keys of the shard, positions in ids)]``, in first-seen order."""
        groups: dict[int | None, tuple[Keys, list[int]]] = {}
        for i, id in enumerate(ids):
            shard = self.shard(id)
            entry = groups.get(shard)
            if entry is None:
                entry = groups[shard] = (Keys(keyspace, shard), [])
            entry[1].append(i)
        return list(groups.values())


def ttl_ms(ttl: float | timedelta | None) -> int:
    """-1 for no expiry, 0 for "remove", else whole milliseconds (a sub-ms ttl rounds up to 1).

    A ttl whose expiry would land at or past :data:`PERSISTENT_SCORE` milliseconds after the
    epoch (about 285,000 years from now, far inside what Redis accepts for ``PX``) is stored
    without expiry, like ``None``: it can never be reached, and Memory and File backends
    accept such ttls too.
    """
    seconds = ttl_seconds(ttl)
    if seconds is None:
        return -1
    if seconds <= 0:
        return 0
    ms = max(1, math.ceil(seconds * 1000))
    if ms >= PERSISTENT_SCORE - math.ceil(time.time() * 1000):
        return -1
    return ms

"""Key layout, the Lua scripts that keep values and the key index in step, ttl conversion."""

from __future__ import annotations

import math
import time
from datetime import timedelta
from typing import Any

from ..._wire._ids import id_token
from .._protocol import Keyspace, ttl_seconds

__all__ = ["BATCH", "DRAIN", "GET", "INVALIDATE", "PERSISTENT_SCORE", "PUT", "Keys", "ttl_ms"]

PERSISTENT_SCORE = 2**53 - 1
BATCH = 500

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
"""
GET = _NOW + "return redis.call('GET', KEYS[1])\n"
PUT = (
    _NOW
    + """
local ttl = tonumber(ARGV[2])
if ttl < 0 then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('ZADD', KEYS[2], ARGV[3], KEYS[1])
elseif ttl == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
  redis.call('ZADD', KEYS[2], now + ttl, KEYS[1])
end
return 1
"""
)
INVALIDATE = """
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
"""
DRAIN = """
local members = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #members == 0 then return 0 end
redis.call('DEL', unpack(members))
redis.call('ZREM', KEYS[1], unpack(members))
return #members
"""


class Keys:
    """The Redis keys of one keyspace (all under one Cluster hash tag)."""

    __slots__ = ("channel", "index", "prefix")

    def __init__(self, keyspace: Keyspace) -> None:
        self.prefix = f"sassi:{{{keyspace.token}}}"
        self.index = self.prefix + ":keys"
        self.channel = self.prefix + ":invalidate"

    def value(self, id: Any) -> str:
        return f"{self.prefix}:id_{id_token(id)}"


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

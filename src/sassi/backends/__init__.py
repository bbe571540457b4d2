"""L2 backends: the :class:`Backend` protocol and the built-in memory and file backends.

``sassi.backends.redis.RedisBackend`` lives in its own submodule (needs ``sassi[redis]``) and is
imported only when asked for.
"""

from ._protocol import Backend as Backend
from ._protocol import InvalidateAll as InvalidateAll
from ._protocol import InvalidateId as InvalidateId
from ._protocol import InvalidateWhere as InvalidateWhere
from ._protocol import Invalidation as Invalidation
from ._protocol import Keyspace as Keyspace
from ._protocol import MalformedMessage as MalformedMessage
from ._protocol import SupportsPublish as SupportsPublish
from .file import FileBackend as FileBackend
from .memory import MemoryBackend as MemoryBackend

__all__ = [
    "Backend",
    "FileBackend",
    "InvalidateAll",
    "InvalidateId",
    "InvalidateWhere",
    "Invalidation",
    "Keyspace",
    "MalformedMessage",
    "MemoryBackend",
    "SupportsPublish",
]

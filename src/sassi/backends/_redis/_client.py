"""redis-py clients: error mapping, one retry on a stale socket, one asyncio client per loop."""

from __future__ import annotations

import threading
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, TypeVar

import redis
import redis.asyncio
import redis.exceptions

from ...exceptions import BackendError, BackendTimeout, BackendUnavailable
from ._keys import SCRIPTS

__all__ = ["KEEPERS", "KEEPERS_LOCK", "AsyncSide", "arun", "close_at_loop_shutdown", "run", "wrap"]

R = TypeVar("R")


_CLUSTER_TRANSIENT = (  # a cluster failing over: the same call succeeds once it has
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
    redis.exceptions.MasterDownError,
)


def wrap(exc: Exception, what: str) -> BackendError:
    """A Redis error as sassi's: connection errors are transient; timeouts are transient with
    an unknown outcome (the command may have run: :class:`~sassi.exceptions.BackendTimeout`)."""
    if isinstance(exc, redis.exceptions.TimeoutError | TimeoutError):
        return BackendTimeout(f"redis {what}: no answer in time ({exc})")
    if isinstance(exc, (redis.exceptions.ConnectionError, OSError, *_CLUSTER_TRANSIENT)):
        return BackendUnavailable(f"redis {what}: {exc}")
    return BackendError(f"redis {what}: {exc}")


def run(what: str, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Call Redis; on a connection error try once more (a pooled socket may be stale after a
    server restart; redis-py has dropped it), then map errors to sassi's."""
    try:
        return fn(*args, **kwargs)
    except redis.exceptions.ConnectionError:
        pass
    except redis.exceptions.RedisError as exc:
        raise wrap(exc, what) from exc
    try:
        return fn(*args, **kwargs)
    except redis.exceptions.RedisError as exc:
        raise wrap(exc, what) from exc


async def arun(what: str, fn: Callable[..., Awaitable[R]], *args: Any, **kwargs: Any) -> R:
    """Async twin of :func:`run`."""
    try:
        return await fn(*args, **kwargs)
    except redis.exceptions.ConnectionError:
        pass
    except redis.exceptions.RedisError as exc:
        raise wrap(exc, what) from exc
    try:
        return await fn(*args, **kwargs)
    except redis.exceptions.RedisError as exc:
        raise wrap(exc, what) from exc


KEEPERS: weakref.WeakKeyDictionary[Any, list[AsyncGenerator[None, None]]] = (
    weakref.WeakKeyDictionary()
)
KEEPERS_LOCK = threading.Lock()


async def close_at_loop_shutdown(client: redis.asyncio.Redis) -> AsyncGenerator[None, None]:
    """Suspends once; the loop's ``shutdown_asyncgens`` closes it, which closes ``client``."""
    try:
        yield
    finally:
        await client.aclose()


class AsyncSide:
    """One event loop's asyncio client and its registered scripts."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.client = client
        self.keeper: AsyncGenerator[None, None] | None = None
        self.scripts = {name: client.register_script(src) for name, src in SCRIPTS.items()}

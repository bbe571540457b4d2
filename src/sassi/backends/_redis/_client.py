"""redis-py clients: error mapping, one retry on a stale socket, one asyncio client per loop."""

from __future__ import annotations

import threading
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, TypeVar

import redis
import redis.asyncio
import redis.exceptions

from ...exceptions import BackendError, BackendUnavailable
from ._keys import DRAIN, GET, INVALIDATE, PUT

__all__ = ["KEEPERS", "KEEPERS_LOCK", "AsyncSide", "arun", "close_at_loop_shutdown", "run", "wrap"]

R = TypeVar("R")


def wrap(exc: Exception, what: str) -> BackendError:
    """A Redis error as sassi's: connection errors and timeouts are transient."""
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError | OSError):
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
        self.get = client.register_script(GET)
        self.put = client.register_script(PUT)
        self.invalidate = client.register_script(INVALIDATE)
        self.drain = client.register_script(DRAIN)

"""redis-py clients: error mapping, one retry on a stale socket, one asyncio client per loop."""

from __future__ import annotations

import os
import threading
import time
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


_REDIS_PY = os.path.dirname(redis.__file__) + os.sep
# Waits between tries while a cluster slot is migrating to a master redis-py cannot route to
# yet (see _misrouted): ~1.6 s in all, far longer than one slot's migration takes.
_MISROUTED_WAITS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8)


def _misrouted(exc: BaseException) -> bool:
    """redis-py's cluster client failing on a node it does not know: an ``ASK`` redirect to a
    master that owns no slot yet (slots are migrating *to* it: ``--cluster rebalance`` onto a
    new master) makes it dereference ``None`` (redis/redis-py#4015, unfixed in redis-py 8.2).
    The command was not run anywhere (the old master answered ``ASK``; the new one was never
    reached), so it can be sent again; once the slot has moved, the old master answers
    ``MOVED``, which redis-py does handle for unknown nodes."""
    if not isinstance(exc, AttributeError) or "NoneType" not in str(exc):
        return False
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_code.co_filename.startswith(_REDIS_PY)


def run(what: str, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Call Redis; on a connection error try once more (a pooled socket may be stale after a
    server restart; redis-py has dropped it), then map errors to sassi's. A call redis-py's
    cluster client cannot route (:func:`_misrouted`) is sent again for up to ~1.6 s, then
    reported as :class:`~sassi.exceptions.BackendUnavailable`."""
    try:
        return _routed(what, fn, *args, **kwargs)
    except redis.exceptions.ConnectionError:
        pass
    except redis.exceptions.RedisError as exc:
        raise wrap(exc, what) from exc
    try:
        return _routed(what, fn, *args, **kwargs)
    except redis.exceptions.RedisError as exc:
        raise wrap(exc, what) from exc


def _routed(what: str, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """``fn(*args, **kwargs)``, sent again after each of :data:`_MISROUTED_WAITS` while
    redis-py cannot route it (:func:`_misrouted`); other errors pass through."""
    for wait in (*_MISROUTED_WAITS, None):
        try:
            return fn(*args, **kwargs)
        except AttributeError as exc:
            if not _misrouted(exc):
                raise
            if wait is None:
                raise BackendUnavailable(
                    f"redis {what}: the cluster client could not route the call while a slot "
                    "migrates to a master it does not know yet (redis-py bug "
                    f"redis/redis-py#4015): {exc}"
                ) from exc
        time.sleep(wait)
    raise AssertionError("unreachable: the last try returns or raises")


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

"""Sans-I/O operations: one generator per operation, a sync driver and an async driver.

An operation that talks to a backend or a fetcher is written once, as a generator of plain
synchronous decisions that *yields* each I/O step it needs (an :class:`Effect`) and receives
its result (or has its exception thrown in at the ``yield``)::

    def load(key) -> Op[Value | None]:
        if suppressed(key):
            return None
        value = yield Call(backend.get_sync, backend.get, keyspace, key)
        return fill(key, value)

:func:`drive_sync` performs the effects with blocking calls (any thread, no event loop);
:func:`drive_async` awaits them (asyncio or trio). The decisions — what to read, write,
suppress, publish, whether a write-back is stale — live only in the generator, as in h11 or
wsproto, where the protocol is code and the I/O is the caller's.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, Awaitable, Callable, Generator
from typing import Any, TypeVar

import anyio
import anyio.to_thread

__all__ = ["Call", "CallFetcher", "Effect", "Op", "Shielded", "drive_async", "drive_sync"]

R = TypeVar("R")


class Effect:
    """One I/O step of an operation, performable both ways."""

    __slots__ = ()

    def run_sync(self) -> Any:
        raise NotImplementedError

    async def run_async(self) -> Any:
        raise NotImplementedError


Op = Generator[Effect, Any, R]
"""An operation: yields effects, receives their results, returns ``R``."""


class Call(Effect):
    """Call ``sync_fn(*args)`` in the sync driver, ``await async_fn(*args)`` in the async one."""

    __slots__ = ("args", "async_fn", "sync_fn")

    def __init__(
        self, sync_fn: Callable[..., Any], async_fn: Callable[..., Awaitable[Any]], *args: Any
    ) -> None:
        self.sync_fn = sync_fn
        self.async_fn = async_fn
        self.args = args

    def run_sync(self) -> Any:
        return self.sync_fn(*self.args)

    async def run_async(self) -> Any:
        return await self.async_fn(*self.args)


class Shielded(Effect):
    """Run ``effect`` even while the caller is being cancelled (async driver), for at most
    ``limit`` seconds: clean-up I/O such as releasing a lease."""

    __slots__ = ("effect", "limit")

    def __init__(self, effect: Effect, limit: float = 2.0) -> None:
        self.effect = effect
        self.limit = limit

    def run_sync(self) -> Any:
        return self.effect.run_sync()

    async def run_async(self) -> Any:
        with anyio.CancelScope(shield=True), anyio.move_on_after(self.limit):
            return await self.effect.run_async()
        return None


class CallFetcher(Effect):
    """Call a user's fetcher, of either colour (SPEC 11.5).

    Sync driver: a plain function is called; an async one is refused with a ``TypeError`` that
    names the async API to use. Async driver: an async function is awaited; a plain function
    runs in a worker thread, so it never blocks the event loop.
    """

    __slots__ = ("api", "args", "collect", "fetcher")

    def __init__(
        self, fetcher: Callable[..., Any], api: str, *args: Any, collect: bool = False
    ) -> None:
        self.fetcher = fetcher
        self.api = api
        self.args = args
        self.collect = collect  # an async iterable result is read into a list (async only)

    def _refuse(self) -> TypeError:
        return TypeError(
            f"the fetcher {self.fetcher!r} is async; use the async variant (a{self.api}) "
            "for async fetchers"
        )

    def run_sync(self) -> Any:
        if is_async_callable(self.fetcher):
            raise self._refuse()
        result = self.fetcher(*self.args)
        if inspect.isawaitable(result) or isinstance(result, AsyncIterable):
            if inspect.iscoroutine(result):
                result.close()  # never awaited: close it so no RuntimeWarning escapes
            raise self._refuse()
        return result

    async def run_async(self) -> Any:
        fetcher = self.fetcher
        if is_async_callable(fetcher) or inspect.isasyncgenfunction(fetcher):
            result = fetcher(*self.args)
        else:
            result = await anyio.to_thread.run_sync(fetcher, *self.args)
        if inspect.isawaitable(result):  # also a plain function returning an awaitable
            result = await result
        if self.collect and isinstance(result, AsyncIterable):
            result = [value async for value in result]
        return result


def is_async_callable(fn: object) -> bool:
    """Whether calling ``fn`` returns a coroutine (async functions, partials and callables
    whose ``__call__`` is ``async def``)."""
    while True:
        inner = getattr(fn, "func", None)  # functools.partial
        if inner is None:
            break
        fn = inner
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - the method, not callable()
    return call is not None and inspect.iscoroutinefunction(call)


def drive_sync(op: Op[R]) -> R:
    """Run ``op`` to completion with blocking I/O; returns its value, raises its exception."""
    try:
        effect = next(op)
        while True:
            try:
                result = effect.run_sync()
            except BaseException as exc:
                effect = op.throw(exc)
            else:
                effect = op.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def drive_async(op: Op[R]) -> R:
    """Run ``op`` to completion, awaiting its I/O (asyncio or trio)."""
    try:
        effect = next(op)
        while True:
            try:
                result = await effect.run_async()
            except BaseException as exc:
                effect = op.throw(exc)
            else:
                effect = op.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]

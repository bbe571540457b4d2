"""Periodic refresh, and the runner both refresh handles share.

``async with pool.periodic_refresh(interval, fetcher) as handle:`` refetches every row each
``interval``; ``async with pool.delta_refresh(interval, fetcher) as handle:`` asks only for what
changed since a watermark, and can recover ids the pool evicted (that handle lives in
:mod:`sassi._delta_refresh`, built on :class:`_Handle` here).

Both handles own a task group for the life of the block. All fetches run in it, one at a time
(:class:`_Runner`): a caller of ``refresh_now`` / ``update`` / ``update_full`` registers or joins
an operation there and waits for it, so cancelling a caller never cancels a fetch other callers
share, and scheduled ticks never overlap manual ones. The first scheduled tick comes one
``interval`` after the block is entered. Leaving the block (or ``handle.cancel()``) cancels the
fetch in flight before it touches the pool; its waiters, and any later call, get
:class:`RuntimeError`. A fetch error reaches the callers sharing that tick unchanged; errors of
scheduled ticks are logged and the loop goes on. A failed tick never changes the pool.
"""

from __future__ import annotations

import abc
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from datetime import timedelta
from typing import Any, TypeVar

import anyio
import anyio.abc

from ._config import EventReason, RefreshMode, positive_seconds
from ._core import Conflict, PoolCore
from ._effects import CallFetcher

__all__ = ["RefreshHandle", "periodic_refresh"]

log = logging.getLogger("sassi.refresh")
R = TypeVar("R")


async def _call(fetcher: Callable[..., Any], api: str, *args: Any) -> Any:
    """Call a refresh fetcher of either colour (a plain one runs in a worker thread); an
    async iterable result is read into a list."""
    return await CallFetcher(fetcher, api, *args, collect=True).run_async()


def _stopped(what: str) -> RuntimeError:
    return RuntimeError(f"the {what} is stopped (its async with block has ended or cancel() ran)")


class _Op:
    """One fetch-and-apply run of a refresh handle, shared by everyone waiting for it."""

    __slots__ = ("done", "error", "full", "scheduled", "value")

    def __init__(self, full: bool, scheduled: bool) -> None:
        self.full = full
        self.scheduled = scheduled
        self.done = anyio.Event()
        self.value: Any = None
        self.error: BaseException | None = None

    async def result(self) -> Any:
        await self.done.wait()
        if self.error is not None:
            raise self.error
        return self.value


class _Runner:
    """Runs operations one at a time inside the handle's task group.

    ``submit`` either joins the running operation (when ``join(running)`` says so) or shares
    the one queued behind it, so a queued operation cannot be starved by later callers.
    """

    def __init__(self, work: Callable[[_Op], Awaitable[Any]], what: str) -> None:
        self._work = work
        self._what = what
        self._group: anyio.abc.TaskGroup | None = None
        self.running: _Op | None = None
        self._queued: _Op | None = None
        self.closed = False

    def submit(self, *, full: bool, scheduled: bool, join: Callable[[_Op], bool]) -> _Op:
        if self.closed or self._group is None:
            raise _stopped(self._what)
        running = self.running
        if running is None:
            op = self.running = _Op(full, scheduled)
            self._group.start_soon(self._run, op)
            return op
        if join(running):
            return running
        if self._queued is None:
            self._queued = _Op(full, scheduled)
        return self._queued

    async def _run(self, op: _Op) -> None:
        try:
            op.value = await self._work(op)
        except anyio.get_cancelled_exc_class():
            op.error = _stopped(self._what)
            raise
        except Exception as exc:
            op.error = exc
        finally:
            op.done.set()
            self.running = None
            queued, self._queued = self._queued, None
            if queued is not None:
                if self.closed or self._group is None:
                    queued.error = _stopped(self._what)
                    queued.done.set()
                else:
                    self.running = queued
                    self._group.start_soon(self._run, queued)

    async def serve(
        self, interval: float, tick: Callable[[], Awaitable[None]], *, task_status: Any
    ) -> None:
        """Own the task group the operations run in; run ``tick`` every ``interval`` seconds."""
        async with anyio.create_task_group() as group:
            self._group = group
            task_status.started()
            while True:
                await anyio.sleep(interval)
                if self.closed:  # close() ran as the sleep ended: its cancel has not landed yet
                    break
                await tick()

    def close(self) -> None:
        """Stop: cancel the running operation; queued and later calls get ``RuntimeError``."""
        self.closed = True
        if self._group is not None:
            self._group.cancel_scope.cancel()
        queued, self._queued = self._queued, None
        if queued is not None:
            queued.error = _stopped(self._what)
            queued.done.set()


class _Handle(abc.ABC):
    """What both handles share: the runner, its lifetime and the scheduled loop."""

    _what = "refresh"

    def __init__(self, core: PoolCore[Any], interval: float) -> None:
        self._core = core
        self._interval = interval
        self._runner = _Runner(self._execute, self._what)

    @abc.abstractmethod
    async def _execute(self, op: _Op) -> Any:
        """Fetch and apply once (runs inside the runner's task group)."""

    @abc.abstractmethod
    async def _scheduled_tick(self) -> None:
        """Submit (or join) the operation for one scheduled tick and wait for it."""

    def cancel(self) -> None:
        """Stop scheduled ticks and cancel the fetch in flight (idempotent).

        The pool is not changed by a cancelled fetch. Later calls raise :class:`RuntimeError`.
        """
        self._runner.close()

    @property
    def stopped(self) -> bool:
        """Whether the handle was cancelled or its block has ended."""
        return self._runner.closed

    async def _tick_logged(self, op: _Op) -> None:
        try:
            await op.result()
        except Exception:
            log.exception(
                "sassi %s of %s failed; retrying next tick", self._what, self._core.type_name
            )

    @contextlib.asynccontextmanager
    async def _lifetime(self) -> AsyncIterator[None]:
        # An error raised by the body of the user's block leaves it unchanged (not wrapped in
        # an ExceptionGroup by our task group): hold it until the group has wound down.
        body_error: Exception | None = None
        async with anyio.create_task_group() as group:
            await group.start(self._serve)
            try:
                yield
            except Exception as exc:
                body_error = exc
            finally:
                self._runner.close()
        if body_error is not None:
            raise body_error

    async def _serve(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        await self._runner.serve(self._interval, self._scheduled_tick, task_status=task_status)

    async def _when_unreserved(
        self, ids: Callable[[], list[Hashable]], apply: Callable[[], R]
    ) -> R:
        """Run ``apply()`` under the write lock once no strict backend write holds ``ids()``.

        A strict (``BackendFailure.ERROR``) write in flight decides its id's fate at the
        backend first; the tick waits for it to finish, then applies on top of it.
        """
        core = self._core
        while True:
            with core.lock:
                reservations = core.reservations
                busy = [] if reservations is None else reservations.which(ids())
                if not busy:
                    return apply()
            assert reservations is not None
            await reservations.wait_free(busy)


# --- periodic refresh --------------------------------------------------------------------------


class RefreshHandle(_Handle):
    """Controls a running :meth:`Punnu.periodic_refresh`.

    ``await handle.refresh_now()`` runs one refresh through the handle's task (queued behind a
    tick in flight, never overlapping it) and raises what the fetch raised.
    """

    _what = "periodic refresh"

    def __init__(
        self,
        core: PoolCore[Any],
        interval: float,
        fetcher: Callable[[], Any],
        mode: RefreshMode,
    ) -> None:
        super().__init__(core, interval)
        self._fetcher = fetcher
        self._mode = mode

    @property
    def mode(self) -> RefreshMode:
        """``UPSERT_ONLY`` or ``REPLACE``."""
        return self._mode

    async def refresh_now(self) -> int:
        """Fetch every row now and apply it (after any tick in flight).

        :returns: how many fetched rows are resident after the commit (rows equal to their
            live resident are left alone: no write, no event).
        :raises Exception: whatever the fetcher raised (the pool is unchanged).
        :raises TypeError: when the fetcher returned values of another model.
        :raises RuntimeError: when the handle is stopped.
        """
        op = self._runner.submit(full=True, scheduled=False, join=lambda running: False)
        return await op.result()  # type: ignore[no-any-return]

    async def _scheduled_tick(self) -> None:
        op = self._runner.submit(full=True, scheduled=True, join=lambda running: True)
        await self._tick_logged(op)

    async def _execute(self, op: _Op) -> int:
        core = self._core
        rows = await _call(self._fetcher, "periodic_refresh")
        upserts = [(core.checked_id(value), value) for value in rows]
        replace = self._mode is RefreshMode.REPLACE
        keys = [key for key, _ in upserts]

        def ids() -> list[Hashable]:
            return list(core.store.keys) + keys if replace else keys

        def apply() -> int:
            changed, unchanged = core.drop_unchanged(upserts)
            wanted = set(keys)
            removals = [k for k in core.store.keys if k not in wanted] if replace else []
            result = core.commit(
                changed, removals, conflict=Conflict.SKIP, reason=EventReason.MANUAL
            )
            return result.applied + unchanged

        return await self._when_unreserved(ids, apply)


def _interval(interval: float | timedelta) -> float:
    return positive_seconds(interval, "interval")


@contextlib.asynccontextmanager
async def _periodic(handle: RefreshHandle) -> AsyncIterator[RefreshHandle]:
    async with handle._lifetime():
        yield handle


def periodic_refresh(
    core: PoolCore[Any],
    interval: float | timedelta,
    fetcher: Callable[[], Any],
    mode: RefreshMode = RefreshMode.UPSERT_ONLY,
) -> contextlib.AbstractAsyncContextManager[RefreshHandle]:
    """``Punnu.periodic_refresh``; validates its arguments now, runs while the block runs.

    :raises ValueError: when ``interval <= 0``.
    :raises TypeError: when ``mode`` is not a :class:`RefreshMode` or ``fetcher`` not callable.
    """
    seconds = _interval(interval)
    if not isinstance(mode, RefreshMode):
        raise TypeError(f"mode must be a sassi.RefreshMode, got {mode!r}")
    if not callable(fetcher):
        raise TypeError(f"fetcher must be callable, got {fetcher!r}")
    return _periodic(RefreshHandle(core, seconds, fetcher, mode))


# --- re-exports --------------------------------------------------------------------------------

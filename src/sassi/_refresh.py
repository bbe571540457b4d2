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

``wake=`` (an async iterable, such as :meth:`sassi.sql.Source.listen`) runs a tick as soon as it
yields, whatever ``interval`` is (:meth:`_Handle._follow`): each item asks for a tick that starts
after it arrived, and the items arriving while one runs share the next one. If iterating it
raises, the error is logged and it is iterated again after a capped backoff; the first item of
that new iteration asks for a full tick, since wake-ups may have been lost meanwhile.
"""

from __future__ import annotations

import abc
import contextlib
import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Hashable
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

WAKE_BACKOFF = 0.1  # seconds before iterating a failed wake= again; doubles per failure ...
WAKE_BACKOFF_CAP = 5.0  # ... up to this


class _Wanted:
    """Wake-ups not served yet: many arriving while a tick runs ask for one more tick."""

    __slots__ = ("event", "full")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.full = False

    def add(self, full: bool) -> None:
        self.full = self.full or full
        self.event.set()

    async def take(self) -> bool:
        """Wait for a wake-up; returns whether one of them asked for a full tick."""
        await self.event.wait()
        self.event = anyio.Event()
        full, self.full = self.full, False
        return full


@contextlib.asynccontextmanager
async def _iterating(wake: AsyncIterable[object]) -> AsyncIterator[AsyncIterator[object]]:
    iterator = aiter(wake)
    try:
        yield iterator
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:  # an async generator: run its clean-up now, not at GC
            with anyio.CancelScope(shield=True), anyio.move_on_after(2.0):
                await aclose()


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
        self.started = anyio.Event()  # set once ``serve`` owns the task group

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
        elif full:
            self._queued.full = True  # a full tick answers the delta callers sharing it too
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
            self.started.set()
            task_status.started()
            while True:
                await anyio.sleep(interval)
                if self.closed:  # closed while the sleep's wake-up was already queued
                    return
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

    def __init__(
        self, core: PoolCore[Any], interval: float, wake: AsyncIterable[object] | None = None
    ) -> None:
        self._core = core
        self._interval = interval
        self._wake = wake
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
        async with anyio.create_task_group() as group:
            self._start_helpers(group)
            try:
                await self._runner.serve(
                    self._interval, self._scheduled_tick, task_status=task_status
                )
            finally:
                group.cancel_scope.cancel()

    def _start_helpers(self, group: anyio.abc.TaskGroup) -> None:
        """Start the tasks that run beside the scheduled loop (cancelled when it stops)."""
        if self._wake is not None:
            group.start_soon(self._follow, self._wake)

    async def _follow(self, wake: AsyncIterable[object]) -> None:
        """Run a tick for the items ``wake`` yields, iterating it again when it fails."""
        wanted = _Wanted()
        what = f"sassi {self._what} of {self._core.type_name}: wake={wake!r}"
        async with anyio.create_task_group() as group:
            group.start_soon(self._ticks_for, wanted)
            failures, full = 0, False
            while True:
                try:
                    async with _iterating(wake) as items:
                        async for _ in items:
                            wanted.add(full)
                            failures, full = 0, False
                except Exception as exc:
                    delay = min(WAKE_BACKOFF * 2**failures, WAKE_BACKOFF_CAP)
                    failures, full = failures + 1, True
                    log.warning(
                        "%s failed (%s); iterating it again in %.2f s, then refreshing in full",
                        what,
                        exc,
                        delay,
                        exc_info=failures == 1,
                    )
                    await anyio.sleep(delay)
                else:
                    log.warning("%s ended; only scheduled ticks run from now on", what)
                    break  # the group waits on: ticks asked for so far still run

    async def _ticks_for(self, wanted: _Wanted) -> None:
        await self._runner.started.wait()
        while not self._runner.closed:
            full = await wanted.take()
            try:  # never join a tick in flight: it may have read the source before the wake-up
                op = self._runner.submit(full=full, scheduled=False, join=lambda running: False)
            except RuntimeError:  # stopped
                return
            await self._tick_logged(op)

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


def _waker(wake: object) -> AsyncIterable[object] | None:
    if wake is not None and not isinstance(wake, AsyncIterable):
        raise TypeError(
            f"wake= needs an async iterable (such as sassi.sql.Source.listen(channel)), got {wake!r}"
        )
    return wake


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

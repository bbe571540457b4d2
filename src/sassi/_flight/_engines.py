"""The two single-flight engines (see :mod:`sassi._flight`)."""

from __future__ import annotations

import contextvars
import dataclasses
import threading
import types
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import anyio
import anyio.lowlevel

__all__ = ["Failed", "FlightStats", "TaskFlights", "ThreadFlights"]

V = TypeVar("V")
F = TypeVar("F")

# (engine id, thread id, key) triples whose fetch runs in the current context (or thread): a
# fetch that asks its own engine for its own key would wait on itself.
_ACTIVE: contextvars.ContextVar[frozenset[tuple[int, int, Hashable]]] = contextvars.ContextVar(
    "sassi_flight_active", default=frozenset()
)


@dataclasses.dataclass(frozen=True, slots=True)
class FlightStats:
    """A snapshot of a single-flight engine's counters.

    :param fetches: flights started (each one executed the fetch function once).
    :param coalesced: callers that joined a flight already running instead of starting one.
    :param in_flight: flights running right now.
    """

    fetches: int
    coalesced: int
    in_flight: int


def _reentry_error(key: Hashable) -> RuntimeError:
    return RuntimeError(
        f"the fetch for key {key!r} asked for the same key again; it would wait on itself forever"
    )


class _Outcome(Generic[V]):
    """Where a flight leaves its result: a value, or the exception every waiter re-raises."""

    __slots__ = ("_traceback", "error", "finished", "value")

    def __init__(self) -> None:
        self.finished = False
        self.value: V | None = None
        self.error: BaseException | None = None
        self._traceback: types.TracebackType | None = None

    def fail(self, error: BaseException) -> None:
        """Record the fetch's exception and its traceback as the fetch left it."""
        self.error = error
        self._traceback = error.__traceback__

    def unwrap(self) -> V:
        if self.error is not None:
            # Every waiter re-raises the same object: start each from the fetch's own traceback,
            # or each raise would append its frames to the last one's (unbounded growth).
            raise self.error.with_traceback(self._traceback)
        if not self.finished:  # pragma: no cover - the engines only unwrap finished outcomes
            raise RuntimeError("single-flight outcome read before the fetch finished")
        return self.value  # type: ignore[return-value]


class Failed:
    """A batch's per-key failure: every waiter of that key raises ``error`` (a batch fetch
    maps a key to this instead of a value)."""

    __slots__ = ("error", "traceback")

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.traceback = error.__traceback__


class _TaskFlight(Generic[V]):
    __slots__ = ("closed", "done", "outcome", "scope", "slots", "waiters")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.scope = anyio.CancelScope(shield=True)
        self.outcome: _Outcome[V] = _Outcome()
        self.waiters = 0
        self.slots: list[tuple[int, Hashable]] = []  # the registry slots it is filed under
        self.closed = False  # a batch that takes no more keys (dispatched or abandoned)

    def result(self, key: Hashable) -> V:
        """What a waiter for ``key`` gets (or raises)."""
        return self.outcome.unwrap()


class _BatchFlight(_TaskFlight[Any]):
    """A flight for several keys; its outcome maps each key to a value or :class:`Failed`
    (a key it does not map gets ``None``)."""

    __slots__ = ("keys",)

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[Hashable] = []

    def result(self, key: Hashable) -> Any:
        found: Mapping[Hashable, Any] = self.outcome.unwrap()
        value = found.get(key)
        if type(value) is Failed:
            raise value.error.with_traceback(value.traceback)
        return value


class _Flights(Generic[F]):
    """What both engines share: the keyed registry of running flights and its counters.

    :meth:`_join` is the whole single-flight decision, made once under the registry lock: the
    caller either hosts a new flight (runs the fetch) or joins the running one (waits).
    """

    def __init__(self, on_coalesced: Callable[[], object] | None) -> None:
        self._lock = threading.Lock()
        self._flights: dict[Hashable, F] = {}
        self._fetches = 0
        self._coalesced = 0
        self._on_coalesced = on_coalesced

    def _join(self, slot: Hashable, new: Callable[[], F]) -> tuple[F, bool]:
        """``(flight, host)``: the running flight for ``slot`` (``host`` False), or a new one
        registered for it (``host`` True). Call with the registry lock held."""
        flight = self._flights.get(slot)
        if flight is None:
            flight = self._flights[slot] = new()
            self._fetches += 1
            return flight, True
        self._coalesced += 1
        return flight, False

    def _coalesced_hook(self) -> None:
        """Tell the owner a caller joined a running flight (called outside the lock)."""
        if self._on_coalesced is not None:
            self._on_coalesced()

    def running(self, key: Hashable) -> bool:
        """Whether a flight for ``key`` is running now (in this thread, for tasks)."""
        with self._lock:
            return self._slot(key) in self._flights

    def _slot(self, key: Hashable) -> Hashable:
        return key

    def in_flight(self) -> int:
        """How many flights are running now (0 once every caller has returned)."""
        with self._lock:
            return len(self._flights)

    def stats(self) -> FlightStats:
        """A consistent snapshot of this engine's counters."""
        with self._lock:
            return FlightStats(self._fetches, self._coalesced, len(self._flights))


class TaskFlights(_Flights[_TaskFlight[V]], Generic[V]):
    """Keyed single-flight for anyio tasks (asyncio and trio).

    One instance serves any number of keys. The registry is partitioned by thread, so event
    loops running in different threads never share a flight (anyio events are loop-bound).

    :param on_coalesced: called (outside any lock) each time a caller joins a running flight.
    """

    def __init__(self, on_coalesced: Callable[[], object] | None = None) -> None:
        super().__init__(on_coalesced)

    async def run(self, key: Hashable, fetch: Callable[[], Awaitable[V]]) -> V:
        """Return the result of ``fetch()``, sharing one execution with concurrent callers.

        :param key: what the fetch is for; callers with equal keys share one execution.
        :param fetch: a zero-argument async callable, called at most once per flight.
        :returns: the value the shared execution returned (the same object for every waiter).
        :raises BaseException: whatever the shared ``fetch()`` raised (the same object for every
            waiter); the cancellation exception when this caller is cancelled.
        :raises RuntimeError: when called from inside the fetch of the same key.
        """
        slot = (threading.get_ident(), key)
        if (id(self), *slot) in _ACTIVE.get():
            raise _reentry_error(key)
        with self._lock:
            flight, host = self._join(slot, _TaskFlight)
            if host:
                flight.slots.append(slot)
            flight.waiters += 1
        if not host:
            self._coalesced_hook()
        if host:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._drive, flight, fetch, (slot,))
                await self._wait((flight,))
        else:
            await self._wait((flight,))
        return flight.result(key)

    def _slot(self, key: Hashable) -> Hashable:
        return (threading.get_ident(), key)

    def _unregister(self, flight: _TaskFlight[Any]) -> None:
        """Take ``flight`` out of the registry (caller holds the lock)."""
        flight.closed = True
        for slot in flight.slots:
            if self._flights.get(slot) is flight:
                del self._flights[slot]

    async def _wait(self, flights: Sequence[_TaskFlight[Any]]) -> None:
        """Wait until every flight of ``flights`` (each counted this caller's waiter once) is
        done; a caller cancelled meanwhile leaves them all, cancelling those it was the last
        waiter of."""
        try:
            for flight in flights:
                await flight.done.wait()
        except BaseException:
            abandoned = []
            with self._lock:
                for flight in flights:
                    flight.waiters -= 1
                    if flight.waiters == 0 and not flight.outcome.finished:
                        self._unregister(flight)
                        abandoned.append(flight)
            for flight in abandoned:
                flight.scope.cancel()
            raise
        with self._lock:
            for flight in flights:
                flight.waiters -= 1

    async def _drive(
        self,
        flight: _TaskFlight[Any],
        fetch: Callable[[], Awaitable[Any]],
        slots: Sequence[tuple[int, Hashable]] | None = None,
    ) -> None:
        """Run ``fetch()`` for ``flight`` inside its shielded scope, marking ``slots`` (the
        batch's own slots when ``None``) as fetching in this context."""
        outcome = flight.outcome
        try:
            with flight.scope:
                try:
                    if slots is None:  # a batch: let the tasks ready now add keys, then close
                        await anyio.lowlevel.checkpoint()
                        with self._lock:
                            flight.closed = True
                        slots = list(flight.slots)
                    _ACTIVE.set(_ACTIVE.get() | {(id(self), *slot) for slot in slots})
                    outcome.value = await fetch()
                except BaseException as exc:
                    if flight.scope.cancel_called and isinstance(
                        exc, anyio.get_cancelled_exc_class()
                    ):
                        raise  # the last waiter left: our own scope absorbs this
                    outcome.fail(exc)
                outcome.finished = True
        finally:
            with self._lock:
                self._unregister(flight)
            flight.done.set()


class _ThreadFlight(Generic[V]):
    __slots__ = ("done", "outcome")

    def __init__(self) -> None:
        self.done: threading.Event | None = None  # created by the first thread that waits
        self.outcome: _Outcome[V] = _Outcome()


class ThreadFlights(_Flights[_ThreadFlight[V]], Generic[V]):
    """Keyed single-flight for threads: concurrent threads share one call of a sync fetch.

    The first thread for a cold key runs ``fetch()`` itself; the others block until it ends.
    Works with no event loop at all, from any thread.

    :param on_coalesced: called (outside any lock) each time a thread joins a running flight.
    """

    def __init__(self, on_coalesced: Callable[[], object] | None = None) -> None:
        super().__init__(on_coalesced)

    def run(self, key: Hashable, fetch: Callable[[], V]) -> V:
        """Return the result of ``fetch()``, sharing one call with concurrent threads.

        :param key: what the fetch is for; threads with equal keys share one call.
        :param fetch: a zero-argument callable, called at most once per flight.
        :returns: the value the shared call returned (the same object for every thread).
        :raises BaseException: whatever the shared ``fetch()`` raised (the same object for every
            thread).
        :raises RuntimeError: when called from inside the fetch of the same key.
        """
        marker = (id(self), 0, key)
        active = _ACTIVE.get()
        if marker in active:
            raise _reentry_error(key)
        with self._lock:
            flight, host = self._join(key, _ThreadFlight)
            if not host and flight.done is None:
                flight.done = threading.Event()
            done = flight.done  # None only for the thread that created the flight
        if done is not None:
            self._coalesced_hook()
            done.wait()
            return flight.outcome.unwrap()
        outcome = flight.outcome
        token = _ACTIVE.set(active | {marker})
        try:
            outcome.value = fetch()
        except BaseException as exc:
            outcome.fail(exc)
        finally:
            _ACTIVE.reset(token)
            outcome.finished = True
            with self._lock:
                del self._flights[key]
                done = flight.done
            if done is not None:
                done.set()
        return outcome.unwrap()

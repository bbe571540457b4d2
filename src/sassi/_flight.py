"""Single-flight: concurrent callers for one key share one execution of a fetch.

Two engines with the same contract, one for anyio tasks (asyncio and trio) and one for threads:

* the first caller for a cold key starts the fetch; every caller that arrives while it runs
  waits for that same execution instead of starting another;
* the outcome reaches every waiter: the same value object, or the same exception object
  (never cached: once a flight ends its slot is cleared and the next call starts cold);
* :class:`TaskFlights` only: a cancelled waiter leaves without disturbing the fetch while
  others still wait; when the **last** waiter leaves, the fetch is cancelled and its slot
  cleared at once, so the next call starts cold;
* re-entering a flight for the same key from inside its own fetch would wait on itself
  forever, so it raises :class:`RuntimeError` instead.

How :class:`TaskFlights` runs a fetch without a long-lived task group: the first waiter (the
*host*) opens a task group in its own task and starts the fetch as a child, inside a shielded
:class:`anyio.CancelScope` owned by the flight. The host then waits like everyone else. Scopes
are per task, so cancelling the host reaches only its wait: the host leaves the flight (the
waiter count drops) but, structured concurrency being what it is, its task stays inside the
task group until the shielded fetch ends. The fetch is cancelled only through the flight's own
scope, which the last departing waiter cancels. A cancelled host therefore returns its
``Cancelled`` once the fetch has finished for the remaining waiters, or as soon as they have
all left too.

Both engines count flights started and coalesced waiters (:class:`FlightStats`).
"""

from __future__ import annotations

import contextvars
import dataclasses
import threading
import types
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import anyio

__all__ = ["FlightStats", "TaskFlights", "ThreadFlights"]

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


class _TaskFlight(Generic[V]):
    __slots__ = ("done", "outcome", "scope", "waiters")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.scope = anyio.CancelScope(shield=True)
        self.outcome: _Outcome[V] = _Outcome()
        self.waiters = 0


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
            flight.waiters += 1
        if not host:
            self._coalesced_hook()
        if host:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._drive, slot, flight, fetch)
                await self._wait(slot, flight)
        else:
            await self._wait(slot, flight)
        return flight.outcome.unwrap()

    async def _wait(self, slot: tuple[int, Hashable], flight: _TaskFlight[V]) -> None:
        try:
            await flight.done.wait()
        except BaseException:
            with self._lock:
                flight.waiters -= 1
                abandon = flight.waiters == 0 and not flight.outcome.finished
                if abandon and self._flights.get(slot) is flight:
                    del self._flights[slot]
            if abandon:
                flight.scope.cancel()
            raise
        with self._lock:
            flight.waiters -= 1

    async def _drive(
        self, slot: tuple[int, Hashable], flight: _TaskFlight[V], fetch: Callable[[], Awaitable[V]]
    ) -> None:
        _ACTIVE.set(_ACTIVE.get() | {(id(self), *slot)})
        outcome = flight.outcome
        try:
            with flight.scope:
                try:
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
                if self._flights.get(slot) is flight:
                    del self._flights[slot]
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

"""ThreadFlights: concurrent threads share one call of a sync fetch."""

from __future__ import annotations

import threading
import time

import pytest

from sassi._flight import FlightStats, ThreadFlights

N_THREADS = 50


class Value:
    def __init__(self, n: int) -> None:
        self.n = n


def _wait_until(condition: object, what: str) -> None:
    """Block until ``condition()`` holds; a generous deadline turns a hang into a failure."""
    deadline = time.monotonic() + 30
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.0005)


def _run_threads(target: object, n: int) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]  # type: ignore[arg-type]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()


def test_fifty_threads_share_one_call() -> None:
    flights: ThreadFlights[Value] = ThreadFlights()
    barrier = threading.Barrier(N_THREADS)
    calls = 0
    results: dict[int, Value] = {}

    def fetch() -> Value:
        nonlocal calls
        calls += 1
        # hold the flight open until every other thread has joined it
        _wait_until(lambda: flights.stats().coalesced == N_THREADS - 1, "all threads to join")
        return Value(calls)

    def worker(i: int) -> None:
        barrier.wait()
        results[i] = flights.run("k", fetch)

    _run_threads(worker, N_THREADS)
    assert calls == 1
    assert len(results) == N_THREADS
    assert all(v is results[0] for v in results.values())
    assert flights.stats() == FlightStats(fetches=1, coalesced=N_THREADS - 1, in_flight=0)


def test_exception_reaches_every_thread_as_the_same_object_and_is_not_cached() -> None:
    flights: ThreadFlights[Value] = ThreadFlights()
    barrier = threading.Barrier(N_THREADS)
    calls = 0
    errors: dict[int, BaseException] = {}

    def failing() -> Value:
        nonlocal calls
        calls += 1
        _wait_until(lambda: flights.stats().coalesced == N_THREADS - 1, "all threads to join")
        raise LookupError("row 5 is gone")

    def worker(i: int) -> None:
        barrier.wait()
        try:
            flights.run(5, failing)
        except LookupError as exc:
            errors[i] = exc

    _run_threads(worker, N_THREADS)
    assert calls == 1
    assert len(errors) == N_THREADS
    assert all(e is errors[0] for e in errors.values())
    assert flights.in_flight() == 0
    assert flights.run(5, lambda: Value(9)).n == 9
    assert flights.stats().fetches == 2


def test_distinct_keys_do_not_wait_for_each_other() -> None:
    flights: ThreadFlights[Value] = ThreadFlights()
    b_done = threading.Event()
    out: dict[str, Value] = {}

    def fetch_a() -> Value:
        # would deadlock if the engine serialised different keys
        assert b_done.wait(timeout=30)
        return Value(1)

    def fetch_b() -> Value:
        return Value(2)

    def run_a() -> None:
        out["a"] = flights.run("a", fetch_a)

    t = threading.Thread(target=run_a)
    t.start()
    _wait_until(lambda: flights.in_flight() == 1, "flight a to start")
    out["b"] = flights.run("b", fetch_b)
    b_done.set()
    t.join(timeout=30)
    assert not t.is_alive()
    assert out["a"].n == 1
    assert out["b"].n == 2
    assert flights.stats() == FlightStats(fetches=2, coalesced=0, in_flight=0)


def test_reentering_the_same_key_raises_and_nested_keys_work() -> None:
    flights: ThreadFlights[Value] = ThreadFlights()

    def recursive() -> Value:
        return flights.run("k", recursive)

    with pytest.raises(RuntimeError, match="wait on itself"):
        flights.run("k", recursive)
    assert flights.in_flight() == 0

    def outer() -> Value:
        return Value(flights.run("inner", lambda: Value(3)).n + 1)

    assert flights.run("outer", outer).n == 4


def test_sequential_calls_each_fetch() -> None:
    flights: ThreadFlights[int] = ThreadFlights()
    counter = iter(range(100))
    assert flights.run("k", lambda: next(counter)) == 0
    assert flights.run("k", lambda: next(counter)) == 1
    assert flights.stats() == FlightStats(fetches=2, coalesced=0, in_flight=0)


def test_base_exceptions_are_shared_too() -> None:
    flights: ThreadFlights[int] = ThreadFlights()

    def interrupted() -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        flights.run("k", interrupted)
    assert flights.in_flight() == 0

"""Test helpers for sassi users: a controllable clock and the backend conformance suite."""

from __future__ import annotations

import threading

__all__ = ["FakeClock"]


class FakeClock:
    """A monotonic clock that only moves when told to. Pass it as ``Punnu(..., clock=clock)``."""

    def __init__(self, start: float = 1_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (must not be negative)."""
        if seconds < 0:
            raise ValueError("FakeClock.advance(seconds) cannot go backwards")
        with self._lock:
            self._now += seconds

    @property
    def now(self) -> float:
        return self._now

"""Test helpers for sassi users: a controllable clock and the backend conformance suite."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._conformance import BackendConformance as BackendConformance

__all__ = ["BackendConformance", "FakeClock"]


def __getattr__(name: str) -> Any:
    """Load the backend conformance suite (it imports pytest) only when asked for."""
    if name == "BackendConformance":
        from ._conformance import BackendConformance

        return BackendConformance
    raise AttributeError(f"module 'sassi.testing' has no attribute {name!r}")


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

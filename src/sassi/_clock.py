"""Monotonic time. The pool takes any zero-argument callable returning seconds (``clock=``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

__all__ = ["Clock", "monotonic", "to_seconds"]

Clock = Callable[[], float]
monotonic: Clock = time.monotonic


def to_seconds(value: float | timedelta, option: str) -> float:
    """Seconds from a ``float``/``int`` or a ``timedelta``.

    :raises TypeError: when ``value`` is neither (``option`` names it in the message).
    """
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{option} must be seconds (int/float) or a timedelta, got {value!r}")
    return float(value)

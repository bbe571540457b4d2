"""Failure policy of the tier: error classification, retry with backoff, logging and counting.

Written once as sans-I/O operations (:mod:`sassi._effects`): :func:`backend_call` yields the
backend call and, between transient failures, the backoff sleep.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from .._effects import Call, Op
from ..exceptions import BackendError, BackendTimeout, BackendUnavailable, IdentityMismatchError

__all__ = ["BackendIdentityMismatch", "Policy", "as_backend_error", "backoff_delay"]

log = logging.getLogger("sassi.tiering")


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to sleep before ``attempt`` (1-based): 0, 25 ms, 50 ms, ... capped at 1 s, + jitter.

    :param attempt: the attempt about to run (1 never sleeps).
    :param rng: jitter source (``None``: no jitter).
    """
    if attempt <= 1:
        return 0.0
    base: float = min(0.025 * 2.0 ** (attempt - 2), 1.0)
    return base + (base * 0.25 * rng.random() if rng is not None else 0.0)


class BackendIdentityMismatch(IdentityMismatchError, BackendError):
    """The backend holds a value under another id: an identity mismatch *and* a backend fault,
    so ``except IdentityMismatchError`` and ``except BackendError`` both catch it."""


def as_backend_error(op: str, exc: Exception) -> BackendError:
    """Any backend failure as a :class:`BackendError`; builtin connection/OS errors of
    third-party backends count as transient (:class:`BackendUnavailable`), timeouts as
    transient with an unknown outcome (:class:`BackendTimeout`)."""
    if isinstance(exc, BackendError):
        return exc
    kind: type[BackendError] = BackendError
    if isinstance(exc, TimeoutError):
        kind = BackendTimeout
    elif isinstance(exc, OSError):
        kind = BackendUnavailable
    error = kind(f"backend {op} failed: {exc!r}")
    error.__cause__ = exc
    return error


class Policy:
    """``backend_failure=`` of one pool: how many attempts, how to wait, how to report.

    :param mode: ``"l1_only"``, ``"retry"`` or ``"error"``.
    :param attempts: attempts in total for transient failures (``retry`` mode).
    :param type_name: the pool's type name, for log lines.
    :param on_error: called with each reported failure (the pool's metrics hook).
    """

    def __init__(
        self, mode: str, attempts: int, type_name: str, on_error: Callable[[BaseException], None]
    ) -> None:
        self.mode = mode
        self.attempts = attempts if mode == "retry" else 1
        self.type_name = type_name
        self.on_error = on_error
        self.rng = random.Random()
        self.sleep_sync: Callable[[float], None] = _sleep_sync
        self.sleep: Callable[[float], Awaitable[None]] = _sleep

    @property
    def strict(self) -> bool:
        """``BackendFailure.ERROR``: backend failures raise, L1 follows the backend."""
        return self.mode == "error"

    def failed(self, op: str, key: object, exc: BaseException) -> None:
        """Log and count one backend failure."""
        log.warning("sassi %s backend %s of %r failed: %s", self.type_name, op, key, exc)
        self.on_error(exc)

    def backend_call(
        self,
        op: str,
        sync_fn: Callable[..., Any],
        async_fn: Callable[..., Awaitable[Any]],
        *args: Any,
    ) -> Op[Any]:
        """Call the backend; retry transient failures per policy; raise a ``BackendError``."""
        for attempt in range(1, self.attempts + 1):
            try:
                return (yield Call(sync_fn, async_fn, *args))
            except Exception as exc:
                error = as_backend_error(op, exc)
                if not isinstance(error, BackendUnavailable) or attempt == self.attempts:
                    if error is exc:
                        raise
                    raise error from exc
            yield Call(self.sleep_sync, self.sleep, backoff_delay(attempt + 1, self.rng))
        raise AssertionError("unreachable")  # pragma: no cover


def _sleep_sync(seconds: float) -> None:
    import time

    time.sleep(seconds)


async def _sleep(seconds: float) -> None:
    import anyio

    await anyio.sleep(seconds)

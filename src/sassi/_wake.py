"""Waking a task that waits in its own event loop, from any thread.

One :class:`Waiter` per blocked task: the task awaits ``waiter.event``; any thread calls
``waiter.wake()``. From the waiter's own thread the event is set directly; from another
thread the set is scheduled on the waiter's loop through anyio's native thread-safe hook
(asyncio's ``call_soon_threadsafe``, trio's token), never by touching the loop from the wrong
thread. Used by event subscriptions, invalidation streams and strict-write reservations.
"""

from __future__ import annotations

import contextlib
import threading

import anyio
import anyio.lowlevel

__all__ = ["Waiter"]


class Waiter:
    """One task blocked on :attr:`event`, and how to wake it from any thread."""

    __slots__ = ("event", "thread", "token")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.token = anyio.lowlevel.current_token()
        self.thread = threading.get_ident()

    def wake(self) -> None:
        """Set :attr:`event` (safe from any thread; a no-op once the loop has finished)."""
        if threading.get_ident() == self.thread:
            self.event.set()
            return
        with contextlib.suppress(anyio.RunFinishedError, RuntimeError):  # the loop is gone
            self.token.backend_class.run_sync_soon(self.event.set, (), self.token.native_token)

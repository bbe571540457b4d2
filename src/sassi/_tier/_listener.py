"""The invalidation listener: applies backend messages to L1 inside ``pool.background()``.

``InvalidateId`` / ``InvalidateAll`` / ``InvalidateWhere`` remove L1 entries with
``EventReason.BACKEND_INVALIDATION`` (``InvalidateAll`` first waits for strict reservations to
drain). Each also makes fetches in flight stale (no stale write-back: an ``InvalidateAll``
reaches every running fetch, an ``InvalidateWhere`` those whose value matches).

Availability (SPEC 11.1): the listener (re)subscribes in the background with a capped backoff
(10 ms doubling to 5 s); ``background()`` does not wait for it for longer than
:data:`STARTUP_WAIT`. Every subscription that follows a failed attempt, a lost or ended stream,
or a body that started before the listener was subscribed first applies one ``InvalidateAll``
(the *resync*): messages may have been missed meanwhile. A message that cannot be decoded or
applied is logged, counted in ``stats().backend_errors`` and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anyio

from .._config import EventReason
from .._core import PoolCore
from .._delta import sorted_by_id
from ..backends._protocol import (
    InvalidateAll,
    InvalidateId,
    InvalidateWhere,
    MalformedMessage,
)
from ._ops import Tiering

__all__ = ["STARTUP_WAIT", "Listener"]

log = logging.getLogger("sassi.tiering")

STARTUP_WAIT = 0.5
"""Seconds ``pool.background()`` waits for the first subscription attempt before its body."""

_MIN_DELAY = 0.010
_MAX_DELAY = 5.0


class Listener:
    """One pool's invalidation listener (runs only inside ``pool.background()``).

    :param core: the pool core.
    :param tier: the pool's tier (backend, keyspace, policy, reservations).
    """

    def __init__(self, core: PoolCore[Any], tier: Tiering) -> None:
        self.core = core
        self.tier = tier
        self.listening = False
        self._resync = False
        self._ready: anyio.Event | None = None
        self._attempted: anyio.Event | None = None

    # --- readiness -----------------------------------------------------------------------------

    def _ready_event(self) -> anyio.Event:
        if self._ready is None:
            self._ready = anyio.Event()
        return self._ready

    def _attempted_event(self) -> anyio.Event:
        if self._attempted is None:
            self._attempted = anyio.Event()
        return self._attempted

    async def wait_listening(self) -> None:
        """Return once the invalidation stream is subscribed."""
        while not self.listening:
            await self._ready_event().wait()

    async def wait_started(self) -> None:
        """Wait (at most :data:`STARTUP_WAIT`) for the first subscription attempt to end.

        If the body must start before the listener is subscribed, the first subscription
        resyncs: a message published meanwhile may have been missed.
        """
        with anyio.move_on_after(STARTUP_WAIT):
            await self._attempted_event().wait()
        if not self.listening:
            self._resync = True

    # --- applying messages ---------------------------------------------------------------------

    async def _drain_reservations(self) -> None:
        reservations = self.tier.reservations
        for key in reservations.held():
            await reservations.acquire(key)
            reservations.release(key)

    async def apply(self, message: object) -> int:
        """Apply one backend message to L1; returns how many live entries it removed."""
        core = self.core
        reason = EventReason.BACKEND_INVALIDATION
        if isinstance(message, InvalidateId):
            return core.commit(removals=(message.id,), reason=reason).removed
        if isinstance(message, InvalidateAll):
            await self._drain_reservations()
            return remove_all(core, reason)
        if isinstance(message, MalformedMessage):  # hostile or corrupt: count it and read on
            self.tier.policy.failed("invalidation message", "malformed", message.error)
            return 0
        if isinstance(message, InvalidateWhere):
            from ..predicate import loads as load_predicate

            try:
                predicate = load_predicate(core.model, message.predicate)
            except (ValueError, TypeError) as exc:
                self.tier.policy.failed("invalidation message", "InvalidateWhere", exc)
                return 0
            return remove_where(core, predicate.compile(), reason)
        self.tier.policy.failed(
            "invalidation message", message, TypeError(f"unknown message {message!r}")
        )
        return 0

    # --- the loop ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Apply backend messages until cancelled; (re)subscribe with backoff on any loss."""
        delay = _MIN_DELAY
        backend = self.tier.backend
        keyspace = self.tier.keyspace
        failed = self.tier.policy.failed
        try:
            while True:
                stream: Any = None
                lost = True
                try:
                    stream = backend.invalidations(keyspace)
                    ready = getattr(stream, "ready", None)
                    if ready is not None:
                        await ready()
                    if self._resync:  # before anything else: messages may have been missed
                        await self.apply(InvalidateAll())
                        self._resync = False
                    self.listening = True
                    self._ready_event().set()
                    self._attempted_event().set()
                    async for message in stream:
                        try:
                            await self.apply(message)
                        except Exception as exc:  # one bad message must not stop the listener
                            failed("invalidation message", message, exc)
                        delay = _MIN_DELAY
                    log.info("sassi %s: invalidation stream ended", self.core.type_name)
                except Exception as exc:
                    failed("invalidation stream", keyspace, exc)
                except BaseException:  # cancelled: leaving background(), not a lost stream
                    lost = False
                    raise
                finally:
                    self._lost(resync=lost)
                    aclose = getattr(stream, "aclose", None)
                    if aclose is not None:
                        with anyio.CancelScope(shield=True):
                            await aclose()
                await anyio.sleep(delay)
                delay = min(delay * 2, _MAX_DELAY)
        finally:
            self._ready = None
            self._attempted = None

    def _lost(self, *, resync: bool) -> None:
        """Not subscribed any more; after a failure or a lost stream the next one resyncs."""
        if resync:
            self._resync = True
        self.listening = False
        self._attempted_event().set()
        if self._ready is not None and self._ready.is_set():
            self._ready = None  # wait_listening() waits for the next subscription


def remove_all(core: PoolCore[Any], reason: EventReason) -> int:
    """Remove every resident in one commit and make every fetch in flight stale."""
    with core.lock:
        core.generations.removed_all()
        return core.commit(removals=list(core.store.keys), reason=reason).removed


def remove_where(core: PoolCore[Any], test: Callable[[Any], bool], reason: EventReason) -> int:
    """Remove every live resident passing ``test`` (a raising test is no match), in one commit
    and ascending id order, and make fetches in flight whose value passes it stale. Expired
    entries kept for stale serving (SPEC 11.6) that pass it leave too, silently."""
    with core.lock:
        store = core.store
        kept = store.map.items() if core.config.stale_window else store.live_items(core.clock())
        matches = sorted_by_id([(k, None) for k, entry in kept if _safe(test, entry.value)])
        core.generations.removed_where(test)
        return core.commit(removals=[k for k, _ in matches], reason=reason).removed


def _safe(test: Callable[[Any], bool], value: Any) -> bool:
    try:
        return bool(test(value))
    except Exception:
        return False

"""What a pool needs from an L2 backend, and the small value types it passes around.

A backend stores model values under ``(keyspace, id)``. The pool builds the :class:`Keyspace`
from its ``namespace`` option and ``sassi.type_name(Model)``; a backend never invents its own
namespace. Every operation has an async form (used by ``ainsert`` / ``aload`` /
``ainvalidate``) and a sync twin (used by ``insert`` / ``load`` / ``invalidate``).

Errors: transient faults (connection refused, timeouts, I/O errors) raise
:class:`~sassi.BackendUnavailable`, other backend faults :class:`~sassi.BackendError` (never
retried); stored bytes that are not a valid wire container raise a
:class:`~sassi.WireFormatError` subclass.

The invalidation stream contract (what ``invalidations(keyspace)`` returns, and what a pool's
listener relies on):

- ``await stream.ready()`` (optional method) returns once messages published from then on
  will be delivered; it retries by itself while the backend is unreachable.
- Iterating (``async for item in stream``) yields :data:`Invalidation` messages and, for a
  message that cannot be decoded, a :class:`MalformedMessage` item. Every message is
  untrusted input, decoded within fixed limits (:mod:`sassi.backends._messages`): a
  malformed, oversized, too deeply nested or ill-typed one becomes ``MalformedMessage(error)``
  where ``error`` is a :class:`~sassi.CodecError` (a :class:`~sassi.WireFormatError`) saying
  why; the stream itself goes on with the next message, so one bad message never ends an
  ``async for`` and never hides the messages after it. Decoding never raises
  ``RecursionError``, ``MemoryError`` or a bare ``TypeError`` out of the stream. A consumer
  logs and counts the item's ``error`` and reads on (one that does not know the type can
  ignore it).
- A stream that loses its connection does not raise: it resubscribes by itself with capped
  backoff and then yields one :class:`InvalidateAll` before any later message, since messages
  published while it was disconnected are gone (the Redis stream documents how it keeps
  everything published after the resubscription).
- Any exception out of the iteration, or its end (``StopAsyncIteration``), means the stream
  is over: close it (``aclose()``), open a new one after a backoff, and resync (apply an
  ``InvalidateAll``), since messages may have been missed meanwhile.
- ``await stream.aclose()`` (optional method) releases it; iteration then ends.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

from .. import wire
from .._model import type_name as _type_name
from ..exceptions import BackendError, WireFormatError

__all__ = [
    "Backend",
    "InvalidateAll",
    "InvalidateId",
    "InvalidateWhere",
    "Invalidation",
    "Keyspace",
    "MalformedMessage",
    "SupportsPublish",
]


@dataclass(frozen=True, slots=True)
class Keyspace:
    """Where one pool's values live in a backend: ``(namespace, type_name)``.

    Two keyspaces are equal when namespace and type name are; ``model`` and ``origin`` take no
    part in equality. ``model`` is the class values decode into; without it, a backend decodes
    into the class last seen for ``type_name`` by this process (any :func:`sassi.wire.dumps`,
    :func:`sassi.wire.loads` or pool touching that model registers it). ``origin`` names the
    writer: messages a backend publishes for an ``invalidate`` / ``publish`` made with a given
    origin are not delivered to streams opened with that same origin (a pool never hears its
    own echo, which could otherwise remove a value it re-inserted meanwhile).

    :param namespace: the pool's ``namespace`` option (``None`` for none).
    :param type_name: ``sassi.type_name(Model)``.
    :param model: optional model class to decode into.
    :param origin: optional writer identity (each pool makes a unique one).
    """

    namespace: str | None
    type_name: str
    model: type | None = field(default=None, compare=False, repr=False)
    origin: str | None = field(default=None, compare=False, repr=False)

    @classmethod
    def for_model(
        cls, model: type, namespace: str | None = None, *, origin: str | None = None
    ) -> Keyspace:
        """The keyspace of ``model`` under ``namespace`` (with the model hint set)."""
        wire.codec(model)
        return cls(namespace, _type_name(model), model, origin)

    @property
    def token(self) -> str:
        """``ns_<hex(namespace)>`` (or ``ns_none``) + ``:ty_<hex(type name)>``: the storage prefix."""
        ns = "ns_none" if self.namespace is None else "ns_" + self.namespace.encode().hex()
        return f"{ns}:ty_{self.type_name.encode().hex()}"

    def resolve_model(self) -> type:
        """The class values of this keyspace decode into.

        :raises BackendError: when no class is known for ``type_name`` in this process.
        """
        if self.model is not None:
            return self.model
        found = wire.model_for(self.type_name)
        if found is None:
            raise BackendError(
                f"no model class is known for type name {self.type_name!r}; "
                "pass Keyspace.for_model(Model, namespace)"
            )
        return found


@dataclass(frozen=True, slots=True)
class InvalidateId:
    """A backend message: the value stored under ``id`` changed or was removed."""

    id: Any


@dataclass(frozen=True, slots=True)
class InvalidateAll:
    """A backend message: every value of the keyspace was removed."""


@dataclass(frozen=True, slots=True)
class InvalidateWhere:
    """A backend message: remove every cached value matching a predicate.

    :param predicate: the predicate's JSON wire form (``sassi.predicate.dumps(p)``).
    """

    predicate: str


Invalidation = InvalidateId | InvalidateAll | InvalidateWhere


@dataclass(frozen=True, slots=True)
class MalformedMessage:
    """A stream item standing for one message that could not be decoded (it is skipped).

    Not an invalidation: nothing is known about what the sender meant. The stream goes on with
    the next message; the consumer logs and counts ``error``.

    :param error: why, as a :class:`~sassi.CodecError` naming the problem.
    """

    error: WireFormatError


@runtime_checkable
class Backend(Protocol):
    """The L2 contract: async operations, their sync twins, and an invalidation stream.

    ``ttl`` is seconds (``float``/``int``), a :class:`~datetime.timedelta`, or ``None`` for no
    expiry; a ttl ``<= 0`` stores nothing and removes any previous value.
    """

    async def get(self, keyspace: Keyspace, id: Any) -> Any | None:
        """The stored value for ``id``, or ``None`` when absent or expired.

        A backend may return the value's kind-1 wire bytes instead; the pool decodes them.
        """
        ...

    async def put(
        self, keyspace: Keyspace, id: Any, value: Any, ttl: float | timedelta | None
    ) -> None:
        """Store ``value`` under ``id`` (replacing any previous value)."""
        ...

    async def invalidate(self, keyspace: Keyspace, id: Any) -> None:
        """Remove ``id`` (idempotent) and tell other subscribers, when the backend can."""
        ...

    async def invalidate_all(self, keyspace: Keyspace) -> None:
        """Remove every value of the keyspace and tell other subscribers."""
        ...

    def invalidations(self, keyspace: Keyspace) -> AsyncIterator[Invalidation | MalformedMessage]:
        """Messages about ``keyspace`` from every writer (may never yield anything).

        See the stream contract in this module's docstring: a message that cannot be decoded
        comes out as a :class:`MalformedMessage` item and the stream reads on.
        """
        ...

    def get_sync(self, keyspace: Keyspace, id: Any) -> Any | None:
        """Sync twin of :meth:`get`."""
        ...

    def put_sync(
        self, keyspace: Keyspace, id: Any, value: Any, ttl: float | timedelta | None
    ) -> None:
        """Sync twin of :meth:`put`."""
        ...

    def invalidate_sync(self, keyspace: Keyspace, id: Any) -> None:
        """Sync twin of :meth:`invalidate`."""
        ...

    def invalidate_all_sync(self, keyspace: Keyspace) -> None:
        """Sync twin of :meth:`invalidate_all`."""
        ...


@runtime_checkable
class SupportsPublish(Protocol):
    """Optional backend extension: send a message on the invalidation channel, storing nothing.

    ``pool.invalidate_where(pred)`` uses it to tell other processes
    ``InvalidateWhere(sassi.predicate.dumps(pred))``. All built-in backends implement it (the
    file backend, which has no channel, as a no-op).
    """

    async def publish(self, keyspace: Keyspace, message: Invalidation) -> None:
        """Deliver ``message`` to every subscriber of ``keyspace``."""
        ...

    def publish_sync(self, keyspace: Keyspace, message: Invalidation) -> None:
        """Sync twin of :meth:`publish`."""
        ...


def ttl_seconds(ttl: float | timedelta | None) -> float | None:
    """Normalise a backend ``ttl`` argument: seconds, ``None`` for never (also for ``inf``).

    :raises TypeError: when ``ttl`` is not a number, a timedelta or ``None``.
    :raises ValueError: when ``ttl`` is NaN.
    """
    if ttl is None:
        return None
    if isinstance(ttl, timedelta):
        seconds = ttl.total_seconds()
    elif isinstance(ttl, bool) or not isinstance(ttl, int | float):
        raise TypeError(f"ttl must be seconds, a timedelta or None, got {ttl!r}")
    else:
        seconds = float(ttl)
    if math.isnan(seconds):
        raise ValueError("ttl cannot be NaN")
    return None if math.isinf(seconds) and seconds > 0 else seconds


def check_value(keyspace: Keyspace, value: Any) -> None:
    """Refuse to store a value of another model under ``keyspace``.

    :raises ValueError: when ``type_name(type(value))`` differs from the keyspace's.
    """
    got = wire.codec(type(value)).type_name
    if got != keyspace.type_name:
        raise ValueError(
            f"value of type {got!r} cannot be stored in keyspace of {keyspace.type_name!r}"
        )

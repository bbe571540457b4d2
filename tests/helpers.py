"""Small test doubles shared by the pool, fetch and refresh suites.

Importable as ``helpers`` (pytest puts ``tests/`` on ``sys.path`` through ``tests/conftest.py``,
the same way ``strategies`` is imported).

Stable API (other suites import it; extend, do not break):

- :class:`User` — frozen ``id: int, name: str = ""``; the plain model most pool tests cache.
- :func:`drain` — every event already queued on a subscription, without waiting.
"""

from __future__ import annotations

from dataclasses import dataclass

from sassi import Event, Subscription

__all__ = ["User", "drain"]


@dataclass(frozen=True, slots=True)
class User:
    """The plain cached model: an ``id`` and a ``name``."""

    id: int
    name: str = ""


def drain(sub: Subscription) -> list[Event]:
    """Take every event already queued on ``sub``, without waiting.

    :param sub: a subscription from ``pool.events()``.
    :returns: the queued events, oldest first; empty when nothing is queued.
    """
    out = []
    while (event := sub.receive_nowait()) is not None:
        out.append(event)
    return out

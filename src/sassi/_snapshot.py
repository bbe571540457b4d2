"""Snapshots: whole-pool export and restore (no backend needed).

:func:`export_entries`, :func:`snapshot`, :func:`restore_entries`, :func:`restore` and the
:class:`RestoreStats` they return. A restore is a whole-pool replace through the pool's single
commit path, every check done before anything changes; under ``BackendFailure.ERROR`` it raises
:class:`~sassi.BackendWriteInFlight` while a strict write holds any id (see :mod:`sassi._tiering`).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import wire
from ._config import EventReason, SnapshotMode
from ._store import DEADLINE, EPOCH, VALUE
from .exceptions import BackendWriteInFlight

if TYPE_CHECKING:
    from ._punnu import Punnu
    from ._tiering import Tiering

__all__ = [
    "RestoreStats",
    "export_entries",
    "restore",
    "restore_entries",
    "snapshot",
]


@dataclass(frozen=True, slots=True)
class RestoreStats:
    """What a restore did to the pool.

    :param inserted: snapshot entries whose id had no live resident.
    :param updated: snapshot entries that replaced a live resident.
    :param removed: live residents absent from the snapshot (each emitted ``Invalidated(MANUAL)``).
    """

    inserted: int = 0
    updated: int = 0
    removed: int = 0


def export_entries(pool: Punnu[Any]) -> bytes:
    """Kind-3 bytes of the unexpired residents, sorted by id (deterministic)."""
    with pool._lock:
        values = pool._store.snapshot(pool._clock())
    return wire.encode_entries(pool.model, values)


def snapshot(pool: Punnu[Any], mode: SnapshotMode = SnapshotMode.ENTRIES_ONLY) -> bytes:
    """``ENTRIES_ONLY``: :func:`export_entries`. ``WITH_INTERNAL_STATE``: kind 4, with each
    entry's remaining ttl and dense LRU rank (0 = least recently used).

    :raises TypeError: when ``mode`` is not a :class:`SnapshotMode`.
    """
    if not isinstance(mode, SnapshotMode):
        raise TypeError(f"snapshot(mode) needs a sassi.SnapshotMode, got {mode!r}")
    if mode is SnapshotMode.ENTRIES_ONLY:
        return export_entries(pool)
    with pool._lock:
        now = pool._clock()
        live = [(e[VALUE], e[EPOCH], e[DEADLINE]) for _, e in pool._store.live_items(now)]
    ranks = {epoch: rank for rank, epoch in enumerate(sorted({e for _, e, _ in live}))}
    entries = [
        (value, None if deadline is None else max(deadline - now, 0.0), ranks[epoch])
        for value, epoch, deadline in live
    ]
    return wire.encode_entries_with_hints(pool.model, entries)


def _commit_restore(
    pool: Punnu[Any],
    upserts: list[tuple[Hashable, Any]],
    hints: dict[Hashable, tuple[float | None, int]] | None,
) -> RestoreStats:
    from ._punnu import Conflict

    tier: Tiering | None = getattr(pool, "_tier", None)

    def no_strict_writes(now: float) -> None:
        if tier is not None and tier.strict and tier.reservations.any():
            held = tier.reservations.held()
            raise BackendWriteInFlight(f"strict backend writes in flight for ids {held!r}")

    result = pool._commit(
        upserts,
        conflict=Conflict.REPLACE,
        replace_all=True,
        reason=EventReason.MANUAL,
        hints=hints,
        precheck=no_strict_writes,
    )
    return RestoreStats(inserted=result.inserted, updated=result.updated, removed=result.removed)


def restore_entries(pool: Punnu[Any], data: bytes) -> RestoreStats:
    """Replace the whole pool with a kind-3 snapshot (the pool's default ttl applies).

    :raises WireFormatError: bad header/body; kind 4 -> ``KindMismatch``.
    :raises TooManyEntries: more entries than the pool's capacity (before decoding entries).
    :raises DuplicateId: an id occurs twice.
    :raises BackendWriteInFlight: a strict backend write holds an id.
    """
    values = wire.decode_entries(pool.model, data, pool.config.capacity)
    return _commit_restore(pool, [(pool._id_of(v), v) for v in values], None)


def restore(pool: Punnu[Any], data: bytes) -> RestoreStats:
    """Replace the whole pool with a kind-3 or kind-4 snapshot.

    Kind 4 keeps each entry's remaining ttl (no ttl stays no ttl) and relative LRU order; kind 3
    uses the pool's default ttl.

    :raises WireFormatError: bad header/body/hints; another kind -> ``KindMismatch``.
    :raises TooManyEntries: more entries than the pool's capacity (before decoding entries).
    :raises DuplicateId: an id occurs twice.
    :raises BackendWriteInFlight: a strict backend write holds an id.
    """
    decoded = wire.decode_snapshot(pool.model, data, pool.config.capacity)
    if decoded and isinstance(decoded[0], wire.HintedEntry):
        hinted = [e for e in decoded if isinstance(e, wire.HintedEntry)]
        upserts = [(pool._id_of(e.value), e.value) for e in hinted]
        hints = {pool._id_of(e.value): (e.remaining, e.rank) for e in hinted}
        return _commit_restore(pool, upserts, hints)
    return _commit_restore(pool, [(pool._id_of(v), v) for v in decoded], None)

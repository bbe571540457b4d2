"""Snapshots: whole-pool export and restore (no backend needed).

:func:`export_entries`, :func:`snapshot`, :func:`restore_entries`, :func:`restore` and the
:class:`RestoreStats` they return. A restore is a whole-pool replace through the pool's single
commit path, every check done before anything changes; under ``BackendFailure.ERROR`` it raises
:class:`~sassi.BackendWriteInFlight` while a strict write holds any id (see :mod:`sassi._tier`).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from . import wire
from ._config import EventReason, SnapshotMode
from ._core import Conflict, PoolCore
from ._store import DEADLINE, EPOCH, VALUE
from .exceptions import BackendWriteInFlight

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


def export_entries(core: PoolCore[Any]) -> bytes:
    """Kind-3 bytes of the unexpired residents, sorted by id (deterministic)."""
    with core.lock:
        values = core.store.snapshot(core.clock())
    return wire.encode_entries(core.model, values)


def snapshot(core: PoolCore[Any], mode: SnapshotMode = SnapshotMode.ENTRIES_ONLY) -> bytes:
    """``ENTRIES_ONLY``: :func:`export_entries`. ``WITH_INTERNAL_STATE``: kind 4, with each
    entry's remaining ttl and dense LRU rank (0 = least recently used).

    :raises TypeError: when ``mode`` is not a :class:`SnapshotMode`.
    """
    if not isinstance(mode, SnapshotMode):
        raise TypeError(f"snapshot(mode) needs a sassi.SnapshotMode, got {mode!r}")
    if mode is SnapshotMode.ENTRIES_ONLY:
        return export_entries(core)
    with core.lock:
        now = core.clock()
        live = [(e[VALUE], e[EPOCH], e[DEADLINE]) for _, e in core.store.live_items(now)]
    ranks = {epoch: rank for rank, epoch in enumerate(sorted({e for _, e, _ in live}))}
    entries = [
        (value, None if deadline is None else max(deadline - now, 0.0), ranks[epoch])
        for value, epoch, deadline in live
    ]
    return wire.encode_entries_with_hints(core.model, entries)


def _commit_restore(
    core: PoolCore[Any],
    upserts: list[tuple[Hashable, Any]],
    hints: dict[Hashable, tuple[float | None, int]] | None,
) -> RestoreStats:
    reservations = core.reservations

    def no_strict_writes(now: float) -> None:
        if reservations is not None and reservations.any():
            held = reservations.held()
            raise BackendWriteInFlight(f"strict backend writes in flight for ids {held!r}")

    result = core.commit(
        upserts,
        conflict=Conflict.REPLACE,
        replace_all=True,
        reason=EventReason.MANUAL,
        hints=hints,
        precheck=no_strict_writes,
    )
    return RestoreStats(inserted=result.inserted, updated=result.updated, removed=result.removed)


def restore_entries(core: PoolCore[Any], data: bytes) -> RestoreStats:
    """Replace the whole pool with a kind-3 snapshot (the pool's default ttl applies).

    :raises WireFormatError: bad header/body; kind 4 -> ``KindMismatch``.
    :raises TooManyEntries: more entries than the pool's capacity (before decoding entries).
    :raises DuplicateId: an id occurs twice.
    :raises BackendWriteInFlight: a strict backend write holds an id.
    """
    values = wire.decode_entries(core.model, data, core.config.capacity)
    return _commit_restore(core, [(core.id_of(v), v) for v in values], None)


def restore(core: PoolCore[Any], data: bytes) -> RestoreStats:
    """Replace the whole pool with a kind-3 or kind-4 snapshot.

    Kind 4 keeps each entry's remaining ttl (no ttl stays no ttl) and relative LRU order; kind 3
    uses the pool's default ttl.

    :raises WireFormatError: bad header/body/hints; another kind -> ``KindMismatch``.
    :raises TooManyEntries: more entries than the pool's capacity (before decoding entries).
    :raises DuplicateId: an id occurs twice.
    :raises BackendWriteInFlight: a strict backend write holds an id.
    """
    decoded = wire.decode_snapshot(core.model, data, core.config.capacity)
    if decoded and isinstance(decoded[0], wire.HintedEntry):
        hinted = [e for e in decoded if isinstance(e, wire.HintedEntry)]
        upserts = [(core.id_of(e.value), e.value) for e in hinted]
        hints = {core.id_of(e.value): (e.remaining, e.rank) for e in hinted}
        return _commit_restore(core, upserts, hints)
    return _commit_restore(core, [(core.id_of(v), v) for v in decoded], None)

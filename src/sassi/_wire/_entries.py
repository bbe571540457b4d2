"""Pool entries: kind 3 (values sorted by id) and kind 4 (values with TTL and LRU hints).

A declared count above the caller's capacity raises :class:`TooManyEntries` before any entry is
decoded; a count that the remaining bytes cannot hold is a :class:`CodecError`; duplicate ids
raise :class:`DuplicateId`. Layouts are described in :mod:`sassi.wire`.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from ..exceptions import CodecError, DuplicateId, TooManyEntries
from ._codec import Codec, codec, encoder
from ._header import Kind, encode_header, read_header

__all__ = [
    "HINTS_VERSION",
    "HintedEntry",
    "decode_entries",
    "decode_entries_with_hints",
    "decode_snapshot",
    "encode_entries",
    "encode_entries_with_hints",
]

T = TypeVar("T")

HINTS_VERSION = 1
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_MAX_U64 = 2**64 - 1


@dataclasses.dataclass(frozen=True, slots=True)
class HintedEntry:
    """One entry of a kind-4 snapshot.

    :param value: the model value.
    :param remaining: remaining TTL in seconds, or ``None`` for no TTL.
    :param rank: dense LRU rank (0 = least recently used; equal recency shares a rank).
    """

    value: Any
    remaining: float | None
    rank: int


def _sorted_by_id(c: Codec, values: Iterable[Any]) -> list[Any]:
    return sorted(values, key=c.get_id)


def encode_entries(model: type, values: Iterable[Any]) -> bytes:
    """A kind-3 container of ``values`` sorted by id (deterministic bytes).

    :param model: the pool's model class.
    :param values: the values to export.
    :returns: header | u32 LE count | MessagePack array of value maps.
    :raises CodecError: when a value cannot be encoded.
    :raises ValueError: when a ``wire_portable`` value holds NaN or infinity.
    """
    c = codec(model)
    items = _sorted_by_id(c, values)
    maps = [c.to_map(v) for v in items]
    try:
        body = encoder().encode(maps)
    except (TypeError, ValueError, OverflowError) as exc:
        raise CodecError(f"cannot encode {c.type_name} entries: {exc}") from exc
    return encode_header(Kind.POOL_ENTRIES, c.type_name) + _U32.pack(len(items)) + body


def encode_entries_with_hints(
    model: type, entries: Iterable[tuple[Any, float | None, int]]
) -> bytes:
    """A kind-4 container: values with remaining TTL and dense LRU rank, sorted by id.

    :param model: the pool's model class.
    :param entries: ``(value, remaining seconds or None, rank)`` triples.
    :returns: header | u16 LE version | u32 LE count | MessagePack array of entries.
    :raises CodecError: when a value cannot be encoded.
    :raises ValueError: when a ``wire_portable`` value holds NaN or infinity.
    """
    c = codec(model)
    items = sorted(entries, key=lambda e: c.get_id(e[0]))
    rows = []
    for value, remaining, rank in items:
        if remaining is None or not math.isfinite(remaining):
            rows.append([c.to_map(value), 0, 0, rank])
        else:
            ms = min(max(math.ceil(remaining * 1000), 0), _MAX_U64)
            rows.append([c.to_map(value), 1, ms, rank])
    try:
        body = encoder().encode(rows)
    except (TypeError, ValueError, OverflowError) as exc:
        raise CodecError(f"cannot encode {c.type_name} entries: {exc}") from exc
    header = encode_header(Kind.POOL_ENTRIES_WITH_HINTS, c.type_name)
    return header + _U16.pack(HINTS_VERSION) + _U32.pack(len(items)) + body


def _array_len(body: memoryview) -> int:
    """The element count of the MessagePack array starting ``body`` (header only)."""
    if len(body) < 1:
        raise CodecError("entries body is empty")
    first = body[0]
    if 0x90 <= first <= 0x9F:
        return int(first & 0x0F)
    if first == 0xDC and len(body) >= 3:
        return int.from_bytes(body[1:3], "big")
    if first == 0xDD and len(body) >= 5:
        return int.from_bytes(body[1:5], "big")
    raise CodecError("entries body is not a MessagePack array")


def _check_count(declared: int, capacity: int | None, body: memoryview) -> None:
    """Capacity first (before anything is decoded), then plausibility against the bytes."""
    if capacity is not None and declared > capacity:
        raise TooManyEntries(declared, capacity)
    if declared > len(body):  # every entry needs at least one byte
        raise CodecError(f"declared {declared} entries but only {len(body)} body bytes remain")
    if _array_len(body) != declared:
        raise CodecError("entry count does not match the entries array")


def _check_unique(c: Codec, values: Sequence[Any]) -> None:
    seen: set[Any] = set()
    for value in values:
        ident = c.get_id(value)
        if ident in seen:
            raise DuplicateId(f"snapshot holds id {ident!r} more than once")
        seen.add(ident)


def decode_entries(
    model: type[T], data: bytes | memoryview, capacity: int | None = None
) -> list[T]:
    """Decode and fully validate a kind-3 container.

    :param model: the pool's model class.
    :param data: the container.
    :param capacity: the largest acceptable count (``None``: no limit).
    :returns: the values in stored order.
    :raises WireFormatError: on a bad header or body (kind 4 -> :class:`KindMismatch`).
    :raises TooManyEntries: when the declared count exceeds ``capacity`` (checked first).
    :raises DuplicateId: when an id occurs twice.
    """
    c = codec(model)
    _, offset = read_header(data, (Kind.POOL_ENTRIES,), c.type_name)
    return _decode_entries_body(c, memoryview(data)[offset:], capacity)


def _decode_entries_body(c: Codec, body: memoryview, capacity: int | None) -> list[Any]:
    if len(body) < _U32.size:
        raise CodecError("entries count is truncated")
    (declared,) = _U32.unpack_from(body, 0)
    rest = body[_U32.size :]
    _check_count(declared, capacity, rest)
    values = [c.from_shadow(s) for s in c.decode_raw_list(rest)]
    _check_unique(c, values)
    return values


def decode_entries_with_hints(
    model: type, data: bytes | memoryview, capacity: int | None = None
) -> list[HintedEntry]:
    """Decode and fully validate a kind-4 container.

    :raises WireFormatError: on a bad header, envelope version, tag, rank or body.
    :raises TooManyEntries: when the declared count exceeds ``capacity`` (checked first).
    :raises DuplicateId: when an id occurs twice.
    """
    c = codec(model)
    _, offset = read_header(data, (Kind.POOL_ENTRIES_WITH_HINTS,), c.type_name)
    return _decode_hints_body(c, memoryview(data)[offset:], capacity)


def _decode_hints_body(c: Codec, body: memoryview, capacity: int | None) -> list[HintedEntry]:
    if len(body) < _U16.size + _U32.size:
        raise CodecError("snapshot envelope is truncated")
    (version,) = _U16.unpack_from(body, 0)
    if version != HINTS_VERSION:
        raise CodecError(f"unknown snapshot envelope version {version}")
    (declared,) = _U32.unpack_from(body, _U16.size)
    rest = body[_U16.size + _U32.size :]
    _check_count(declared, capacity, rest)
    rows = c.decode_raw_list(rest, hints=True)
    entries: list[HintedEntry] = []
    for shadow, tag, ms, rank in rows:
        if tag not in (0, 1):
            raise CodecError(f"unknown ttl tag {tag}")
        if not 0 <= ms <= _MAX_U64 or (tag == 0 and ms != 0):
            raise CodecError(f"bad remaining ttl {ms}")
        if not 0 <= rank < declared:
            raise CodecError(f"LRU rank {rank} out of range for {declared} entries")
        entries.append(HintedEntry(c.from_shadow(shadow), ms / 1000 if tag == 1 else None, rank))
    _check_unique(c, [e.value for e in entries])
    return entries


def decode_snapshot(
    model: type, data: bytes | memoryview, capacity: int | None = None
) -> list[HintedEntry] | list[Any]:
    """Decode a kind-3 or kind-4 container (dispatching on the header's kind).

    :returns: a list of values for kind 3, a list of :class:`HintedEntry` for kind 4.
    :raises WireFormatError: another kind -> :class:`KindMismatch` (expected 3); >= 5 ->
        :class:`UnsupportedKind`; plus every check of the two decoders.
    """
    c = codec(model)
    kind, offset = read_header(data, (Kind.POOL_ENTRIES, Kind.POOL_ENTRIES_WITH_HINTS), c.type_name)
    body = memoryview(data)[offset:]
    if kind is Kind.POOL_ENTRIES:
        return _decode_entries_body(c, body, capacity)
    return _decode_hints_body(c, body, capacity)

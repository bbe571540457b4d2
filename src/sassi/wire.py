"""The sassi wire container: a fixed header plus a MessagePack body.

Every byte string sassi writes to a backend or a snapshot starts with the same header::

    magic      8 bytes   b"SASSI\\x00W\\x00"
    major      u16 LE    WIRE_FORMAT_MAJOR (1)
    kind       u8        1 value, 2 file entry, 3 pool entries, 4 pool entries with hints
    flags      u8        0
    name_len   u16 LE    length of the type name in bytes
    name       UTF-8     sassi.type_name(Model)

Decoding checks the header in exactly this order, before touching the body: a leading ``{``
(the JSON envelope of the Rust crate's beta.1) -> :class:`VersionMismatch` (got 0); fewer than
14 bytes -> :class:`MalformedHeader`; magic -> :class:`InvalidMagic`; major ->
:class:`VersionMismatch`; kind >= 5 -> :class:`UnsupportedKind`; another kind ->
:class:`KindMismatch`; flags -> :class:`UnsupportedFlags`; truncated or non-UTF-8 name ->
:class:`MalformedHeader`; another name -> :class:`TypeNameMismatch`. Body problems (bad
MessagePack, wrong shape, a field of the wrong type, trailing bytes) -> :class:`CodecError`.

Bodies after the header, per kind (``value`` is a MessagePack map ``{field name: field value}``
in the model's field order; fields typed ``sassi.JSON`` hold plain JSON values):

- kind 1: ``value``.
- kind 2 (file entry): u8 expiry tag (0 none, 1 unix-ms) | u64 LE expiry in unix milliseconds
  (0 when the tag is 0) | ``value``. The expiry is readable without decoding the value.
- kind 3 (pool entries): u32 LE count | MessagePack array of ``count`` values, sorted by id.
  Deterministic bytes for equal pools.
- kind 4 (pool entries with hints): u16 LE envelope version (1) | u32 LE count | MessagePack
  array of ``count`` entries ``[value, ttl tag (0 none, 1 remaining), remaining ms (u64),
  rank (u32, dense LRU rank, 0 = least recently used)]``.

A model declared ``cacheable(..., wire_portable=True)`` refuses NaN and infinities anywhere in
its values: encoding raises ``ValueError``, decoding :class:`CodecError`, both naming the field
(see :func:`sassi._model.check_portable`).

Field values are decoded against the model's field annotations (msgspec types: dataclasses,
attrs, Structs, NamedTuples, enums, UUID, datetime, Decimal, tuples, sets, unions...); a field
whose annotation cannot be resolved or decoded (``sassi.JSON``, foreign classes, postponed
annotations of function-local classes) comes back as the plain MessagePack value (None, bool,
int, float, str, bytes, list, dict). Sets and frozensets are written in iteration order.

A declared count above the caller's capacity raises :class:`TooManyEntries` before any entry is
decoded; a count that the remaining bytes cannot hold is a :class:`CodecError` (nothing large is
ever allocated from a declared count); duplicate ids raise :class:`DuplicateId`. Nothing here
uses pickle: decoding never runs code beyond the model's own constructor.

The header, the per-model codecs, ids and pool entries live in :mod:`sassi._wire`; this module
keeps the public surface and the single-value kinds (1 and 2).
"""

from __future__ import annotations

import struct
from typing import TypeVar

from ._wire._codec import Codec as Codec
from ._wire._codec import codec as codec
from ._wire._codec import model_for as model_for
from ._wire._entries import HINTS_VERSION as HINTS_VERSION
from ._wire._entries import HintedEntry as HintedEntry
from ._wire._entries import decode_entries as decode_entries
from ._wire._entries import decode_entries_with_hints as decode_entries_with_hints
from ._wire._entries import decode_snapshot as decode_snapshot
from ._wire._entries import encode_entries as encode_entries
from ._wire._entries import encode_entries_with_hints as encode_entries_with_hints
from ._wire._header import HEADER_LEN as HEADER_LEN
from ._wire._header import MAGIC as MAGIC
from ._wire._header import WIRE_FORMAT_MAJOR as WIRE_FORMAT_MAJOR
from ._wire._header import Kind as Kind
from ._wire._header import encode_header as encode_header
from ._wire._header import read_header as read_header
from ._wire._ids import convert_id as convert_id
from ._wire._ids import encode_id as encode_id
from ._wire._ids import id_token as id_token
from .exceptions import CodecError

__all__ = ["MAGIC", "WIRE_FORMAT_MAJOR", "Kind", "dumps", "loads"]

T = TypeVar("T")

_EXPIRY = struct.Struct("<BQ")
_MAX_U64 = 2**64 - 1


# --- kind 1: values ---------------------------------------------------------------------------


def dumps(value: object) -> bytes:
    """Encode one model value as a kind-1 wire container.

    :param value: an instance of any sassi model class.
    :returns: header + MessagePack body.
    :raises CodecError: when a field holds something MessagePack cannot carry.
    :raises ValueError: when the model is ``wire_portable`` and the value holds NaN or an
        infinity (the message names the field).
    :raises TypeError: when ``value``'s class is not a model (no identity field).
    """
    c = codec(type(value))
    return c.header(Kind.VALUE) + c.encode(value)


def loads(model: type[T], data: bytes | bytearray | memoryview) -> T:
    """Decode a kind-1 container into an instance of ``model``.

    :param model: the model class the data must belong to (its type name is checked).
    :param data: bytes produced by :func:`dumps`.
    :returns: a new ``model`` instance.
    :raises WireFormatError: the subclass for the first header or body check that fails.
    """
    c = codec(model)
    offset = c.body_offset(data, Kind.VALUE)
    result: T = c.decode(memoryview(data)[offset:])
    return result


# --- kind 2: file entries ---------------------------------------------------------------------


def encode_file_entry(value: object, expires_at_ms: int | None) -> bytes:
    """A kind-2 record: header, expiry tag + unix-ms expiry, value body.

    :param value: the model value.
    :param expires_at_ms: absolute expiry in unix milliseconds, or ``None`` for never.
    :returns: the record bytes.
    """
    c = codec(type(value))
    if expires_at_ms is None:
        expiry = _EXPIRY.pack(0, 0)
    else:
        expiry = _EXPIRY.pack(1, min(max(int(expires_at_ms), 0), _MAX_U64))
    return encode_header(Kind.FILE_ENTRY, c.type_name) + expiry + c.encode(value)


def read_file_entry_expiry(data: bytes | memoryview, type_name: str) -> tuple[int | None, int]:
    """Validate a kind-2 header and read its expiry without touching the value.

    :returns: ``(expiry unix-ms or None, offset of the value body)``.
    :raises WireFormatError: on a bad header, a truncated expiry or an unknown tag.
    """
    _, offset = read_header(data, (Kind.FILE_ENTRY,), type_name)
    if len(data) < offset + _EXPIRY.size:
        raise CodecError("file entry expiry is truncated")
    tag, expiry = _EXPIRY.unpack_from(data, offset)
    if tag not in (0, 1):
        raise CodecError(f"unknown file entry expiry tag {tag}")
    return (expiry if tag == 1 else None), offset + _EXPIRY.size


def decode_file_entry(model: type[T], data: bytes | memoryview) -> tuple[T, int | None]:
    """Decode a kind-2 record into ``(value, expiry unix-ms or None)``.

    :raises WireFormatError: on any header or body problem.
    """
    c = codec(model)
    expiry, offset = read_file_entry_expiry(data, c.type_name)
    value: T = c.decode(memoryview(data)[offset:])
    return value, expiry

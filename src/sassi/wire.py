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

Field values are decoded against the model's field annotations (msgspec types: dataclasses,
attrs, Structs, NamedTuples, enums, UUID, datetime, Decimal, tuples, sets, unions...); a field
whose annotation cannot be resolved or decoded (``sassi.JSON``, foreign classes, postponed
annotations of function-local classes) comes back as the plain MessagePack value (None, bool,
int, float, str, bytes, list, dict). Sets and frozensets are written in iteration order.

A declared count above the caller's capacity raises :class:`TooManyEntries` before any entry is
decoded; a count that the remaining bytes cannot hold is a :class:`CodecError` (nothing large is
ever allocated from a declared count); duplicate ids raise :class:`DuplicateId`. Nothing here
uses pickle: decoding never runs code beyond the model's own constructor.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
import struct
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ._model import model_info
from .exceptions import (
    CodecError,
    DuplicateId,
    InvalidMagic,
    KindMismatch,
    MalformedHeader,
    TooManyEntries,
    TypeNameMismatch,
    UnsupportedFlags,
    UnsupportedKind,
    VersionMismatch,
)

if TYPE_CHECKING:
    import msgspec
else:

    class _LazyMsgspec:
        """``msgspec``, imported on first use: ``import sassi`` (which makes ``sassi.wire``
        available) imports no third-party package but anyio (SPEC section 0)."""

        def __getattr__(self, name: str) -> Any:
            import msgspec as module

            globals()["msgspec"] = module
            return getattr(module, name)

    msgspec = _LazyMsgspec()

__all__ = ["MAGIC", "WIRE_FORMAT_MAJOR", "Kind", "dumps", "loads"]

T = TypeVar("T")

MAGIC = b"SASSI\x00W\x00"
WIRE_FORMAT_MAJOR = 1
HEADER_LEN = 14
_HEADER = struct.Struct("<8sHBBH")
_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_EXPIRY = struct.Struct("<BQ")
HINTS_VERSION = 1
_MAX_U64 = 2**64 - 1
# what msgspec (or a bad string inside the data) can raise while decoding untrusted bytes
_BASE_DECODE_ERRORS = (ValueError, TypeError, OverflowError, RecursionError)


def _decode_errors() -> tuple[type[BaseException], ...]:
    """What decoding untrusted bytes can raise (evaluated only when something was raised)."""
    return (msgspec.MsgspecError, *_BASE_DECODE_ERRORS)


class Kind(enum.IntEnum):
    """The container kinds of the wire header (values >= 5 are reserved)."""

    VALUE = 1
    FILE_ENTRY = 2
    POOL_ENTRIES = 3
    POOL_ENTRIES_WITH_HINTS = 4


# --- header ---------------------------------------------------------------------------------


def encode_header(kind: Kind, type_name: str) -> bytes:
    """The header for ``kind`` and ``type_name``.

    :param kind: the container kind.
    :param type_name: the model's stable type name.
    :returns: the header bytes (14 + the UTF-8 length of the name).
    :raises ValueError: when the name is longer than 65535 bytes.
    """
    name = type_name.encode("utf-8")
    if len(name) > 0xFFFF:
        raise ValueError(f"type name is too long for the wire header ({len(name)} bytes)")
    return _HEADER.pack(MAGIC, WIRE_FORMAT_MAJOR, int(kind), 0, len(name)) + name


def read_header(
    data: bytes | bytearray | memoryview, expected: Iterable[Kind], type_name: str
) -> tuple[Kind, int]:
    """Validate a header and return its kind and the offset where the body starts.

    ``expected`` lists the acceptable kinds; a known kind outside it raises
    :class:`KindMismatch` naming the first expected kind.

    :param data: the whole container.
    :param expected: acceptable kinds (the first one is reported on mismatch).
    :param type_name: the type name the header must carry.
    :returns: ``(kind, body offset)``.
    :raises WireFormatError: the subclass for the first check that fails (module docstring).
    """
    view = memoryview(data)
    if len(view) >= 1 and view[0] == 0x7B:  # "{": the JSON envelope of wire major 0
        raise VersionMismatch(0, WIRE_FORMAT_MAJOR)
    if len(view) < HEADER_LEN:
        raise MalformedHeader(f"wire header needs {HEADER_LEN} bytes, got {len(view)}")
    magic, major, kind, flags, name_len = _HEADER.unpack_from(view, 0)
    if magic != MAGIC:
        raise InvalidMagic("bytes do not start with the sassi wire magic")
    if major != WIRE_FORMAT_MAJOR:
        raise VersionMismatch(major, WIRE_FORMAT_MAJOR)
    if kind >= 5 or kind == 0:
        raise UnsupportedKind(kind)
    wanted = tuple(expected)
    if kind not in wanted:
        raise KindMismatch(kind, int(wanted[0]))
    if flags != 0:
        raise UnsupportedFlags(flags)
    end = HEADER_LEN + name_len
    if len(view) < end:
        raise MalformedHeader(
            f"type name truncated: header declares {name_len} bytes, {len(view) - HEADER_LEN} remain"
        )
    try:
        got = bytes(view[HEADER_LEN:end]).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedHeader("type name is not valid UTF-8") from exc
    if got != type_name:
        raise TypeNameMismatch(got, type_name)
    return Kind(kind), end


# --- per-model codecs -----------------------------------------------------------------------


def _decodable(annotation: Any) -> Any:
    """``annotation`` if msgspec can decode it, else ``Any`` (JSON fields, foreign classes)."""
    try:
        msgspec.msgpack.Decoder(annotation)
    except Exception:
        return Any
    return annotation


def _enc_hook(obj: Any) -> Any:
    dump = getattr(obj, "model_dump", None)  # nested pydantic models
    if callable(dump):
        return dump()
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


@functools.cache
def _encoder() -> msgspec.msgpack.Encoder:
    """The shared MessagePack encoder, built on first use."""
    return msgspec.msgpack.Encoder(enc_hook=_enc_hook)


class _Codec:
    """Encode/decode one model's values to and from their MessagePack map form."""

    __slots__ = (
        "_build",
        "_decoder",
        "_field_names",
        "_headers",
        "_hints_decoder",
        "_list_decoder",
        "get_id",
        "model",
        "type_name",
    )

    def __init__(self, model: type) -> None:
        info = model_info(model)
        self.model = model
        self.type_name = info.type_name
        self.get_id: Callable[[Any], Any] = info.get_id
        names = list(info.annotations)
        self._field_names = tuple(names)
        specs = [(f"f{i}", _decodable(ann)) for i, ann in enumerate(info.annotations.values())]
        shadow = msgspec.defstruct(
            f"_Wire_{model.__name__}",
            specs,
            rename={f"f{i}": name for i, name in enumerate(names)},
            forbid_unknown_fields=True,
        )
        self._decoder: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder(shadow)
        self._list_decoder: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder(
            list[shadow]  # type: ignore[valid-type]
        )
        self._hints_decoder: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder(
            list[tuple[shadow, int, int, int]]  # type: ignore[valid-type]
        )
        self._build = _builder(model, names)
        self._headers: dict[Kind, bytes] = {}

    def to_map(self, value: Any) -> dict[str, Any]:
        return {name: getattr(value, name) for name in self._field_names}

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, self.model):
            raise TypeError(f"expected a {self.model.__qualname__}, got {type(value).__qualname__}")
        try:
            return _encoder().encode(self.to_map(value))
        except (TypeError, ValueError, OverflowError) as exc:
            raise CodecError(f"cannot encode {self.type_name} value: {exc}") from exc

    def header(self, kind: Kind) -> bytes:
        """This model's header for ``kind`` (cached)."""
        found = self._headers.get(kind)
        if found is None:
            found = self._headers[kind] = encode_header(kind, self.type_name)
        return found

    def body_offset(self, data: bytes | bytearray | memoryview, kind: Kind) -> int:
        """Where the body starts, after validating the header (fast path: the exact header)."""
        expected = self.header(kind)
        if data[: len(expected)] == expected:
            return len(expected)
        return read_header(data, (kind,), self.type_name)[1]

    def from_shadow(self, shadow: Any) -> Any:
        try:
            return self._build(msgspec.structs.astuple(shadow))
        except Exception as exc:  # the model's own validation rejected the data
            raise CodecError(f"cannot build {self.type_name} from wire data: {exc}") from exc

    def decode(self, body: bytes | memoryview) -> Any:
        try:
            shadow = self._decoder.decode(body)
        except _decode_errors() as exc:
            raise CodecError(f"bad {self.type_name} body: {exc}") from exc
        return self.from_shadow(shadow)

    def decode_raw_list(self, body: bytes | memoryview, *, hints: bool = False) -> list[Any]:
        decoder = self._hints_decoder if hints else self._list_decoder
        try:
            return list(decoder.decode(body))
        except _decode_errors() as exc:
            raise CodecError(f"bad {self.type_name} entries body: {exc}") from exc


def _builder(model: type, names: list[str]) -> Callable[[Sequence[Any]], Any]:
    """How to construct ``model`` from its field values in field order."""
    if hasattr(model, "model_validate") and hasattr(model, "model_fields"):  # pydantic v2
        validate = model.model_validate

        def build_pydantic(values: Sequence[Any]) -> Any:
            return validate(dict(zip(names, values, strict=True)), by_name=True, by_alias=False)

        return build_pydantic
    attrs_attrs = getattr(model, "__attrs_attrs__", None)
    if attrs_attrs is not None:  # attrs strips a leading underscore from __init__ names
        aliases = {a.name: getattr(a, "alias", None) or a.name.lstrip("_") for a in attrs_attrs}
        init_names = [aliases.get(n, n) for n in names]
        return lambda values: model(**dict(zip(init_names, values, strict=True)))
    if dataclasses.is_dataclass(model) and not all(f.init for f in dataclasses.fields(model)):
        return _setattr_builder(model, names)
    if (
        not dataclasses.is_dataclass(model)
        and attrs_attrs is None
        and not hasattr(model, "__struct_fields__")
        and not issubclass(model, tuple)
        and model.__init__ is object.__init__
    ):
        return _setattr_builder(model, names)
    return lambda values: model(**dict(zip(names, values, strict=True)))


def _setattr_builder(model: type, names: list[str]) -> Callable[[Sequence[Any]], Any]:
    def build(values: Sequence[Any]) -> Any:
        obj: Any = object.__new__(model)
        for name, value in zip(names, values, strict=True):
            object.__setattr__(obj, name, value)
        return obj

    return build


_codecs: weakref.WeakKeyDictionary[type, _Codec] = weakref.WeakKeyDictionary()
_known: weakref.WeakValueDictionary[str, type] = weakref.WeakValueDictionary()
_codec_lock = threading.Lock()


def codec(model: type) -> _Codec:
    """The cached codec of ``model`` (built on first use)."""
    found = _codecs.get(model)
    if found is not None:
        return found
    with _codec_lock:
        found = _codecs.get(model)
        if found is None:
            found = _Codec(model)
            _codecs[model] = found
            _known[found.type_name] = model
        return found


def model_for(type_name: str) -> type | None:
    """The model class last seen (by :func:`dumps`, :func:`loads` or a pool) for ``type_name``."""
    return _known.get(type_name)


# --- kind 1: values ---------------------------------------------------------------------------


def dumps(value: object) -> bytes:
    """Encode one model value as a kind-1 wire container.

    :param value: an instance of any sassi model class.
    :returns: header + MessagePack body.
    :raises CodecError: when a field holds something MessagePack cannot carry.
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


# --- kinds 3 and 4: pool entries ------------------------------------------------------------


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


def _sorted_by_id(c: _Codec, values: Iterable[Any]) -> list[Any]:
    return sorted(values, key=c.get_id)


def encode_entries(model: type, values: Iterable[Any]) -> bytes:
    """A kind-3 container of ``values`` sorted by id (deterministic bytes).

    :param model: the pool's model class.
    :param values: the values to export.
    :returns: header | u32 LE count | MessagePack array of value maps.
    :raises CodecError: when a value cannot be encoded.
    """
    c = codec(model)
    items = _sorted_by_id(c, values)
    try:
        body = _encoder().encode([c.to_map(v) for v in items])
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
        body = _encoder().encode(rows)
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


def _check_unique(c: _Codec, values: Sequence[Any]) -> None:
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


def _decode_entries_body(c: _Codec, body: memoryview, capacity: int | None) -> list[Any]:
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


def _decode_hints_body(c: _Codec, body: memoryview, capacity: int | None) -> list[HintedEntry]:
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


# --- ids ----------------------------------------------------------------------------------------


def encode_id(ident: object) -> bytes:
    """The stable encoding of an id used in backend keys and messages: compact JSON.

    ``1`` -> ``b"1"``, ``"a"`` -> ``b'"a"'``, ``(1, "x")`` -> ``b'[1,"x"]'``; UUIDs, dates and
    decimals encode as JSON strings.

    :raises CodecError: when the id has no JSON form.
    """
    try:
        return msgspec.json.encode(ident, enc_hook=_enc_hook)
    except (TypeError, ValueError, OverflowError, NotImplementedError) as exc:
        raise CodecError(f"id {ident!r} has no JSON encoding: {exc}") from exc


def id_token(ident: object) -> str:
    """``hex(encode_id(ident))``: the id component of backend keys and file names."""
    return encode_id(ident).hex()


def convert_id(model: type, raw: object) -> Any:
    """Turn a JSON-decoded id back into the model's id type (lists -> tuples, str -> UUID...).

    :raises CodecError: when ``raw`` cannot be an id of ``model``.
    """
    info = model_info(model)
    ann = _decodable(info.annotations.get(info.id_field, Any))
    try:
        value = msgspec.convert(raw, ann, strict=False) if ann is not Any else raw
    except (msgspec.ValidationError, TypeError) as exc:
        raise CodecError(f"{raw!r} is not an id of {info.type_name}: {exc}") from exc
    return _hashable(value)


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value

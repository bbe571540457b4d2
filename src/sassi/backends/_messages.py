"""Invalidation messages as untrusted input: limits, the JSON envelope, validation.

A message a backend delivers may come from another process, another sassi version, or anyone
who can write to the channel. Decoding one is bounded in time and memory, *before* any parser
runs: at most :data:`MAX_MESSAGE_BYTES` bytes, JSON nested at most :data:`MAX_MESSAGE_DEPTH`
levels (ids included), and the predicate text of an ``InvalidateWhere`` nested at most
:data:`MAX_PREDICATE_DEPTH` levels. A message that breaks a limit, is not JSON, has the wrong
shape or types, an unknown version or op, or an id that cannot be an id of the keyspace's model
raises :class:`~sassi.CodecError` (a :class:`~sassi.WireFormatError`) naming the problem,
never ``RecursionError``, ``MemoryError`` or a bare ``TypeError``.

The envelope (JSON, compact, ids encoded as by :func:`sassi.wire.encode_id`)::

    {"v":1,"op":"id","id":<json id>}
    {"v":1,"op":"all"}
    {"v":1,"op":"where","predicate":"<predicate JSON, a string>"}

plus ``"o":"<origin>"`` when the writer has an origin; unknown keys are ignored, so later
versions can add some. :func:`check_message` applies the same limits to message *objects*
(streams fed in-process, like the memory backend's).
"""

from __future__ import annotations

import array
import enum
import itertools
import re
from typing import TYPE_CHECKING, Any

from .._wire._codec import model_for
from .._wire._ids import convert_id, encode_id, hashable
from .._wire._lazy import LazyModule
from ..exceptions import CodecError
from ._protocol import InvalidateAll, InvalidateId, InvalidateWhere, Invalidation, Keyspace

if TYPE_CHECKING:
    import msgspec
else:
    msgspec = LazyModule("msgspec", globals())

__all__ = [
    "MAX_MESSAGE_BYTES",
    "MAX_MESSAGE_DEPTH",
    "MAX_PREDICATE_DEPTH",
    "OWN",
    "Own",
    "check_message",
    "decode_message",
    "encode_message",
    "json_depth",
]

MAX_MESSAGE_BYTES = 1 << 20
"""The largest message accepted (and sent): 1 MiB, room for an ``in_`` of ~150,000 ints."""

MAX_MESSAGE_DEPTH = 32
"""The deepest JSON nesting of a message envelope, its id included (a tuple id is 2 levels)."""

MAX_PREDICATE_DEPTH = 256
"""The deepest JSON nesting of the predicate an ``InvalidateWhere`` carries."""


class Own(enum.Enum):
    """What :func:`decode_message` returns for a message the reading stream's writer sent."""

    OWN = "own"


OWN = Own.OWN

# A JSON string, possessively (no backtracking), or an unterminated one running to the end, so
# one left-to-right pass consumes every string exactly once, whatever the input.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 / -1 as signed bytes
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(data: bytes) -> int:
    """The deepest bracket nesting of JSON text, in linear time and C-speed loops.

    Strings are dropped first (their brackets are text); every other bracket becomes a +1 or
    -1 step and the depth is the largest running sum. Openers that are never closed count, so
    for malformed text this bounds how deep a parser could recurse before finding the error.
    """
    steps = array.array("b", _STRING.sub(b"", data).translate(_STEPS, _NOT_BRACKETS))
    return max(itertools.accumulate(steps), default=0)


def _check_text(data: bytes, max_depth: int, what: str) -> None:
    if len(data) > MAX_MESSAGE_BYTES:
        raise CodecError(f"{what} of {len(data)} bytes is over the {MAX_MESSAGE_BYTES} limit")
    if data.count(b"[") + data.count(b"{") > max_depth:  # only then can it be too deep
        depth = json_depth(data)
        if depth > max_depth:
            raise CodecError(f"{what} is nested {depth} levels deep, over the {max_depth} limit")


def encode_message(message: Invalidation, origin: str | None = None) -> bytes:
    """The JSON envelope of an invalidation message.

    :param message: the message to send.
    :param origin: the writer's identity (``Keyspace.origin``), or ``None``.
    :returns: compact JSON bytes.
    :raises CodecError: when an id has no JSON form, or the message breaks a limit its
        receivers enforce (size, nesting).
    :raises TypeError: for anything else than an invalidation message.
    """
    body: dict[str, Any] = {"v": 1}
    if isinstance(message, InvalidateId):
        body.update(op="id", id=message.id)
    elif isinstance(message, InvalidateWhere):
        _check_text(message.predicate.encode(), MAX_PREDICATE_DEPTH, "predicate")
        body.update(op="where", predicate=message.predicate)
    elif isinstance(message, InvalidateAll):
        body["op"] = "all"
    else:
        raise TypeError(f"not an invalidation message: {message!r}")
    if origin is not None:
        body["o"] = origin
    data = encode_id(body)  # compact JSON with sassi's id encoding rules
    _check_text(data, MAX_MESSAGE_DEPTH, "invalidation message")
    return data


def decode_message(data: object, keyspace: Keyspace) -> Invalidation | Own:
    """Decode one untrusted envelope for ``keyspace``.

    :param data: the raw message (``bytes``; ``str`` is encoded as UTF-8).
    :param keyspace: the stream's keyspace: its model types the id, its origin marks echoes.
    :returns: the message, or :data:`OWN` when ``keyspace.origin`` wrote it.
    :raises CodecError: for any message that is not a valid, bounded envelope.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CodecError(f"invalidation message is a {type(data).__name__}, not bytes")
    raw = bytes(data)
    _check_text(raw, MAX_MESSAGE_DEPTH, "invalidation message")
    try:
        body = msgspec.json.decode(raw)
    except (msgspec.DecodeError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise CodecError(f"invalidation message is not JSON: {exc}") from exc
    if not isinstance(body, dict) or body.get("v") != 1:
        raise CodecError("not a version-1 sassi invalidation message")
    origin = body.get("o")
    if origin is not None and not isinstance(origin, str):
        raise CodecError(f"invalidation message origin is a {type(origin).__name__}")
    if origin is not None and origin == keyspace.origin:
        return OWN  # our own echo: already applied locally
    op = body.get("op")
    if op == "all":
        return InvalidateAll()
    if op == "where":
        predicate = body.get("predicate")
        if not isinstance(predicate, str):
            raise CodecError("invalidation message: a 'where' predicate must be a string")
        return check_message(InvalidateWhere(predicate))
    if op == "id" and "id" in body:
        model = keyspace.model or model_for(keyspace.type_name)
        ident = hashable(body["id"]) if model is None else convert_id(model, body["id"])
        return check_message(InvalidateId(ident))
    raise CodecError(f"invalidation message has an unknown op {op!r}")


def check_message(message: object) -> Invalidation:
    """``message`` if it is a well-formed invalidation message object, else an error.

    :raises CodecError: for another type, an id that is not hashable, or a predicate that is
        not a string within the limits.
    """
    if isinstance(message, InvalidateAll):
        return message
    if isinstance(message, InvalidateId):
        try:
            hash(message.id)
        except Exception as exc:
            raise CodecError(f"invalidation message id is not hashable: {exc}") from exc
        return message
    if isinstance(message, InvalidateWhere):
        if not isinstance(message.predicate, str):
            raise CodecError("an InvalidateWhere predicate must be a string")
        _check_text(
            message.predicate.encode("utf-8", "surrogatepass"), MAX_PREDICATE_DEPTH, "predicate"
        )
        return message
    raise CodecError(f"not an invalidation message: {type(message).__name__}")

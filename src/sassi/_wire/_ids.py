"""The JSON form of ids: the id component of backend keys, file names and messages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._model import model_info
from ..exceptions import CodecError
from ._codec import decodable, enc_hook
from ._lazy import LazyModule

if TYPE_CHECKING:
    import msgspec
else:
    msgspec = LazyModule("msgspec", globals())

__all__ = ["convert_id", "encode_id", "hashable", "id_token"]


def encode_id(ident: object) -> bytes:
    """The stable encoding of an id used in backend keys and messages: compact JSON.

    ``1`` -> ``b"1"``, ``"a"`` -> ``b'"a"'``, ``(1, "x")`` -> ``b'[1,"x"]'``; UUIDs, dates and
    decimals encode as JSON strings.

    :raises CodecError: when the id has no JSON form.
    """
    try:
        return msgspec.json.encode(ident, enc_hook=enc_hook)
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
    ann = decodable(info.annotations.get(info.id_field, Any))
    try:
        value = msgspec.convert(raw, ann, strict=False) if ann is not Any else raw
    except (msgspec.ValidationError, TypeError) as exc:
        raise CodecError(f"{raw!r} is not an id of {info.type_name}: {exc}") from exc
    return hashable(value)


def hashable(value: Any) -> Any:
    """``value`` with every list turned into a tuple (JSON arrays back into tuple ids)."""
    if isinstance(value, list):
        return tuple(hashable(v) for v in value)
    return value

"""The JSON invalidation messages on a keyspace's pub/sub channel."""

from __future__ import annotations

from typing import Any

from ..._wire._ids import encode_id
from .._protocol import InvalidateAll, InvalidateId, InvalidateWhere, Invalidation

__all__ = ["encode_message"]


def encode_message(message: Invalidation, origin: str | None = None) -> bytes:
    """The JSON form of an invalidation message on the Redis channel.

    ``{"v":1,"op":"id","id":<json id>}``, ``{"v":1,"op":"all"}`` or
    ``{"v":1,"op":"where","predicate":"<predicate JSON>"}``, plus ``"o":"<origin>"`` when the
    writer has an origin.

    :raises CodecError: when an id has no JSON form.
    :raises TypeError: for anything else than an invalidation message.
    """
    body: dict[str, Any] = {"v": 1}
    if isinstance(message, InvalidateId):
        body.update(op="id", id=message.id)
    elif isinstance(message, InvalidateWhere):
        body.update(op="where", predicate=message.predicate)
    elif isinstance(message, InvalidateAll):
        body["op"] = "all"
    else:
        raise TypeError(f"not an invalidation message: {message!r}")
    if origin is not None:
        body["o"] = origin
    return encode_id(body)  # compact JSON with sassi's id encoding rules

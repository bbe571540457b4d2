"""Invalidation messages are untrusted input: bounded before decoding, every failure a
CodecError, and streams turn each bad message into one MalformedMessage item and read on."""

from __future__ import annotations

import time
from typing import Any

import anyio
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sassi
from sassi.backends import (
    InvalidateAll,
    InvalidateId,
    InvalidateWhere,
    Keyspace,
    MalformedMessage,
    MemoryBackend,
)
from sassi.backends._messages import (
    MAX_MESSAGE_BYTES,
    MAX_MESSAGE_DEPTH,
    MAX_PREDICATE_DEPTH,
    OWN,
    check_message,
    decode_message,
    encode_message,
    json_depth,
)
from sassi.exceptions import CodecError
from sassi.testing._conformance import ConformanceItem, ConformanceOther

KS = Keyspace.for_model(ConformanceItem, "msg", origin="me")
PAIRS = Keyspace.for_model(ConformanceOther, "msg")
UNTYPED = Keyspace(None, "never.seen.Model")  # no model known: ids come back as plain JSON


def deep(n: int, open_: bytes = b"[", close: bytes = b"]") -> bytes:
    return open_ * n + close * n


HOSTILE: dict[str, object] = {
    "deep array": deep(1_000_000),
    "deep object": b'{"a":' * 200_000 + b"1" + b"}" * 200_000,
    "deep id": b'{"v":1,"op":"id","id":' + deep(5_000) + b"}",
    "unclosed": b"[" * 1_000_000,
    "deep predicate": b'{"v":1,"op":"where","predicate":"' + b"[" * 10_000 + b']"}',
    "huge": b'{"v":1,"op":"id","id":"' + b"x" * (2 * MAX_MESSAGE_BYTES) + b'"}',
    "huge predicate": b'{"v":1,"op":"where","predicate":"' + b"p" * MAX_MESSAGE_BYTES + b'"}',
    "garbage": bytes(range(256)),
    "invalid utf-8": b'{"v":1,"op":"id","id":"\xff\xfe"}',
    "empty": b"",
    "not json": b"not json",
    "nan literal": b'{"v":1,"op":"id","id":NaN}',
    "a list": b"[]",
    "a string": b'"all"',
    "a number": b"1e999",
    "huge int": b'{"v":1,"op":"id","id":' + b"9" * 100_000 + b"}",
    "wrong version": b'{"v":2,"op":"all"}',
    "version as text": b'{"v":"1","op":"all"}',
    "no version": b'{"op":"all"}',
    "no op": b'{"v":1}',
    "unknown op": b'{"v":1,"op":"nope"}',
    "id missing": b'{"v":1,"op":"id"}',
    "map id": b'{"v":1,"op":"id","id":{"a":1}}',
    "id of the wrong type": b'{"v":1,"op":"id","id":"seven"}',
    "bool id": b'{"v":1,"op":"id","id":true}',
    "predicate not a string": b'{"v":1,"op":"where","predicate":5}',
    "origin not a string": b'{"v":1,"op":"all","o":5}',
    "not bytes": 12345,
    "none": None,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_messages_are_codec_errors_quickly(name: str) -> None:
    started = time.perf_counter()
    with pytest.raises(CodecError):
        decode_message(HOSTILE[name], KS)
    assert time.perf_counter() - started < 1.0  # bounded, even for a MiB of brackets


@pytest.mark.parametrize(
    "data", [b'{"v":1,"op":"id","id":{"a":1}}', b'{"v":1,"op":"id","id":[[1],{"b":2}]}']
)
def test_unhashable_ids_without_a_model_are_codec_errors(data: bytes) -> None:
    with pytest.raises(CodecError, match="hashable"):
        decode_message(data, UNTYPED)


def test_good_messages_decode() -> None:
    assert decode_message(b'{"v":1,"op":"id","id":7}', KS) == InvalidateId(7)
    assert decode_message('{"v":1,"op":"all"}', KS) == InvalidateAll()
    assert decode_message(b'{"v":1,"op":"all","o":"me"}', KS) is OWN
    assert decode_message(b'{"v":1,"op":"all","o":"you","later":[1]}', KS) == InvalidateAll()
    pair = decode_message(b'{"v":1,"op":"id","id":[3,"z"]}', PAIRS)
    assert pair == InvalidateId((3, "z"))
    assert decode_message(b'{"v":1,"op":"id","id":[1,[2,3]]}', UNTYPED) == InvalidateId((1, (2, 3)))
    where = b'{"v":1,"op":"where","predicate":"{\\"tree\\":[[[1]]]}"}'
    assert decode_message(where, KS) == InvalidateWhere('{"tree":[[[1]]]}')


def test_the_limits_themselves_are_accepted() -> None:
    nested_id: Any = 1
    for _ in range(MAX_MESSAGE_DEPTH - 2):  # the envelope is one level, the id's list another
        nested_id = [nested_id]
    data = encode_message(InvalidateId(msgspec.convert(nested_id, Any)))
    assert json_depth(data) == MAX_MESSAGE_DEPTH - 1
    assert isinstance(decode_message(data, UNTYPED), InvalidateId)
    predicate = "[" * MAX_PREDICATE_DEPTH + "]" * MAX_PREDICATE_DEPTH
    assert decode_message(encode_message(InvalidateWhere(predicate)), KS) == InvalidateWhere(
        predicate
    )
    with pytest.raises(CodecError, match="nested"):
        encode_message(InvalidateWhere("[" + predicate + "]"))
    with pytest.raises(CodecError, match="limit"):
        encode_message(InvalidateId("x" * MAX_MESSAGE_BYTES))


def test_round_trips_through_the_envelope() -> None:
    for message in (InvalidateId(5), InvalidateAll(), InvalidateWhere('{"v":1}')):
        assert decode_message(encode_message(message, "you"), KS) == message
        assert decode_message(encode_message(message, "me"), KS) is OWN
    with pytest.raises(TypeError):
        encode_message("all")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "depth"),
    [
        (b"", 0),
        (b"12", 0),
        (b"[1,[2,[3]]]", 3),
        (b'{"a":{"b":[{}]}}', 4),
        (b'["[[[[", "]]]]"]', 1),
        (b'["a\\"[[[[", 1]', 1),
        (b'["a\\\\", [[1]]]', 3),
        (b'["unterminated [[[', 1),
        (b"[[[", 3),
        (b"[][][]", 1),
    ],
)
def test_json_depth(data: bytes, depth: int) -> None:
    assert json_depth(data) == depth


@given(st.binary(max_size=300))
@settings(max_examples=300)
def test_arbitrary_bytes_decode_or_raise_codec_error(data: bytes) -> None:
    try:
        result = decode_message(data, KS)
    except CodecError:
        return
    assert result is OWN or isinstance(result, InvalidateAll | InvalidateId | InvalidateWhere)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=20,
)


@given(st.dictionaries(st.sampled_from(["v", "op", "id", "o", "predicate"]), JSONISH))
@settings(max_examples=300)
def test_arbitrary_envelopes_decode_or_raise_codec_error(body: dict[str, Any]) -> None:
    data = msgspec.json.encode(body)
    for keyspace in (KS, PAIRS, UNTYPED):
        try:
            result = decode_message(data, keyspace)
        except CodecError:
            continue
        if isinstance(result, InvalidateId):
            hash(result.id)


def test_check_message_refuses_ill_formed_objects() -> None:
    assert check_message(InvalidateId((1, 2))) == InvalidateId((1, 2))
    for bad in (
        InvalidateId([1, 2]),
        InvalidateId({"a": 1}),
        InvalidateWhere(5),  # type: ignore[arg-type]
        InvalidateWhere("[" * (MAX_PREDICATE_DEPTH + 1)),
        "all",
        None,
    ):
        with pytest.raises(CodecError):
            check_message(bad)


@pytest.mark.anyio
async def test_the_memory_stream_yields_malformed_items_and_reads_on() -> None:
    backend = MemoryBackend()
    ks = Keyspace.for_model(ConformanceItem, "msg")
    stream = backend.invalidations(ks)
    bad = [
        InvalidateId([1, 2]),
        InvalidateWhere(["not", "text"]),  # type: ignore[arg-type]
        InvalidateWhere("{" * 10_000),
    ]
    sent: list[object] = []
    for i, message in enumerate(bad):
        backend.publish_sync(ks, message)  # type: ignore[arg-type]
        backend.invalidate_sync(ks, i)
        sent += [MalformedMessage, InvalidateId(i)]
    got = []
    with anyio.fail_after(5):
        for _ in sent:
            got.append(await stream.__anext__())
    stream.close()
    for want, item in zip(sent, got, strict=True):
        if want is MalformedMessage:
            assert isinstance(item, MalformedMessage) and isinstance(item.error, CodecError)
        else:
            assert item == want


@pytest.mark.anyio
async def test_a_pool_listener_survives_malformed_items() -> None:
    backend = MemoryBackend()
    users = sassi.Punnu(ConformanceItem, backend=backend, namespace="msg")
    ks = Keyspace.for_model(ConformanceItem, "msg")
    users.insert(ConformanceItem(1, "a"))
    users.insert(ConformanceItem(2, "b"))
    async with users.background():
        await users.wait_listening()
        with users.events() as sub:
            backend.publish_sync(ks, InvalidateId({"not": "hashable"}))
            backend.publish_sync(ks, InvalidateWhere("[" * 100_000))
            backend.invalidate_sync(ks, 1)
            with anyio.fail_after(5):
                event = await sub.receive()
    assert event == sassi.Invalidated(1, sassi.EventReason.BACKEND_INVALIDATION)
    assert users.get(2) == ConformanceItem(2, "b")
    assert users.stats().backend_errors == 2  # both hostile messages counted, then skipped

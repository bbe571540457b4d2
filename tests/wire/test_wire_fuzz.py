"""Fuzzing the decoders: random and mutated bytes only ever raise sassi's own errors."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from wire_models import User

from sassi import wire
from sassi.exceptions import SnapshotError, WireFormatError

VALUE = wire.dumps(User(1, "ann", 30, None, {"a": [1, None], "b": "c"}))
FILE = wire.encode_file_entry(User(2, "bob", 40), 1_700_000_000_000)
ENTRIES = wire.encode_entries(User, [User(i, f"u{i}", i) for i in range(4)])
HINTS = wire.encode_entries_with_hints(
    User, [(User(i, f"u{i}", i), 1.0 if i % 2 else None, i) for i in range(4)]
)

DECODERS: list[Callable[[bytes], Any]] = [
    lambda data: wire.loads(User, data),
    lambda data: wire.decode_file_entry(User, data),
    lambda data: wire.decode_entries(User, data, capacity=8),
    lambda data: wire.decode_entries(User, data),
    lambda data: wire.decode_entries_with_hints(User, data, capacity=8),
    lambda data: wire.decode_snapshot(User, data),
]


def _only_sassi_errors(data: bytes) -> None:
    for decode in DECODERS:
        with contextlib.suppress(WireFormatError, SnapshotError):
            decode(data)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from([VALUE, FILE, ENTRIES, HINTS])))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "set"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif action == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 8))]
        elif action == "truncate":
            del data[pos:]
        elif data:
            data[pos] = draw(st.sampled_from([0x00, 0xFF, 0xC1, 0xDD, 0xDC, 0x7B, 0x90, 0x80]))
    return bytes(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_wire_or_snapshot_errors(data: bytes) -> None:
    _only_sassi_errors(data)


@settings(max_examples=300, deadline=None)
@given(mutated())
def test_mutated_containers_raise_only_wire_or_snapshot_errors(data: bytes) -> None:
    _only_sassi_errors(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_valid_header_with_random_body(body: bytes) -> None:
    for prefix in (VALUE[:23], FILE[:23], ENTRIES[:23], HINTS[:23]):
        _only_sassi_errors(prefix + body)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(-(2**63), 2**63 - 1),
    st.text(max_size=20),
    st.integers(-(2**63), 2**63 - 1),
    st.none() | st.text(max_size=10),
    st.none() | json_values,
)
def test_round_trip_property(
    ident: int, name: str, age: int, email: str | None, payload: Any
) -> None:
    value = User(ident, name, age, email, payload)
    assert wire.loads(User, wire.dumps(value)) == value

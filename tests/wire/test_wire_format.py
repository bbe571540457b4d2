"""sassi.wire: exact header, round trips for every model kind, check order, snapshot kinds."""

from __future__ import annotations

import datetime as dt
import decimal
import struct
import uuid
from pathlib import Path

import msgspec
import pytest
from wire_models import SAMPLES, BareClass, Color, Inner, Loose, Rich, StructModel, User

import sassi
from sassi import wire
from sassi.exceptions import (
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
    WireFormatError,
)

ANN = User(1, "ann", 30)


def header(kind: int = 1, name: bytes = b"wire.User", *, major: int = 1, flags: int = 0) -> bytes:
    return b"SASSI\x00W\x00" + struct.pack("<HBBH", major, kind, flags, len(name)) + name


def test_header_layout_is_exact() -> None:
    data = wire.dumps(ANN)
    assert data[:8] == b"SASSI\x00W\x00"
    assert data[8:10] == (1).to_bytes(2, "little")
    assert data[10] == 1 and data[11] == 0
    assert data[12:14] == len(b"wire.User").to_bytes(2, "little")
    assert data[14:23] == b"wire.User"
    assert msgspec.msgpack.decode(data[23:]) == {
        "id": 1,
        "name": "ann",
        "age": 30,
        "email": None,
        "payload": None,
    }
    assert wire.WIRE_FORMAT_MAJOR == 1
    assert data[: len(header())] == header()


@pytest.mark.parametrize("value", SAMPLES, ids=lambda v: type(v).__name__)
def test_every_model_kind_round_trips(value: object) -> None:
    data = wire.dumps(value)
    back = wire.loads(type(value), data)
    assert type(back) is type(value)
    assert back == value
    assert wire.dumps(back) == data


def test_plain_class_without_init_round_trips() -> None:
    bare = BareClass()
    bare.id = 3
    bare.label = "x"
    back = wire.loads(BareClass, wire.dumps(bare))
    assert (back.id, back.label) == (3, "x")


def test_json_fields_are_plain_json_values() -> None:
    value = User(1, "a", 1, payload={"k": [1, {"n": None}], "f": 1.5, "t": True})
    back = wire.loads(User, wire.dumps(value))
    assert back.payload == {"k": [1, {"n": None}], "f": 1.5, "t": True}
    assert type(back.payload) is dict
    assert list(back.payload) == ["k", "f", "t"]  # object key order survives


def test_typed_fields_are_rebuilt() -> None:
    value = StructModel((1, 2), "n")
    back = wire.loads(StructModel, wire.dumps(value))
    assert back.id == (1, 2) and type(back.id) is tuple


def test_loads_accepts_bytearray_and_memoryview() -> None:
    data = wire.dumps(ANN)
    assert wire.loads(User, bytearray(data)) == ANN
    assert wire.loads(User, memoryview(data)) == ANN


def test_dumps_of_a_non_model_raises_type_error() -> None:
    with pytest.raises(TypeError):
        wire.dumps(object())


def test_unencodable_field_is_a_codec_error() -> None:
    with pytest.raises(CodecError):
        wire.dumps(User(1, "a", 2**70))


# --- decode check order (reference 2.14) -----------------------------------------------------


BODY = msgspec.msgpack.encode({"id": 1, "name": "a", "age": 1, "email": None, "payload": None})


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b'{"__sassi_v":0,"payload":{}}', VersionMismatch),
        (b"{", VersionMismatch),
        (b"", MalformedHeader),
        (b"SASSI\x00W\x00\x01\x00\x01\x00\x09", MalformedHeader),
        (b"SASSI\x00X\x00" + header()[8:] + BODY, InvalidMagic),
        (b"XASSI\x00W\x00" + struct.pack("<HBBH", 9, 9, 9, 99), InvalidMagic),
        (header(major=2) + BODY, VersionMismatch),
        (header(major=0, kind=9, flags=3), VersionMismatch),
        (header(kind=5) + BODY, UnsupportedKind),
        (header(kind=255, flags=7) + BODY, UnsupportedKind),
        (header(kind=0) + BODY, UnsupportedKind),
        (header(kind=3) + BODY, KindMismatch),
        (header(kind=2, flags=1), KindMismatch),
        (header(flags=1) + BODY, UnsupportedFlags),
        (header()[:-2], MalformedHeader),
        (header(name=b"\xff\xfe\xfd"), MalformedHeader),
        (header(name=b"other.Type") + BODY, TypeNameMismatch),
        (header() + b"\xc1", CodecError),
        (header(), CodecError),
        (header() + BODY + b"\x00", CodecError),
        (header() + msgspec.msgpack.encode({"id": 1, "name": "a"}), CodecError),
        (header() + msgspec.msgpack.encode([1, "a", 1, None, None]), CodecError),
        (
            header()
            + msgspec.msgpack.encode(
                {"id": 1, "name": "a", "age": 1, "email": None, "payload": None, "x": 1}
            ),
            CodecError,
        ),
        (
            header()
            + msgspec.msgpack.encode(
                {"id": "1", "name": "a", "age": 1, "email": None, "payload": None}
            ),
            CodecError,
        ),
    ],
)
def test_decode_checks_run_in_reference_order(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        wire.loads(User, data)


def test_error_details() -> None:
    with pytest.raises(VersionMismatch) as legacy:
        wire.loads(User, b"{}")
    assert (legacy.value.got, legacy.value.expected) == (0, 1)
    with pytest.raises(KindMismatch) as kind:
        wire.loads(User, header(kind=4) + BODY)
    assert (kind.value.got, kind.value.expected) == (4, 1)
    with pytest.raises(TypeNameMismatch) as name:
        wire.loads(User, header(name=b"x.Y") + BODY)
    assert (name.value.got, name.value.expected) == ("x.Y", "wire.User")
    with pytest.raises(UnsupportedFlags) as flags:
        wire.loads(User, header(flags=2) + BODY)
    assert flags.value.flags == 2
    assert issubclass(CodecError, ValueError) and issubclass(CodecError, WireFormatError)


# --- kind 2 ------------------------------------------------------------------------------------


def test_file_entries_round_trip_with_and_without_expiry() -> None:
    record = wire.encode_file_entry(ANN, 1_700_000_000_123)
    assert record[10] == 2
    assert wire.decode_file_entry(User, record) == (ANN, 1_700_000_000_123)
    assert wire.decode_file_entry(User, wire.encode_file_entry(ANN, None)) == (ANN, None)
    tag_at = len(header())
    bad_tag = record[:tag_at] + b"\x02" + record[tag_at + 1 :]
    with pytest.raises(CodecError):
        wire.decode_file_entry(User, bad_tag)
    with pytest.raises(CodecError):
        wire.decode_file_entry(User, record[: tag_at + 4])
    with pytest.raises(KindMismatch):
        wire.decode_file_entry(User, wire.dumps(ANN))


# --- kinds 3 and 4 -----------------------------------------------------------------------------


def users(*ids: int) -> list[User]:
    return [User(i, f"u{i}", i) for i in ids]


def test_entries_are_sorted_by_id_and_deterministic() -> None:
    a = wire.encode_entries(User, users(42, 1, 100, 7, 3))
    b = wire.encode_entries(User, users(3, 100, 1, 42, 7))
    assert a == b
    assert a[10] == 3
    assert [u.id for u in wire.decode_entries(User, a)] == [1, 3, 7, 42, 100]
    assert wire.decode_entries(User, wire.encode_entries(User, [])) == []


def test_entries_capacity_is_checked_before_any_entry_is_decoded() -> None:
    data = wire.encode_entries(User, users(1, 2, 3))
    assert len(wire.decode_entries(User, data, capacity=3)) == 3
    with pytest.raises(TooManyEntries) as exc:
        wire.decode_entries(User, data, capacity=2)
    assert (exc.value.entries, exc.value.limit) == (3, 2)
    garbage_body = header(kind=3) + struct.pack("<I", 3) + b"\xc1\xc1\xc1\xc1"
    with pytest.raises(TooManyEntries):
        wire.decode_entries(User, garbage_body, capacity=2)


def test_huge_declared_count_never_allocates() -> None:
    data = header(kind=3) + struct.pack("<I", 2**32 - 1)
    with pytest.raises(TooManyEntries):
        wire.decode_entries(User, data, capacity=10_000)
    with pytest.raises(CodecError):
        wire.decode_entries(User, data)
    lying_array = header(kind=3) + struct.pack("<I", 5) + b"\xdd\xff\xff\xff\xff"
    with pytest.raises(CodecError):
        wire.decode_entries(User, lying_array)


def test_entries_count_must_match_the_array() -> None:
    good = wire.encode_entries(User, users(1, 2))
    offset = len(header(kind=3))
    bad = good[:offset] + struct.pack("<I", 1) + good[offset + 4 :]
    with pytest.raises(CodecError):
        wire.decode_entries(User, bad)


def test_duplicate_ids_are_rejected() -> None:
    body = msgspec.msgpack.encode(
        [{"id": 1, "name": "a", "age": 1, "email": None, "payload": None}] * 2
    )
    data = header(kind=3) + struct.pack("<I", 2) + body
    with pytest.raises(DuplicateId):
        wire.decode_entries(User, data)


def test_with_hints_round_trip_and_kind_checks() -> None:
    entries = [(User(2, "b", 2), 1.5, 0), (User(1, "a", 1), None, 1), (User(3, "c", 3), 0.0004, 1)]
    data = wire.encode_entries_with_hints(User, entries)
    assert data[10] == 4
    decoded = wire.decode_entries_with_hints(User, data)
    assert [(e.value.id, e.remaining, e.rank) for e in decoded] == [
        (1, None, 1),
        (2, 1.5, 0),
        (3, 0.001, 1),  # remaining ms round up
    ]
    assert wire.decode_snapshot(User, data) == decoded
    with pytest.raises(KindMismatch) as exc:
        wire.decode_entries(User, data)
    assert (exc.value.got, exc.value.expected) == (4, 3)
    plain = wire.encode_entries(User, users(1))
    assert wire.decode_snapshot(User, plain) == users(1)
    with pytest.raises(KindMismatch) as exc:
        wire.decode_snapshot(User, wire.dumps(ANN))
    assert exc.value.expected == 3
    with pytest.raises(UnsupportedKind):
        wire.decode_snapshot(User, header(kind=5) + b"\x00" * 8)
    with pytest.raises(TooManyEntries):
        wire.decode_snapshot(User, data, capacity=2)


def _hints(rows: list[list[object]], *, version: int = 1, count: int | None = None) -> bytes:
    declared = len(rows) if count is None else count
    return header(kind=4) + struct.pack("<HI", version, declared) + msgspec.msgpack.encode(rows)


VALUE_MAP = {"id": 1, "name": "a", "age": 1, "email": None, "payload": None}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (_hints([[VALUE_MAP, 0, 0, 0]], version=2), CodecError),
        (_hints([[VALUE_MAP, 2, 0, 0]]), CodecError),
        (_hints([[VALUE_MAP, 0, 5, 0]]), CodecError),
        (_hints([[VALUE_MAP, 1, -1, 0]]), CodecError),
        (_hints([[VALUE_MAP, 0, 0, 1]]), CodecError),
        (_hints([[VALUE_MAP, 0, 0, -1]]), CodecError),
        (_hints([[VALUE_MAP, 0, 0]]), CodecError),
        (_hints([[VALUE_MAP, 0, 0, 0]]) + b"\x00", CodecError),
        (_hints([[VALUE_MAP, 0, 0, 0], [VALUE_MAP, 0, 0, 1]]), DuplicateId),
        (header(kind=4) + b"\x01", CodecError),
    ],
)
def test_with_hints_validation(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        wire.decode_entries_with_hints(User, data)


# --- ids -------------------------------------------------------------------------------------


def test_id_encoding_is_stable_json() -> None:
    assert wire.encode_id(1) == b"1"
    assert wire.encode_id("a") == b'"a"'
    assert wire.encode_id((1, "x")) == b'[1,"x"]'
    assert wire.id_token(1) == b"1".hex()
    u = uuid.UUID(int=5)
    assert wire.encode_id(u) == b'"' + str(u).encode() + b'"'
    assert wire.convert_id(StructModel, [1, 2]) == (1, 2)
    assert wire.convert_id(User, 3) == 3
    with pytest.raises(CodecError):
        wire.convert_id(User, "three")
    with pytest.raises(CodecError):
        wire.encode_id(object())


def test_wire_never_uses_pickle() -> None:
    package = Path(wire.__file__).parent / "_wire"
    sources = [Path(wire.__file__), *sorted(package.glob("*.py"))]
    assert len(sources) > 2  # the wire package was found
    for path in sources:
        source = path.read_text()
        assert "import pickle" not in source and "pickle." not in source, path
    assert sassi.wire is wire


def test_rich_field_types_round_trip() -> None:
    value = Rich(
        uuid.UUID(int=7),
        dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        dt.datetime(2020, 1, 2, 3, 4, 5),
        dt.date(2020, 1, 1),
        decimal.Decimal("1.10"),
        Color.RED,
        Inner(3),
        frozenset({"a", "b"}),
        (1, "x"),
        None,
        b"\x00\x01",
    )
    back = wire.loads(Rich, wire.dumps(value))
    assert back == value
    assert type(back.inner) is Inner and type(back.color) is Color
    assert type(back.naive) is dt.datetime and type(back.price) is decimal.Decimal
    assert wire.convert_id(Rich, str(value.id)) == value.id


def test_type_names_longer_than_the_header_allows_are_refused() -> None:
    with pytest.raises(ValueError):
        wire.encode_header(wire.Kind.VALUE, "x" * 70_000)
    assert len(wire.encode_header(wire.Kind.VALUE, "é" * 10)) == 14 + 20


@pytest.mark.parametrize("ident", [[1, 2], {"a": 1}, [[1], 2]])
def test_unhashable_ids_are_codec_errors(ident: object) -> None:
    body = msgspec.msgpack.encode({"id": ident, "name": "x"})
    with pytest.raises(CodecError, match="hashable"):
        wire.loads(Loose, header(1, b"wire.Loose") + body)
    with pytest.raises(CodecError, match="hashable"):
        wire.decode_file_entry(Loose, header(2, b"wire.Loose") + b"\x00" * 9 + body)
    entries = (
        header(3, b"wire.Loose")
        + struct.pack("<I", 1)
        + msgspec.msgpack.encode([{"id": ident, "name": "x"}])
    )
    with pytest.raises(CodecError, match="hashable"):
        wire.decode_entries(Loose, entries)
    hinted = (
        header(4, b"wire.Loose")
        + struct.pack("<HI", 1, 1)
        + msgspec.msgpack.encode([[{"id": ident, "name": "x"}, 0, 0, 0]])
    )
    with pytest.raises(CodecError, match="hashable"):
        wire.decode_snapshot(Loose, hinted)


def test_hashable_any_ids_still_decode() -> None:
    assert wire.loads(Loose, wire.dumps(Loose("k", "x"))) == Loose("k", "x")
    assert wire.loads(Loose, wire.dumps(Loose(3, "x"))) == Loose(3, "x")

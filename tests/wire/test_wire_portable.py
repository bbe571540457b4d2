"""``cacheable(..., wire_portable=True)`` (SPEC 11.12): NaN and infinities are refused on the
wire, naming the field; without the flag nothing changes."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest

import sassi
from sassi import wire
from sassi._model import check_portable, model_info
from sassi.exceptions import CodecError, WireFormatError

NAN, INF = float("nan"), float("inf")


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@sassi.cacheable(type_name="portable.Reading", wire_portable=True)
@dataclass(frozen=True)
class Reading:
    id: int
    value: float = 0.0
    maybe: float | None = None
    payload: sassi.JSON | None = None
    series: tuple[float, ...] = ()
    where: Point | None = None
    tags: dict[str, float] = field(default_factory=dict)


@sassi.cacheable(type_name="portable.Reading")  # same type name, no flag: behaviour unchanged
@dataclass(frozen=True)
class LooseReading:
    id: int
    value: float = 0.0
    maybe: float | None = None
    payload: sassi.JSON | None = None
    series: tuple[float, ...] = ()
    where: Point | None = None
    tags: dict[str, float] = field(default_factory=dict)


BAD: list[tuple[dict[str, Any], str]] = [
    ({"value": NAN}, "Reading.value "),
    ({"value": INF}, "Reading.value "),
    ({"value": -INF}, "Reading.value "),
    ({"maybe": NAN}, "Reading.maybe "),
    ({"payload": {"a": [1, 2.5, INF]}}, "Reading.payload['a'][2] "),
    ({"payload": [[[{"deep": -INF}]]]}, "Reading.payload[0][0][0]['deep'] "),
    ({"payload": NAN}, "Reading.payload "),
    ({"series": (1.0, NAN)}, "Reading.series[1] "),
    ({"where": Point(1.0, INF)}, "Reading.where.y "),
    ({"tags": {"t": -INF}}, "Reading.tags['t'] "),
]


def reading(**fields: Any) -> Reading:
    return Reading(1, **fields)


def test_the_flag_is_kept_in_the_model_info() -> None:
    assert model_info(Reading).wire_portable is True
    assert model_info(LooseReading).wire_portable is False


def test_the_flag_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match="wire_portable"):
        sassi.cacheable(wire_portable="yes")  # type: ignore[call-overload]


@pytest.mark.parametrize(("fields", "where"), BAD)
def test_check_portable_names_the_field(fields: dict[str, Any], where: str) -> None:
    with pytest.raises(ValueError, match="portable") as info:
        check_portable(model_info(Reading), reading(**fields))
    assert str(info.value).startswith(where)
    assert not isinstance(info.value, WireFormatError)


def test_check_portable_accepts_finite_values_and_ignores_unflagged_models() -> None:
    fine = reading(
        value=1e308,
        maybe=-0.0,
        payload={"a": [1, 2.5, None, True, "nan"], "b": {"c": 1e-300}},
        series=(1.0, 2.0),
        where=Point(0.0, 1.0),
        tags={"t": 3.5},
    )
    check_portable(model_info(Reading), fine)
    check_portable(model_info(LooseReading), LooseReading(1, NAN, payload=[INF]))


def test_check_portable_walks_deep_payloads_without_recursion() -> None:
    deep: Any = INF
    for _ in range(50_000):
        deep = [deep]
    with pytest.raises(ValueError, match=r"Reading\.payload\[0\]"):
        check_portable(model_info(Reading), reading(payload=deep))
    shared = [1.0, 2.0]
    check_portable(model_info(Reading), reading(payload=[shared, shared, {"s": shared}]))


@pytest.mark.parametrize(("fields", "where"), BAD)
def test_encoding_refuses_with_a_value_error_naming_the_field(
    fields: dict[str, Any], where: str
) -> None:
    bad = reading(**fields)
    encoders = [
        lambda: wire.dumps(bad),
        lambda: wire.encode_file_entry(bad, None),
        lambda: wire.encode_entries(Reading, [Reading(0), bad]),
        lambda: wire.encode_entries_with_hints(Reading, [(Reading(0), None, 0), (bad, 5.0, 1)]),
    ]
    for encode in encoders:
        with pytest.raises(ValueError) as info:
            encode()
        assert str(info.value).startswith(where)
        assert not isinstance(info.value, WireFormatError)


@pytest.mark.parametrize(("fields", "where"), BAD)
def test_decoding_refuses_with_a_wire_format_error_naming_the_field(
    fields: dict[str, Any], where: str
) -> None:
    loose = LooseReading(1, **fields)  # encodes fine: the flag is off
    data = wire.dumps(loose)
    assert data[: len(wire.encode_header(wire.Kind.VALUE, "portable.Reading"))] == (
        wire.encode_header(wire.Kind.VALUE, "portable.Reading")
    )
    decoders = [
        lambda: wire.loads(Reading, data),
        lambda: wire.decode_file_entry(Reading, wire.encode_file_entry(loose, None)),
        lambda: wire.decode_entries(Reading, wire.encode_entries(LooseReading, [loose])),
        lambda: wire.decode_snapshot(Reading, wire.encode_entries(LooseReading, [loose])),
        lambda: wire.decode_snapshot(
            Reading, wire.encode_entries_with_hints(LooseReading, [(loose, None, 0)])
        ),
    ]
    for decode in decoders:
        with pytest.raises(CodecError) as info:
            decode()
        assert where.strip() in str(info.value)


def test_without_the_flag_non_finite_values_round_trip_unchanged() -> None:
    value = LooseReading(1, NAN, INF, {"a": -INF}, (NAN,), Point(INF, 0.0), {"t": NAN})
    back = wire.loads(LooseReading, wire.dumps(value))
    assert math.isnan(back.value) and back.maybe == INF and back.payload == {"a": -INF}
    assert math.isnan(back.series[0]) and back.where == Point(INF, 0.0)
    assert math.isnan(back.tags["t"])


def test_finite_portable_values_round_trip() -> None:
    value = reading(value=2.5, payload={"a": [1.5]}, series=(1.0,), where=Point(1.0, 2.0))
    assert wire.loads(Reading, wire.dumps(value)) == value
    rows = wire.decode_entries(Reading, wire.encode_entries(Reading, [value]))
    assert rows == [value]


def test_a_raw_nan_in_a_hand_made_body_is_refused() -> None:
    body = msgspec.msgpack.encode(
        {
            "id": 1,
            "value": 1.0,
            "maybe": None,
            "payload": {"x": struct.unpack("<d", b"\x00\x00\x00\x00\x00\x00\xf8\x7f")[0]},
            "series": [],
            "where": None,
            "tags": {},
        }
    )
    data = wire.encode_header(wire.Kind.VALUE, "portable.Reading") + body
    with pytest.raises(CodecError, match=r"Reading\.payload\['x'\]"):
        wire.loads(Reading, data)

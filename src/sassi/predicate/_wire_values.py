"""Tagged operand values for the predicate wire form: ``VALUE`` <-> Python.

A field operand is ``null``, a boolean, a string, an integer or a finite float written as JSON
(``-0.0`` and the int/float distinction survive), or a tagged object for everything else::

    {"$type": "float", "value": "nan" | "inf" | "-inf"}
    {"$type": "datetime", "value": ISO-8601, "tz": ZONE-KEY?, "fold": 1?}
    {"$type": "date" | "time", "value": ISO-8601}
    {"$type": "timedelta", "value": [days, seconds, microseconds]}
    {"$type": "decimal" | "fraction" | "uuid", "value": STRING}
    {"$type": "bytes", "value": BASE64}
    {"$type": "enum", "class": QUALNAME, "name": MEMBER}
    {"$type": "tuple" | "list", "value": [VALUE, ...]}
    {"$type": "dict", "value": [[VALUE, VALUE], ...]}

An enum operand is decoded with the enum class named by the field's annotation; an operand whose
enum class the annotation does not mention cannot be decoded (``ValueError``).

:func:`encode_value` writes one operand; :class:`OperandDecoder` reads one back (the tree decoder
in :mod:`._wire` extends it). The envelope and the tree layout live in :mod:`._wire`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import decimal
import enum
import fractions
import math
import reprlib
import typing
import uuid
import zoneinfo
from collections.abc import Callable
from typing import Any

from ._wire_limits import check_number, check_number_text

__all__ = ["OperandDecoder", "encode_value", "exact_keys", "short_repr"]

_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 80
_SHORT.maxlist = _SHORT.maxdict = 8


def short_repr(value: Any) -> str:
    """``repr`` cut to a few lines: error messages about untrusted data end up in logs."""
    return _SHORT.repr(value)


# --------------------------------------------------------------------------- encoding


def encode_value(field: str, value: Any) -> Any:
    """One field operand: plain JSON when unambiguous, a tagged object otherwise."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return {"$type": "enum", "class": type(value).__qualname__, "name": value.name}
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        check_number(value, field)
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        text = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return {"$type": "float", "value": text}
    if isinstance(value, _dt.datetime):
        out: dict[str, Any] = {"$type": "datetime", "value": value.isoformat()}
        if isinstance(value.tzinfo, zoneinfo.ZoneInfo) and value.tzinfo.key:
            out["tz"] = value.tzinfo.key
        if value.fold:
            out["fold"] = value.fold
        return out
    if isinstance(value, _dt.date):
        return {"$type": "date", "value": value.isoformat()}
    if isinstance(value, _dt.time):
        if value.fold:
            raise TypeError(f"{field}: a time with fold=1 cannot be encoded")
        return {"$type": "time", "value": value.isoformat()}
    if isinstance(value, _dt.timedelta):
        return {"$type": "timedelta", "value": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, decimal.Decimal | fractions.Fraction):
        check_number(value, field)
        tag = "decimal" if isinstance(value, decimal.Decimal) else "fraction"
        return {"$type": tag, "value": str(value)}
    if isinstance(value, uuid.UUID):
        return {"$type": "uuid", "value": str(value)}
    if isinstance(value, bytes):
        return {"$type": "bytes", "value": base64.b64encode(value).decode("ascii")}
    if isinstance(value, tuple):
        return {"$type": "tuple", "value": [encode_value(field, v) for v in value]}
    if isinstance(value, list):
        return {"$type": "list", "value": [encode_value(field, v) for v in value]}
    if isinstance(value, dict):
        pairs = [[encode_value(field, k), encode_value(field, v)] for k, v in value.items()]
        return {"$type": "dict", "value": pairs}
    raise TypeError(
        f"{field}: cannot encode an operand of type {type(value).__qualname__} ({value!r}); "
        "supported: None, bool, int, float, str, bytes, datetime/date/time/timedelta, Decimal, "
        "Fraction, UUID, Enum members, and tuples/lists/dicts of those"
    )


# --------------------------------------------------------------------------- decoding


class _Malformed(ValueError):
    """A decoding error whose message already names the field."""


def exact_keys(obj: dict[str, Any], keys: frozenset[str], what: str) -> None:
    if obj.keys() != keys:
        extra = sorted(set(obj) - keys)
        lacking = sorted(keys - set(obj))
        raise ValueError(f"malformed {what}: unexpected keys {extra}, missing keys {lacking}")


def _enum_classes(annotation: Any) -> list[type[enum.Enum]]:
    """Enum classes mentioned anywhere in an annotation (unions, Literal, Annotated, args)."""
    found: list[type[enum.Enum]] = []
    stack = [annotation]
    seen: set[int] = set()
    while stack:
        ann = stack.pop()
        if id(ann) in seen:
            continue
        seen.add(id(ann))
        if isinstance(ann, type) and issubclass(ann, enum.Enum):
            found.append(ann)
            continue
        if isinstance(ann, enum.Enum):  # a Literal[Color.RED] argument
            stack.append(type(ann))
            continue
        stack.extend(typing.get_args(ann))
    return found


class OperandDecoder:
    """Decodes field operands, resolving enum classes from the model's field annotations."""

    def __init__(self, annotations: typing.Mapping[str, Any]) -> None:
        self._annotations = annotations

    def _value(self, name: str, raw: Any) -> Any:
        if raw is None or isinstance(raw, bool | int | float | str):
            return raw
        if isinstance(raw, list):
            raise ValueError(f"{name}: untagged array operand {short_repr(raw)}")
        if not isinstance(raw, dict) or not isinstance(raw.get("$type"), str):
            raise ValueError(f"{name}: malformed tagged operand {short_repr(raw)}")
        tag = raw["$type"]
        decode = _TAGS.get(tag)
        if decode is None:
            raise ValueError(f"{name}: unknown operand type tag {short_repr(tag)}")
        try:
            return decode(self, name, raw)
        except _Malformed:
            raise
        except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
            raise _Malformed(f"{name}: malformed {tag} operand {short_repr(raw)}: {exc}") from None

    def _enum_value(self, name: str, raw: dict[str, Any]) -> Any:
        exact_keys(raw, frozenset({"$type", "class", "name"}), f"{name} enum operand")
        qualname, member = raw["class"], raw["name"]
        candidates = [
            c for c in _enum_classes(self._annotations[name]) if c.__qualname__ == qualname
        ]
        if not candidates:
            raise _Malformed(
                f"{name}: enum {qualname!r} is not named by the field's annotation "
                f"{self._annotations[name]!r}, so it cannot be decoded"
            )
        if not isinstance(member, str) or member not in candidates[0].__members__:
            raise _Malformed(f"{name}: {qualname} has no member {member!r}")
        return candidates[0][member]

    def _seq(self, name: str, raw: dict[str, Any]) -> list[Any]:
        return [self._value(name, v) for v in _payload(raw, list)]

    def _dict(self, name: str, raw: dict[str, Any]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for pair in _payload(raw, list):
            if not isinstance(pair, list) or len(pair) != 2:
                raise ValueError(f"{name}: dict operand entries must be [key, value] pairs")
            out[self._value(name, pair[0])] = self._value(name, pair[1])
        return out


def _payload(raw: dict[str, Any], expected: type, optional: frozenset[str] = frozenset()) -> Any:
    required = {"$type", "value"}
    if not required <= raw.keys() or not raw.keys() <= required | optional:
        raise ValueError(f"unexpected keys {sorted(raw)}")
    value = raw["value"]
    if not isinstance(value, expected) or isinstance(value, bool):
        raise ValueError(f"expected {expected.__name__}, got {value!r}")
    return value


def _float(_: OperandDecoder, name: str, raw: dict[str, Any]) -> float:
    text = _payload(raw, str)
    if text not in _NON_FINITE:
        raise ValueError(f"{name}: unknown float constant {text!r}")
    return _NON_FINITE[text]


def _datetime(_: OperandDecoder, name: str, raw: dict[str, Any]) -> _dt.datetime:
    value = _dt.datetime.fromisoformat(_payload(raw, str, frozenset({"tz", "fold"})))
    if "tz" in raw:
        key = raw["tz"]
        if not isinstance(key, str) or value.tzinfo is None:
            raise ValueError(f"time zone key {key!r} on {value!r}")
        try:
            zone = zoneinfo.ZoneInfo(key)
        except (zoneinfo.ZoneInfoNotFoundError, OSError) as exc:
            raise ValueError(f"unknown time zone {key!r}") from exc
        value = value.replace(tzinfo=zone)
    if "fold" in raw:
        if type(raw["fold"]) is not int or raw["fold"] != 1:
            raise ValueError(f"fold {raw['fold']!r}")
        value = value.replace(fold=1)
    return value


def _date(_: OperandDecoder, name: str, raw: dict[str, Any]) -> _dt.date:
    return _dt.date.fromisoformat(_payload(raw, str))


def _time(_: OperandDecoder, name: str, raw: dict[str, Any]) -> _dt.time:
    return _dt.time.fromisoformat(_payload(raw, str))


def _timedelta(_: OperandDecoder, name: str, raw: dict[str, Any]) -> _dt.timedelta:
    parts = _payload(raw, list)
    if len(parts) != 3 or any(type(p) is not int for p in parts):
        raise ValueError("expected [days, seconds, microseconds]")
    return _dt.timedelta(days=parts[0], seconds=parts[1], microseconds=parts[2])


def _decimal(_: OperandDecoder, name: str, raw: dict[str, Any]) -> decimal.Decimal:
    text = _payload(raw, str)
    check_number_text(text, "the decimal")
    try:
        return decimal.Decimal(text)
    except decimal.InvalidOperation:
        raise ValueError("not a decimal number") from None


def _fraction(_: OperandDecoder, name: str, raw: dict[str, Any]) -> fractions.Fraction:
    text = _payload(raw, str)
    check_number_text(text, "the fraction")  # Fraction("1e1000000000") computes 10**1000000000
    return fractions.Fraction(text)


def _uuid(_: OperandDecoder, name: str, raw: dict[str, Any]) -> uuid.UUID:
    return uuid.UUID(_payload(raw, str))


def _bytes(_: OperandDecoder, name: str, raw: dict[str, Any]) -> bytes:
    try:
        return base64.b64decode(_payload(raw, str).encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise ValueError("not base64") from exc


def _tuple(d: OperandDecoder, name: str, raw: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(d._seq(name, raw))


def _list(d: OperandDecoder, name: str, raw: dict[str, Any]) -> list[Any]:
    return d._seq(name, raw)


_TAGS: dict[str, Callable[[OperandDecoder, str, dict[str, Any]], Any]] = {
    "float": _float,
    "datetime": _datetime,
    "date": _date,
    "time": _time,
    "timedelta": _timedelta,
    "decimal": _decimal,
    "fraction": _fraction,
    "uuid": _uuid,
    "bytes": _bytes,
    "enum": OperandDecoder._enum_value,
    "tuple": _tuple,
    "list": _list,
    "dict": OperandDecoder._dict,
}

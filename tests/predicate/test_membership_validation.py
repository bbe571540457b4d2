"""``in_``/``not_in`` validate every value: plain values are checked once per type (a 100k-value
list from the wire is cheap), but never where the answer depends on the value itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal, NewType

import pytest

import sassi

Level = Literal["low", "high"]
Code = NewType("Code", Literal[1, 2])  # type: ignore[valid-newtype]


@dataclass(frozen=True)
class Item:
    id: int
    age: int | None
    level: Level
    code: Code
    day: dt.date
    anything: Any = None


F = sassi.fields(Item)


def test_a_literal_field_checks_each_value() -> None:
    assert F.level.in_(["low", "high"]).value == ("low", "high")
    with pytest.raises(TypeError, match="nope"):
        F.level.in_(["low", "high", "nope"])
    with pytest.raises(TypeError):
        F.code.not_in([1, 2, 3])


def test_a_later_value_of_another_type_is_still_checked() -> None:
    with pytest.raises(TypeError, match="True"):
        F.age.in_([1, 2, None, True])
    with pytest.raises(TypeError, match="'3'"):
        F.age.not_in([1, 2, 3, "3"])
    with pytest.raises(TypeError, match="datetime"):
        F.day.in_([dt.date(2020, 1, 1), dt.datetime(2020, 1, 1)])
    with pytest.raises(TypeError, match="field"):
        F.anything.in_([1, 2, F.age])
    with pytest.raises(TypeError, match="present"):
        F.age.present().in_([1, 2, None])


def test_a_long_list_builds_with_every_value_kept() -> None:
    values = list(range(200_000))
    p = F.age.in_(values)
    assert p.value == tuple(values)
    assert p.evaluate(Item(1, 199_999, "low", Code(1), dt.date(2020, 1, 1)))

"""Membership keeps Python's `in` meaning for unhashable values, in every evaluator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

import sassi
from sassi.predicate._codegen import compile_scan
from sassi.predicate._evaluate import interpret


@dataclass(frozen=True)
class Loose:
    id: int
    value: Any


F = sassi.fields(Loose)


@pytest.mark.parametrize("value", [[], [1], {"a": 1}, {1, 2}])
@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: F.value.in_([1, 2, "a"]), False),
        (lambda: F.value.not_in([1, 2, "a"]), True),
        (lambda: F.value.not_in(()), True),
        (lambda: F.value.in_(()), False),
        (lambda: ~F.value.in_([1]), True),
        (lambda: F.value.in_([1]) | (F.id == 1), True),
    ],
)
def test_unhashable_values(value: Any, make: Any, expected: bool) -> None:
    p = make()
    row = Loose(1, value)
    assert interpret(p, row) is expected
    assert p.evaluate(row) is expected
    assert compile_scan(p)([row]) == ([row] if expected else [])


def test_unhashable_member_of_a_list_operand_is_found() -> None:
    p = F.value.in_([[1], 3])  # an unhashable operand: the scan path, not a set
    assert p.evaluate(Loose(1, [1])) and not p.evaluate(Loose(2, [2]))

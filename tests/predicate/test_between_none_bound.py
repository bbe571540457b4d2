"""A None bound of between() is decided by "None sorts first" alone, in every evaluator."""

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


@pytest.mark.parametrize(
    ("pred", "value", "expected"),
    [
        (~F.value.between("", None), False, True),  # '' <= False would raise: never compared
        (F.value.between("", None), False, False),
        (F.value.between(None, None), None, True),
        (F.value.between(None, None), 3, False),
        (F.value.between(None, 5), None, True),
        (F.value.between(None, 5), 3, True),
        (F.value.between(None, 5), 7, False),
        (F.value.between(1, None), None, False),
        (~F.value.between(1, 5), "x", False),  # incomparable: the whole predicate is false
    ],
)
def test_none_bounds(pred: sassi.Predicate, value: Any, expected: bool) -> None:
    row = Loose(1, value)
    assert interpret(pred, row) is expected
    assert pred.evaluate(row) is expected
    assert compile_scan(pred)([row]) == ([row] if expected else [])

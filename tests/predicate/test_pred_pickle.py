"""Predicates are data: they pickle and copy whether or not they were compiled."""

from __future__ import annotations

import copy
import pickle
from dataclasses import dataclass

import sassi
from sassi.predicate import FALSE


@dataclass(frozen=True)
class Row:
    id: int
    age: int
    tags: sassi.JSON | None = None


F = sassi.fields(Row)


def test_a_compiled_predicate_pickles_and_copies() -> None:
    p = ((F.age > 3) & ~F.id.in_([1, 2])) ^ FALSE | (F.tags.json.path("a").value(int) == 1)
    assert p(Row(3, 5)) is True  # compiles and caches the evaluator on every node
    for clone in (pickle.loads(pickle.dumps(p)), copy.deepcopy(p), copy.copy(p)):
        assert clone == p and hash(clone) == hash(p)
        assert clone(Row(3, 5)) is True and clone(Row(1, 5)) is False

"""MemQ ops in isolation (reference section 2.5, contracts 22-24)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import sassi
from sassi import MemQ


@dataclass(frozen=True, slots=True)
class Score:
    id: int
    team: str
    score: int | None = 0


F = sassi.fields(Score)

ROWS = [
    Score(4, "red", 10),
    Score(2, "blue", 7),
    Score(5, "red", 3),
    Score(1, "green", 7),
    Score(3, "blue", 11),
]


def ids(items: list[Score]) -> list[int]:
    return [s.id for s in items]


def test_sequence_ops_apply_lazily_in_order() -> None:
    ops = [
        MemQ.filter(lambda s: s.score >= 5),
        MemQ.map(lambda s: Score(s.id, s.team, s.score + 1)),
        MemQ.flat_map(lambda s: [s] if s.id != 4 else []),
        MemQ.chain([Score(9, "x", 1), Score(2, "dup", 0)]),
        MemQ.unique(),
        MemQ.sort(lambda s: s.score),
        MemQ.skip(1),
        MemQ.take(2),
    ]
    result = MemQ.apply_all(ops, ROWS)
    assert [(s.id, s.score) for s in result] == [(2, 8), (1, 8)]


def test_ops_are_never_reordered() -> None:
    by_id = MemQ.sort()
    assert ids(MemQ.apply_all([by_id, MemQ.take(2), MemQ.filter(lambda s: s.id > 1)], ROWS)) == [2]
    assert ids(MemQ.apply_all([by_id, MemQ.filter(lambda s: s.id > 1), MemQ.take(2)], ROWS)) == [
        2,
        3,
    ]


def test_sort_is_stable_default_by_id_reverse_and_by_field() -> None:
    assert ids(MemQ.sort().apply(ROWS)) == [1, 2, 3, 4, 5]
    assert ids(MemQ.sort(reverse=True).apply(ROWS)) == [5, 4, 3, 2, 1]
    # stable: equal scores keep input order (2 before 1)
    assert ids(MemQ.sort(F.score).apply(ROWS)) == [5, 2, 1, 4, 3]
    assert ids(MemQ.sort(lambda s: s.team).apply(ROWS)) == [2, 3, 1, 4, 5]


def test_sort_by_field_puts_none_first() -> None:
    rows = [Score(1, "a", 5), Score(2, "a", None), Score(3, "a", 1)]
    assert ids(MemQ.sort(F.score).apply(rows)) == [2, 3, 1]
    assert ids(MemQ.sort(F.score, reverse=True).apply(rows)) == [1, 3, 2]


def test_unique_keeps_first_occurrence() -> None:
    rows = [*ROWS, Score(4, "dup", 0)]
    assert MemQ.unique().apply(rows)[0] == Score(4, "red", 10)
    assert len(MemQ.unique().apply(rows)) == 5
    assert ids(MemQ.unique(F.team).apply(ROWS)) == [4, 2, 1]
    assert ids(MemQ.unique(lambda s: s.score).apply(ROWS)) == [4, 2, 5, 3]


def test_group_by_flattens_buckets_in_first_seen_order() -> None:
    assert ids(MemQ.group_by(F.team).apply(ROWS)) == [4, 5, 2, 3, 1]
    assert ids(MemQ.group_by(lambda s: s.score % 2).apply(ROWS)) == [4, 2, 5, 1, 3]


def test_partition_puts_matches_first_and_keeps_order() -> None:
    assert ids(MemQ.partition(lambda s: s.team == "blue").apply(ROWS)) == [2, 3, 4, 5, 1]

    def boom(s: Score) -> bool:
        if s.id == 2:
            raise RuntimeError("no")
        return s.team == "blue"

    assert ids(MemQ.partition(boom).apply(ROWS)) == [3, 4, 2, 5, 1]


def test_fold_returns_zero_or_one_item() -> None:
    best = MemQ.fold(lambda items: max(items, key=lambda s: s.score) if items else None)
    assert best.apply(ROWS) == [Score(3, "blue", 11)]
    assert best.apply([]) == []


def test_filter_with_a_raising_function_excludes_that_item() -> None:
    def picky(s: Score) -> bool:
        if s.id == 3:
            raise ValueError("bad row")
        return s.team == "blue"

    assert ids(MemQ.filter(picky).apply(ROWS)) == [2]


def test_where_uses_the_predicate() -> None:
    assert ids(MemQ.where((F.team == "red") | (F.score == 7)).apply(ROWS)) == [4, 2, 5, 1]
    with pytest.raises(TypeError):
        MemQ.where(lambda s: True)  # type: ignore[arg-type]


def test_chain_reads_its_iterable_once() -> None:
    op = MemQ.chain(iter([Score(8, "z")]))
    assert ids(op.apply([])) == [8]
    assert ids(op.apply([])) == [8]


def test_take_and_skip_validate() -> None:
    assert MemQ.take(0).apply(ROWS) == []
    assert MemQ.skip(10).apply(ROWS) == []
    with pytest.raises(ValueError):
        MemQ.take(-1)
    with pytest.raises(TypeError):
        MemQ.skip(1.5)  # type: ignore[arg-type]


def test_constructors_reject_non_callables() -> None:
    for ctor in (MemQ.filter, MemQ.map, MemQ.flat_map, MemQ.partition, MemQ.fold):
        with pytest.raises(TypeError):
            ctor(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        MemQ.sort(3)
    with pytest.raises(TypeError):
        MemQ.group_by(None)


def test_apply_does_not_mutate_input() -> None:
    rows = list(ROWS)
    MemQ.apply_all([MemQ.sort(), MemQ.take(1), MemQ.chain([Score(9, "x")])], rows)
    assert rows == ROWS
    assert "MemQ.take(1)" in repr(MemQ.take(1))

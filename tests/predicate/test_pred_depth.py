"""Predicate trees are at most ``MAX_DEPTH`` levels deep: at the cap ``==``, ``hash``, ``repr``,
compile, evaluate and the wire all work; one level more is refused at construction with a
``ValueError`` naming the depth (a tree 400-800 deep used to build, then broke ``==``/``hash``/
``repr`` with ``RecursionError``)."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from dataclasses import dataclass

import pytest

import sassi
from sassi.predicate import FALSE, MAX_DEPTH, TRUE, And, Not, Or, Predicate, Xor, dumps, loads


@dataclass(frozen=True)
class Row:
    id: int
    age: int
    flag: bool = False


F = sassi.fields(Row)
ROWS = [Row(1, 5), Row(2, 50), Row(3, 500, True)]


def depth(p: Predicate) -> int:
    """Levels of the tree, counted independently of the implementation (leaves are 1)."""
    match p:
        case And(children) | Or(children):
            return 1 + max((depth(c) for c in children), default=0)
        case Not(child):
            return 1 + depth(child)
        case Xor(left, right):
            return 1 + max(depth(left), depth(right))
        case _:
            return 1


def alternating(levels: int) -> Predicate:
    """``((a & b) | c) & d ...``: ``&``/``|`` flatten, so only alternation adds depth."""
    p: Predicate = F.age > 1
    for i in range(levels - 1):
        p = (p | (F.age < i)) if i % 2 else (p & (F.age < i))
    return p


def nots(levels: int) -> Predicate:
    p: Predicate = F.age > 1
    for _ in range(levels - 1):
        p = Not(p)
    return p


def xors(levels: int) -> Predicate:
    p: Predicate = F.age > 1
    for i in range(levels - 1):
        p = p ^ (F.age == i) if i % 2 else (F.age == i) ^ p
    return p


def mixed(levels: int) -> Predicate:
    p: Predicate = F.age > 1
    for i in range(levels - 1):
        step = i % 4
        if step == 0:
            p = ~p
        elif step == 1:
            p = p & F.flag.eq(True)
        elif step == 2:
            p = p ^ FALSE
        else:
            p = (F.age < i) | p
    return p


BUILDERS: list[Callable[[int], Predicate]] = [alternating, nots, xors, mixed]


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
def test_everything_works_at_the_cap(build: Callable[[int], Predicate]) -> None:
    p, q = build(MAX_DEPTH), build(MAX_DEPTH)
    assert depth(p) == MAX_DEPTH
    assert p == q and p is not q
    assert hash(p) == hash(q)
    assert (p != q) is False
    assert repr(p) == repr(q) and len(repr(p)) > MAX_DEPTH
    assert [p.evaluate(r) for r in ROWS] == [q.compile()(r) for r in ROWS]
    assert [p(r) for r in ROWS] == [p.evaluate(r) for r in ROWS]
    assert loads(Row, dumps(p)) == p
    assert copy.deepcopy(p) == p
    fresh = build(MAX_DEPTH)  # not compiled yet: a compiled node caches a generated function
    assert pickle.loads(pickle.dumps(fresh)) == p


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
def test_one_level_more_is_refused_at_construction(build: Callable[[int], Predicate]) -> None:
    with pytest.raises(ValueError, match=f"depth {MAX_DEPTH + 1}.*MAX_DEPTH = {MAX_DEPTH}"):
        build(MAX_DEPTH + 1)


def test_every_builder_checks_the_depth() -> None:
    deep = alternating(MAX_DEPTH)
    other = F.age == 3
    assert isinstance(deep, Or | And)
    too_deep: list[Callable[[], Predicate]] = [
        lambda: Not(deep),
        lambda: ~deep,
        lambda: deep ^ other,
        lambda: other ^ deep,
        lambda: Xor(deep, TRUE),
        lambda: Xor(TRUE, deep),
        lambda: And((other, deep)) if isinstance(deep, Or) else Or((other, deep)),
        lambda: (deep & other) if isinstance(deep, Or) else (deep | other),
        lambda: (other & deep) if isinstance(deep, Or) else (other | deep),
    ]
    for make in too_deep:
        with pytest.raises(ValueError, match="too deeply"):
            make()


def test_flattening_and_double_negation_do_not_add_depth() -> None:
    deep = nots(MAX_DEPTH)
    assert depth(~deep) == MAX_DEPTH - 1  # ~Not(p) is p
    wide = alternating(MAX_DEPTH)
    same_kind = (wide | (F.age == 1)) if isinstance(wide, Or) else (wide & (F.age == 1))
    assert depth(same_kind) == MAX_DEPTH  # & / | of the same kind append a child
    many = And(tuple(F.age == i for i in range(5_000)))
    assert depth(many & (F.age > 1)) == 2


def test_the_message_says_what_to_do() -> None:
    with pytest.raises(ValueError) as info:
        nots(MAX_DEPTH + 1)
    message = str(info.value)
    assert "nested too deeply" in message
    assert "And" in message and "Or" in message

"""SPEC 11.12 wrapper predicates: ``as_predicate`` and every place here that takes a predicate
(``&``/``|``/``^`` on either side, ``dumps``) accept any object whose ``__sassi_predicate__()``
returns a ``Predicate``; everything else is a clear ``TypeError``."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import sassi
from sassi.predicate import TRUE, And, Or, Predicate, Xor, as_predicate, dumps, loads


@dataclass(frozen=True)
class Doc:
    id: int
    age: int
    org: int


F = sassi.fields(Doc)
A, B, C = F.age > 1, F.org == 7, F.age < 90


class Wrapped:
    """A "provenanced" predicate: carries a predicate plus metadata of its own."""

    def __init__(self, inner: object, note: str = "") -> None:
        self.inner = inner
        self.note = note

    def __sassi_predicate__(self) -> Any:
        return self.inner

    def __repr__(self) -> str:
        return f"Wrapped({self.inner!r})"


class Loop:
    """A broken wrapper that returns itself."""

    def __sassi_predicate__(self) -> Loop:
        return self


def test_a_predicate_is_returned_as_is() -> None:
    assert as_predicate(A, what="scope()") is A
    assert as_predicate(TRUE, what="scope()") is TRUE


def test_a_wrapper_is_unwrapped_a_few_levels() -> None:
    assert as_predicate(Wrapped(A), what="x") is A
    assert as_predicate(Wrapped(Wrapped(Wrapped(A))), what="x") is A


def test_a_self_returning_wrapper_is_refused_not_looped() -> None:
    with pytest.raises(TypeError, match=r"where\(\).*__sassi_predicate__"):
        as_predicate(Loop(), what="where()")
    deep: object = A
    for _ in range(50):
        deep = Wrapped(deep)
    with pytest.raises(TypeError, match="__sassi_predicate__"):
        as_predicate(deep, what="where()")


@pytest.mark.parametrize("returned", [None, 3, "age > 1", True, F.age])
def test_a_wrapper_returning_a_non_predicate_is_refused(returned: object) -> None:
    with pytest.raises(TypeError) as info:
        as_predicate(Wrapped(returned), what="scope()")
    message = str(info.value)
    assert message.startswith("scope() takes a sassi predicate")
    assert "__sassi_predicate__()" in message and repr(returned) in message


def test_a_bool_names_the_usual_cause() -> None:
    with pytest.raises(TypeError) as info:
        as_predicate(F.age == F.org, what="scope()")
    message = str(info.value)
    assert message.startswith("scope() takes a sassi predicate, got the bool False")
    assert "comparing two fields" in message


@pytest.mark.parametrize("obj", [None, 3, "age > 1", [A], object(), F.age])
def test_anything_else_is_refused_with_the_documented_message(obj: object) -> None:
    with pytest.raises(TypeError) as info:
        as_predicate(obj, what="invalidate_where()")
    assert str(info.value).startswith(f"invalidate_where() takes a sassi predicate, got {obj!r}")


def test_a_wrapper_method_is_looked_up_on_the_type() -> None:
    plain = object.__new__(Wrapped)  # no instance attributes at all
    plain.inner = B
    assert as_predicate(plain, what="x") is B

    class Instance:
        pass

    lone = Instance()
    lone.__sassi_predicate__ = lambda: A  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="takes a sassi predicate"):
        as_predicate(lone, what="x")


Combine = Callable[[Any, Any], Any]
OPS: list[tuple[Combine, Callable[[Predicate, Predicate], Predicate]]] = [
    (operator.and_, lambda x, y: And((x, y))),
    (operator.or_, lambda x, y: Or((x, y))),
    (operator.xor, Xor),
]


@pytest.mark.parametrize(("op", "node"), OPS, ids=["and", "or", "xor"])
def test_wrappers_combine_on_either_side(
    op: Combine, node: Callable[[Predicate, Predicate], Predicate]
) -> None:
    assert op(A, Wrapped(B)) == node(A, B)
    assert op(Wrapped(A), B) == node(A, B)
    assert op(Wrapped(Wrapped(A)), B) == node(A, B)


def test_wrappers_keep_the_flattening_rules() -> None:
    assert (A & B) & Wrapped(C) == And((A, B, C))
    assert Wrapped(C) & (A & B) == And((C, A, B))
    assert Wrapped(And((A, B))) & C == And((A, B, C))
    assert (A | B) | Wrapped(C) == Or((A, B, C))
    assert Wrapped(C) | (A | B) == Or((C, A, B))


def test_dumps_accepts_a_wrapper() -> None:
    p = (A & B) | C
    assert dumps(Wrapped(p)) == dumps(p)
    assert dumps(Wrapped(p), model=Doc) == dumps(p, model=Doc)
    assert loads(Doc, dumps(Wrapped(Wrapped(p)))) == p
    with pytest.raises(TypeError, match="dumps"):
        dumps(Wrapped(3))


def test_a_predicate_is_its_own_wrapper() -> None:
    assert A.__sassi_predicate__() is A


def test_every_api_that_takes_a_predicate_takes_a_wrapper_and_explains_a_bool() -> None:
    """SPEC 11.12: scope, where, invalidate_where, to_sqlalchemy and dumps accept wrappers."""
    import sqlalchemy as sa

    import sassi
    from sassi.sql import to_sqlalchemy

    @dataclass(frozen=True)
    class Member:
        id: int
        age: int

    G = sassi.fields(Member)

    class Adults:
        def __sassi_predicate__(self) -> sassi.Predicate:
            return G.age >= 18

    pool = sassi.Punnu(Member)
    pool.insert(Member(1, 30))
    pool.insert(Member(2, 10))
    assert [m.id for m in pool.scope(Adults()).collect()] == [1]
    assert [m.id for m in pool.scope().where(Adults()).collect()] == [1]
    table = sa.Table("m", sa.MetaData(), sa.Column("id", sa.Integer), sa.Column("age", sa.Integer))
    assert str(to_sqlalchemy(Adults(), table)) == str(to_sqlalchemy(G.age >= 18, table))
    assert sassi.predicate.dumps(Adults()) == sassi.predicate.dumps(G.age >= 18)
    assert pool.invalidate_where(Adults()) == 1 and len(pool) == 1
    same = G.age == G.id  # a plain bool: comparing two fields is never a predicate
    for call in (pool.scope, pool.scope().where, pool.invalidate_where):
        with pytest.raises(TypeError, match="comparing two fields"):
            call(same)
    with pytest.raises(TypeError, match="comparing two fields"):
        to_sqlalchemy(same, table)

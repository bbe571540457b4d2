"""Scopes over a pool (SPEC section 3; reference 2.6, contracts 25-28)."""

from __future__ import annotations

import typing
from dataclasses import dataclass

import pytest

import sassi
from sassi import Delta, MemQ, Punnu, Scope
from sassi.testing import FakeClock


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    age: int


F = sassi.fields(User)


def make_pool(**kwargs: typing.Any) -> Punnu[User]:
    pool = Punnu(User, **kwargs)
    for user in [User(1, "ann", 30), User(2, "bob", 17), User(3, "cy", 45), User(4, "di", 17)]:
        pool.insert(user)
    return pool


def test_scope_predicates_are_anded() -> None:
    pool = make_pool()
    assert [u.id for u in pool.scope(F.age >= 17, F.name != "bob").sort().collect()] == [1, 3, 4]
    assert [u.id for u in pool.scope().where(F.age == 17).sort().collect()] == [2, 4]
    assert [u.id for u in pool.scope().where(F.age == 17, F.id > 2).collect()] == [4]


def test_scope_is_immutable_and_reusable() -> None:
    pool = make_pool()
    base = pool.scope(F.age > 16)
    adults = base.filter(lambda u: u.age >= 18)
    assert isinstance(adults, Scope)
    assert base.count() == 4
    assert adults.count() == 2
    pool.insert(User(5, "eve", 50))
    assert adults.count() == 3  # snapshot taken when the terminal runs


def test_terminals() -> None:
    pool = make_pool()
    scope = pool.scope(F.age == 17).sort(F.name)
    assert [u.name for u in scope.collect()] == ["bob", "di"]
    assert [u.name for u in scope] == ["bob", "di"]
    assert scope.first() == User(2, "bob", 17)
    assert scope.count() == 2
    assert scope.exists() is True
    empty = pool.scope(F.age > 100)
    assert empty.first() is None
    assert empty.count() == 0
    assert empty.exists() is False


def test_first_equals_first_after_all_ops() -> None:
    pool = make_pool()
    scope = pool.scope().sort(F.age, reverse=True).skip(1)
    assert scope.first() == scope.collect()[0] == User(1, "ann", 30)


def test_scope_does_not_touch_recency_events_or_len() -> None:
    pool = make_pool(capacity=4)
    sub = pool.events()
    for _ in range(3):
        pool.scope(F.age > 0).sort().collect()
        pool.scope(F.name == "ann").first()
    assert len(pool) == 4
    assert sub.receive_nowait() is None
    pool.insert(User(5, "eve", 1))
    assert 1 not in pool  # still the least recently used


def test_chain_never_inserts_into_the_pool() -> None:
    pool = make_pool()
    result = pool.scope(F.id == 1).chain([User(9, "zed", 1)]).collect()
    assert [u.id for u in result] == [1, 9]
    assert 9 not in pool
    assert len(pool) == 4


def test_map_flat_map_group_partition_fold_then() -> None:
    pool = make_pool()
    names = pool.scope().sort().map(lambda u: u.name).collect()
    assert names == ["ann", "bob", "cy", "di"]
    doubled = pool.scope(F.id == 3).flat_map(lambda u: [u, u]).collect()
    assert doubled == [User(3, "cy", 45)] * 2
    grouped = pool.scope().sort().group_by(F.age).collect()
    assert [u.id for u in grouped] == [1, 2, 4, 3]
    parted = pool.scope().sort().partition(lambda u: u.age < 18).collect()
    assert [u.id for u in parted] == [2, 4, 1, 3]
    oldest = pool.scope().fold(lambda us: max(us, key=lambda u: u.age)).collect()
    assert oldest == [User(3, "cy", 45)]
    assert pool.scope().then(MemQ.sort()).then(MemQ.take(1)).collect() == [User(1, "ann", 30)]
    with pytest.raises(TypeError):
        pool.scope().then(lambda xs: xs)  # type: ignore[arg-type]


def test_unique_and_raising_filter() -> None:
    pool = make_pool()
    assert [u.id for u in pool.scope().sort().unique(F.age).collect()] == [1, 2, 3]

    def flaky(u: User) -> bool:
        if u.id == 1:
            raise KeyError("boom")
        return True

    assert [u.id for u in pool.scope().filter(flaky).sort().collect()] == [2, 3, 4]


def test_scope_excludes_expired_entries() -> None:
    clock = FakeClock()
    pool = make_pool(clock=clock)
    pool.insert(User(5, "eve", 20), ttl=1)
    assert pool.scope(F.id == 5).exists()
    clock.advance(1)
    assert not pool.scope(F.id == 5).exists()
    assert len(pool) == 5


def test_scope_sees_a_delta_entirely() -> None:
    pool = make_pool()
    pool.apply_delta(Delta(items=[User(2, "bob", 18), User(6, "fay", 18)], tombstones=[3]))
    assert [u.id for u in pool.scope(F.age == 18).sort().collect()] == [2, 6]


def test_scope_rejects_non_predicates() -> None:
    pool = make_pool()
    with pytest.raises(TypeError):
        pool.scope(lambda u: True)  # type: ignore[arg-type]


class Greeter(typing.Protocol):
    def greet(self) -> str: ...


@sassi.trait_impl(Greeter)
@dataclass(frozen=True)
class Friendly:
    id: int
    name: str

    def greet(self) -> str:
        return f"hi {self.name}"


def test_filter_impl_for_a_registered_model_is_a_noop_that_composes() -> None:
    pool = Punnu(Friendly)
    pool.insert(Friendly(1, "a"))
    pool.insert(Friendly(2, "b"))
    FF = sassi.fields(Friendly)
    assert pool.scope().filter_impl(Greeter).sort().count() == 2
    assert [f.greet() for f in pool.scope().filter_impl(Greeter).where(FF.id == 2).collect()] == [
        "hi b"
    ]
    assert MemQ.filter_impl(Greeter).apply(pool.scope().collect()) != []


def test_filter_impl_for_an_unregistered_model_raises() -> None:
    pool = make_pool()
    with pytest.raises(TypeError, match="Greeter"):
        pool.scope().filter_impl(Greeter)
    with pytest.raises(TypeError):
        MemQ.filter_impl(Greeter).apply(pool.scope().collect())


def test_registry_reads_pools_through_scopes() -> None:
    pool = Punnu(Friendly)
    pool.insert(Friendly(1, "a"))
    registry = sassi.Sassi()
    registry.register(pool)
    assert registry.pool(Friendly) is pool
    assert [g.greet() for g in registry.all_impl(Greeter)] == ["hi a"]


def test_collected_lists_never_alias_the_pool() -> None:
    pool = make_pool()
    for scope in (
        pool.scope(),
        pool.scope(sassi.TRUE),
        pool.scope(F.age >= 0),
        pool.scope().sort(),
    ):
        result = scope.collect()
        result.clear()
        assert len(pool) == 4
        assert pool.scope().count() == 4
    assert pool.scope(sassi.FALSE).collect() == []

"""``trait_impl``, ``Sassi`` and ``filter_impl``: reference contracts 28 and 115 and more."""

from __future__ import annotations

import abc
import threading
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import pytest

import sassi
from sassi import Punnu
from sassi._traits import implements, protocol_members, require_impl
from sassi.testing import FakeClock

# --------------------------------------------------------------------------- protocols


class Greeter(Protocol):
    def greet(self) -> str: ...


class Named(Protocol):
    name: str

    @property
    def title(self) -> str: ...


class LoudGreeter(Greeter, Protocol):
    def shout(self) -> str: ...


class Priced(abc.ABC):
    @abc.abstractmethod
    def price(self) -> int: ...

    def describe(self) -> str:
        return f"costs {self.price()}"


class Unused(Protocol):
    def never(self) -> None: ...


# --------------------------------------------------------------------------- models


@sassi.trait_impl(Greeter)
@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str

    def greet(self) -> str:
        return f"hi {self.name}"


@sassi.trait_impl(LoudGreeter)
@dataclass(frozen=True)
class Robot:
    id: int

    def greet(self) -> str:
        return f"beep {self.id}"

    def shout(self) -> str:
        return "BEEP"


@dataclass(frozen=True)
class Order:  # never registered for anything
    id: int
    total: int

    def greet(self) -> str:  # structurally a Greeter, but not registered
        return "order"


@dataclass(frozen=True)
class Product(Priced):  # nominal subclass of an ABC, no decorator
    id: int
    cents: int

    def price(self) -> int:
        return self.cents


# --------------------------------------------------------------------------- trait_impl


def test_trait_impl_returns_the_class_unchanged() -> None:
    class Plain:
        def greet(self) -> str:
            return "x"

    before = dict(vars(Plain))
    assert sassi.trait_impl(Greeter)(Plain) is Plain
    assert dict(vars(Plain)) == before
    assert implements(Plain, Greeter)


def test_registration_rules() -> None:
    assert implements(User, Greeter)
    assert not implements(User, LoudGreeter)
    assert implements(Robot, LoudGreeter)
    assert implements(Robot, Greeter)  # registered for a protocol that inherits from Greeter
    assert not implements(Order, Greeter)  # structure alone does not register
    assert implements(Product, Priced)  # nominal subclass
    assert not implements(User, Unused)
    assert not implements(User, "Greeter")  # type: ignore[arg-type]
    assert not implements(3, Greeter)  # type: ignore[arg-type]

    class SubUser(User):
        pass

    assert not implements(SubUser, Greeter)  # registration is per class, like the crate's


def test_registering_twice_and_for_several_protocols() -> None:
    @sassi.trait_impl(Named)
    @sassi.trait_impl(Greeter)
    @sassi.trait_impl(Greeter)
    @dataclass(frozen=True)
    class Person:
        id: int
        name: str

        @property
        def title(self) -> str:
            return "Dr"

        def greet(self) -> str:
            return "hello"

    assert implements(Person, Greeter) and implements(Person, Named)


def test_protocol_members() -> None:
    assert protocol_members(Greeter) == {"greet"}
    assert protocol_members(Named) == {"name", "title"}
    assert protocol_members(LoudGreeter) == {"greet", "shout"}
    assert protocol_members(Priced) == {"price"}

    class Sized(Protocol):
        limit: ClassVar[int]

        def __len__(self) -> int: ...

    assert protocol_members(Sized) == {"__len__", "limit"}


def test_missing_members_are_named_at_decoration_time() -> None:
    with pytest.raises(TypeError) as info:

        @sassi.trait_impl(LoudGreeter)
        @dataclass(frozen=True)
        class Mute:
            id: int

            def greet(self) -> str:
                return ""

    message = str(info.value)
    assert "Mute" in message and "LoudGreeter" in message and "shout" in message
    assert "greet," not in message.split("declares")[0]

    with pytest.raises(TypeError, match=r"name, title"):

        @sassi.trait_impl(Named)
        class Nameless:
            id: int

    with pytest.raises(TypeError, match="greet"):  # a data attribute is not a method

        @sassi.trait_impl(Greeter)
        class Wrong:
            greet = "hello"


def test_members_may_come_from_fields_properties_and_slots() -> None:
    @sassi.trait_impl(Named)
    @dataclass(frozen=True, slots=True)
    class Slotted:
        id: int
        name: str

        @property
        def title(self) -> str:
            return self.name.title()

    @sassi.trait_impl(Named)
    class Annotated:
        name: str
        title: str

    @sassi.trait_impl(Greeter)
    @dataclass(frozen=True, slots=True)
    class CallableField:
        id: int
        greet: Any

    assert implements(Slotted, Named) and implements(Annotated, Named)
    assert implements(CallableField, Greeter)


def test_abc_abstract_methods_are_required() -> None:
    with pytest.raises(TypeError, match="price"):

        @sassi.trait_impl(Priced)
        class Free:
            id: int

    with pytest.raises(TypeError, match="price"):  # subclassed but left abstract

        @sassi.trait_impl(Priced)
        class StillAbstract(Priced):
            id: int

    @sassi.trait_impl(Priced)
    class Virtual:  # structural implementation of an ABC, registered explicitly
        def price(self) -> int:
            return 1

    assert implements(Virtual, Priced)


@pytest.mark.parametrize("proto", [int, object, 3, "Greeter", None, Protocol, User])
def test_non_protocol_arguments_are_rejected(proto: Any) -> None:
    with pytest.raises(TypeError, match="Protocol"):
        sassi.trait_impl(proto)


def test_bare_decorator_use_is_rejected() -> None:
    with pytest.raises(TypeError, match="trait_impl"):

        @sassi.trait_impl
        class Oops:
            pass


@pytest.mark.parametrize("target", [lambda: None, 3, "User", User(1, "a")])
def test_non_class_targets_are_rejected(target: Any) -> None:
    with pytest.raises(TypeError, match="classes"):
        sassi.trait_impl(Greeter)(target)


def test_require_impl() -> None:
    require_impl(User, Greeter)  # no exception
    require_impl(Product, Priced)
    with pytest.raises(TypeError) as info:
        require_impl(Order, Greeter)
    assert "Order" in str(info.value) and "Greeter" in str(info.value)
    with pytest.raises(TypeError, match="protocol"):
        require_impl(User, "Greeter")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="User"):
        sassi.Sassi().require_impl(User, Unused)


# --------------------------------------------------------------------------- filter_impl (28)


def users_pool(n: int = 3, **kwargs: Any) -> Punnu[User]:
    pool: Punnu[User] = Punnu(User, **kwargs)
    for i in range(1, n + 1):
        pool.insert(User(i, f"u{i}"))
    return pool


def test_filter_impl_returns_all_entries_of_implementing_type() -> None:
    pool = users_pool(3)
    got = pool.scope().filter_impl(Greeter).collect()
    assert sorted(u.id for u in got) == [1, 2, 3]
    assert sorted(u.greet() for u in got) == ["hi u1", "hi u2", "hi u3"]


def test_filter_impl_composes_with_other_filters() -> None:
    F = sassi.fields(User)
    pool = users_pool(5)
    got = pool.scope(F.id >= 2).filter_impl(Greeter).filter(lambda u: u.id % 2 == 0).collect()
    assert sorted(u.id for u in got) == [2, 4]
    assert pool.scope().filter_impl(Greeter).take(2).count() == 2


def test_filter_impl_on_unregistered_model_is_a_type_error() -> None:
    pool: Punnu[Order] = Punnu(Order)
    pool.insert(Order(1, 10))
    with pytest.raises(TypeError) as info:
        pool.scope().filter_impl(Greeter).collect()
    assert "Order" in str(info.value) and "Greeter" in str(info.value)
    products: Punnu[Product] = Punnu(Product)
    products.insert(Product(1, 99))
    assert [p.describe() for p in products.scope().filter_impl(Priced).collect()] == ["costs 99"]


# --------------------------------------------------------------------------- Sassi (115)


def test_pool_returns_the_registered_object() -> None:
    registry = sassi.Sassi()
    users = users_pool(1)
    assert registry.pool(User) is None
    registry.register(users)
    assert registry.pool(User) is users
    assert User in registry and Order not in registry and len(registry) == 1


def test_re_registering_same_type_replaces_previous_pool() -> None:
    registry = sassi.Sassi()
    first, second = users_pool(2), users_pool(0)
    second.insert(User(7, "seven"))
    registry.register(first)
    registry.register(second)
    assert registry.pool(User) is second
    assert len(registry) == 1
    assert [u.id for u in registry.all_impl(Greeter)] == [7]


def test_all_impl_returns_values_from_all_registered_pools() -> None:
    registry = sassi.Sassi()
    users, robots, orders = users_pool(2), Punnu(Robot), Punnu(Order)
    robots.insert(Robot(10))
    orders.insert(Order(1, 5))
    for pool in (users, robots, orders):
        registry.register(pool)
    greeters = registry.all_impl(Greeter)
    assert [g.greet() for g in greeters] == ["hi u1", "hi u2", "beep 10"]
    assert all(g is users.get(g.id) for g in greeters[:2])  # the cached objects themselves
    assert [r.shout() for r in registry.all_impl(LoudGreeter)] == ["BEEP"]
    assert registry.all_impl(Unused) == []
    assert registry.all_impl(Priced) == []


def test_all_impl_includes_nominal_subclasses_and_skips_expired() -> None:
    clock = FakeClock()
    registry = sassi.Sassi()
    products: Punnu[Product] = Punnu(Product, clock=clock)
    products.insert(Product(1, 5), ttl=10)
    products.insert(Product(2, 6))
    registry.register(products)
    assert [p.id for p in registry.all_impl(Priced)] == [1, 2]
    clock.advance(10)
    assert [p.id for p in registry.all_impl(Priced)] == [2]


def test_all_impl_never_changes_a_pool() -> None:
    registry = sassi.Sassi()
    users = users_pool(3, capacity=3)
    registry.register(users)
    with users.events() as sub:
        before = users.stats()
        assert len(registry.all_impl(Greeter)) == 3
        assert sub.receive_nowait() is None
        assert users.stats() == before
    users.get(1)  # 1 is now the most recently used; 2 the least
    registry.all_impl(Greeter)
    users.insert(User(4, "u4"))
    assert 2 not in users and 1 in users  # all_impl did not refresh recency


def test_unregister_and_pools() -> None:
    registry = sassi.Sassi()
    users, robots = users_pool(1), Punnu(Robot)
    registry.register(users)
    registry.register(robots)
    assert registry.pools() == [users, robots]
    assert registry.unregister(User) is True
    assert registry.unregister(User) is False
    assert registry.pools() == [robots]
    assert registry.all_impl(Greeter) == []
    assert "Robot" in repr(registry)


@pytest.mark.parametrize("bad", [object(), User, "users", None])
def test_register_rejects_non_pools(bad: Any) -> None:
    with pytest.raises(TypeError, match="Punnu"):
        sassi.Sassi().register(bad)


def test_all_impl_rejects_non_classes() -> None:
    with pytest.raises(TypeError):
        sassi.Sassi().all_impl("Greeter")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- thread safety


def test_registry_is_thread_safe() -> None:
    registry = sassi.Sassi()
    models: list[type] = []
    for i in range(8):

        def greet(self: Any) -> str:
            return "g"

        namespace = {"__annotations__": {"id": int}, "greet": greet}
        model: type = dataclass(frozen=True)(type(f"Model{i}", (), namespace))
        models.append(sassi.trait_impl(Greeter)(model))
    pools: dict[type, list[Punnu[Any]]] = {m: [Punnu(m) for _ in range(3)] for m in models}
    for m, ps in pools.items():
        for k, p in enumerate(ps):
            p.insert(m(k))
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def writer(offset: int) -> None:
        try:
            barrier.wait()
            for round_ in range(200):
                m = models[(round_ + offset) % len(models)]
                registry.register(pools[m][round_ % 3])
                if round_ % 17 == 0:
                    registry.unregister(m)

                @sassi.trait_impl(Greeter)
                class Local:
                    def greet(self) -> str:
                        return "l"

        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        try:
            barrier.wait()
            for _ in range(200):
                values = registry.all_impl(Greeter)
                assert len(values) <= len(models)  # one pool per model, one value per pool
                pools_now = registry.pools()
                assert len({p.model for p in pools_now}) == len(pools_now) <= len(models)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
    threads += [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for m in models:
        registry.register(pools[m][0])
    assert len(registry) == len(models)
    assert sorted(v.id for v in registry.all_impl(Greeter)) == [0] * len(models)


def test_generic_protocols_ignore_type_arguments() -> None:
    from typing import TypeVar

    T = TypeVar("T", covariant=True)

    class Box(Protocol[T]):
        def unwrap(self) -> T: ...

    @sassi.trait_impl(Box[int])
    @dataclass(frozen=True)
    class IntBox:
        id: int

        def unwrap(self) -> int:
            return self.id

    assert protocol_members(Box[int]) == {"unwrap"}
    assert implements(IntBox, Box) and implements(IntBox, Box[str])  # erased at runtime
    require_impl(IntBox, Box[int])
    registry = sassi.Sassi()
    boxes: Punnu[IntBox] = Punnu(IntBox)
    boxes.insert(IntBox(3))
    registry.register(boxes)
    assert [b.unwrap() for b in registry.all_impl(Box[int])] == [3]
    assert [b.id for b in boxes.scope().filter_impl(Box).collect()] == [3]
    with pytest.raises(TypeError, match="Protocol"):
        sassi.trait_impl(list[int])

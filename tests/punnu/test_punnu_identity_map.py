"""Pool basics: identity map, conflicts, LRU, config validation (reference contracts 29-39)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

import sassi
from helpers import drain
from sassi import (
    BackendFailure,
    ConflictError,
    EventReason,
    Inserted,
    Invalidated,
    InvalidationReason,
    OnConflict,
    Punnu,
    PunnuConfig,
    Updated,
)


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str = ""
    age: int = 0


def test_insert_and_get_round_trip_returns_the_same_object() -> None:
    pool = Punnu(User)
    alice = User(1, "alice")
    assert pool.insert(alice) is alice
    assert pool.get(1) is alice
    assert len(pool) == 1
    assert 1 in pool
    assert 2 not in pool
    assert pool.get(2) is None


def test_last_write_wins_replaces_and_emits_inserted_not_updated() -> None:
    pool = Punnu(User)
    sub = pool.events()
    first, second = User(1, "a"), User(1, "b")
    pool.insert(first)
    pool.insert(second)
    assert pool.get(1) is second
    assert len(pool) == 1
    assert drain(sub) == [Inserted(first), Inserted(second)]


def test_update_policy_emits_updated_with_old_and_new() -> None:
    pool = Punnu(User, on_conflict=OnConflict.UPDATE)
    sub = pool.events()
    first, second = User(1, "a"), User(1, "b")
    pool.insert(first)
    pool.insert(second)
    events = drain(sub)
    assert events == [Inserted(first), Updated(first, second)]
    assert events[1].old is first and events[1].new is second


def test_reject_policy_raises_keeps_old_value_and_emits_nothing() -> None:
    pool = Punnu(User, on_conflict=OnConflict.REJECT)
    first = User(1, "a")
    pool.insert(first)
    sub = pool.events()
    with pytest.raises(ConflictError) as info:
        pool.insert(User(1, "b"))
    assert isinstance(info.value, ValueError)
    assert pool.get(1) is first
    assert drain(sub) == []


def test_invalidate_removes_and_emits_reason() -> None:
    pool = Punnu(User)
    pool.insert(User(1))
    sub = pool.events()
    assert pool.invalidate(1, InvalidationReason.ON_SAVE) is True
    assert pool.get(1) is None
    assert len(pool) == 0
    [event] = drain(sub)
    assert event == Invalidated(1, EventReason.ON_SAVE)
    assert isinstance(event, Invalidated)
    assert event.reason is EventReason.ON_SAVE
    reason: object = event.reason
    assert reason == InvalidationReason.ON_SAVE  # str enums of the same name compare equal


def test_invalidate_default_reason_is_manual() -> None:
    pool = Punnu(User)
    pool.insert(User(1))
    sub = pool.events()
    pool.invalidate(1)
    assert drain(sub) == [Invalidated(1, EventReason.MANUAL)]


def test_invalidate_unknown_id_is_a_noop_without_event() -> None:
    pool = Punnu(User)
    pool.insert(User(1))
    sub = pool.events()
    assert pool.invalidate(99) is False
    assert drain(sub) == []
    assert len(pool) == 1


def test_invalidate_rejects_system_reasons() -> None:
    pool = Punnu(User)
    pool.insert(User(1))
    with pytest.raises(ValueError):
        pool.invalidate(1, EventReason.LRU_EVICT)  # type: ignore[arg-type]
    assert 1 in pool


def test_lru_eviction_at_capacity_two() -> None:
    pool = Punnu(User, capacity=2)
    for i in (1, 2, 3):
        pool.insert(User(i))
    assert sorted(u.id for u in pool.scope().collect()) == [2, 3]


def test_get_refreshes_recency() -> None:
    pool = Punnu(User, capacity=2)
    pool.insert(User(1))
    pool.insert(User(2))
    assert pool.get(1) is not None
    pool.insert(User(3))
    assert 1 in pool and 3 in pool and 2 not in pool


def test_scope_and_len_do_not_refresh_recency() -> None:
    pool = Punnu(User, capacity=2)
    pool.insert(User(1))
    pool.insert(User(2))
    assert pool.scope().count() == 2
    assert 1 in pool
    assert len(pool) == 2
    pool.insert(User(3))
    assert 1 not in pool


def test_handles_share_state() -> None:
    pool = Punnu(User)
    alias = pool
    pool.insert(User(1))
    assert alias.get(1) == User(1)


def test_wrong_model_type_is_rejected() -> None:
    @dataclass(frozen=True)
    class Other:
        id: int

    pool = Punnu(User)
    with pytest.raises(TypeError, match="User"):
        pool.insert(Other(1))  # type: ignore[arg-type]
    assert len(pool) == 0


def test_undecorated_model_without_id_is_rejected() -> None:
    class NoId:
        name: str

    with pytest.raises(TypeError):
        Punnu(NoId)


def test_cacheable_renamed_identity_field() -> None:
    @sassi.cacheable(id="sku")
    @dataclass(frozen=True)
    class Item:
        sku: str
        price: int

    pool = Punnu(Item)
    pool.insert(Item("a", 1))
    assert pool.get("a") == Item("a", 1)


def test_config_defaults_and_frozen() -> None:
    pool = Punnu(User)
    config = pool.config
    assert isinstance(config, PunnuConfig)
    assert config.capacity == 10_000
    assert config.ttl is None
    assert config.on_conflict is OnConflict.LAST_WRITE_WINS
    assert config.event_capacity == 256
    assert config.sweep_interval is None
    assert config.namespace is None
    assert config.backend is None
    assert config.backend_failure == BackendFailure.L1_ONLY
    assert config.metrics is None
    assert config.indexes == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.capacity = 3  # type: ignore[misc]


def test_durations_accept_timedelta_and_float() -> None:
    pool = Punnu(User, ttl=timedelta(minutes=2), sweep_interval=1.5)
    assert pool.config.ttl == 120.0
    assert pool.config.sweep_interval == 1.5


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"capacity": 0}, "capacity"),
        ({"capacity": -3}, "capacity"),
        ({"event_capacity": 0}, "event_capacity"),
        ({"sweep_interval": 0}, "sweep_interval"),
        ({"sweep_interval": timedelta(0)}, "sweep_interval"),
        ({"sweep_interval": -1.0}, "sweep_interval"),
        ({"ttl": 0}, "ttl"),
        ({"ttl": -0.5}, "ttl"),
        ({"ttl": timedelta(seconds=-1)}, "ttl"),
        ({"namespace": ""}, "namespace"),
        ({"indexes": ("nope",)}, "indexes"),
    ],
)
def test_invalid_options_raise_value_error_naming_the_option(
    kwargs: dict[str, Any], option: str
) -> None:
    with pytest.raises(ValueError, match=option):
        Punnu(User, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"capacity": "10"},
        {"capacity": 2.5},
        {"on_conflict": "reject"},
        {"backend_failure": "error"},
        {"ttl": "5"},
        {"namespace": 3},
        {"clock": 5},
    ],
)
def test_wrong_option_types_raise_type_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        Punnu(User, **kwargs)


def test_backend_failure_retry() -> None:
    with pytest.raises(ValueError, match="attempts"):
        BackendFailure.retry(0)
    policy = BackendFailure.retry(3)
    assert policy.mode == "retry" and policy.attempts == 3
    assert Punnu(User, backend_failure=policy).config.backend_failure == BackendFailure.retry(3)
    assert BackendFailure.ERROR != BackendFailure.L1_ONLY


def test_namespace_round_trips_and_does_not_isolate_l1() -> None:
    a = Punnu(User, namespace="tenant-a")
    b = Punnu(User, namespace=None)
    assert a.config.namespace == "tenant-a"
    assert b.config.namespace is None
    a.insert(User(1, "a"))
    a.insert(User(1, "b"))  # same id in the same pool overwrites whatever the namespace
    assert a.get(1) == User(1, "b")
    assert len(a) == 1


def test_indexes_are_validated_and_recorded() -> None:
    pool = Punnu(User, indexes=("age", "name"))
    assert pool.config.indexes == ("age", "name")
    with pytest.raises(ValueError, match="indexes"):
        Punnu(User, indexes=("age", "age"))


def test_generic_alias_and_type_name() -> None:
    pool: Punnu[User] = Punnu[User](User)
    assert pool.model is User
    assert pool.type_name == sassi.type_name(User)


def test_unhashable_id_raises_type_error() -> None:
    @dataclass(frozen=True)
    class Bag:
        id: list[int]

    pool = Punnu(Bag)
    with pytest.raises(TypeError):
        pool.insert(Bag([1]))

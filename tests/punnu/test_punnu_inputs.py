"""SPEC 11.11 (inputs that must fail early and clearly) and issue 11 item 22 (messages)."""

from __future__ import annotations

import uuid
import warnings
from dataclasses import dataclass
from typing import Any, NewType

import anyio
import pytest

import sassi
from sassi import Punnu
from sassi.backends import FileBackend, MemoryBackend

UserId = NewType("UserId", int)


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str = ""


@dataclass(frozen=True, slots=True)
class Keyed:
    id: str


@dataclass(frozen=True, slots=True)
class Typed:
    id: UserId


@dataclass(frozen=True, slots=True)
class ById:
    id: uuid.UUID | int


@dataclass(frozen=True, slots=True)
class Loose:
    id: Any


@dataclass(slots=True)
class Mutable:
    id: int
    org: int = 0


class Plain:
    id: int
    org: int

    def __init__(self, id: int, org: int = 0) -> None:
        self.id = id
        self.org = org


def test_insert_refuses_an_id_of_another_type_and_stores_nothing() -> None:
    pool = Punnu(User)
    with pytest.raises(TypeError, match=r"User\.id is annotated int, got '2' \(str\)"):
        pool.insert(User("2"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"User\.id"):
        pool.insert(User(True))  # a bool is not an int id
    assert len(pool) == 0 and pool.get("2") is None
    pool.insert(User(2))
    assert pool.get(2) == User(2)


def test_id_checks_follow_the_annotation() -> None:
    Punnu(Keyed).insert(Keyed("a"))
    Punnu(Typed).insert(Typed(UserId(3)))
    both = Punnu(ById)
    both.insert(ById(uuid.uuid4()))
    both.insert(ById(4))
    with pytest.raises(TypeError, match=r"ById\.id"):
        both.insert(ById("4"))  # type: ignore[arg-type]
    Punnu(Loose).insert(Loose(("any", "hashable")))
    with pytest.raises(TypeError, match=r"Keyed\.id"):
        Punnu(Keyed).apply_delta(sassi.Delta(items=[Keyed(1)]))  # type: ignore[arg-type]


def test_fetched_values_are_checked_too_and_the_message_names_fetcher_and_id() -> None:
    pool = Punnu(User)

    def load_user(id: int) -> Any:
        return {"id": id}

    with pytest.raises(TypeError, match=r"the fetcher <function .*load_user.*asked for .*id 7"):
        pool.get_or_fetch(7, load_user)

    def load_users(ids: list[int]) -> Any:
        return 42

    with pytest.raises(TypeError, match=r"load_users.*asked for .*ids \[1, 2\].*returned int"):
        pool.get_or_fetch_many([1, 2], load_users)
    assert len(pool) == 0


def test_backend_must_be_a_backend_or_a_url(tmp_path: Any) -> None:
    with pytest.raises(TypeError, match="backend= must be a sassi Backend"):
        Punnu(User, backend=object())
    with pytest.raises(TypeError, match="backend= must be a sassi Backend"):
        Punnu(User, backend={"url": "redis://x"})
    with pytest.raises(ValueError, match="unknown scheme 'memcached'"):
        Punnu(User, backend="memcached://localhost")
    pool = Punnu(User, backend=f"file://{tmp_path}/cache")
    assert isinstance(pool._tier.backend if pool._tier else None, FileBackend)
    pool.insert(User(1, "a"))
    assert Punnu(User, backend=f"file://{tmp_path}/cache").load(1) == User(1, "a")
    assert Punnu(User, backend=MemoryBackend())._tier is not None


def test_a_redis_url_builds_a_redis_backend() -> None:
    pytest.importorskip("redis")
    from sassi.backends.redis import RedisBackend

    pool = Punnu(User, backend="redis://127.0.0.1:1/0")  # nothing listens: lazy, no I/O yet
    assert pool._tier is not None and isinstance(pool._tier.backend, RedisBackend)


@pytest.mark.parametrize("model", [Mutable, Plain])
def test_indexes_on_mutable_models_warn(model: type) -> None:
    with pytest.warns(UserWarning, match="replace residents"):
        Punnu(model, indexes=("org",))


def test_indexes_on_immutable_models_do_not_warn() -> None:
    @dataclass(frozen=True, slots=True)
    class Frozen:
        id: int
        org: int = 0

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Punnu(Frozen, indexes=("org",))
        Punnu(Mutable)  # no indexes: nothing goes stale


def test_backend_errors_are_counted_in_stats() -> None:
    from sassi.exceptions import BackendUnavailable

    class Down(MemoryBackend):
        def put_sync(self, *args: Any) -> None:
            raise BackendUnavailable("down")

    pool = Punnu(User, backend=Down())
    pool.insert(User(1))
    pool.insert(User(2))
    assert pool.stats().backend_errors == 2
    assert pool.get(1) == User(1)  # L1_ONLY carried on


@pytest.mark.anyio
async def test_hostile_backend_messages_are_counted_and_skipped() -> None:
    from sassi.backends import InvalidateWhere

    pool = Punnu(User, backend=MemoryBackend())
    pool.insert(User(1))
    assert pool._listener is not None
    assert await pool._listener.apply(InvalidateWhere("[" * 100_000)) == 0
    assert await pool._listener.apply(object()) == 0
    assert pool.stats().backend_errors == 2
    assert pool.get(1) == User(1)
    await anyio.lowlevel.checkpoint()

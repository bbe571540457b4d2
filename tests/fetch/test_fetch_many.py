"""aget_or_fetch_many / get_or_fetch_many: one batch call, validated, one atomic commit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import anyio
import pytest

from helpers import User, drain
from sassi import (
    ConflictError,
    EventReason,
    IdentityMismatchError,
    Inserted,
    Invalidated,
    OnConflict,
    Punnu,
    Updated,
)


class Batch:
    """A batch fetcher usable as both sync and async: records each call's ids."""

    def __init__(self, make: Any = None) -> None:
        self.calls: list[list[int]] = []
        self.make = make if make is not None else (lambda ids: [User(i, "f") for i in ids])

    def sync(self, ids: list[int]) -> Iterable[User]:
        self.calls.append(list(ids))
        return self.make(ids)

    async def async_(self, ids: list[int]) -> Iterable[User]:
        await anyio.lowlevel.checkpoint()
        return self.sync(ids)


async def fetch_many(mode: str, pool: Punnu[User], ids: list[int], batch: Batch) -> list[User]:
    if mode == "sync":
        return pool.get_or_fetch_many(ids, batch.sync)
    return await pool.aget_or_fetch_many(ids, batch.async_)


pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("mode", ["sync", "async"])]


async def test_only_missing_ids_are_fetched_and_hits_come_first(mode: str) -> None:
    pool = Punnu(User)
    two, four = pool.insert(User(2, "hit")), pool.insert(User(4, "hit"))
    sub = pool.events()
    batch = Batch()
    result = await fetch_many(mode, pool, [1, 2, 3, 4, 5], batch)
    assert batch.calls == [[1, 3, 5]]
    assert result[:2] == [two, four]
    assert result[0] is two and result[1] is four
    assert result[2:] == [User(1, "f"), User(3, "f"), User(5, "f")]
    for value in result[2:]:
        assert pool.get(value.id) is value
    assert drain(sub) == [Inserted(User(1, "f")), Inserted(User(3, "f")), Inserted(User(5, "f"))]
    assert pool.stats().fetches == 1


async def test_all_hits_and_empty_input_never_call_the_fetcher(mode: str) -> None:
    pool = Punnu(User)
    one = pool.insert(User(1))
    batch = Batch()
    assert await fetch_many(mode, pool, [], batch) == []
    assert await fetch_many(mode, pool, [1, 1], batch) == [one, one]
    assert batch.calls == []
    assert pool.stats().fetches == 0


async def test_duplicate_ids_are_deduplicated_both_ways(mode: str) -> None:
    pool = Punnu(User)
    sub = pool.events()
    batch = Batch(lambda ids: [User(3, "first"), User(1, "x"), User(3, "second")])
    result = await fetch_many(mode, pool, [3, 1, 3, 1], batch)
    assert batch.calls == [[3, 1]]
    assert result == [User(3, "first"), User(1, "x")]
    assert pool.get(3) == User(3, "first")
    assert drain(sub) == [Inserted(User(1, "x")), Inserted(User(3, "first"))]


async def test_a_subset_answer_is_fine(mode: str) -> None:
    pool = Punnu(User)
    batch = Batch(lambda ids: [User(2)])
    assert await fetch_many(mode, pool, [1, 2, 3], batch) == [User(2)]
    assert len(pool) == 1


async def test_an_unrequested_id_raises_and_inserts_nothing(mode: str) -> None:
    pool = Punnu(User)
    pool.insert(User(9, "resident"))
    sub = pool.events()
    batch = Batch(lambda ids: [User(1), User(9, "not asked for")])
    with pytest.raises(IdentityMismatchError, match="9"):
        await fetch_many(mode, pool, [1, 2, 9], batch)
    assert batch.calls == [[1, 2]]
    assert pool.get(1) is None
    assert pool.get(9) == User(9, "resident")
    assert drain(sub) == []


async def test_reject_conflict_on_any_id_inserts_nothing(mode: str) -> None:
    pool = Punnu(User, on_conflict=OnConflict.REJECT)

    def racing(ids: list[int]) -> list[User]:
        pool.insert(User(2, "raced in"))
        return [User(i, "fetched") for i in ids]

    sub = pool.events()
    with pytest.raises(ConflictError):
        await fetch_many(mode, pool, [1, 2, 3], Batch(racing))
    assert pool.get(1) is None and pool.get(3) is None
    assert pool.get(2) == User(2, "raced in")
    assert drain(sub) == [Inserted(User(2, "raced in"))]


async def test_update_policy_emits_updated_for_a_value_that_raced_in(mode: str) -> None:
    pool = Punnu(User, on_conflict=OnConflict.UPDATE)
    raced = User(2, "raced in")

    def racing(ids: list[int]) -> list[User]:
        pool.insert(raced)
        return [User(i, "fetched") for i in ids]

    sub = pool.events()
    result = await fetch_many(mode, pool, [1, 2], Batch(racing))
    assert result == [User(1, "fetched"), User(2, "fetched")]
    assert drain(sub) == [
        Inserted(raced),
        Inserted(User(1, "fetched")),
        Updated(raced, User(2, "fetched")),
    ]


async def test_capacity_pressure_returns_everything_but_reports_only_survivors(mode: str) -> None:
    pool = Punnu(User, capacity=2)
    sub = pool.events()
    result = await fetch_many(mode, pool, [1, 2, 3, 4], Batch())
    assert [u.id for u in result] == [1, 2, 3, 4]
    assert len(pool) == 2
    events = drain(sub)
    survivors = sorted(u.id for u in result if pool.get(u.id) is not None)
    assert len(survivors) == 2
    assert events == [Inserted(User(i, "f")) for i in survivors]


async def test_capacity_eviction_of_residents_is_reported_before_the_inserts(mode: str) -> None:
    pool = Punnu(User, capacity=2)
    pool.insert(User(1, "old"))
    pool.insert(User(2, "old"))
    sub = pool.events()
    await fetch_many(mode, pool, [3], Batch())
    events = drain(sub)
    assert events[-1] == Inserted(User(3, "f"))
    assert events[:-1] == [Invalidated(1, EventReason.LRU_EVICT)]


async def test_fetcher_error_propagates_and_inserts_nothing(mode: str) -> None:
    pool = Punnu(User)

    def failing(ids: list[int]) -> list[User]:
        raise TimeoutError("db down")

    with pytest.raises(TimeoutError, match="db down"):
        await fetch_many(mode, pool, [1, 2], Batch(failing))
    assert len(pool) == 0
    batch = Batch()
    assert len(await fetch_many(mode, pool, [1, 2], batch)) == 2
    assert batch.calls == [[1, 2]]


async def test_an_id_invalidated_during_the_batch_is_returned_but_not_cached(mode: str) -> None:
    pool = Punnu(User)
    sub = pool.events()

    def racing(ids: list[int]) -> list[User]:
        pool.invalidate(2)
        return [User(i, "f") for i in ids]

    result = await fetch_many(mode, pool, [1, 2, 3], Batch(racing))
    assert result == [User(1, "f"), User(2, "f"), User(3, "f")]
    assert pool.get(2) is None
    assert pool.get(1) == User(1, "f") and pool.get(3) == User(3, "f")
    assert drain(sub) == [Inserted(User(1, "f")), Inserted(User(3, "f"))]


async def test_wrong_model_type_raises_type_error_and_inserts_nothing(mode: str) -> None:
    pool = Punnu(User)
    with pytest.raises(TypeError):
        await fetch_many(mode, pool, [1, 2], Batch(lambda ids: [User(1), {"id": 2}]))
    assert len(pool) == 0


def test_sync_batch_rejects_an_async_fetcher(mode: str) -> None:
    pool = Punnu(User)
    with pytest.raises(TypeError, match="aget_or_fetch"):
        pool.get_or_fetch_many([1], Batch().async_)  # type: ignore[arg-type]


async def test_an_async_generator_batch_fetcher_works(mode: str) -> None:
    if mode == "sync":
        pytest.skip("async generators are for the async variant")
    pool = Punnu(User)

    async def stream(ids: list[int]) -> Any:
        for i in ids:
            await anyio.lowlevel.checkpoint()
            yield User(i, "streamed")

    result = await pool.aget_or_fetch_many([1, 2], stream)
    assert result == [User(1, "streamed"), User(2, "streamed")]
    assert pool.get(2) == User(2, "streamed")

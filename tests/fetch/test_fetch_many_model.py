"""get_or_fetch_many against a reference model of its contract (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import User, drain
from sassi import IdentityMismatchError, Inserted, OnConflict, Punnu
from sassi.testing import FakeClock

IDS = st.integers(min_value=0, max_value=12)


def live(pool: Punnu[User]) -> dict[int, User]:
    return {u.id: u for u in pool.scope().collect()}


@settings(max_examples=200, deadline=None)
@given(
    live_ids=st.sets(IDS, max_size=6),
    expired_ids=st.sets(IDS, max_size=4),
    asked=st.lists(IDS, max_size=12),
    policy=st.sampled_from(list(OnConflict)),
    data=st.data(),
)
def test_get_or_fetch_many_matches_the_model(
    live_ids: set[int],
    expired_ids: set[int],
    asked: list[int],
    policy: OnConflict,
    data: st.DataObject,
) -> None:
    clock = FakeClock()
    pool = Punnu(User, on_conflict=policy, clock=clock)
    for i in sorted(expired_ids - live_ids):
        pool.insert(User(i, "expired"), ttl=1)
    clock.advance(1)
    for i in sorted(live_ids):
        pool.insert(User(i, "live"))
    before = live(pool)
    size_before = len(pool)
    sub = pool.events()

    # what the model expects to be asked for
    hits = [before[i] for i in asked if i in before]
    missing = list(dict.fromkeys(i for i in asked if i not in before))
    if not missing:
        assert pool.get_or_fetch_many(asked, lambda ids: pytest.fail("fetcher called")) == hits
        assert pool.stats().fetches == 0
        return

    # the answer: any ids (asked or not), duplicates allowed, each with a distinct name
    answer_ids = data.draw(st.lists(st.sampled_from(missing) | IDS, max_size=10), label="answer")
    answer = [User(i, f"fetched#{n}") for n, i in enumerate(answer_ids)]
    calls: list[list[int]] = []

    def fetcher(ids: list[int]) -> list[User]:
        calls.append(list(ids))
        return answer

    if any(i not in missing for i in answer_ids):
        with pytest.raises(IdentityMismatchError):
            pool.get_or_fetch_many(asked, fetcher)
        assert calls == [missing]
        assert live(pool) == before
        assert len(pool) == size_before
        assert drain(sub) == []
        return

    result = pool.get_or_fetch_many(asked, fetcher)
    first: dict[int, User] = {}
    for value in answer:
        first.setdefault(value.id, value)
    assert calls == [missing]
    assert result[: len(hits)] == hits
    assert all(a is b for a, b in zip(result, hits, strict=False))
    assert result[len(hits) :] == list(first.values())
    assert live(pool) == {**before, **first}
    assert drain(sub) == [Inserted(first[i]) for i in sorted(first)]

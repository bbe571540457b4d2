"""A state machine over insert / invalidate / clear / sweep / fetch / clock advances, checked
against a model of SPEC 11.6: what ``aget_or_fetch`` (and ``get_or_fetch``, ``loader.load``)
return and how many times the fetcher ran, with ttl, negative_ttl, stale_if_error and
stale_while_revalidate all on. Sequential callers outside ``pool.background()`` always refetch
themselves (the stale value is for *concurrent* callers), so the model serves stale values only
for fetcher errors. Runs on asyncio and on trio (through a blocking portal), on a FakeClock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from helpers import User
from sassi import Punnu, fields
from sassi.testing import FakeClock

F = fields(User)
TTL, NEGATIVE_TTL, STALE_IF_ERROR, STALE_WHILE_REVALIDATE = 10.0, 4.0, 6.0, 2.0
WINDOW = max(STALE_IF_ERROR, STALE_WHILE_REVALIDATE)
IDS = st.integers(0, 3)


class SourceDown(Exception):
    """What a failing fetcher raises."""


@dataclass
class Model:
    """What the pool should hold: entries (expired ones kept) and remembered "not found"."""

    entries: dict[int, tuple[User, float]] = field(default_factory=dict)  # id -> value, deadline
    negatives: dict[int, float] = field(default_factory=dict)  # id -> deadline
    calls: int = 0
    negative_hits: int = 0
    fetch_errors: int = 0

    def live(self, id: int, now: float) -> User | None:
        found = self.entries.get(id)
        return found[0] if found is not None and found[1] > now else None

    def fetch(self, id: int, outcome: str, now: float) -> tuple[str, Any]:
        """``("value", object)``, ``("made", None)`` (a new value), ``("none", None)`` or
        ``("raise", None)``, updating the model as the pool must."""
        live = self.live(id, now)
        if live is not None:
            return "value", live
        deadline = self.negatives.get(id)
        if deadline is not None and deadline > now:
            self.negative_hits += 1
            return "none", None
        self.calls += 1
        expired = self.entries.get(id)
        if outcome == "value":
            return "made", None
        if outcome == "none":
            self.entries.pop(id, None)  # the source lost the row: nothing stale survives
            self.negatives[id] = now + NEGATIVE_TTL
            return "none", None
        self.fetch_errors += 1
        if expired is not None and now - expired[1] < STALE_IF_ERROR:
            return "value", expired[0]
        return "raise", None


class PolicyMachine(RuleBasedStateMachine):
    backend: ClassVar[str] = "asyncio"

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.pool = Punnu(
            User,
            ttl=TTL,
            negative_ttl=NEGATIVE_TTL,
            stale_if_error=STALE_IF_ERROR,
            stale_while_revalidate=STALE_WHILE_REVALIDATE,
            clock=self.clock,
        )
        self.model = Model()
        self.actual_calls = 0
        self.made = 0
        self._portal_cm = start_blocking_portal(self.backend)
        self.portal: BlockingPortal = self._portal_cm.__enter__()

    def teardown(self) -> None:
        self._portal_cm.__exit__(None, None, None)

    @property
    def now(self) -> float:
        return self.clock.now

    def _answer(self, id: int, outcome: str) -> User | None:
        self.actual_calls += 1
        if outcome == "raise":
            raise SourceDown(id)
        if outcome == "none":
            return None
        self.made += 1
        return User(id, f"made{self.made}")

    # --- rules -------------------------------------------------------------------------------

    @rule(id=IDS)
    def insert(self, id: int) -> None:
        self.made += 1
        value = self.pool.insert(User(id, f"made{self.made}"))
        self.model.entries[id] = (value, self.now + TTL)
        self.model.negatives.pop(id, None)

    @rule(id=IDS)
    def invalidate(self, id: int) -> None:
        expected = self.model.live(id, self.now) is not None
        assert self.pool.invalidate(id) is expected
        self.model.entries.pop(id, None)
        self.model.negatives.pop(id, None)

    @rule(id=IDS)
    def invalidate_where(self, id: int) -> None:
        expected = 1 if self.model.live(id, self.now) is not None else 0
        assert self.pool.invalidate_where(F.id == id) == expected
        self.model.entries.pop(id, None)  # a kept expired entry that matches goes too
        self.model.negatives.clear()

    @rule()
    def clear(self) -> None:
        live = sum(self.model.live(i, self.now) is not None for i in self.model.entries)
        assert self.pool.clear() == live
        self.model.entries.clear()
        self.model.negatives.clear()

    @rule()
    def sweep(self) -> None:
        gone = [i for i, (_, d) in self.model.entries.items() if d <= self.now - WINDOW]
        assert self.pool.sweep_expired() == len(gone)
        for i in gone:
            del self.model.entries[i]

    @rule(seconds=st.sampled_from([0.5, 1.0, 2.0, 4.0, 6.0, 10.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule(
        id=IDS,
        outcome=st.sampled_from(["value", "none", "raise"]),
        api=st.sampled_from(["aget_or_fetch", "get_or_fetch", "loader"]),
    )
    def fetch(self, id: int, outcome: str, api: str) -> None:
        kind, expected = self.model.fetch(id, outcome, self.now)
        try:
            got = self._call(api, id, outcome)
        except SourceDown:
            assert kind == "raise", (kind, expected)
            return
        assert kind != "raise", got
        if kind == "value":
            assert got is expected
        elif kind == "none":
            assert got is None
        else:  # a new value from the fetcher, now cached
            assert got == User(id, f"made{self.made}")
            assert self.pool.get(id) is got
            self.model.entries[id] = (got, self.now + TTL)
            self.model.negatives.pop(id, None)

    def _call(self, api: str, id: int, outcome: str) -> User | None:
        pool = self.pool
        if api == "get_or_fetch":
            return pool.get_or_fetch(id, lambda key: self._answer(key, outcome))
        if api == "aget_or_fetch":

            async def fetcher(key: int) -> User | None:
                return self._answer(key, outcome)

            return self.portal.call(pool.aget_or_fetch, id, fetcher)

        async def batch(keys: list[int]) -> list[User]:
            assert keys == [id]
            value = self._answer(id, outcome)
            return [] if value is None else [value]

        return self.portal.call(pool.loader(batch).load, id)

    # --- invariants --------------------------------------------------------------------------

    @invariant()
    def the_fetcher_ran_as_often_as_the_model_says(self) -> None:
        assert self.actual_calls == self.model.calls

    @invariant()
    def counters_match(self) -> None:
        stats = self.pool.stats()
        assert stats.negative_hits == self.model.negative_hits
        assert stats.fetch_errors == self.model.fetch_errors
        assert stats.fetches == self.model.calls

    @invariant()
    def only_live_entries_are_visible(self) -> None:
        for id in range(4):
            live = self.model.live(id, self.now)
            assert (id in self.pool) is (live is not None)
            assert self.pool._core.peek(id) is live
        assert len(self.pool) == len(self.model.entries)  # expired-but-kept included


class TrioPolicyMachine(PolicyMachine):
    backend: ClassVar[str] = "trio"


SETTINGS = settings(max_examples=60, stateful_step_count=40)

TestPoliciesOnAsyncio = PolicyMachine.TestCase
TestPoliciesOnAsyncio.settings = SETTINGS
TestPoliciesOnTrio = TrioPolicyMachine.TestCase
TestPoliciesOnTrio.settings = SETTINGS


def test_the_model_itself_serves_stale_only_inside_the_window() -> None:
    # a guard that the model is not trivially permissive
    model = Model()
    model.entries[1] = (User(1), 100.0)
    assert model.fetch(1, "raise", 105.999)[0] == "value"
    assert model.fetch(1, "raise", 106.0)[0] == "raise"
    assert model.fetch(2, "raise", 0.0)[0] == "raise"
    assert model.fetch(1, "none", 107.0) == ("none", None)
    assert model.fetch(1, "value", 110.0) == ("none", None)  # remembered for 4 s
    assert model.fetch(1, "value", 111.0) == ("made", None)

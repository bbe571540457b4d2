"""delta_refresh against a model (hypothesis): watermark, ``since`` and pool contents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sassi
from sassi import Delta, DeltaQuery, Punnu


@sassi.cacheable(watermark="updated_at")
@dataclass(frozen=True, slots=True)
class Row:
    id: int
    updated_at: int
    tag: int = 0


ids = st.integers(0, 5)
marks = st.integers(0, 50)
batch = st.tuples(
    st.lists(st.tuples(ids, marks), max_size=5),
    st.sets(ids, max_size=2),
    st.none() | marks,
)
step = st.tuples(st.sampled_from(["update", "full", "fail"]), batch)


class Boom(Exception):
    pass


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@settings(max_examples=150, deadline=None)
@given(steps=st.lists(step, max_size=8))
def test_delta_refresh_matches_the_model(backend: str, steps: list[Any]) -> None:
    pool = Punnu(Row)
    model: dict[int, Row] = {}
    watermark: Any = None
    expected_since: list[Any] = []
    script: list[Any] = []

    for n, (kind, (items, tombstones, high)) in enumerate(steps):
        rows = [Row(i, w, tag=n) for i, w in items]
        if kind == "fail":
            expected_since.append(watermark)
            script.append(Boom())
            continue
        expected_since.append(None if kind == "full" else watermark)
        script.append(Delta(rows, tombstones, high))
        for row in rows:
            if row.id not in tombstones:
                model[row.id] = row
        for t in tombstones:
            model.pop(t, None)
        for candidate in [high, *(r.updated_at for r in rows)]:
            if candidate is not None and (watermark is None or candidate > watermark):
                watermark = candidate

    seen: list[DeltaQuery[Row]] = []

    async def fetch(query: DeltaQuery[Row]) -> Delta[Row]:
        seen.append(query)
        answer = script[len(seen) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    async def main() -> None:
        async with pool.delta_refresh(3600, fetch) as handle:
            for kind, _ in steps:
                call = handle.update_full if kind == "full" else handle.update
                try:
                    await call()
                except Boom:
                    assert kind == "fail"
            assert handle.watermark == watermark

    anyio.run(main, backend=backend)
    assert [q.since for q in seen] == expected_since
    assert {r.id: r for r in pool.scope().collect()} == model

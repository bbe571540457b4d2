"""SPEC 11.12: cacheable(wire_portable=True) values with NaN/inf are refused by the pool."""

from __future__ import annotations

import math
from dataclasses import dataclass

import anyio
import pytest

import sassi
from sassi import Delta, Punnu


@sassi.cacheable(wire_portable=True, watermark="version")
@dataclass(frozen=True, slots=True)
class Reading:
    id: int
    value: float
    payload: sassi.JSON | None = None
    version: int = 0


@dataclass(frozen=True, slots=True)
class Loose:
    id: int
    value: float


def test_insert_apply_delta_and_fetch_refuse_non_finite_floats() -> None:
    pool = Punnu(Reading)
    with pytest.raises(ValueError, match=r"Reading\.value is nan"):
        pool.insert(Reading(1, math.nan))
    with pytest.raises(ValueError, match=r"Reading\.payload\['a'\]\[1\] is inf"):
        pool.insert(Reading(1, 1.0, {"a": [0, math.inf]}))
    with pytest.raises(ValueError, match=r"Reading\.value"):
        pool.apply_delta(Delta(items=[Reading(2, 1.0), Reading(3, -math.inf)]))
    with pytest.raises(ValueError, match=r"Reading\.value"):
        pool.get_or_fetch(4, lambda id: Reading(id, math.nan))

    async def refresh() -> None:
        async with pool.delta_refresh(3600, lambda q: Delta(items=[Reading(5, math.inf)])) as h:
            with pytest.raises(ValueError, match=r"Reading\.value"):
                await h.update()

    anyio.run(refresh)
    assert len(pool) == 0  # nothing of any refused batch was stored
    pool.insert(Reading(1, 2.5, {"a": [1.5]}))
    assert pool.get(1) == Reading(1, 2.5, {"a": [1.5]})


def test_without_the_flag_nothing_changes() -> None:
    pool = Punnu(Loose)
    pool.insert(Loose(1, math.nan))
    assert math.isnan(pool.get(1).value)  # type: ignore[union-attr]

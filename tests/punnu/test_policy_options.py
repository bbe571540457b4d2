"""The cache-policy options of SPEC 11.6: validated at construction, naming the option."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from helpers import User
from sassi import Punnu, PunnuStats

DURATIONS = ["negative_ttl", "stale_while_revalidate", "stale_if_error"]


@pytest.mark.parametrize("option", DURATIONS)
@pytest.mark.parametrize("bad", [0, -1, -0.5, float("nan"), timedelta(0)])
def test_durations_must_be_positive(option: str, bad: Any) -> None:
    with pytest.raises(ValueError, match=option):
        Punnu(User, **{option: bad})


@pytest.mark.parametrize("option", DURATIONS)
@pytest.mark.parametrize("bad", ["5", True, [1]])
def test_durations_must_be_seconds_or_a_timedelta(option: str, bad: Any) -> None:
    with pytest.raises(TypeError, match=option):
        Punnu(User, **{option: bad})


@pytest.mark.parametrize("option", DURATIONS)
def test_durations_accept_seconds_timedeltas_and_none(option: str) -> None:
    def configured(value: Any) -> Any:
        kwargs: dict[str, Any] = {option: value}
        return getattr(Punnu(User, **kwargs).config, option)

    assert getattr(Punnu(User).config, option) is None
    assert configured(None) is None
    assert configured(2) == 2.0
    assert configured(timedelta(minutes=1)) == 60.0
    assert configured(float("inf")) == float("inf")


def test_the_stale_window_is_the_longer_of_the_two_stale_options() -> None:
    assert Punnu(User).config.stale_window == 0.0
    assert Punnu(User, stale_if_error=3).config.stale_window == 3.0
    assert Punnu(User, stale_while_revalidate=5, stale_if_error=3).config.stale_window == 5.0


def test_new_keyword_arguments_follow_the_existing_ones() -> None:
    import inspect

    names = list(inspect.signature(Punnu.__init__).parameters)
    assert names[-5:] == [
        "fetch_lease",
        "negative_ttl",
        "stale_while_revalidate",
        "stale_if_error",
        "ttl_jitter",
    ]


def test_stats_start_with_zero_negative_hits_and_fetch_errors() -> None:
    stats = Punnu(User).stats()
    assert stats.negative_hits == 0 and stats.fetch_errors == 0
    # the new fields have defaults: code that builds PunnuStats positionally still works
    PunnuStats(1, 0, 1.0, 1, {}, 0, 0)

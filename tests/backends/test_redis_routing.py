"""``run()``'s handling of redis-py's cluster routing bug (redis/redis-py#4015): an ``ASK``
redirect to a master that owns no slot yet makes redis-py dereference ``None``. Unit tests with
redis-py's own failing code path; ``test_backend_redis_cluster.py`` hits it for real (``grow``)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from redis.cluster import RedisCluster

from sassi.backends._redis import _client
from sassi.exceptions import BackendUnavailable


def redis_py_misroutes() -> None:
    """What redis-py does with an ASK target it does not know: route to ``None``."""
    RedisCluster.get_redis_connection(object(), None)  # type: ignore[arg-type]


class Flaky:
    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, 0

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            redis_py_misroutes()
        return f"ran with {args} {kwargs}"


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)  # what run() waits between tries
    return waits


def test_the_raiser_is_redis_pys_own_failure() -> None:
    with pytest.raises(AttributeError) as caught:
        redis_py_misroutes()
    assert _client._misrouted(caught.value)


def test_a_misrouted_call_is_sent_again_until_it_runs(no_waiting: list[float]) -> None:
    call = Flaky(failures=3)
    assert _client.run("put", call, 1, key="k") == "ran with (1,) {'key': 'k'}"
    assert call.calls == 4 and no_waiting == [0.01, 0.02, 0.05]


def test_a_call_that_stays_misrouted_is_a_backend_outage(no_waiting: list[float]) -> None:
    call = Flaky(failures=100)
    with pytest.raises(BackendUnavailable, match=r"redis put: .*redis/redis-py#4015"):
        _client.run("put", call)
    assert call.calls == 1 + len(_client._MISROUTED_WAITS)
    assert sum(no_waiting) == pytest.approx(1.58)


def test_other_attribute_errors_are_not_taken_for_it(no_waiting: list[float]) -> None:
    def ours() -> None:
        raise AttributeError("'NoneType' object has no attribute 'host'")  # not redis-py's

    with pytest.raises(AttributeError, match="host"):
        _client.run("put", ours)
    with pytest.raises(AttributeError, match="no_such"):
        _client.run("put", lambda: RedisCluster.no_such)  # type: ignore[attr-defined]
    assert no_waiting == []

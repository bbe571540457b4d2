"""``sassi.metrics.OpenTelemetryMetrics`` against the OpenTelemetry SDK and real pools."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest
from metrics_models import Order, User, WritesFail
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import sassi
from sassi.backends import MemoryBackend
from sassi.metrics import FETCH_BUCKETS, OpenTelemetryMetrics
from sassi.testing import FakeClock

USER = "test.metrics.User"
ORDER = "test.metrics.Order"


class Reader:
    """An SDK meter provider with an in-memory reader, and a way to read one data point."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader])
        self.meter = self.provider.get_meter("sassi-tests")
        self._latest: dict[str, Any] = {}

    def collect(self) -> None:
        data = self.reader.get_metrics_data()
        self._latest = {
            metric.name: metric
            for rm in (data.resource_metrics if data else [])
            for sm in rm.scope_metrics
            for metric in sm.metrics
        }

    def metric(self, name: str) -> Any:
        return self._latest.get(name)

    def point(self, name: str, **attributes: str) -> Any:
        metric = self._latest.get(name)
        if metric is None:
            return None
        for p in metric.data.data_points:
            if dict(p.attributes) == attributes:
                return p
        return None

    def value(self, name: str, **attributes: str) -> int | float | None:
        self.collect()
        p = self.point(name, **attributes)
        return None if p is None else p.value


@pytest.fixture
def otel() -> Reader:
    return Reader()


def test_hits_and_misses_per_tier(otel: Reader) -> None:
    metrics = OpenTelemetryMetrics(otel.meter)
    shared = MemoryBackend()
    a = sassi.Punnu(User, metrics=metrics, backend=shared)
    b = sassi.Punnu(User, metrics=metrics, backend=shared)
    a.insert(User(1, "ada"))
    assert a.get(1) is not None and a.get(1) is not None
    assert a.get(2) is None
    assert b.load(1) == User(1, "ada")  # L1 miss in b, then an L2 hit
    assert otel.value("sassi.hits", type=USER, tier="L1") == 2
    assert otel.value("sassi.hits", type=USER, tier="L2") == 1
    assert otel.value("sassi.misses", type=USER) == 2


def test_lru_and_ttl_evictions(otel: Reader) -> None:
    metrics = OpenTelemetryMetrics(otel.meter)
    clock = FakeClock()
    pool = sassi.Punnu(User, capacity=2, metrics=metrics, clock=clock)
    for i in range(1, 5):
        pool.insert(User(i))
    assert otel.value("sassi.evictions", type=USER, reason="lru_evict") == 2
    pool.insert(User(10), ttl=1)
    clock.advance(2)
    assert pool.sweep_expired() == 1
    assert otel.value("sassi.evictions", type=USER, reason="lru_evict") == 3
    assert otel.value("sassi.evictions", type=USER, reason="ttl_expired") == 1


def test_backend_errors(otel: Reader) -> None:
    metrics = OpenTelemetryMetrics(otel.meter)
    pool = sassi.Punnu(User, metrics=metrics, backend=WritesFail())
    pool.insert(User(1))

    async def write() -> None:
        await pool.ainsert(User(2))

    anyio.run(write)
    assert otel.value("sassi.backend_errors", type=USER) == 2


def test_fetch_duration_through_get_or_fetch(otel: Reader) -> None:
    metrics = OpenTelemetryMetrics(otel.meter)
    pool = sassi.Punnu(User, metrics=metrics)

    async def fetch(user_id: int) -> User:
        await anyio.sleep(0.02)
        return User(user_id, "fetched")

    async def main() -> None:
        assert await pool.aget_or_fetch(7, fetch) == User(7, "fetched")
        assert await pool.aget_or_fetch(7, fetch) == User(7, "fetched")  # a hit

    anyio.run(main)
    otel.collect()
    metric = otel.metric("sassi.fetch.duration")
    assert metric.unit == "s"
    p = otel.point("sassi.fetch.duration", type=USER)
    assert p.count == 1 and p.sum >= 0.02
    assert list(p.explicit_bounds) == list(FETCH_BUCKETS)
    assert sum(p.bucket_counts) == 1
    assert p.bucket_counts[FETCH_BUCKETS.index(0.01)] == 0  # slept 20 ms: not in the <= 10 ms one


def test_size_is_an_observable_gauge(otel: Reader) -> None:
    metrics = OpenTelemetryMetrics(otel.meter)
    pool = sassi.Punnu(User, metrics=metrics)
    assert otel.value("sassi.size", type=USER) is None
    for i in range(5):
        pool.insert(User(i))
    assert otel.value("sassi.size", type=USER) == 5
    pool.invalidate(0)
    assert otel.value("sassi.size", type=USER) == len(pool) == 4
    otel.collect()
    gauge_type = type(otel.metric("sassi.size").data).__name__
    assert gauge_type == "Gauge"


def test_two_pools_share_one_exporter(otel: Reader) -> None:
    metrics = OpenTelemetryMetrics(otel.meter)
    users = sassi.Punnu(User, metrics=metrics)
    orders = sassi.Punnu(Order, capacity=1, metrics=metrics)
    users.insert(User(1))
    users.insert(User(2))
    orders.insert(Order(1, 10))
    orders.insert(Order(2, 20))
    users.get(1)
    orders.get(1)
    assert otel.value("sassi.size", type=USER) == 2
    assert otel.value("sassi.size", type=ORDER) == 1
    assert otel.value("sassi.hits", type=USER, tier="L1") == 1
    assert otel.value("sassi.hits", type=ORDER, tier="L1") is None
    assert otel.value("sassi.misses", type=ORDER) == 1
    assert otel.value("sassi.misses", type=USER) is None
    assert otel.value("sassi.evictions", type=ORDER, reason="lru_evict") == 1


def test_default_meter_comes_from_the_global_provider() -> None:
    from opentelemetry import metrics as api

    metrics = OpenTelemetryMetrics()
    assert metrics.meter is not None
    # without a configured provider the API hands out a proxy: recording is a harmless no-op
    metrics.record_hit(USER, sassi.CacheTier.L1)
    metrics.record_size(USER, 3)
    assert isinstance(metrics.meter, api.Meter)


def test_sync_fetch_latency(otel: Reader) -> None:
    metrics = OpenTelemetryMetrics(otel.meter)
    pool = sassi.Punnu(User, metrics=metrics)

    def fetch(user_id: int) -> User:
        time.sleep(0.01)
        return User(user_id)

    pool.get_or_fetch(1, fetch)
    pool.get_or_fetch(2, fetch)
    otel.collect()
    p = otel.point("sassi.fetch.duration", type=USER)
    assert p.count == 2 and p.sum >= 0.02

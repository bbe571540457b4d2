"""``sassi.metrics.PrometheusMetrics`` against a real ``prometheus_client`` registry and real pools."""

from __future__ import annotations

import time

import prometheus_client
import pytest
from metrics_models import Order, User, WritesFail
from prometheus_client import CollectorRegistry

import sassi
from sassi.backends import MemoryBackend
from sassi.metrics import FETCH_BUCKETS, PrometheusMetrics
from sassi.testing import FakeClock

USER = "test.metrics.User"
ORDER = "test.metrics.Order"


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_hits_and_misses_per_tier(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry)
    shared = MemoryBackend()
    a = sassi.Punnu(User, metrics=metrics, backend=shared)
    b = sassi.Punnu(User, metrics=metrics, backend=shared)
    a.insert(User(1, "ada"))
    assert a.get(1) == User(1, "ada")
    assert a.get(1) is not None
    assert a.get(2) is None
    assert b.load(1) == User(1, "ada")  # L1 miss in b, then an L2 hit
    assert value(registry, "sassi_hits_total", type=USER, tier="L1") == 2
    assert value(registry, "sassi_hits_total", type=USER, tier="L2") == 1
    assert value(registry, "sassi_misses_total", type=USER) == 2


def test_lru_and_ttl_evictions(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry)
    clock = FakeClock()
    pool = sassi.Punnu(User, capacity=2, metrics=metrics, clock=clock)
    for i in range(1, 5):  # 4 inserts into capacity 2: two LRU evictions
        pool.insert(User(i))
    assert value(registry, "sassi_evictions_total", type=USER, reason="lru_evict") == 2
    pool.insert(User(10), ttl=1)  # evicts a third by LRU
    clock.advance(2)
    assert pool.sweep_expired() == 1
    assert value(registry, "sassi_evictions_total", type=USER, reason="lru_evict") == 3
    assert value(registry, "sassi_evictions_total", type=USER, reason="ttl_expired") == 1
    pool.invalidate(4)
    assert value(registry, "sassi_evictions_total", type=USER, reason="manual") == 1


def test_lazy_expiry_counts_a_ttl_eviction_and_a_miss(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry)
    clock = FakeClock()
    pool = sassi.Punnu(User, ttl=5, metrics=metrics, clock=clock)
    pool.insert(User(1))
    clock.advance(5)
    assert pool.get(1) is None
    assert value(registry, "sassi_evictions_total", type=USER, reason="ttl_expired") == 1
    assert value(registry, "sassi_misses_total", type=USER) == 1


def test_backend_errors(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry)
    pool = sassi.Punnu(User, metrics=metrics, backend=WritesFail())
    pool.insert(User(1))
    pool.insert(User(2))
    assert pool.get(1) == User(1)  # L1_ONLY carried on
    assert value(registry, "sassi_backend_errors_total", type=USER) == 2
    assert pool.stats().backend_errors == 2


def test_fetch_latency_through_get_or_fetch(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry)
    pool = sassi.Punnu(User, metrics=metrics)

    def fetch(user_id: int) -> User:
        time.sleep(0.02)
        return User(user_id, "fetched")

    assert pool.get_or_fetch(7, fetch) == User(7, "fetched")
    assert pool.get_or_fetch(7, fetch) == User(7, "fetched")  # a hit: no latency sample
    assert value(registry, "sassi_fetch_seconds_count", type=USER) == 1
    total = value(registry, "sassi_fetch_seconds_sum", type=USER)
    assert total is not None and total >= 0.02  # the fetcher slept that long
    assert value(registry, "sassi_fetch_seconds_bucket", type=USER, le="0.01") == 0
    assert value(registry, "sassi_fetch_seconds_bucket", type=USER, le="+Inf") == 1


def test_size_gauge_follows_the_pool(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry)
    pool = sassi.Punnu(User, metrics=metrics)
    assert value(registry, "sassi_size", type=USER) is None  # nothing committed yet
    for i in range(5):
        pool.insert(User(i))
    assert value(registry, "sassi_size", type=USER) == 5
    pool.invalidate(0)
    pool.invalidate(1)
    assert value(registry, "sassi_size", type=USER) == len(pool) == 3


def test_two_pools_share_one_exporter(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry)
    users = sassi.Punnu(User, metrics=metrics)
    orders = sassi.Punnu(Order, capacity=1, metrics=metrics)
    users.insert(User(1))
    users.insert(User(2))
    orders.insert(Order(1, 10))
    orders.insert(Order(2, 20))  # evicts order 1
    users.get(1)
    orders.get(1)
    assert value(registry, "sassi_size", type=USER) == 2
    assert value(registry, "sassi_size", type=ORDER) == 1
    assert value(registry, "sassi_hits_total", type=USER, tier="L1") == 1
    assert value(registry, "sassi_hits_total", type=ORDER, tier="L1") is None
    assert value(registry, "sassi_misses_total", type=ORDER) == 1
    assert value(registry, "sassi_misses_total", type=USER) is None
    assert value(registry, "sassi_evictions_total", type=ORDER, reason="lru_evict") == 1
    assert value(registry, "sassi_evictions_total", type=USER, reason="lru_evict") is None


def test_prefix_replaces_sassi(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry, prefix="shop_cache")
    pool = sassi.Punnu(User, metrics=metrics)
    pool.insert(User(1))
    pool.get(1)
    assert value(registry, "shop_cache_hits_total", type=USER, tier="L1") == 1
    assert value(registry, "shop_cache_size", type=USER) == 1
    assert value(registry, "sassi_hits_total", type=USER, tier="L1") is None


def test_histogram_uses_the_documented_buckets(registry: CollectorRegistry) -> None:
    metrics = PrometheusMetrics(registry)
    metrics.record_fetch_latency(USER, 0.003)
    for bound in FETCH_BUCKETS:
        expected = 1 if bound >= 0.003 else 0
        got = value(registry, "sassi_fetch_seconds_bucket", type=USER, le=str(bound))
        assert got == expected, bound


@pytest.mark.parametrize("prefix", ["", "1abc", "has space", "dash-ed"])
def test_bad_prefix_is_refused(registry: CollectorRegistry, prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        PrometheusMetrics(registry, prefix=prefix)


def test_a_second_exporter_on_one_registry_says_to_share(registry: CollectorRegistry) -> None:
    PrometheusMetrics(registry)
    with pytest.raises(ValueError, match="Build one exporter and pass it to every pool"):
        PrometheusMetrics(registry)
    PrometheusMetrics(registry, prefix="other")  # another prefix does not collide


def test_default_registry_is_the_global_one() -> None:
    metrics = PrometheusMetrics(prefix="sassi_test_default_registry")
    try:
        assert metrics.registry is prometheus_client.REGISTRY
        metrics.record_miss(USER)
        got = prometheus_client.REGISTRY.get_sample_value(
            "sassi_test_default_registry_misses_total", {"type": USER}
        )
        assert got == 1
    finally:
        for collector in (
            metrics._hits,
            metrics._misses,
            metrics._evictions,
            metrics._backend_errors,
            metrics._fetch,
            metrics._size,
        ):
            prometheus_client.REGISTRY.unregister(collector)

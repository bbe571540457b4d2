"""``PrometheusMetrics``: the pool's metrics hooks as prometheus_client collectors."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._common import FETCH_BUCKETS, label, missing_extra

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["PrometheusMetrics"]

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")


class PrometheusMetrics:
    """A ready ``metrics=`` object that feeds Prometheus collectors; one serves many pools.

    Registers, under ``prefix`` (default ``sassi``):

    ========================================  =========  ====================================
    ``sassi_hits_total{type,tier}``           counter    hits; ``tier`` is ``L1`` or ``L2``
    ``sassi_misses_total{type}``              counter    lookups that found nothing live
    ``sassi_evictions_total{type,reason}``    counter    entries that left, per ``EventReason``
                                                         value (``lru_evict``, ``ttl_expired``...)
    ``sassi_backend_errors_total{type}``      counter    backend failures the pool carried on from
    ``sassi_fetch_seconds{type}``             histogram  slow-path fetch latency (L1 misses)
    ``sassi_size{type}``                      gauge      residents after the last committed write
    ========================================  =========  ====================================

    ``type`` is ``sassi.type_name(Model)``. Pools of the same model in one process share its
    series; the size gauge then shows the size reported last.

    :param registry: the ``prometheus_client.CollectorRegistry`` to register in (default: the
        library's global ``REGISTRY``, which ``prometheus_client.start_http_server`` serves).
    :param prefix: replaces ``sassi`` at the start of every metric name.
    :param buckets: upper bounds (seconds) of the fetch latency histogram.
    :raises ImportError: when prometheus_client is not installed (``sassi[prometheus]``).
    :raises ValueError: for a prefix that is not a valid metric name, or when ``registry``
        already holds metrics of these names (build one exporter and share it).
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        prefix: str = "sassi",
        *,
        buckets: Sequence[float] = FETCH_BUCKETS,
    ) -> None:
        try:
            import prometheus_client
        except ImportError as exc:
            raise missing_extra("PrometheusMetrics", "prometheus_client", "prometheus") from exc
        if not isinstance(prefix, str) or not _NAME.match(prefix):
            raise ValueError(
                f"PrometheusMetrics(prefix={prefix!r}): the prefix must be a valid Prometheus "
                "metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)"
            )
        reg = prometheus_client.REGISTRY if registry is None else registry
        self.registry = reg
        self.prefix = prefix
        try:
            self._hits = prometheus_client.Counter(
                f"{prefix}_hits", "sassi pool hits, per tier", ["type", "tier"], registry=reg
            )
            self._misses = prometheus_client.Counter(
                f"{prefix}_misses",
                "sassi pool lookups that found nothing live",
                ["type"],
                registry=reg,
            )
            self._evictions = prometheus_client.Counter(
                f"{prefix}_evictions",
                "entries that left a sassi pool, per reason",
                ["type", "reason"],
                registry=reg,
            )
            self._backend_errors = prometheus_client.Counter(
                f"{prefix}_backend_errors",
                "backend failures a sassi pool logged and carried on from",
                ["type"],
                registry=reg,
            )
            self._fetch = prometheus_client.Histogram(
                f"{prefix}_fetch_seconds",
                "sassi slow-path fetch latency (L1 misses)",
                ["type"],
                registry=reg,
                buckets=tuple(buckets),
            )
            self._size = prometheus_client.Gauge(
                f"{prefix}_size", "sassi pool residents", ["type"], registry=reg
            )
        except ValueError as exc:  # "Duplicated timeseries in CollectorRegistry"
            raise ValueError(
                f"PrometheusMetrics(prefix={prefix!r}) cannot register in this registry: {exc}. "
                "Build one exporter and pass it to every pool, or use another registry or prefix."
            ) from exc
        # Children per label tuple: labels() takes a lock and builds a key on every call.
        self._children: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()

    def _child(self, metric: Any, kind: str, *values: str) -> Any:
        key = (kind, *values)
        child = self._children.get(key)
        if child is None:
            with self._lock:
                child = self._children.get(key)
                if child is None:
                    child = self._children[key] = metric.labels(*values)
        return child

    def record_hit(self, type_name: str, tier: object) -> None:
        """One hit of a ``type_name`` pool in ``tier`` (``CacheTier.L1`` / ``L2``)."""
        self._child(self._hits, "hit", type_name, label(tier)).inc()

    def record_miss(self, type_name: str) -> None:
        """One lookup that found nothing live."""
        self._child(self._misses, "miss", type_name).inc()

    def record_eviction(self, type_name: str, reason: object) -> None:
        """One entry left the pool for ``reason`` (an ``EventReason``)."""
        self._child(self._evictions, "eviction", type_name, label(reason)).inc()

    def record_backend_error(self, type_name: str, error: BaseException) -> None:
        """One backend failure (the error itself is not a label: unbounded cardinality)."""
        self._child(self._backend_errors, "backend_error", type_name).inc()

    def record_fetch_latency(self, type_name: str, seconds: float) -> None:
        """How long one slow-path fetch took, in seconds."""
        self._child(self._fetch, "fetch", type_name).observe(seconds)

    def record_size(self, type_name: str, size: int) -> None:
        """The pool's resident count after a committed write."""
        self._child(self._size, "size", type_name).set(size)

    def __repr__(self) -> str:
        return f"<PrometheusMetrics prefix={self.prefix!r}>"

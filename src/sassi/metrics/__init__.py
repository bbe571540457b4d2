"""Ready ``metrics=`` objects for Prometheus and OpenTelemetry (SPEC section 11.8).

``Punnu(Model, metrics=exporter)`` calls the exporter's hooks; one exporter serves any number of
pools, each labelled by its model's type name (``sassi.type_name(Model)``)::

    from sassi.metrics import PrometheusMetrics

    metrics = PrometheusMetrics()                 # the default prometheus_client registry
    users = sassi.Punnu(User, metrics=metrics)
    orders = sassi.Punnu(Order, metrics=metrics)

- :class:`PrometheusMetrics` (``pip install 'sassi[prometheus]'``): counters
  ``sassi_hits_total{type,tier}``, ``sassi_misses_total{type}``,
  ``sassi_evictions_total{type,reason}``, ``sassi_backend_errors_total{type}``, histogram
  ``sassi_fetch_seconds{type}``, gauge ``sassi_size{type}``.
- :class:`OpenTelemetryMetrics` (``pip install 'sassi[otel]'``): counters ``sassi.hits``,
  ``sassi.misses``, ``sassi.evictions``, ``sassi.backend_errors``, histogram
  ``sassi.fetch.duration`` (seconds) and observable gauge ``sassi.size``, with the same
  attributes.

This package imports neither library until an exporter is constructed; constructing one without
its library raises :class:`ImportError` naming the extra to install.
"""

from __future__ import annotations

from ._common import FETCH_BUCKETS as FETCH_BUCKETS
from ._otel import OpenTelemetryMetrics as OpenTelemetryMetrics
from ._prometheus import PrometheusMetrics as PrometheusMetrics

__all__ = ["FETCH_BUCKETS", "OpenTelemetryMetrics", "PrometheusMetrics"]

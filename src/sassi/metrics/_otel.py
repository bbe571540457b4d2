"""``OpenTelemetryMetrics``: the pool's metrics hooks as OpenTelemetry instruments."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ._common import FETCH_BUCKETS, label, missing_extra

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, Meter, Observation

__all__ = ["OpenTelemetryMetrics"]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sassi")
    except PackageNotFoundError:  # a source tree on sys.path, not installed
        return ""


class OpenTelemetryMetrics:
    """A ready ``metrics=`` object that records into OpenTelemetry instruments.

    Creates, on ``meter``:

    ==========================  =================  =========================================
    ``sassi.hits``              Counter            attributes ``type``, ``tier`` (``L1``/``L2``)
    ``sassi.misses``            Counter            ``type``
    ``sassi.evictions``         Counter            ``type``, ``reason`` (``lru_evict``...)
    ``sassi.backend_errors``    Counter            ``type``
    ``sassi.fetch.duration``    Histogram, ``s``   ``type``; slow-path fetch latency
    ``sassi.size``              ObservableGauge    ``type``; residents after the last write
    ==========================  =================  =========================================

    ``sassi.size`` is an *observable gauge*: each collection reports, per type, the size the
    pool reported last. An UpDownCounter would need deltas, which the hook (an absolute size)
    does not give and which would drift if two pools of one model shared the series.

    :param meter: the ``opentelemetry.metrics.Meter`` to create the instruments on (default:
        ``opentelemetry.metrics.get_meter("sassi")`` from the global meter provider).
    :param buckets: explicit bucket boundaries (seconds) advised for ``sassi.fetch.duration``.
    :raises ImportError: when opentelemetry-api is not installed (``sassi[otel]``).
    """

    def __init__(self, meter: Meter | None = None, *, buckets: Sequence[float] = FETCH_BUCKETS):
        try:
            from opentelemetry import metrics
        except ImportError as exc:
            raise missing_extra("OpenTelemetryMetrics", "opentelemetry-api", "otel") from exc
        self._observation = metrics.Observation
        if meter is None:
            meter = metrics.get_meter("sassi", _version())
        self.meter = meter
        self._hits = meter.create_counter("sassi.hits", "{hit}", "sassi pool hits, per tier")
        self._misses = meter.create_counter(
            "sassi.misses", "{miss}", "sassi pool lookups that found nothing live"
        )
        self._evictions = meter.create_counter(
            "sassi.evictions", "{entry}", "entries that left a sassi pool, per reason"
        )
        self._backend_errors = meter.create_counter(
            "sassi.backend_errors",
            "{error}",
            "backend failures a sassi pool logged and carried on from",
        )
        self._fetch = meter.create_histogram(
            "sassi.fetch.duration",
            "s",
            "sassi slow-path fetch latency (L1 misses)",
            explicit_bucket_boundaries_advisory=list(buckets),
        )
        self._sizes: dict[str, int] = {}
        self._lock = threading.Lock()
        self._size = meter.create_observable_gauge(
            "sassi.size", [self._observe_sizes], "{entry}", "sassi pool residents"
        )
        # attribute dicts per label tuple, built once (the SDK hashes them on every call)
        self._attributes: dict[tuple[str, ...], dict[str, str]] = {}

    def _attrs(self, type_name: str, key: str = "", value: object = None) -> dict[str, str]:
        shown = label(value) if key else ""
        found = self._attributes.get((type_name, key, shown))
        if found is None:
            found = {"type": type_name, key: shown} if key else {"type": type_name}
            self._attributes[(type_name, key, shown)] = found
        return found

    def _observe_sizes(self, options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            sizes = list(self._sizes.items())
        return [self._observation(size, self._attrs(name)) for name, size in sizes]

    def record_hit(self, type_name: str, tier: object) -> None:
        """One hit of a ``type_name`` pool in ``tier`` (``CacheTier.L1`` / ``L2``)."""
        self._hits.add(1, self._attrs(type_name, "tier", tier))

    def record_miss(self, type_name: str) -> None:
        """One lookup that found nothing live."""
        self._misses.add(1, self._attrs(type_name))

    def record_eviction(self, type_name: str, reason: object) -> None:
        """One entry left the pool for ``reason`` (an ``EventReason``)."""
        self._evictions.add(1, self._attrs(type_name, "reason", reason))

    def record_backend_error(self, type_name: str, error: BaseException) -> None:
        """One backend failure (the error itself is not an attribute: unbounded cardinality)."""
        self._backend_errors.add(1, self._attrs(type_name))

    def record_fetch_latency(self, type_name: str, seconds: float) -> None:
        """How long one slow-path fetch took, in seconds."""
        self._fetch.record(seconds, self._attrs(type_name))

    def record_size(self, type_name: str, size: int) -> None:
        """The pool's resident count after a committed write (reported at collection)."""
        with self._lock:
            self._sizes[type_name] = size

    def __repr__(self) -> str:
        return f"<OpenTelemetryMetrics meter={getattr(self.meter, 'name', self.meter)!r}>"

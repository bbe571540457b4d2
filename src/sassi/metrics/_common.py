"""What both exporters share: label values, latency buckets, the missing-extra error."""

from __future__ import annotations

import enum

__all__ = ["FETCH_BUCKETS", "label", "missing_extra"]

# Seconds: from a 100 µs cache-side fetch (an L2 read) up to a 10 s database call.
FETCH_BUCKETS: tuple[float, ...] = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


def label(value: object) -> str:
    """The label value of a hook argument: an enum's value (``"L1"``, ``"lru_evict"``), else
    ``str(value)``."""
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def missing_extra(exporter: str, library: str, extra: str) -> ImportError:
    """The error raised when an exporter is built without its library.

    :param exporter: the class name.
    :param library: the import name that failed.
    :param extra: the sassi extra that installs it.
    :returns: an :class:`ImportError` that says what to install.
    """
    return ImportError(
        f"sassi.metrics.{exporter} needs the {library} package, which is not installed: "
        f"pip install 'sassi[{extra}]'"
    )

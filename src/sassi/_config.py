"""Pool options and the small enums every layer shares.

``PunnuConfig`` is the frozen, validated form of the keyword arguments of :class:`sassi.Punnu`.
Durations are normalised to float seconds; ``None`` means "off". Validation happens once, here,
and every message names the offending option.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from ._clock import Clock, to_seconds

__all__ = [
    "BackendFailure",
    "CacheTier",
    "EventReason",
    "InvalidationReason",
    "OnConflict",
    "PunnuConfig",
    "RefreshMode",
    "SnapshotMode",
    "make_config",
]


class OnConflict(enum.Enum):
    """What ``insert`` does when a *live* value with the same id is resident."""

    LAST_WRITE_WINS = "last_write_wins"
    """Replace it and emit ``Inserted``."""
    UPDATE = "update"
    """Replace it and emit ``Updated(old, new)``."""
    REJECT = "reject"
    """Keep it, emit nothing and raise :class:`~sassi.ConflictError`."""


class EventReason(enum.StrEnum):
    """Why an entry left the pool (carried by :class:`~sassi.Invalidated`).

    The first three are the caller-reachable :class:`InvalidationReason` values; a member compares
    equal to the ``InvalidationReason`` member of the same name (both are ``str`` enums).
    """

    MANUAL = "manual"
    ON_SAVE = "on_save"
    ON_DELETE = "on_delete"
    LRU_EVICT = "lru_evict"
    TTL_EXPIRED = "ttl_expired"
    BACKEND_INVALIDATION = "backend_invalidation"


class InvalidationReason(enum.StrEnum):
    """The reasons a caller may give to :meth:`~sassi.Punnu.invalidate`."""

    MANUAL = "manual"
    ON_SAVE = "on_save"
    ON_DELETE = "on_delete"

    def as_event_reason(self) -> EventReason:
        """The :class:`EventReason` of the same name."""
        return EventReason(self.value)


class CacheTier(enum.StrEnum):
    """Which tier served a hit (passed to ``metrics.record_hit``)."""

    L1 = "L1"
    L2 = "L2"


class RefreshMode(enum.Enum):
    """How a periodic refresh treats residents missing from the fetched set."""

    UPSERT_ONLY = "upsert_only"
    REPLACE = "replace"


class SnapshotMode(enum.Enum):
    """What :meth:`~sassi.Punnu.snapshot` records besides the values."""

    ENTRIES_ONLY = "entries_only"
    WITH_INTERNAL_STATE = "with_internal_state"


@dataclass(frozen=True, slots=True)
class BackendFailure:
    """What the pool does when its L2 backend fails.

    Use the constants ``BackendFailure.L1_ONLY`` (log, count, carry on with L1 only — the
    default) and ``BackendFailure.ERROR`` (raise :class:`~sassi.BackendError`), or
    ``BackendFailure.retry(attempts)`` (retry transient errors with backoff, then behave as
    ``L1_ONLY``).

    :param mode: ``"l1_only"``, ``"error"`` or ``"retry"``.
    :param attempts: total attempts for ``"retry"`` (0 otherwise).
    """

    mode: str
    attempts: int = 0

    L1_ONLY: ClassVar[BackendFailure]
    ERROR: ClassVar[BackendFailure]

    @staticmethod
    def retry(attempts: int) -> BackendFailure:
        """Retry transient backend errors, ``attempts`` tries in total, then fall back to L1.

        :param attempts: total number of attempts, at least 1.
        :returns: the policy.
        :raises ValueError: when ``attempts < 1``.
        :raises TypeError: when ``attempts`` is not an ``int``.
        """
        if isinstance(attempts, bool) or not isinstance(attempts, int):
            raise TypeError(f"BackendFailure.retry(attempts) needs an int, got {attempts!r}")
        if attempts < 1:
            raise ValueError(f"BackendFailure.retry(attempts) needs attempts >= 1, got {attempts}")
        return BackendFailure("retry", attempts)

    def __repr__(self) -> str:
        if self.mode == "retry":
            return f"BackendFailure.retry({self.attempts})"
        return f"BackendFailure.{self.mode.upper()}"


BackendFailure.L1_ONLY = BackendFailure("l1_only")
BackendFailure.ERROR = BackendFailure("error")


@dataclass(frozen=True, slots=True)
class PunnuConfig:
    """The validated options of one pool (``pool.config``). Durations are float seconds.

    :param capacity: the most residents the pool keeps.
    :param ttl: default time-to-live in seconds, or ``None`` for no expiry.
    :param on_conflict: policy for inserting over a live value.
    :param event_capacity: per-subscriber event buffer.
    :param sweep_interval: seconds between background TTL sweeps, or ``None``.
    :param namespace: L2 keyspace prefix (never isolates L1).
    :param backend: the L2 backend, or ``None``.
    :param backend_failure: what to do when the backend fails.
    :param metrics: the metrics hook object, or ``None``.
    :param clock: the monotonic clock (seconds).
    :param indexes: field names with secondary indexes; a tuple of field names is one
        composite index over those fields.
    :param fetch_lease: seconds a cross-process fetch lease lasts (``None``: per-process
        single-flight only).
    :param negative_ttl: seconds a fetcher's ``None`` for an id is remembered (``None``: off).
    :param stale_while_revalidate: seconds after expiry during which a fetch helper returns the
        stale value and refetches once (``None``: off).
    :param stale_if_error: seconds after expiry during which a fetch helper returns the stale
        value when the fetcher raises (``None``: off).
    :param ttl_jitter: each entry's ttl is multiplied by a uniform factor in ``[1 - j, 1]``.
    """

    capacity: int = 10_000
    ttl: float | None = None
    on_conflict: OnConflict = OnConflict.LAST_WRITE_WINS
    event_capacity: int = 256
    sweep_interval: float | None = None
    namespace: str | None = None
    backend: Any = None
    backend_failure: BackendFailure = BackendFailure.L1_ONLY
    metrics: Any = None
    clock: Clock | None = None
    indexes: tuple[str | tuple[str, ...], ...] = ()
    fetch_lease: float | None = 10.0
    # cache policies (SPEC 11.6)
    negative_ttl: float | None = None
    stale_while_revalidate: float | None = None
    stale_if_error: float | None = None
    ttl_jitter: float = 0.0

    @property
    def stale_window(self) -> float:
        """How long an expired entry may still be served stale (0.0: never)."""
        return max(self.stale_while_revalidate or 0.0, self.stale_if_error or 0.0)


def _index_specs(indexes: Any, field_names: tuple[str, ...]) -> tuple[str | tuple[str, ...], ...]:
    """``indexes=`` checked: field names, or tuples of two or more of them (composite)."""
    if isinstance(indexes, str):
        indexes = (indexes,)
    specs: list[str | tuple[str, ...]] = []
    for spec in indexes:
        names = spec if isinstance(spec, tuple) else (spec,)
        for name in names:
            if not isinstance(name, str):
                raise TypeError(
                    f"indexes must be field names (str) or tuples of them, got {spec!r}"
                )
            if name not in field_names:
                known = ", ".join(field_names)
                raise ValueError(f"indexes: {name!r} is not a field (known fields: {known})")
        if not names or len(set(names)) != len(names):
            raise ValueError(f"indexes: {spec!r} must name distinct fields")
        specs.append(names[0] if len(names) == 1 else names)
    if len(set(specs)) != len(specs):
        raise ValueError(f"indexes: duplicate entries in {tuple(specs)!r}")
    return tuple(specs)


def positive_seconds(value: float | timedelta, option: str) -> float:
    """``value`` as float seconds, which must be finite-or-infinite and strictly positive.

    :param value: seconds or a ``timedelta``.
    :param option: the option name for error messages.
    :returns: the duration in seconds (``math.inf`` allowed).
    :raises ValueError: when the duration is ``<= 0`` or NaN.
    :raises TypeError: when ``value`` is neither a number nor a ``timedelta``.
    """
    seconds = to_seconds(value, option)
    if math.isnan(seconds) or seconds <= 0:
        raise ValueError(f"{option} must be > 0 seconds, got {value!r}")
    return seconds


def _positive_int(value: object, option: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{option} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{option} must be >= 1, got {value}")
    return value


def make_config(
    *,
    capacity: int,
    ttl: float | timedelta | None,
    on_conflict: OnConflict,
    event_capacity: int,
    sweep_interval: float | timedelta | None,
    namespace: str | None,
    backend: Any,
    backend_failure: BackendFailure,
    metrics: Any,
    clock: Callable[[], float] | None,
    indexes: Any,
    field_names: tuple[str, ...],
    fetch_lease: float | timedelta | None = 10.0,
    negative_ttl: float | timedelta | None = None,
    stale_while_revalidate: float | timedelta | None = None,
    stale_if_error: float | timedelta | None = None,
    ttl_jitter: float = 0.0,
) -> PunnuConfig:
    """Validate the keyword arguments of ``Punnu(...)`` into a :class:`PunnuConfig`.

    :param field_names: the model's fields, to check ``indexes`` against.
    :returns: the frozen config.
    :raises ValueError: for an out-of-range option (the message names it).
    :raises TypeError: for an option of the wrong type.
    """
    if not isinstance(on_conflict, OnConflict):
        raise TypeError(f"on_conflict must be an OnConflict, got {on_conflict!r}")
    if not isinstance(backend_failure, BackendFailure):
        raise TypeError(f"backend_failure must be a BackendFailure, got {backend_failure!r}")
    if backend_failure.mode == "retry" and backend_failure.attempts < 1:
        raise ValueError("backend_failure: BackendFailure.retry(attempts) needs attempts >= 1")
    if namespace is not None:
        if not isinstance(namespace, str):
            raise TypeError(f"namespace must be a str or None, got {namespace!r}")
        if namespace == "":
            raise ValueError("namespace must not be empty (use None for no namespace)")
    if clock is not None and not callable(clock):
        raise TypeError(f"clock must be a zero-argument callable, got {clock!r}")
    index_names = _index_specs(indexes, field_names)
    return PunnuConfig(
        capacity=_positive_int(capacity, "capacity"),
        ttl=None if ttl is None else positive_seconds(ttl, "ttl"),
        on_conflict=on_conflict,
        event_capacity=_positive_int(event_capacity, "event_capacity"),
        sweep_interval=(
            None if sweep_interval is None else positive_seconds(sweep_interval, "sweep_interval")
        ),
        namespace=namespace,
        backend=backend,
        backend_failure=backend_failure,
        metrics=metrics,
        clock=clock,
        indexes=index_names,
        fetch_lease=None if fetch_lease is None else _finite(fetch_lease, "fetch_lease"),
        negative_ttl=_optional_seconds(negative_ttl, "negative_ttl"),
        stale_while_revalidate=_optional_seconds(stale_while_revalidate, "stale_while_revalidate"),
        stale_if_error=_optional_seconds(stale_if_error, "stale_if_error"),
        ttl_jitter=_jitter(ttl_jitter),
    )


def _optional_seconds(value: float | timedelta | None, option: str) -> float | None:
    return None if value is None else positive_seconds(value, option)


def _jitter(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"ttl_jitter must be a number in [0, 1), got {value!r}")
    if not 0.0 <= value < 1.0:  # NaN fails this too
        raise ValueError(f"ttl_jitter must be >= 0 and < 1, got {value!r}")
    return float(value)


def _finite(value: float | timedelta, option: str) -> float:
    seconds = positive_seconds(value, option)
    if math.isinf(seconds):
        raise ValueError(f"{option} must be finite (None turns it off), got {value!r}")
    return seconds

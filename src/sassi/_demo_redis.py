"""Step 5 of ``sassi demo``: two pools sharing a Redis L2, and the probe that runs first.

The probe answers within :data:`PROBE_TIMEOUT` seconds whatever the URL points at (refusing,
hung, not Redis, not a URL), so ``sassi demo --redis URL`` fails fast and clearly instead of
running the whole demo against a backend that is not there.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, TypeVar

import anyio

import sassi

from ._console import CliError, DemoOutput, fmt_seconds

__all__ = ["PROBE_TIMEOUT", "probe_redis", "redis_part"]

T = TypeVar("T")

PROBE_TIMEOUT = 5.0  # seconds a --redis URL has to answer


def probe_redis(url: str, timeout: float = PROBE_TIMEOUT) -> None:
    """Check that Redis answers at ``url`` within ``timeout`` seconds.

    :raises CliError: when redis-py is missing, the URL is invalid, the connection fails, or
        nothing answers in time (the probe runs in a daemon thread, so a hung server cannot
        hold the demo).
    """
    try:
        from sassi.backends.redis import RedisBackend
    except ImportError:
        raise CliError(
            "--redis needs the redis package, which is not installed: pip install 'sassi[redis]'"
        ) from None
    errors: list[BaseException] = []

    def probe() -> None:
        try:
            backend = RedisBackend(url, socket_timeout=min(2.0, timeout / 2))
            try:
                backend.get_sync(sassi.backends.Keyspace("sassi-demo-probe", "probe"), 0)
            finally:
                backend.close()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=probe, name="sassi-demo-redis-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise CliError(f"--redis {url}: no answer from Redis within {timeout:g} s")
    if errors:
        raise CliError(f"--redis {url}: cannot reach Redis: {errors[0]}")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def redis_part(out: DemoOutput, url: str, model: type[T], data: list[T]) -> None:
    """Step 5: pools ``a`` and ``b`` of ``model`` sharing a Redis L2 at ``url``."""
    from sassi.backends.redis import RedisBackend

    out.step("5. pools `a` and `b` sharing a Redis L2")
    namespace = f"sassi-demo-{os.getpid()}"
    backends = [RedisBackend(url), RedisBackend(url)]
    a = sassi.Punnu(model, namespace=namespace, backend=backends[0])
    b = sassi.Punnu(model, namespace=namespace, backend=backends[1])
    sample = data[:200]
    get_id = sassi.model_info(model).get_id
    try:
        async with b.background():
            try:
                with anyio.fail_after(PROBE_TIMEOUT):
                    await b.wait_listening()
            except TimeoutError:
                out.check(False, f"b subscribes to invalidations within {PROBE_TIMEOUT:g} s")
                return
            for u in sample:
                await a.ainsert(u)
            loaded = [await b.aload(get_id(u)) for u in sample]
            out.check(
                all(x == u for x, u in zip(loaded, sample, strict=True)),
                "b reads a's writes from L2",
            )
            lat = await _invalidations(out, a, b, [get_id(u) for u in sample[:50]])
            for u in sample:
                await a.ainvalidate(get_id(u))
    finally:
        for backend in backends:
            await backend.aclose()
    if lat:
        figures = f"p50 {fmt_seconds(_pct(lat, 0.5))}, p99 {fmt_seconds(_pct(lat, 0.99))}"
        out.line(f"invalidation a -> b over {len(lat)} ids: {figures}")
        out.record("cross-pool invalidation (Redis)", figures)


async def _invalidations(
    out: DemoOutput, a: sassi.Punnu[T], b: sassi.Punnu[T], ids: list[Any]
) -> list[float]:
    """Time from ``a.ainvalidate`` to the event in ``b``; stops at the first lost one."""
    lat: list[float] = []
    with b.events() as sub:
        for ident in ids:
            t0 = time.perf_counter()
            await a.ainvalidate(ident)
            try:
                with anyio.fail_after(PROBE_TIMEOUT):
                    while True:
                        ev = await sub.receive()
                        if isinstance(ev, sassi.Invalidated) and ev.id == ident:
                            break
            except TimeoutError:
                out.check(
                    False, f"b hears a's invalidation of {ident!r} within {PROBE_TIMEOUT:g} s"
                )
                return lat
            lat.append(time.perf_counter() - t0)
            out.check(ident not in b, "an invalidation in a removes the entry in b")
    return lat

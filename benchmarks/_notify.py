"""PostgreSQL NOTIFY -> pool: how long a committed change takes to reach ``delta_refresh``.

Uses ``SASSI_PG_URL`` when set, else starts a private PostgreSQL on a free loopback port with
``dev.py``'s starter (as ``_redis.py`` does for redis-server); without either the group is
skipped.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

import sassi

from ._harness import Group, Settings
from ._services import service_url

__all__ = ["NOTIFY_TITLE", "bench_notify"]

NOTIFY_TITLE = "PostgreSQL NOTIFY -> pool (loopback)"
ROOT = Path(__file__).resolve().parent.parent
ROWS = 1_000


@sassi.cacheable(type_name="bench.Item", watermark="version")
@dataclass(frozen=True, slots=True)
class Item:
    id: int
    value: int
    version: int


def _pg_url() -> contextlib.AbstractContextManager[str | None]:
    return service_url("SASSI_PG_URL", "postgres_server", "sassi-bench-pg-")


def _sqlalchemy_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def _latencies(url: str, commits: int, engine_kind: str, backend: str) -> tuple[list[float], float]:
    """Seconds from ``COMMIT`` to the change in the pool, sorted; and the median commit."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from sassi.sql import Source, notify_trigger_ddl

    metadata = sa.MetaData()
    table = sa.Table(
        f"bench_notify_{uuid.uuid4().hex[:8]}",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False, index=True),
    )
    writer = sa.create_engine(_sqlalchemy_url(url), poolclass=NullPool)
    metadata.create_all(writer)
    with writer.begin() as conn:
        conn.exec_driver_sql(notify_trigger_ddl(table, table.name))
        conn.execute(table.insert(), [{"id": i, "value": 0, "version": 0} for i in range(ROWS)])
    reader: Any
    if engine_kind == "AsyncEngine":
        from sqlalchemy.ext.asyncio import create_async_engine

        reader = create_async_engine(_sqlalchemy_url(url))
    else:
        reader = sa.create_engine(_sqlalchemy_url(url))
    source = Source(reader, table, Item)
    seen: dict[int, float] = {}
    commit_times: list[float] = []
    out: list[float] = []

    def commit(version: int) -> float:
        with writer.connect() as conn:
            row = version % ROWS
            conn.execute(table.update().where(table.c.id == row).values(version=version))
            started = time.monotonic()
            conn.commit()
            commit_times.append(time.monotonic() - started)
            return started

    async def record(sub: sassi.Subscription) -> None:
        async for event in sub:
            if isinstance(event, sassi.Inserted | sassi.Updated):
                value = event.value if isinstance(event, sassi.Inserted) else event.new
                seen.setdefault(value.version, time.monotonic())

    async def main() -> None:
        pool = sassi.Punnu(Item, capacity=ROWS * 2)
        wake = source.listen(table.name)
        async with (
            pool.delta_refresh(3600, source.fetch_delta, wake=wake) as handle,
            anyio.create_task_group() as group,
        ):
            with anyio.fail_after(30):
                while len(pool) < ROWS:  # noqa: ASYNC110 - the listener's first update
                    await anyio.sleep(0.01)
            sub = pool.events()
            group.start_soon(record, sub)
            for version in range(1, commits + 1):
                started = await anyio.to_thread.run_sync(commit, version)
                with anyio.fail_after(10):
                    while version not in seen:  # noqa: ASYNC110 - set by the recorder task
                        await anyio.sleep(0.0002)
                out.append(seen[version] - started)
            assert handle.watermark == commits
            sub.close()
            group.cancel_scope.cancel()
        if engine_kind == "AsyncEngine":
            await reader.dispose()

    try:
        anyio.run(main, backend=backend)
    finally:
        if engine_kind != "AsyncEngine":
            reader.dispose()
        metadata.drop_all(writer)
        writer.dispose()
    return sorted(out), sorted(commit_times)[len(commit_times) // 2]


def bench_notify(settings: Settings) -> Group | None:
    """p50/p99 from ``COMMIT`` to the pool, through NOTIFY and ``delta_refresh(wake=...)``."""
    with _pg_url() as url:
        if url is None:
            print("  notify: no PostgreSQL (set SASSI_PG_URL or install it): skipped")
            return None
        commits = 300 if settings.quick else 1_000
        group = Group(
            NOTIFY_TITLE,
            f"A local PostgreSQL; a {ROWS:,}-row table with `notify_trigger_ddl`'s trigger; a pool "
            "kept by `delta_refresh(3600, source.fetch_delta, wake=source.listen(channel))` "
            f"(the interval never fires). {commits} sequential commits, each updating one row "
            "from another thread; the time from issuing `COMMIT` to the pool's event for that "
            "row (NOTIFY delivery, the listener, one `fetch_delta` query, the commit into L1). "
            "The baseline is the writer's own `COMMIT` round trip.",
            "COMMIT round trip (the writer)",
        )
        runs = [("sync Engine", "asyncio"), ("AsyncEngine", "asyncio"), ("sync Engine", "trio")]
        measured = [
            (kind, backend, *_latencies(url, commits, kind, backend)) for kind, backend in runs
        ]
        group.add("COMMIT round trip (the writer)", measured[0][3], note="median")
        for kind, backend, lat, _ in measured:
            p50, p99 = lat[len(lat) // 2], lat[max(0, int(len(lat) * 0.99) - 1)]
            label = f"{kind}, {backend}"
            group.add(f"{label}: commit -> pool p50", p50, note=f"max {lat[-1] * 1e3:.1f} ms")
            group.add(
                f"{label}: commit -> pool p99",
                p99,
                note=f"goal p99 < 100 ms: {'met' if p99 < 0.1 else 'MISSED'}",
            )
        return group

"""``sassi demo``: an in-memory pool over an embedded SQLite source of truth, end to end.

1. Generate a deterministic dataset of users into SQLite (the "database").
2. Keep a :class:`~sassi.Punnu` fresh with ``delta_refresh`` (a full load, then deltas with
   updates and soft-deletes as tombstones), counting the events exactly.
3. Answer predicates from memory and check every answer against the same predicate lowered to
   SQL by :func:`sassi.sql.to_sqlalchemy`.
4. Fire a burst of concurrent requests at cold keys: single-flight makes one fetch per key.
5. With ``--redis URL``: two pools share a Redis L2 and stay coherent through invalidations
   (the URL is probed first: the demo fails within 5 s when nothing answers there).

Needs ``sassi[cli,sql]`` (rich, SQLAlchemy); ``--redis`` also needs ``sassi[redis]``.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

import sassi

from ._console import DemoOutput, fmt_seconds
from ._demo_redis import probe_redis, redis_part

__all__ = ["User", "generate_users", "run_demo"]


@sassi.cacheable(type_name="sassi.demo.User", watermark="version")
@dataclass(frozen=True, slots=True)
class User:
    """A user row as the service sees it."""

    id: int
    name: str
    email: str | None
    org: int
    age: int
    plan: str
    active: bool
    version: int
    profile: sassi.JSON | None = None


_SYLLABLES = ["ka", "ri", "to", "me", "an", "sol", "vi", "da", "lu", "ne", "ór", "zé", "ba", "qi"]
_PLANS = ["free", "pro", "team", "enterprise"]
_TIERS = ["bronze", "silver", "gold"]
_TAGS = ["beta", "vip", "churn-risk", "edu", "partner"]


def generate_users(
    rows: int, seed: int, progress: Callable[[int], None] | None = None
) -> list[User]:
    """A deterministic, realistic-looking dataset (NULL emails, nested JSON, non-ASCII names).

    :param progress: called with a count of users made since its last call.
    """
    rng = random.Random(seed)
    users = []
    for i in range(1, rows + 1):
        name = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()
        email = (
            None
            if rng.random() < 0.08
            else f"{name.lower()}{i}@{rng.choice(['example.org', 'mail.test', 'corp.test'])}"
        )
        profile: sassi.JSON | None = None
        if rng.random() > 0.05:
            profile = {
                "tier": rng.choice(_TIERS),
                "tags": rng.sample(_TAGS, rng.randint(0, 3)),
                "score": round(rng.uniform(0, 100), 2),
            }
        users.append(
            User(
                id=i,
                name=name,
                email=email,
                org=rng.randint(1, 50),
                age=rng.randint(18, 80),
                plan=rng.choices(_PLANS, weights=[50, 30, 15, 5])[0],
                active=rng.random() < 0.85,
                version=i,  # a per-row change counter: rows are written in id order
                profile=profile,
            )
        )
        if progress is not None and i % 1000 == 0:
            progress(1000)
    if progress is not None:
        progress(rows % 1000)
    return users


def _best(fn: Callable[[], Any], repeat: int = 5) -> tuple[float, Any]:
    best = float("inf")
    result: Any = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def run_demo(
    *, rows: int = 50_000, seed: int = 7, redis_url: str | None = None, quiet: bool = False
) -> int:
    """Run the demo; returns 0 when every check passed, 1 otherwise.

    :raises CliError: when ``redis_url`` does not answer (before anything else runs).
    """
    if redis_url:
        probe_redis(redis_url)
    out = DemoOutput(quiet)
    with tempfile.TemporaryDirectory(prefix="sassi-demo-") as tmp:
        anyio.run(_demo, out, rows, seed, redis_url, Path(tmp))
    out.table()
    if out.failures:
        out.console.print(f"{len(out.failures)} check(s) FAILED: " + "; ".join(out.failures))
        return 1
    out.console.print("all checks passed")
    return 0


async def _demo(out: DemoOutput, rows: int, seed: int, redis_url: str | None, tmp: Path) -> None:
    import sqlalchemy as sa

    from sassi.sql import to_sqlalchemy

    # 1. The database: SQLite file, soft deletes, a version column as the watermark.
    out.step(f"1. {rows:,} generated users in SQLite")
    meta = sa.MetaData()
    users = sa.Table(
        "users",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("email", sa.Text),
        sa.Column("org", sa.Integer, nullable=False),
        sa.Column("age", sa.Integer, nullable=False),
        sa.Column("plan", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, index=True),
        sa.Column("profile", sa.JSON),
        sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    )
    engine = sa.create_engine(f"sqlite:///{tmp / 'demo.db'}")
    meta.create_all(engine)
    with out.progress() as bars:
        task = bars.add_task("generating users", total=rows)
        data = generate_users(rows, seed, lambda n: bars.advance(task, n))
        task = bars.add_task("writing to SQLite", total=rows)
        t0 = time.perf_counter()
        with engine.begin() as conn:
            for start in range(0, rows, 5_000):
                chunk = data[start : start + 5_000]
                conn.execute(users.insert(), [{**_row(u), "deleted": False} for u in chunk])
                bars.advance(task, len(chunk))
        wrote = time.perf_counter() - t0
    out.line(f"wrote {rows:,} rows in {fmt_seconds(wrote)}")
    conn = engine.connect()
    last_delta: dict[str, int] = {}

    def to_user(row: Any) -> User:
        m = row._mapping
        return User(**{f: m[f] for f in sassi.model_info(User).field_names})

    async def fetch_delta(query: sassi.DeltaQuery[Any]) -> sassi.Delta[User]:
        stmt = sa.select(users)
        if query.since is not None:
            cond = users.c.version >= query.since  # inclusive, as DeltaQuery.since is
            if query.recover_ids:
                cond = cond | users.c.id.in_(list(query.recover_ids))
            stmt = stmt.where(cond)
        result = conn.execute(stmt).fetchall()
        items = [to_user(r) for r in result if not r.deleted]
        tombstones = [r.id for r in result if r.deleted]
        last_delta.update(items=len(items), tombstones=len(tombstones))
        high = max((r.version for r in result), default=None)
        return sassi.Delta(items=items, tombstones=tombstones, high_watermark=high)

    # 2. The pool, kept fresh by delta_refresh; events observed.
    out.step("2. the `users` pool, kept fresh by delta_refresh")
    n_changed = min(500, rows // 2)
    n_deleted = max(1, n_changed // 10)
    pool = sassi.Punnu(
        User,
        capacity=rows * 2,
        indexes=("org", "age"),
        on_conflict=sassi.OnConflict.UPDATE,  # a replaced row emits Updated(old, new)
        event_capacity=n_changed + 64,  # large enough that no event of the delta is lost
    )
    async with pool.delta_refresh(3600, fetch_delta) as handle:
        with out.progress() as bars:
            task = bars.add_task("full load (delta_refresh)", total=None)
            t0 = time.perf_counter()
            await handle.update()
            load = time.perf_counter() - t0
            bars.update(task, total=len(pool), completed=len(pool))
        out.line(
            f"full load: {len(pool):,} users in {fmt_seconds(load)}, watermark {handle.watermark}"
        )
        out.check(len(pool) == rows, "full load fills the pool")
        out.record("full load (delta_refresh)", f"{len(pool):,} rows in {fmt_seconds(load)}")

        rng = random.Random(seed + 1)
        changed = rng.sample(range(1, rows + 1), n_changed)
        deleted, updated = changed[:n_deleted], changed[n_deleted:]
        with engine.begin() as wconn:
            for n, uid in enumerate(updated, start=1):
                wconn.execute(
                    users.update()
                    .where(users.c.id == uid)
                    .values(age=users.c.age + 1, plan="team", version=rows + n)
                )
            for n, uid in enumerate(deleted, start=len(updated) + 1):
                wconn.execute(
                    users.update().where(users.c.id == uid).values(deleted=True, version=rows + n)
                )
        before = len(pool)
        events = pool.events()  # watch what the delta changes
        t0 = time.perf_counter()
        tick = await handle.update()
        took = time.perf_counter() - t0
        out.line(
            f"delta: {len(updated)} updates + {len(deleted)} deletes in {fmt_seconds(took)}; "
            f"pool {before:,} -> {len(pool):,}, watermark {handle.watermark}"
        )
        out.check(len(pool) == rows - len(deleted), "tombstones remove deleted rows")
        out.check(all(d not in pool for d in deleted), "deleted ids are gone")
        sample = pool.get(updated[0]) if updated else None
        out.check(sample is None or sample.plan == "team", "updates are visible")
        out.record(f"delta update ({n_changed} changes)", fmt_seconds(took))
    kinds: Counter[str] = Counter()
    while (ev := events.receive_nowait()) is not None:
        kinds[type(ev).__name__] += 1
    events.close()
    # The delta query is inclusive (version >= watermark): the row holding the old watermark
    # comes back too, unless it was one of the changed rows; delta_refresh leaves a row equal
    # to its resident alone (no event). Every other item replaces a live row: one Updated each.
    reread = 0 if rows in changed else 1
    expected = Counter(Invalidated=len(deleted), Updated=len(updated))
    out.check(
        last_delta.get("items") == len(updated) + reread and tick.unchanged == reread,
        "the delta returned every update (and the unchanged row at the watermark)",
    )
    out.check(tick.applied == len(updated), "the delta applied every update")
    out.check(kinds == expected, f"events of the delta: {dict(kinds)} != {dict(expected)}")
    shown = ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items()))
    out.line(f"events of the delta: {shown} (one per deleted or updated row)")
    if reread:
        out.line("(the row at the inclusive watermark came back unchanged: no event)")
    out.record("events of the delta", shown)
    st = pool.stats()
    out.check(
        st.evictions[sassi.EventReason.ON_DELETE] == len(deleted), "one ON_DELETE per tombstone"
    )

    # 3. The same predicate, from memory and from SQL.
    out.step("3. predicates answered from memory, checked against SQL")
    _queries(out, pool, users, conn, to_sqlalchemy)

    # 4. Single-flight under a burst.
    out.step("4. the `hot` pool: 2,000 concurrent requests for 20 cold users")
    hot = sassi.Punnu(User, capacity=1_000)
    by_id = {u.id: u for u in data}
    calls: Counter[int] = Counter()

    async def fetch_one(uid: int) -> User | None:
        calls[uid] += 1
        await anyio.sleep(0.02)  # the database round trip
        return by_id.get(uid)

    hot_ids = list(range(1, 21))
    with out.progress() as bars:
        task = bars.add_task("requests answered", total=2_000)

        async def request(uid: int) -> None:
            await hot.aget_or_fetch(uid, fetch_one)
            bars.advance(task)

        t0 = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for n in range(2_000):
                tg.start_soon(request, hot_ids[n % 20])
        burst = time.perf_counter() - t0
    out.line(f"2,000 requests -> {sum(calls.values())} fetches in {fmt_seconds(burst)}")
    out.check(sum(calls.values()) == 20, "single-flight: one fetch per cold key")
    latencies = []
    for uid in hot_ids * 50:
        t0 = time.perf_counter()
        await hot.aget_or_fetch(uid, fetch_one)
        latencies.append(time.perf_counter() - t0)
    out.check(sum(calls.values()) == 20, "warm keys never fetch")
    out.record("burst of 2,000 on 20 cold keys", f"{sum(calls.values())} fetches")
    out.record("warm aget_or_fetch (median)", fmt_seconds(statistics.median(latencies)))

    hot_st = hot.stats()
    out.check(hot_st.fetches == 20, "the hot pool counted 20 fetches")
    out.check(hot_st.hits + hot_st.misses == 3_000, "the hot pool counted every lookup once")
    st = pool.stats()
    out.record(
        "stats of the `users` pool",
        f"size {st.size:,}, hits {st.hits:,}, misses {st.misses:,}, "
        f"on_delete evictions {st.evictions[sassi.EventReason.ON_DELETE]:,}",
    )
    out.record(
        "stats of the `hot` pool",
        f"size {hot_st.size:,}, hits {hot_st.hits:,}, misses {hot_st.misses:,}, "
        f"fetches {hot_st.fetches:,}, coalesced waiters {hot_st.coalesced_waiters:,}",
    )

    if redis_url:
        await redis_part(out, redis_url, User, data)
    conn.close()
    engine.dispose()


def _queries(out: DemoOutput, pool: sassi.Punnu[User], users: Any, conn: Any, lower: Any) -> None:
    from rich.table import Table

    F = sassi.fields(User)
    queries: Sequence[tuple[str, sassi.Predicate]] = [
        ("org 7, active", (F.org == 7) & F.active.eq(True)),
        ("30-39, pro or team", F.age.between(30, 39) & F.plan.in_(["pro", "team"])),
        ("no email or @example.org", F.email.is_null() | F.email.iendswith("@EXAMPLE.org")),
        ("name starts 'ka', not free", F.name.istartswith("KA") & ~(F.plan == "free")),
        ("profile tier gold", F.profile.json.path("tier").value(str) == "gold"),
        (
            "beta tag xor org 10-20",
            F.profile.json.key("tags").array_contains("beta") ^ F.org.between(10, 20),
        ),
    ]
    table = Table(title="   the `users` pool vs SQLite (best of 5 / 3)", title_justify="left")
    for name, justify in [
        ("query", "left"),
        ("rows", "right"),
        ("memory", "right"),
        ("SQL", "right"),
        ("same", "left"),
    ]:
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    plans: list[str] = []
    for label, pred in queries:
        scope = pool.scope(pred)
        mem_t, mem = _best(scope.collect)
        query = lower(pred, users)
        stmt = users.select().with_only_columns(users.c.id).where(query & ~users.c.deleted)

        def run_sql(stmt: Any = stmt) -> list[Any]:
            return list(conn.execute(stmt).fetchall())

        sql_t, sql_rows = _best(run_sql, repeat=3)
        same = {u.id for u in mem} == {r.id for r in sql_rows}
        out.check(same, f"memory == SQL for {label!r}")
        table.add_row(
            label,
            f"{len(mem):,}",
            fmt_seconds(mem_t),
            fmt_seconds(sql_t),
            "yes" if same else "NO",
        )
        plans.append(f"{label}: {scope.explain()}")
        out.record(
            f"query: {label}",
            f"{len(mem):,} rows, {fmt_seconds(mem_t)} vs SQL {fmt_seconds(sql_t)}",
        )
    out.show(table)
    out.line("query plans (scope.explain()):")
    for plan in plans:
        out.line(f"  {plan}")


def _row(u: User) -> dict[str, Any]:
    return {f: getattr(u, f) for f in sassi.model_info(User).field_names}

"""``sassi demo``: an in-memory pool over an embedded SQLite source of truth, end to end.

1. Generate a deterministic dataset of users into SQLite (the "database").
2. Keep a :class:`~sassi.Punnu` fresh with ``delta_refresh`` (a full load, then deltas with
   updates and soft-deletes as tombstones), watching the events.
3. Answer predicates from memory and check every answer against the same predicate lowered to
   SQL by :func:`sassi.sql.to_sqlalchemy`.
4. Fire a burst of concurrent requests at cold keys: single-flight makes one fetch per key.
5. With ``--redis URL``: two pools share a Redis L2 and stay coherent through invalidations.
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

__all__ = ["User", "run_demo"]


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


def generate_users(rows: int, seed: int) -> list[User]:
    """A deterministic, realistic-looking dataset (NULL emails, nested JSON, non-ASCII names)."""
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
    return users


class _Out:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.summary: list[tuple[str, str]] = []
        self.failures: list[str] = []

    def step(self, text: str) -> None:
        if not self.quiet:
            print(f"\n== {text}", flush=True)

    def line(self, text: str) -> None:
        if not self.quiet:
            print(f"   {text}", flush=True)

    def record(self, what: str, value: str) -> None:
        self.summary.append((what, value))

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)
            print(f"   CHECK FAILED: {what}", flush=True)

    def table(self) -> None:
        width = max(len(w) for w, _ in self.summary)
        print("\nsassi demo summary")
        print("-" * (width + 40))
        for what, value in self.summary:
            print(f"{what.ljust(width)}  {value}")
        print("-" * (width + 40))


def _best(fn: Callable[[], Any], repeat: int = 5) -> tuple[float, Any]:
    best = float("inf")
    result: Any = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def _fmt_s(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:,.0f} µs"
    return f"{seconds * 1e3:,.2f} ms"


def run_demo(
    *, rows: int = 50_000, seed: int = 7, redis_url: str | None = None, quiet: bool = False
) -> int:
    """Run the demo; returns 0 when every check passed, 1 otherwise."""
    try:
        import sqlalchemy  # noqa: F401
    except ImportError:
        print("sassi demo needs SQLAlchemy: pip install 'sassi[sql]' (python3 dev.py demo does it)")
        return 2
    out = _Out(quiet)
    with tempfile.TemporaryDirectory(prefix="sassi-demo-") as tmp:
        anyio.run(_demo, out, rows, seed, redis_url, Path(tmp))
    out.table()
    if out.failures:
        print(f"{len(out.failures)} check(s) FAILED: " + "; ".join(out.failures))
        return 1
    print("all checks passed")
    return 0


async def _demo(out: _Out, rows: int, seed: int, redis_url: str | None, tmp: Path) -> None:
    import sqlalchemy as sa

    from sassi.sql import to_sqlalchemy

    # 1. The database: SQLite file, soft deletes, a version column as the watermark.
    out.step(f"1. generating {rows:,} users into SQLite")
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
    data = generate_users(rows, seed)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            users.insert(),
            [{**_row(u), "deleted": False} for u in data],
        )
    out.line(f"wrote {rows:,} rows in {_fmt_s(time.perf_counter() - t0)}")
    conn = engine.connect()
    fetch_calls = Counter[str]()

    def to_user(row: Any) -> User:
        m = row._mapping
        return User(**{f: m[f] for f in sassi.model_info(User).field_names})

    async def fetch_delta(query: sassi.DeltaQuery[Any]) -> sassi.Delta[User]:
        fetch_calls["delta" if query.since is not None else "full"] += 1
        stmt = sa.select(users)
        if query.since is not None:
            cond = users.c.version >= query.since
            if query.recover_ids:
                cond = cond | users.c.id.in_(list(query.recover_ids))
            stmt = stmt.where(cond)
        result = conn.execute(stmt).fetchall()
        items = [to_user(r) for r in result if not r.deleted]
        tombstones = [r.id for r in result if r.deleted]
        high = max((r.version for r in result), default=None)
        return sassi.Delta(items=items, tombstones=tombstones, high_watermark=high)

    # 2. The pool, kept fresh by delta_refresh; events observed.
    out.step("2. a pool kept fresh by delta_refresh")
    pool = sassi.Punnu(User, capacity=rows * 2, indexes=("org", "age"), event_capacity=4096)
    async with pool.delta_refresh(3600, fetch_delta) as handle:
        t0 = time.perf_counter()
        await handle.update()
        load = time.perf_counter() - t0
        out.line(f"full load: {len(pool):,} users in {_fmt_s(load)}, watermark {handle.watermark}")
        out.check(len(pool) == rows, "full load fills the pool")
        out.record("full load (delta_refresh)", f"{len(pool):,} rows in {_fmt_s(load)}")

        rng = random.Random(seed + 1)
        changed = rng.sample(range(1, rows + 1), min(500, rows // 2))
        deleted = changed[:50]
        with engine.begin() as wconn:
            for n, uid in enumerate(changed[50:], start=1):
                wconn.execute(
                    users.update()
                    .where(users.c.id == uid)
                    .values(age=users.c.age + 1, plan="team", version=rows + n)
                )
            for n, uid in enumerate(deleted, start=len(changed)):
                wconn.execute(
                    users.update().where(users.c.id == uid).values(deleted=True, version=rows + n)
                )
        before = len(pool)
        events = pool.events()  # watch what the delta changes
        t0 = time.perf_counter()
        await handle.update()
        took = time.perf_counter() - t0
        out.line(
            f"delta: {len(changed) - len(deleted)} updates + {len(deleted)} deletes applied in "
            f"{_fmt_s(took)}; pool {before:,} -> {len(pool):,}; watermark {handle.watermark}"
        )
        out.check(len(pool) == rows - len(deleted), "tombstones remove deleted rows")
        out.check(all(d not in pool for d in deleted), "deleted ids are gone")
        sample = pool.get(changed[60]) if len(changed) > 60 else None
        out.check(sample is None or sample.plan == "team", "updates are visible")
        out.record("delta update (500 changes)", _fmt_s(took))
    kinds: Counter[str] = Counter()
    while (ev := events.receive_nowait()) is not None:
        kinds[type(ev).__name__] += 1
    events.close()
    out.line("events of the delta: " + ", ".join(f"{k}={v:,}" for k, v in sorted(kinds.items())))
    out.check(kinds["Invalidated"] == len(deleted), "one Invalidated event per deleted row")
    out.check(kinds["Inserted"] >= len(changed) - len(deleted), "one Inserted event per update")
    out.record("events of the delta", ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items())))

    # 3. The same predicate, from memory and from SQL.
    out.step("3. predicates answered from memory, checked against SQL")
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
    for label, pred in queries:
        scope = pool.scope(pred)
        mem_t, mem = _best(scope.collect)
        query = sa.select(users.c.id).where(to_sqlalchemy(pred, users) & ~users.c.deleted)

        def run_sql(query: Any = query) -> list[Any]:
            return list(conn.execute(query).fetchall())

        sql_t, sql_rows = _best(run_sql, repeat=3)
        same = {u.id for u in mem} == {r.id for r in sql_rows}
        out.check(same, f"memory == SQL for {label!r}")
        plan = scope.explain()
        out.line(
            f"{label:<28} {len(mem):>6,} rows  memory {_fmt_s(mem_t):>10}  SQL {_fmt_s(sql_t):>10}"
            f"  {'same rows' if same else 'DIFFERENT'}  [{plan}]"
        )
        out.record(f"query: {label}", f"{len(mem):,} rows, {_fmt_s(mem_t)} vs SQL {_fmt_s(sql_t)}")

    # 4. Single-flight under a burst.
    out.step("4. a burst of 2,000 concurrent requests for 20 cold users")
    hot = sassi.Punnu(User, capacity=1_000)
    by_id = {u.id: u for u in data}
    calls: Counter[int] = Counter()

    async def fetch_one(uid: int) -> User | None:
        calls[uid] += 1
        await anyio.sleep(0.02)  # the database round trip
        return by_id.get(uid)

    hot_ids = list(range(1, 21))
    t0 = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for n in range(2_000):
            tg.start_soon(hot.aget_or_fetch, hot_ids[n % 20], fetch_one)
    burst = time.perf_counter() - t0
    out.line(f"2,000 requests -> {sum(calls.values())} fetches in {_fmt_s(burst)}")
    out.check(sum(calls.values()) == 20, "single-flight: one fetch per cold key")
    latencies = []
    for uid in hot_ids * 50:
        t0 = time.perf_counter()
        await hot.aget_or_fetch(uid, fetch_one)
        latencies.append(time.perf_counter() - t0)
    out.check(sum(calls.values()) == 20, "warm keys never fetch")
    out.record("burst of 2,000 on 20 cold keys", f"{sum(calls.values())} fetches")
    out.record("warm aget_or_fetch (median)", _fmt_s(statistics.median(latencies)))

    st = pool.stats()
    out.record("pool stats", f"size {st.size:,}, hits {st.hits:,}, misses {st.misses:,}")

    if redis_url:
        await _redis_part(out, redis_url, data)
    conn.close()
    engine.dispose()


def _row(u: User) -> dict[str, Any]:
    return {f: getattr(u, f) for f in sassi.model_info(User).field_names}


async def _redis_part(out: _Out, url: str, data: list[User]) -> None:
    import os

    from sassi.backends.redis import RedisBackend

    out.step("5. two pools sharing a Redis L2")
    namespace = f"sassi-demo-{os.getpid()}"
    a = sassi.Punnu(User, namespace=namespace, backend=RedisBackend(url))
    b = sassi.Punnu(User, namespace=namespace, backend=RedisBackend(url))
    sample = data[:200]
    async with b.background():
        for u in sample:
            await a.ainsert(u)
        loaded = [await b.aload(u.id) for u in sample]
        out.check(
            all(x == u for x, u in zip(loaded, sample, strict=True)), "b reads a's writes from L2"
        )
        lat = []
        with b.events() as sub:
            for u in sample[:50]:
                t0 = time.perf_counter()
                await a.ainvalidate(u.id)
                with anyio.fail_after(5):
                    while True:
                        ev = await sub.receive()
                        if isinstance(ev, sassi.Invalidated) and ev.id == u.id:
                            break
                lat.append(time.perf_counter() - t0)
                out.check(u.id not in b, "an invalidation in a removes the entry in b")
        lat.sort()
        out.line(
            f"invalidation a -> b: p50 {_fmt_s(lat[len(lat) // 2])}, p99 {_fmt_s(lat[int(len(lat) * 0.99) - 1])}"
        )
        out.record(
            "cross-pool invalidation (Redis)",
            f"p50 {_fmt_s(lat[len(lat) // 2])}, p99 {_fmt_s(lat[int(len(lat) * 0.99) - 1])}",
        )
        for u in sample:
            await a.ainvalidate(u.id)

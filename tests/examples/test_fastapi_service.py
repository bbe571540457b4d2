"""examples/fastapi_service driven over HTTP (httpx's ASGI transport, the app's own lifespan):
SQLite by default, and PostgreSQL with NOTIFY waking the pool."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import sqlalchemy as sa
from examples.fastapi_service.app import make_app, products

pytestmark = pytest.mark.anyio

ROWS = [
    {"id": i, "name": f"p{i}", "org": 7 if i % 2 else 9, "price": float(i), "version": 1}
    for i in range(1, 41)
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # FastAPI/Starlette run on asyncio here (uvicorn's loop)


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            yield client


def seeded(db_url: str) -> Any:
    app = make_app(db_url=db_url)
    engine: sa.Engine = app.state.engine
    with engine.begin() as conn:
        conn.execute(products.delete())
        conn.execute(products.insert(), ROWS)
    return app


async def check_service(client: httpx.AsyncClient, engine: sa.Engine, wait: Any) -> None:
    got = await client.get("/products/3")
    assert got.status_code == 200 and got.json()["name"] == "p3"
    assert (await client.get("/products/999")).status_code == 404
    listing = (
        await client.get("/products", params={"org": 7, "min_price": 10, "check": "sql"})
    ).json()
    assert listing["ids"] == listing["sql_ids"] == [i for i in range(11, 41) if i % 2]
    assert "index 'org'" in listing["plan"]
    with engine.begin() as conn:  # a change committed in the database...
        conn.execute(products.update().where(products.c.id == 3).values(name="renamed", version=2))
        conn.execute(products.update().where(products.c.id == 5).values(deleted=True, version=2))
    await wait()  # ...reaches the pool
    assert (await client.get("/products/3")).json()["name"] == "renamed"
    assert (await client.get("/products/5")).status_code == 404
    assert 5 not in (await client.get("/products", params={"org": 7})).json()["ids"]
    # concurrent lookups of cold ids in one request burst: the loader batches them
    responses = await anyio_gather([client.get(f"/products/{i}") for i in (101, 102, 103)])
    assert [r.status_code for r in responses] == [404, 404, 404]
    metrics = (await client.get("/metrics")).text
    assert 'sassi_hits_total{tier="L1",type="shop.Product"}' in metrics
    assert 'sassi_size{type="shop.Product"}' in metrics


async def anyio_gather(calls: list[Any]) -> list[Any]:
    results: list[Any] = [None] * len(calls)

    async def run(i: int, call: Any) -> None:
        results[i] = await call

    async with anyio.create_task_group() as tg:
        for i, call in enumerate(calls):
            tg.start_soon(run, i, call)
    return results


async def test_the_service_on_sqlite(tmp_path: Path) -> None:
    app = seeded(f"sqlite:///{tmp_path / 'shop.db'}")
    async with serve(app) as client:

        async def refresh() -> None:
            assert (await client.post("/refresh")).status_code == 200

        await check_service(client, app.state.engine, refresh)


async def test_the_service_on_postgresql_is_woken_by_notify(pg_url: str) -> None:
    from sassi.sql import notify_trigger_ddl

    app = seeded(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    engine: sa.Engine = app.state.engine
    with engine.begin() as conn:
        conn.exec_driver_sql(notify_trigger_ddl(products, "products"))
    async with serve(app) as client:

        async def notified() -> None:  # no /refresh: NOTIFY wakes delta_refresh
            with anyio.fail_after(10):  # polls what an HTTP client sees: nothing else to await
                while (await client.get("/products/3")).json()["name"] != "renamed":  # noqa: ASYNC110
                    await anyio.sleep(0.02)

        await check_service(client, engine, notified)

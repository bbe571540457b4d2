"""A small real service: products in SQL, a sassi pool in front, served by FastAPI.

    uvicorn --factory examples.fastapi_service.app:make_app     # SQLite: ./shop.db
    SASSI_DB_URL=postgresql+psycopg://...  SASSI_REDIS_URL=redis://...  uvicorn --factory ...

What it shows, in the app's lifespan:
- one ``Punnu[Product]`` per process, kept fresh by ``delta_refresh`` from a
  ``sassi.sql.Source`` (on PostgreSQL also woken by ``NOTIFY``: a committed change is in the
  pool within milliseconds), with its background work (TTL sweep, Redis listener) running;
- ``pool.loader(source.fetch_many)`` for request handlers: concurrent lookups of different ids
  in one request become one query;
- queries answered from memory: ``/products?org=7&min_price=10`` lowers nothing, it scans or
  uses an index; ``?check=sql`` also runs the same predicate in SQL and compares;
- ``/metrics`` in the Prometheus text format (``sassi.metrics.PrometheusMetrics``);
- with ``SASSI_REDIS_URL``, an L2 shared by every worker process (one fetch per cold id).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, HTTPException, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

import sassi
from sassi.metrics import PrometheusMetrics
from sassi.sql import Source, to_sqlalchemy


@sassi.cacheable(type_name="shop.Product", watermark="version")
@dataclass(frozen=True, slots=True)
class Product:
    id: int
    name: str
    org: int
    price: float
    version: int = 0
    deleted: bool = False


F = sassi.fields(Product)
metadata = sa.MetaData()
products = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("org", sa.Integer, nullable=False),
    sa.Column("price", sa.Float, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, default=0),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
)


def make_app(db_url: str | None = None, redis_url: str | None = None) -> FastAPI:
    """The service; ``db_url`` defaults to ``SASSI_DB_URL`` or a SQLite file."""
    db_url = db_url or os.environ.get("SASSI_DB_URL") or f"sqlite:///{Path.cwd() / 'shop.db'}"
    redis_url = redis_url or os.environ.get("SASSI_REDIS_URL")
    engine = sa.create_engine(db_url)
    metadata.create_all(engine)
    source: Source[Product] = Source(engine, products, Product, deleted_column="deleted")
    registry = CollectorRegistry()
    pool = sassi.Punnu(
        Product,
        capacity=100_000,
        indexes=("org",),
        backend=redis_url,  # None: L1 only; a redis:// URL: an L2 shared by every worker
        namespace="shop",
        metrics=PrometheusMetrics(registry),
        sweep_interval=60,
    )
    loader = pool.loader(source.fetch_many, max_batch=500)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        wake = source.listen("products") if engine.dialect.name == "postgresql" else None
        async with (
            pool.background(),
            pool.delta_refresh(5.0, source.fetch_delta, wake=wake) as refresh,
        ):
            await refresh.update()  # the first tick fills the pool before serving
            app.state.refresh = refresh
            yield

    app = FastAPI(title="sassi shop", lifespan=lifespan)
    app.state.pool, app.state.source, app.state.engine = pool, source, engine

    @app.get("/products/{product_id}")
    async def get_product(product_id: int) -> dict[str, Any]:
        product = await loader.load(product_id)
        if product is None or product.deleted:
            raise HTTPException(404, f"no product {product_id}")
        return asdict(product)

    @app.get("/products")
    async def list_products(
        org: int | None = None, min_price: float | None = None, check: str | None = None
    ) -> dict[str, Any]:
        predicate: sassi.Predicate = F.deleted == False  # noqa: E712 - a predicate
        if org is not None:
            predicate &= F.org == org
        if min_price is not None:
            predicate &= F.price >= min_price
        found = pool.scope(predicate).sort(key=F.id).collect()
        body: dict[str, Any] = {
            "ids": [p.id for p in found],
            "plan": pool.scope(predicate).explain(),
        }
        if check == "sql":  # the same predicate, lowered to SQL: the same rows
            with engine.connect() as conn:
                query = sa.select(products.c.id).where(to_sqlalchemy(predicate, products))
                body["sql_ids"] = sorted(conn.scalars(query))
        return body

    @app.post("/refresh")
    async def refresh_now() -> dict[str, Any]:
        result = await app.state.refresh.update()
        return {"applied": result.applied, "watermark": result.watermark}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app

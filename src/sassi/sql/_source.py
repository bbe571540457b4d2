"""``sassi.sql.Source``: a table (or mapped class) as the fetchers a pool's helpers call.

Every fetch is written once, as a generator that yields the statements it needs and receives
their rows (the sans-I/O shape of :mod:`sassi._effects`); :func:`_drive` runs it on one
connection of a sync ``Engine``, :meth:`Source._run` on an ``AsyncEngine`` (asyncio only, as
SQLAlchemy's asyncio extension is) or, for a sync ``Engine``, :func:`_drive` in a worker thread
(asyncio and trio).
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections import OrderedDict
from collections.abc import Generator, Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio.to_thread
import sqlalchemy as sa

from .._delta import Delta, DeltaQuery
from ..predicate import Predicate, SupportsPredicate, as_predicate
from ._dialect import Clause
from ._listen import Listener, conninfo_of
from ._lower import _typed, to_sqlalchemy
from ._shape import Shape, resolve

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["Source"]

T = TypeVar("T")
R = TypeVar("R")

_Query = Generator[sa.Executable, Sequence[sa.Row[Any]], R]
"""A fetch: yields statements, receives each one's rows, returns its result."""

_CHUNK = 1_000  # ids per ``IN (...)``: well under SQLite's and PostgreSQL's parameter limits
_CLAUSES = 128  # lowered predicates kept per Source


def _is_async_engine(engine: object) -> bool:
    """``True`` for an ``AsyncEngine``, ``False`` for an ``Engine``; ``TypeError`` otherwise.

    The asyncio extension is looked up only when already imported (it needs greenlet): an
    ``AsyncEngine`` cannot exist without it.
    """
    if isinstance(engine, sa.Engine):
        return False
    ext = sys.modules.get("sqlalchemy.ext.asyncio")
    if ext is not None and isinstance(engine, ext.AsyncEngine):
        return True
    raise TypeError(
        "sassi.sql.Source needs a SQLAlchemy Engine (sqlalchemy.create_engine) or AsyncEngine "
        f"(sqlalchemy.ext.asyncio.create_async_engine), not {engine!r}"
    )


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _drive(engine: sa.Engine, query: _Query[R]) -> R:
    """Run ``query`` on one connection of a sync engine (blocking)."""
    with engine.connect() as conn:
        try:
            statement = next(query)
            while True:
                statement = query.send(conn.execute(statement).all())
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        finally:
            query.close()


def _chunks(ids: Sequence[Any]) -> Iterable[Sequence[Any]]:
    return (ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK))


class Source(Generic[T]):
    """Rows of a table (or mapped class) as ``Model`` values, with ready fetchers.

    Each fetcher has an async form (for an ``AsyncEngine``, asyncio only; a sync ``Engine``
    runs in a worker thread, on asyncio and trio) and a ``_sync`` twin (sync ``Engine`` only):

    - ``fetch_one(id)`` -> value or ``None`` (``pool.aget_or_fetch(id, source.fetch_one)``);
    - ``fetch_many(ids)`` -> values found, in ``ids`` order (``aget_or_fetch_many``);
    - ``fetch_all()`` -> every value (``periodic_refresh``);
    - ``fetch_delta(query)`` -> a :class:`~sassi.Delta` (``delta_refresh``): rows whose
      ``watermark_column >= query.since`` (every row when ``since`` is ``None``) and the rows
      of ``query.recover_ids``; deleted rows become tombstones; ``high_watermark`` is the
      greatest watermark read, deleted rows included;
    - ``fetch_where(predicate)`` -> the values matching a sassi predicate, lowered by
      :func:`~sassi.sql.to_sqlalchemy` (the same rows ``predicate`` selects in memory).

    Rows whose ``deleted_column`` is true (a ``Boolean`` column that is ``TRUE``; any other
    column that is not ``NULL``, such as ``deleted_at``) are left out of every fetcher but
    ``fetch_delta``. On PostgreSQL, :meth:`listen` wakes ``delta_refresh`` on every ``NOTIFY``.

    :param engine: a ``sqlalchemy.Engine`` or ``sqlalchemy.ext.asyncio.AsyncEngine``.
    :param table_or_mapped_class: a ``Table`` (or any FROM clause with ``.c``), or a mapped
        class (its columns are then named by their attribute names).
    :param model: the model class the rows become.
    :param id_column: the column of the model's id field.
    :param watermark_column: the column ``fetch_delta`` filters on (default: the column of the
        model's ``watermark`` field, if it declares one).
    :param deleted_column: a column marking deleted rows, or ``None``.
    :param columns: ``{column: field}`` where the names differ; other fields read the column of
        their own name. ``id_column``/``watermark_column`` feed the id/watermark field when it
        has no column of its own.
    :raises TypeError: for an engine, table or model of the wrong kind.
    :raises ValueError: naming them: unknown columns or fields, fields without a column, a
        field fed by two columns, an ``id_column`` that does not feed the model's id field.
    """

    def __init__(
        self,
        engine: sa.Engine | AsyncEngine,
        table_or_mapped_class: Any,
        model: type[T],
        *,
        id_column: str = "id",
        watermark_column: str | None = None,
        deleted_column: str | None = None,
        columns: Mapping[str, str] | None = None,
    ) -> None:
        self._async = _is_async_engine(engine)
        self._engine = engine
        self._shape: Shape = resolve(
            table_or_mapped_class,
            model,
            id_column=id_column,
            watermark_column=watermark_column,
            deleted_column=deleted_column,
            columns=columns,
        )
        self._model = model
        self._clauses: OrderedDict[Hashable, Clause] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<sassi.sql.Source of {self._model.__qualname__} from {self._shape.from_}>"

    @property
    def engine(self) -> sa.Engine | AsyncEngine:
        """The engine the fetchers run on."""
        return self._engine

    @property
    def model(self) -> type[T]:
        """The model class rows become."""
        return self._model

    # async fetchers ---------------------------------------------------------------------------

    async def fetch_one(self, id: Any) -> T | None:
        """The live row with this id as a model value, or ``None``."""
        return await self._run(self._one(id))

    async def fetch_many(self, ids: Iterable[Any]) -> list[T]:
        """The live rows of ``ids`` (deduplicated), in ``ids`` order; absent ids are skipped."""
        return await self._run(self._many(ids))

    async def fetch_all(self) -> list[T]:
        """Every live row, by id."""
        return await self._run(self._all())

    async def fetch_delta(self, query: DeltaQuery[T]) -> Delta[T]:
        """What changed since ``query.since`` (inclusive), plus ``query.recover_ids``.

        :raises ValueError: when the Source has no watermark column.
        """
        return await self._run(self._delta(query))

    async def fetch_where(self, predicate: Predicate | SupportsPredicate) -> list[T]:
        """The live rows ``predicate`` selects (as it would in memory), by id.

        :raises ValueError: when the predicate names a field the Source does not read.
        """
        return await self._run(self._where(predicate))

    # sync twins -------------------------------------------------------------------------------

    def fetch_one_sync(self, id: Any) -> T | None:
        """:meth:`fetch_one` for sync code (``pool.get_or_fetch(id, source.fetch_one_sync)``)."""
        return self._run_sync(self._one(id))

    def fetch_many_sync(self, ids: Iterable[Any]) -> list[T]:
        """:meth:`fetch_many` for sync code."""
        return self._run_sync(self._many(ids))

    def fetch_all_sync(self) -> list[T]:
        """:meth:`fetch_all` for sync code."""
        return self._run_sync(self._all())

    def fetch_delta_sync(self, query: DeltaQuery[T]) -> Delta[T]:
        """:meth:`fetch_delta` for sync code."""
        return self._run_sync(self._delta(query))

    def fetch_where_sync(self, predicate: Predicate | SupportsPredicate) -> list[T]:
        """:meth:`fetch_where` for sync code."""
        return self._run_sync(self._where(predicate))

    # NOTIFY -----------------------------------------------------------------------------------

    def listen(self, channel: str, *, conninfo: str | None = None) -> Listener:
        """An async iterable for ``pool.delta_refresh(..., wake=...)``: PostgreSQL ``LISTEN``.

        Each iteration opens its own connection (psycopg 3, autocommit) and ``LISTEN``s on
        ``channel``; it yields ``None`` once listening, then each notification's payload. Make
        the table notify with :func:`~sassi.sql.notify_trigger_ddl`.

        :param channel: the channel name (at most 63 bytes).
        :param conninfo: a libpq connection string or URL; default: the engine's URL.
        :raises ValueError: when the engine is not PostgreSQL, or the channel is empty or long.
        :raises ImportError: when psycopg is not installed (``pip install 'sassi[postgres]'``).
        """
        derived = conninfo_of(self._engine.url, self._engine.dialect.name)  # PostgreSQL only
        return Listener(derived if conninfo is None else conninfo, channel)

    # the fetches, once each -------------------------------------------------------------------

    def _one(self, id: Any) -> _Query[T | None]:
        shape = self._shape
        rows = yield shape.select().where(shape.live(), shape.id == id)
        return shape.model(rows[0]) if rows else None

    def _many(self, ids: Iterable[Any]) -> _Query[list[T]]:
        shape = self._shape
        wanted = list(dict.fromkeys(ids))
        found: dict[Any, T] = {}
        for chunk in _chunks(wanted):
            for row in (yield shape.select().where(shape.live(), shape.id.in_(chunk))):
                found[shape.id_of(row)] = shape.model(row)
        return [found[i] for i in wanted if i in found]

    def _all(self) -> _Query[list[T]]:
        shape = self._shape
        rows = yield shape.select().where(shape.live()).order_by(shape.id)
        return [shape.model(row) for row in rows]

    def _where(self, predicate: Predicate | SupportsPredicate) -> _Query[list[T]]:
        shape = self._shape
        clause = self._lowered(as_predicate(predicate, what="fetch_where()"))
        rows = yield shape.select().where(shape.live(), clause).order_by(shape.id)
        return [shape.model(row) for row in rows]

    def _delta(self, query: DeltaQuery[T]) -> _Query[Delta[T]]:
        shape = self._shape
        if shape.watermark is None:
            raise ValueError(
                f"{self!r} has no watermark column: pass watermark_column= (or declare a "
                "watermark on the model) to use fetch_delta"
            )
        select = shape.select(delta=True)
        if not isinstance(query, DeltaQuery):
            raise TypeError(f"fetch_delta needs a sassi.DeltaQuery, got {query!r}")
        rows: dict[Any, Sequence[Any]] = {}
        if query.since is None:
            statements = [select]
        else:
            statements = [select.where(shape.watermark >= query.since)]
        if query.since is not None and query.recover_ids:
            recover = list(query.recover_ids)
            statements += [select.where(shape.id.in_(chunk)) for chunk in _chunks(recover)]
        for statement in statements:
            for row in (yield statement):
                rows[shape.id_of(row)] = row
        items, tombstones, high = [], [], None
        for key, found in rows.items():
            if shape.is_deleted(found):
                tombstones.append(key)
            else:
                items.append(shape.model(found))
            watermark = shape.watermark_of(found)
            if watermark is not None and (high is None or watermark > high):
                high = watermark
        return Delta(items=items, tombstones=tombstones, high_watermark=high)

    def _lowered(self, predicate: Predicate) -> Clause:
        """``to_sqlalchemy`` over the Source's field -> column mapping, cached per predicate."""
        try:
            key: Hashable | None = _typed(predicate)
            hash(key)
        except TypeError:  # an unhashable operand
            key = None
        if key is not None:
            with self._lock:
                hit = self._clauses.get(key)
                if hit is not None:
                    self._clauses.move_to_end(key)
                    return hit
        clause = to_sqlalchemy(predicate, self._shape.fields)
        if key is not None:
            with self._lock:
                self._clauses[key] = clause
                while len(self._clauses) > _CLAUSES:
                    self._clauses.popitem(last=False)
        return clause

    # drivers ----------------------------------------------------------------------------------

    def _run_sync(self, query: _Query[R]) -> R:
        if self._async:
            query.close()
            raise TypeError(
                f"{self!r} runs on an AsyncEngine: await the async fetchers (fetch_one, ...) "
                "or give the Source a sync Engine for the *_sync ones"
            )
        assert isinstance(self._engine, sa.Engine)
        return _drive(self._engine, query)

    async def _run(self, query: _Query[R]) -> R:
        engine = self._engine
        if isinstance(engine, sa.Engine):
            return await anyio.to_thread.run_sync(_drive, engine, query)
        if not _on_asyncio():
            query.close()
            raise RuntimeError(
                "an AsyncEngine runs on asyncio only (SQLAlchemy's asyncio extension); under "
                "trio give the Source a sync Engine (sqlalchemy.create_engine): its fetchers "
                "then run in a worker thread"
            )
        async with engine.connect() as conn:
            try:
                statement = next(query)
                while True:
                    statement = query.send((await conn.execute(statement)).all())
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            finally:
                query.close()

"""Databases for the ``sassi.sql.Source`` tests: SQLite and PostgreSQL, sync and async engines.

Importable as ``source_helpers`` (``tests/sql/`` is on ``sys.path``, as for ``sql_helpers``).

- :data:`KINDS` — ``sqlite`` (sync ``Engine`` on a file), ``sqlite+aiosqlite`` (``AsyncEngine``),
  ``postgresql`` (sync psycopg) and ``postgresql+async`` (async psycopg ``AsyncEngine``).
- :func:`open_db` — an admin sync engine (setup and writes: committed, so other connections see
  them) and the engine under test, over a private file (SQLite) or the real server (PostgreSQL).
- :class:`Person` / :func:`people_table` — the model and a table whose names differ from it
  (``person_id`` -> ``id``, ``full_name`` -> ``name``), with a soft-delete column.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.pool import NullPool

import sassi

__all__ = [
    "KINDS",
    "PEOPLE",
    "Db",
    "Person",
    "open_db",
    "people_table",
    "pg_sqlalchemy_url",
    "row_of",
]

KINDS = ["sqlite", "sqlite+aiosqlite", "postgresql", "postgresql+async"]


@sassi.cacheable(type_name="tests.sql.Person", watermark="version")
@dataclass(frozen=True, slots=True)
class Person:
    id: int
    name: str
    age: int | None
    score: float | None
    tags: sassi.JSON | None
    version: int


# (person, deleted)
PEOPLE: list[tuple[Person, bool]] = [
    (Person(1, "Ada", 36, 9.5, {"plan": "pro", "langs": ["en"]}, 10), False),
    (Person(2, "Émile", None, None, None, 11), False),
    (Person(3, "grace_100%", 85, 7.25, {"plan": "pro"}, 12), False),
    (Person(4, "Linus", 17, 3.0, {"plan": "free"}, 12), False),
    (Person(5, "Gone", 50, 1.0, None, 13), True),
    (Person(6, "Margaret", 33, None, {"plan": "free", "langs": []}, 14), False),
    (Person(7, "Old news", 70, 2.0, None, 9), True),
]


def people_table(name: str, metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("person_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("full_name", sa.Text, nullable=False),
        sa.Column("age", sa.Integer),
        sa.Column("score", sa.Float),
        sa.Column(
            "tags", sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False, default=False),
        sa.Column("note", sa.Text),  # read by nobody
    )


def row_of(person: Person, deleted: bool = False) -> dict[str, Any]:
    return {
        "person_id": person.id,
        "full_name": person.name,
        "age": person.age,
        "score": person.score,
        "tags": person.tags,
        "version": person.version,
        "deleted": deleted,
    }


def pg_sqlalchemy_url(url: str, driver: str = "psycopg") -> str:
    """``postgresql://...`` (what dev.py prints) -> a SQLAlchemy URL with the psycopg driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return f"postgresql+{driver}://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


@dataclass
class Db:
    """One database for a test: ``admin`` writes (committed), ``engine`` is under test."""

    kind: str
    admin: sa.Engine
    engine: Any  # sa.Engine | AsyncEngine
    table: sa.Table

    @property
    def is_async(self) -> bool:
        return not isinstance(self.engine, sa.Engine)

    @property
    def postgres(self) -> bool:
        return self.kind.startswith("postgresql")

    def load(self, people: Sequence[tuple[Person, bool]] = PEOPLE) -> None:
        with self.admin.begin() as conn:
            conn.execute(self.table.delete())
            if people:
                conn.execute(self.table.insert(), [row_of(p, d) for p, d in people])

    def change(self, person_id: int, **values: Any) -> None:
        with self.admin.begin() as conn:
            table = self.table
            conn.execute(table.update().where(table.c.person_id == person_id).values(**values))

    def execute(self, sql: str) -> list[Any]:
        with self.admin.begin() as conn:
            result = conn.exec_driver_sql(sql)
            return list(result.all()) if result.returns_rows else []


def open_db(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest | None = None
) -> Iterator[Db]:
    """A :class:`Db` of ``kind`` with an empty people table (dropped afterwards on PostgreSQL)."""
    metadata = sa.MetaData()
    table = people_table(f"people_{uuid.uuid4().hex[:10]}", metadata)
    if kind.startswith("sqlite"):
        path = tmp_path / "people.db"
        admin = sa.create_engine(f"sqlite:///{path}", poolclass=NullPool)
        url = f"sqlite+aiosqlite:///{path}" if kind == "sqlite+aiosqlite" else f"sqlite:///{path}"
    else:
        assert request is not None
        pg_url: str = request.getfixturevalue("pg_url")
        admin = sa.create_engine(pg_sqlalchemy_url(pg_url), poolclass=NullPool)
        url = pg_sqlalchemy_url(pg_url)
    if kind in ("sqlite+aiosqlite", "postgresql+async"):
        from sqlalchemy.ext.asyncio import create_async_engine

        engine: Any = create_async_engine(url, poolclass=NullPool)
    else:
        engine = sa.create_engine(url, poolclass=NullPool)
    metadata.create_all(admin)
    try:
        yield Db(kind, admin, engine, table)
    finally:
        if not kind.startswith("sqlite"):
            metadata.drop_all(admin)
        if isinstance(engine, sa.Engine):
            engine.dispose()
        else:
            engine.sync_engine.dispose()
        admin.dispose()

"""Database fixtures for the SQL lowering tests: one SQLite and one PostgreSQL connection each.

Every test module gets its own connection inside one transaction that is rolled back at the end,
so tables the tests create never outlive the module and parallel runs never see each other.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

# sql_helpers asserts too (evaluate == compile): give its failures pytest's detailed messages.
pytest.register_assert_rewrite("sql_helpers")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module's ``CASES`` — ``(engine kind, async library)`` pairs — parametrize its ``case``
    fixture (``test_source.py``, ``test_notify.py``)."""
    if "case" in metafunc.fixturenames:
        cases = metafunc.module.CASES
        metafunc.parametrize("case", cases, ids=["-".join(case) for case in cases])


@pytest.fixture
def anyio_backend(case: tuple[str, str]) -> str:
    """The async library of the module's ``case`` (the anyio tests here all take one)."""
    return case[1]


def _pg_sqlalchemy_url(url: str) -> str:
    """``postgresql://...`` (what dev.py prints) -> the psycopg 3 driver URL SQLAlchemy needs."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


@pytest.fixture(scope="module")
def sqlite_conn() -> Iterator[sa.Connection]:
    """A connection to a private in-memory SQLite database (module scope)."""
    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        yield conn
    engine.dispose()


@pytest.fixture(scope="module")
def pg_conn(pg_url: str) -> Iterator[sa.Connection]:
    """A connection to the real PostgreSQL server, inside one transaction rolled back at the end."""
    engine = sa.create_engine(_pg_sqlalchemy_url(pg_url))
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            yield conn
        finally:
            trans.rollback()
    engine.dispose()

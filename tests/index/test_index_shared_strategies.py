"""Indexed scopes against scans over the shared predicate strategies (every op, JSON included).

Uses ``tests/strategies.py`` (the predicate suite's generators): rows full of ``None``, NaN,
``-0.0``, big ints, non-ASCII text and JSON documents, and predicate trees over every op. Every
field of the model is indexed and the planner is told to use an index whenever one applies, so
each top-level ``==``/``in_``/``is_null``/range leaf goes through the index path.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sassi import Delta, Punnu
from sassi.predicate import And, Predicate
from strategies import ROW_FIELDS, Row, leaves, predicates, row_lists

FIELDS = ("id", "age", "score", "name", "flag", "payload")

_conjunctions = st.lists(leaves(), min_size=1, max_size=3).map(lambda cs: And(tuple(cs)))


def _pool(rows: list[Row]) -> Punnu[Row]:
    pool: Punnu[Row] = Punnu(Row, capacity=1000, indexes=FIELDS)
    pool._core.indexes.selectivity_limit = 1.0
    pool.apply_delta(Delta(items=tuple(rows)))
    return pool


def _check(pool: Punnu[Row], predicate: Predicate) -> None:
    indexed = pool.scope(predicate).collect()
    scanned = pool.scope().skip(0).where(predicate).collect()
    assert indexed == scanned, (predicate, pool.scope(predicate).explain())


@settings(max_examples=200, deadline=None)
@given(rows=row_lists(max_size=25), conjunction=_conjunctions, tree=predicates(max_leaves=5))
def test_indexed_equals_scan_on_shared_strategies(
    rows: list[Row], conjunction: Predicate, tree: Predicate
) -> None:
    pool = _pool(rows)
    _check(pool, conjunction)
    _check(pool, tree)
    _check(pool, conjunction & tree)


@settings(max_examples=100, deadline=None)
@given(
    first=row_lists(max_size=15),
    second=row_lists(max_size=15),
    conjunction=_conjunctions,
)
def test_replacing_rows_keeps_the_indexes_exact(
    first: list[Row], second: list[Row], conjunction: Predicate
) -> None:
    pool = _pool(first)
    pool.apply_delta(Delta(items=tuple(second), tombstones=tuple(r.id for r in first[::2])))
    _check(pool, conjunction)
    for name in FIELDS:
        assert set(pool._core.indexes.indexes[name]._key_of) == set(pool._core.store.map)
    assert ROW_FIELDS.age.name == "age"


COMPOSITES = (("age", "name"), ("flag", "score", "age"), ("name", "payload"))


def _composite_pool(rows: list[Row]) -> Punnu[Row]:
    """Only composite indexes, plus the id map every pool answers ``id`` terms from."""
    pool: Punnu[Row] = Punnu(Row, capacity=1000, indexes=COMPOSITES)
    pool._core.indexes.selectivity_limit = 1.0
    pool.apply_delta(Delta(items=tuple(rows)))
    return pool


_id_leaves = st.one_of(
    st.integers(-2, 30).map(lambda k: ROW_FIELDS.id == k),
    st.lists(st.integers(-2, 30), max_size=5).map(ROW_FIELDS.id.in_),
)


@settings(max_examples=200, deadline=None)
@given(
    rows=row_lists(max_size=25),
    conjunction=st.lists(leaves(), min_size=1, max_size=4).map(lambda cs: And(tuple(cs))),
    ident=_id_leaves,
)
def test_composite_indexes_and_id_terms_equal_scan(
    rows: list[Row], conjunction: Predicate, ident: Predicate
) -> None:
    pool = _composite_pool(rows)
    _check(pool, conjunction)
    _check(pool, ident)
    _check(pool, ident & conjunction)
    _check(pool, conjunction & ident)
    pool.apply_delta(Delta(items=tuple(rows[::3]), tombstones=tuple(r.id for r in rows[1::3])))
    _check(pool, conjunction)
    for composite in pool._core.indexes.composites.values():
        assert composite.ids() == set(pool._core.store.map)

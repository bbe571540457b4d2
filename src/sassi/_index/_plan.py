"""``IndexSet`` (a pool's indexes, its store observer) and the planner that picks an index."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .._store import Store
from ..predicate import And, Const, FieldPredicate, Predicate
from ._field import HASH_OPS, INDEXABLE_OPS, FieldIndex

__all__ = [
    "INTERSECT_LIMIT",
    "SELECTIVITY_LIMIT",
    "SMALL_POOL",
    "IndexSet",
    "Plan",
    "conjuncts",
    "leading_predicates",
    "plan",
]

#: Use an index only when its estimate is at most this fraction of the residents. A scan reads
#: the residents in memory order at ~50-100 ns each; an index candidate costs several random
#: memory accesses (bucket, entry, value), ~1-4 us on a busy machine with small caches, so the
#: break-even sits at a few percent (measured: 1% of 200k -> index 2.3x faster; 5% -> 1.9x
#: slower).
SELECTIVITY_LIMIT: Final = 0.02

#: A pool of at most this many residents uses an applicable index whatever its selectivity:
#: both paths take microseconds there, and ``scope.explain()`` stays predictable.
SMALL_POOL: Final = 512

#: Further ``==``/``in_``/``is_null`` terms narrow the chosen candidates (C-level set
#: intersections, at most ``O(candidates)`` each). When no single term is selective enough, a
#: hash term estimated at most at this fraction of the residents is still materialised if the
#: terms together are expected (assuming independence) to be selective enough.
INTERSECT_LIMIT: Final = 0.25


class IndexSet:
    """The secondary indexes of one pool: the observer its store calls on every mutation.

    Not thread-safe by itself: the store calls it under its write lock, and the planner must run
    under the same lock (or on a state that does not change meanwhile).

    :param fields: the field names to index (duplicates are ignored).
    :param selectivity_limit: use an index only when its estimate is at most this fraction of
        the residents (``1.0``: whenever one applies).
    """

    __slots__ = ("_indexes", "selectivity_limit")

    def __init__(self, fields: Iterable[str], selectivity_limit: float = SELECTIVITY_LIMIT) -> None:
        self._indexes: dict[str, FieldIndex] = {name: FieldIndex(name) for name in fields}
        self.selectivity_limit = selectivity_limit

    def __bool__(self) -> bool:
        return bool(self._indexes)

    def __contains__(self, field: object) -> bool:
        return field in self._indexes

    @property
    def fields(self) -> tuple[str, ...]:
        """The indexed field names, in declaration order."""
        return tuple(self._indexes)

    @property
    def indexes(self) -> Mapping[str, FieldIndex]:
        """Field name -> :class:`FieldIndex`."""
        return self._indexes

    def on_put(self, ident: Hashable, old: object, new: object) -> None:
        """A value was stored under ``ident`` (``old`` is the previous resident or ``None``)."""
        for index in self._indexes.values():
            index.add(ident, new)

    def on_remove(self, ident: Hashable, old: object) -> None:
        """The resident under ``ident`` was removed."""
        for index in self._indexes.values():
            index.discard(ident)

    def on_clear(self) -> None:
        """Every resident was removed at once."""
        for index in self._indexes.values():
            index.clear()

    # -- the pool's side: scopes ---------------------------------------------------------------

    def plan_ops(self, store: Store, ops: Sequence[Any]) -> Plan:
        """Plan the leading ``where`` ops of a scope (call under the pool's write lock).

        :param store: the pool's store.
        :param ops: the scope's ``MemQ`` ops, in order.
        :returns: the :class:`Plan` (a scan plan when there is no leading ``where``).
        """
        predicates = leading_predicates(ops)
        total = len(store)
        if not predicates:
            return Plan(None, None, None, And(()), total, reason="no-where")
        return plan(predicates, self, total, selectivity_limit=self.selectivity_limit)

    def source(self, store: Store, ops: Sequence[Any], now: float) -> list[Any] | None:
        """The values a scope starts from when an index applies, else ``None`` (snapshot all).

        Call under the pool's write lock. The result holds every unexpired candidate in the
        order of the store's dense ``values`` list (the order ``Store.snapshot`` uses when
        nothing is expired); the scope still runs all its ops (the leading ``where`` ops
        re-check every candidate), so it yields exactly the values a scan yields.

        :param store: the pool's store.
        :param ops: the scope's ``MemQ`` ops, in order.
        :param now: the pool clock's current reading.
        :returns: the candidate values, or ``None`` when the scope should scan.
        """
        candidates = self.plan_ops(store, ops).candidates
        if candidates is None:
            return None
        entries = store.map
        rows: list[tuple[int, Any]] = []
        append = rows.append
        for ident in candidates:
            entry = entries.get(ident)
            if entry is not None:
                deadline = entry.deadline
                if deadline is None or deadline > now:
                    append((entry.pos, entry.value))
        rows.sort()  # positions are unique, so values are never compared
        return [value for _, value in rows]


def leading_predicates(ops: Sequence[Any]) -> list[Predicate]:
    """The predicates of the ``where`` ops a scope starts with (later ones are never hoisted).

    :param ops: ``MemQ`` ops (anything with ``kind`` and ``arg``).
    :returns: the predicates, in order.
    """
    out: list[Predicate] = []
    for op in ops:
        if getattr(op, "kind", None) != "where" or not isinstance(op.arg, Predicate):
            break
        out.append(op.arg)
    return out


@dataclass(frozen=True, slots=True)
class Plan:
    """How a scope's leading predicates will be answered.

    :param index: the indexed field used, or ``None`` for a scan.
    :param term: the leaf the index answered (or judged not selective enough), or ``None``.
    :param candidates: ids that may match (a superset), or ``None`` for a scan.
    :param residual: the predicate to run over the candidates (or every resident when
        scanning): the whole conjunction, the indexed term included, so results equal a scan.
    :param total: the number of residents a scan would visit.
    :param estimate: the chosen term's estimated candidate count (``-1`` when none).
    :param reason: why the plan scans (``"no-where" "no-indexes" "no-term" "not-selective"
        "declined"``), ``"false"`` for a ``FALSE`` conjunct, ``"index"`` otherwise.
    :param also: further ``==``/``in_``/``is_null`` terms whose index lookups were intersected
        with the first one's candidates.
    """

    index: str | None
    term: FieldPredicate | None
    candidates: set[Any] | None
    residual: Predicate
    total: int = 0
    estimate: int = -1
    reason: str = "index"
    also: tuple[FieldPredicate, ...] = ()

    @property
    def explain(self) -> str:
        """One human-readable line naming the index used, or why the query scans."""
        total = self.total
        reason = self.reason
        if reason == "index" and self.term is not None and self.candidates is not None:
            joined = "".join(
                f", intersected with index {t.field!r} for {_describe(t)}" for t in self.also
            )
            return (
                f"index {self.index!r} for {_describe(self.term)}{joined}: "
                f"{len(self.candidates)} candidates of {total} residents"
            )
        if reason == "false":
            return "empty: the conjunction contains FALSE"
        if reason == "not-selective" and self.term is not None:
            return (
                f"scan {total} residents: index {self.term.field!r} not selective enough for "
                f"{_describe(self.term)} (~{self.estimate} candidates)"
            )
        why = {
            "no-where": "no leading where",
            "no-indexes": "no indexes",
            "no-term": "no indexed term",
            "declined": "index declined",
        }.get(reason, reason)
        return f"scan {total} residents: {why}"


def _describe(term: FieldPredicate) -> str:
    """``repr(term)``, or a plain rendering if the predicate repr is unavailable."""
    try:
        return repr(term)
    except Exception:
        prefix = "present " if term.present else ""
        return f"{prefix}{term.field} {term.op.value} {term.value!r}"


def conjuncts(predicates: Iterable[Predicate]) -> list[Predicate]:
    """The top-level terms of the conjunction of ``predicates`` (nested ``And`` flattened)."""
    out: list[Predicate] = []
    stack = list(predicates)
    stack.reverse()
    while stack:
        node = stack.pop()
        if isinstance(node, And):
            stack.extend(reversed(node.children))
        else:
            out.append(node)
    return out


def plan(
    predicates: Sequence[Predicate],
    indexes: IndexSet | Mapping[str, FieldIndex],
    total: int,
    *,
    selectivity_limit: float = SELECTIVITY_LIMIT,
) -> Plan:
    """Choose an index (or a scan) for the conjunction of ``predicates``.

    Every top-level leaf on an indexed field with an indexable op (``== in_ is_null < <= > >=
    between``) is estimated. The smallest estimate wins when ``total`` is at most
    :data:`SMALL_POOL`, when it is at most ``selectivity_limit`` of ``total``, or when it is an
    ``==``/``in_``/``is_null`` leaf of at most :data:`INTERSECT_LIMIT` of ``total`` and all
    equality leaves together are expected to be that selective. Every other equality leaf then
    narrows the candidates (:meth:`FieldIndex.restrict`). A top-level ``FALSE`` yields no
    candidates at all.

    :param predicates: the scope's leading predicates (ANDed).
    :param indexes: the pool's indexes.
    :param total: the number of residents (what a scan would visit).
    :param selectivity_limit: the largest candidate fraction for which an index beats a scan.
    :returns: the :class:`Plan`; its ``residual`` is the whole conjunction.
    """
    terms = conjuncts(predicates)
    residual: Predicate = terms[0] if len(terms) == 1 else And(tuple(terms))
    by_field = indexes.indexes if isinstance(indexes, IndexSet) else indexes
    if any(isinstance(t, Const) and not t.value for t in terms):
        return Plan(None, None, set(), residual, total, 0, "false")
    ranked: list[tuple[int, FieldPredicate, FieldIndex]] = []
    for term in terms:
        if not isinstance(term, FieldPredicate) or term.op not in INDEXABLE_OPS:
            continue
        index = by_field.get(term.field)
        if index is None:
            continue
        estimate = index.estimate(term)
        if estimate is not None:
            ranked.append((estimate, term, index))
    if not ranked:
        reason = "no-term" if by_field else "no-indexes"
        return Plan(None, None, None, residual, total, reason=reason)
    ranked.sort(key=_estimate_of)  # stable: ties keep the order written
    estimate, term, index = ranked[0]
    # Other hash terms narrow the candidates with C-level set intersections.
    cheap = [r for r in ranked[1:] if r[1].op in HASH_OPS]
    limit = float("inf") if total <= SMALL_POOL else total * selectivity_limit
    if estimate > limit:
        # Independent terms may still intersect down to few candidates.
        combined = float(estimate)
        for other, _, _ in cheap:
            combined *= other / max(total, 1)
        if term.op not in HASH_OPS or estimate > total * INTERSECT_LIMIT or combined > limit:
            return Plan(None, term, None, residual, total, estimate, "not-selective")
    candidates = index.lookup(term)
    if candidates is None:  # estimate and lookup agree on declining; kept for safety
        return Plan(None, term, None, residual, total, estimate, "declined")
    also: list[FieldPredicate] = []
    for _, other_term, other_index in cheap:
        if not candidates:
            break
        narrowed = other_index.restrict(other_term, candidates)
        if narrowed is not None:
            candidates = narrowed
            also.append(other_term)
    return Plan(index.field, term, candidates, residual, total, estimate, also=tuple(also))


def _estimate_of(ranked: tuple[int, FieldPredicate, FieldIndex]) -> int:
    return ranked[0]

"""The planner: which index (or the pool's id map, or a scan) answers a scope's predicates."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, Final, Protocol

from .._store import Entry
from ..predicate import And, Const, FieldPredicate, LookupOp, Predicate
from ._composite import CompositeIndex
from ._field import HASH_OPS, INDEXABLE_OPS, FieldIndex, hash_keys

__all__ = [
    "INTERSECT_LIMIT",
    "SELECTIVITY_LIMIT",
    "SMALL_POOL",
    "Indexes",
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


class Plan:
    """How a scope's leading predicates will be answered.

    :param index: what answered: a field name, a tuple of field names (a composite index), the
        id field (``reason == "id"``: the pool's own map), or ``None`` for a scan.
    :param term: the leaf the index answered (or judged not selective enough), or ``None``; for
        a composite index, its first term.
    :param candidates: the store entries that may match (a superset, each once), or ``None``
        for a scan.
    :param residual: the predicate to run over the candidates (or every resident when
        scanning): the whole conjunction, the indexed terms included, so results equal a scan.
    :param total: the number of residents a scan would visit.
    :param estimate: the chosen term's estimated candidate count (``-1`` when none).
    :param reason: why the plan scans (``"no-where" "no-indexes" "no-term" "not-selective"
        "declined"``), ``"false"`` for a ``FALSE`` conjunct, ``"id"`` for the pool's map,
        ``"index"`` otherwise.
    :param also: further ``==``/``in_``/``is_null`` terms whose index lookups were intersected
        with the first one's candidates.
    :param used: every term the chosen index answered (several for a composite index).

    A plain slotted class, not a dataclass: the planner builds one per scope terminal, and a
    frozen dataclass's ``__init__`` costs microseconds. Treat it as read-only.
    """

    __slots__ = (
        "also",
        "candidates",
        "estimate",
        "index",
        "reason",
        "residual",
        "term",
        "total",
        "used",
    )

    def __init__(
        self,
        index: str | tuple[str, ...] | None,
        term: FieldPredicate | None,
        candidates: list[Entry] | None,
        residual: Predicate,
        total: int = 0,
        estimate: int = -1,
        reason: str = "index",
        also: tuple[FieldPredicate, ...] = (),
        used: tuple[FieldPredicate, ...] = (),
    ) -> None:
        self.index = index
        self.term = term
        self.candidates = candidates
        self.residual = residual
        self.total = total
        self.estimate = estimate
        self.reason = reason
        self.also = also
        self.used = used

    def __repr__(self) -> str:
        return f"<Plan {self.explain}>"

    @property
    def explain(self) -> str:
        """One human-readable line naming the index used, or why the query scans."""
        total = self.total
        reason = self.reason
        terms = " & ".join(_describe(t) for t in self.used or (self.term,) if t is not None)
        if reason in ("index", "id") and self.term is not None and self.candidates is not None:
            joined = "".join(
                f", intersected with index {t.field!r} for {_describe(t)}" for t in self.also
            )
            what = (
                f"id field {self.index!r} (the pool's map)"
                if reason == "id"
                else f"index {self.index!r}"
            )
            return (
                f"{what} for {terms}{joined}: "
                f"{len(self.candidates)} candidates of {total} residents"
            )
        if reason == "false":
            return "empty: the conjunction contains FALSE"
        if reason == "not-selective" and self.term is not None:
            name = self.index if isinstance(self.index, tuple) else self.term.field
            return (
                f"scan {total} residents: index {name!r} not selective enough for "
                f"{terms} (~{self.estimate} candidates)"
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


def _flatten(predicates: Sequence[Predicate]) -> tuple[list[Predicate], Predicate]:
    """The top-level terms and one predicate for their conjunction (reusing a flat ``And``)."""
    if len(predicates) == 1:
        only = predicates[0]
        if not isinstance(only, And):
            return [only], only
        children = only.children
        if not any(isinstance(child, And) for child in children):
            return list(children), (children[0] if len(children) == 1 else only)
    terms = conjuncts(predicates)  # nested And nodes, or several predicates: one new node
    return terms, (terms[0] if len(terms) == 1 else And(tuple(terms)))


_ID_OPS: Final = (LookupOp.EQ, LookupOp.IN)  # a tuple: see HASH_OPS


class Indexes(Protocol):
    """What :func:`plan` reads from an :class:`~sassi._index.IndexSet`."""

    @property
    def indexes(self) -> Mapping[str, FieldIndex]: ...

    @property
    def composites(self) -> Mapping[tuple[str, ...], CompositeIndex]: ...


class _Choice:
    """One way to get candidates: an estimate now, the lookup only if chosen."""

    __slots__ = ("estimate", "lookup", "name", "reason", "terms")

    def __init__(
        self,
        name: str | tuple[str, ...],
        terms: tuple[FieldPredicate, ...],
        estimate: int,
        lookup: Callable[[], list[Entry] | None],
        reason: str = "index",
    ) -> None:
        self.name = name
        self.terms = terms
        self.estimate = estimate
        self.lookup = lookup
        self.reason = reason

    @property
    def hashed(self) -> bool:
        """Whether every term is an ``==``/``in_``/``is_null`` (cheap to materialise)."""
        return all(t.op in HASH_OPS for t in self.terms)


def _id_choice(
    terms: list[FieldPredicate], ids: Mapping[Hashable, Entry], id_field: str
) -> _Choice | None:
    """``F.id == k`` / ``F.id.in_(ks)``: the entries of the operands that are resident."""
    best: _Choice | None = None
    for term in terms:
        if term.field != id_field or term.op not in _ID_OPS:
            continue
        keys = hash_keys(term)
        if keys is None:
            continue
        try:
            found = [ids[k] for k in keys if k in ids]
        except TypeError:  # an operand a dict cannot hash: the predicate decides
            continue
        if best is None or len(found) < best.estimate:
            best = _Choice(id_field, (term,), len(found), found.copy, "id")
    return best


def _choices(
    terms: list[Predicate],
    by_field: Mapping[str, FieldIndex],
    composites: Mapping[tuple[str, ...], CompositeIndex],
    ids: Mapping[Hashable, Entry] | None,
    id_field: str | None,
) -> list[_Choice]:
    """Every index (and the id map) that can answer some top-level term, with estimates."""
    leaves = [t for t in terms if isinstance(t, FieldPredicate) and t.op in INDEXABLE_OPS]
    out: list[_Choice] = []
    if ids is not None and id_field is not None:
        by_id = _id_choice(leaves, ids, id_field)
        if by_id is not None:
            out.append(by_id)
    for leaf in leaves:
        index = by_field.get(leaf.field)
        if index is None:
            continue
        estimate = index.estimate(leaf)
        if estimate is not None:
            out.append(_Choice(index.field, (leaf,), estimate, _bind(index.lookup, leaf)))
    if composites:
        grouped: dict[str, list[FieldPredicate]] = {}
        for leaf in leaves:
            grouped.setdefault(leaf.field, []).append(leaf)
        for fields, composite in composites.items():
            used = composite.match(grouped)
            if used is None:
                continue
            walk = composite.walk(used)
            if walk is not None:
                out.append(_Choice(fields, tuple(used), walk.estimate, walk.lookup))
    return out


def _bind(fn: Callable[[Any], list[Entry] | None], arg: Any) -> Callable[[], list[Entry] | None]:
    return lambda: fn(arg)


def plan(
    predicates: Sequence[Predicate],
    indexes: Indexes | Mapping[str, FieldIndex],
    total: int,
    *,
    selectivity_limit: float = SELECTIVITY_LIMIT,
    ids: Mapping[Hashable, Entry] | None = None,
    id_field: str | None = None,
) -> Plan:
    """Choose an index, the pool's id map, or a scan for the conjunction of ``predicates``.

    Candidates come from: ``==``/``in_`` leaves on the id field (with ``ids``, the pool's map:
    no declared index needed); composite indexes (equality on leading fields, then equality or
    a range on the next one); every top-level leaf on an indexed field with an indexable op
    (``== in_ is_null < <= > >= between``). The smallest estimate wins when ``total`` is at most
    :data:`SMALL_POOL`, when it is at most ``selectivity_limit`` of ``total``, or when it is an
    all-equality choice of at most :data:`INTERSECT_LIMIT` of ``total`` and all equality leaves
    together are expected to be that selective. Every other equality leaf on a single-field
    index then narrows the candidates (:meth:`FieldIndex.restrict`, smallest first). A
    top-level ``FALSE`` yields no candidates at all.

    :param predicates: the scope's leading predicates (ANDed).
    :param indexes: the pool's indexes (an ``IndexSet``, or field name -> ``FieldIndex``).
    :param total: the number of residents (what a scan would visit).
    :param selectivity_limit: the largest candidate fraction for which an index beats a scan.
    :param ids: the pool's map (id -> entry), for terms on ``id_field``.
    :param id_field: the model's identity field.
    :returns: the :class:`Plan`; its ``residual`` is the whole conjunction.
    """
    terms, residual = _flatten(predicates)
    by_field: Mapping[str, FieldIndex]
    composites: Mapping[tuple[str, ...], CompositeIndex]
    found: Mapping[tuple[str, ...], CompositeIndex] | None = getattr(indexes, "composites", None)
    if found is not None:  # the pool's IndexSet (no ABC isinstance check on the query path)
        by_field, composites = indexes.indexes, found  # type: ignore[union-attr]
    else:
        by_field, composites = indexes, {}  # type: ignore[assignment]
    if any(isinstance(t, Const) and not t.value for t in terms):
        return Plan(None, None, [], residual, total, 0, "false")
    ranked = _choices(terms, by_field, composites, ids, id_field)
    if not ranked:
        reason = "no-term" if by_field or composites else "no-indexes"
        return Plan(None, None, None, residual, total, reason=reason)
    ranked.sort(key=_estimate_of)  # stable: ties keep the order above (id, field, composite)
    chosen = ranked[0]
    estimate, term = chosen.estimate, chosen.terms[0]
    # Other single-field hash terms narrow the candidates with C-level set intersections.
    cheap = [r for r in ranked[1:] if r.reason == "index" and isinstance(r.name, str) and r.hashed]
    cheap = [r for r in cheap if all(r.terms[0] is not t for t in chosen.terms)]
    limit = float("inf") if total <= SMALL_POOL else total * selectivity_limit
    if estimate > limit:
        # Independent terms may still intersect down to few candidates.
        combined = float(estimate)
        for other in cheap:
            combined *= other.estimate / max(total, 1)
        if not chosen.hashed or estimate > total * INTERSECT_LIMIT or combined > limit:
            return Plan(
                chosen.name if len(chosen.terms) > 1 else None,
                term,
                None,
                residual,
                total,
                estimate,
                "not-selective",
                used=chosen.terms if len(chosen.terms) > 1 else (),
            )
    candidates = chosen.lookup()
    if candidates is None:  # estimate and lookup agree on declining; kept for safety
        return Plan(None, term, None, residual, total, estimate, "declined")
    also: list[FieldPredicate] = []
    for other in cheap:
        if not candidates:
            break
        other_term = other.terms[0]
        narrowed = by_field[other_term.field].restrict(other_term, candidates)
        if narrowed is not None:
            candidates = narrowed
            also.append(other_term)
    return Plan(
        chosen.name,
        term,
        candidates,
        residual,
        total,
        estimate,
        chosen.reason,
        also=tuple(also),
        used=chosen.terms if len(chosen.terms) > 1 else (),
    )


def _estimate_of(choice: _Choice) -> int:
    return choice.estimate

"""``IndexSet``: the secondary indexes of one pool (its store observer) and its scope source."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

from .._store import Entry, Store
from ..predicate import And
from ._composite import CompositeIndex
from ._field import FieldIndex
from ._plan import SELECTIVITY_LIMIT, Plan, leading_predicates, plan

__all__ = ["IndexSet", "IndexSpec"]

IndexSpec = str | tuple[str, ...]
"""One entry of ``indexes=``: a field name, or a tuple of field names (a composite index)."""


class IndexSet:
    """The secondary indexes of one pool: the observer its store calls on every mutation.

    Not thread-safe by itself: the store calls it under its write lock, and the planner must run
    under the same lock (or on a state that does not change meanwhile).

    :param specs: the indexes: field names, and tuples of field names for composite indexes
        (duplicates are ignored; a one-field tuple is that field's plain index).
    :param selectivity_limit: use an index only when its estimate is at most this fraction of
        the residents (``1.0``: whenever one applies).
    :param id_field: the model's identity field: ``==``/``in_`` terms on it are answered from
        the pool's map (``None``: never).
    """

    __slots__ = ("_composites", "_indexes", "_specs", "id_field", "selectivity_limit")

    def __init__(
        self,
        specs: Iterable[IndexSpec],
        selectivity_limit: float = SELECTIVITY_LIMIT,
        id_field: str | None = None,
    ) -> None:
        self._indexes: dict[str, FieldIndex] = {}
        self._composites: dict[tuple[str, ...], CompositeIndex] = {}
        self._specs: list[IndexSpec] = []
        for spec in specs:
            if isinstance(spec, tuple) and len(spec) == 1:
                spec = spec[0]
            if isinstance(spec, str):
                if spec not in self._indexes:
                    self._indexes[spec] = FieldIndex(spec)
                    self._specs.append(spec)
            elif spec not in self._composites:
                self._composites[spec] = CompositeIndex(spec)
                self._specs.append(spec)
        self.selectivity_limit = selectivity_limit
        self.id_field = id_field

    def __bool__(self) -> bool:
        """Whether any index is declared (the store then notifies this set)."""
        return bool(self._indexes) or bool(self._composites)

    def __contains__(self, field: object) -> bool:
        return field in self._indexes or field in self._composites

    @property
    def fields(self) -> tuple[IndexSpec, ...]:
        """The declared indexes, in declaration order (tuples for composite ones)."""
        return tuple(self._specs)

    @property
    def indexes(self) -> Mapping[str, FieldIndex]:
        """Field name -> :class:`FieldIndex` (the single-field indexes)."""
        return self._indexes

    @property
    def composites(self) -> Mapping[tuple[str, ...], CompositeIndex]:
        """Field names -> :class:`CompositeIndex`."""
        return self._composites

    def on_put(self, ident: Hashable, old: Entry | None, new: Entry) -> None:
        """The entry ``new`` was stored under ``ident`` (``old``: the one it replaced)."""
        for index in self._indexes.values():
            index.add(new)
        for composite in self._composites.values():
            composite.add(new)

    def on_remove(self, ident: Hashable, old: Entry) -> None:
        """The resident under ``ident`` was removed."""
        for index in self._indexes.values():
            index.discard(ident)
        for composite in self._composites.values():
            composite.discard(ident)

    def on_clear(self) -> None:
        """Every resident was removed at once."""
        for index in self._indexes.values():
            index.clear()
        for composite in self._composites.values():
            composite.clear()

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
        return plan(
            predicates,
            self,
            total,
            selectivity_limit=self.selectivity_limit,
            ids=store.map if self.id_field is not None else None,
            id_field=self.id_field,
        )

    def source(self, store: Store, ops: Sequence[Any], now: float) -> list[Any] | None:
        """The values a scope starts from when an index applies, else ``None`` (snapshot all).

        Call under the pool's write lock. The result holds every unexpired candidate in the
        order of the store's dense ``values`` list (the order a scan visits them). The indexes
        file the store's entries themselves, so a candidate costs no map lookup; buckets keep
        their entries in filing order, which is the pool's order until removals (swap-removes)
        or moves between buckets shuffle it: the candidates are read in one pass that checks
        their positions ascend, and only when they do not (or several buckets were merged) are
        their positions (plain ints) sorted. The scope still runs all its ops (the leading
        ``where`` ops re-check every candidate), so it yields exactly the values a scan yields,
        in the same order.

        :param store: the pool's store.
        :param ops: the scope's ``MemQ`` ops, in order.
        :param now: the pool clock's current reading.
        :returns: the candidate values, or ``None`` when the scope should scan.
        """
        candidates = self.plan_ops(store, ops).candidates
        if candidates is None:
            return None
        if store.timed:  # some resident has a deadline: drop the expired candidates
            live: list[Entry] = []
            for entry in candidates:
                deadline = entry.deadline
                if deadline is None or deadline > now:
                    live.append(entry)
            candidates = live
        out: list[Any] = []
        append = out.append
        last = -1
        for entry in candidates:
            pos = entry.pos
            if pos < last:
                return _in_pool_order(candidates, store.values)
            last = pos
            append(entry.value)
        return out


def _in_pool_order(candidates: list[Entry], values: list[Any]) -> list[Any]:
    """The candidates' values in the order of ``values`` (sorting their positions)."""
    positions = [entry.pos for entry in candidates]
    positions.sort()
    return [values[pos] for pos in positions]

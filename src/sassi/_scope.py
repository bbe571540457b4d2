"""Lazy queries over a pool: the ``Scope`` that strings ``MemQ`` ops together.

A :class:`Scope` is an immutable list of ops (:class:`~sassi.MemQ`, :mod:`sassi._memq`) bound to
a pool core; every chained call returns a new scope with one more op, and ops always run in the
order written. Nothing happens until a terminal (``collect``, ``iter``, ``first``, ``count``,
``exists``): it takes its input from the pool atomically (a concurrent ``apply_delta`` is seen
entirely or not at all), then applies the ops outside any lock. A scope never changes recency,
emits events or mutates the pool.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from ._core import PoolCore
from ._memq import MemQ
from .predicate import And, Predicate, SupportsPredicate, as_predicate

__all__ = ["MemQ", "Scope", "explain", "source"]

T = TypeVar("T")


def source(core: PoolCore[Any], ops: Sequence[MemQ]) -> tuple[list[Any], Sequence[MemQ]]:
    """How a scope with ``ops`` gets its input, under the lock: ``(items, remaining ops)``.

    Index candidates when an index applies (all ops still run); else, when nothing is expired
    and the first op is a ``where``, that scan run in place over the resident list (the
    remaining ops returned); else a snapshot of the unexpired values and all ops.
    """
    with core.lock:
        now = core.clock()
        # declared indexes, or ==/in_ on the id field (the map itself): the planner decides
        candidates = core.indexes.source(core.store, ops, now)
        if candidates is not None:  # leading where ops still run over the candidates
            return candidates, ops
        store = core.store
        if ops and ops[0].kind == "where" and not store.any_expired(now):
            # A leading predicate scans the resident list in place, under the lock: its
            # output is the only copy made. A compiled predicate only reads fields and
            # compares operands, so holding the lock for the scan is short and safe.
            values = store.values
            matched = ops[0].fn_for(core.never_none)(values)
            return (matched if matched is not values else values.copy()), ops[1:]
        return store.snapshot(now), ops


def explain(core: PoolCore[Any], ops: Sequence[MemQ]) -> str:
    """One line: how a scope with ``ops`` reads the pool (which index, or a scan)."""
    with core.lock:
        return core.indexes.plan_ops(core.store, ops).explain


class Scope(Generic[T]):
    """A lazy, immutable query over one pool. Each builder returns a new scope.

    Build with :meth:`sassi.Punnu.scope`. Terminals snapshot the pool when they run.
    """

    __slots__ = ("_core", "_ops")

    def __init__(self, core: PoolCore[T], ops: Sequence[MemQ] = ()) -> None:
        self._core = core
        self._ops: tuple[MemQ, ...] = tuple(ops)

    @property
    def ops(self) -> tuple[MemQ, ...]:
        """The ops in the order they run."""
        return self._ops

    def _with(self, op: MemQ) -> Scope[T]:
        return Scope(self._core, (*self._ops, op))

    # builders -------------------------------------------------------------------------------

    def where(self, *predicates: Predicate | SupportsPredicate) -> Scope[T]:
        """Keep the values matching every predicate (ANDed; evaluated by compiled code).

        :param predicates: one or more predicates over the pool's model.
        :returns: a new scope with this op appended.
        :raises TypeError: when an argument is not a sassi predicate.
        """
        checked = [as_predicate(p, what="where()") for p in predicates]
        if len(checked) == 1:
            return self._with(MemQ.where(checked[0]))
        return self._with(MemQ.where(And(tuple(checked))))

    def filter(self, fn: Callable[[T], object]) -> Scope[T]:
        """Keep the values for which ``fn`` is truthy.

        An exception raised by ``fn`` excludes that value and never aborts the query.

        :param fn: ``value -> truthy``.
        :returns: a new scope with this op appended.
        :raises TypeError: when ``fn`` is not callable.
        """
        return self._with(MemQ.filter(fn))

    def map(self, fn: Callable[[T], Any]) -> Scope[Any]:
        """Replace each value with ``fn(value)``.

        :param fn: the transformation.
        :returns: a new scope with this op appended.
        :raises TypeError: when ``fn`` is not callable.
        """
        return self._with(MemQ.map(fn))

    def flat_map(self, fn: Callable[[T], Iterable[Any]]) -> Scope[Any]:
        """Replace each value with the items of ``fn(value)`` (an empty result drops it).

        :param fn: ``value -> iterable``.
        :returns: a new scope with this op appended.
        :raises TypeError: when ``fn`` is not callable.
        """
        return self._with(MemQ.flat_map(fn))

    def take(self, n: int) -> Scope[T]:
        """Keep the first ``n`` values (at this point of the op list).

        :param n: how many, ``>= 0``.
        :returns: a new scope with this op appended.
        :raises ValueError: when ``n < 0``.
        """
        return self._with(MemQ.take(n))

    def skip(self, n: int) -> Scope[T]:
        """Drop the first ``n`` values (at this point of the op list).

        :param n: how many, ``>= 0``.
        :returns: a new scope with this op appended.
        :raises ValueError: when ``n < 0``.
        """
        return self._with(MemQ.skip(n))

    def chain(self, values: Iterable[T]) -> Scope[T]:
        """Append ``values`` (read once, now) to the sequence; they never enter the pool.

        :param values: the extra values.
        :returns: a new scope with this op appended.
        """
        return self._with(MemQ.chain(values))

    def sort(self, key: Any = None, *, reverse: bool = False) -> Scope[T]:
        """Stable sort by ``key``: a callable, a ``Field`` (``None`` sorts first) or by id.

        :param key: ``None`` (by id), a callable or a ``Field``.
        :param reverse: descending order.
        :returns: a new scope with this op appended.
        :raises TypeError: when ``key`` is neither callable nor a ``Field``.
        """
        return self._with(MemQ.sort(key, reverse=reverse))

    def unique(self, key: Any = None) -> Scope[T]:
        """Keep the first value per key.

        :param key: ``None`` (by id), a callable or a ``Field``.
        :returns: a new scope with this op appended.
        """
        return self._with(MemQ.unique(key))

    def group_by(self, key: Any) -> Scope[T]:
        """Bucket the values by ``key`` in first-seen key order, then flatten the buckets.

        :param key: a callable or a ``Field``.
        :returns: a new scope with this op appended.
        """
        return self._with(MemQ.group_by(key))

    def partition(self, fn: Callable[[T], object]) -> Scope[T]:
        """Reorder: values matching ``fn`` first, then the rest, both stable.

        A raising ``fn`` counts as no match.

        :param fn: ``value -> truthy``.
        :returns: a new scope with this op appended.
        """
        return self._with(MemQ.partition(fn))

    def fold(self, fn: Callable[[list[T]], T | None]) -> Scope[T]:
        """Reduce the whole sequence to zero or one value with ``fn(list) -> value | None``.

        :param fn: the reducer.
        :returns: a new scope with this op appended.
        """
        return self._with(MemQ.fold(fn))

    def then(self, op: MemQ) -> Scope[T]:
        """Append a prebuilt :class:`MemQ` op.

        :param op: the op.
        :returns: a new scope with this op appended.
        :raises TypeError: when ``op`` is not a ``MemQ``.
        """
        if not isinstance(op, MemQ):
            raise TypeError(f"then() needs a MemQ, got {op!r}")
        return self._with(op)

    def filter_impl(self, proto: type) -> Scope[T]:
        """Assert the pool's model is registered for ``proto``; the scope is otherwise unchanged.

        :raises TypeError: when the model is not registered for ``proto``.
        """
        from ._traits import require_impl

        require_impl(self._core.model, proto)
        return self

    # terminals ------------------------------------------------------------------------------

    def collect(self) -> list[T]:
        """Snapshot the pool's unexpired values and run the ops.

        :returns: the resulting values.
        """
        items, ops = source(self._core, self._ops)
        never_none = self._core.never_none  # guards the model's annotations rule out
        for op in ops:
            items = op.fn_for(never_none)(items)
        return items

    def __iter__(self) -> Iterator[T]:
        return iter(self.collect())

    def explain(self) -> str:
        """How the leading ``where`` predicates will be answered: which index, or a scan.

        :returns: one human-readable line, e.g.
            ``index 'email' for F.email == 'a@x': 1 candidates of 200000 residents``.
        """
        return explain(self._core, self._ops)

    def first(self) -> T | None:
        """The first value after all ops, or ``None``."""
        result = self._with(MemQ.take(1)).collect()
        return result[0] if result else None

    def count(self) -> int:
        """How many values the scope yields."""
        return len(self.collect())

    def exists(self) -> bool:
        """Whether the scope yields at least one value."""
        return bool(self._with(MemQ.take(1)).collect())

    def __repr__(self) -> str:
        ops = ", ".join(repr(op) for op in self._ops)
        return f"<Scope of {self._core.model.__qualname__} [{ops}]>"

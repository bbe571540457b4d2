"""Lazy queries over a pool: ``MemQ`` ops and the ``Scope`` that strings them together.

A :class:`MemQ` is one in-memory op over a list of values (``op.apply(items) -> list``). A
:class:`Scope` is an immutable list of ops bound to a pool; every chained call returns a new
scope with one more op, and ops always run in the order written. Nothing happens until a
terminal (``collect``, ``iter``, ``first``, ``count``, ``exists``): it snapshots the pool's
unexpired residents atomically (a concurrent ``apply_delta`` is seen entirely or not at all),
then applies the ops outside any lock. A scope never changes recency, emits events or mutates
the pool.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._model import model_info
from .predicate import And, Predicate

if TYPE_CHECKING:
    from ._punnu import Punnu

__all__ = ["MemQ", "Scope"]

T = TypeVar("T")

Op = Callable[[list[Any]], list[Any]]


def _key_function(key: Any) -> Callable[[Any], Any] | None:
    """A ``Field`` becomes its getter; a callable stays; ``None`` means "by id"."""
    if key is None:
        return None
    from .predicate._field import Field

    if isinstance(key, Field):
        return key.get
    if not callable(key):
        raise TypeError(f"a key must be a callable or a Field, got {key!r}")
    return key  # type: ignore[no-any-return]


def _id_key() -> Callable[[Any], Any]:
    """A key function returning each item's id; remembers the last class's id getter."""
    last: list[Any] = [None, None]

    def key(item: Any) -> Any:
        cls = type(item)
        if cls is not last[0]:
            last[0], last[1] = cls, model_info(cls).get_id
        return last[1](item)

    return key


def _none_first(getter: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def key(item: Any) -> tuple[int, Any]:
        value = getter(item)
        return (0, 0) if value is None else (1, value)

    return key


def _scan(predicate: Predicate) -> Op:
    from .predicate._codegen import compile_scan

    return compile_scan(predicate)


def _safe_filter(fn: Callable[[Any], object], items: list[Any]) -> list[Any]:
    out = []
    for item in items:
        try:
            keep = fn(item)
        except Exception:
            continue
        if keep:
            out.append(item)
    return out


def _group(key: Callable[[Any], Hashable], items: list[Any]) -> list[Any]:
    buckets: dict[Hashable, list[Any]] = {}
    for item in items:
        buckets.setdefault(key(item), []).append(item)
    return [item for bucket in buckets.values() for item in bucket]


def _partition(fn: Callable[[Any], object], items: list[Any]) -> list[Any]:
    yes: list[Any] = []
    no: list[Any] = []
    for item in items:
        try:
            matched = bool(fn(item))
        except Exception:
            matched = False
        (yes if matched else no).append(item)
    return yes + no


def _unique(key: Callable[[Any], Hashable], items: list[Any]) -> list[Any]:
    seen: set[Hashable] = set()
    out = []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


def _count(n: object, op: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{op}(n) needs an int, got {n!r}")
    if n < 0:
        raise ValueError(f"{op}(n) needs n >= 0, got {n}")
    return n


class MemQ:
    """One lazy in-memory op. Build with the static constructors; run with :meth:`apply`.

    ``MemQ.apply_all([MemQ.where(p), MemQ.sort(F.age), MemQ.take(3)], items)`` runs the ops in
    order over a list of values. Ops are plain data plus a function; they hold no pool.
    """

    __slots__ = ("_fn", "arg", "kind")

    def __init__(self, kind: str, arg: object, fn: Op) -> None:
        self.kind = kind
        self.arg = arg
        self._fn = fn

    def apply(self, items: Iterable[Any]) -> list[Any]:
        """Run this op over ``items``.

        :param items: the input values.
        :returns: a new list.
        """
        return self._fn(items if isinstance(items, list) else list(items))

    @staticmethod
    def apply_all(ops: Iterable[MemQ], items: Iterable[T]) -> list[T]:
        """Run ``ops`` strictly in order over ``items``.

        :param ops: the ops.
        :param items: the input values.
        :returns: the resulting list.
        """
        result: list[Any] = list(items)
        for op in ops:
            result = op._fn(result)
        return result

    def __repr__(self) -> str:
        return f"MemQ.{self.kind}({self.arg!r})"

    @staticmethod
    def where(predicate: Predicate) -> MemQ:
        """Keep the items ``predicate`` accepts."""
        if not isinstance(predicate, Predicate):
            raise TypeError(f"where() needs a sassi Predicate, got {predicate!r}")
        return MemQ("where", predicate, _scan(predicate))

    @staticmethod
    def filter(fn: Callable[[Any], object]) -> MemQ:
        """Keep the items for which ``fn`` is truthy; an item whose ``fn`` raises is dropped."""
        if not callable(fn):
            raise TypeError(f"filter() needs a callable, got {fn!r}")
        return MemQ("filter", fn, lambda items: _safe_filter(fn, items))

    @staticmethod
    def map(fn: Callable[[Any], Any]) -> MemQ:
        """Replace each item with ``fn(item)``."""
        if not callable(fn):
            raise TypeError(f"map() needs a callable, got {fn!r}")
        return MemQ("map", fn, lambda items: [fn(item) for item in items])

    @staticmethod
    def flat_map(fn: Callable[[Any], Iterable[Any]]) -> MemQ:
        """Replace each item with the items of ``fn(item)`` (an empty result drops it)."""
        if not callable(fn):
            raise TypeError(f"flat_map() needs a callable, got {fn!r}")
        return MemQ("flat_map", fn, lambda items: [out for item in items for out in fn(item)])

    @staticmethod
    def take(n: int) -> MemQ:
        """Keep the first ``n`` items."""
        count = _count(n, "take")
        return MemQ("take", count, lambda items: items[:count])

    @staticmethod
    def skip(n: int) -> MemQ:
        """Drop the first ``n`` items."""
        count = _count(n, "skip")
        return MemQ("skip", count, lambda items: items[count:])

    @staticmethod
    def chain(values: Iterable[Any]) -> MemQ:
        """Append ``values`` (read once, now) to the sequence. They never enter the pool."""
        extra = tuple(values)
        return MemQ("chain", extra, lambda items: [*items, *extra])

    @staticmethod
    def sort(key: Any = None, *, reverse: bool = False) -> MemQ:
        """Stable sort by ``key`` (a callable or a ``Field``; default: by id).

        A ``Field`` key sorts ``None`` before every value, as predicates do.
        """
        getter = _key_function(key)

        def run(items: list[Any]) -> list[Any]:
            sort_key: Callable[[Any], Any]
            if getter is None:
                sort_key = _id_key()
            elif key is getter:
                sort_key = getter
            else:
                sort_key = _none_first(getter)
            return sorted(items, key=sort_key, reverse=reverse)

        return MemQ("sort", key, run)

    @staticmethod
    def unique(key: Any = None) -> MemQ:
        """Keep the first item per ``key`` (default: per id)."""
        getter = _key_function(key)
        return MemQ("unique", key, lambda items: _unique(getter or _id_key(), items))

    @staticmethod
    def group_by(key: Any) -> MemQ:
        """Bucket items by ``key`` in first-seen key order, then flatten (stable per bucket)."""
        getter = _key_function(key)
        if getter is None:
            raise TypeError("group_by() needs a key (a callable or a Field)")
        return MemQ("group_by", key, lambda items: _group(getter, items))

    @staticmethod
    def partition(fn: Callable[[Any], object]) -> MemQ:
        """Matches first, then the rest, both stable; a raising ``fn`` counts as no match."""
        if not callable(fn):
            raise TypeError(f"partition() needs a callable, got {fn!r}")
        return MemQ("partition", fn, lambda items: _partition(fn, items))

    @staticmethod
    def fold(fn: Callable[[list[Any]], Any]) -> MemQ:
        """Reduce the whole list with ``fn(list) -> item | None`` to zero or one item."""
        if not callable(fn):
            raise TypeError(f"fold() needs a callable, got {fn!r}")

        def run(items: list[Any]) -> list[Any]:
            result = fn(items)
            return [] if result is None else [result]

        return MemQ("fold", fn, run)

    @staticmethod
    def filter_impl(proto: type) -> MemQ:
        """Assert every item's class is registered for ``proto`` (see :func:`sassi.trait_impl`).

        Items pass through unchanged; an item whose class is not registered raises ``TypeError``.
        """
        from ._registry import require_impl

        checked: set[type] = set()

        def run(items: list[Any]) -> list[Any]:
            for item in items:
                cls = type(item)
                if cls not in checked:
                    require_impl(cls, proto)
                    checked.add(cls)
            return items

        return MemQ("filter_impl", proto, run)


class Scope(Generic[T]):
    """A lazy, immutable query over one pool. Each builder returns a new scope.

    Build with :meth:`sassi.Punnu.scope`. Terminals snapshot the pool when they run.
    """

    __slots__ = ("_ops", "_pool")

    def __init__(self, pool: Punnu[T], ops: Sequence[MemQ] = ()) -> None:
        self._pool = pool
        self._ops: tuple[MemQ, ...] = tuple(ops)

    @property
    def ops(self) -> tuple[MemQ, ...]:
        """The ops in the order they run."""
        return self._ops

    def _with(self, op: MemQ) -> Scope[T]:
        return Scope(self._pool, (*self._ops, op))

    # builders -------------------------------------------------------------------------------

    def where(self, *predicates: Predicate) -> Scope[T]:
        """Keep the values matching every predicate (ANDed; evaluated by compiled code).

        :param predicates: one or more predicates over the pool's model.
        :returns: a new scope with this op appended.
        :raises TypeError: when an argument is not a sassi predicate.
        """
        if len(predicates) == 1:
            return self._with(MemQ.where(predicates[0]))
        return self._with(MemQ.where(And(tuple(predicates))))

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
        from ._registry import require_impl

        require_impl(self._pool.model, proto)
        return self

    # terminals ------------------------------------------------------------------------------

    def collect(self) -> list[T]:
        """Snapshot the pool's unexpired values and run the ops.

        :returns: the resulting values.
        """
        items, ops = self._pool._scope_source(self._ops)
        for op in ops:
            items = op._fn(items)
        return items

    def __iter__(self) -> Iterator[T]:
        return iter(self.collect())

    def explain(self) -> str:
        """How the leading ``where`` predicates will be answered: which index, or a scan.

        :returns: one human-readable line, e.g.
            ``index 'email' for F.email == 'a@x': 1 candidates of 200000 residents``.
        """
        return self._pool._explain(self._ops)

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
        return f"<Scope of {self._pool.model.__qualname__} [{ops}]>"

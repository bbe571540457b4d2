"""``MemQ``: one in-memory op over a list of values (``op.apply(items) -> list``).

Ops are plain data plus a function; they hold no pool. :class:`~sassi.Scope` strings them
together over a pool (:mod:`sassi._scope`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

from ._model import model_info
from .predicate import Predicate, as_predicate

__all__ = ["MemQ"]

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

    __slots__ = ("_fn", "_typed", "arg", "kind")

    def __init__(self, kind: str, arg: object, fn: Op) -> None:
        self.kind = kind
        self.arg = arg
        self._fn = fn
        self._typed: tuple[frozenset[str], Op] | None = None

    def fn_for(self, never_none: frozenset[str]) -> Op:
        """This op's function for a pool whose model never holds ``None`` in ``never_none``
        (a ``where`` then runs code generated without those guards; see
        :func:`sassi.predicate._codegen.compile_typed_scan`). Cached for the last set."""
        if not never_none or self.kind != "where" or not isinstance(self.arg, Predicate):
            return self._fn
        typed = self._typed
        if typed is None or typed[0] != never_none:
            from .predicate._codegen import compile_typed_scan

            typed = self._typed = (never_none, compile_typed_scan(self.arg, never_none))
        return typed[1]

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
        checked = as_predicate(predicate, what="MemQ.where()")
        return MemQ("where", checked, _scan(checked))

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
        from ._traits import require_impl

        checked: set[type] = set()

        def run(items: list[Any]) -> list[Any]:
            for item in items:
                cls = type(item)
                if cls not in checked:
                    require_impl(cls, proto)
                    checked.add(cls)
            return items

        return MemQ("filter_impl", proto, run)

"""Hash and ordered secondary indexes over model fields, and the tiny planner that picks one.

A :class:`FieldIndex` keeps, for one field, a hash map ``value -> ids`` (answers ``==``, ``in_``,
``is_null``) and, per *comparison family* (numbers, strings, bytes, dates, ...), the sorted
distinct values (answers ``< <= > >= between``). An :class:`IndexSet` holds the indexes of one
pool and is the observer the store calls on every mutation (``on_put`` / ``on_remove`` /
``on_clear``).

Correctness rule: an index lookup returns a **superset** of the ids whose value satisfies the
term, never fewer. Values the index cannot reason about exactly are always returned as
candidates: unhashable values or types whose ``==``/``hash`` we do not trust ("loose"), values
without a total order such as NaN, tuples or plain enums ("unordered", for range terms), and
values of another comparison family than the operand (a ``str`` in a mostly-``int`` field). The
pool then runs the whole predicate over the candidates, so an indexed query returns exactly what a
scan returns. An operand the index cannot place (NaN or an unusual type in a range, an unhashable
``==`` operand) makes the index decline, and the planner scans.

``None`` follows the predicate rules: plain ``< v`` and ``<= v`` include rows whose value is
``None``; ``> v``, ``>= v`` and ``between`` exclude them; ``present()`` terms never include them.

The planner (:func:`plan`) looks at the top-level ``And`` terms of a scope's leading predicates,
asks each index for a candidate-count estimate, and uses the most selective one when it is small
enough to beat a scan; otherwise it scans. :attr:`Plan.explain` says what it chose.
"""

from __future__ import annotations

import datetime as _dt
import enum
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from operator import attrgetter
from typing import Any, Final

from ._store import DEADLINE, POS, VALUE, Store
from .predicate import And, Const, FieldPredicate, LookupOp, Predicate

__all__ = [
    "FieldIndex",
    "IndexSet",
    "Plan",
    "SortedKeys",
    "classify",
    "conjuncts",
    "leading_predicates",
    "plan",
]

NUMBER: Final = "number"
UNORDERED: Final = "~unordered"  # hashable with a trustworthy ==, but no total order
LOOSE: Final = "~loose"  # unhashable, or a type whose ==/hash the index does not trust

_FAMILY_BY_TYPE: Final[dict[type, str]] = {
    int: NUMBER,
    bool: NUMBER,
    float: NUMBER,
    Decimal: NUMBER,
    Fraction: NUMBER,
    str: "str",
    bytes: "bytes",
    _dt.date: "date",
    _dt.timedelta: "timedelta",
    uuid.UUID: "uuid",
}

_HASH_OPS: Final = frozenset({LookupOp.EQ, LookupOp.IN, LookupOp.IS_NULL})
_RANGE_OPS: Final = frozenset(
    {LookupOp.LT, LookupOp.LE, LookupOp.GT, LookupOp.GE, LookupOp.BETWEEN}
)
INDEXABLE_OPS: Final = _HASH_OPS | _RANGE_OPS

#: Use an index only when its estimate is at most this fraction of the residents. A scan reads
#: the residents in memory order at ~50-100 ns each; an index candidate costs several random
#: memory accesses (bucket, entry, value), ~1-4 us on a busy machine with small caches, so the
#: break-even sits at a few percent (measured: 1% of 200k -> index 2.3x faster; 5% -> 1.9x
#: slower).
SELECTIVITY_LIMIT: Final = 0.02

#: Further ``==``/``in_``/``is_null`` terms narrow the chosen candidates (C-level set
#: intersections, at most ``O(candidates)`` each). When no single term is selective enough, a
#: hash term estimated at most at this fraction of the residents is still materialised if the
#: terms together are expected (assuming independence) to be selective enough.
INTERSECT_LIMIT: Final = 0.25


def classify(value: object) -> str:
    """The comparison family of a non-``None`` value, or :data:`UNORDERED` / :data:`LOOSE`.

    Two values of one family are hashable, ``==`` agrees with ``hash``, and ``<`` is a total
    order between them. ``UNORDERED`` values are hashable with a trustworthy ``==`` but cannot be
    range-compared (NaN, tuples, frozensets, plain enums, aware times). Everything else (unhashable
    values, custom classes, signalling or quiet ``Decimal`` NaN) is ``LOOSE``.

    :param value: the field value (not ``None``).
    :returns: a family name, ``UNORDERED`` or ``LOOSE``.
    """
    kind = type(value)
    family = _FAMILY_BY_TYPE.get(kind)
    if family is not None:
        if kind is float:
            return family if value == value else UNORDERED  # NaN
        if kind is Decimal:
            return LOOSE if value.is_nan() else family  # type: ignore[attr-defined]
        return family
    if kind is _dt.datetime:
        return "datetime" if value.utcoffset() is None else "datetime-aware"  # type: ignore[attr-defined]
    if kind is _dt.time:
        return "time" if value.utcoffset() is None else UNORDERED  # type: ignore[attr-defined]
    if kind is tuple or kind is frozenset:
        try:
            parts = [classify(v) if v is not None else UNORDERED for v in value]  # type: ignore[attr-defined]
        except TypeError:
            return LOOSE
        return LOOSE if LOOSE in parts else UNORDERED
    if isinstance(value, enum.Enum):
        return _classify_enum(value)
    return LOOSE


def _classify_enum(member: enum.Enum) -> str:
    """Enum members: plain ones compare by identity; mixed-in ones behave like their value."""
    raw = member._value_
    mixed = isinstance(member, int | str | float | bytes)
    if not mixed:
        try:
            hash(member)
        except TypeError:
            return LOOSE
        return UNORDERED
    try:
        consistent = hash(member) == hash(raw) and member == raw
    except TypeError:
        return LOOSE
    if not consistent:
        return LOOSE
    family = classify(raw)
    return family


def _families_compatible(a: str, b: str) -> bool:
    return a == b and a not in (UNORDERED, LOOSE)


class SortedKeys:
    """Distinct keys of one comparison family, kept sorted in a list of short sorted lists.

    Insertion and removal cost ``O(log n + load)``; a range walk costs ``O(log n + k)``. This is
    the bucketed layout of ``sortedcontainers.SortedList``, written out to avoid a dependency.
    """

    __slots__ = ("_len", "_lists", "_load", "_maxes")

    def __init__(self, load: int = 256) -> None:
        """Start empty.

        :param load: the target chunk length (chunks split at twice this).
        """
        self._load = load
        self._lists: list[list[Any]] = []
        self._maxes: list[Any] = []
        self._len = 0

    @classmethod
    def from_sorted(cls, keys: list[Any], load: int = 256) -> SortedKeys:
        """Build from distinct keys that are already in ascending order.

        :param keys: the keys (not copied into the result's chunks by reference: sliced).
        :param load: the target chunk length.
        :returns: a new :class:`SortedKeys`.
        """
        built = cls(load)
        built._lists = [keys[i : i + load] for i in range(0, len(keys), load)]
        built._maxes = [chunk[-1] for chunk in built._lists]
        built._len = len(keys)
        return built

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[Any]:
        for chunk in self._lists:
            yield from chunk

    def add(self, key: Any) -> None:
        """Insert ``key`` (the caller guarantees it is not present)."""
        maxes = self._maxes
        self._len += 1
        if not maxes:
            self._lists.append([key])
            maxes.append(key)
            return
        pos = bisect_left(maxes, key)
        if pos == len(maxes):
            pos -= 1
            chunk = self._lists[pos]
            chunk.append(key)
            maxes[pos] = key
        else:
            chunk = self._lists[pos]
            chunk.insert(bisect_left(chunk, key), key)
        if len(chunk) > 2 * self._load:
            half = self._load
            self._lists[pos : pos + 1] = [chunk[:half], chunk[half:]]
            maxes[pos : pos + 1] = [chunk[half - 1], chunk[-1]]

    def remove(self, key: Any) -> None:
        """Remove the key equal to ``key``.

        :raises KeyError: when no such key is present.
        """
        maxes = self._maxes
        pos = bisect_left(maxes, key)
        if pos == len(maxes):
            raise KeyError(key)
        chunk = self._lists[pos]
        idx = bisect_left(chunk, key)
        if idx == len(chunk) or chunk[idx] != key:
            raise KeyError(key)
        del chunk[idx]
        self._len -= 1
        if not chunk:
            del self._lists[pos]
            del maxes[pos]
        elif idx == len(chunk):
            maxes[pos] = chunk[-1]

    def _locate(self, key: Any, right: bool) -> tuple[int, int]:
        """(chunk, offset) of the first key ``> key`` (``right``) or ``>= key``."""
        maxes = self._maxes
        pos = bisect_right(maxes, key) if right else bisect_left(maxes, key)
        if pos == len(maxes):
            return pos, 0
        chunk = self._lists[pos]
        return pos, (bisect_right(chunk, key) if right else bisect_left(chunk, key))

    def _bounds(
        self, low: Any, high: Any, low_inclusive: bool, high_inclusive: bool, unbounded: object
    ) -> tuple[tuple[int, int], tuple[int, int]]:
        start = (0, 0) if low is unbounded else self._locate(low, right=not low_inclusive)
        stop = (len(self._lists), 0) if high is unbounded else self._locate(high, high_inclusive)
        return start, stop

    def count(
        self, low: Any, high: Any, low_inclusive: bool, high_inclusive: bool, unbounded: object
    ) -> int:
        """How many keys lie in the range (``unbounded`` marks an open end)."""
        (a, i), (b, j) = self._bounds(low, high, low_inclusive, high_inclusive, unbounded)
        if (a, i) >= (b, j):
            return 0
        if a == b:
            return j - i
        lists = self._lists
        return len(lists[a]) - i + sum(map(len, lists[a + 1 : b])) + j

    def irange(
        self, low: Any, high: Any, low_inclusive: bool, high_inclusive: bool, unbounded: object
    ) -> Iterator[Any]:
        """The keys in the range, ascending (``unbounded`` marks an open end)."""
        (a, i), (b, j) = self._bounds(low, high, low_inclusive, high_inclusive, unbounded)
        if (a, i) >= (b, j):
            return
        lists = self._lists
        if a == b:
            yield from lists[a][i:j]
            return
        yield from lists[a][i:]
        for chunk in lists[a + 1 : b]:
            yield from chunk
        if j:
            yield from lists[b][:j]


_UNBOUNDED: Final = object()
_NO_VALUE: Final[Any] = object()  # the id's value is loose (or its attribute raised)
_ABSENT: Final = object()  # the id is not indexed

Bucket = Any
"""A bucket is one id, or a ``set`` of two or more ids (ids are hashable, so never a ``set``)."""


class FieldIndex:
    """A hash + ordered index of one field of the resident values.

    The hash part (``value -> ids``) is always maintained. The ordered part (sorted distinct
    values per comparison family) is built on the first range query and maintained from then
    on, so a field only ever queried with ``==``/``in_`` never pays for ordering.

    Values are read when a resident is stored; mutating a resident object in place afterwards
    is not seen by the index (store a new object instead, as with any cache key).

    :param field: the attribute name to index.
    """

    __slots__ = (
        "_buckets",
        "_family_size",
        "_get",
        "_key_of",
        "_loose",
        "_sorted",
        "_unordered",
        "field",
    )

    def __init__(self, field: str) -> None:
        self.field = field
        self._get: Callable[[Any], Any] = attrgetter(field)
        self._buckets: dict[Any, Bucket] = {}  # value (None included) -> id | set of ids
        self._key_of: dict[Any, Any] = {}  # id -> the value it was indexed under
        self._sorted: dict[str, SortedKeys] | None = None  # family -> values; None: not built
        self._family_size: dict[str, int] = {}  # family -> number of ids
        self._unordered: set[Any] = set()
        self._loose: set[Any] = set()

    def __len__(self) -> int:
        return len(self._key_of)

    @property
    def ordered(self) -> bool:
        """Whether the ordered part has been built (by a range query)."""
        return self._sorted is not None

    # -- maintenance -------------------------------------------------------------------------

    def add(self, ident: Any, obj: Any) -> None:
        """Index ``obj`` under ``ident`` (replacing what ``ident`` was indexed under)."""
        try:
            value = self._get(obj)
        except Exception:
            value = family = _NO_VALUE
        else:
            if value is None:
                family = UNORDERED
            else:
                family = _FAMILY_BY_TYPE.get(type(value)) or classify(value)
                if family is NUMBER and value != value:  # NaN floats have no place in the order
                    family = UNORDERED
        previous = self._key_of.get(ident, _ABSENT)
        if previous is not _ABSENT:
            if (
                family is not LOOSE
                and family is not _NO_VALUE
                and type(previous) is type(value)
                and previous == value
            ):
                return  # the indexed field did not change
            self.discard(ident)
        if family is LOOSE or family is _NO_VALUE:
            self._key_of[ident] = _NO_VALUE
            self._loose.add(ident)
            return
        self._key_of[ident] = value
        buckets = self._buckets
        bucket = buckets.get(value, _NO_VALUE)
        if bucket is _NO_VALUE:
            buckets[value] = ident
            if self._sorted is not None and value is not None and family is not UNORDERED:
                ordered = self._sorted.get(family)
                if ordered is None:
                    ordered = self._sorted[family] = SortedKeys()
                ordered.add(value)
        elif type(bucket) is set:
            bucket.add(ident)
        else:
            buckets[value] = {bucket, ident}
        if value is None:
            return
        if family is UNORDERED:
            self._unordered.add(ident)
        else:
            self._family_size[family] = self._family_size.get(family, 0) + 1

    def discard(self, ident: Any) -> None:
        """Forget ``ident`` (no-op when it is not indexed)."""
        value = self._key_of.pop(ident, _NO_VALUE)
        if value is _NO_VALUE:
            self._loose.discard(ident)
            return
        buckets = self._buckets
        bucket = buckets[value]
        emptied = type(bucket) is not set
        if emptied:
            del buckets[value]
        else:
            bucket.discard(ident)
            if len(bucket) == 1:
                buckets[value] = next(iter(bucket))
        if value is None:
            return
        family = _FAMILY_BY_TYPE.get(type(value)) or classify(value)
        if family is UNORDERED or value != value:
            self._unordered.discard(ident)
            return
        remaining = self._family_size[family] - 1
        if remaining:
            self._family_size[family] = remaining
        else:
            del self._family_size[family]
        if emptied and self._sorted is not None:
            ordered = self._sorted[family]
            ordered.remove(value)
            if not ordered:
                del self._sorted[family]

    def clear(self) -> None:
        """Forget every id (the ordered part, if built, stays built and empty)."""
        self._buckets.clear()
        self._key_of.clear()
        if self._sorted is not None:
            self._sorted.clear()
        self._family_size.clear()
        self._unordered.clear()
        self._loose.clear()

    def _ordered_part(self) -> dict[str, SortedKeys]:
        """The sorted distinct values per family, built now if this is the first range query."""
        if self._sorted is None:
            by_family: dict[str, list[Any]] = {}
            for key in self._buckets:
                if key is None:
                    continue
                family = _FAMILY_BY_TYPE.get(type(key)) or classify(key)
                if family is not UNORDERED and family is not LOOSE and key == key:
                    by_family.setdefault(family, []).append(key)
            self._sorted = {f: SortedKeys.from_sorted(sorted(k)) for f, k in by_family.items()}
        return self._sorted

    # -- queries -----------------------------------------------------------------------------

    def _size(self, key: Any) -> int:
        bucket = self._buckets.get(key, _NO_VALUE)
        if bucket is _NO_VALUE:
            return 0
        return len(bucket) if type(bucket) is set else 1

    def estimate(self, term: FieldPredicate) -> int | None:
        """An estimated candidate count for ``term``, or ``None`` if the index declines.

        Exact for ``==``, ``in_`` and ``is_null``; for ranges, the distinct values in range
        times the family's average bucket size, plus the rows the index cannot place.

        :param term: a leaf on this index's field.
        :returns: the estimated number of candidate ids, or ``None``.
        """
        if term.op in _HASH_OPS:
            keys = self._hash_keys(term)
            if keys is None:
                return None
            size = self._size
            return sum(size(k) for k in set(keys)) + len(self._loose)
        spec = self._range_spec(term)
        if spec is None:
            return None
        family, low, high, low_inc, high_inc, with_none = spec
        total = len(self._unordered) + len(self._loose)
        if with_none:
            total += self._size(None)
        total += sum(n for f, n in self._family_size.items() if f != family)
        ordered = self._ordered_part().get(family)
        if ordered is not None and len(ordered):
            hits = ordered.count(low, high, low_inc, high_inc, _UNBOUNDED)
            total += -(-hits * self._family_size[family] // len(ordered))  # ceil(avg bucket)
        return total

    def lookup(self, term: FieldPredicate) -> set[Any] | None:
        """A new set holding every id whose value may satisfy ``term``, or ``None`` (declined).

        :param term: a leaf on this index's field.
        :returns: a superset of the matching ids, or ``None`` when the index cannot answer.
        """
        if term.op in _HASH_OPS:
            keys = self._hash_keys(term)
            if keys is None:
                return None
            out = set(self._loose)
            _collect(self._buckets, keys, out)
            return out
        spec = self._range_spec(term)
        if spec is None:
            return None
        family, low, high, low_inc, high_inc, with_none = spec
        out = self._unordered | self._loose
        if with_none:
            _collect(self._buckets, (None,), out)
        for name, ordered in self._ordered_part().items():
            if name == family:
                _collect(
                    self._buckets, ordered.irange(low, high, low_inc, high_inc, _UNBOUNDED), out
                )
            else:  # another family: the predicate decides, never the index
                _collect(self._buckets, ordered, out)
        return out

    def restrict(self, term: FieldPredicate, candidates: set[Any]) -> set[Any] | None:
        """The ids of ``candidates`` whose value may satisfy an ``==``/``in_``/``is_null`` term.

        Costs ``O(len(candidates))`` per looked-up value at most (set intersections iterate the
        smaller side), never the size of the buckets.

        :param term: a hash-op leaf on this index's field.
        :param candidates: the ids to narrow (not modified).
        :returns: a new set (a superset of the candidates matching ``term``), or ``None`` when
            the index cannot answer ``term``.
        """
        if term.op not in _HASH_OPS:
            return None
        keys = self._hash_keys(term)
        if keys is None:
            return None
        out = candidates & self._loose
        buckets = self._buckets
        for key in keys:
            bucket = buckets.get(key, _NO_VALUE)
            if bucket is _NO_VALUE:
                continue
            if type(bucket) is set:
                out |= bucket & candidates
            elif bucket in candidates:
                out.add(bucket)
        return out

    def _hash_keys(self, term: FieldPredicate) -> Sequence[Any] | None:
        """The bucket keys to read for an ``EQ``/``IN``/``IS_NULL`` term, or ``None``."""
        op = term.op
        if op is LookupOp.IS_NULL:
            return () if term.present else (None,)
        operands: Sequence[Any]
        if op is LookupOp.EQ:
            operands = (term.value,)
        elif isinstance(term.value, tuple):
            operands = term.value
        else:
            return None
        keys: list[Any] = []
        for operand in operands:
            if operand is None:
                if not term.present:
                    keys.append(None)
                continue
            if classify(operand) is LOOSE:
                return None
            keys.append(operand)
        return keys

    def _range_spec(self, term: FieldPredicate) -> tuple[str, Any, Any, bool, bool, bool] | None:
        """(family, low, high, low_inclusive, high_inclusive, include_none), or ``None``."""
        op = term.op
        value = term.value
        if op is LookupOp.BETWEEN:
            if not isinstance(value, tuple) or len(value) != 2:
                return None
            low, high = value
            if low is None or high is None:
                return None
            family = classify(low)
            if not _families_compatible(family, classify(high)):
                return None
            return family, low, high, True, True, False
        if value is None:
            return None
        family = classify(value)
        if family in (UNORDERED, LOOSE):
            return None
        with_none = not term.present
        if op is LookupOp.LT:
            return family, _UNBOUNDED, value, False, False, with_none
        if op is LookupOp.LE:
            return family, _UNBOUNDED, value, False, True, with_none
        if op is LookupOp.GT:
            return family, value, _UNBOUNDED, False, False, False
        if op is LookupOp.GE:
            return family, value, _UNBOUNDED, True, False, False
        return None


def _collect(buckets: dict[Any, Bucket], keys: Iterable[Any], out: set[Any]) -> None:
    """Add the ids of every bucket named by ``keys`` (absent keys are skipped) to ``out``."""
    for key in keys:
        bucket = buckets.get(key, _NO_VALUE)
        if bucket is _NO_VALUE:
            continue
        if type(bucket) is set:
            out |= bucket
        else:
            out.add(bucket)


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

        Call under the pool's write lock. The result holds every unexpired candidate, in the
        order a full snapshot would list them; the scope still runs all its ops (the leading
        ``where`` ops re-check every candidate), so it yields exactly what a scan yields.

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
                deadline = entry[DEADLINE]
                if deadline is None or deadline > now:
                    append((entry[POS], entry[VALUE]))
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
    between``) is estimated; the smallest estimate wins if it is at most ``selectivity_limit``
    of ``total``. A top-level ``FALSE`` yields no candidates at all.

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
    cheap = [r for r in ranked[1:] if r[1].op in _HASH_OPS]
    limit = total * selectivity_limit
    if estimate > limit:
        # Independent terms may still intersect down to few candidates.
        combined = float(estimate)
        for other, _, _ in cheap:
            combined *= other / max(total, 1)
        if term.op not in _HASH_OPS or estimate > total * INTERSECT_LIMIT or combined > limit:
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

"""``FieldIndex``: the hash and (lazily built) ordered index of one field."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from typing import Any, Final

from .._store import Entry
from ..predicate import FieldPredicate, LookupOp
from ._order import (
    FAMILY_BY_TYPE,
    LOOSE,
    NUMBER,
    UNORDERED,
    SortedKeys,
    classify,
    families_compatible,
)

__all__ = ["HASH_OPS", "INDEXABLE_OPS", "NO_VALUE", "RANGE_OPS", "FieldIndex", "hash_keys"]

# Tuples, not sets: ``op in`` a tuple tests identity first, while a set hashes the member
# through ``Enum.__hash__``, a Python-level method (hundreds of ns per test on the query path).
HASH_OPS: Final = (LookupOp.EQ, LookupOp.IN, LookupOp.IS_NULL)
RANGE_OPS: Final = (LookupOp.LT, LookupOp.LE, LookupOp.GT, LookupOp.GE, LookupOp.BETWEEN)
INDEXABLE_OPS: Final = HASH_OPS + RANGE_OPS

# Final: compiled, these are C statics (an Enum member read off its class is a slow lookup)
_EQ: Final = LookupOp.EQ
_IN: Final = LookupOp.IN
_IS_NULL: Final = LookupOp.IS_NULL
_LT: Final = LookupOp.LT
_LE: Final = LookupOp.LE
_GT: Final = LookupOp.GT
_GE: Final = LookupOp.GE
_BETWEEN: Final = LookupOp.BETWEEN

_UNBOUNDED: Final = object()
_NO_VALUE: Final[Any] = object()  # the id's value is loose (or its attribute raised)
NO_VALUE: Final[Any] = _NO_VALUE
_ABSENT: Final = object()  # the id is not indexed

Bucket = Any
"""A bucket is one :class:`~sassi._store.Entry`, or a ``dict`` id -> entry of two or more (in the
order they were filed)."""


class FieldIndex:
    """A hash + ordered index of one field of the resident values.

    It files the store's :class:`~sassi._store.Entry` objects themselves (``entry.key`` is the
    id, ``entry.value`` the resident), so a lookup hands back entries: no second trip through
    the pool's map. Every write of a resident files its new entry, also when the indexed field
    kept its value (the entry is then replaced in place, keeping its place in the bucket).

    The hash part (``value -> entries``) is always maintained. The ordered part (sorted distinct
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
        self._buckets: dict[Any, Bucket] = {}  # value (None included) -> entry | {id: entry}
        self._key_of: dict[Any, Any] = {}  # id -> the value it was indexed under
        self._sorted: dict[str, SortedKeys] | None = None  # family -> values; None: not built
        self._family_size: dict[str, int] = {}  # family -> number of ids
        self._unordered: dict[Any, Entry] = {}  # id -> entry, for values without an order
        self._loose: dict[Any, Entry] = {}  # id -> entry, for values the index cannot file

    def __len__(self) -> int:
        return len(self._key_of)

    @property
    def ordered(self) -> bool:
        """Whether the ordered part has been built (by a range query)."""
        return self._sorted is not None

    # -- maintenance -------------------------------------------------------------------------

    def _read(self, obj: Any) -> tuple[Any, Any]:
        """``(value, family)`` of ``obj``'s field; ``(NO_VALUE, NO_VALUE)`` when it raised."""
        try:
            value: Any = self._get(obj)
        except Exception:
            return _NO_VALUE, _NO_VALUE
        if value is None:
            return None, UNORDERED
        family = FAMILY_BY_TYPE.get(type(value)) or classify(value)
        if family is NUMBER and value != value:  # NaN floats have no place in the order
            family = UNORDERED
        return value, family

    def key_for(self, obj: Any) -> Any:
        """The bucket key :meth:`add` files ``obj`` under, or :data:`NO_VALUE` (a loose row)."""
        value, family = self._read(obj)
        return _NO_VALUE if family is LOOSE else value

    def ids(self) -> set[Any]:
        """A new set of every indexed id."""
        return set(self._key_of)

    def loose_entries(self) -> Iterable[Entry]:
        """The entries whose value the index cannot file (always candidates)."""
        return self._loose.values()

    def add(self, entry: Entry) -> None:
        """Index ``entry`` (its value, under its id), replacing what that id was indexed under.

        :param entry: the store's entry (``entry.key`` the id, ``entry.value`` the resident).
        """
        ident = entry.key
        value, family = self._read(entry.value)
        previous = self._key_of.get(ident, _ABSENT)
        if previous is not _ABSENT:
            if (
                family is not LOOSE
                and family is not _NO_VALUE
                and type(previous) is type(value)
                and previous == value
            ):
                self._refile(ident, value, family, entry)  # same field value, new entry
                return
            self.discard(ident)
        if family is LOOSE or family is _NO_VALUE:
            self._key_of[ident] = _NO_VALUE
            self._loose[ident] = entry
            return
        self._key_of[ident] = value
        buckets = self._buckets
        bucket = buckets.get(value, _NO_VALUE)
        if bucket is _NO_VALUE:
            buckets[value] = entry
            if self._sorted is not None and value is not None and family is not UNORDERED:
                ordered = self._sorted.get(family)
                if ordered is None:
                    ordered = self._sorted[family] = SortedKeys()
                ordered.add(value)
        elif type(bucket) is dict:
            bucket[ident] = entry
        else:
            buckets[value] = {bucket.key: bucket, ident: entry}
        if value is None:
            return
        if family is UNORDERED:
            self._unordered[ident] = entry
        else:
            self._family_size[family] = self._family_size.get(family, 0) + 1

    def _refile(self, ident: Any, value: Any, family: Any, entry: Entry) -> None:
        """Put ``entry`` where the id's previous entry was (the field value is unchanged)."""
        buckets = self._buckets
        bucket = buckets[value]
        if type(bucket) is dict:
            bucket[ident] = entry  # an existing key keeps its place
        else:
            buckets[value] = entry
        if family is UNORDERED and value is not None:
            self._unordered[ident] = entry

    def discard(self, ident: Any) -> None:
        """Forget ``ident`` (no-op when it is not indexed)."""
        value = self._key_of.pop(ident, _NO_VALUE)
        if value is _NO_VALUE:
            self._loose.pop(ident, None)
            return
        buckets = self._buckets
        bucket = buckets[value]
        emptied = type(bucket) is not dict
        if emptied:
            del buckets[value]
        else:
            del bucket[ident]
            if len(bucket) == 1:
                buckets[value] = next(iter(bucket.values()))
        if value is None:
            return
        family = FAMILY_BY_TYPE.get(type(value)) or classify(value)
        if family is UNORDERED or value != value:
            self._unordered.pop(ident, None)
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
                family = FAMILY_BY_TYPE.get(type(key)) or classify(key)
                if family is not UNORDERED and family is not LOOSE and key == key:
                    by_family.setdefault(family, []).append(key)
            self._sorted = {f: SortedKeys.from_sorted(sorted(k)) for f, k in by_family.items()}
        return self._sorted

    # -- queries -----------------------------------------------------------------------------

    def _size(self, key: Any) -> int:
        bucket = self._buckets.get(key, _NO_VALUE)
        if bucket is _NO_VALUE:
            return 0
        return len(bucket) if type(bucket) is dict else 1

    def estimate(self, term: FieldPredicate) -> int | None:
        """An estimated candidate count for ``term``, or ``None`` if the index declines.

        Exact for ``==``, ``in_`` and ``is_null``; for ranges, the distinct values in range
        times the family's average bucket size, plus the rows the index cannot place.

        :param term: a leaf on this index's field.
        :returns: the estimated number of candidate ids, or ``None``.
        """
        if term.op in HASH_OPS:
            keys = hash_keys(term)
            if keys is None:
                return None
            total = len(self._loose)
            for key in keys:
                total += self._size(key)
            return total
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

    def lookup(self, term: FieldPredicate) -> list[Entry] | None:
        """A new list of every entry whose value may satisfy ``term``, or ``None`` (declined).

        Each entry appears once; within one bucket, in the order the bucket filed them.

        :param term: a leaf on this index's field.
        :returns: a superset of the matching entries, or ``None`` when the index cannot answer.
        """
        if term.op in HASH_OPS:
            keys = hash_keys(term)
            if keys is None:
                return None
            out = list(self._loose.values())
            _collect(self._buckets, keys, out)
            return out
        spec = self._range_spec(term)
        if spec is None:
            return None
        family, low, high, low_inc, high_inc, with_none = spec
        out = list(self._unordered.values())
        out.extend(self._loose.values())
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

    def restrict(self, term: FieldPredicate, candidates: list[Entry]) -> list[Entry] | None:
        """The entries of ``candidates`` whose value may satisfy an ``==``/``in_``/``is_null``
        term, in the order given.

        Costs ``O(len(candidates))``, or the size of the term's buckets when that is smaller.

        :param term: a hash-op leaf on this index's field.
        :param candidates: the entries to narrow (not modified).
        :returns: a new list (a superset of the candidates matching ``term``), or ``None`` when
            the index cannot answer ``term``.
        """
        if term.op not in HASH_OPS:
            return None
        keys = hash_keys(term)
        if keys is None:
            return None
        wanted = set(keys)
        filed_size = len(self._loose)
        for key in keys:
            filed_size += self._size(key)
        if filed_size <= len(candidates):
            passing: set[Entry] = set(self._loose.values())
            filed: list[Entry] = []
            _collect(self._buckets, keys, filed)
            passing.update(filed)
            return [entry for entry in candidates if entry in passing]
        key_of = self._key_of
        out: list[Entry] = []
        for entry in candidates:
            key = key_of.get(entry.key, _NO_VALUE)
            if key is _NO_VALUE or key in wanted:  # loose here (or not indexed): a candidate
                out.append(entry)
        return out

    def _range_spec(self, term: FieldPredicate) -> tuple[str, Any, Any, bool, bool, bool] | None:
        """(family, low, high, low_inclusive, high_inclusive, include_none), or ``None``."""
        op = term.op
        value = term.value
        if op is _BETWEEN:
            if not isinstance(value, tuple) or len(value) != 2:
                return None
            low, high = value
            if low is None or high is None:
                return None
            family = classify(low)
            if not families_compatible(family, classify(high)):
                return None
            return family, low, high, True, True, False
        if value is None:
            return None
        family = classify(value)
        if family in (UNORDERED, LOOSE):
            return None
        with_none = not term.present
        if op is _LT:
            return family, _UNBOUNDED, value, False, False, with_none
        if op is _LE:
            return family, _UNBOUNDED, value, False, True, with_none
        if op is _GT:
            return family, value, _UNBOUNDED, False, False, False
        if op is _GE:
            return family, value, _UNBOUNDED, True, False, False
        return None


def hash_keys(term: FieldPredicate) -> Sequence[Any] | None:
    """The distinct bucket keys to read for an ``EQ``/``IN``/``IS_NULL`` term (so no bucket is
    read twice), or ``None`` (decline: an operand whose ``==``/``hash`` an index cannot
    trust)."""
    op = term.op
    if op is _IS_NULL:
        return () if term.present else (None,)
    operands: Sequence[Any]
    if op is _EQ:
        operands = (term.value,)
    elif op is _IN and isinstance(term.value, tuple):
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
    return list(dict.fromkeys(keys)) if len(keys) > 1 else keys


def _collect(buckets: dict[Any, Bucket], keys: Iterable[Any], out: list[Entry]) -> None:
    """Append the entries of every bucket named by ``keys`` (absent keys are skipped) to
    ``out``; the keys must be distinct."""
    for key in keys:
        bucket = buckets.get(key, _NO_VALUE)
        if bucket is _NO_VALUE:
            continue
        if type(bucket) is dict:
            out.extend(bucket.values())
        else:
            out.append(bucket)

"""``FieldIndex``: the hash and (lazily built) ordered index of one field."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from typing import Any, Final

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

    def loose_ids(self) -> set[Any]:
        """The ids whose value the index cannot file (always candidates). Do not modify."""
        return self._loose

    def add(self, ident: Any, obj: Any) -> None:
        """Index ``obj`` under ``ident`` (replacing what ``ident`` was indexed under)."""
        value, family = self._read(obj)
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
        family = FAMILY_BY_TYPE.get(type(value)) or classify(value)
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
        return len(bucket) if type(bucket) is set else 1

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
        if term.op in HASH_OPS:
            keys = hash_keys(term)
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
        if term.op not in HASH_OPS:
            return None
        keys = hash_keys(term)
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
    """The bucket keys to read for an ``EQ``/``IN``/``IS_NULL`` term, or ``None`` (decline: an
    operand whose ``==``/``hash`` an index cannot trust)."""
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
    return keys


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

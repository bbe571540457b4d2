"""Comparison families and the sorted-keys structure behind range lookups."""

from __future__ import annotations

import datetime as _dt
import enum
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

__all__ = [
    "FAMILY_BY_TYPE",
    "LOOSE",
    "NUMBER",
    "UNORDERED",
    "SortedKeys",
    "classify",
    "families_compatible",
]

NUMBER: Final = "number"
UNORDERED: Final = "~unordered"  # hashable with a trustworthy ==, but no total order
LOOSE: Final = "~loose"  # unhashable, or a type whose ==/hash the index does not trust

FAMILY_BY_TYPE: Final[dict[type, str]] = {
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
    family = FAMILY_BY_TYPE.get(kind)
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


def families_compatible(a: str, b: str) -> bool:
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

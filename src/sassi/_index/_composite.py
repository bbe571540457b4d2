"""``CompositeIndex``: one index over several fields, for equality on its leading fields plus
equality or a range on the next one.

The index over ``(f1, ..., fm)`` is a tree of :class:`~sassi._index.FieldIndex` nodes. The root
indexes ``f1`` over every resident; below it, one child per distinct ``f1`` value (the bucket key
its :class:`FieldIndex` files the row under) indexes ``f2`` over the residents with that value,
and so on down to ``fm``. So ``F.city == "Oslo" & F.age >= 30`` on ``("city", "age")`` reads the
root's ``"Oslo"`` child and asks its ``age`` index for the range: the cost follows the number
of candidates, whatever the other cities hold.

The rules of :mod:`sassi._index` hold at every node: a lookup returns a superset of the matching
ids. A row whose value at some level the index cannot file (loose, or its attribute raised) stays
in that node's ``FieldIndex`` as a loose id and has no child: every query that goes through that
node returns it as a candidate, and the pool's residual predicate decides.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from .._store import Entry
from ..predicate import FieldPredicate
from ._field import HASH_OPS, INDEXABLE_OPS, NO_VALUE, FieldIndex, hash_keys

__all__ = ["CompositeIndex", "Walk"]


class _Node:
    """One level of the tree: the index of ``fields[depth]`` and the children by its keys."""

    __slots__ = ("children", "index")

    def __init__(self, fields: Sequence[str], depth: int) -> None:
        self.index = FieldIndex(fields[depth])
        self.children: dict[Any, _Node] | None = {} if depth + 1 < len(fields) else None


class CompositeIndex:
    """An index over several fields of the resident values (see the module docstring).

    :param fields: the field names, most significant first (at least two).
    """

    __slots__ = ("_paths", "_probes", "_root", "fields")

    def __init__(self, fields: Sequence[str]) -> None:
        if len(fields) < 2:
            raise ValueError(f"a composite index needs two fields or more, got {fields!r}")
        self.fields: tuple[str, ...] = tuple(fields)
        self._root = _Node(self.fields, 0)
        self._paths: dict[Hashable, tuple[Any, ...]] = {}  # id -> child keys from the root
        # read-only FieldIndexes that compute each level's key (FieldIndex.key_for)
        self._probes = [FieldIndex(field) for field in self.fields[:-1]]

    def __len__(self) -> int:
        return len(self._paths)

    def ids(self) -> set[Hashable]:
        """A new set of every indexed id."""
        return set(self._paths)

    # -- maintenance -------------------------------------------------------------------------

    def _path_of(self, obj: Any) -> tuple[Any, ...]:
        """The child keys ``obj`` is filed under, stopping at the first level it is loose."""
        keys: list[Any] = []
        for probe in self._probes:
            key = probe.key_for(obj)
            if key is NO_VALUE:
                break
            keys.append(key)
        return tuple(keys)

    def add(self, entry: Entry) -> None:
        """Index ``entry`` (its value, under its id), replacing what that id was indexed under.

        Every node on the path files the entry itself (see :class:`FieldIndex`).
        """
        ident = entry.key
        path = self._path_of(entry.value)
        previous = self._paths.get(ident)
        if previous is not None and previous != path:
            self.discard(ident)
        self._paths[ident] = path
        node = self._root
        node.index.add(entry)
        for depth, key in enumerate(path):
            children = node.children
            assert children is not None
            child = children.get(key)
            if child is None:
                child = children[key] = _Node(self.fields, depth + 1)
            node = child
            node.index.add(entry)

    def discard(self, ident: Hashable) -> None:
        """Forget ``ident`` (no-op when it is not indexed); empty children are dropped."""
        path = self._paths.pop(ident, None)
        if path is None:
            return
        trail: list[tuple[_Node, Any]] = []
        node = self._root
        node.index.discard(ident)
        for key in path:
            children = node.children
            assert children is not None
            child = children[key]
            trail.append((node, key))
            node = child
            node.index.discard(ident)
        for i in range(len(trail) - 1, -1, -1):  # prune emptied children, deepest first
            parent, below = trail[i]
            siblings = parent.children
            assert siblings is not None
            if len(siblings[below].index):
                break
            del siblings[below]

    def clear(self) -> None:
        """Forget every id."""
        self._root = _Node(self.fields, 0)
        self._paths.clear()

    # -- queries -----------------------------------------------------------------------------

    def match(self, terms: Mapping[str, list[FieldPredicate]]) -> list[FieldPredicate] | None:
        """The terms this index would answer, in field order, or ``None`` when it cannot help.

        Equality terms (``==``, ``in_``, ``is_null``) on the leading fields, then one more term
        (equality or a range) on the next field. Without an equality on ``fields[0]``, only a
        range on it qualifies (then the root alone answers it).

        :param terms: the conjunction's indexable leaves by field name.
        """
        used: list[FieldPredicate] = []
        for field in self.fields:
            candidates = terms.get(field) or []
            hashed = next((t for t in candidates if t.op in HASH_OPS), None)
            if hashed is not None:
                used.append(hashed)
                continue
            ranged = next((t for t in candidates if t.op in INDEXABLE_OPS), None)
            if ranged is not None:
                used.append(ranged)
            break
        return used or None

    def _descend(self, used: Sequence[FieldPredicate]) -> tuple[list[_Node], list[Entry]] | None:
        """Walk the equality terms but the last: the nodes reached, and the loose entries passed
        (a loose row has no child, so every entry turns up once)."""
        nodes = [self._root]
        loose: list[Entry] = []
        for term in used[:-1]:
            keys = hash_keys(term)
            if keys is None:
                return None
            reached: list[_Node] = []
            for node in nodes:
                loose.extend(node.index.loose_entries())
                children = node.children
                assert children is not None
                for key in keys:
                    child = children.get(key)
                    if child is not None:
                        reached.append(child)
            nodes = reached
        return nodes, loose

    def walk(self, used: Sequence[FieldPredicate]) -> Walk | None:
        """Descend for the terms :meth:`match` returned: the estimate, and the nodes to read
        if the planner picks this index (so the tree is walked once), or ``None`` (declined)."""
        descended = self._descend(used)
        if descended is None:
            return None
        nodes, loose = descended
        total = len(loose)
        last = used[-1]
        for node in nodes:
            part = node.index.estimate(last)
            if part is None:
                return None
            total += part
        return Walk(total, nodes, loose, last)

    def estimate(self, used: Sequence[FieldPredicate]) -> int | None:
        """An estimated candidate count for the terms :meth:`match` returned, or ``None``."""
        walk = self.walk(used)
        return None if walk is None else walk.estimate

    def lookup(self, used: Sequence[FieldPredicate]) -> list[Entry] | None:
        """A new list of every entry that may satisfy all of ``used`` (each once), or ``None``
        (declined)."""
        walk = self.walk(used)
        return None if walk is None else walk.lookup()


class Walk:
    """A descent through a :class:`CompositeIndex`: its estimate, then (if chosen) the lookup."""

    __slots__ = ("estimate", "last", "loose", "nodes")

    def __init__(self, estimate: int, nodes: list[_Node], loose: list[Entry], last: FieldPredicate):
        self.estimate = estimate
        self.nodes = nodes
        self.loose = loose
        self.last = last

    def lookup(self) -> list[Entry] | None:
        """A new list of the candidate entries (each once), or ``None`` (declined)."""
        out = self.loose.copy()
        last = self.last
        for node in self.nodes:
            part = node.index.lookup(last)
            if part is None:
                return None
            if out:
                out.extend(part)
            else:
                out = part
        return out

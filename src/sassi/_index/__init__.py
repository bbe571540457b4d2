"""Hash and ordered secondary indexes over model fields, and the tiny planner that picks one.

A :class:`FieldIndex` keeps, for one field, a hash map ``value -> entries`` (answers ``==``, ``in_``,
``is_null``) and, per *comparison family* (numbers, strings, bytes, dates, ...), the sorted
distinct values (answers ``< <= > >= between``). An :class:`IndexSet` holds the indexes of one
pool and is the observer the store calls on every mutation (``on_put`` / ``on_remove`` /
``on_clear``). The buckets hold the store's :class:`~sassi._store.Entry` objects, not ids, so
candidates need no second trip through the pool's map.

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
enough to beat a scan (:data:`SELECTIVITY_LIMIT`, measured in ``benchmarks/``); the other
equality terms then narrow its candidates by set intersection. Otherwise it scans.
:attr:`Plan.explain` says what it chose.

Internal API (how the pool uses this package; see ``Punnu.__init__`` / ``_scope_source``)
=======================================================================================

``IndexSet(fields)``
    Built from ``PunnuConfig.indexes`` and appended to ``Store.observers`` when non-empty;
    ``on_put(id, old, new)`` / ``on_remove(id, old)`` / ``on_clear()`` run under the write lock;
    ``old`` / ``new`` are the store's entries, which the indexes file (a lookup returns entries).
``index_set.source(store, ops, now) -> list | None``
    Under the write lock: the unexpired candidate values for a scope's ``MemQ`` ops, in the
    order ``Store.snapshot`` lists them, or ``None`` to scan. The scope still runs every op.
``index_set.plan_ops(store, ops) -> Plan``
    The plan alone (``Scope.explain()`` returns ``plan.explain``).
``index_set.selectivity_limit``
    Per pool override of :data:`SELECTIVITY_LIMIT` (tests set ``1.0``: index whenever possible).
"""

from ._composite import CompositeIndex as CompositeIndex
from ._field import INDEXABLE_OPS as INDEXABLE_OPS
from ._field import FieldIndex as FieldIndex
from ._order import LOOSE as LOOSE
from ._order import NUMBER as NUMBER
from ._order import UNORDERED as UNORDERED
from ._order import SortedKeys as SortedKeys
from ._order import classify as classify
from ._plan import INTERSECT_LIMIT as INTERSECT_LIMIT
from ._plan import SELECTIVITY_LIMIT as SELECTIVITY_LIMIT
from ._plan import SMALL_POOL as SMALL_POOL
from ._plan import Plan as Plan
from ._plan import conjuncts as conjuncts
from ._plan import leading_predicates as leading_predicates
from ._plan import plan as plan
from ._set import IndexSet as IndexSet
from ._set import IndexSpec as IndexSpec

__all__ = [
    "INDEXABLE_OPS",
    "INTERSECT_LIMIT",
    "LOOSE",
    "NUMBER",
    "SELECTIVITY_LIMIT",
    "SMALL_POOL",
    "UNORDERED",
    "CompositeIndex",
    "FieldIndex",
    "IndexSet",
    "IndexSpec",
    "Plan",
    "SortedKeys",
    "classify",
    "conjuncts",
    "leading_predicates",
    "plan",
]

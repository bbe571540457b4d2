"""Hypothesis strategies over a fixed test model, shared by the predicate and SQL suites.

Stable API (other suites import it; extend, do not break):

- :class:`Row` — ``id: int, age: int | None, score: float | None, name: str | None,
  flag: bool | None, payload: sassi.JSON | None``; ``ROW_FIELDS = sassi.fields(Row)``.
- :func:`rows` / :func:`row_lists` — instances with collisions-prone values: ``None``, NaN,
  ``-0.0``, non-ASCII letters, ``% _ \\``, nested JSON with nulls, big ints.
- :func:`json_values` — JSON documents.
- :func:`predicates` — predicate trees over ``Row`` using every op (plain and ``present()``),
  every JSON test, ``And/Or/Not/Xor/TRUE/FALSE`` including empty and single-child ``And``/``Or``.

``sql_safe=True`` keeps data and operands inside what SQL engines store faithfully: no NaN or
infinity, ints within signed 64 bits, no NUL characters (used by the SQL differential test).
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

import sassi
from sassi.predicate import And, Or, Predicate

__all__ = [
    "ROW_FIELDS",
    "JSON_KEYS",
    "Row",
    "json_values",
    "leaves",
    "predicates",
    "row_lists",
    "rows",
]


@dataclass(frozen=True, slots=True)
class Row:
    """The fixed model every property test runs on."""

    id: int
    age: int | None = None
    score: float | None = None
    name: str | None = None
    flag: bool | None = None
    payload: sassi.JSON | None = None


ROW_FIELDS = sassi.fields(Row)

JSON_KEYS: tuple[str, ...] = ("a", "b", "c", "x-y", "", "é")
"""Object keys used in generated documents and paths (some are not identifiers)."""

_ALPHABET = "aAbBzZéÉßK%_\\ .-"
_INT64 = (-(2**63), 2**63 - 1)


def _ints(sql_safe: bool) -> st.SearchStrategy[int]:
    small = st.integers(-3, 40)
    if sql_safe:
        return st.one_of(small, st.integers(*_INT64), st.sampled_from([2**53 + 1, -(2**62)]))
    return st.one_of(small, st.sampled_from([2**53 + 1, 2**63 + 1, -(2**70), 10**30]))


def _floats(sql_safe: bool) -> st.SearchStrategy[float]:
    common = st.sampled_from([0.0, -0.0, 1.5, 2.0, 17.5, -3.25, 1e300, 2.0**53])
    if sql_safe:
        return st.one_of(common, st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
    return st.one_of(
        common,
        st.sampled_from([float("nan"), float("inf"), float("-inf")]),
        st.floats(allow_nan=True, allow_infinity=True),
    )


def _texts() -> st.SearchStrategy[str]:
    return st.text(alphabet=_ALPHABET, max_size=6)


def _numbers(sql_safe: bool) -> st.SearchStrategy[int | float]:
    finite = st.sampled_from([0.0, -0.0, 1.5, 2.0, 17.5, 2.0**53])
    ints = st.integers(-3, 40) | st.sampled_from([2**53 + 1, -(2**62)])
    if not sql_safe:
        ints = ints | st.sampled_from([2**63 + 1, 2**64])
    return ints | finite


def json_values(*, sql_safe: bool = False, max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """JSON documents (finite floats only; bool vs number and int vs float collisions).

    :param sql_safe: keep ints within 64 bits and strings free of NUL.
    :param max_leaves: rough size bound.
    """
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        _numbers(sql_safe),
        _texts(),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.sampled_from(JSON_KEYS), inner, max_size=4),
        ),
        max_leaves=max_leaves,
    )


def _payloads(sql_safe: bool) -> st.SearchStrategy[Any]:
    nested = st.dictionaries(
        st.sampled_from(JSON_KEYS), json_values(sql_safe=sql_safe, max_leaves=8), max_size=4
    )
    return st.one_of(st.none(), nested, json_values(sql_safe=sql_safe, max_leaves=4))


def rows(
    *, sql_safe: bool = False, ids: st.SearchStrategy[int] | None = None
) -> st.SearchStrategy[Row]:
    """Instances of :class:`Row`.

    :param sql_safe: no NaN/inf, 64-bit ints, no NUL characters.
    :param ids: the id strategy (default small ints).
    """
    return st.builds(
        Row,
        id=ids if ids is not None else st.integers(0, 10_000),
        age=st.none() | _ints(sql_safe),
        score=st.none() | _floats(sql_safe),
        name=st.none() | _texts(),
        flag=st.none() | st.booleans(),
        payload=_payloads(sql_safe),
    )


def row_lists(
    *, sql_safe: bool = False, min_size: int = 0, max_size: int = 20
) -> st.SearchStrategy[list[Row]]:
    """Lists of rows with unique ids.

    :param sql_safe: see :func:`rows`.
    """
    return st.lists(
        rows(sql_safe=sql_safe),
        min_size=min_size,
        max_size=max_size,
        unique_by=lambda r: r.id,
    )


# ---------------------------------------------------------------------------------------------
# Predicate leaves
# ---------------------------------------------------------------------------------------------


def _compare_leaves(
    field: Any, values: st.SearchStrategy[Any], *, optional: bool, ordered: bool = True
) -> st.SearchStrategy[Predicate]:
    """Every comparison op on ``field`` (plain and present()), operands from ``values``."""
    maybe_none = (st.none() | values) if optional else values
    choices: list[st.SearchStrategy[Predicate]] = [
        maybe_none.map(field.eq),
        maybe_none.map(field.ne),
        st.lists(maybe_none, max_size=4).map(field.in_),
        st.lists(maybe_none, max_size=4).map(field.not_in),
        values.map(field.present().eq),
        values.map(field.present().ne),
        st.lists(values, max_size=4).map(field.present().in_),
        st.lists(values, max_size=4).map(field.present().not_in),
        st.just(field.is_null()),
        st.just(field.is_not_null()),
    ]
    if ordered:
        for name in ("lt", "le", "gt", "ge"):
            choices.append(values.map(getattr(field, name)))
            choices.append(values.map(getattr(field.present(), name)))
        choices.append(st.tuples(values, values).map(lambda lh: field.between(*lh)))
        choices.append(st.tuples(values, values).map(lambda lh: field.present().between(*lh)))
    return st.one_of(choices)


def _string_leaves() -> st.SearchStrategy[Predicate]:
    name = ROW_FIELDS.name
    needles = st.text(alphabet=_ALPHABET, max_size=3)
    ops = [
        name.contains,
        name.icontains,
        name.startswith,
        name.istartswith,
        name.endswith,
        name.iendswith,
        name.iexact,
    ]
    return st.one_of([needles.map(op) for op in ops])


def _json_paths() -> st.SearchStrategy[Any]:
    root = ROW_FIELDS.payload.json
    return st.lists(st.sampled_from(JSON_KEYS), max_size=2).map(root.path_segments)


def _json_leaves(sql_safe: bool) -> st.SearchStrategy[Predicate]:
    paths = _json_paths()
    numbers = _numbers(sql_safe)
    keys = st.sampled_from(JSON_KEYS)
    kinds = st.sampled_from(["null", "bool", "number", "string", "array", "object"])
    small = json_values(sql_safe=sql_safe, max_leaves=4)

    def scalar(
        kind: type, values: st.SearchStrategy[Any], ordered: bool
    ) -> st.SearchStrategy[Predicate]:
        methods = ["eq", "ne"] + (["lt", "le", "gt", "ge"] if ordered else [])

        def method(name: str) -> st.SearchStrategy[Predicate]:
            return st.tuples(paths, values).map(lambda pv: getattr(pv[0].value(kind), name)(pv[1]))

        leaves = [method(m) for m in methods]
        leaves.append(
            st.tuples(paths, st.lists(values, max_size=3)).map(
                lambda pv: pv[0].value(kind).in_(pv[1])
            )
        )
        leaves.append(
            st.tuples(paths, st.lists(values, max_size=3)).map(
                lambda pv: pv[0].value(kind).not_in(pv[1])
            )
        )
        if ordered:
            leaves.append(
                st.tuples(paths, values, values).map(lambda p: p[0].value(kind).between(p[1], p[2]))
            )
        return st.one_of(leaves)

    return st.one_of(
        paths.map(lambda p: p.exists()),
        paths.map(lambda p: p.missing()),
        paths.map(lambda p: p.is_json_null()),
        paths.map(lambda p: p.is_not_json_null()),
        st.tuples(paths, kinds).map(lambda pk: pk[0].is_type(pk[1])),
        st.tuples(paths, keys).map(lambda pk: pk[0].has_key(pk[1])),
        st.tuples(paths, st.lists(keys, max_size=3)).map(lambda pk: pk[0].has_any_key(pk[1])),
        st.tuples(paths, st.lists(keys, max_size=3)).map(lambda pk: pk[0].has_all_keys(pk[1])),
        st.tuples(paths, small).map(lambda pv: pv[0].eq_json(pv[1])),
        st.tuples(paths, small).map(lambda pv: pv[0].ne_json(pv[1])),
        st.tuples(paths, small).map(lambda pv: pv[0].array_contains(pv[1])),
        st.tuples(paths, st.integers(0, 4), st.sampled_from(["eq", "gt", "ge", "lt", "le"])).map(
            lambda p: getattr(p[0], f"array_len_{p[2]}")(p[1])
        ),
        scalar(int, numbers, True),
        scalar(float, numbers, True),
        scalar(str, _texts(), False),
        scalar(bool, st.booleans(), False),
    )


def leaves(*, sql_safe: bool = False, json: bool = True) -> st.SearchStrategy[Predicate]:
    """Single-leaf predicates over every field and op of :class:`Row`.

    :param sql_safe: operands SQL can represent.
    :param json: include JSON leaves.
    """
    F = ROW_FIELDS
    choices = [
        _compare_leaves(F.id, _ints(sql_safe), optional=False),
        _compare_leaves(F.age, _ints(sql_safe), optional=True),
        _compare_leaves(F.score, _floats(sql_safe), optional=True),
        _compare_leaves(F.name, _texts(), optional=True),
        _compare_leaves(F.flag, st.booleans(), optional=True),
        _string_leaves(),
    ]
    if json:
        choices.append(_json_leaves(sql_safe))
    return st.one_of(choices)


def _combine(children: st.SearchStrategy[Predicate]) -> st.SearchStrategy[Predicate]:
    many = st.lists(children, min_size=0, max_size=3)
    return st.one_of(
        many.map(lambda cs: And(tuple(cs))),
        many.map(lambda cs: Or(tuple(cs))),
        st.lists(children, min_size=2, max_size=3).map(
            lambda cs: functools.reduce(operator.and_, cs)
        ),
        st.lists(children, min_size=2, max_size=3).map(
            lambda cs: functools.reduce(operator.or_, cs)
        ),
        st.tuples(children, children).map(lambda lr: lr[0] ^ lr[1]),
        children.map(operator.invert),
    )


def predicates(
    max_leaves: int = 6, *, sql_safe: bool = False, json: bool = True
) -> st.SearchStrategy[Predicate]:
    """Predicate trees over :class:`Row` (leaves from :func:`leaves`, plus TRUE/FALSE).

    :param max_leaves: bound on the number of leaves in a tree.
    :param sql_safe: operands SQL can represent (no NaN/inf, 64-bit ints).
    :param json: include JSON leaves.
    """
    base = leaves(sql_safe=sql_safe, json=json) | st.sampled_from([sassi.TRUE, sassi.FALSE])
    return st.recursive(base, _combine, max_leaves=max_leaves)

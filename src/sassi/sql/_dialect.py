"""Dialect quirks: one clause per dialect, code-point collation, ASCII folding, NULL-free helpers.

Every leaf that SQLite and PostgreSQL spell differently is built twice and wrapped in
:class:`PerDialect`; the compiler renders the form of the engine it runs on.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement, Grouping
from sqlalchemy.sql.visitors import InternalTraversal

from ..predicate import JsonKind, JsonPredicate, LookupOp

__all__ = [
    "COMPARE",
    "Clause",
    "JSON_TYPES",
    "PerDialect",
    "as_clause",
    "collate",
    "compare_op",
    "json_kind",
    "no_null",
    "per_dialect",
    "string_lookup",
]

Clause = ColumnElement[bool]
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = _UPPER.lower()
_ASCII_FOLD = str.maketrans(_UPPER, _LOWER)


class PerDialect(ColumnElement[bool]):
    """A boolean clause with one form per dialect; the compiler picks the engine's form.

    ``default`` (plain ``str(clause)``) renders the PostgreSQL form; dialects other than SQLite
    and PostgreSQL are refused at compile time rather than given SQL of unknown meaning.
    """

    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012 - SQLAlchemy's own declaration style
        ("sqlite", InternalTraversal.dp_clauseelement),
        ("postgresql", InternalTraversal.dp_clauseelement),
    ]
    type = sa.Boolean()

    def __init__(self, sqlite: Clause, postgresql: Clause) -> None:
        self.sqlite = sqlite
        self.postgresql = postgresql


@compiles(PerDialect)
def _compile_per_dialect(element: PerDialect, compiler: SQLCompiler, **kw: Any) -> str:
    """Render the form of the dialect being compiled for (PostgreSQL for plain ``str()``)."""
    name = compiler.dialect.name
    if name == "sqlite":
        chosen = element.sqlite
    elif name in ("postgresql", "default"):
        chosen = element.postgresql
    else:
        raise CompileError(
            f"sassi.sql lowers predicates for SQLite and PostgreSQL only, not {name!r}"
        )
    return str(compiler.process(Grouping(chosen), **kw))


def collate(expr: Any, collation: str) -> Any:
    """``expr COLLATE collation``, parenthesised when ``expr`` is an operator expression.

    ``COLLATE`` binds tighter than ``||`` and friends: without the parentheses a hybrid property
    such as ``name || '!'`` would collate only its last operand.
    """
    return sa.collate(expr if isinstance(expr, sa.ColumnClause) else Grouping(expr), collation)


def _codepoint(col: ColumnElement[Any], value: object) -> tuple[Any, Any]:
    """``(sqlite, postgresql)`` forms of ``col`` that compare strings by code point."""
    if isinstance(value, str):
        return collate(col, "BINARY"), collate(col, "C")
    return col, col


def per_dialect(col: ColumnElement[Any], value: object, build: Callable[[Any], Clause]) -> Clause:
    """``build(col)`` once per dialect, with code-point collation when ``value`` is a string."""
    lite, pg = _codepoint(col, value)
    if lite is col:
        return build(col)
    return PerDialect(build(lite), build(pg))


def _fold(expr: Any, needle: str) -> tuple[Any, Any]:
    """``(sqlite, postgresql)`` ASCII-only lower-casing of a text expression.

    PostgreSQL: ``translate()`` over A-Z. SQLite has no ``translate()`` (and ``lower()`` folds
    Unicode once the ICU extension is loaded), so it gets nested ``replace()`` calls, one per
    letter of the already folded ``needle``: an upper-case letter whose lower case is absent
    from the needle can match no needle character folded or not, so the answer is unchanged
    and the expression stays shallow enough for SQLite's parser.
    """
    lite: Any = collate(expr, "BINARY")
    for lower in sorted(set(needle) & set(_LOWER)):
        upper = lower.upper()
        lite = sa.func.replace(
            lite, sa.literal_column(f"'{upper}'"), sa.literal_column(f"'{lower}'")
        )
    pg = sa.func.translate(
        collate(expr, "C"), sa.literal_column(f"'{_UPPER}'"), sa.literal_column(f"'{_LOWER}'")
    )
    return lite, pg


def string_lookup(col: ColumnElement[Any], op: LookupOp, needle: str) -> Clause:
    """contains / startswith / endswith / iexact and their ASCII-folding forms."""
    if op in (LookupOp.ICONTAINS, LookupOp.ISTARTSWITH, LookupOp.IENDSWITH, LookupOp.IEXACT):
        needle = needle.translate(_ASCII_FOLD)
        lite, pg = _fold(col, needle)
    else:
        lite, pg = collate(col, "BINARY"), collate(col, "C")
    n = len(needle)
    not_null = col.is_not(None)
    if op in (LookupOp.IEXACT,):
        return sa.and_(not_null, PerDialect(lite == needle, pg == needle))
    if n == 0:
        return not_null
    if op in (LookupOp.CONTAINS, LookupOp.ICONTAINS):
        sqlite_form = sa.func.instr(lite, needle) > 0
        pg_form = sa.func.strpos(pg, needle) > 0
    elif op in (LookupOp.STARTSWITH, LookupOp.ISTARTSWITH):
        sqlite_form = sa.func.substr(lite, 1, n) == needle
        pg_form = sa.func.left(pg, n) == needle
    else:
        sqlite_form = sa.func.substr(lite, -n) == needle
        pg_form = sa.func.right(pg, n) == needle
    return sa.and_(not_null, PerDialect(sqlite_form, pg_form))


COMPARE: Mapping[LookupOp, Callable[[Any, Any], Any]] = {
    LookupOp.EQ: operator.eq,
    LookupOp.NE: operator.ne,
    LookupOp.LT: operator.lt,
    LookupOp.LE: operator.le,
    LookupOp.GT: operator.gt,
    LookupOp.GE: operator.ge,
}

# kind -> (SQLite json_type names, PostgreSQL jsonb_typeof name)
JSON_TYPES: Mapping[JsonKind, tuple[tuple[str, ...], str]] = {
    JsonKind.NULL: (("null",), "null"),
    JsonKind.BOOL: (("true", "false"), "boolean"),
    JsonKind.NUMBER: (("integer", "real"), "number"),
    JsonKind.STRING: (("text",), "string"),
    JsonKind.ARRAY: (("array",), "array"),
    JsonKind.OBJECT: (("object",), "object"),
}


def no_null(clause: Clause) -> Clause:
    """``clause`` with SQL NULL read as false."""
    return sa.func.coalesce(clause, sa.false(), type_=sa.Boolean)


def json_kind(body: JsonPredicate) -> JsonKind:
    """The kind of a JSON body that needs one."""
    if body.kind is None:
        raise TypeError(f"JSON {body.test.name} predicate has no kind: {body!r}")
    return body.kind


def compare_op(body: JsonPredicate) -> Callable[[Any, Any], Any]:
    """The comparison function of a JSON body that needs one."""
    if body.op is None or body.op not in COMPARE:
        raise TypeError(f"JSON {body.test.name} predicate has no comparison: {body!r}")
    return COMPARE[body.op]


def as_clause(expr: Any) -> Clause:
    """``expr`` as a boolean clause (for typing: comparison operators return one)."""
    return expr  # type: ignore[no-any-return]

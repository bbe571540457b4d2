"""``repr()`` of predicate trees, written the way a user would build them.

``(F.age >= 18) & F.org.in_((7, 9))`` reads back as Python over ``F = sassi.fields(Model)``.
Operator leaves are parenthesised inside ``&``/``|``/``^``/``~`` because those bind tighter
than comparisons; method-call leaves are not.
"""

from __future__ import annotations

import re

from ._json_body import JsonKind, JsonPredicate, JsonTest
from ._nodes import And, Const, FieldPredicate, Not, Or, Predicate, Xor
from ._ops import OPS, LookupOp, OpKind

__all__ = ["predicate_repr"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_SYMBOLS: dict[LookupOp, str] = {
    LookupOp.EQ: "==",
    LookupOp.NE: "!=",
    LookupOp.LT: "<",
    LookupOp.LE: "<=",
    LookupOp.GT: ">",
    LookupOp.GE: ">=",
}

_ARRAY_LEN: dict[LookupOp | None, str] = {
    LookupOp.EQ: "array_len_eq",
    LookupOp.GT: "array_len_gt",
    LookupOp.GE: "array_len_ge",
    LookupOp.LT: "array_len_lt",
    LookupOp.LE: "array_len_le",
}

_SHORTHAND: dict[JsonKind | None, str] = {
    JsonKind.BOOL: "is_bool()",
    JsonKind.NUMBER: "is_number()",
    JsonKind.STRING: "is_string()",
    JsonKind.ARRAY: "is_array()",
    JsonKind.OBJECT: "is_object()",
}


def _field(name: str) -> str:
    if _IDENT.fullmatch(name) and name.isascii():
        return f"F.{name}"
    return f"F[{name!r}]"


def _json_path(field: str, path: tuple[str, ...]) -> str:
    base = f"{_field(field)}.json"
    if not path:
        return base
    if all(_IDENT.fullmatch(s) and len(s) <= 63 for s in path):
        return f"{base}.path({'.'.join(path)!r})"
    return base + "".join(f".key({s!r})" for s in path)


def _scalar(body: JsonPredicate) -> str:
    if body.kind is JsonKind.STRING:
        return "str"
    if body.kind is JsonKind.BOOL:
        return "bool"
    operands = body.operand if isinstance(body.operand, tuple) else (body.operand,)
    return "float" if any(isinstance(v, float) for v in operands) else "int"


def _json_leaf(field: str, body: JsonPredicate) -> tuple[str, bool]:
    """The text of a JSON leaf and whether it is an operator expression."""
    path = _json_path(field, body.path)
    test = body.test
    if test is JsonTest.TYPE:
        short = _SHORTHAND.get(body.kind)
        if short is not None:
            return f"{path}.{short}", False
        kind = body.kind.value if body.kind is not None else None
        return f"{path}.is_type({kind!r})", False
    if test is JsonTest.ARRAY_LEN:
        return f"{path}.{_ARRAY_LEN.get(body.op, 'array_len_?')}({body.operand!r})", False
    if test in (JsonTest.COMPARE, JsonTest.IN, JsonTest.NOT_IN, JsonTest.BETWEEN):
        value = f"{path}.value({_scalar(body)})"
        if test is JsonTest.COMPARE and body.op in _SYMBOLS:
            return f"{value} {_SYMBOLS[body.op]} {body.operand!r}", True
        if test is JsonTest.BETWEEN:
            low, high = body.operand
            return f"{value}.between({low!r}, {high!r})", False
        method = "in_" if test is JsonTest.IN else "not_in"
        return f"{value}.{method}({body.operand!r})", False
    if test in (JsonTest.EXISTS, JsonTest.MISSING, JsonTest.IS_NULL, JsonTest.IS_NOT_NULL):
        return f"{path}.{test.value}()", False
    return f"{path}.{test.value}({body.operand!r})", False


def _leaf(node: FieldPredicate) -> tuple[str, bool]:
    """The text of a leaf and whether it is an operator expression (needs parentheses)."""
    if node.op is LookupOp.JSON and isinstance(node.value, JsonPredicate):
        return _json_leaf(node.field, node.value)
    target = _field(node.field) + (".present()" if node.present else "")
    info = OPS[node.op]
    if node.op in _SYMBOLS:
        return f"{target} {_SYMBOLS[node.op]} {node.value!r}", True
    if info.kind is OpKind.RANGE and isinstance(node.value, tuple) and len(node.value) == 2:
        low, high = node.value
        return f"{target}.between({low!r}, {high!r})", False
    if info.kind is OpKind.NULLNESS:
        return f"{target}.{node.op.value}()", False
    return f"{target}.{info.symbol}({node.value!r})", False


def _part(node: Predicate) -> str:
    """``node`` as an operand of ``& | ^ ~``: parenthesised unless atomic."""
    if isinstance(node, FieldPredicate):
        text, operator = _leaf(node)
        return f"({text})" if operator else text
    if isinstance(node, Const):
        return predicate_repr(node)
    if isinstance(node, Not):
        return predicate_repr(node)
    if isinstance(node, (And, Or)) and len(node.children) < 2:
        return predicate_repr(node)
    return f"({predicate_repr(node)})"


def predicate_repr(node: Predicate) -> str:
    """A readable Python-like spelling of ``node``.

    :param node: any predicate tree.
    :returns: e.g. ``(F.age >= 18) & F.org.in_((7, 9))``.
    """
    if isinstance(node, FieldPredicate):
        return _leaf(node)[0]
    if isinstance(node, Const):
        return "TRUE" if node.value else "FALSE"
    if isinstance(node, Not):
        if isinstance(node.child, (Not, Const)):
            # ~ would collapse these (~~p is p, ~TRUE is FALSE): spell the node out
            return f"Not({predicate_repr(node.child)})"
        return f"~{_part(node.child)}"
    if isinstance(node, Xor):
        return f"{_part(node.left)} ^ {_part(node.right)}"
    if isinstance(node, (And, Or)):
        name = type(node).__name__
        if len(node.children) < 2 or any(isinstance(c, type(node)) for c in node.children):
            # & and | would flatten a nested And/Or: spell the node out
            inner = ", ".join(predicate_repr(c) for c in node.children)
            trailing = "," if len(node.children) == 1 else ""
            return f"{name}(({inner}{trailing}))"
        joiner = " & " if isinstance(node, And) else " | "
        return joiner.join(_part(c) for c in node.children)
    return object.__repr__(node)

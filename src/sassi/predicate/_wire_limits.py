"""Bounds on the predicate wire form, checked before any parsing, recursion or arithmetic.

:func:`sassi.predicate.loads` reads messages other processes publish (``invalidate_where``), so a
single message must not be able to stall or exhaust a subscriber. In order, ``loads`` checks:

1. the document's size (:data:`MAX_DOCUMENT_BYTES`), before decoding or parsing anything;
2. its bracket nesting (:data:`MAX_JSON_NESTING`), with a linear scan of the raw text, before
   ``json.loads`` can recurse;
3. every number's text (:data:`MAX_NUMBER_DIGITS`, :data:`MAX_NUMBER_EXPONENT`), before it is
   converted: plain JSON numbers as the parser meets them, ``decimal`` and ``fraction`` operand
   strings before ``Decimal``/``Fraction`` see them (``Fraction("1e1000000000")`` would compute
   ``10**1000000000``);
4. the number of predicate nodes (:data:`MAX_NODES`), while the tree is rebuilt, and the tree's
   depth (:data:`~sassi.predicate.MAX_DEPTH`, checked by the node constructors).

Each failure is a :class:`ValueError` whose message names the limit. ``dumps`` applies the same
bounds to what it writes, so a publisher learns of an oversized predicate instead of every
subscriber dropping it.
"""

from __future__ import annotations

import decimal
import fractions
import re
from collections.abc import Iterable
from itertools import accumulate
from typing import Any

from ._nodes import MAX_DEPTH, And, Not, Or, Predicate, Xor

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_JSON_NESTING",
    "MAX_NODES",
    "MAX_NUMBER_DIGITS",
    "MAX_NUMBER_EXPONENT",
    "check_json_numbers",
    "check_nesting",
    "check_number",
    "check_number_text",
    "check_size",
    "count_nodes",
    "parse_float",
    "parse_int",
]

MAX_DOCUMENT_BYTES = 1024 * 1024
"""The largest document ``loads`` reads and ``dumps`` writes: 1 MiB of UTF-8."""

MAX_JSON_NESTING = 2 * MAX_DEPTH + 64
"""The deepest bracket nesting (``[`` and ``{``) of a document: 192.

A tree at :data:`~sassi.predicate.MAX_DEPTH` needs at most ``2 * MAX_DEPTH`` levels (an
``{"and": [...]}`` node takes two); the other 64 leave room for nested operands.
"""

MAX_NODES = 10_000
"""The most predicate nodes (leaves, ``And``, ``Or``, ``Not``, ``Xor``, constants) in a document."""

MAX_NUMBER_DIGITS = 1_000
"""The longest text of one number: a JSON number, or a ``decimal``/``fraction`` operand string.

Together with :data:`MAX_NUMBER_EXPONENT` this keeps every exact value far below CPython's
4300-digit limit on int <-> str conversion, so ``repr``, ``str`` and ``dumps`` always work.
"""

MAX_NUMBER_EXPONENT = 1_000
"""The largest decimal exponent (``e``/``E`` part) of one number, in magnitude."""

# A JSON string, or an unterminated one running to the end: matching always succeeds at a quote,
# so the scan never backtracks across the text, whatever it holds.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.S)
_BRACKET = re.compile(r"[\[\]{}]")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_INT_BITS = 4 * MAX_NUMBER_DIGITS  # an int with more bits has more than MAX_NUMBER_DIGITS digits


def check_size(data: str | bytes | bytearray) -> None:
    """Refuse a document over :data:`MAX_DOCUMENT_BYTES` (UTF-8 bytes, also for a ``str``).

    :raises ValueError: when it is larger.
    """
    size = len(data)
    if isinstance(data, str) and size <= MAX_DOCUMENT_BYTES and not data.isascii():
        size = len(data.encode("utf-8", "surrogatepass"))
    if size > MAX_DOCUMENT_BYTES:
        raise ValueError(
            f"predicate wire data is larger than MAX_DOCUMENT_BYTES = {MAX_DOCUMENT_BYTES} "
            f"(at least {size} bytes)"
        )


def check_nesting(text: str) -> None:
    """Refuse a document nested deeper than :data:`MAX_JSON_NESTING`, without parsing it.

    Strings are blanked out first, so brackets inside them do not count; the running depth is
    computed in one pass at C speed.

    :raises ValueError: when some bracket sits deeper.
    """
    if text.count("[") + text.count("{") <= MAX_JSON_NESTING:
        return
    brackets = _BRACKET.findall(_STRING.sub("", text))
    deepest = max(accumulate(map(_STEP.__getitem__, brackets)), default=0)
    if deepest > MAX_JSON_NESTING:
        raise ValueError(
            f"predicate wire data is nested {deepest} levels deep, more than "
            f"MAX_JSON_NESTING = {MAX_JSON_NESTING}"
        )


def check_number_text(text: str, what: str) -> None:
    """Refuse a number's text before converting it: too long, or too large an exponent.

    :param text: a JSON number, or a ``Decimal``/``Fraction`` string (any spelling those accept).
    :param what: how messages name the number.
    :raises ValueError: naming :data:`MAX_NUMBER_DIGITS` or :data:`MAX_NUMBER_EXPONENT`.
    """
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(
            f"{what} has {len(text)} characters, more than MAX_NUMBER_DIGITS = {MAX_NUMBER_DIGITS}"
        )
    _, marker, exponent = text.lower().partition("e")
    if not marker:
        return
    digits = exponent.strip().lstrip("+-").replace("_", "").lstrip("0")
    try:
        too_large = len(digits) > len(str(MAX_NUMBER_EXPONENT)) or (
            bool(digits) and int(digits) > MAX_NUMBER_EXPONENT
        )
    except ValueError:  # not digits: the number's own constructor refuses the text
        return
    if too_large:
        raise ValueError(
            f"{what} has exponent {exponent.strip()[:20]!r}, beyond "
            f"MAX_NUMBER_EXPONENT = {MAX_NUMBER_EXPONENT}"
        )


def parse_int(text: str) -> int:
    """``json.loads``'s ``parse_int``: bounded before ``int()`` (quadratic in the digits)."""
    check_number_text(text, "a JSON integer")
    return int(text)


def parse_float(text: str) -> float:
    """``json.loads``'s ``parse_float``: bounded before ``float()``."""
    check_number_text(text, "a JSON number")
    return float(text)


def check_number(value: Any, what: str) -> None:
    """Refuse an int, ``Decimal`` or ``Fraction`` whose text ``loads`` would refuse.

    Other values (floats included: their text is short) pass.

    :raises ValueError: naming :data:`MAX_NUMBER_DIGITS` or :data:`MAX_NUMBER_EXPONENT`.
    """
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        parts: tuple[int, ...] = (value,)
    elif isinstance(value, fractions.Fraction):
        parts = (value.numerator, value.denominator)
    elif isinstance(value, decimal.Decimal):
        parts = ()
    else:
        return
    if any(part.bit_length() > _INT_BITS for part in parts):  # str() itself would be slow
        raise ValueError(
            f"{what}: a number of more than MAX_NUMBER_DIGITS = {MAX_NUMBER_DIGITS} digits"
        )
    check_number_text(str(value), what)


def check_json_numbers(value: Any, what: str) -> None:
    """:func:`check_number` on every int inside a JSON value (lists and dicts, no recursion)."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, int):
            check_number(item, what)


def count_nodes(predicate: Predicate) -> None:
    """Refuse a tree of more than :data:`MAX_NODES` nodes (walked without recursion).

    :raises ValueError: naming the limit.
    """
    count = 0
    stack: list[Any] = [predicate]
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ValueError(f"predicate has more than MAX_NODES = {MAX_NODES} nodes")
        children: Iterable[Any] = ()
        if isinstance(node, And | Or):
            children = node.children
        elif isinstance(node, Not):
            children = (node.child,)
        elif isinstance(node, Xor):
            children = (node.left, node.right)
        stack.extend(children)

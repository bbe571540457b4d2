"""``loads`` on untrusted input: every size, nesting, node-count and number bound is checked
before any recursion or arithmetic, and fails fast with a ``ValueError`` naming the limit.

``dumps`` refuses what ``loads`` would refuse, so a publisher learns of an oversized predicate
instead of every subscriber silently dropping it.
"""

from __future__ import annotations

import decimal
import fractions
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import sassi
from sassi.predicate import (
    FALSE,
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    MAX_JSON_NESTING,
    MAX_NODES,
    MAX_NUMBER_DIGITS,
    MAX_NUMBER_EXPONENT,
    TRUE,
    Or,
    Predicate,
    dumps,
    loads,
)


@sassi.cacheable(type_name="wire.limits.Row")
@dataclass(frozen=True)
class Row:
    id: int
    age: int | None
    score: float | None
    name: str | None
    price: decimal.Decimal
    ratio: fractions.Fraction
    anything: Any
    payload: sassi.JSON | None = None


F = sassi.fields(Row)
HEAD = '{"sassi_predicate":1,"model":null,"tree":'


def envelope(tree: Any) -> str:
    return HEAD + json.dumps(tree) + "}"


def leaf(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "present": False, "value": value}


def raw_leaf(field: str, value_text: str) -> str:
    """A leaf whose operand is written verbatim (numbers ``json.dumps`` would not write)."""
    return HEAD + f'{{"field":"{field}","op":"eq","present":false,"value":{value_text}}}}}'


@pytest.fixture
def no_int_str_limit() -> Iterator[None]:
    """An application that switched off CPython's int-string limit must still be safe."""
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(before)


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("tag", ["fraction", "decimal"])
@pytest.mark.parametrize("text", ["1e1000000000", "1E-1000000000", "-7.5e+0001000000000"])
def test_a_huge_exponent_is_refused_before_any_arithmetic(tag: str, text: str) -> None:
    field = "ratio" if tag == "fraction" else "price"
    doc = envelope(leaf(field, "eq", {"$type": tag, "value": text}))
    with pytest.raises(ValueError, match="MAX_NUMBER_EXPONENT") as info:
        loads(Row, doc)
    assert field in str(info.value)


def test_a_huge_exponent_in_unicode_digits_is_refused() -> None:
    exponent = "\u0661" + "\u0660" * 9  # ARABIC-INDIC 1000000000: Fraction accepts these
    doc = envelope(leaf("ratio", "eq", {"$type": "fraction", "value": "1e" + exponent}))
    with pytest.raises(ValueError, match="MAX_NUMBER_EXPONENT"):
        loads(Row, doc)


@pytest.mark.parametrize("tag", ["fraction", "decimal"])
def test_a_long_numeric_string_is_refused(tag: str, no_int_str_limit: None) -> None:
    field = "ratio" if tag == "fraction" else "price"
    text = "7" * 200_000 + ("/3" if tag == "fraction" else ".5")
    with pytest.raises(ValueError, match="MAX_NUMBER_DIGITS"):
        loads(Row, envelope(leaf(field, "eq", {"$type": tag, "value": text})))


def test_a_huge_integer_literal_is_refused(no_int_str_limit: None) -> None:
    with pytest.raises(ValueError, match="MAX_NUMBER_DIGITS"):
        loads(Row, raw_leaf("age", "9" * 500_000))
    with pytest.raises(ValueError, match="MAX_NUMBER_DIGITS"):
        loads(Row, raw_leaf("age", "-" + "9" * 500_000))


def test_a_huge_integer_is_refused_with_the_interpreter_limit_on_too() -> None:
    with pytest.raises(ValueError, match="MAX_NUMBER_DIGITS"):
        loads(Row, raw_leaf("age", "9" * 500_000))


def test_a_huge_float_literal_is_refused() -> None:
    with pytest.raises(ValueError, match="MAX_NUMBER_DIGITS"):
        loads(Row, raw_leaf("score", "1" * 200_000 + ".5"))
    with pytest.raises(ValueError, match="MAX_NUMBER_EXPONENT"):
        loads(Row, raw_leaf("score", "1e1000000000"))


def test_huge_numbers_inside_json_operands_are_refused(no_int_str_limit: None) -> None:
    body = (
        '{"field":"payload","op":"json","present":false,"value":{"path":["a"],'
        '"test":"eq_json","op":null,"kind":null,"operand":[1,2,' + "3" * 300_000 + "]}}"
    )
    with pytest.raises(ValueError, match="MAX_NUMBER_DIGITS"):
        loads(Row, HEAD + body + "}")


def test_numbers_at_the_limits_round_trip() -> None:
    """The limits bound the *text* of each number: the longest accepted is MAX_NUMBER_DIGITS
    characters, the largest exponent MAX_NUMBER_EXPONENT."""
    big = int("9" * MAX_NUMBER_DIGITS)
    for p in [
        F.age == big,
        F.age == -int("9" * (MAX_NUMBER_DIGITS - 1)),
        F.ratio == fractions.Fraction(10 ** (MAX_NUMBER_DIGITS - 1)),
        F.ratio == fractions.Fraction(1, 10 ** (MAX_NUMBER_DIGITS - 3)),
        F.price == decimal.Decimal(f"-1.5e{MAX_NUMBER_EXPONENT}"),
        F.price == decimal.Decimal(f"1e-{MAX_NUMBER_EXPONENT}"),
        F.price == decimal.Decimal("9" * MAX_NUMBER_DIGITS),
        F.score == float(f"1e-{MAX_NUMBER_DIGITS // 4}"),
        F.payload.json.path("a").eq_json([big, -(big // 10)]),
    ]:
        back = loads(Row, dumps(p))
        assert back == p
        assert repr(back) == repr(p)
    for text in [f"1e{MAX_NUMBER_EXPONENT}", f"-3e-{MAX_NUMBER_EXPONENT}"]:
        doc = envelope(leaf("ratio", "eq", {"$type": "fraction", "value": text}))
        assert loads(Row, doc) == (F.ratio == fractions.Fraction(text))
        repr(loads(Row, doc))  # the exact value stays printable


def test_dumps_refuses_numbers_loads_would_refuse() -> None:
    too_long = int("9" * (MAX_NUMBER_DIGITS + 1))
    for p in [
        F.age == too_long,
        F.anything.in_([1, too_long]),
        F.ratio == fractions.Fraction(1, too_long),
        F.ratio == fractions.Fraction(f"1e{MAX_NUMBER_EXPONENT + 1}"),
        F.price == decimal.Decimal(f"1e{MAX_NUMBER_EXPONENT + 1}"),
        F.price == decimal.Decimal("9" * (MAX_NUMBER_DIGITS + 1)),
        F.payload.json.path("a").eq_json({"x": [too_long]}),
    ]:
        with pytest.raises(ValueError, match=r"MAX_NUMBER_(DIGITS|EXPONENT)"):
            dumps(p)


# --------------------------------------------------------------------------- nesting


@pytest.mark.parametrize("opener", ["[", "{", '{"a":'])
def test_deep_raw_nesting_is_refused_before_parsing(opener: str) -> None:
    text = HEAD + opener * 100_000
    with pytest.raises(ValueError, match="MAX_JSON_NESTING"):
        loads(Row, text)
    with pytest.raises(ValueError, match="MAX_JSON_NESTING"):
        loads(Row, text.encode())


def test_deep_raw_nesting_is_refused_even_with_a_raised_recursion_limit() -> None:
    """json.loads would recurse (and could overflow the C stack) without the pre-scan."""
    text = HEAD + '{"not":' * 50_000 + '{"const":true}' + "}" * 50_001
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(before + 2_000)
    try:
        with pytest.raises(ValueError, match="MAX_JSON_NESTING"):
            loads(Row, text)
    finally:
        sys.setrecursionlimit(before)


def test_nesting_at_the_limit_is_accepted_and_one_more_level_is_refused() -> None:
    # envelope + leaf object + two levels ({"$type": "list", "value": [...]}) per list
    lists = (MAX_JSON_NESTING - 2) // 2
    assert 2 + 2 * lists == MAX_JSON_NESTING
    opened = '{"$type":"list","value":[' * lists
    closed = "]}" * lists
    p = loads(Row, raw_leaf("anything", opened + "1" + closed))
    assert loads(Row, dumps(p)) == p
    deeper = opened + '{"$type":"float","value":"nan"}' + closed
    with pytest.raises(ValueError, match="MAX_JSON_NESTING"):
        loads(Row, raw_leaf("anything", deeper))


def test_brackets_inside_strings_do_not_count() -> None:
    p = F.name.in_(["[" * 50_000, "{" * 50_000, '\\"[' * 1_000, "]" * 10])
    assert loads(Row, dumps(p)) == p


def test_unterminated_strings_fail_fast() -> None:
    for text in [HEAD + '"' + '\\"' * 200_000, HEAD + '"' + "[" * 200_000, '"\\']:
        with pytest.raises(ValueError):
            loads(Row, text)


def test_the_deepest_buildable_predicate_round_trips() -> None:
    p: Predicate = F.age > 1
    for i in range(MAX_DEPTH - 1):
        p = (p | (F.age < i)) if i % 2 else (p & (F.age < i))
    assert loads(Row, dumps(p)) == p
    q: Predicate = F.anything == ((((1,),),),)
    for _ in range(MAX_DEPTH - 1):
        q = q ^ TRUE
    assert loads(Row, dumps(q)) == q


def test_a_predicate_deeper_than_max_depth_is_refused_by_loads() -> None:
    tree = '{"not":' * MAX_DEPTH + '{"const":true}' + "}" * MAX_DEPTH
    with pytest.raises(ValueError, match="MAX_DEPTH"):
        loads(Row, HEAD + tree + "}")


def test_dumps_refuses_operands_nested_deeper_than_loads_accepts() -> None:
    value: Any = 1
    for _ in range(MAX_JSON_NESTING):
        value = (value,)
    with pytest.raises(ValueError, match="MAX_JSON_NESTING"):
        dumps(F.anything == value)


# --------------------------------------------------------------------------- size and count


def test_an_oversized_document_is_refused_before_parsing() -> None:
    too_big = F.name == "x" * MAX_DOCUMENT_BYTES
    with pytest.raises(ValueError, match="MAX_DOCUMENT_BYTES"):
        dumps(too_big)
    text = envelope(leaf("name", "eq", "x" * MAX_DOCUMENT_BYTES))
    with pytest.raises(ValueError, match="MAX_DOCUMENT_BYTES"):
        loads(Row, text)
    with pytest.raises(ValueError, match="MAX_DOCUMENT_BYTES"):
        loads(Row, text.encode())
    with pytest.raises(ValueError, match="MAX_DOCUMENT_BYTES"):
        loads(Row, bytearray(text.encode()))


def test_size_counts_utf8_bytes_not_characters() -> None:
    text = envelope(leaf("name", "eq", "\u00e9" * (MAX_DOCUMENT_BYTES // 2)))
    text = text.replace("\\u00e9", "\u00e9")  # raw UTF-8: two bytes a character
    assert len(text) < MAX_DOCUMENT_BYTES < len(text.encode())
    with pytest.raises(ValueError, match="MAX_DOCUMENT_BYTES"):
        loads(Row, text)


def test_a_19_mb_message_of_300k_or_leaves_is_refused_fast() -> None:
    one = '{"field":"age","op":"eq","present":false,"value":1}'
    text = HEAD + '{"or":[' + ",".join([one] * 300_000) + "]}}"
    with pytest.raises(ValueError, match="MAX_DOCUMENT_BYTES"):
        loads(Row, text)


def test_too_many_nodes_are_refused() -> None:
    children = ",".join(['{"const":true}'] * MAX_NODES)  # + the Or itself: one too many
    text = HEAD + '{"or":[' + children + "]}}"
    assert len(text) < MAX_DOCUMENT_BYTES
    with pytest.raises(ValueError, match="MAX_NODES"):
        loads(Row, text)
    with pytest.raises(ValueError, match="MAX_NODES"):
        dumps(Or((TRUE,) * MAX_NODES))


def test_max_nodes_is_accepted() -> None:
    p = Or((TRUE, FALSE) * ((MAX_NODES - 1) // 2) + (TRUE,))
    assert len(p.children) + 1 == MAX_NODES
    assert loads(Row, dumps(p)) == p


def test_limits_are_what_the_docs_say() -> None:
    assert MAX_DOCUMENT_BYTES == 1024 * 1024
    assert MAX_NODES == 10_000
    assert MAX_NUMBER_DIGITS == MAX_NUMBER_EXPONENT == 1_000
    assert MAX_JSON_NESTING == 2 * MAX_DEPTH + 64
    # every exact value at the number limits stays printable under CPython's default limit
    assert sys.int_info.default_max_str_digits > MAX_NUMBER_DIGITS + MAX_NUMBER_EXPONENT

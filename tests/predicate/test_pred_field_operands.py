"""SPEC 11.11, first bullet: comparing a field with a field or a predicate is not a predicate.

Ordering operators, every named comparison method, any comparison involving a ``present()``
field or a JSON value builder, and any predicate operand raise ``TypeError`` at construction,
naming both fields; ``==``/``!=`` between two plain ``Field`` objects keep identity semantics;
a ``bool`` where a predicate is expected says that comparing two fields is the usual cause.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import sassi
from sassi.predicate import FieldPredicate, Predicate

Op = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class Acct:
    id: int
    age: int
    org: int
    name: str
    active: bool
    anything: Any = None
    payload: sassi.JSON | None = None


F = sassi.fields(Acct)
J = F.payload.json


class Wrapped:
    """A wrapper predicate (SPEC 11.12)."""

    def __init__(self, inner: Predicate) -> None:
        self.inner = inner

    def __sassi_predicate__(self) -> Predicate:
        return self.inner


ORDERING: list[Op] = [operator.lt, operator.le, operator.gt, operator.ge]
ALL_OPS: list[Op] = [*ORDERING, operator.eq, operator.ne]
METHODS = ["eq", "ne", "lt", "le", "gt", "ge"]


def names_both(message: str, first: str, second: str) -> bool:
    return bool(re.search(rf"\b{first}\b", message) and re.search(rf"\b{second}\b", message))


@pytest.mark.parametrize("op", ORDERING, ids=lambda o: o.__name__)
def test_ordering_between_fields_names_both(op: Op) -> None:
    with pytest.raises(TypeError) as info:
        op(F.age, F.org)
    assert names_both(str(info.value), "Acct.age", "Acct.org")


@pytest.mark.parametrize("method", METHODS)
def test_named_methods_with_a_field_name_both(method: str) -> None:
    with pytest.raises(TypeError) as info:
        getattr(F.age, method)(F.org)
    assert names_both(str(info.value), "Acct.age", "Acct.org")


def test_range_and_membership_with_a_field_name_both() -> None:
    for make in [
        lambda: F.age.between(F.org, 3),
        lambda: F.age.between(1, F.org),
        lambda: F.age.in_([1, F.org]),
        lambda: F.age.not_in((F.org,)),
    ]:
        with pytest.raises(TypeError) as info:
            make()
        assert names_both(str(info.value), "Acct.age", "Acct.org")


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda o: o.__name__)
def test_present_fields_never_compare_with_fields(op: Op) -> None:
    """``==`` too: a present() builder is not a dict key, so no identity fallback."""
    for left, right in [
        (F.age.present(), F.org),
        (F.age, F.org.present()),
        (F.age.present(), F.org.present()),
        (F.age.present(), F.age),
    ]:
        with pytest.raises(TypeError) as info:
            op(left, right)
        message = str(info.value)
        assert "present()" in message
        assert "Acct.age" in message
        assert "Acct.org" in message or right is F.age


@pytest.mark.parametrize("method", [*METHODS, "in_", "not_in"])
def test_present_methods_with_a_field_raise(method: str) -> None:
    operand: Any = [F.org] if method.endswith("in_") or method == "not_in" else F.org
    with pytest.raises(TypeError, match=r"Acct\.org"):
        getattr(F.age.present(), method)(operand)


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda o: o.__name__)
def test_a_predicate_operand_is_refused_on_both_sides(op: Op) -> None:
    pred = F.org > 1
    for left, right in [(F.age, pred), (pred, F.age), (F.age.present(), pred)]:
        with pytest.raises(TypeError, match="predicate"):
            op(left, right)
    with pytest.raises(TypeError, match="predicate"):
        op(F.age, Wrapped(pred))
    with pytest.raises(TypeError, match="predicate"):
        F.age.in_([pred])
    with pytest.raises(TypeError, match="predicate"):
        F.age.between(Wrapped(pred), 3)


def test_fields_keep_identity_equality_and_hash() -> None:
    assert (F.age == F.org) is False  # type: ignore[comparison-overlap]
    assert (F.age != F.org) is True
    assert (F.age == F.age) is True
    assert (F.age != F.age) is False
    lookup = {F.age: "a", F.org: "o"}
    assert lookup[F.age] == "a" and lookup[F.org] == "o"
    assert F.org in [F.age, F.org] and [F.age, F.org].index(F.org) == 1


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda o: o.__name__)
def test_json_values_never_compare_with_fields(op: Op) -> None:
    text = J.path("a").value(str)
    number = J.path("n").value(int)
    for left, right, other in [
        (text, F.name, "Acct.name"),
        (F.name, text, "Acct.name"),
        (number, F.age, "Acct.age"),
        (F.anything, number, "Acct.anything"),
        (number, J.path("m").value(int), "'m'"),
    ]:
        with pytest.raises(TypeError) as info:
            op(left, right)
        message = str(info.value)
        assert "payload" in message and other in message, message


def test_json_value_methods_refuse_fields_and_predicates() -> None:
    number = J.path("n").value(int)
    for make in [
        lambda: number.eq(F.age),
        lambda: number.lt(F.age),
        lambda: number.between(0, F.age),
        lambda: number.in_([1, F.age]),
        lambda: number.not_in([F.age.present()]),
    ]:
        with pytest.raises(TypeError, match=r"Acct\.age"):
            make()
    with pytest.raises(TypeError, match="predicate"):
        number.eq(F.age > 3)


def test_a_json_path_is_not_an_operand() -> None:
    with pytest.raises(TypeError, match="payload"):
        F.anything == J.path("a")  # noqa: B015
    with pytest.raises(TypeError, match="payload"):
        F.anything.in_([J])


@pytest.mark.parametrize("symbol", ["&", "|", "^"])
def test_a_bool_operand_blames_comparing_two_fields(symbol: str) -> None:
    op: Op = {"&": operator.and_, "|": operator.or_, "^": operator.xor}[symbol]
    pred = F.age > 1
    same = F.age == F.org  # a plain bool: identity of two Field objects
    assert isinstance(same, bool)
    for left, right in [(pred, same), (same, pred), (pred, True), (False, pred)]:
        with pytest.raises(TypeError, match="comparing two fields") as info:
            op(left, right)
        assert symbol in str(info.value)


def test_the_precedence_pitfall_says_to_parenthesize() -> None:
    with pytest.raises(TypeError, match="parenthes") as info:
        F.org == 7 & F.age > 1  # type: ignore[operator]  # noqa: B015
    assert "binds tighter" in str(info.value)
    with pytest.raises(TypeError, match="parenthes"):
        F.org == 7 | F.age > 1  # type: ignore[operator]  # noqa: B015
    with pytest.raises(TypeError, match="parenthes"):
        (F.org == 7) & 3  # type: ignore[operator]
    with pytest.raises(TypeError, match="not a predicate"):
        F.age & (F.org > 1)  # type: ignore[operator]


def test_inverting_a_field_explains() -> None:
    with pytest.raises(TypeError, match=r"Acct\.active") as info:
        _ = ~F.active  # type: ignore[operator]
    assert "== False" in str(info.value)


def test_plain_comparisons_still_build() -> None:
    assert isinstance(F.age < 3, FieldPredicate)
    assert isinstance(F.age.present() == 3, FieldPredicate)
    assert isinstance(J.path("a").value(str) == "x", FieldPredicate)
    assert isinstance((F.age > 1) & (F.org == 7), Predicate)

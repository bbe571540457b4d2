"""JSON path predicates (SPEC section 2 "JSON"; reference contracts 14-21; jsahibon.rs)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest

import sassi
from sassi.predicate import (
    FieldPredicate,
    JsonKind,
    JsonPath,
    JsonPredicate,
    JsonTest,
    JsonValue,
    LookupOp,
    Predicate,
)
from sassi.predicate._codegen import compile_scan
from sassi.predicate._evaluate import interpret, json_equal, json_test


@dataclass(frozen=True, slots=True)
class Doc:
    id: int
    payload: sassi.JSON | None = None


F = sassi.fields(Doc)
J = F.payload.json


def check(p: Predicate, payload: Any) -> bool:
    obj = Doc(1, payload)
    expected = interpret(p, obj)
    assert p.evaluate(obj) is expected
    assert p.compile()(obj) is expected
    assert compile_scan(p)([obj]) == ([obj] if expected else [])
    if isinstance(p, FieldPredicate) and isinstance(p.value, JsonPredicate):
        assert json_test(payload, p.value) is expected
    return expected


# Paths (contracts 14, 15) ---------------------------------------------------------------------


def test_path_builders() -> None:
    assert isinstance(J, JsonPath)
    assert J.segments == ()
    assert J.path("profile.age").segments == ("profile", "age")
    assert J.path("a").path("b").segments == ("b",)  # path() replaces
    assert J.path("a").key("b.c").segments == ("a", "b.c")  # key() appends
    assert J.key("").key("0").key("x-y").key("é").segments == ("", "0", "x-y", "é")
    assert J.path("a").path_segments(["x.y", ""]).segments == ("x.y", "")  # replaces
    assert J.path("_a1.B_2").segments == ("_a1", "B_2")
    assert J.path("a" * 63).segments == ("a" * 63,)


@pytest.mark.parametrize(
    "dotted", ["", "a..b", ".a", "a.", "1a", "a-b", "a b", "é", "a.1", "a" * 64, "a.b" + "c" * 63]
)
def test_invalid_dotted_paths_raise_value_error(dotted: str) -> None:
    with pytest.raises(ValueError, match="path"):
        J.path(dotted)


def test_keys_must_be_strings() -> None:
    with pytest.raises(TypeError):
        J.key(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        J.path_segments(["a", 2])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        J.has_any_key("ab")


def test_json_needs_a_json_capable_field() -> None:
    @dataclass
    class M:
        id: int
        name: str
        blob: dict[str, Any]
        anything: Any

    G = sassi.fields(M)
    with pytest.raises(TypeError, match="json"):
        _ = G.name.json
    with pytest.raises(TypeError):
        _ = G.id.json
    assert G.blob.json.path("a").exists().field == "blob"
    assert G.anything.json.exists().field == "anything"


def test_literal_keys_address_object_keys() -> None:
    doc = {"a.b": 1, "": 2, "0": 3, "x-y": {"ü": 4}, "a": {"b": 5}}
    assert check(J.key("a.b").value(int) == 1, doc)
    assert check(J.key("").value(int) == 2, doc)
    assert check(J.key("0").value(int) == 3, doc)
    assert check(J.key("x-y").key("ü").value(int) == 4, doc)
    assert check(J.path("a.b").value(int) == 5, doc)
    assert check(J.path_segments(["a", "b"]).value(int) == 5, doc)
    assert not check(J.path("a.c").exists(), doc)


def test_paths_walk_objects_only() -> None:
    doc = {"list": [{"a": 1}], "s": "abc", "n": None}
    assert not check(J.path("list.a").exists(), doc)
    assert not check(J.key("list").key("0").exists(), doc)
    assert not check(J.path("s.a").exists(), doc)
    assert not check(J.path("n.a").exists(), doc)
    assert check(J.path("n.a").missing(), doc)


# exists / missing / null (contract 16) ---------------------------------------------------------


def test_missing_null_and_none_field_are_distinct() -> None:
    doc = {"a": None, "b": 1}
    assert check(J.path("a").exists(), doc)
    assert check(J.path("a").is_json_null(), doc)
    assert not check(J.path("a").is_not_json_null(), doc)
    assert not check(J.path("a").missing(), doc)
    assert check(J.path("c").missing(), doc)
    assert not check(J.path("c").exists(), doc)
    assert not check(J.path("c").is_json_null(), doc)
    assert not check(J.path("c").is_not_json_null(), doc)
    assert check(J.path("b").is_not_json_null(), doc)
    # a None field value is a missing document
    assert check(J.missing(), None)
    assert not check(J.exists(), None)
    assert not check(J.is_json_null(), None)
    assert check(J.path("a").missing(), None)
    # present roots
    assert check(J.exists(), {})
    assert check(J.exists(), [])
    assert check(J.exists(), 0)
    assert check(J.is_not_json_null(), False)


def test_every_predicate_but_missing_is_false_on_a_missing_path() -> None:
    doc = {"x": 1}
    p = J.path("nope")
    preds = [
        p.exists(),
        p.is_json_null(),
        p.is_not_json_null(),
        p.is_type("null"),
        p.is_bool(),
        p.is_number(),
        p.is_string(),
        p.is_array(),
        p.is_object(),
        p.has_key("a"),
        p.has_any_key(["a"]),
        p.has_all_keys([]),
        p.eq_json(None),
        p.ne_json(1),
        p.array_contains(1),
        p.array_len_eq(0),
        p.array_len_ge(0),
        p.array_len_lt(5),
        p.value(int) == 1,
        p.value(int) != 1,
        p.value(int) < 5,
        p.value(int).between(-10, 10),
        p.value(int).in_([1]),
        p.value(int).not_in([1]),
        p.value(int).not_in([]),
        p.value(str) != "x",
        p.value(bool) != True,  # noqa: E712
    ]
    for pred in preds:
        assert not check(pred, doc), pred
        assert not check(pred, None), pred
        assert check(~pred, doc), pred
    assert check(p.missing(), doc)


# Types (contract 21) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, "null"),
        (True, "bool"),
        (False, "bool"),
        (0, "number"),
        (-2.5, "number"),
        (2**70, "number"),
        ("", "string"),
        ([], "array"),
        ([1], "array"),
        ({}, "object"),
        ({"a": 1}, "object"),
    ],
)
def test_type_predicates_match_only_their_kind(value: Any, kind: str) -> None:
    doc = {"v": value}
    for k in JsonKind:
        assert check(J.path("v").is_type(k.value), doc) is (k.value == kind)
        assert check(J.path("v").is_type(k), doc) is (k.value == kind)
    shorthands = {
        "bool": J.path("v").is_bool(),
        "number": J.path("v").is_number(),
        "string": J.path("v").is_string(),
        "array": J.path("v").is_array(),
        "object": J.path("v").is_object(),
    }
    for name, pred in shorthands.items():
        assert check(pred, doc) is (name == kind)


def test_unknown_type_kind_raises() -> None:
    with pytest.raises(ValueError, match="kind"):
        J.is_type("integer")


def test_key_predicates_need_objects() -> None:
    doc = {"o": {"a": 1, "b": None}, "l": ["a"], "s": "a"}
    o = J.path("o")
    assert check(o.has_key("a"), doc)
    assert check(o.has_key("b"), doc)
    assert not check(o.has_key("c"), doc)
    assert check(o.has_any_key(["c", "b"]), doc)
    assert not check(o.has_any_key([]), doc)
    assert check(o.has_all_keys(["a", "b"]), doc)
    assert check(o.has_all_keys([]), doc)
    assert not check(o.has_all_keys(["a", "c"]), doc)
    for other in ("l", "s"):
        assert not check(J.path(other).has_key("a"), doc)
        assert not check(J.path(other).has_any_key(["a"]), doc)
        assert not check(J.path(other).has_all_keys([]), doc)


def test_array_predicates_need_arrays() -> None:
    doc = {"arr": [1, "x", None, {"k": [2]}], "obj": {"0": 1}, "s": "abc"}
    a = J.path("arr")
    assert check(a.array_len_eq(4), doc)
    assert check(a.array_len_gt(3), doc)
    assert not check(a.array_len_gt(4), doc)
    assert check(a.array_len_ge(4), doc)
    assert check(a.array_len_lt(5), doc)
    assert not check(a.array_len_lt(4), doc)
    assert check(a.array_len_le(4), doc)
    assert check(a.array_contains(1), doc)
    assert check(a.array_contains(1.0), doc)
    assert not check(a.array_contains(True), doc)
    assert check(a.array_contains(None), doc)
    assert check(a.array_contains({"k": [2.0]}), doc)
    assert not check(a.array_contains("X"), doc)
    for other in ("obj", "s"):
        assert not check(J.path(other).array_len_ge(0), doc)
        assert not check(J.path(other).array_contains(1), doc)
    with pytest.raises(TypeError):
        a.array_len_eq(-1)
    with pytest.raises(TypeError):
        a.array_len_eq(True)


# Equality (contracts 18, 19) -------------------------------------------------------------------


def test_object_equality_ignores_key_order() -> None:
    doc = {"o": {"b": 1, "a": [1, {"y": 2, "x": 3}]}}
    assert check(J.path("o").eq_json({"a": [1, {"x": 3, "y": 2}], "b": 1}), doc)
    assert not check(J.path("o").eq_json({"a": [{"x": 3, "y": 2}, 1], "b": 1}), doc)
    assert not check(J.path("o").eq_json({"a": [1, {"x": 3, "y": 2}]}), doc)
    assert check(J.path("o").ne_json({"a": 1}), doc)
    assert not check(J.path("o").ne_json({"a": [1, {"x": 3, "y": 2}], "b": 1}), doc)


def test_numeric_equality_is_cross_carrier_but_exact() -> None:
    big = 2**63 + 1
    doc = {"one": 1, "fone": 1.0, "big": big, "fbig": float(big), "t": True, "z": -0.0}
    assert check(J.path("one").eq_json(1.0), doc)
    assert check(J.path("fone").eq_json(1), doc)
    assert check(J.path("one").value(float) == 1.0, doc)
    assert check(J.path("fone").value(int) == 1, doc)
    assert check(J.path("big").value(int) == big, doc)
    assert not check(J.path("big").value(float) == float(big), doc)
    assert not check(J.path("fbig").value(int) == big, doc)
    assert not check(J.path("big").eq_json(float(big)), doc)
    assert check(J.path("big").ne_json(float(big)), doc)
    assert check(J.path("big").value(int) > float(big) - 1, doc)
    assert check(J.path("z").eq_json(0), doc)
    # bool is never a number
    assert not check(J.path("t").eq_json(1), doc)
    assert not check(J.path("one").eq_json(True), doc)
    assert not check(J.path("t").value(int) == 1, doc)
    assert not check(J.path("t").value(int) != 1, doc)
    assert not check(J.path("one").value(bool) == True, doc)  # noqa: E712
    assert check(J.path("t").value(bool) == True, doc)  # noqa: E712
    assert not check(J.path("t").value(int).in_([1, 0]), doc)
    assert not check(J.path("one").value(bool).not_in([False]), doc)


def test_json_equal_helper() -> None:
    assert json_equal({"a": [1, None]}, {"a": [1.0, None]})
    assert not json_equal([1], [True])
    assert not json_equal({"a": 1}, {"b": 1})
    assert not json_equal(float("nan"), float("nan"))
    assert not json_equal(object(), object())


# Typed scalars (contract 17, 20) ---------------------------------------------------------------


def test_scalar_ops() -> None:
    doc = {"age": 30, "name": "Ann", "ok": False, "f": 2.5}
    age = J.path("age").value(int)
    assert isinstance(age, JsonValue)
    assert check(age == 30, doc)
    assert check(age.eq(30), doc)
    assert check(age != 31, doc)
    assert check(age.ne(31), doc)
    assert check(age > 29, doc) and not check(age > 30, doc)
    assert check(age.gt(29.5), doc)
    assert check(age >= 30, doc) and check(age.ge(30), doc)
    assert check(age < 31, doc) and check(age.lt(31), doc)
    assert check(age <= 30, doc) and check(age.le(30), doc)
    assert check(age.between(30, 30), doc)
    assert not check(age.between(31, 40), doc)
    assert check(age.in_([1, 30]), doc)
    assert not check(age.in_([]), doc)
    assert check(age.not_in([1]), doc)
    assert check(age.not_in([]), doc)
    assert not check(age.not_in([30.0]), doc)
    assert check(operator_rev_ge(age), doc)
    name = J.path("name").value(str)
    assert check(name == "Ann", doc)
    assert check(name != "ann", doc)
    assert check(name.in_(["x", "Ann"]), doc)
    assert check(name.not_in(["x"]), doc)
    ok = J.path("ok").value(bool)
    assert check(ok == False, doc)  # noqa: E712
    assert check(ok.ne(True), doc)
    f = J.path("f").value(float)
    assert check(f.between(2, 3), doc)


def operator_rev_ge(value: JsonValue) -> Predicate:
    import operator

    result: Predicate = operator.le(29, value)  # reflected: value >= 29
    return result


def test_scalar_kind_mismatch_is_false_for_every_op() -> None:
    doc = {"s": "30", "n": 30, "b": True, "null": None, "arr": [30], "obj": {"a": 30}}
    for key in ("s", "b", "null", "arr", "obj"):
        v = J.path(key).value(int)
        for pred in [v == 30, v != 30, v < 100, v.between(0, 100), v.in_([30]), v.not_in([1])]:
            assert not check(pred, doc), (key, pred)
    for key in ("n", "b", "null", "arr"):
        s = J.path(key).value(str)
        assert not check(s != "x", doc)
        assert not check(s.not_in([]), doc)


def test_scalar_ordering_is_for_numbers_only() -> None:
    for kind in (str, bool):
        v = J.path("a").value(kind)
        operand = "x" if kind is str else True
        with pytest.raises(TypeError, match="number"):
            v < operand  # noqa: B015
        with pytest.raises(TypeError, match="number"):
            v.ge(operand)
        with pytest.raises(TypeError, match="number"):
            v.between(operand, operand)


def test_scalar_operands_must_match_the_kind() -> None:
    with pytest.raises(TypeError):
        J.value(int) == "1"  # noqa: B015
    with pytest.raises(TypeError):
        J.value(int) == True  # noqa: B015, E712
    with pytest.raises(TypeError):
        J.value(float).in_([1, "2"])
    with pytest.raises(TypeError):
        J.value(str) == 1  # noqa: B015
    with pytest.raises(TypeError):
        J.value(bool) == 1  # noqa: B015
    with pytest.raises(TypeError):
        J.value(str).in_("abc")
    for bad_kind in (list, dict, bytes, type(None), "int"):
        with pytest.raises(TypeError):
            J.value(bad_kind)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_operands_raise_value_error(bad: float) -> None:
    v = J.path("a").value(float)
    with pytest.raises(ValueError):
        v == bad  # noqa: B015
    with pytest.raises(ValueError):
        v.gt(bad)
    with pytest.raises(ValueError):
        v.between(bad, 1.0)
    with pytest.raises(ValueError):
        v.between(1.0, bad)
    with pytest.raises(ValueError):
        v.in_([1.0, bad])
    with pytest.raises(ValueError):
        J.eq_json({"a": [bad]})
    with pytest.raises(ValueError):
        J.ne_json(bad)
    with pytest.raises(ValueError):
        J.array_contains(bad)


def test_json_operands_must_be_json() -> None:
    with pytest.raises(TypeError):
        J.eq_json({1: "a"})
    with pytest.raises(TypeError):
        J.eq_json(object())
    with pytest.raises(TypeError):
        J.array_contains({"a": {1, 2}})


def test_json_operand_is_copied() -> None:
    operand = {"a": [1]}
    p = J.eq_json(operand)
    operand["a"].append(2)
    assert check(p, {"a": [1]})
    assert isinstance(p.value, JsonPredicate)
    assert p.value.operand == {"a": [1]}
    assert J.eq_json((1, 2)).value == J.eq_json([1, 2]).value


def test_non_finite_values_inside_documents_compare_like_nan() -> None:
    doc = {"n": float("nan"), "i": float("inf")}
    assert not check(J.path("n").value(float) == 1.0, doc)
    assert check(J.path("n").value(float) != 1.0, doc)
    assert not check(J.path("n").eq_json(1.0), doc)
    assert check(J.path("i").value(float) > 1e308, doc)


# Inspectable body ------------------------------------------------------------------------------


def test_predicate_payload_is_inspectable_under_lookup_op_json() -> None:
    p = J.path("profile.age").value(int) >= 18
    assert isinstance(p, FieldPredicate)
    assert p.field == "payload" and p.op is LookupOp.JSON and p.present is False
    body = p.value
    assert isinstance(body, JsonPredicate)
    assert body.path == ("profile", "age")
    assert body.test is JsonTest.COMPARE
    assert body.op is LookupOp.GE
    assert body.kind is JsonKind.NUMBER
    assert body.operand == 18
    match p:
        case FieldPredicate("payload", LookupOp.JSON, JsonPredicate(path=("profile", "age"))):
            pass
        case _:
            pytest.fail("body does not match")


@pytest.mark.parametrize(
    ("pred", "test", "op", "kind", "operand"),
    [
        (J.exists(), JsonTest.EXISTS, None, None, None),
        (J.missing(), JsonTest.MISSING, None, None, None),
        (J.is_json_null(), JsonTest.IS_NULL, None, None, None),
        (J.is_not_json_null(), JsonTest.IS_NOT_NULL, None, None, None),
        (J.is_type("array"), JsonTest.TYPE, None, JsonKind.ARRAY, None),
        (J.has_key("k"), JsonTest.HAS_KEY, None, None, "k"),
        (J.has_any_key(["a", "b"]), JsonTest.HAS_ANY_KEY, None, None, ("a", "b")),
        (J.has_all_keys(["a"]), JsonTest.HAS_ALL_KEYS, None, None, ("a",)),
        (J.eq_json([1]), JsonTest.EQ_JSON, None, None, [1]),
        (J.ne_json("x"), JsonTest.NE_JSON, None, None, "x"),
        (J.array_contains(2), JsonTest.ARRAY_CONTAINS, None, None, 2),
        (J.array_len_le(3), JsonTest.ARRAY_LEN, LookupOp.LE, None, 3),
        (J.value(str) != "a", JsonTest.COMPARE, LookupOp.NE, JsonKind.STRING, "a"),
        (J.value(bool).in_([True]), JsonTest.IN, None, JsonKind.BOOL, (True,)),
        (J.value(int).not_in([1, 2]), JsonTest.NOT_IN, None, JsonKind.NUMBER, (1, 2)),
        (J.value(float).between(1, 2.5), JsonTest.BETWEEN, None, JsonKind.NUMBER, (1, 2.5)),
    ],
)
def test_body_layout(
    pred: Predicate, test: JsonTest, op: LookupOp | None, kind: JsonKind | None, operand: Any
) -> None:
    assert isinstance(pred, FieldPredicate) and pred.op is LookupOp.JSON
    assert pred.value == JsonPredicate((), test, op, kind, operand)
    assert hash(pred) == hash(FieldPredicate("payload", LookupOp.JSON, pred.value))


def test_json_predicates_are_hashable_and_structural() -> None:
    a = J.path("a").eq_json({"x": 1, "y": [1, 2]})
    b = J.path("a").eq_json({"y": [1, 2], "x": 1})
    assert a == b and hash(a) == hash(b)
    assert J.path("a").eq_json(1) != J.path("a").eq_json(True)
    assert J.path("a").exists() != J.path("b").exists()
    assert len({a, b, J.path("a").exists()}) == 2

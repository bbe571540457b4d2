"""The predicate JSON wire form: round-trips for every node and op, and every rejection."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import fractions
import json
import math
import uuid
import zoneinfo
from dataclasses import dataclass
from typing import Any, Literal

import pytest

import sassi
from sassi.predicate import (
    FALSE,
    TRUE,
    And,
    Const,
    FieldPredicate,
    JsonPredicate,
    LookupOp,
    Not,
    Or,
    Predicate,
    Xor,
    dumps,
    loads,
)


class Color(enum.Enum):
    RED = "r"
    BLUE = "b"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@sassi.cacheable(type_name="wire.Item")
@dataclass(frozen=True)
class Item:
    id: int
    age: int | None
    score: float | None
    name: str | None
    flag: bool
    color: Color
    level: Level | None
    mood: Literal["happy", "sad"]
    when: dt.datetime | None
    day: dt.date
    at: dt.time
    span: dt.timedelta
    price: decimal.Decimal
    ratio: fractions.Fraction
    key: uuid.UUID
    blob: bytes
    pair: tuple[int, int]
    anything: Any
    payload: sassi.JSON | None = None


@dataclass(frozen=True)
class Other:
    id: int
    age: int


F = sassi.fields(Item)
J = F.payload.json

UTC = dt.UTC
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def roundtrip(p: Predicate, model: type = Item) -> Predicate:
    text = dumps(p, model=model)
    json.loads(text, parse_constant=pytest.fail)  # strict JSON: no NaN/Infinity literals
    assert text.isascii()
    back = loads(model, text)
    assert back == p
    try:
        expected_hash = hash(p)
    except TypeError:  # an unhashable operand (a list or dict) makes the node unhashable
        pass
    else:
        assert hash(back) == expected_hash
    assert dumps(back, model=model) == text  # stable: re-encoding gives the same bytes
    return back


LEAVES: list[Predicate] = [
    F.age == 3,
    F.age != 3,
    F.age < 3,
    F.age <= 3,
    F.age > -3,
    F.age >= 2**70,
    F.age.between(1, 10),
    F.age.in_([1, 2, 3]),
    F.age.in_([]),
    F.age.not_in([4, None]),
    F.age.not_in(()),
    F.age == None,  # noqa: E711
    F.age.is_null(),
    F.age.is_not_null(),
    F.age.present() == 3,
    F.age.present() != 3,
    F.age.present() < 3,
    F.age.present() <= 3,
    F.age.present() > 3,
    F.age.present() >= 3,
    F.age.present().between(1, 2),
    F.age.present().in_([1]),
    F.age.present().not_in([1, 2]),
    F.score == 1.5,
    F.score.between(-1e308, 5e-324),
    F.name.contains("a%b_c\\"),
    F.name.icontains("É"),
    F.name.startswith(""),
    F.name.istartswith("ab"),
    F.name.endswith("\u2603"),
    F.name.iendswith("z"),
    F.name.iexact("Mixed"),
    F.name == "\ud800 lone surrogate",
    F.flag == True,  # noqa: E712
    F.flag != False,  # noqa: E712
    F.color == Color.RED,
    F.color.in_([Color.RED, Color.BLUE]),
    F.level == Level.HIGH,
    F.level.present() > Level.LOW,
    F.mood == "happy",
    F.when > dt.datetime(2020, 1, 1, tzinfo=UTC),
    F.when == dt.datetime(2020, 1, 1, 12, 30, 15, 123456),
    F.when < dt.datetime(2024, 10, 27, 2, 30, tzinfo=PARIS, fold=1),
    F.when == dt.datetime(2024, 3, 1, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30))),
    F.day.between(dt.date(2020, 1, 1), dt.date(9999, 12, 31)),
    F.at >= dt.time(23, 59, 59, 999999),
    F.span < dt.timedelta(days=-2, microseconds=5),
    F.price < decimal.Decimal("1.50"),
    F.price == decimal.Decimal("-0.000"),
    F.price.in_([decimal.Decimal("Infinity"), decimal.Decimal("1E+30")]),
    F.ratio > fractions.Fraction(1, 3),
    F.key == uuid.UUID("12345678-1234-5678-1234-567812345678"),
    F.blob == b"\x00\xffbytes",
    F.pair == (1, 2),
    F.pair.in_([(1, 2), (3, 4)]),
    F.anything == [1, (2, 3), {"k": None, 4: b"x"}],
    F.anything == {(1, 2): "v"},
    J.exists(),
    J.missing(),
    J.path("a.b").is_json_null(),
    J.key("").is_not_json_null(),
    J.is_type("null"),
    J.is_bool(),
    J.is_number(),
    J.is_string(),
    J.is_array(),
    J.is_object(),
    J.key("a.b").key("-").has_key("x.y"),
    J.has_any_key(["a", "b"]),
    J.has_any_key([]),
    J.has_all_keys(["a", "\u00e9"]),
    J.eq_json({"a": [1, 2.0, -0.0, None, True, "s", {"n": {}}]}),
    J.ne_json([]),
    J.eq_json(None),
    J.array_contains({"x": 1}),
    J.array_len_eq(0),
    J.array_len_gt(1),
    J.array_len_ge(2),
    J.array_len_lt(3),
    J.array_len_le(4),
    J.path("n").value(int) == 3,
    J.path("n").value(int) != 3,
    J.path("n").value(float) < 2.5,
    J.path("n").value(int) <= 2**64 + 1,
    J.path("n").value(float) > -0.0,
    J.path("n").value(int) >= 0,
    J.path("n").value(float).between(1, 2.5),
    J.path("n").value(int).in_([1, 2]),
    J.path("n").value(float).not_in([1.5]),
    J.path("s").value(str) == "x",
    J.path("s").value(str).in_(["x", "y"]),
    J.path("b").value(bool) != True,  # noqa: E712
    J.path("b").value(bool).not_in([False]),
]


@pytest.mark.parametrize("p", LEAVES, ids=repr)
def test_every_leaf_round_trips(p: Predicate) -> None:
    back = roundtrip(p)
    assert isinstance(back, FieldPredicate) and isinstance(p, FieldPredicate)
    assert (back.field, back.op, back.present) == (p.field, p.op, p.present)
    assert type(back.value) is type(p.value)


def test_every_lookup_op_is_covered() -> None:
    ops = {p.op for p in LEAVES if isinstance(p, FieldPredicate)}
    assert ops == set(LookupOp)
    bodies = [
        operand for p in LEAVES if isinstance(operand := getattr(p, "value", None), JsonPredicate)
    ]
    tests = {b.test for b in bodies}
    assert tests == set(sassi.JsonTest)


def operand_of(p: Predicate) -> Any:
    assert isinstance(p, FieldPredicate)
    return p.value.operand if isinstance(p.value, JsonPredicate) else p.value


def test_number_carriers_and_negative_zero_survive() -> None:
    for p in [F.score == -0.0, F.score == 1.0, F.age == 1, J.path("n").value(float) == -0.0]:
        got, want = operand_of(roundtrip(p)), operand_of(p)
        assert type(got) is type(want)
        assert math.copysign(1.0, got) == math.copysign(1.0, want)
    operand = operand_of(roundtrip(J.eq_json([1, 1.0, -0.0, 2**64])))
    assert [type(v) for v in operand] == [int, float, float, int]
    assert math.copysign(1.0, operand[2]) == -1.0


def test_object_key_order_is_kept() -> None:
    back = roundtrip(J.eq_json({"b": 1, "a": 2}))
    assert list(back.value.operand) == ["b", "a"]  # type: ignore[attr-defined]


def test_non_finite_field_operands_survive() -> None:
    for value in (math.inf, -math.inf, math.nan):
        back = roundtrip(F.score == value)
        got = back.value  # type: ignore[attr-defined]
        assert (math.isnan(got) and math.isnan(value)) or got == value
    # a NaN other than math.nan cannot be *equal* after decoding (NaN != NaN) but is still NaN
    other_nan = float("nan")
    back = loads(Item, dumps(F.score == other_nan))
    assert math.isnan(back.value)  # type: ignore[attr-defined]


def test_aware_datetimes_keep_their_zone_and_fold() -> None:
    when = dt.datetime(2024, 10, 27, 2, 30, tzinfo=PARIS, fold=1)
    back = roundtrip(F.when == when)
    got = back.value  # type: ignore[attr-defined]
    assert got.tzinfo == PARIS and got.fold == 1 and got.utcoffset() == when.utcoffset()
    naive = roundtrip(F.when == dt.datetime(2020, 5, 17, 1, 2)).value  # type: ignore[attr-defined]
    assert naive.tzinfo is None


def test_enum_members_are_the_real_members() -> None:
    assert roundtrip(F.color == Color.BLUE).value is Color.BLUE  # type: ignore[attr-defined]
    assert roundtrip(F.level == Level.LOW).value is Level.LOW  # type: ignore[attr-defined]


COMPOSITES: list[Predicate] = [
    TRUE,
    FALSE,
    And(()),
    Or(()),
    And((F.age == 1,)),
    Or((F.age == 1,)),
    (F.age > 1) & (F.name == "x") & F.flag.is_null(),
    (F.age > 1) | (F.name == "x") | ~F.flag.is_null(),
    And((And((F.age == 1, F.age == 2)), F.age == 3)),  # nested And kept as built
    Or((Or(()), And(()))),
    Not(Not(F.age == 1)),
    ~(F.age == 1),
    Not(TRUE),
    (F.age == 1) ^ (F.age == 2),
    Xor(Xor(TRUE, FALSE), F.name.contains("q")),
    ((F.age >= 18) & J.path("tags").array_contains("vip")) ^ ~(F.color == Color.RED) | FALSE,
]


@pytest.mark.parametrize("p", COMPOSITES, ids=repr)
def test_every_node_round_trips(p: Predicate) -> None:
    roundtrip(p)


def test_constants_decode_to_the_singletons() -> None:
    assert loads(Item, dumps(TRUE)) is TRUE
    assert loads(Item, dumps(FALSE)) is FALSE


def test_document_layout() -> None:
    doc = json.loads(dumps((F.age >= 18) & ~F.name.is_null(), model=Item))
    assert doc == {
        "sassi_predicate": 1,
        "model": "wire.Item",
        "tree": {
            "and": [
                {"field": "age", "op": "ge", "present": False, "value": 18},
                {"not": {"field": "name", "op": "is_null", "present": False, "value": None}},
            ]
        },
    }
    assert json.loads(dumps(TRUE))["model"] is None


def test_decoded_predicate_evaluates_the_same() -> None:
    p = ((F.age >= 18) & F.name.istartswith("a")) | J.path("n").value(int).between(1, 3)
    back = loads(Item, dumps(p))

    @dataclass
    class Obj:
        age: int | None
        name: str | None
        payload: Any

    objs = [
        Obj(20, "Ann", None),
        Obj(20, "bob", None),
        Obj(None, "al", {"n": 2}),
        Obj(10, None, {"n": 4}),
        Obj(17, "Al", {"n": True}),
    ]
    assert [back(o) for o in objs] == [p(o) for o in objs] == [True, False, True, False, False]


def test_bytes_input_is_accepted() -> None:
    p = F.name == "\u00e9t\u00e9"
    assert loads(Item, dumps(p).encode()) == p
    assert loads(Item, bytearray(dumps(p).encode())) == p


def test_document_without_model_loads_for_any_model() -> None:
    assert loads(Other, dumps(sassi.fields(Item).age > 3)) == (sassi.fields(Other).age > 3)


# --------------------------------------------------------------------------- rejections


def envelope(tree: Any, **overrides: Any) -> str:
    doc: dict[str, Any] = {"sassi_predicate": 1, "model": None, "tree": tree}
    doc.update(overrides)
    return json.dumps(doc)


def leaf(field: Any = "age", op: Any = "eq", value: Any = 1, present: Any = False) -> Any:
    return {"field": field, "op": op, "present": present, "value": value}


def body(**overrides: Any) -> Any:
    raw: dict[str, Any] = {"path": [], "test": "exists", "op": None, "kind": None, "operand": None}
    raw.update(overrides)
    return leaf("payload", "json", raw)


def test_unknown_field_is_named() -> None:
    with pytest.raises(ValueError, match="'nope'") as info:
        loads(Item, envelope(leaf(field="nope")))
    assert "unknown field" in str(info.value)
    # a field of another model
    with pytest.raises(ValueError, match="'name'"):
        loads(Other, dumps(F.name == "x"))


def test_model_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match=r"wire\.Item"):
        loads(Other, dumps(F.age == 1, model=Item))


@pytest.mark.parametrize("version", [0, 2, "1", True, 1.0, None])
def test_unknown_version_is_refused(version: Any) -> None:
    with pytest.raises(ValueError, match="version"):
        loads(Item, envelope(leaf(), sassi_predicate=version))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        "null",
        '{"tree": {"const": true}}',
        '{"sassi_predicate": 1, "tree": {"const": true}}',
        '{"sassi_predicate": 1, "model": null, "tree": {"const": true}, "extra": 1}',
        '{"sassi_predicate": 1, "model": null, "tree": {"const": true}',
        '{"sassi_predicate": 1, "model": null, "tree": {"field": "score", "op": "eq", '
        '"present": false, "value": NaN}}',
        '{"sassi_predicate": 1, "model": null, "tree": {"field": "score", "op": "eq", '
        '"present": false, "value": Infinity}}',
    ],
)
def test_malformed_documents_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        loads(Item, text)


def test_non_utf8_and_non_text_are_refused() -> None:
    with pytest.raises(ValueError, match="UTF-8"):
        loads(Item, b"\xff\xfe")
    with pytest.raises(ValueError):
        loads(Item, 42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "tree",
    [
        {"const": 1},
        {"const": None},
        {"and": {"const": True}},
        {"or": None},
        {"xor": [{"const": True}]},
        {"xor": [{"const": True}, {"const": True}, {"const": True}]},
        {"not": [{"const": True}]},
        {"nand": []},
        {},
        {"const": True, "not": {"const": True}},
        [],
        "TRUE",
        leaf(op="like"),
        leaf(op="EQ"),
        leaf(op=None),
        leaf(field=3),
        leaf(present=1),
        leaf(present="false"),
        {"field": "age", "op": "eq", "value": 1},
        {**leaf(), "extra": True},
        leaf(op="between", value=[1]),
        leaf(op="between", value=1),
        leaf(op="in", value=1),
        leaf(op="in", value={"$type": "tuple", "value": [1]}),
        leaf(op="is_null", value=0),
        leaf(field="name", op="contains", value=3),
        leaf(value=[1, 2]),
        leaf(value={"$type": "pickle", "value": "gASVAAAA"}),
        leaf(value={"$type": 7, "value": 1}),
        leaf(value={"value": 1}),
        leaf(field="score", value={"$type": "float", "value": "NaN"}),
        leaf(field="score", value={"$type": "float", "value": 1.0}),
        leaf(field="when", value={"$type": "datetime", "value": "yesterday"}),
        leaf(field="when", value={"$type": "datetime", "value": "2020-01-01", "tz": "../etc"}),
        leaf(field="when", value={"$type": "datetime", "value": "2020-01-01", "tz": "Europe/X"}),
        leaf(field="when", value={"$type": "datetime", "value": "2020-01-01", "fold": 2}),
        leaf(field="when", value={"$type": "datetime", "value": "2020-01-01", "x": 1}),
        leaf(field="day", value={"$type": "date", "value": "2020-13-01"}),
        leaf(field="span", value={"$type": "timedelta", "value": [1, 2]}),
        leaf(field="span", value={"$type": "timedelta", "value": [1, 2, 3.5]}),
        leaf(field="price", value={"$type": "decimal", "value": "one"}),
        leaf(field="ratio", value={"$type": "fraction", "value": "1/0"}),
        leaf(field="key", value={"$type": "uuid", "value": "not-a-uuid"}),
        leaf(field="blob", value={"$type": "bytes", "value": "***"}),
        leaf(field="color", value={"$type": "enum", "class": "Color", "name": "GREEN"}),
        leaf(field="color", value={"$type": "enum", "class": "os.system", "name": "RED"}),
        leaf(field="color", value={"$type": "enum", "class": "Level", "name": "LOW"}),
        leaf(field="anything", value={"$type": "enum", "class": "Color", "name": "RED"}),
        leaf(field="anything", value={"$type": "dict", "value": [[1]]}),
        leaf(field="anything", value={"$type": "dict", "value": [[[], 1]]}),
        body(test="glob"),
        body(test="exists", operand=1),
        body(test="exists", op="eq"),
        body(path="a.b"),
        body(path=[1]),
        body(test="is_type", kind="date"),
        body(test="is_type"),
        body(test="has_key", operand=["a"]),
        body(test="has_key", operand="a", op="eq"),
        body(test="array_len", op="ne", operand=1),
        body(test="array_len", op="eq", operand=1.5),
        body(test="array_len", op="eq", operand=True),
        body(test="compare", op="eq", kind="array", operand=[]),
        body(test="compare", op="between", kind="number", operand=1),
        body(test="compare", op="lt", kind="string", operand="a"),
        body(test="compare", op="eq", kind="number", operand="1"),
        body(test="in", kind="number", operand=1),
        body(test="in", kind="number", op="eq", operand=[1]),
        body(test="between", kind="number", operand=[1]),
        body(test="eq_json", operand=None, extra=1),
        {"field": "payload", "op": "json", "present": False, "value": []},
    ],
    ids=repr,
)
def test_malformed_trees_are_refused(tree: Any) -> None:
    with pytest.raises(ValueError):
        loads(Item, envelope(tree))


def test_operands_are_revalidated_against_annotations() -> None:
    for bad in [
        leaf("age", "eq", "eighteen"),
        leaf("age", "ge", True),
        leaf("flag", "eq", 1),
        leaf("name", "eq", 3),
        leaf("age", "in", [1, "2"]),
        leaf("age", "eq", None, present=True),
        leaf("day", "lt", {"$type": "datetime", "value": "2020-01-01T00:00:00"}),
        leaf("age", "contains", "x"),
    ]:
        with pytest.raises(ValueError, match=bad["field"]):
            loads(Item, envelope(bad))
    with pytest.raises(ValueError):  # non-finite JSON scalar operand
        loads(Item, envelope(body(test="compare", op="eq", kind="number", operand=1e999)))
    with pytest.raises(ValueError):
        loads(Item, envelope(body(path=["a" * 3, 7])))


def test_deep_nesting_is_a_value_error_both_ways() -> None:
    p: Predicate = F.age == 1
    with pytest.raises(ValueError, match="deep"):  # refused at construction (MAX_DEPTH)
        for _ in range(5000):
            p = Not(p)
    p = F.age == 1
    for _ in range(5000):  # forged past the constructor's check, as a crafted pickle could
        node = object.__new__(Not)
        object.__setattr__(node, "child", p)
        p = node
    with pytest.raises(ValueError, match="deep"):
        dumps(p)
    text = '{"sassi_predicate":1,"model":null,"tree":' + '{"not":' * 100_000 + "{}" + "}" * 100_001
    with pytest.raises(ValueError):
        loads(Item, text)


def test_dumps_refuses_what_it_cannot_carry() -> None:
    with pytest.raises(TypeError, match="anything"):
        dumps(F.anything == object())
    with pytest.raises(TypeError, match="anything"):
        dumps(F.anything == {1, 2})
    with pytest.raises(TypeError):
        dumps("age > 3")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        dumps(F.age)  # type: ignore[arg-type]

    class Custom(Predicate):
        __slots__ = ()

    with pytest.raises(TypeError, match="Custom"):
        dumps(Custom())
    with pytest.raises(TypeError, match="needle"):
        dumps(FieldPredicate("name", LookupOp.CONTAINS, 3))
    with pytest.raises(TypeError):
        dumps(FieldPredicate("payload", LookupOp.JSON, {"test": "exists"}))
    with pytest.raises(ValueError):  # a hand-built body with a non-finite float
        bad = JsonPredicate((), sassi.JsonTest.EQ_JSON, operand=math.inf)
        dumps(FieldPredicate("payload", LookupOp.JSON, bad))


def test_hand_built_present_flag_on_other_ops_round_trips() -> None:
    p = FieldPredicate("name", LookupOp.CONTAINS, "x", present=True)
    roundtrip(p)
    q = FieldPredicate("age", LookupOp.IS_NULL, None, present=True)
    roundtrip(q)


def test_const_nodes_are_values() -> None:
    assert isinstance(loads(Item, envelope({"const": False})), Const)


def test_other_model_kinds() -> None:
    import typing

    import attrs
    import msgspec
    import pydantic

    @attrs.frozen
    class A:
        id: int
        color: Color | None

    class P(pydantic.BaseModel):
        id: int
        level: Level

    class S(msgspec.Struct, frozen=True):
        id: int
        day: dt.date

    class N(typing.NamedTuple):
        id: int
        key: uuid.UUID

    cases: list[tuple[type, Predicate]] = [
        (A, sassi.fields(A).color.in_([Color.BLUE, None])),
        (P, sassi.fields(P).level >= Level.HIGH),
        (S, sassi.fields(S).day < dt.date(2000, 1, 1)),
        (N, sassi.fields(N).key != uuid.UUID(int=5)),
    ]
    for model, p in cases:
        roundtrip(p, model)


GOLDEN_V1 = (
    '{"sassi_predicate":1,"model":"wire.Item","tree":{"or":['
    '{"and":[{"field":"age","op":"ge","present":false,"value":18},'
    '{"field":"name","op":"istartswith","present":false,"value":"a%"},'
    '{"field":"age","op":"in","present":true,"value":[1,2.5]}]},'
    '{"not":{"field":"when","op":"lt","present":false,"value":'
    '{"$type":"datetime","value":"2024-10-27T02:30:00+01:00","tz":"Europe/Paris","fold":1}}},'
    '{"xor":[{"const":true},{"field":"payload","op":"json","present":false,"value":'
    '{"path":["a","b.c"],"test":"between","op":null,"kind":"number","operand":[-0.0,3]}}]},'
    '{"field":"color","op":"ne","present":false,"value":{"$type":"enum","class":"Color","name":"BLUE"}},'
    '{"field":"price","op":"between","present":false,"value":'
    '[{"$type":"decimal","value":"-1.50"},{"$type":"float","value":"inf"}]}]}}'
)


def test_version_1_golden_document_still_loads() -> None:
    """A document written by version 1 must keep decoding to the same tree."""
    expected = (
        ((F.age >= 18) & F.name.istartswith("a%") & F.age.present().in_([1, 2.5]))
        | ~(F.when < dt.datetime(2024, 10, 27, 2, 30, tzinfo=PARIS, fold=1))
        | (TRUE ^ J.key("a").key("b.c").value(float).between(-0.0, 3))
        | (F.color != Color.BLUE)
        | F.price.between(decimal.Decimal("-1.50"), math.inf)
    )
    back = loads(Item, GOLDEN_V1)
    assert back == expected
    assert dumps(back, model=Item) == GOLDEN_V1

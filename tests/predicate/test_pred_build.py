"""Building predicates: Fields/Field/PresentField, operand checks, node shapes, composition,
hashing/equality/match, ``__bool__`` refusal and repr (SPEC sections 1-2, contracts 1, 2, 12)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import fractions
import operator
import typing
from dataclasses import dataclass
from typing import Any, Literal, NewType, Optional, TypeVar

import pytest

import sassi
from sassi import JSON
from sassi.predicate import (
    FALSE,
    TRUE,
    And,
    Const,
    Field,
    FieldPredicate,
    Fields,
    LookupOp,
    Not,
    Or,
    Predicate,
    PresentField,
    Xor,
)

UserId = NewType("UserId", int)
T = TypeVar("T")


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Thing:
    id: int
    age: int
    height: float
    price: decimal.Decimal
    ratio: fractions.Fraction
    active: bool
    name: str
    nick: str | None
    maybe: Optional[int]  # noqa: UP045
    born: dt.date
    seen: dt.datetime
    color: Color
    level: Literal["low", "high"]
    uid: UserId
    tags: list[str]
    attrs: dict[str, int]
    payload: JSON | None
    anything: Any
    generic: T  # type: ignore[valid-type]
    mixed: int | str


F = sassi.fields(Thing)


# Fields namespace ----------------------------------------------------------------------------


def test_fields_namespace_returns_cached_fields() -> None:
    assert isinstance(F, Fields)
    assert sassi.fields(Thing) is F
    assert isinstance(F.age, Field)
    assert F.age is F.age
    assert F.age.name == "age"
    assert F["age"] is F.age
    assert "age" in F and "nope" not in F
    assert [f.name for f in F][:3] == ["id", "age", "height"]
    assert len(F) == 20


def test_unknown_field_lists_known_fields() -> None:
    with pytest.raises(AttributeError) as info:
        _ = F.agee
    message = str(info.value)
    assert "agee" in message and "Thing" in message
    for name in ("id", "age", "payload"):
        assert name in message
    with pytest.raises(KeyError, match="agee"):
        _ = F["agee"]


def test_fields_namespace_survives_copy() -> None:
    import copy

    G = copy.copy(F)
    assert G.age.name == "age"
    H = copy.deepcopy(F)
    assert H.name.name == "name"
    with pytest.raises(AttributeError):
        _ = F.__wrapped__


def test_dir_lists_fields() -> None:
    names = dir(F)
    assert "age" in names and "payload" in names


def test_field_get_reads_the_attribute() -> None:
    obj = _thing()
    assert F.age.get(obj) == 30
    assert F.name.get(obj) == "Ann"
    with pytest.raises(AttributeError):
        F.age.get(object())


def test_field_keeps_a_normal_hash() -> None:
    d = {F.age: 1, F.name: 2}
    assert d[F.age] == 1
    assert hash(F.age) == hash(F.age)
    assert {F.age, F.age} == {F.age}
    assert isinstance(F.age == 1, FieldPredicate)


# Node shapes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("built", "op", "value"),
    [
        (F.age == 3, LookupOp.EQ, 3),
        (F.age.eq(3), LookupOp.EQ, 3),
        (F.age != 3, LookupOp.NE, 3),
        (F.age.ne(3), LookupOp.NE, 3),
        (F.age < 3, LookupOp.LT, 3),
        (F.age.lt(3), LookupOp.LT, 3),
        (F.age <= 3, LookupOp.LE, 3),
        (F.age.le(3), LookupOp.LE, 3),
        (F.age > 3, LookupOp.GT, 3),
        (F.age.gt(3), LookupOp.GT, 3),
        (F.age >= 3, LookupOp.GE, 3),
        (F.age.ge(3), LookupOp.GE, 3),
        (F.age.between(1, 5), LookupOp.BETWEEN, (1, 5)),
        (F.age.in_([1, 2]), LookupOp.IN, (1, 2)),
        (F.age.in_(range(3)), LookupOp.IN, (0, 1, 2)),
        (F.age.not_in({7}), LookupOp.NOT_IN, (7,)),
        (F.nick.is_null(), LookupOp.IS_NULL, None),
        (F.nick.is_not_null(), LookupOp.IS_NOT_NULL, None),
        (F.name.contains("a"), LookupOp.CONTAINS, "a"),
        (F.name.icontains("A"), LookupOp.ICONTAINS, "A"),
        (F.name.startswith("a"), LookupOp.STARTSWITH, "a"),
        (F.name.istartswith("A"), LookupOp.ISTARTSWITH, "A"),
        (F.name.endswith("a"), LookupOp.ENDSWITH, "a"),
        (F.name.iendswith("A"), LookupOp.IENDSWITH, "A"),
        (F.name.iexact("A"), LookupOp.IEXACT, "A"),
    ],
)
def test_builders_record_op_and_operand(built: Any, op: LookupOp, value: object) -> None:
    assert isinstance(built, FieldPredicate)
    assert built.op is op
    assert built.value == value
    assert type(built.value) is type(value)
    assert built.present is False
    match built:
        case FieldPredicate(field, got_op, got_value, present):
            assert (got_op, got_value, present) == (op, value, False)
            assert field in ("age", "nick", "name")


def test_reflected_comparisons() -> None:
    # 3 < F.age: int.__lt__ gives NotImplemented, Python falls back to F.age.__gt__(3)
    assert operator.lt(3, F.age) == FieldPredicate("age", LookupOp.GT, 3)
    assert operator.ge(3, F.age) == FieldPredicate("age", LookupOp.LE, 3)
    assert operator.eq(3, F.age) == FieldPredicate("age", LookupOp.EQ, 3)


def test_present_builder() -> None:
    some = F.maybe.present()
    assert isinstance(some, PresentField)
    for p, op in [
        (some == 1, LookupOp.EQ),
        (some != 1, LookupOp.NE),
        (some < 1, LookupOp.LT),
        (some <= 1, LookupOp.LE),
        (some > 1, LookupOp.GT),
        (some >= 1, LookupOp.GE),
        (some.eq(1), LookupOp.EQ),
        (some.ne(1), LookupOp.NE),
        (some.lt(1), LookupOp.LT),
        (some.le(1), LookupOp.LE),
        (some.gt(1), LookupOp.GT),
        (some.ge(1), LookupOp.GE),
    ]:
        assert p == FieldPredicate("maybe", op, 1, True)
    assert some.between(1, 2) == FieldPredicate("maybe", LookupOp.BETWEEN, (1, 2), True)
    assert some.in_([1]) == FieldPredicate("maybe", LookupOp.IN, (1,), True)
    assert some.not_in([1]) == FieldPredicate("maybe", LookupOp.NOT_IN, (1,), True)
    with pytest.raises(TypeError, match="None"):
        some == None  # noqa: B015, E711
    with pytest.raises(TypeError):
        some.in_([1, None])
    assert not hasattr(some, "contains")


# Composition (contracts 1, 2) ----------------------------------------------------------------


def test_and_or_flatten() -> None:
    a, b, c, d = F.age > 1, F.age < 9, F.name == "x", F.active == True  # noqa: E712
    abc = a & b & c
    assert abc == And((a, b, c))
    assert (a | b | c) == Or((a, b, c))
    assert (abc & d) == And((a, b, c, d))  # And & x appends
    assert (d & abc) == And((d, a, b, c))  # x & And prepends
    assert ((a & b) & (c & d)) == And((a, b, c, d))
    assert ((a | b) | (c | d)) == Or((a, b, c, d))
    assert ((a & b) | c) == Or((And((a, b)), c))
    assert (TRUE & a) == And((TRUE, a))  # no simplification


def test_xor_never_flattens() -> None:
    a, b, c = F.age > 1, F.age < 9, F.name == "x"
    assert (a ^ b ^ c) == Xor(Xor(a, b), c)
    assert (a ^ (b ^ c)) == Xor(a, Xor(b, c))


def test_negation_rules() -> None:
    a = F.age > 1
    assert ~a == Not(a)
    assert ~~a == a
    assert isinstance(~~a, FieldPredicate)
    assert ~~~a == Not(a)
    assert ~TRUE is FALSE
    assert ~FALSE is TRUE
    assert ~(a & a) == Not(And((a, a)))
    assert Const(True) == TRUE and Const(False) == FALSE


def test_composition_rejects_non_predicates() -> None:
    with pytest.raises(TypeError):
        (F.age > 1) & True  # type: ignore[operator]
    with pytest.raises(TypeError):
        (F.age > 1) | 3  # type: ignore[operator]


def test_bool_is_refused_with_advice() -> None:
    with pytest.raises(TypeError, match="&"):
        bool(F.age > 1)
    with pytest.raises(TypeError, match="between"):
        18 <= F.age < 65  # noqa: B015
    with pytest.raises(TypeError):
        if F.age == 1:
            pass
    with pytest.raises(TypeError):
        _ = (F.age > 1) and (F.age < 5)
    with pytest.raises(TypeError):
        _ = not TRUE


def test_nodes_are_frozen_hashable_and_structural() -> None:
    p = (F.age > 1) & F.name.in_(["a", "b"])
    q = (F.age > 1) & F.name.in_(("a", "b"))
    assert p == q and hash(p) == hash(q)
    assert len({p, q, ~p}) == 2
    assert (F.age > 1) != (F.age >= 1)
    assert (F.maybe.present() > 1) != (F.maybe > 1)
    with pytest.raises(AttributeError):
        p.children = ()  # type: ignore[attr-defined]
    p.compile()
    assert p == q  # the compiled cache does not take part in equality


def test_match_args() -> None:
    p = ((F.age > 1) | ~(F.name == "x")) ^ TRUE
    match p:
        case Xor(Or((FieldPredicate("age", LookupOp.GT, 1), Not(FieldPredicate(name)))), Const(v)):
            assert name == "name" and v is True
        case _:
            pytest.fail(f"no match for {p!r}")


def test_predicate_value_accessor_is_the_raw_operand() -> None:
    p = F.born.between(dt.date(2000, 1, 1), dt.date(2001, 1, 1))
    assert isinstance(p, Predicate)
    assert p.value == (dt.date(2000, 1, 1), dt.date(2001, 1, 1))


# Operand validation --------------------------------------------------------------------------

ACCEPTED: list[tuple[str, str, Any]] = [
    ("age", "eq", 3),
    ("age", "ge", 2.5),
    ("age", "lt", decimal.Decimal("2.5")),
    ("age", "lt", fractions.Fraction(1, 3)),
    ("height", "eq", 3),
    ("price", "ge", 1.25),
    ("ratio", "ge", 1),
    ("active", "eq", True),
    ("active", "lt", True),
    ("name", "eq", "x"),
    ("name", "lt", "x"),
    ("nick", "eq", None),
    ("nick", "ne", "x"),
    ("maybe", "eq", None),
    ("maybe", "gt", 1),
    ("born", "lt", dt.date(2020, 1, 1)),
    ("seen", "lt", dt.datetime(2020, 1, 1)),
    ("color", "eq", Color.RED),
    ("level", "eq", "low"),
    ("uid", "eq", UserId(5)),
    ("tags", "eq", ["a"]),
    ("attrs", "eq", {"a": 1}),
    ("payload", "eq", None),
    ("anything", "lt", object()),
    ("anything", "eq", None),
    ("generic", "eq", "whatever"),
    ("mixed", "eq", 1),
    ("mixed", "eq", "one"),
]

REJECTED: list[tuple[str, str, Any]] = [
    ("age", "ge", "x"),
    ("age", "eq", True),
    ("age", "eq", None),
    ("age", "eq", [1]),
    ("height", "lt", False),
    ("active", "eq", 1),
    ("active", "eq", "true"),
    ("name", "eq", 3),
    ("name", "eq", None),
    ("born", "lt", dt.datetime(2020, 1, 1)),
    ("born", "lt", "2020-01-01"),
    ("seen", "lt", dt.date(2020, 1, 1)),
    ("color", "eq", "red"),
    ("level", "eq", "medium"),
    ("uid", "eq", "5"),
    ("tags", "lt", ["a"]),
    ("attrs", "ge", {"a": 1}),
    ("mixed", "eq", 1.5j),
    ("mixed", "eq", None),
    ("anything", "lt", {"a": 1}),
]


@pytest.mark.parametrize(("field", "method", "operand"), ACCEPTED)
def test_operands_that_fit_the_annotation(field: str, method: str, operand: Any) -> None:
    p = getattr(F[field], method)(operand)
    assert p.value is operand


@pytest.mark.parametrize(("field", "method", "operand"), REJECTED)
def test_operands_that_do_not_fit_raise_type_error(field: str, method: str, operand: Any) -> None:
    with pytest.raises(TypeError) as info:
        getattr(F[field], method)(operand)
    message = str(info.value)
    assert field in message and "Thing" in message
    assert repr(operand)[:10] in message


def test_operator_forms_are_validated_too() -> None:
    with pytest.raises(TypeError, match="age"):
        F.age >= "x"  # noqa: B015
    with pytest.raises(TypeError, match="name"):
        F.name == 3  # noqa: B015
    with pytest.raises(TypeError):
        F.active == 1  # noqa: B015
    with pytest.raises(TypeError):
        F.age > "x"  # noqa: B015


def test_membership_and_between_check_every_element() -> None:
    with pytest.raises(TypeError):
        F.age.in_([1, 2, "3"])
    with pytest.raises(TypeError):
        F.age.not_in([1, True])
    with pytest.raises(TypeError):
        F.age.between(1, "9")
    with pytest.raises(TypeError):
        F.name.between("a", 3)
    with pytest.raises(TypeError, match="iterable"):
        F.name.in_("abc")  # a str is not a list of strings
    with pytest.raises(TypeError):
        F.age.in_(5)  # type: ignore[arg-type]
    assert F.nick.in_(["a", None]).value == ("a", None)


def test_string_lookups_need_str_fields_and_str_needles() -> None:
    with pytest.raises(TypeError, match="str"):
        F.age.contains("1")
    with pytest.raises(TypeError):
        F.name.startswith(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        F.active.iexact("true")
    assert F.nick.icontains("x").op is LookupOp.ICONTAINS
    assert F.anything.startswith("x").op is LookupOp.STARTSWITH
    assert F.level.contains("o").value == "o"
    assert F.mixed.endswith("x").value == "x"


def test_fields_cannot_be_operands() -> None:
    with pytest.raises(TypeError, match="field"):
        F.anything.eq(F.age)
    with pytest.raises(TypeError):
        F.anything < F.age  # noqa: B015
    # == between fields falls back to identity so containers of fields work
    assert (F.anything == F.age) is False  # type: ignore[comparison-overlap]
    assert (F.age == F.age) is True
    assert (F.age != F.name) is True
    assert F.age in [F.name, F.age]
    assert F.age not in [F.name]
    assert [F.age, F.name].index(F.name) == 1
    with pytest.raises(TypeError):
        F.anything == (F.age > 1)  # noqa: B015


def test_unannotated_models_accept_anything() -> None:
    class Plain:
        id: int

        def __init__(self, id: int) -> None:
            self.id = id

    P = Fields("Plain", {"id": int, "x": Any})
    assert (P.x == "anything").value == "anything"
    assert P.x.in_([1, "a", None]).value == (1, "a", None)
    assert sassi.fields(Plain).id.name == "id"


def test_str_and_bytes_subclasses_compare_with_plain_values() -> None:
    class Email(str):
        pass

    G = Fields("G", {"email": Email, "raw": bytes})
    assert (G.email == "a@b").value == "a@b"
    assert G.email.icontains("@").value == "@"
    assert (G.raw == b"x").value == b"x"
    with pytest.raises(TypeError):
        G.email == b"x"  # noqa: B015
    with pytest.raises(TypeError):
        G.raw == "x"  # noqa: B015


def test_annotation_forms_from_typing() -> None:
    G = Fields(
        "G",
        {
            "opt": typing.Optional[str],  # noqa: UP045
            "union": typing.Union[int, None],  # noqa: UP007
            "fwd": "NotResolvable",
            "lit": Literal[1, True],
        },
    )
    assert (G.opt == None).value is None  # noqa: E711
    assert (G.union == None).value is None  # noqa: E711
    assert (G.fwd == object).value is object  # noqa: E721
    assert (G.lit == 1).value == 1
    assert (G.lit == True).value is True  # noqa: E712
    with pytest.raises(TypeError):
        G.lit == 2  # noqa: B015
    with pytest.raises(TypeError):
        G.opt == 1  # noqa: B015


# repr ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("built", "text"),
    [
        ((F.age >= 18) & F.age.in_((7, 9)), "(F.age >= 18) & F.age.in_((7, 9))"),
        (F.name == "x", "F.name == 'x'"),
        ((F.age < 1) | (F.age > 9), "(F.age < 1) | (F.age > 9)"),
        (~(F.age < 1), "~(F.age < 1)"),
        (~F.nick.is_null(), "~F.nick.is_null()"),
        ((F.age < 1) ^ TRUE, "(F.age < 1) ^ TRUE"),
        (((F.age < 1) & (F.age > 0)) | FALSE, "((F.age < 1) & (F.age > 0)) | FALSE"),
        (F.maybe.present() != 3, "F.maybe.present() != 3"),
        (F.maybe.present().between(1, 2), "F.maybe.present().between(1, 2)"),
        (F.name.istartswith("a"), "F.name.istartswith('a')"),
        (And(()), "And(())"),
        (Or(()), "Or(())"),
        (And((TRUE,)), "And((TRUE,))"),
        (F.payload.json.path("a.b").exists(), "F.payload.json.path('a.b').exists()"),
        (F.payload.json.key("x-y").is_number(), "F.payload.json.key('x-y').is_number()"),
        (F.payload.json.path("a").value(int) >= 3, "F.payload.json.path('a').value(int) >= 3"),
        (F.payload.json.array_len_gt(2), "F.payload.json.array_len_gt(2)"),
        (F.payload.json.is_type("null"), "F.payload.json.is_type('null')"),
    ],
)
def test_repr(built: Predicate, text: str) -> None:
    assert repr(built) == text


def test_repr_round_trips_through_eval() -> None:
    cases: list[Predicate] = [
        (F.age >= 18) & F.age.in_((7, 9)) | ~(F.name == "x") ^ F.nick.is_null(),
        F.maybe.present().not_in([1, 2]) & F.payload.json.path("a.b").value(str).in_(["x"]),
        F.payload.json.key("").key("é").has_any_key(["a", "b"]) | TRUE,
        F.payload.json.eq_json({"a": [1, None, 2.5]}) & F.height.between(1, 2),
    ]
    namespace = {"F": F, "TRUE": TRUE, "FALSE": FALSE, "And": And, "Or": Or}
    for p in cases:
        assert eval(repr(p), namespace) == p, repr(p)


def _thing() -> Thing:
    return Thing(
        id=1,
        age=30,
        height=1.8,
        price=decimal.Decimal("9.99"),
        ratio=fractions.Fraction(1, 2),
        active=True,
        name="Ann",
        nick=None,
        maybe=None,
        born=dt.date(1990, 1, 1),
        seen=dt.datetime(2020, 1, 1),
        color=Color.RED,
        level="low",
        uid=UserId(1),
        tags=[],
        attrs={},
        payload=None,
        anything=None,
        generic=None,
        mixed=1,
    )


def test_builder_classes_are_public() -> None:
    import sassi.predicate as sp

    for name in ("Field", "Fields", "PresentField", "JsonPath", "JsonValue"):
        assert getattr(sassi, name) is getattr(sp, name)
        assert name in sassi.__all__ and name in sp.__all__
    assert isinstance(F.payload.json, sassi.JsonPath)
    assert isinstance(F.payload.json.value(int), sassi.JsonValue)
    assert isinstance(F.maybe.present(), sassi.PresentField)


def test_accepted_ordering_operands_really_compare() -> None:
    """Whatever the validation table accepts for ordering, Python can actually order."""
    from sassi.predicate._field import annotation_accepts

    samples: dict[type, list[Any]] = {
        int: [0, -5, 2**70],
        float: [0.5, -0.0, float("inf")],
        decimal.Decimal: [decimal.Decimal("1.5")],
        fractions.Fraction: [fractions.Fraction(1, 3)],
        bool: [True, False],
        str: ["", "abc"],
        bytes: [b"x"],
        dt.date: [dt.date(2020, 1, 1)],
        dt.datetime: [dt.datetime(2020, 1, 1)],
        dt.time: [dt.time(12)],
    }
    operands = [v for values in samples.values() for v in values] + [None, [1], {"a": 1}, 1j]
    accepted = 0
    for ann, values in samples.items():
        for operand in operands:
            if not annotation_accepts(ann, operand, ordering=True):
                continue
            accepted += 1
            for value in values:
                value < operand  # noqa: B015 - must not raise
                value >= operand  # noqa: B015
    assert accepted > 20
    # and the ones refused would raise (or mix bool with numbers, which sassi refuses on purpose)
    assert not annotation_accepts(dt.date, dt.datetime(2020, 1, 1), ordering=True)
    with pytest.raises(TypeError):
        dt.date(2020, 1, 1) < dt.datetime(2020, 1, 1)  # noqa: B015

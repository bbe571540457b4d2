"""Models (SPEC section 1): ``cacheable``, ``fields``, ``type_name`` across class frameworks, and
every decoration-time ``TypeError``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
from typing import Annotated, Any, ClassVar, Literal, NamedTuple, NewType

import attrs
import msgspec
import pydantic
import pytest

import sassi
from sassi import Field, Fields


@dataclasses.dataclass(frozen=True, slots=True)
class DcSlots:
    id: int
    name: str
    age: int | None = None


@dataclasses.dataclass
class DcPlain:
    id: int
    name: str
    age: int | None = None


@attrs.frozen
class AttrsModel:
    id: int
    name: str
    age: int | None = None


class PydModel(pydantic.BaseModel):
    id: int
    name: str
    age: int | None = None


class StructModel(msgspec.Struct, frozen=True):
    id: int
    name: str
    age: int | None = None


class TupleModel(NamedTuple):
    id: int
    name: str
    age: int | None = None


class PlainModel:
    id: int
    name: str
    age: int | None
    registry: ClassVar[dict[str, int]] = {}

    def __init__(self, id: int, name: str, age: int | None = None) -> None:
        self.id = id
        self.name = name
        self.age = age


MODELS: list[type[Any]] = [
    DcSlots,
    DcPlain,
    AttrsModel,
    PydModel,
    StructModel,
    TupleModel,
    PlainModel,
]


def make(cls: type[Any], id: int, name: str, age: int | None) -> Any:
    return cls(id=id, name=name, age=age)


@pytest.mark.parametrize("cls", MODELS)
def test_fields_of_every_framework(cls: type[Any]) -> None:
    F = sassi.fields(cls)
    assert isinstance(F, Fields)
    assert sassi.fields(cls) is F  # cached per class
    assert [f.name for f in F] == ["id", "name", "age"]
    assert isinstance(F.age, Field)
    obj = make(cls, 7, "Ann", 30)
    assert F.id.get(obj) == 7
    assert F.name.get(obj) == "Ann"
    with pytest.raises(AttributeError, match=r"registry|known fields"):
        _ = F.registry


@pytest.mark.parametrize("cls", MODELS)
def test_predicates_evaluate_on_every_framework(cls: type[Any]) -> None:
    F = sassi.fields(cls)
    people = [make(cls, 1, "Ann", 30), make(cls, 2, "bob", None), make(cls, 3, "Cy", 17)]
    p = (F.age >= 18) | F.name.istartswith("B")
    assert [o.id for o in people if p.evaluate(o)] == [1, 2]
    assert [o.id for o in people if (F.age < 18)(o)] == [2, 3]


@pytest.mark.parametrize("cls", MODELS)
def test_annotations_validate_operands_on_every_framework(cls: type[Any]) -> None:
    F = sassi.fields(cls)
    with pytest.raises(TypeError, match="age"):
        F.age >= "x"  # noqa: B015
    with pytest.raises(TypeError, match="name"):
        F.name == 3  # noqa: B015
    with pytest.raises(TypeError):
        F.id == True  # noqa: B015, E712
    assert (F.age == None).value is None  # noqa: E711
    with pytest.raises(TypeError):
        F.id == None  # noqa: B015, E711


@pytest.mark.parametrize("cls", MODELS)
def test_undecorated_models_get_default_type_name_and_id(cls: type[Any]) -> None:
    assert sassi.type_name(cls) == f"{cls.__module__}.{cls.__qualname__}"
    info = sassi.model_info(cls)
    assert info.id_field == "id"
    assert info.get_id(make(cls, 9, "x", None)) == 9
    assert info.watermark is None


@pytest.mark.parametrize("cls", MODELS)
def test_cacheable_decorates_every_framework(cls: type[Any]) -> None:
    # a fresh subclass-free check: decorating returns the class unchanged and records options
    decorated = sassi.cacheable(type_name=f"test.{cls.__name__}")(cls)
    try:
        assert decorated is cls
        assert sassi.type_name(cls) == f"test.{cls.__name__}"
        assert sassi.fields(cls).age.name == "age"
    finally:
        sassi.cacheable(type_name=f"{cls.__module__}.{cls.__qualname__}")(cls)


@sassi.cacheable(type_name="shop.User", watermark="updated_at")
@dataclasses.dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    age: int
    email: str | None = None
    payload: sassi.JSON | None = None
    updated_at: int = 0


def test_spec_example_model() -> None:
    assert sassi.type_name(User) == "shop.User"
    info = sassi.model_info(User)
    assert info.watermark == "updated_at"
    assert info.get_watermark is not None
    assert info.get_watermark(User(1, "a", 2, updated_at=5)) == 5
    F = sassi.fields(User)
    assert [f.name for f in F] == ["id", "name", "age", "email", "payload", "updated_at"]
    p = F.payload.json.path("plan").value(str) == "pro"
    assert p.evaluate(User(1, "a", 2, payload={"plan": "pro"}))
    assert not p.evaluate(User(1, "a", 2))


def test_bare_cacheable_decorator() -> None:
    @sassi.cacheable
    @dataclasses.dataclass
    class Bare:
        id: int

    assert sassi.model_info(Bare).id_field == "id"
    assert sassi.type_name(Bare).endswith("test_bare_cacheable_decorator.<locals>.Bare")


def test_renamed_identity_field() -> None:
    @sassi.cacheable(id="sku")
    @dataclasses.dataclass(frozen=True)
    class Product:
        sku: str
        price: decimal.Decimal

    info = sassi.model_info(Product)
    assert info.id_field == "sku"
    assert info.get_id(Product("A-1", decimal.Decimal("2.50"))) == "A-1"
    assert sassi.fields(Product).sku.name == "sku"


def test_local_classes_with_the_same_name_get_distinct_type_names() -> None:
    def build() -> type[Any]:
        @dataclasses.dataclass
        class Thing:
            id: int

        return Thing

    def build_other() -> type[Any]:
        @dataclasses.dataclass
        class Thing:
            id: int

        return Thing

    assert sassi.type_name(build()) != sassi.type_name(build_other())


def test_fields_namespace_is_per_class() -> None:
    assert sassi.fields(DcSlots) is not sassi.fields(DcPlain)
    assert sassi.fields(DcSlots).age is not sassi.fields(DcPlain).age


def test_unknown_field_message_lists_known_fields() -> None:
    with pytest.raises(AttributeError) as info:
        _ = sassi.fields(User).emial
    text = str(info.value)
    assert "emial" in text and "email" in text and "updated_at" in text


# Decoration-time errors -------------------------------------------------------------------------


def test_no_identity_field() -> None:
    with pytest.raises(TypeError, match="NoId") as info:

        @sassi.cacheable
        @dataclasses.dataclass
        class NoId:
            name: str

    assert "id" in str(info.value)
    with pytest.raises(TypeError, match="sku"):

        @sassi.cacheable(id="sku")
        @dataclasses.dataclass
        class NoSku:
            id: int


def test_undecorated_class_without_id_is_rejected_when_used() -> None:
    @dataclasses.dataclass
    class Nameless:
        name: str

    with pytest.raises(TypeError, match="Nameless"):
        sassi.fields(Nameless)
    with pytest.raises(TypeError, match="Nameless"):
        sassi.type_name(Nameless)


def test_unknown_watermark_field() -> None:
    with pytest.raises(TypeError, match="updated") as info:

        @sassi.cacheable(watermark="updated")
        @dataclasses.dataclass
        class Typo:
            id: int
            updated_at: int

    assert "Typo" in str(info.value)


@pytest.mark.parametrize("annotation", [bool, str, None, dt.timedelta])
def test_bad_watermark_types(annotation: Any) -> None:
    namespace: dict[str, Any] = {"__annotations__": {"id": int, "stamp": annotation}}
    cls: type[Any] = dataclasses.dataclass(type("Stamped", (), namespace))
    with pytest.raises(TypeError, match="Stamped"):
        sassi.cacheable(watermark="stamp")(cls)


Minor = NewType("Minor", int)


@pytest.mark.parametrize(
    "annotation",
    [
        Annotated[str, "label"],
        Annotated[bool, "flag"],
        Annotated[Annotated[str, 1], 2],
        Annotated[int | None, "optional"],
        Literal["a", "b"],
        Literal[True, False],
        Literal[None],
        Literal[1, "mixed"],
        Annotated[Literal["a"], "both"],
        NewType("Label", str),
        NewType("Flag", bool),
        NewType("Span", dt.timedelta),
        tuple[Annotated[str, "x"], int],
        tuple[int, Literal["x"]],
    ],
)
def test_wrapped_bad_watermark_types_are_refused_too(annotation: Any) -> None:
    namespace: dict[str, Any] = {"__annotations__": {"id": int, "stamp": annotation}}
    cls: type[Any] = dataclasses.dataclass(type("Wrapped", (), namespace))
    with pytest.raises(TypeError, match="Wrapped"):
        sassi.cacheable(watermark="stamp")(cls)


@pytest.mark.parametrize(
    "annotation",
    [
        int,
        float,
        dt.datetime,
        dt.date,
        decimal.Decimal,
        tuple[int, int],
        Annotated[int, "ms"],
        Annotated[dt.datetime, "utc"],
        Literal[1, 2, 3],
        NewType("Version", int),
        tuple[Annotated[int, "major"], Minor],
    ],
)
def test_good_watermark_types(annotation: Any) -> None:
    namespace: dict[str, Any] = {"__annotations__": {"id": int, "stamp": annotation}}
    cls: type[Any] = dataclasses.dataclass(type("Stamped", (), namespace))
    assert sassi.cacheable(watermark="stamp")(cls) is cls
    assert sassi.model_info(cls).watermark == "stamp"


def test_empty_type_name() -> None:
    with pytest.raises(TypeError, match="type_name") as info:

        @sassi.cacheable(type_name="")
        @dataclasses.dataclass
        class Empty:
            id: int

    assert "Empty" in str(info.value)


def test_applied_to_a_non_class() -> None:
    def function() -> None:
        pass

    with pytest.raises(TypeError):
        sassi.cacheable(function)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        sassi.cacheable(type_name="x")(function)  # type: ignore[type-var]
    with pytest.raises(TypeError):
        sassi.cacheable(User(1, "a", 2))  # type: ignore[call-overload]

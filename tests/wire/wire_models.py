"""Models of every supported kind, shared by the wire tests."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import typing
import uuid
from dataclasses import dataclass

import attrs
import msgspec
import pydantic

import sassi


@sassi.cacheable(type_name="wire.User")
@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    age: int
    email: str | None = None
    payload: sassi.JSON | None = None


@dataclass
class PlainDataclass:
    id: str
    tags: tuple[str, ...]
    score: float


@attrs.frozen
class AttrsModel:
    id: int
    _secret: str
    values: list[int]


class PydanticModel(pydantic.BaseModel):
    id: int
    title: str = pydantic.Field(alias="Title")
    extra: dict[str, int] = {}


class StructModel(msgspec.Struct, frozen=True):
    id: tuple[int, int]
    note: str


class TupleModel(typing.NamedTuple):
    id: int
    weight: float


class PlainClass:
    id: int
    label: str

    def __init__(self, id: int, label: str) -> None:
        self.id = id
        self.label = label

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlainClass) and (self.id, self.label) == (other.id, other.label)

    __hash__ = None  # type: ignore[assignment]


class BareClass:
    id: int
    label: str


class Color(enum.Enum):
    RED = "red"


@dataclass(frozen=True)
class Inner:
    x: int


@dataclass(frozen=True)
class Rich:
    id: uuid.UUID
    at: dt.datetime
    naive: dt.datetime
    day: dt.date
    price: decimal.Decimal
    color: Color
    inner: Inner
    tags: frozenset[str]
    pair: tuple[int, str]
    maybe: int | None
    blob: bytes


@sassi.cacheable(type_name="wire.Loose")
@dataclass(frozen=True)
class Loose:
    """A model whose id is annotated ``Any``: the wire cannot type-check it on decode."""

    id: typing.Any
    name: str


SAMPLES: list[object] = [
    User(1, "ann", 30, None, {"a": [1, 2.5, None, True], "b": {"c": "d"}}),
    User(2, "bob", 40, "b@x", None),
    PlainDataclass("k", ("x", "y"), 0.5),
    AttrsModel(3, "s", [1, 2]),
    PydanticModel(id=4, Title="t", extra={"n": 1}),
    StructModel((5, 6), "n"),
    TupleModel(7, 1.25),
    PlainClass(8, "plain"),
]

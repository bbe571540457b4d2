"""Checks a pool makes on models and values before anything is stored (SPEC 11.11).

- :func:`id_check`: a value's id must fit the model's annotated id type (``int`` id, ``"2"``
  given: ``TypeError`` naming the id field).
- :func:`mutable_instances`: whether a model's instances can be changed in place (indexes and
  scopes then see stale values; the pool warns when such a model gets ``indexes=``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any

from .._model import ModelInfo

__all__ = ["exact_id_type", "id_check", "mutable_instances", "never_none_fields"]


def _accepts(ann: Any, key: Any) -> bool:
    """Whether ``key`` is a value of the id annotation ``ann`` (unknown forms accept)."""
    if ann is Any or ann is object or isinstance(ann, typing.TypeVar | str | typing.ForwardRef):
        return True
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        return _accepts(typing.get_args(ann)[0], key)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(a, key) for a in typing.get_args(ann))
    if origin is typing.Literal:
        return any(type(key) is type(lit) and key == lit for lit in typing.get_args(ann))
    supertype = getattr(ann, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return _accepts(supertype, key)
    cls = origin if isinstance(origin, type) else ann
    if ann is None or ann is type(None):
        return key is None
    if not isinstance(cls, type):
        return True
    if isinstance(key, bool) and cls is not bool:
        return False  # True is an int to Python, never an id to a user
    if cls is float:
        return isinstance(key, int | float)
    try:
        return isinstance(key, cls)
    except TypeError:  # a non-runtime Protocol or similar: no way to tell
        return True


def id_check(info: ModelInfo) -> Callable[[Any], None] | None:
    """A check that raises ``TypeError`` for an id that does not fit the annotated id type,
    or ``None`` when the annotation admits anything.

    The common case (the id's exact class is the annotation) costs one ``type(...) is``.
    """
    ann = info.annotations.get(info.id_field, Any)
    if ann is Any or ann is object:
        return None
    exact = ann if isinstance(ann, type) else None
    owner = info.cls.__qualname__
    field = info.id_field

    def check(key: Any) -> None:
        if type(key) is exact or _accepts(ann, key):
            return
        raise TypeError(
            f"{owner}.{field} is annotated {_spell(ann)}, got {key!r} "
            f"({type(key).__qualname__}); nothing was stored"
        )

    return check


def exact_id_type(info: ModelInfo) -> type | None:
    """The class :func:`id_check` lets through with one ``type(key) is`` test, or ``None``."""
    ann = info.annotations.get(info.id_field, Any)
    return ann if isinstance(ann, type) and ann is not object else None


def never_none_fields(info: ModelInfo) -> frozenset[str]:
    """The fields whose annotation rules ``None`` out (``int``, ``str``, ``date``...; not
    ``Any``, ``object``, unions with ``None``, type variables or unresolved names). Scopes
    generate their scans without ``is None`` guards on them (the code still falls back on
    values that break the annotation)."""
    out = []
    for name, ann in info.annotations.items():
        if typing.get_origin(ann) is typing.Annotated:
            ann = typing.get_args(ann)[0]
        if isinstance(ann, type) and ann is not object and ann is not type(None):
            out.append(name)
    return frozenset(out)


def _spell(ann: Any) -> str:
    return ann.__qualname__ if isinstance(ann, type) else repr(ann).replace("typing.", "")


def mutable_instances(cls: type) -> bool:
    """Whether instances of ``cls`` can be mutated in place (best effort; ``False`` when
    the class forbids attribute assignment or is a tuple)."""
    if issubclass(cls, tuple):
        return False  # NamedTuple and friends
    params = getattr(cls, "__dataclass_params__", None)
    if dataclasses.is_dataclass(cls) and params is not None:
        return not params.frozen
    struct_config = getattr(cls, "__struct_config__", None)  # msgspec.Struct
    if struct_config is not None:
        return not struct_config.frozen
    model_config = getattr(cls, "model_config", None)  # pydantic v2
    if isinstance(model_config, dict) and hasattr(cls, "model_fields"):
        return not model_config.get("frozen", False)
    if getattr(cls, "__attrs_attrs__", None) is not None:  # attrs: frozen replaces __setattr__
        return cls.__setattr__ is object.__setattr__
    return cls.__setattr__ is object.__setattr__

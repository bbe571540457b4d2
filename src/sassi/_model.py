"""How a class yields its identity, its fields and its watermark.

A *model* is any class whose instances carry an identity attribute (``id`` unless renamed).
dataclasses, attrs classes, pydantic models, msgspec Structs, NamedTuples and plain annotated
classes all work; :func:`cacheable` is optional and only adds options and early validation.
Everything here is computed once per class and cached.

``cacheable(..., wire_portable=True)`` marks a model whose values must survive any wire,
JSON included: :func:`check_portable` refuses NaN and infinities anywhere in its values
(float fields, ``sassi.JSON`` payloads, containers and nested models); :mod:`sassi.wire`
calls it on every encode and decode, and the pool on insert, fetch and delta.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import decimal
import math
import numbers
import operator
import sys
import threading
import types
import typing
import weakref
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

__all__ = [
    "ModelInfo",
    "cacheable",
    "check_portable",
    "fields",
    "model_info",
    "type_name",
    "unwrap_annotation",
]

T = TypeVar("T")
C = TypeVar("C", bound=type)

if typing.TYPE_CHECKING:
    from .predicate._field import Fields


@dataclasses.dataclass(frozen=True, slots=True)
class ModelInfo:
    """Everything sassi needs to know about one model class.

    :param cls: the model class.
    :param id_field: the identity attribute's name.
    :param type_name: stable name for backends and the wire.
    :param watermark: the watermark attribute's name, if any.
    :param annotations: field name -> resolved annotation (``Any`` where unknown), in field order.
    :param get_id: ``obj -> id``.
    :param get_watermark: ``obj -> watermark`` when there is a watermark.
    :param wire_portable: refuse NaN and infinities in values (:func:`check_portable`).
    """

    cls: type
    id_field: str
    type_name: str
    watermark: str | None
    annotations: Mapping[str, Any]
    get_id: Callable[[Any], Any]
    get_watermark: Callable[[Any], Any] | None
    wire_portable: bool = False

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(self.annotations)


_lock = threading.RLock()
_declared: weakref.WeakKeyDictionary[type, ModelInfo] = weakref.WeakKeyDictionary()
_inferred: weakref.WeakKeyDictionary[type, ModelInfo] = weakref.WeakKeyDictionary()
_fields_cache: weakref.WeakKeyDictionary[type, Fields] = weakref.WeakKeyDictionary()


def _raw_field_names(cls: type) -> list[str] | None:
    """Field names in declaration order from the class's own framework, or ``None``."""
    if dataclasses.is_dataclass(cls):
        return [f.name for f in dataclasses.fields(cls)]
    attrs_attrs = getattr(cls, "__attrs_attrs__", None)
    if attrs_attrs is not None:
        return [a.name for a in attrs_attrs]
    model_fields = getattr(cls, "model_fields", None)  # pydantic v2
    if isinstance(model_fields, Mapping) and hasattr(cls, "model_validate"):
        return list(model_fields)
    struct_fields = getattr(cls, "__struct_fields__", None)  # msgspec.Struct
    if isinstance(struct_fields, tuple):
        return list(struct_fields)
    nt_fields = getattr(cls, "_fields", None)  # NamedTuple
    if isinstance(nt_fields, tuple) and issubclass(cls, tuple):
        return list(nt_fields)
    return None


def _resolved_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls, include_extras=True)
    except Exception:  # unresolvable forward references: fall back per name
        hints: dict[str, Any] = {}
        module = sys.modules.get(cls.__module__)
        namespace = dict(vars(module)) if module is not None else {}
        for klass in reversed(cls.__mro__):
            for name, ann in getattr(klass, "__annotations__", {}).items():
                if isinstance(ann, str):
                    try:
                        ann = eval(ann, namespace, dict(vars(klass)))
                    except Exception:
                        ann = Any
                hints[name] = ann
        return hints


def _annotations(cls: type) -> dict[str, Any]:
    hints = _resolved_hints(cls)
    names = _raw_field_names(cls)
    if names is None:
        names = [
            n
            for n, ann in hints.items()
            if typing.get_origin(ann) is not typing.ClassVar and ann is not typing.ClassVar
        ]
    pyd = getattr(cls, "model_fields", None)
    result: dict[str, Any] = {}
    for name in names:
        ann = hints.get(name, Any)
        if ann is Any and isinstance(pyd, Mapping) and name in pyd:
            ann = getattr(pyd[name], "annotation", Any) or Any
        result[name] = ann
    return result


_BAD_WATERMARKS: tuple[Any, ...] = (bool, str, bytes, type(None), _dt.timedelta)


_QUALIFIERS: tuple[Any, ...] = tuple(
    q
    for q in (
        getattr(typing, name, None)
        for name in ("Annotated", "Final", "Required", "NotRequired", "ReadOnly")
    )
    if q is not None
)
_TYPE_ALIAS: Any = getattr(typing, "TypeAliasType", None)  # `type X = ...` (Python 3.12+)


def unwrap_annotation(ann: Any) -> Any:
    """The runtime type behind ``Annotated[...]``, ``NewType``, ``type`` aliases and qualifiers
    (``Final``, ``Required``...), so a rule about ``str`` also holds for ``Annotated[str, ...]``.
    """
    for _ in range(100):  # wrappers nest only by hand; this bounds a pathological cycle
        if typing.get_origin(ann) in _QUALIFIERS:
            ann = typing.get_args(ann)[0]
        elif isinstance(ann, typing.NewType):
            ann = ann.__supertype__
        elif _TYPE_ALIAS is not None and isinstance(ann, _TYPE_ALIAS):
            ann = ann.__value__
        else:
            return ann
    return ann


def _watermark_problem(ann: Any) -> str | None:
    """Why ``ann`` cannot be a watermark type, or ``None`` if it can (or is unknown).

    Wrappers are looked through first (:func:`unwrap_annotation`), and a ``Literal`` is judged
    by the types of its values, so ``Annotated[str, ...]`` or ``Literal["a", "b"]`` is refused
    exactly as ``str`` is.
    """
    ann = unwrap_annotation(ann)
    if ann is Any or isinstance(ann, typing.TypeVar):
        return None
    if typing.get_origin(ann) is typing.Literal:
        for value in typing.get_args(ann):
            problem = _watermark_problem(type(value))
            if problem is not None:
                return problem
        return None
    if ann is None or ann in _BAD_WATERMARKS:
        name = "None" if ann in (None, type(None)) else ann.__name__
        return f"a watermark cannot be annotated as {name} (it must be totally ordered and grow)"
    origin = typing.get_origin(ann)
    if origin is tuple:
        args = typing.get_args(ann)
        if not args or Ellipsis in args:
            return "a tuple watermark needs fixed element types, e.g. tuple[int, int]"
        for arg in args:
            problem = _watermark_problem(arg)
            if problem is not None:
                return problem
        return None
    if origin in (typing.Union, types.UnionType):
        return "a watermark cannot be optional or a union"
    if isinstance(ann, type):
        if issubclass(ann, numbers.Real | decimal.Decimal | _dt.date | _dt.time):
            return None
        return f"a watermark cannot be annotated as {ann.__name__}"
    return None


def _build(
    cls: type,
    *,
    id_field: str,
    type_name: str | None,
    watermark: str | None,
    wire_portable: bool = False,
) -> ModelInfo:
    if not isinstance(cls, type):
        raise TypeError(f"sassi models must be classes, got {cls!r}")
    annotations = _annotations(cls)
    if id_field not in annotations:
        known = ", ".join(annotations) or "none"
        raise TypeError(
            f"{cls.__qualname__} has no identity field {id_field!r} (known fields: {known}); "
            f"add an {id_field!r} field or pass cacheable(id=...)"
        )
    if type_name is not None and (not isinstance(type_name, str) or not type_name.strip()):
        raise TypeError(f"{cls.__qualname__}: cacheable(type_name=...) must be a non-empty string")
    get_watermark: Callable[[Any], Any] | None = None
    if watermark is not None:
        if watermark not in annotations:
            known = ", ".join(annotations)
            raise TypeError(
                f"{cls.__qualname__}: watermark {watermark!r} is not a field (known fields: {known})"
            )
        problem = _watermark_problem(annotations[watermark])
        if problem is not None:
            raise TypeError(f"{cls.__qualname__}.{watermark}: {problem}")
        get_watermark = operator.attrgetter(watermark)
    return ModelInfo(
        cls=cls,
        id_field=id_field,
        type_name=type_name if type_name is not None else f"{cls.__module__}.{cls.__qualname__}",
        watermark=watermark,
        annotations=types.MappingProxyType(annotations),
        get_id=operator.attrgetter(id_field),
        get_watermark=get_watermark,
        wire_portable=wire_portable,
    )


@overload
def cacheable(cls: C, /) -> C: ...
@overload
def cacheable(
    *,
    id: str = "id",
    type_name: str | None = None,
    watermark: str | None = None,
    wire_portable: bool = False,
) -> Callable[[C], C]: ...
def cacheable(
    cls: Any = None,
    /,
    *,
    id: str = "id",
    type_name: str | None = None,
    watermark: str | None = None,
    wire_portable: bool = False,
) -> Any:
    """Declare a model class: its identity field, stable type name and watermark.

    Usable bare (``@cacheable``) or with options (``@cacheable(type_name="shop.User")``). The
    class is returned unchanged; the options are validated now, not at first use.

    :param id: the identity attribute (default ``"id"``).
    :param type_name: stable name for backends and the wire (default ``module.qualname``).
    :param watermark: a field that grows with every change, for :meth:`Punnu.delta_refresh`.
    :param wire_portable: refuse values holding NaN or an infinity (in a float field, a JSON
        payload, a container or a nested model) at insert, fetch, delta and wire
        encode/decode, so every value survives any wire, JSON included (:func:`check_portable`).
    :raises TypeError: when the class has no identity field, the watermark is unknown or of a
        type that cannot order changes, ``type_name`` is empty, ``wire_portable`` is not a
        bool, or the target is not a class.
    """
    if not isinstance(id, str) or not id:
        raise TypeError("cacheable(id=...) must be a non-empty field name")
    if not isinstance(wire_portable, bool):
        raise TypeError(
            f"cacheable(wire_portable=...) must be True or False, got {wire_portable!r}"
        )

    def decorate(target: Any) -> Any:
        if not isinstance(target, type):
            raise TypeError(f"@cacheable applies to classes, not {target!r}")
        info = _build(
            target,
            id_field=id,
            type_name=type_name,
            watermark=watermark,
            wire_portable=wire_portable,
        )
        with _lock:
            _declared[target] = info
            _inferred.pop(target, None)
            _fields_cache.pop(target, None)
        return target

    if cls is not None:
        return decorate(cls)
    return decorate


def model_info(cls: type) -> ModelInfo:
    """The :class:`ModelInfo` of ``cls``, declared by :func:`cacheable` or inferred.

    :raises TypeError: when ``cls`` is not a class or has no ``id`` field.
    """
    info = _declared.get(cls) if isinstance(cls, type) else None
    if info is not None:
        return info
    info = _inferred.get(cls) if isinstance(cls, type) else None
    if info is not None:
        return info
    with _lock:
        info = _build(cls, id_field="id", type_name=None, watermark=None)
        _inferred[cls] = info
        return info


_SCALARS: frozenset[type] = frozenset({int, str, bool, bytes, type(None)})


def check_portable(info: ModelInfo, value: object) -> None:
    """Refuse a value of a ``wire_portable`` model that holds NaN or an infinity.

    Looks through every field: floats, ``sassi.JSON`` payloads, lists, tuples, sets, dicts
    (keys and values) and nested dataclass / attrs / pydantic / msgspec values, to any depth.
    Does nothing for a model declared without ``wire_portable=True``.

    :param info: the model's :class:`ModelInfo` (``model_info(Model)``).
    :param value: an instance of the model.
    :raises ValueError: naming the field (and the path inside it) of the first NaN or
        infinity found.
    """
    if not info.wire_portable:
        return
    for name in info.annotations:
        field_value = getattr(value, name, None)
        if type(field_value) in _SCALARS:
            continue
        found = _non_finite(field_value)
        if found is not None:
            path, bad = found
            raise ValueError(
                f"{info.cls.__qualname__}.{name}{path} is {bad!r}: {info.type_name} is "
                "wire_portable, so its values cannot hold NaN or infinity"
            )


def _non_finite(root: object) -> tuple[str, float] | None:
    """``(path, value)`` of the first NaN or infinity inside ``root``, else ``None``.

    Iterative (a deeply nested JSON payload cannot exhaust the stack); containers seen twice
    are walked once.
    """
    stack: list[tuple[object, str]] = [(root, "")]
    seen: set[int] = set()
    while stack:
        obj, path = stack.pop()
        if isinstance(obj, float):
            if not math.isfinite(obj):
                return path, obj
            continue
        if type(obj) in _SCALARS or isinstance(obj, str | bytes | int):
            continue
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, Mapping):
            items = list(obj.items())
            for key, item in reversed(items):
                stack.append((item, f"{path}[{key!r}]"))
                stack.append((key, f"{path} key {key!r}"))
        elif isinstance(obj, list | tuple):
            stack.extend((item, f"{path}[{i}]") for i, item in reversed(list(enumerate(obj))))
        elif isinstance(obj, set | frozenset):
            stack.extend((item, f"{path}{{...}}") for item in obj)
        else:
            names = _raw_field_names(type(obj))
            if names is not None:
                stack.extend((getattr(obj, n, None), f"{path}.{n}") for n in reversed(names))
    return None


def type_name(cls: type) -> str:
    """The stable name of a model for backends and the wire."""
    return model_info(cls).type_name


def fields(cls: type) -> Fields:
    """The :class:`~sassi.predicate.Fields` namespace of ``cls`` (``F.age`` is a ``Field``)."""
    cached = _fields_cache.get(cls)
    if cached is not None:
        return cached
    from .predicate._field import Fields

    info = model_info(cls)
    with _lock:
        cached = _fields_cache.get(cls)
        if cached is None:
            cached = Fields(cls.__qualname__, info.annotations)
            _fields_cache[cls] = cached
        return cached

"""What a field's annotation accepts as an operand, and how messages spell annotations.

The operand rules are listed in :mod:`._field`; :func:`annotation_accepts` implements them and
:func:`accepts_by_type` says when the answer depends on an operand's type alone (so a long
``in_()`` list is checked once per type).
"""

from __future__ import annotations

import datetime as _dt
import decimal
import enum
import numbers
import types
import typing
from collections.abc import Mapping
from typing import Any

from ._json_body import JSON_MARKER

__all__ = ["accepts_by_type", "admits_json", "annotation_accepts", "describe_annotation"]

_UNORDERED_TYPES: tuple[type, ...] = (dict, list, set, frozenset, complex, Mapping)
_NUMERIC_TYPES: tuple[type, ...] = (numbers.Real, decimal.Decimal)


def describe_annotation(ann: Any) -> str:
    """A short human-readable spelling of an annotation for error messages.

    :param ann: any annotation object.
    :returns: e.g. ``"int | None"`` or ``"sassi.JSON"``.
    """
    if ann is Any:
        return "Any"
    if ann is None or ann is type(None):
        return "None"
    if typing.get_origin(ann) is typing.Annotated:
        if JSON_MARKER in getattr(ann, "__metadata__", ()):
            return "sassi.JSON"
        return describe_annotation(typing.get_args(ann)[0])
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(describe_annotation(a) for a in typing.get_args(ann))
    if isinstance(ann, type) and not typing.get_args(ann):
        return ann.__qualname__
    return repr(ann).replace("typing.", "")


def _class_accepts(cls: type, value: Any, ordering: bool) -> bool:
    """Whether ``value`` may be compared with values of class ``cls``."""
    if ordering and issubclass(cls, _UNORDERED_TYPES):
        return False
    if cls is object:
        return True
    if issubclass(cls, enum.Enum):
        return isinstance(value, cls)
    if cls is bool:
        return isinstance(value, bool)
    if issubclass(cls, _NUMERIC_TYPES) and not issubclass(cls, bool):
        return isinstance(value, _NUMERIC_TYPES) and not isinstance(value, bool)
    if issubclass(cls, str):  # str subclasses compare with plain str (and vice versa)
        return isinstance(value, str)
    if issubclass(cls, bytes):
        return isinstance(value, bytes)
    if issubclass(cls, _dt.datetime):
        return isinstance(value, _dt.datetime)
    if issubclass(cls, _dt.date):
        return isinstance(value, _dt.date) and not isinstance(value, _dt.datetime)
    try:
        return isinstance(value, cls)
    except TypeError:  # e.g. a non-runtime Protocol: no way to tell, so accept
        return True


def annotation_accepts(
    ann: Any, value: Any, *, ordering: bool = False, needle: bool = False
) -> bool:
    """Whether ``value`` is a sensible operand for a field annotated ``ann``.

    :param ann: the field's resolved annotation (``Any`` when unknown).
    :param value: the operand.
    :param ordering: the operand is used with ``< <= > >= between``.
    :param needle: the operand is a string-lookup needle (any ``str`` fits a ``Literal`` of
        strings).
    :returns: ``True`` when the comparison makes sense for that annotation.
    """
    if ordering and isinstance(value, (dict, list, set, frozenset, complex)):
        return False
    if ann is Any or ann is object or isinstance(ann, (typing.TypeVar, str, typing.ForwardRef)):
        return True
    if ann is None or ann is type(None):
        return value is None
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        return annotation_accepts(typing.get_args(ann)[0], value, ordering=ordering, needle=needle)
    if origin in (typing.Union, types.UnionType):
        return any(
            annotation_accepts(a, value, ordering=ordering, needle=needle)
            for a in typing.get_args(ann)
        )
    if origin is typing.Literal:
        literals = typing.get_args(ann)
        if needle:  # a substring of a str literal is not itself one of the literals
            return isinstance(value, str) and any(isinstance(lit, str) for lit in literals)
        return any(type(value) is type(lit) and value == lit for lit in literals)
    supertype = getattr(ann, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return annotation_accepts(supertype, value, ordering=ordering, needle=needle)
    if isinstance(origin, type):
        return _class_accepts(origin, value, ordering)
    if isinstance(ann, type):
        return _class_accepts(ann, value, ordering)
    return True  # an annotation form we cannot reason about: accept, like Any


# Builtin value types whose instances carry no state of their own that ``isinstance`` could
# look at: whether a field accepts one of them depends on its type alone (bar ``Literal``).
_PLAIN_TYPES = frozenset(
    {
        type(None),
        bool,
        int,
        float,
        str,
        bytes,
        decimal.Decimal,
        _dt.date,
        _dt.datetime,
        _dt.time,
        _dt.timedelta,
    }
)


def _mentions_literal(ann: Any) -> bool:
    """Whether ``Literal`` appears anywhere in ``ann`` (acceptance then depends on the value)."""
    stack = [ann]
    while stack:
        current = stack.pop()
        if typing.get_origin(current) is typing.Literal:
            return True
        stack.extend(typing.get_args(current))
        supertype = getattr(current, "__supertype__", None)  # typing.NewType
        if supertype is not None:
            stack.append(supertype)
    return False


def accepts_by_type(ann: Any, value: Any) -> bool:
    """Whether :func:`annotation_accepts` gives the same answer for every value of
    ``type(value)`` under ``ann``: a plain builtin value type, and no ``Literal`` in ``ann``.

    :param ann: the field's annotation.
    :param value: one operand.
    :returns: ``True`` when one check per type is enough.
    """
    return type(value) in _PLAIN_TYPES and not _mentions_literal(ann)


def admits_json(ann: Any) -> bool:
    """Whether ``.json`` makes sense on a field annotated ``ann``."""
    return annotation_accepts(ann, {}) or annotation_accepts(ann, [])

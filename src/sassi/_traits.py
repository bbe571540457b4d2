"""Cross-type trait queries: the ``trait_impl`` registry (``Sassi`` is in :mod:`sassi._registry`).

``@trait_impl(Greeter)`` records, process-wide, that a model class implements the protocol
``Greeter`` (a :class:`typing.Protocol` or any abstract base class). The check that the class
really has every member the protocol declares happens once, at decoration time, so a typo fails
at import and not in the middle of a query.

``Sassi`` holds one pool per model and answers "every cached value implementing ``Greeter``"
across all of them (:meth:`Sassi.all_impl`). ``Scope.filter_impl(Greeter)`` asks
:func:`require_impl` whether the scope's model may be viewed as a ``Greeter``.

A model *implements* a protocol when it was decorated with ``@trait_impl(P)`` for that protocol or
for a protocol that inherits from it (``class Named(Greeter, Protocol)`` registered implies
``Greeter``), or when it subclasses the protocol nominally (``class User(Greeter)``). Registration
is per class: a subclass of a registered model is not registered unless it is decorated too (the
Rust crate registers exact types; inheritance of behaviour is not inheritance of a promise).

Put ``@trait_impl`` *above* ``@dataclass(slots=True)``: that decorator returns a new class, and
only the class the name finally refers to should be registered.
"""

from __future__ import annotations

import abc
import threading
import types
import typing
import weakref
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from ._model import _raw_field_names

__all__ = ["implements", "protocol_members", "require_impl", "trait_impl"]

C = TypeVar("C", bound=type)


# Names typing puts on every Protocol class; they are machinery, not members.
_NOT_MEMBERS = frozenset(
    {
        "__abstractmethods__",
        "__annotations__",
        "__class_getitem__",
        "__dict__",
        "__doc__",
        "__firstlineno__",
        "__init__",
        "__init_subclass__",
        "__module__",
        "__new__",
        "__non_callable_proto_members__",
        "__orig_bases__",
        "__orig_class__",
        "__parameters__",
        "__protocol_attrs__",
        "__qualname__",
        "__slots__",
        "__static_attributes__",
        "__subclasshook__",
        "__type_params__",
        "__weakref__",
        "_MutableMapping__marker",
        "_is_protocol",
        "_is_runtime_protocol",
    }
)

_lock = threading.RLock()
# model class -> the protocols it was registered for with @trait_impl.
_registry: weakref.WeakKeyDictionary[type, frozenset[type]] = weakref.WeakKeyDictionary()


def _is_protocol(proto: object) -> bool:
    return isinstance(proto, type) and bool(getattr(proto, "_is_protocol", False))


def _unalias(proto: Any) -> Any:
    """``Box[int]`` -> ``Box``: type arguments are erased at runtime, so queries ignore them."""
    origin = typing.get_origin(proto)
    return origin if isinstance(origin, type) else proto


def _is_trait(proto: object) -> bool:
    """A ``typing.Protocol`` class or an abstract base class (``abc.ABCMeta`` instance)."""
    if not isinstance(proto, type) or proto is Protocol:
        return False
    return _is_protocol(proto) or isinstance(proto, abc.ABCMeta)


def _name(obj: object) -> str:
    return str(getattr(obj, "__qualname__", None) or repr(obj))


def protocol_members(proto: type) -> frozenset[str]:
    """The member names a class must have to implement ``proto``.

    For a :class:`typing.Protocol`: every method, property and annotated attribute declared by it
    or by a protocol it inherits from. For any other abstract base class: its abstract methods.

    :param proto: a protocol or abstract base class.
    :returns: the member names.
    :raises TypeError: when ``proto`` is neither a protocol nor an abstract base class.
    """
    proto = _unalias(proto)
    if not _is_trait(proto):
        raise TypeError(
            f"{_name(proto)} is not a typing.Protocol or an abstract base class; "
            "trait queries need one (class Greeter(typing.Protocol): ...)"
        )
    if not _is_protocol(proto):
        return frozenset(getattr(proto, "__abstractmethods__", ()))
    members: set[str] = set()
    for base in proto.__mro__:
        if base is object or base is Protocol or not _is_protocol(base):
            continue
        names = list(vars(base)) + list(vars(base).get("__annotations__", {}))
        members.update(n for n in names if n not in _NOT_MEMBERS and not n.startswith("_abc_"))
    return frozenset(members)


def _instance_fields(cls: type) -> set[str]:
    """Attributes instances get without the class having them (dataclass fields without a
    default, pydantic fields, annotated attributes)."""
    names = set(_raw_field_names(cls) or ())
    for klass in cls.__mro__:
        names.update(vars(klass).get("__annotations__", {}))
    return names


_ABSENT = object()
_SLOT = types.MemberDescriptorType  # a slotted instance field; its value may be a callable


def _missing_members(cls: type, proto: type) -> list[str]:
    """Members of ``proto`` that ``cls`` lacks or leaves abstract, sorted."""
    fields = _instance_fields(cls)
    missing: list[str] = []
    for member in sorted(protocol_members(proto)):
        attr = getattr(cls, member, _ABSENT)
        if attr is _ABSENT:
            if member not in fields:
                missing.append(member)
            continue
        if getattr(attr, "__isabstractmethod__", False):
            missing.append(member)
            continue
        wanted = getattr(proto, member, None)
        declares_method = callable(wanted) and not isinstance(wanted, type)
        if declares_method and not callable(attr) and not isinstance(attr, _SLOT):
            missing.append(member)  # a plain data attribute does not implement a method
    return missing


def trait_impl(proto: type) -> Callable[[C], C]:
    """Register the decorated model class as an implementation of ``proto``.

    The class is returned unchanged. The registration is process-global and is what
    :meth:`Sassi.all_impl` and ``Scope.filter_impl`` consult. Applying it twice for the same
    protocol is harmless; applying it for several protocols registers each.

    :param proto: a :class:`typing.Protocol` class or an abstract base class.
    :returns: a class decorator.
    :raises TypeError: when ``proto`` is not a protocol/ABC (at the ``trait_impl(...)`` call), or
        when the decorated object is not a class or lacks members the protocol declares (at
        decoration time; the message names the class, the protocol and every missing member).
    """
    proto = _unalias(proto)
    if not _is_trait(proto):
        raise TypeError(
            f"trait_impl({_name(proto)}): expected a typing.Protocol or an abstract base class; "
            "write @sassi.trait_impl(Greeter) above the class"
        )
    members = protocol_members(proto)

    def decorate(cls: C) -> C:
        if not isinstance(cls, type):
            raise TypeError(f"@trait_impl({proto.__qualname__}) applies to classes, not {cls!r}")
        missing = _missing_members(cls, proto)
        if missing:
            raise TypeError(
                f"{cls.__qualname__} cannot implement {proto.__qualname__}: missing or abstract "
                f"member(s) {', '.join(missing)} (the protocol declares "
                f"{', '.join(sorted(members)) or 'nothing'})"
            )
        with _lock:
            _registry[cls] = _registry.get(cls, frozenset()) | {proto}
        return cls

    return decorate


def implements(model: type, proto: type) -> bool:
    """Whether ``model`` is registered for ``proto`` or subclasses it nominally.

    Registration for a protocol that inherits from ``proto`` counts as registration for
    ``proto``. No structural check happens here (that ran at decoration time).

    :param model: a model class.
    :param proto: a protocol, an abstract base class, or any class.
    :returns: ``True`` when values of ``model`` may be treated as ``proto``.
    """
    proto = _unalias(proto)
    if not isinstance(model, type) or not isinstance(proto, type):
        return False
    if proto in model.__mro__:
        return True
    registered = _registry.get(model)
    return registered is not None and any(proto in p.__mro__ for p in registered)


def require_impl(model: type, proto: type) -> None:
    """Check that ``model`` implements ``proto`` (see :func:`implements`); return ``None``.

    ``Scope.filter_impl(proto)`` calls this before it becomes a no-op filter.

    :param model: a model class.
    :param proto: the protocol asked for.
    :raises TypeError: naming the model and the protocol, when it does not.
    """
    proto = _unalias(proto)
    if not isinstance(proto, type):
        raise TypeError(f"filter_impl expects a protocol class, got {proto!r}")
    if implements(model, proto):
        return
    raise TypeError(
        f"{_name(model)} is not registered as an implementation of {_name(proto)}: decorate the "
        f"class with @sassi.trait_impl({_name(proto)}) or subclass {_name(proto)}"
    )

"""``TenantKey``: an opaque tenant label (the Rust crate's ``sassi::punnu::tenant::TenantKey``)."""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["TenantKey"]


class TenantKey:
    """An opaque, hashable, immutable tenant label: ``TenantKey("acme")``.

    A ``TenantKey`` is a pure label for your own bookkeeping (which tenant a request, a pool or a
    value belongs to). It is **not a cache-key dimension**: a pool keys its values by the model's
    identity alone, so two tenants' values with the same id are the same entry, and the later
    insert overwrites the earlier one. When tenants share ids, put the tenant in the id (a
    ``(tenant, id)`` tuple id), in the type (one model class per tenant, each with its own
    ``type_name``), or use one pool per tenant.

    Two keys are equal when their strings are; a key never equals a plain ``str``.

    :param value: the tenant's name; a ``str`` subclass is stored as a plain ``str``.
    :raises TypeError: when ``value`` is not a ``str``.
    """

    __slots__ = ("_value",)

    _value: str

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"TenantKey takes a str, got {value!r} ({type(value).__name__})")
        object.__setattr__(self, "_value", str(value))

    @staticmethod
    def none() -> None:
        """The absent tenant: always ``None`` (the crate's ``TenantKey::none()``).

        :returns: ``None``; annotate optional tenants as ``TenantKey | None``.
        """
        return None

    def as_str(self) -> str:
        """The tenant's name.

        :returns: the ``str`` given to the constructor.
        """
        return self._value

    def __str__(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"TenantKey({self._value!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TenantKey):
            return NotImplemented
        return self._value == other._value

    def __hash__(self) -> int:
        return hash((TenantKey, self._value))

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError(f"TenantKey is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"TenantKey is immutable (cannot delete {name!r})")

    def __reduce__(self) -> tuple[type[TenantKey], tuple[str]]:
        return (TenantKey, (self._value,))

"""What a fetcher returned, checked before anything is stored."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from .._core import PoolCore
from ..exceptions import IdentityMismatchError

__all__ = ["check_many", "check_one"]


def _checked(core: PoolCore[Any], value: object, fetcher: object, asked: str) -> Hashable:
    """``core.checked_id`` with a message that names the fetcher and what it was asked."""
    try:
        return core.checked_id(value)
    except TypeError as exc:
        raise TypeError(f"the fetcher {fetcher!r}, asked for {asked}: {exc}") from None


def check_one(core: PoolCore[Any], key: Hashable, value: object, fetcher: object) -> Any:
    """``value`` when it may be stored under ``key``, or raise."""
    got = _checked(core, value, fetcher, f"{core.type_name} id {key!r}")
    if got != key:
        raise IdentityMismatchError(
            f"{core.type_name}: the fetcher was asked for id {key!r} but returned id {got!r}"
        )
    return value


def check_many(
    core: PoolCore[Any], missing: dict[Hashable, None], values: Iterable[Any], fetcher: object
) -> dict[Hashable, Any]:
    """The fetched values by id (first occurrence wins), or raise before any insert."""
    fetched: dict[Hashable, Any] = {}
    asked = f"{core.type_name} ids {list(missing)!r}"
    if not isinstance(values, Iterable):
        raise TypeError(
            f"the fetcher {fetcher!r}, asked for {asked}, returned "
            f"{type(values).__qualname__}, not an iterable of {core.model.__qualname__}"
        )
    for value in values:
        got = _checked(core, value, fetcher, asked)
        if got not in missing:
            raise IdentityMismatchError(
                f"{core.type_name}: the batch fetcher returned id {got!r}, which was not asked for"
            )
        if got not in fetched:
            fetched[got] = value
    return fetched

"""Models and a failing backend shared by the exporter tests (importable as ``metrics_models``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sassi
from sassi.backends import MemoryBackend
from sassi.exceptions import BackendUnavailable

__all__ = ["Order", "User", "WritesFail"]


@sassi.cacheable(type_name="test.metrics.User")
@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str = ""


@sassi.cacheable(type_name="test.metrics.Order")
@dataclass(frozen=True, slots=True)
class Order:
    id: int
    total: int = 0


class WritesFail(MemoryBackend):
    """A backend whose writes are down: every put raises ``BackendUnavailable``."""

    def put_sync(self, *args: Any, **kwargs: Any) -> None:
        raise BackendUnavailable("the test backend refuses writes")

    async def put(self, *args: Any, **kwargs: Any) -> None:
        raise BackendUnavailable("the test backend refuses writes")

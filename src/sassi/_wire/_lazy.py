"""A module imported on first attribute access.

``import sassi`` (which makes ``sassi.wire`` available) imports no third-party package but anyio
(SPEC section 0), so the wire modules hold a :class:`LazyModule` in place of ``msgspec`` until a
value is first encoded or decoded; the first access replaces the placeholder in the module's
globals by the real module, so later accesses cost nothing extra.
"""

from __future__ import annotations

import importlib
from collections.abc import MutableMapping
from typing import Any

__all__ = ["LazyModule"]


class LazyModule:
    """Stands for the module ``name`` in ``namespace`` until an attribute is first read.

    :param name: the module to import (``"msgspec"``).
    :param namespace: the importing module's ``globals()``; ``namespace[name]`` is replaced.
    """

    __slots__ = ("_name", "_namespace")

    def __init__(self, name: str, namespace: MutableMapping[str, Any]) -> None:
        self._name = name
        self._namespace = namespace

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self._name)
        self._namespace[self._name] = module
        return getattr(module, attr)

"""Which build runs: the compiled core (mypyc) or pure Python, and the switch between them.

A wheel built with the mypyc hook (see ``pyproject.toml``) holds each core module twice under
one name: ``sassi/_store.py`` and the C extension ``sassi/_store.cpython-*.so`` compiled from
that same file. Python's import system prefers the extension. With ``SASSI_PURE_PYTHON=1`` in
the environment when ``sassi`` is first imported, :func:`prefer_source` puts a finder in front
of ``sys.meta_path`` that loads every ``sassi.*`` module from its ``.py`` file instead, so the
same install runs as pure Python (to compare behaviour or profile the Python code). A checkout,
an editable install or an sdist installed without the hook only has the ``.py`` files.

This module imports nothing from sassi and is never compiled.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from types import ModuleType

__all__ = ["ENV", "PreferSource", "is_compiled", "prefer_source", "requested"]

ENV = "SASSI_PURE_PYTHON"


def requested() -> bool:
    """Whether the environment asks for pure Python (``SASSI_PURE_PYTHON`` set, not ``0``)."""
    return os.environ.get(ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


class PreferSource(importlib.abc.MetaPathFinder):
    """Finds ``sassi.*`` submodules by their ``.py`` file, ahead of compiled extensions."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if path is None or not fullname.startswith("sassi."):
            return None
        name = fullname.rpartition(".")[2]
        for entry in path:
            candidate = os.path.join(entry, name + ".py")
            if os.path.isfile(candidate):
                return importlib.util.spec_from_file_location(fullname, candidate)
        return None  # a package, or not ours: the usual finders decide


def prefer_source() -> None:
    """Install :class:`PreferSource` first on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, PreferSource) for finder in sys.meta_path):
        sys.meta_path.insert(0, PreferSource())


def is_compiled(module: ModuleType) -> bool:
    """Whether ``module`` was loaded from a C extension (a mypyc-compiled module)."""
    origin = getattr(module, "__file__", None) or ""
    return origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))

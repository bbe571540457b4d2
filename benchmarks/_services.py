"""The servers a benchmark group needs: the one ``dev.py test`` started (its URL in the
environment), else a private one started with ``dev.py``'s own helpers for this run."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

__all__ = ["dev_module", "service_url"]

ROOT = Path(__file__).resolve().parent.parent


def dev_module() -> ModuleType:
    """The repository's ``dev.py`` (the project's own service starters)."""
    sys.path.insert(0, str(ROOT))
    try:
        import dev
    finally:
        sys.path.remove(str(ROOT))
    return dev


@contextlib.contextmanager
def service_url(var: str, starter: str, prefix: str) -> Iterator[str | None]:
    """``$var`` if set, else the URL of a server ``dev.<starter>`` runs for the block (``None``
    when it cannot start one)."""
    url = os.environ.get(var)
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        os.chmod(tmp, 0o755)  # PostgreSQL runs as its own user and must reach its directory
        with getattr(dev_module(), starter)(Path(tmp)) as env:
            yield env.get(var)

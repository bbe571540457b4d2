"""``backend=`` given as a URL (SPEC 11.11): ``redis://``, ``rediss://``, ``redis+cluster://``,
``file:///path``."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from ._protocol import Backend

__all__ = ["resolve_backend"]


def resolve_backend(backend: Any) -> Any:
    """The backend a pool was given: ``None``, a :class:`Backend`, or a URL string.

    :raises TypeError: when ``backend`` is neither ``None``, a backend nor a ``str``.
    :raises ValueError: for a URL of an unknown scheme (the message lists the known ones).
    """
    if backend is None or isinstance(backend, Backend):
        return backend
    if not isinstance(backend, str):
        raise TypeError(
            f"backend= must be a sassi Backend (MemoryBackend, FileBackend, RedisBackend, ...) "
            f"or a URL string, got {type(backend).__qualname__}"
        )
    scheme = urlsplit(backend).scheme.lower()
    if scheme in ("redis", "rediss", "unix"):
        from .redis import RedisBackend

        return RedisBackend(backend)
    if scheme == "redis+cluster":
        from .redis import RedisBackend

        return RedisBackend.from_url(backend)
    if scheme == "file":
        from .file import FileBackend

        path = unquote(urlsplit(backend).path)
        if not path:
            raise ValueError(f"backend URL {backend!r}: file:///absolute/path expected")
        return FileBackend(path)
    raise ValueError(
        f"backend URL {backend!r}: unknown scheme {scheme!r} "
        "(known: redis://, rediss://, redis+cluster://, file:///path)"
    )

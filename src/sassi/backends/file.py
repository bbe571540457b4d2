"""A directory of wire records: one file per value, written atomically.

Layout: ``root/ns_<hex(namespace)>/ty_<hex(type name)>/id_<hex(json(id))>.sassi`` (``ns_none``
without a namespace). Each file is a kind-2 wire record: header, expiry tag + unix-ms expiry,
then the value body; a record whose expiry has passed is deleted on read before its value is
decoded. Writes go to a uniquely named temporary file in the same directory, then
``os.replace`` it over the target, so readers see the old or the new record, never half of
one. ``invalidate_all`` renames the keyspace directory away before deleting it. Any
``OSError`` becomes :class:`~sassi.BackendUnavailable`. Other files (e.g. the Rust crate's
legacy ``.json``) are ignored. There is no cross-process invalidation stream.
"""

from __future__ import annotations

import math
import os
import secrets
import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio.to_thread

from .. import wire
from ..exceptions import BackendUnavailable
from ._protocol import Invalidation, Keyspace, check_value, ttl_seconds
from ._stream import EmptyStream

__all__ = ["FileBackend"]


class FileBackend:
    """A :class:`~sassi.backends.Backend` over a directory tree.

    :param root: the directory holding every keyspace (created on first write).
    :param clock: zero-argument callable returning *wall-clock* unix seconds (default
        ``time.time``); expiry inside records is absolute unix milliseconds.
    """

    def __init__(self, root: str | os.PathLike[str], clock: Callable[[], float] | None = None):
        self.root = Path(root)
        self._clock = clock if clock is not None else time.time

    def __repr__(self) -> str:
        return f"FileBackend({str(self.root)!r})"

    def keyspace_dir(self, keyspace: Keyspace) -> Path:
        """The directory of one keyspace."""
        ns = "ns_none" if keyspace.namespace is None else "ns_" + keyspace.namespace.encode().hex()
        return self.root / ns / f"ty_{keyspace.type_name.encode().hex()}"

    def path(self, keyspace: Keyspace, id: Any) -> Path:
        """The record file of ``id``."""
        return self.keyspace_dir(keyspace) / f"id_{wire.id_token(id)}.sassi"

    def _now_ms(self) -> int:
        return math.floor(self._clock() * 1000)

    def get_sync(self, keyspace: Keyspace, id: Any) -> Any | None:
        """The stored value, or ``None`` when absent or expired (an expired record is deleted).

        :raises BackendUnavailable: on an I/O error.
        :raises WireFormatError: when the record is not a valid kind-2 container.
        """
        target = self.path(keyspace, id)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BackendUnavailable(f"cannot read {target}: {exc}") from exc
        expiry, offset = wire.read_file_entry_expiry(data, keyspace.type_name)
        if expiry is not None and expiry <= self._now_ms():
            self._unlink(target)
            return None
        return wire.codec(keyspace.resolve_model()).decode(memoryview(data)[offset:])

    def put_sync(
        self, keyspace: Keyspace, id: Any, value: Any, ttl: float | timedelta | None
    ) -> None:
        """Write the record atomically; a ttl ``<= 0`` removes it instead.

        :raises BackendUnavailable: on an I/O error.
        :raises ValueError: when ``value`` belongs to another model than the keyspace.
        """
        check_value(keyspace, value)
        seconds = ttl_seconds(ttl)
        target = self.path(keyspace, id)
        if seconds is not None and seconds <= 0:
            self._unlink(target)
            return
        expires = None if seconds is None else math.ceil((self._clock() + seconds) * 1000)
        data = wire.encode_file_entry(value, expires)
        tmp = target.with_name(f".tmp-{secrets.token_hex(8)}-{target.name}")
        try:
            try:
                fh = open(tmp, "xb")  # noqa: SIM115 - closed just below
            except FileNotFoundError:  # first write into this keyspace (or after invalidate_all)
                target.parent.mkdir(parents=True, exist_ok=True)
                fh = open(tmp, "xb")  # noqa: SIM115
            with fh:
                fh.write(data)
            os.replace(tmp, target)
        except OSError as exc:
            self._unlink(tmp, strict=False)
            raise BackendUnavailable(f"cannot write {target}: {exc}") from exc

    def invalidate_sync(self, keyspace: Keyspace, id: Any) -> None:
        """Delete the record (idempotent).

        :raises BackendUnavailable: on an I/O error.
        """
        self._unlink(self.path(keyspace, id))

    def invalidate_all_sync(self, keyspace: Keyspace) -> None:
        """Delete the keyspace directory (other keyspaces untouched).

        :raises BackendUnavailable: on an I/O error.
        """
        directory = self.keyspace_dir(keyspace)
        trash = directory.with_name(f".trash-{secrets.token_hex(8)}-{directory.name}")
        try:
            os.rename(directory, trash)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise BackendUnavailable(f"cannot remove {directory}: {exc}") from exc
        try:
            shutil.rmtree(trash)
        except OSError as exc:
            raise BackendUnavailable(f"cannot remove {trash}: {exc}") from exc

    @staticmethod
    def _unlink(target: Path, *, strict: bool = True) -> None:
        try:
            target.unlink(missing_ok=True)
        except OSError as exc:
            if strict:
                raise BackendUnavailable(f"cannot delete {target}: {exc}") from exc

    async def get(self, keyspace: Keyspace, id: Any) -> Any | None:
        """Async twin of :meth:`get_sync` (runs in a worker thread)."""
        return await anyio.to_thread.run_sync(self.get_sync, keyspace, id)

    async def put(
        self, keyspace: Keyspace, id: Any, value: Any, ttl: float | timedelta | None
    ) -> None:
        """Async twin of :meth:`put_sync` (runs in a worker thread)."""
        await anyio.to_thread.run_sync(self.put_sync, keyspace, id, value, ttl)

    async def invalidate(self, keyspace: Keyspace, id: Any) -> None:
        """Async twin of :meth:`invalidate_sync` (runs in a worker thread)."""
        await anyio.to_thread.run_sync(self.invalidate_sync, keyspace, id)

    async def invalidate_all(self, keyspace: Keyspace) -> None:
        """Async twin of :meth:`invalidate_all_sync` (runs in a worker thread)."""
        await anyio.to_thread.run_sync(self.invalidate_all_sync, keyspace)

    def publish_sync(self, keyspace: Keyspace, message: Invalidation) -> None:
        """No channel to publish on: does nothing."""

    async def publish(self, keyspace: Keyspace, message: Invalidation) -> None:
        """No channel to publish on: does nothing."""

    def invalidations(self, keyspace: Keyspace) -> EmptyStream:
        """Files have no change feed: an empty stream."""
        return EmptyStream()

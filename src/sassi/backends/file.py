"""A directory of wire records: one file per value, written atomically.

Layout: ``root/ns_<hex(namespace)>/ty_<hex(type name)>/id_<hex(json(id))>.sassi`` (``ns_none``
without a namespace). A component whose hex form is longer than :data:`MAX_HEX` characters
(an id whose JSON is over 112 bytes, say) is named by its SHA-256 instead: ``idh_<sha256>``,
``nsh_...``, ``tyh_...``, so every file name, temporary and trash names included, fits the
255-byte limit of common file systems. Each file is a kind-2 wire record: header, expiry tag +
unix-ms expiry, then the value body; a record whose expiry has passed is deleted on read
before its value is decoded. An ``idh_`` file keeps its id in front of the record (u32 LE
length, then the id's JSON) and a read checks it, so a long id is exact, never just hashed.

Writes go to a uniquely named temporary file in the same directory, then ``os.replace`` it
over the target, so readers see the old or the new record, never half of one.
``invalidate_all`` renames the keyspace directory to ``.trash-<random>-<name>`` and deletes
that. A write racing it may find its directory gone (it then writes again into a fresh one),
or may still land inside the trash (a path resolved just before the rename): deleting the
trash is retried until it is empty, and trash left by a crashed process is swept by the next
``invalidate_all`` of the keyspace, so no temporary file or trash directory outlives them.

Errors: an ``OSError`` that retrying cannot fix (a name or path too long, an invalid path, a
directory where a record should be) raises :class:`~sassi.BackendError`; every other
``OSError`` (permissions, a full disk, I/O errors...) raises :class:`~sassi.BackendUnavailable`,
which ``BackendFailure.retry`` retries. Other files (e.g. the Rust crate's legacy ``.json``)
are ignored. There is no cross-process invalidation stream.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import math
import os
import secrets
import shutil
import struct
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio.to_thread

from .. import wire
from ..exceptions import BackendError, BackendUnavailable, CodecError
from ._protocol import Invalidation, Keyspace, check_value, ttl_seconds
from ._stream import EmptyStream

__all__ = ["MAX_HEX", "FileBackend"]

MAX_HEX = 224
"""The longest hex form kept readable in a name: ``.tmp-<16>-id_<224>.sassi`` is 255 bytes."""

_PERMANENT = frozenset({errno.ENAMETOOLONG, errno.EINVAL, errno.ELOOP, errno.EISDIR, errno.EFBIG})
"""``OSError`` numbers no retry can fix: :class:`BackendError`, not ``BackendUnavailable``."""

_RACE_ATTEMPTS = 100
"""How often a write or a trash removal starts over when a concurrent ``invalidate_all``
moved the directory under it (each retry follows a real, finished rename)."""


def _component(prefix: str, raw: bytes) -> str:
    """``prefix_<hex(raw)>``, or ``prefixh_<sha256(raw)>`` when the hex form is too long."""
    token = raw.hex()
    if len(token) <= MAX_HEX:
        return f"{prefix}_{token}"
    return f"{prefix}h_{hashlib.sha256(raw).hexdigest()}"


def _io_error(message: str, exc: OSError) -> BackendError:
    """``exc`` as sassi's error: permanent faults are not :class:`BackendUnavailable`."""
    if exc.errno in _PERMANENT:
        return BackendError(f"{message}: {exc}")
    return BackendUnavailable(f"{message}: {exc}")


_ID_LEN = struct.Struct("<I")


def _split_id(data: bytes, expected: bytes) -> bytes | None:
    """The record after the id prefix of an ``idh_`` file, or ``None`` for another id.

    :raises CodecError: when the prefix is truncated.
    """
    if len(data) < _ID_LEN.size:
        raise CodecError("hashed-name record: id length is truncated")
    (size,) = _ID_LEN.unpack_from(data, 0)
    end = _ID_LEN.size + size
    if len(data) < end:
        raise CodecError(f"hashed-name record: id of {size} bytes is truncated")
    if data[_ID_LEN.size : end] != expected:
        return None
    return data[end:]


class _Moved(Exception):
    """The keyspace directory vanished under a write (a concurrent ``invalidate_all``)."""


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
        if keyspace.namespace is None:
            ns = "ns_none"
        else:
            ns = _component("ns", keyspace.namespace.encode())
        return self.root / ns / _component("ty", keyspace.type_name.encode())

    def path(self, keyspace: Keyspace, id: Any) -> Path:
        """The record file of ``id``."""
        return self.keyspace_dir(keyspace) / (_component("id", wire.encode_id(id)) + ".sassi")

    def _now_ms(self) -> int:
        return math.floor(self._clock() * 1000)

    def get_sync(self, keyspace: Keyspace, id: Any) -> Any | None:
        """The stored value, or ``None`` when absent or expired (an expired record is deleted).

        :raises BackendUnavailable: on a transient I/O error.
        :raises BackendError: on a permanent I/O error (e.g. a root path that is too long).
        :raises WireFormatError: when the record is not a valid kind-2 container.
        """
        target = self.path(keyspace, id)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _io_error(f"cannot read {target}", exc) from exc
        if target.name.startswith("idh_"):
            record = _split_id(data, wire.encode_id(id))
            if record is None:
                return None  # another id whose name has the same SHA-256: not ours
            data = record
        expiry, offset = wire.read_file_entry_expiry(data, keyspace.type_name)
        if expiry is not None and expiry <= self._now_ms():
            self._unlink(target)
            return None
        return wire.codec(keyspace.resolve_model()).decode(memoryview(data)[offset:])

    def put_sync(
        self, keyspace: Keyspace, id: Any, value: Any, ttl: float | timedelta | None
    ) -> None:
        """Write the record atomically; a ttl ``<= 0`` removes it instead.

        :raises BackendUnavailable: on a transient I/O error.
        :raises BackendError: on a permanent I/O error (e.g. a root path that is too long).
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
        if target.name.startswith("idh_"):
            raw = wire.encode_id(id)
            data = _ID_LEN.pack(len(raw)) + raw + data
        for _ in range(_RACE_ATTEMPTS):
            try:
                self._write(target, data)
                return
            except _Moved:
                continue  # invalidate_all took the directory: write into a fresh one
        raise BackendUnavailable(f"cannot write {target}: its directory keeps being removed")

    @staticmethod
    def _write(target: Path, data: bytes) -> None:
        """One attempt at the temp-file-then-rename write.

        :raises _Moved: when the directory vanished during the attempt.
        """
        tmp = target.with_name(f".tmp-{secrets.token_hex(8)}-{target.name}")
        try:
            try:
                fh = open(tmp, "xb")  # noqa: SIM115 - closed just below
            except FileNotFoundError:  # first write into this keyspace (or after invalidate_all)
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                except FileExistsError as exc:  # made, then renamed away before the check
                    raise _Moved from exc
                fh = open(tmp, "xb")  # noqa: SIM115
            with fh:
                fh.write(data)
            os.replace(tmp, target)
        except FileNotFoundError as exc:  # the directory was renamed away meanwhile
            FileBackend._unlink(tmp, strict=False)
            raise _Moved from exc
        except OSError as exc:
            FileBackend._unlink(tmp, strict=False)
            raise _io_error(f"cannot write {target}", exc) from exc

    def invalidate_sync(self, keyspace: Keyspace, id: Any) -> None:
        """Delete the record (idempotent).

        :raises BackendUnavailable: on an I/O error.
        """
        self._unlink(self.path(keyspace, id))

    def invalidate_all_sync(self, keyspace: Keyspace) -> None:
        """Delete the keyspace directory (other keyspaces untouched).

        Also removes trash a crashed ``invalidate_all`` of this keyspace left behind.

        :raises BackendUnavailable: on a transient I/O error.
        :raises BackendError: on a permanent I/O error.
        """
        directory = self.keyspace_dir(keyspace)
        trash = directory.with_name(f".trash-{secrets.token_hex(8)}-{directory.name}")
        try:
            os.rename(directory, trash)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise _io_error(f"cannot remove {directory}", exc) from exc
        try:
            stale = list(directory.parent.glob(f".trash-*-{directory.name}"))
        except OSError:
            stale = [trash]
        for old in stale:
            self._remove_tree(old)

    @staticmethod
    def _remove_tree(trash: Path) -> None:
        """Delete ``trash``, again while writes that resolved its old path still land in it.

        A write that resolved the keyspace directory just before it was renamed can add a file
        after the removal listed the directory (``ENOTEMPTY``); another process sweeping the
        same trash can remove an entry first (``ENOENT``). Once the directory itself is gone,
        nothing can be created in it any more.
        """
        for attempt in range(_RACE_ATTEMPTS):
            try:
                shutil.rmtree(trash)
                return
            except FileNotFoundError:
                if not os.path.lexists(trash):
                    return
            except OSError as exc:
                if exc.errno != errno.ENOTEMPTY or attempt == _RACE_ATTEMPTS - 1:
                    raise _io_error(f"cannot remove {trash}", exc) from exc
            time.sleep(0.0001 * attempt)  # the racing writes are single system calls
        raise BackendUnavailable(f"cannot remove {trash}: it keeps being written to")

    @staticmethod
    def _unlink(target: Path, *, strict: bool = True) -> None:
        try:
            target.unlink(missing_ok=True)
        except OSError as exc:
            if strict:
                raise _io_error(f"cannot delete {target}", exc) from exc

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

    def delete_where_sync(
        self, keyspace: Keyspace, test: Callable[[Any], bool], batch: int = 500
    ) -> int:
        """Delete every live record whose value passes ``test`` (an undecodable record or a
        raising test is no match), listing the keyspace directory ``batch`` names at a time.

        :raises BackendUnavailable: on an I/O error listing the directory.
        """
        directory = self.keyspace_dir(keyspace)
        codec = wire.codec(keyspace.resolve_model())
        now = self._now_ms()
        deleted = 0
        try:
            with os.scandir(directory) as entries:
                while chunk := list(itertools.islice(entries, max(1, batch))):
                    for entry in chunk:
                        if entry.name.endswith(".sassi") and self._matches(
                            Path(entry.path), keyspace, codec, test, now
                        ):
                            self._unlink(Path(entry.path), strict=False)
                            deleted += 1
        except FileNotFoundError:
            return deleted
        except OSError as exc:
            raise _io_error(f"cannot list {directory}", exc) from exc
        return deleted

    @staticmethod
    def _matches(
        target: Path, keyspace: Keyspace, codec: Any, test: Callable[[Any], bool], now: int
    ) -> bool:
        try:
            data = target.read_bytes()
            if target.name.startswith("idh_"):
                (size,) = _ID_LEN.unpack_from(data, 0)
                data = data[_ID_LEN.size + size :]
            expiry, offset = wire.read_file_entry_expiry(data, keyspace.type_name)
            if expiry is not None and expiry <= now:
                return False
            return bool(test(codec.decode(memoryview(data)[offset:])))
        except Exception:
            return False

    async def delete_where(
        self, keyspace: Keyspace, test: Callable[[Any], bool], batch: int = 500
    ) -> int:
        """Async twin of :meth:`delete_where_sync` (runs in a worker thread)."""
        return await anyio.to_thread.run_sync(self.delete_where_sync, keyspace, test, batch)

    def publish_sync(self, keyspace: Keyspace, message: Invalidation) -> None:
        """No channel to publish on: does nothing."""

    async def publish(self, keyspace: Keyspace, message: Invalidation) -> None:
        """No channel to publish on: does nothing."""

    def invalidations(self, keyspace: Keyspace) -> EmptyStream:
        """Files have no change feed: an empty stream."""
        return EmptyStream()

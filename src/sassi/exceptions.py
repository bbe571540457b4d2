"""The sassi error tree.

Every error sassi raises on purpose derives from :class:`SassiError`. Leaves also inherit the
builtin they refine, so ``except ValueError`` keeps working where that is the natural catch::

    SassiError
     ├── ConflictError (ValueError)            insert under OnConflict.REJECT met a live value
     ├── IdentityMismatchError (ValueError)    a fetcher/backend returned a value with another id
     ├── BackendError                          an L2 backend failed
     │    └── BackendUnavailable (ConnectionError)   transient: retried under BackendFailure.retry
     │         └── BackendTimeout (TimeoutError)     no answer in time: the outcome is unknown
     ├── WireFormatError (ValueError)          bytes that are not a valid sassi wire container
     │    ├── InvalidMagic
     │    ├── VersionMismatch
     │    ├── UnsupportedKind
     │    ├── KindMismatch
     │    ├── UnsupportedFlags
     │    ├── MalformedHeader
     │    ├── TypeNameMismatch
     │    └── CodecError                       bad MessagePack body, wrong shape, trailing bytes
     └── SnapshotError                         a snapshot that cannot be restored (nothing mutated)
          ├── DuplicateId (ValueError)
          ├── TooManyEntries (ValueError)
          └── BackendWriteInFlight             a strict backend write holds an id being restored

Configuration mistakes (bad pool options, bad decorator arguments, wrong operand types) are plain
:class:`ValueError` / :class:`TypeError` whose messages name the offending option.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "BackendTimeout",
    "BackendUnavailable",
    "BackendWriteInFlight",
    "CodecError",
    "ConflictError",
    "DuplicateId",
    "IdentityMismatchError",
    "InvalidMagic",
    "KindMismatch",
    "MalformedHeader",
    "SassiError",
    "SnapshotError",
    "TooManyEntries",
    "TypeNameMismatch",
    "UnsupportedFlags",
    "UnsupportedKind",
    "VersionMismatch",
    "WireFormatError",
]


class SassiError(Exception):
    """Base class of every error sassi raises on purpose."""


class ConflictError(SassiError, ValueError):
    """An insert under ``OnConflict.REJECT`` found a live value with the same id."""


class IdentityMismatchError(SassiError, ValueError):
    """A fetcher or backend returned a value whose id is not the one asked for."""


class BackendError(SassiError):
    """An L2 backend operation failed."""


class BackendUnavailable(BackendError, ConnectionError):
    """A transient backend fault (connection refused, timeout); worth retrying."""


class BackendTimeout(BackendUnavailable, TimeoutError):
    """The backend did not answer in time: the command may or may not have run.

    A strict (``BackendFailure.ERROR``) write that ends this way removes its id from L1 and
    suppresses L2 reads of it until the next successful write or invalidate.
    """


class WireFormatError(SassiError, ValueError):
    """Bytes that are not a valid sassi wire container for the expected model and kind."""


class InvalidMagic(WireFormatError):
    """The bytes do not start with ``b"SASSI\\x00W\\x00"``."""


class VersionMismatch(WireFormatError):
    """The wire major version is not one this sassi reads."""

    def __init__(self, got: int, expected: int) -> None:
        super().__init__(f"wire major version {got} is not supported (expected {expected})")
        self.got = got
        self.expected = expected


class UnsupportedKind(WireFormatError):
    """The container kind byte is not a known kind."""

    def __init__(self, kind: int) -> None:
        super().__init__(f"unsupported wire container kind {kind}")
        self.kind = kind


class KindMismatch(WireFormatError):
    """A known container kind, but not the one this call reads."""

    def __init__(self, got: int, expected: int) -> None:
        super().__init__(f"wire container kind {got} where kind {expected} was expected")
        self.got = got
        self.expected = expected


class UnsupportedFlags(WireFormatError):
    """The flags byte is not zero."""

    def __init__(self, flags: int) -> None:
        super().__init__(f"unsupported wire flags {flags:#04x} (expected 0)")
        self.flags = flags


class MalformedHeader(WireFormatError):
    """The header is truncated or its type name is not valid UTF-8."""


class TypeNameMismatch(WireFormatError):
    """The container holds another model's data."""

    def __init__(self, got: str, expected: str) -> None:
        super().__init__(f"wire data is for type {got!r}, expected {expected!r}")
        self.got = got
        self.expected = expected


class CodecError(WireFormatError):
    """The MessagePack body is malformed, has the wrong shape, or has trailing bytes."""


class SnapshotError(SassiError):
    """A snapshot cannot be restored; the pool was not touched."""


class DuplicateId(SnapshotError, ValueError):
    """The snapshot holds the same id twice."""


class TooManyEntries(SnapshotError, ValueError):
    """The snapshot declares more entries than the receiving pool's capacity."""

    def __init__(self, entries: int, limit: int) -> None:
        super().__init__(f"snapshot declares {entries} entries, pool capacity is {limit}")
        self.entries = entries
        self.limit = limit


class BackendWriteInFlight(SnapshotError):
    """A strict (``BackendFailure.ERROR``) backend write holds an id the restore would touch."""

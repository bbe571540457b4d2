"""The fixed header every wire container starts with, and its ordered checks.

Layout and the order of the checks are described in :mod:`sassi.wire`.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable

from ..exceptions import (
    InvalidMagic,
    KindMismatch,
    MalformedHeader,
    TypeNameMismatch,
    UnsupportedFlags,
    UnsupportedKind,
    VersionMismatch,
)

__all__ = ["HEADER_LEN", "MAGIC", "WIRE_FORMAT_MAJOR", "Kind", "encode_header", "read_header"]

MAGIC = b"SASSI\x00W\x00"
WIRE_FORMAT_MAJOR = 1
HEADER_LEN = 14
_HEADER = struct.Struct("<8sHBBH")


class Kind(enum.IntEnum):
    """The container kinds of the wire header (values >= 5 are reserved)."""

    VALUE = 1
    FILE_ENTRY = 2
    POOL_ENTRIES = 3
    POOL_ENTRIES_WITH_HINTS = 4


def encode_header(kind: Kind, type_name: str) -> bytes:
    """The header for ``kind`` and ``type_name``.

    :param kind: the container kind.
    :param type_name: the model's stable type name.
    :returns: the header bytes (14 + the UTF-8 length of the name).
    :raises ValueError: when the name is longer than 65535 bytes.
    """
    name = type_name.encode("utf-8")
    if len(name) > 0xFFFF:
        raise ValueError(f"type name is too long for the wire header ({len(name)} bytes)")
    return _HEADER.pack(MAGIC, WIRE_FORMAT_MAJOR, int(kind), 0, len(name)) + name


def read_header(
    data: bytes | bytearray | memoryview, expected: Iterable[Kind], type_name: str
) -> tuple[Kind, int]:
    """Validate a header and return its kind and the offset where the body starts.

    ``expected`` lists the acceptable kinds; a known kind outside it raises
    :class:`KindMismatch` naming the first expected kind.

    :param data: the whole container.
    :param expected: acceptable kinds (the first one is reported on mismatch).
    :param type_name: the type name the header must carry.
    :returns: ``(kind, body offset)``.
    :raises WireFormatError: the subclass for the first check that fails (module docstring).
    """
    view = memoryview(data)
    if len(view) >= 1 and view[0] == 0x7B:  # "{": the JSON envelope of wire major 0
        raise VersionMismatch(0, WIRE_FORMAT_MAJOR)
    if len(view) < HEADER_LEN:
        raise MalformedHeader(f"wire header needs {HEADER_LEN} bytes, got {len(view)}")
    magic, major, kind, flags, name_len = _HEADER.unpack_from(view, 0)
    if magic != MAGIC:
        raise InvalidMagic("bytes do not start with the sassi wire magic")
    if major != WIRE_FORMAT_MAJOR:
        raise VersionMismatch(major, WIRE_FORMAT_MAJOR)
    if kind >= 5 or kind == 0:
        raise UnsupportedKind(kind)
    wanted = tuple(expected)
    if kind not in wanted:
        raise KindMismatch(kind, int(wanted[0]))
    if flags != 0:
        raise UnsupportedFlags(flags)
    end = HEADER_LEN + name_len
    if len(view) < end:
        raise MalformedHeader(
            f"type name truncated: header declares {name_len} bytes, {len(view) - HEADER_LEN} remain"
        )
    try:
        got = bytes(view[HEADER_LEN:end]).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedHeader("type name is not valid UTF-8") from exc
    if got != type_name:
        raise TypeNameMismatch(got, type_name)
    return Kind(kind), end

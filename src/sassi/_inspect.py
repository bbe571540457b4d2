"""``sassi inspect FILE``: what a snapshot (or any sassi wire file) holds, without its model.

The header is validated by :func:`sassi.wire.read_header` itself (the type name is learnt from
the :class:`~sassi.TypeNameMismatch` it raises for a name nobody uses). Bodies are decoded
generically with msgspec: rows come back as plain MessagePack values (maps of field name to
value), never through pickle and never through a model's constructor. Entries of kinds 3 and 4
are walked as raw MessagePack (structure checked, nothing built) and only the rows shown are
decoded, so memory stays close to the file size, which is capped (``--max-bytes``).
"""

from __future__ import annotations

import base64
import datetime
import math
import statistics
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import wire
from ._console import CliError, fmt_seconds
from .exceptions import TypeNameMismatch, WireFormatError

__all__ = ["DEFAULT_MAX_BYTES", "Report", "read_report", "render", "to_json"]

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_MAX_DEPTH = 32  # nesting shown; deeper values are elided
_CELL = 40  # characters per table cell


@dataclass(frozen=True, slots=True)
class TtlSpread:
    """Remaining TTLs of a ``WITH_INTERNAL_STATE`` snapshot, in seconds."""

    with_ttl: int
    without_ttl: int
    min: float | None
    median: float | None
    max: float | None


@dataclass(slots=True)
class Report:
    """What ``sassi inspect`` found in one file."""

    path: str
    size: int
    kind: wire.Kind
    type_name: str
    header_length: int
    entries: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    envelope_version: int | None = None
    ttl: TtlSpread | None = None
    expires_at_ms: int | None = None


def _read(path: Path, max_bytes: int) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)  # bounded also for pipes and devices
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CliError(f"{path}: is a directory, not a snapshot file") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise CliError(
            f"{path}: larger than the {max_bytes:,}-byte limit; raise it with --max-bytes"
        )
    return data


def _header(data: bytes) -> tuple[wire.Kind, int, str]:
    """Validate the header with the wire module's own reader; learn the type name from it."""
    kinds = tuple(wire.Kind)
    try:
        kind, offset = wire.read_header(data, kinds, "")
        return kind, offset, ""
    except TypeNameMismatch as exc:
        name = exc.got
    kind, offset = wire.read_header(data, kinds, name)
    return kind, offset, name


def read_report(path: Path, *, rows: int, max_bytes: int = DEFAULT_MAX_BYTES) -> Report:
    """Read and summarise ``path``.

    :param path: a file written by ``pool.snapshot()``, ``pool.export_entries()``,
        :func:`sassi.wire.dumps` or the file backend.
    :param rows: how many rows to decode and keep (the first ones, in stored order).
    :param max_bytes: refuse files larger than this.
    :returns: the report.
    :raises CliError: for an unreadable, oversized or malformed file (one-line message).
    """
    import msgspec

    data = _read(path, max_bytes)
    try:
        kind, offset, name = _header(data)
        report = Report(str(path), len(data), kind, name, offset, 0)
        body = memoryview(data)[offset:]
        if kind is wire.Kind.VALUE:
            report.entries = 1
            report.rows = [{"fields": _value_map(body, 0)}] if rows else []
        elif kind is wire.Kind.FILE_ENTRY:
            report.expires_at_ms, start = wire.read_file_entry_expiry(data, name)
            report.entries = 1
            report.rows = [{"fields": _value_map(memoryview(data)[start:], 0)}] if rows else []
        elif kind is wire.Kind.POOL_ENTRIES:
            _entries(report, body, rows)
        else:
            _hinted_entries(report, body, rows)
    except WireFormatError as exc:
        raise CliError(f"{path}: not a valid sassi file: {type(exc).__name__}: {exc}") from None
    except (msgspec.MsgspecError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise CliError(f"{path}: malformed body: {exc}") from None
    return report


def _count(body: memoryview, at: int, what: str) -> int:
    if len(body) < at + _U32.size:
        raise ValueError(f"{what} is truncated")
    (count,) = _U32.unpack_from(body, at)
    return int(count)


def _value_map(raw: bytes | memoryview | Any, index: int) -> dict[str, Any]:
    import msgspec

    value = msgspec.msgpack.decode(raw)
    if not isinstance(value, dict):
        raise ValueError(f"entry {index} is a {type(value).__name__}, not a map of fields")
    return value


def _entries(report: Report, body: memoryview, rows: int) -> None:
    import msgspec

    declared = _count(body, 0, "entry count")
    raws = msgspec.msgpack.decode(body[_U32.size :], type=list[msgspec.Raw])
    if len(raws) != declared:
        raise ValueError(f"header declares {declared} entries, the body holds {len(raws)}")
    report.entries = declared
    report.rows = [{"fields": _value_map(raws[i], i)} for i in range(min(rows, declared))]


def _hinted_entries(report: Report, body: memoryview, rows: int) -> None:
    import msgspec

    if len(body) < _U16.size:
        raise ValueError("snapshot envelope is truncated")
    (version,) = _U16.unpack_from(body, 0)
    if version != wire.HINTS_VERSION:
        raise ValueError(f"unknown snapshot envelope version {version}")
    report.envelope_version = int(version)
    declared = _count(body, _U16.size, "entry count")
    entries = msgspec.msgpack.decode(
        body[_U16.size + _U32.size :], type=list[tuple[msgspec.Raw, int, int, int]]
    )
    if len(entries) != declared:
        raise ValueError(f"header declares {declared} entries, the body holds {len(entries)}")
    remaining: list[float] = []
    for i, (_, tag, ms, rank) in enumerate(entries):
        if tag not in (0, 1) or ms < 0 or (tag == 0 and ms != 0):
            raise ValueError(f"entry {i} has a bad ttl (tag {tag}, {ms} ms)")
        if not 0 <= rank < declared:
            raise ValueError(f"entry {i} has LRU rank {rank}, out of range")
        if tag == 1:
            remaining.append(ms / 1000)
    report.entries = declared
    report.ttl = TtlSpread(
        with_ttl=len(remaining),
        without_ttl=declared - len(remaining),
        min=min(remaining) if remaining else None,
        median=statistics.median(remaining) if remaining else None,
        max=max(remaining) if remaining else None,
    )
    for i in range(min(rows, declared)):
        raw, tag, ms, rank = entries[i]
        report.rows.append(
            {
                "fields": _value_map(raw, i),
                "remaining_ttl": ms / 1000 if tag == 1 else None,
                "lru_rank": rank,
            }
        )


# --- output ------------------------------------------------------------------------------------


def _plain(value: Any, depth: int = 0) -> Any:
    """A JSON-safe copy of a decoded MessagePack value (bounded depth)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth >= _MAX_DEPTH:
        return "..."
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, list | tuple):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {
            k if isinstance(k, str) else repr(k): _plain(v, depth + 1) for k, v in value.items()
        }
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return repr(value)  # msgspec.msgpack.Ext and anything else: shown, never interpreted


def _iso(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).isoformat(
        timespec="milliseconds"
    )


def to_json(report: Report) -> dict[str, Any]:
    """The ``--json`` document."""
    doc: dict[str, Any] = {
        "file": report.path,
        "bytes": report.size,
        "header": {
            "magic": wire.MAGIC.hex(),
            "version": wire.WIRE_FORMAT_MAJOR,
            "kind": int(report.kind),
            "kind_name": report.kind.name,
            "flags": 0,
            "type_name": report.type_name,
            "length": report.header_length,
        },
        "entries": report.entries,
    }
    if report.envelope_version is not None:
        doc["envelope_version"] = report.envelope_version
    if report.ttl is not None:
        doc["ttl"] = {
            "with_ttl": report.ttl.with_ttl,
            "without_ttl": report.ttl.without_ttl,
            "min_seconds": report.ttl.min,
            "median_seconds": report.ttl.median,
            "max_seconds": report.ttl.max,
        }
    if report.kind is wire.Kind.FILE_ENTRY:
        ms = report.expires_at_ms
        doc["expires_at"] = None if ms is None else _iso(ms)
    doc["rows"] = [{k: _plain(v) for k, v in row.items()} for row in report.rows]
    return doc


def _cell(value: Any) -> str:
    import msgspec

    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes):
        text = repr(value)
    else:
        text = msgspec.json.encode(_plain(value)).decode("utf-8")
    return text if len(text) <= _CELL else text[: _CELL - 1] + "…"


_KIND_NOTE = {
    wire.Kind.VALUE: "one value (sassi.wire.dumps)",
    wire.Kind.FILE_ENTRY: "one file-backend entry",
    wire.Kind.POOL_ENTRIES: "pool entries (SnapshotMode.ENTRIES_ONLY)",
    wire.Kind.POOL_ENTRIES_WITH_HINTS: "pool entries with TTLs and LRU order "
    "(SnapshotMode.WITH_INTERNAL_STATE)",
}


def render(report: Report, out: Any) -> None:
    """Print ``report`` as rich tables on the console ``out``."""
    from rich.table import Table
    from rich.text import Text

    info = Table.grid(padding=(0, 2))
    info.add_column(style="bold")
    info.add_column()
    info.add_row("file", Text(f"{report.path} ({report.size:,} bytes)"))
    info.add_row("magic", Text(repr(wire.MAGIC)))
    info.add_row("wire version", str(wire.WIRE_FORMAT_MAJOR))
    info.add_row("kind", Text(f"{int(report.kind)} {report.kind.name}: {_KIND_NOTE[report.kind]}"))
    info.add_row("flags", "0")
    info.add_row("type name", Text(report.type_name))
    info.add_row("entries", f"{report.entries:,}")
    if report.ttl is not None:
        t = report.ttl
        spread = "no entry has a TTL"
        if t.with_ttl:
            assert t.min is not None and t.median is not None and t.max is not None
            spread = (
                f"min {fmt_seconds(t.min)}, median {fmt_seconds(t.median)}, "
                f"max {fmt_seconds(t.max)} ({t.with_ttl:,} entries)"
            )
        info.add_row("remaining TTL", spread)
        info.add_row("without TTL", f"{t.without_ttl:,}")
    elif report.kind is wire.Kind.POOL_ENTRIES:
        info.add_row("remaining TTL", "not recorded (an ENTRIES_ONLY snapshot)")
    if report.kind is wire.Kind.FILE_ENTRY:
        ms = report.expires_at_ms
        if ms is None:
            info.add_row("expires", "never")
        else:
            left = ms / 1000 - time.time()
            when = f"in {fmt_seconds(left)}" if left > 0 else "already expired"
            info.add_row("expires", f"{_iso(ms)} ({when})")
    out.print(info)
    if not report.rows:
        return
    hinted = report.kind is wire.Kind.POOL_ENTRIES_WITH_HINTS
    names: dict[str, None] = {}
    for row in report.rows:
        names.update(dict.fromkeys(str(k) for k in row["fields"]))
    table = Table(
        title=f"first {len(report.rows):,} of {report.entries:,} rows", title_justify="left"
    )
    if hinted:
        table.add_column("ttl left", justify="right", no_wrap=True)
        table.add_column("lru rank", justify="right", no_wrap=True)
    for name in names:
        table.add_column(Text(name), overflow="fold")
    for row in report.rows:
        fields = {str(k): v for k, v in row["fields"].items()}
        cells = [Text(_cell(fields[n])) if n in fields else Text("-") for n in names]
        if hinted:
            left = row["remaining_ttl"]
            cells = [
                Text("-" if left is None else fmt_seconds(left)),
                Text(str(row["lru_rank"])),
                *cells,
            ]
        table.add_row(*cells)
    out.print(table)

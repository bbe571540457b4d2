"""``sassi inspect``: snapshots of both modes, the other wire kinds, JSON, and bad files."""

from __future__ import annotations

import json
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_helpers import sassi_cli

import sassi
from sassi.backends import FileBackend
from sassi.testing import FakeClock


@sassi.cacheable(type_name="cli.Item")
@dataclass(frozen=True, slots=True)
class Item:
    id: int
    name: str
    tags: list[str]
    payload: sassi.JSON | None = None
    blob: bytes = b""


def items(n: int) -> list[Item]:
    return [
        Item(i, f"item {i}", ["t"] * (i % 3), {"n": i, "deep": [i]}, bytes([i])) for i in range(n)
    ]


@pytest.fixture
def entries_only(tmp_path: Path) -> Path:
    pool = sassi.Punnu(Item)
    for item in items(12):
        pool.insert(item)
    path = tmp_path / "entries.snapshot"
    path.write_bytes(pool.snapshot())
    return path


@pytest.fixture
def with_state(tmp_path: Path) -> tuple[Path, list[float]]:
    """A WITH_INTERNAL_STATE snapshot: ids 0-9 with TTLs 10..19 s, 10-12 without; LRU order
    touched so ranks differ from ids. Returns the path and the remaining TTLs."""
    clock = FakeClock()
    pool = sassi.Punnu(Item, clock=clock)
    for item in items(13):
        pool.insert(item, ttl=10 + item.id if item.id < 10 else None)
    clock.advance(2)
    pool.get(0)  # now the most recently used
    path = tmp_path / "state.snapshot"
    path.write_bytes(pool.snapshot(sassi.SnapshotMode.WITH_INTERNAL_STATE))
    return path, [float(8 + i) for i in range(10)]


def test_entries_only_snapshot_as_json(entries_only: Path) -> None:
    out = sassi_cli("inspect", str(entries_only), "--json", "--rows", "3")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["header"] == {
        "magic": b"SASSI\x00W\x00".hex(),
        "version": 1,
        "kind": 3,
        "kind_name": "POOL_ENTRIES",
        "flags": 0,
        "type_name": "cli.Item",
        "length": 14 + len("cli.Item"),
    }
    assert doc["bytes"] == entries_only.stat().st_size
    assert doc["entries"] == 12
    assert "ttl" not in doc
    assert [row["fields"]["id"] for row in doc["rows"]] == [0, 1, 2]
    assert doc["rows"][2]["fields"] == {
        "id": 2,
        "name": "item 2",
        "tags": ["t", "t"],
        "payload": {"n": 2, "deep": [2]},
        "blob": {"$bytes": "Ag=="},
    }


def test_with_internal_state_snapshot_ttl_spread(with_state: tuple[Path, list[float]]) -> None:
    path, remaining = with_state
    out = sassi_cli("inspect", str(path), "--json", "--rows", "13")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["header"]["kind"] == 4
    assert doc["header"]["kind_name"] == "POOL_ENTRIES_WITH_HINTS"
    assert doc["envelope_version"] == 1
    assert doc["entries"] == 13
    assert doc["ttl"] == {
        "with_ttl": 10,
        "without_ttl": 3,
        "min_seconds": min(remaining),
        "median_seconds": statistics.median(remaining),
        "max_seconds": max(remaining),
    }
    rows = {row["fields"]["id"]: row for row in doc["rows"]}
    assert rows[3]["remaining_ttl"] == 11.0
    assert rows[11]["remaining_ttl"] is None
    assert rows[0]["lru_rank"] == 12  # read last: the most recently used
    assert sorted(row["lru_rank"] for row in doc["rows"]) == list(range(13))


def test_table_output_shows_header_ttl_and_rows(with_state: tuple[Path, list[float]]) -> None:
    path, _ = with_state
    out = sassi_cli("inspect", str(path), "--rows", "2", env={"COLUMNS": "200"})
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for expected in (
        "POOL_ENTRIES_WITH_HINTS",
        "cli.Item",
        "b'SASSI\\x00W\\x00'",
        "wire version",
        "entries        13",
        "min 8.00 s, median 12.50 s, max 17.00 s (10 entries)",
        "without TTL    3",
        "first 2 of 13 rows",
        "item 1",
        "ttl left",
        "lru rank",
    ):
        assert expected in text, (expected, text)
    assert "item 2" not in text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_rows_zero_shows_the_summary_only(entries_only: Path) -> None:
    doc = json.loads(sassi_cli("inspect", str(entries_only), "--json", "--rows", "0").stdout)
    assert doc["entries"] == 12 and doc["rows"] == []
    table = sassi_cli("inspect", str(entries_only), "--rows", "0")
    assert table.returncode == 0 and "rows" not in table.stdout.split("entries")[-1]


def test_a_value_and_a_file_backend_entry(tmp_path: Path) -> None:
    value = tmp_path / "value.bin"
    value.write_bytes(sassi.wire.dumps(Item(5, "five", [])))
    doc = json.loads(sassi_cli("inspect", str(value), "--json").stdout)
    assert doc["header"]["kind_name"] == "VALUE"
    assert doc["entries"] == 1 and doc["rows"][0]["fields"]["name"] == "five"

    pool = sassi.Punnu(Item, backend=FileBackend(tmp_path / "l2"))
    pool.insert(Item(6, "six", []), ttl=3600)
    (record,) = (tmp_path / "l2").rglob("*.sassi")
    doc = json.loads(sassi_cli("inspect", str(record), "--json").stdout)
    assert doc["header"]["kind_name"] == "FILE_ENTRY"
    assert doc["rows"][0]["fields"]["id"] == 6
    assert doc["expires_at"] is not None and doc["expires_at"].endswith("+00:00")


def one_line_error(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert out.stdout == ""
    return lines[0]


def test_corrupt_magic(entries_only: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.snapshot"
    bad.write_bytes(b"XASSI" + entries_only.read_bytes()[5:])
    line = one_line_error(sassi_cli("inspect", str(bad)))
    assert line.startswith(f"sassi inspect: {bad}: not a valid sassi file: InvalidMagic")


def test_truncated_body(entries_only: Path, tmp_path: Path) -> None:
    bad = tmp_path / "cut.snapshot"
    bad.write_bytes(entries_only.read_bytes()[:-7])
    line = one_line_error(sassi_cli("inspect", str(bad), "--json"))
    assert "malformed body" in line and "truncated" in line


def test_declared_count_must_match(entries_only: Path, tmp_path: Path) -> None:
    data = bytearray(entries_only.read_bytes())
    at = 14 + len("cli.Item")
    data[at : at + 4] = (13).to_bytes(4, "little")
    bad = tmp_path / "count.snapshot"
    bad.write_bytes(bytes(data))
    line = one_line_error(sassi_cli("inspect", str(bad)))
    assert "header declares 13 entries, the body holds 12" in line


def test_garbage_missing_directory_and_size_cap(entries_only: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"hello, this is not a snapshot at all")
    assert "InvalidMagic" in one_line_error(sassi_cli("inspect", str(garbage)))
    json_file = tmp_path / "old.json"
    json_file.write_text('{"v": 0}')
    assert "VersionMismatch" in one_line_error(sassi_cli("inspect", str(json_file)))
    assert "no such file" in one_line_error(sassi_cli("inspect", str(tmp_path / "nope")))
    assert "is a directory" in one_line_error(sassi_cli("inspect", str(tmp_path)))
    capped = one_line_error(sassi_cli("inspect", str(entries_only), "--max-bytes", "100"))
    assert "larger than the 100-byte limit" in capped


def test_rows_must_not_be_negative(entries_only: Path) -> None:
    out = sassi_cli("inspect", str(entries_only), "--rows", "-1")
    assert out.returncode == 2 and "--rows" in out.stderr

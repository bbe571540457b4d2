"""FileBackend: the conformance suite plus the on-disk layout and record format."""

from __future__ import annotations

import errno
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

import sassi
from sassi import wire
from sassi.backends import Backend, FileBackend, Keyspace
from sassi.exceptions import BackendError, BackendUnavailable, KindMismatch, WireFormatError
from sassi.testing import BackendConformance, FakeClock
from sassi.testing._conformance import ConformanceItem


class TestFileBackend(BackendConformance):
    has_invalidation_stream = False

    @pytest.fixture(autouse=True)
    def _root(self, tmp_path: Path) -> None:
        self.root = tmp_path

    def make_backend(self) -> FileBackend:
        self.clock = FakeClock(time.time())
        return FileBackend(self.root, clock=self.clock)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def store_raw(self, backend: FileBackend, keyspace: Keyspace, id: object, data: bytes) -> None:
        target = backend.path(keyspace, id)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


KS = Keyspace.for_model(ConformanceItem, "files")


def test_file_backend_satisfies_the_protocol(tmp_path: Path) -> None:
    assert isinstance(FileBackend(tmp_path), Backend)


def test_layout_and_record_header(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path)
    backend.put_sync(KS, 7, ConformanceItem(7, "seven"), None)
    path = tmp_path / f"ns_{b'files'.hex()}" / f"ty_{b'sassi.testing.ConformanceItem'.hex()}"
    path = path / f"id_{b'7'.hex()}.sassi"
    assert backend.path(KS, 7) == path
    data = path.read_bytes()
    assert data[:8] == b"SASSI\x00W\x00"
    assert data[8:10] == b"\x01\x00"
    assert data[10] == 2  # kind: file entry
    assert data[11] == 0  # flags
    assert wire.decode_file_entry(ConformanceItem, data) == (ConformanceItem(7, "seven"), None)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left behind
    none_ns = FileBackend(tmp_path).keyspace_dir(Keyspace(None, "t"))
    assert none_ns == tmp_path / "ns_none" / f"ty_{b't'.hex()}"


def test_expiry_is_written_as_unix_ms(tmp_path: Path) -> None:
    clock = FakeClock(1_700_000_000.0)
    backend = FileBackend(tmp_path, clock=clock)
    backend.put_sync(KS, 1, ConformanceItem(1, "a"), 2.5)
    expiry, _ = wire.read_file_entry_expiry(backend.path(KS, 1).read_bytes(), KS.type_name)
    assert expiry == 1_700_000_002_500


def test_expired_record_is_deleted_before_its_payload_is_decoded(tmp_path: Path) -> None:
    clock = FakeClock(1_700_000_000.0)
    backend = FileBackend(tmp_path, clock=clock)
    record = wire.encode_file_entry(ConformanceItem(1, "a"), 1_700_000_000_000)
    corrupt = record[: len(record) - 3] + b"\xc1\xc1\xc1"  # payload garbage, expiry intact
    path = backend.path(KS, 1)
    path.parent.mkdir(parents=True)
    path.write_bytes(corrupt)
    assert backend.get_sync(KS, 1) is None
    assert not path.exists()


def test_other_files_are_ignored(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path)
    directory = backend.keyspace_dir(KS)
    directory.mkdir(parents=True)
    (directory / f"id_{b'1'.hex()}.json").write_text('{"__sassi_v":0}')
    assert backend.get_sync(KS, 1) is None


def test_value_record_of_kind_one_is_rejected(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path)
    path = backend.path(KS, 1)
    path.parent.mkdir(parents=True)
    path.write_bytes(wire.dumps(ConformanceItem(1, "a")))
    with pytest.raises(KindMismatch):
        backend.get_sync(KS, 1)


def test_invalidate_all_removes_the_keyspace_directory(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path)
    backend.put_sync(KS, 1, ConformanceItem(1, "a"), None)
    other = Keyspace.for_model(ConformanceItem, "elsewhere")
    backend.put_sync(other, 1, ConformanceItem(1, "b"), None)
    backend.invalidate_all_sync(KS)
    assert not backend.keyspace_dir(KS).exists()
    assert backend.keyspace_dir(other).exists()
    assert not [p for p in backend.keyspace_dir(KS).parent.iterdir() if p.name.startswith(".")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_io_errors_are_backend_unavailable(tmp_path: Path) -> None:
    root = tmp_path / "ro"
    root.mkdir()
    backend = FileBackend(root)
    root.chmod(0o500)
    try:
        with pytest.raises(BackendUnavailable):
            backend.put_sync(KS, 1, ConformanceItem(1, "a"), None)
    finally:
        root.chmod(0o700)


def test_unreadable_root_is_backend_unavailable(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    backend = FileBackend(not_a_dir)
    with pytest.raises(BackendUnavailable):
        backend.put_sync(KS, 1, ConformanceItem(1, "a"), None)
    with pytest.raises(BackendUnavailable):
        backend.get_sync(KS, 1)


def test_repr(tmp_path: Path) -> None:
    assert repr(FileBackend(tmp_path)) == f"FileBackend({str(tmp_path)!r})"


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith((".tmp-", ".trash-"))]


def test_long_ids_get_hashed_file_names_and_keep_the_id_in_the_record(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path)
    ident = "é" * 10_000
    backend.put_sync(KS, ident, ConformanceItem(1, "long"), None)
    path = backend.path(KS, ident)
    assert path.name.startswith("idh_") and len(path.name.encode()) <= 255
    assert path.exists()
    data = path.read_bytes()
    raw = wire.encode_id(ident)
    assert data[:4] == len(raw).to_bytes(4, "little") and data[4 : 4 + len(raw)] == raw
    value, _ = wire.decode_file_entry(ConformanceItem, data[4 + len(raw) :])
    assert value == ConformanceItem(1, "long")
    assert backend.get_sync(KS, ident) == ConformanceItem(1, "long")
    # the longest id that keeps its readable name, and the first that does not
    readable = "x" * 110  # JSON adds two quotes: 112 bytes, 224 hex characters
    assert backend.path(KS, readable).name == f"id_{wire.encode_id(readable).hex()}.sassi"
    assert backend.path(KS, readable + "x").name.startswith("idh_")
    backend.put_sync(KS, readable, ConformanceItem(2, "edge"), None)
    assert backend.get_sync(KS, readable) == ConformanceItem(2, "edge")
    assert _leftovers(tmp_path) == []


def test_a_hashed_name_holding_another_id_reads_as_absent(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path)
    mine, other = "m" * 500, "o" * 500
    backend.put_sync(KS, other, ConformanceItem(2, "other"), None)
    backend.path(KS, other).rename(backend.path(KS, mine))  # as if the two names collided
    assert backend.get_sync(KS, mine) is None


@pytest.mark.parametrize("data", [b"", b"\x05\x00", b"\xff\xff\x00\x00abc"])
def test_a_truncated_id_prefix_is_a_wire_error(tmp_path: Path, data: bytes) -> None:
    backend = FileBackend(tmp_path)
    ident = "q" * 300
    path = backend.path(KS, ident)
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    with pytest.raises(WireFormatError):
        backend.get_sync(KS, ident)


def test_long_namespaces_and_type_names_are_hashed(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path)
    keyspace = Keyspace.for_model(ConformanceItem, "n" * 1_000)
    backend.put_sync(keyspace, 1, ConformanceItem(1, "a"), None)
    directory = backend.keyspace_dir(keyspace)
    assert directory.parent.name.startswith("nsh_")
    assert backend.get_sync(keyspace, 1) == ConformanceItem(1, "a")
    backend.invalidate_all_sync(keyspace)
    assert backend.get_sync(keyspace, 1) is None
    long_type = Keyspace(None, "t" * 1_000, ConformanceItem)
    assert backend.keyspace_dir(long_type).name.startswith("tyh_")
    assert _leftovers(tmp_path) == []


def test_permanent_io_errors_are_not_backend_unavailable(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path / ("r" * 300))  # a path component over NAME_MAX
    with pytest.raises(BackendError) as put:
        backend.put_sync(KS, 1, ConformanceItem(1, "a"), None)
    assert not isinstance(put.value, BackendUnavailable)
    assert isinstance(put.value.__cause__, OSError)
    assert put.value.__cause__.errno == errno.ENAMETOOLONG
    with pytest.raises(BackendError) as get:
        backend.get_sync(KS, 1)
    assert not isinstance(get.value, BackendUnavailable)
    with pytest.raises(BackendError) as wipe:
        backend.invalidate_all_sync(KS)
    assert not isinstance(wipe.value, BackendUnavailable)


class _CountingFileBackend(FileBackend):
    puts = 0

    def put_sync(
        self, keyspace: Keyspace, id: object, value: object, ttl: float | timedelta | None
    ) -> None:
        self.puts += 1
        super().put_sync(keyspace, id, value, ttl)


def test_the_retry_policy_does_not_retry_a_permanent_failure(tmp_path: Path) -> None:
    backend = _CountingFileBackend(tmp_path / ("r" * 300))
    pool = sassi.Punnu(
        ConformanceItem, backend=backend, backend_failure=sassi.BackendFailure.retry(4)
    )
    pool.insert(ConformanceItem(1, "a"))  # retry falls back to L1_ONLY: counted, not raised
    assert backend.puts == 1
    assert pool.get(1) == ConformanceItem(1, "a")


def test_invalidate_all_racing_puts_leaves_nothing_behind(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path)
    errors: list[BaseException] = []

    def write(offset: int) -> None:
        try:
            for i in range(400):
                backend.put_sync(KS, offset * 100 + i % 20, ConformanceItem(i, "x"), None)
        except BaseException as exc:  # reported below
            errors.append(exc)

    def wipe() -> None:
        try:
            for _ in range(150):
                backend.invalidate_all_sync(KS)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    threads += [threading.Thread(target=wipe) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _leftovers(tmp_path) == []
    backend.put_sync(KS, 1, ConformanceItem(1, "after"), None)
    assert backend.get_sync(KS, 1) == ConformanceItem(1, "after")
    assert _leftovers(tmp_path) == []


def test_invalidate_all_sweeps_trash_a_crash_left_behind(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path)
    backend.put_sync(KS, 1, ConformanceItem(1, "a"), None)
    directory = backend.keyspace_dir(KS)
    crashed = directory.with_name(f".trash-0123456789abcdef-{directory.name}")
    (crashed / "sub").mkdir(parents=True)
    (crashed / "sub" / "x.sassi").write_bytes(b"left over")
    other = directory.with_name(".trash-0123456789abcdef-ty_00")  # another keyspace's: kept
    other.mkdir()
    backend.invalidate_all_sync(KS)
    assert not crashed.exists() and not directory.exists()
    assert other.exists()

"""FileBackend: the conformance suite plus the on-disk layout and record format."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from sassi import wire
from sassi.backends import Backend, FileBackend, Keyspace
from sassi.exceptions import BackendUnavailable, KindMismatch
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

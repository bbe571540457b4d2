"""The public surface named by SPEC.md stays importable, sorted and free of heavy imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import sassi

SPEC_NAMES = [
    "cacheable",
    "fields",
    "type_name",
    "JSON",
    "Punnu",
    "PunnuConfig",
    "OnConflict",
    "BackendFailure",
    "EventReason",
    "InvalidationReason",
    "Inserted",
    "Updated",
    "Invalidated",
    "Lagged",
    "Delta",
    "DeltaStats",
    "DeltaQuery",
    "PunnuStats",
    "RefreshMode",
    "SnapshotMode",
    "RestoreStats",
    "MemQ",
    "Scope",
    "LookupOp",
    "FieldPredicate",
    "And",
    "Or",
    "Not",
    "Xor",
    "Const",
    "TRUE",
    "FALSE",
    "Predicate",
    "Field",
    "Fields",
    "Sassi",
    "trait_impl",
    "SassiError",
    "ConflictError",
    "IdentityMismatchError",
    "BackendError",
    "BackendUnavailable",
    "WireFormatError",
    "InvalidMagic",
    "VersionMismatch",
    "UnsupportedKind",
    "KindMismatch",
    "UnsupportedFlags",
    "MalformedHeader",
    "TypeNameMismatch",
    "CodecError",
    "SnapshotError",
    "DuplicateId",
    "TooManyEntries",
    "BackendWriteInFlight",
    "JsonPredicate",
    "TenantKey",
]


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_spec_name_is_exported(name: str) -> None:
    assert hasattr(sassi, name), f"sassi.{name} is missing"
    assert name in sassi.__all__, f"{name} is not in sassi.__all__"


def test_all_is_sorted_and_resolves() -> None:
    assert list(sassi.__all__) == sorted(sassi.__all__)
    assert len(set(sassi.__all__)) == len(sassi.__all__)
    for name in sassi.__all__:
        assert hasattr(sassi, name), name


def test_submodules() -> None:
    from sassi.backends import (
        Backend,
        FileBackend,
        InvalidateAll,
        InvalidateId,
        Keyspace,
        MemoryBackend,
    )
    from sassi.predicate import MAX_DEPTH, SupportsPredicate, as_predicate, dumps, loads
    from sassi.testing import FakeClock

    assert callable(sassi.wire.dumps) and callable(sassi.wire.loads)
    assert all(x is not None for x in (Backend, FileBackend, InvalidateAll, InvalidateId, Keyspace))
    assert all(x is not None for x in (MemoryBackend, dumps, loads, FakeClock))
    assert callable(as_predicate) and SupportsPredicate is not None and MAX_DEPTH == 64


def test_import_sassi_stays_light() -> None:
    code = (
        "import sys, sassi\n"
        "assert sassi.wire and sassi.backends and sassi.testing\n"
        "heavy = [m for m in ('redis', 'sqlalchemy', 'msgspec') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    src = str(Path(__file__).resolve().parent.parent / "src")
    env = {**os.environ, "PYTHONPATH": src}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)

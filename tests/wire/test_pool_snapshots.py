"""Pool snapshots: export_entries / snapshot / restore_entries / restore / insert_serialized."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wire_models import Loose, User

import sassi
from helpers import drain
from sassi import (
    EventReason,
    Inserted,
    Invalidated,
    OnConflict,
    RestoreStats,
    SnapshotMode,
    Updated,
)
from sassi.exceptions import (
    DuplicateId,
    KindMismatch,
    TooManyEntries,
    TypeNameMismatch,
    UnsupportedKind,
    VersionMismatch,
    WireFormatError,
)
from sassi.testing import FakeClock


def u(i: int, name: str = "") -> User:
    return User(i, name or f"u{i}", i)


def filled(*ids: int, **kwargs: object) -> sassi.Punnu[User]:
    pool: sassi.Punnu[User] = sassi.Punnu(User, **kwargs)  # type: ignore[arg-type]
    for i in ids:
        pool.insert(u(i))
    return pool


def test_export_is_deterministic_and_sorted_by_id() -> None:
    a = filled(42, 1, 100, 7, 3)
    b = filled(3, 7, 100, 1, 42)
    assert a.export_entries() == b.export_entries()
    assert [v.id for v in sassi.wire.decode_entries(User, a.export_entries())] == [1, 3, 7, 42, 100]
    assert a.snapshot() == a.export_entries()
    assert a.snapshot(SnapshotMode.ENTRIES_ONLY) == a.export_entries()


def test_export_skips_expired_entries() -> None:
    clock = FakeClock()
    pool = filled(1, clock=clock)
    pool.insert(u(2), ttl=5)
    clock.advance(5)
    assert [v.id for v in sassi.wire.decode_entries(User, pool.export_entries())] == [1]


def test_restore_replaces_the_whole_pool_and_counts() -> None:
    source = filled(1, 2)
    target = filled(2, 3)
    with target.events() as sub:
        stats = target.restore_entries(source.export_entries())
        assert stats == RestoreStats(inserted=1, updated=1, removed=1)
        assert drain(sub) == [
            Invalidated(3, EventReason.MANUAL),
            Inserted(u(1)),
            Inserted(u(2)),
        ]
    assert sorted(v.id for v in target.scope().collect()) == [1, 2]
    assert target.get(2) == u(2)


def test_restore_under_update_emits_updated_and_overrides_reject() -> None:
    source = filled(1)
    target = filled(on_conflict=OnConflict.UPDATE)
    target.insert(u(1, "old"))
    with target.events() as sub:
        target.restore_entries(source.export_entries())
        assert drain(sub) == [Updated(u(1, "old"), u(1))]
    strict = filled(on_conflict=OnConflict.REJECT)
    strict.insert(u(1, "old"))
    assert strict.restore_entries(source.export_entries()) == RestoreStats(0, 1, 0)
    assert strict.get(1) == u(1)


def test_restore_does_not_count_expired_residents() -> None:
    clock = FakeClock()
    target = filled(clock=clock)
    target.insert(u(9), ttl=1)
    clock.advance(2)
    with target.events() as sub:
        assert target.restore_entries(filled(1).export_entries()) == RestoreStats(1, 0, 0)
        assert drain(sub) == [Inserted(u(1))]
    assert len(target) == 1


def test_restore_accepts_empty_and_exactly_capacity() -> None:
    target = filled(1, 2, capacity=3)
    assert target.restore_entries(filled().export_entries()) == RestoreStats(0, 0, 2)
    assert len(target) == 0
    assert target.restore_entries(filled(4, 5, 6).export_entries()) == RestoreStats(3, 0, 0)


def test_restore_applies_the_receiving_default_ttl() -> None:
    clock = FakeClock()
    target = filled(ttl=10, clock=clock)
    target.restore_entries(filled(1).export_entries())
    clock.advance(9)
    assert target.get(1) == u(1)
    clock.advance(1)
    assert target.get(1) is None


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (filled(1, 2, 3).export_entries(), TooManyEntries),
        (
            sassi.wire.encode_header(sassi.wire.Kind.POOL_ENTRIES, "wire.User")
            + struct.pack("<I", 2**32 - 1),
            TooManyEntries,
        ),
        (
            sassi.wire.encode_header(sassi.wire.Kind.POOL_ENTRIES, "wire.User")
            + struct.pack("<I", 3)
            + b"\xc1" * 5,
            TooManyEntries,
        ),
        (sassi.wire.encode_header(sassi.wire.Kind.POOL_ENTRIES, "other.Type"), TypeNameMismatch),
        (filled(1).snapshot(SnapshotMode.WITH_INTERNAL_STATE), KindMismatch),
        (b'{"__sassi_v":0}', VersionMismatch),
    ],
)
def test_restore_entries_rejects_without_mutation(data: bytes, error: type[Exception]) -> None:
    target = filled(8, 9, capacity=2)
    with target.events() as sub:
        with pytest.raises(error):
            target.restore_entries(data)
        assert drain(sub) == []
    assert sorted(v.id for v in target.scope().collect()) == [8, 9]


def test_restore_rejects_duplicate_ids_without_mutation() -> None:
    import msgspec

    row = {"id": 1, "name": "a", "age": 1, "email": None, "payload": None}
    data = (
        sassi.wire.encode_header(sassi.wire.Kind.POOL_ENTRIES, "wire.User")
        + struct.pack("<I", 2)
        + msgspec.msgpack.encode([row, row])
    )
    target = filled(5)
    with pytest.raises(DuplicateId):
        target.restore_entries(data)
    with pytest.raises(DuplicateId):
        target.restore(data)
    assert target.get(5) == u(5)


@pytest.mark.parametrize("ident", [[1, 2], {"a": 1}])
def test_unhashable_ids_are_wire_errors_and_change_nothing(ident: object) -> None:
    import msgspec

    row = {"id": ident, "name": "x"}
    name = sassi.type_name(Loose)
    entries = (
        sassi.wire.encode_header(sassi.wire.Kind.POOL_ENTRIES, name)
        + struct.pack("<I", 1)
        + msgspec.msgpack.encode([row])
    )
    hinted = (
        sassi.wire.encode_header(sassi.wire.Kind.POOL_ENTRIES_WITH_HINTS, name)
        + struct.pack("<HI", 1, 1)
        + msgspec.msgpack.encode([[row, 0, 0, 0]])
    )
    value = sassi.wire.encode_header(sassi.wire.Kind.VALUE, name) + msgspec.msgpack.encode(row)
    pool: sassi.Punnu[Loose] = sassi.Punnu(Loose)
    pool.insert(Loose("kept", "k"))
    with pool.events() as sub:
        with pytest.raises(WireFormatError):
            pool.restore_entries(entries)
        with pytest.raises(WireFormatError):
            pool.restore(entries)
        with pytest.raises(WireFormatError):
            pool.restore(hinted)
        with pytest.raises(WireFormatError):
            pool.insert_serialized(value)
        assert drain(sub) == []
    assert [v.id for v in pool.scope().collect()] == ["kept"]


def test_with_internal_state_keeps_remaining_ttl_and_no_ttl() -> None:
    clock = FakeClock()
    source = filled(clock=clock)
    source.insert(u(1), ttl=10)
    source.insert(u(2))
    clock.advance(4)
    data = source.snapshot(SnapshotMode.WITH_INTERNAL_STATE)
    other_clock = FakeClock(50_000.0)
    target = filled(ttl=1_000, clock=other_clock)
    assert target.restore(data) == RestoreStats(2, 0, 0)
    other_clock.advance(5.9)
    assert target.get(1) == u(1)
    other_clock.advance(0.2)
    assert target.get(1) is None
    other_clock.advance(1_000_000)
    assert target.get(2) == u(2)  # no ttl stays no ttl; the pool default is ignored


def test_with_internal_state_keeps_lru_order() -> None:
    source = filled(1, 2, 3, capacity=3)
    source.get(1)  # recency, oldest first: 2, 3, 1
    target = filled(capacity=3)
    target.restore(source.snapshot(SnapshotMode.WITH_INTERNAL_STATE))
    target.insert(u(4))  # exact LRU at this size: evicts 2
    assert sorted(v.id for v in target.scope().collect()) == [1, 3, 4]
    target.insert(u(5))
    assert sorted(v.id for v in target.scope().collect()) == [1, 4, 5]


def test_restore_dispatches_on_kind() -> None:
    source = filled(1, 2)
    target = filled()
    assert target.restore(source.export_entries()) == RestoreStats(2, 0, 0)
    assert target.restore(source.snapshot(SnapshotMode.WITH_INTERNAL_STATE)) == RestoreStats(
        0, 2, 0
    )
    with pytest.raises(KindMismatch) as exc:
        target.restore(sassi.wire.dumps(u(1)))
    assert exc.value.expected == 3
    with pytest.raises(UnsupportedKind):
        target.restore(sassi.wire.encode_header(5, "wire.User") + b"\x00" * 6)  # type: ignore[arg-type]
    with pytest.raises(TooManyEntries):
        filled(capacity=1).restore(source.snapshot(SnapshotMode.WITH_INTERNAL_STATE))
    bad_version = bytearray(source.snapshot(SnapshotMode.WITH_INTERNAL_STATE))
    bad_version[23] = 9
    with pytest.raises(WireFormatError):
        target.restore(bytes(bad_version))
    assert len(target) == 2


def test_json_fields_survive_a_snapshot() -> None:
    pool = filled()
    pool.insert(User(1, "j", 1, None, {"a": [1, {"b": None}], "c": 2.5}))
    target = filled()
    target.restore_entries(pool.export_entries())
    assert target.get(1) == User(1, "j", 1, None, {"a": [1, {"b": None}], "c": 2.5})


def test_insert_serialized() -> None:
    pool = filled()
    assert pool.insert_serialized(sassi.wire.dumps(u(1))) == u(1)
    assert pool.get(1) == u(1)
    future = bytearray(sassi.wire.dumps(u(2)))
    future[8] = 2
    with pytest.raises(VersionMismatch):
        pool.insert_serialized(bytes(future))
    with pytest.raises(KindMismatch):
        pool.insert_serialized(pool.export_entries())
    assert 2 not in pool and len(pool) == 1


def test_snapshot_mode_must_be_a_snapshot_mode() -> None:
    with pytest.raises(TypeError):
        filled().snapshot("entries_only")  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.sampled_from([None, 1.0, 5.0, 50.0])), max_size=30),
    st.lists(st.integers(0, 40), max_size=10),
    st.floats(0, 20),
    st.sampled_from(list(SnapshotMode)),
)
def test_snapshots_round_trip_the_live_entries(
    writes: list[tuple[int, float | None]], reads: list[int], elapsed: float, mode: SnapshotMode
) -> None:
    clock = FakeClock()
    source = filled(capacity=16, clock=clock)
    for ident, ttl in writes:
        source.insert(u(ident), ttl=ttl)
    for ident in reads:
        source.get(ident)
    clock.advance(elapsed)
    data = source.snapshot(mode)
    target = filled(capacity=16, clock=FakeClock(5.0))
    target.insert(u(99))
    stats = target.restore(data)
    live = sorted(v.id for v in source.scope().collect())
    assert sorted(v.id for v in target.scope().collect()) == live
    assert stats == RestoreStats(inserted=len(live), updated=0, removed=1)
    assert target.export_entries() == source.export_entries()

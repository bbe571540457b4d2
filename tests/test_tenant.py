"""``sassi.TenantKey`` (SPEC 11.12): an opaque, hashable, immutable tenant label."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

import sassi
from sassi import TenantKey


def test_it_wraps_a_str() -> None:
    key = TenantKey("acme")
    assert key.as_str() == "acme"
    assert str(key) == "acme"
    assert repr(key) == "TenantKey('acme')"
    assert TenantKey("").as_str() == ""
    assert TenantKey("ünï-cødé/42").as_str() == "ünï-cødé/42"


def test_none_is_the_absent_tenant() -> None:
    assert TenantKey.none() is None


def test_equality_and_hash_follow_the_value() -> None:
    assert TenantKey("a") == TenantKey("a")
    assert TenantKey("a") != TenantKey("b")
    assert hash(TenantKey("a")) == hash(TenantKey("a"))
    assert len({TenantKey("a"), TenantKey("a"), TenantKey("b")}) == 2
    assert {TenantKey("a"): 1}[TenantKey("a")] == 1


def test_it_is_opaque_not_a_str() -> None:
    key = TenantKey("a")
    assert not isinstance(key, str)
    assert key != "a"
    assert "a" != key  # noqa: SIM300  (the reflected comparison is the point)
    with pytest.raises(TypeError):
        key + "b"  # type: ignore[operator]


def test_a_str_subclass_is_stored_as_a_plain_str() -> None:
    class Name(str):
        pass

    key = TenantKey(Name("x"))
    assert type(key.as_str()) is str
    assert key == TenantKey("x")


@pytest.mark.parametrize("bad", [None, 1, b"acme", ["a"], TenantKey("a")])
def test_a_non_str_is_refused(bad: Any) -> None:
    with pytest.raises(TypeError, match="TenantKey"):
        TenantKey(bad)


def test_it_is_immutable() -> None:
    key = TenantKey("a")
    with pytest.raises(AttributeError):
        key.value = "b"
    with pytest.raises(AttributeError):
        key._value = "b"
    with pytest.raises(AttributeError):
        del key._value
    assert key.as_str() == "a"


def test_it_copies_and_pickles() -> None:
    key = TenantKey("a")
    assert copy.copy(key) == key and copy.deepcopy(key) == key
    assert pickle.loads(pickle.dumps(key)) == key


def test_it_is_exported() -> None:
    assert "TenantKey" in sassi.__all__
    assert sassi.TenantKey is TenantKey

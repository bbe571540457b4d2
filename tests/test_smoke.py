from __future__ import annotations

import sassi


def test_import_surface_is_sorted() -> None:
    assert list(sassi.__all__) == sorted(sassi.__all__)
    for name in sassi.__all__:
        assert hasattr(sassi, name), name

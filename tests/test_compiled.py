"""The compiled core (mypyc) and the pure-Python switch: which build runs, and that both agree.

``python3 dev.py test`` runs the whole suite against a wheel built with the mypyc hook and the
core suites again with ``SASSI_PURE_PYTHON=1``; ``SASSI_EXPECT_BUILD`` tells these tests which
of the two they are looking at (unset: a plain run from ``src/``, always pure).
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import sassi
from sassi import _pure

ROOT = Path(__file__).resolve().parent.parent


def compiled_modules() -> list[str]:
    """The module names ``pyproject.toml`` asks mypyc to compile."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    paths = data["tool"]["hatch"]["build"]["targets"]["wheel"]["hooks"]["mypyc"]["include"]
    assert paths, "the mypyc hook compiles nothing"
    return [p.removeprefix("src/").removesuffix(".py").replace("/", ".") for p in paths]


def test_the_hook_lists_existing_core_modules() -> None:
    names = compiled_modules()
    assert "sassi._store" in names and "sassi._core._commit" in names
    for name in names:
        assert (ROOT / "src" / (name.replace(".", "/") + ".py")).is_file(), name


def test_sassi_compiled_says_which_build_runs() -> None:
    modules = [importlib.import_module(name) for name in compiled_modules()]
    flags = {m.__name__: _pure.is_compiled(m) for m in modules}
    assert isinstance(sassi.compiled, bool)
    expected = os.environ.get("SASSI_EXPECT_BUILD")
    if expected == "compiled":
        assert sassi.compiled is True
        assert all(flags.values()), flags  # every listed module, not only the probe
    else:  # pure: a checkout, or SASSI_PURE_PYTHON=1 over the compiled install
        assert sassi.compiled is False
        assert not any(flags.values()), flags
        for module in modules:
            assert module.__file__ is not None and module.__file__.endswith(".py")


def _probe(env: dict[str, str]) -> list[str]:
    code = (
        "import sys, sassi\n"
        "from sassi import _pure\n"
        "native = sorted(n for n, m in sys.modules.items()\n"
        "                if n.startswith('sassi') and _pure.is_compiled(m))\n"
        "print(sassi.compiled, *native)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def test_sassi_pure_python_loads_every_module_from_source() -> None:
    env = {**os.environ, "SASSI_PURE_PYTHON": "1"}
    assert _probe(env) == ["False"]


def test_without_the_switch_the_build_decides() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SASSI_PURE_PYTHON"}
    result = _probe(env)
    if os.environ.get("SASSI_EXPECT_BUILD") in ("compiled", "pure"):
        assert result[0] == "True"
        assert sorted(result[1:]) == sorted(compiled_modules())
    else:
        assert result == ["False"]


@pytest.mark.parametrize("value", ["0", "", "false", "no"])
def test_falsy_switch_values_do_not_ask_for_pure(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SASSI_PURE_PYTHON", value)
    assert not _pure.requested()
    monkeypatch.setenv("SASSI_PURE_PYTHON", "1")
    assert _pure.requested()

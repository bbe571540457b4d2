"""``python3 dev.py``: help, unknown commands, and what a skipped server test tells you."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ("test", "demo", "bench", "services")


def dev(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "dev.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_lists_every_command_and_exits_0() -> None:
    for flag in ("--help", "-h", "help"):
        out = dev(flag)
        assert out.returncode == 0, out.stderr
        assert "Usage: python3 dev.py COMMAND" in out.stdout
        for command in COMMANDS:
            assert f"python3 dev.py {command}" in out.stdout
        assert out.stderr == ""


def test_unknown_command_is_one_clear_line_and_exit_2() -> None:
    out = dev("frobnicate", "--x")
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.strip() == (
        "dev.py: unknown command 'frobnicate'; commands: test, demo, bench, services "
        "(python3 dev.py --help explains them)"
    )


def test_no_command_prints_the_usage_and_exits_2() -> None:
    out = dev()
    assert out.returncode == 2
    assert "Usage: python3 dev.py COMMAND" in out.stderr


def test_a_skipped_server_test_says_what_to_install(tmp_path: Path) -> None:
    """Without a server URL the fixtures skip, naming the packages, not the command just run."""
    probe = tmp_path / "test_needs_servers.py"
    probe.write_text("def test_redis(redis_url):\n    pass\n\ndef test_pg(pg_url):\n    pass\n")
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SASSI_REDIS_URL", "SASSI_PG_URL", "CI", "PYTEST_ADDOPTS")
    }
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-rs", "-p", "no:cacheprovider", str(probe)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 skipped" in out.stdout
    for what, var in (("redis-server", "SASSI_REDIS_URL"), ("PostgreSQL", "SASSI_PG_URL")):
        assert f"{what} is not available ({var} is unset)" in out.stdout
    assert out.stdout.count("apt-get install redis-server postgresql") == 2
    assert "Run the suite with" not in out.stdout


def _dev_module() -> object:
    import importlib.util

    spec = importlib.util.spec_from_file_location("sassi_dev_script", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_help_explains_the_compiled_runs() -> None:
    out = dev("--help")
    assert "compiled core" in out.stdout and "SASSI_PURE_PYTHON=1" in out.stdout
    assert "--compiled" in out.stdout


def test_compiled_env_puts_the_build_first_and_says_what_to_expect(tmp_path: Path) -> None:
    module: Any = _dev_module()
    base = {"PYTHONPATH": "/elsewhere", "SASSI_PURE_PYTHON": "1", "KEEP": "x"}
    env = module.compiled_env(tmp_path, base)
    assert env["PYTHONPATH"].split(os.pathsep) == [str(tmp_path), "/elsewhere"]
    assert env["SASSI_EXPECT_BUILD"] == "compiled" and "SASSI_PURE_PYTHON" not in env
    assert env["KEEP"] == "x"
    pure = module.compiled_env(tmp_path, {}, pure=True)
    assert pure["PYTHONPATH"] == str(tmp_path)
    assert (pure["SASSI_EXPECT_BUILD"], pure["SASSI_PURE_PYTHON"]) == ("pure", "1")


def test_the_build_is_keyed_by_the_sources() -> None:
    module: Any = _dev_module()
    first = module._source_hash()
    assert first == module._source_hash() and len(first) == 16
    assert all(suite.startswith("tests/") for suite in module.CORE_SUITES)
    for suite in module.CORE_SUITES:
        assert (ROOT / suite).exists(), suite

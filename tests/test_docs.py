"""Every code block in README.md and docs/*.md runs.

Python blocks of one file run in order in one namespace (later blocks may use earlier names).
A block whose info string is ``python skip`` is shown but not run here: the one that needs a
PostgreSQL server (``docs/sql.md``) runs in ``tests/sql/test_notify.py``. The
README's quick start is checked against what CI actually runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```", re.S | re.M)


def blocks(path: Path) -> list[tuple[str, str]]:
    return [(m.group(1).strip(), m.group(2)) for m in FENCE.finditer(path.read_text())]


DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_python_blocks_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = [body for info, body in blocks(path) if info == "python"]
    if not code:
        pytest.skip(f"{path.name} has no python blocks")
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType(f"docs_{path.stem.replace('-', '_')}")
    monkeypatch.setitem(sys.modules, module.__name__, module)  # dataclasses look classes up here
    namespace = module.__dict__
    for i, body in enumerate(code):
        try:
            exec(compile(body, f"{path.name}[block {i}]", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the failure message is the point
            raise AssertionError(f"{path.name} python block {i} failed:\n{body}") from exc


def test_readme_quick_start_is_two_commands_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    shell = [body for info, body in blocks_from_text(section) if info in ("sh", "bash", "console")]
    commands = [line.strip() for line in shell[0].splitlines() if line.strip()]
    assert commands == ["python3 dev.py demo", "python3 dev.py test"]
    assert "python3 dev.py test" in (ROOT / ".ci" / "run").read_text()


def blocks_from_text(text: str) -> list[tuple[str, str]]:
    return [(m.group(1).strip(), m.group(2)) for m in FENCE.finditer(text)]


def test_demo_command_runs() -> None:
    """`python3 dev.py demo` runs `python -m sassi demo`; run it (small and quick) here."""
    out = subprocess.run(
        [sys.executable, "-m", "sassi", "demo", "--rows", "3000", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "all checks passed" in out.stdout


def test_demo_with_redis_keeps_two_pools_coherent(redis_url: str) -> None:
    """`sassi demo --redis URL` adds two pools sharing a real Redis L2."""
    out = subprocess.run(
        [sys.executable, "-m", "sassi", "demo", "--rows", "2000", "--redis", redis_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "cross-pool invalidation (Redis)" in out.stdout
    assert "all checks passed" in out.stdout

"""The worked two-process example of docs/backends.md runs against a real Redis."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.redis

DOC = Path(__file__).resolve().parents[2] / "docs" / "backends.md"


def test_the_fleet_example_queries_the_database_once(redis_url: str, tmp_path: Path) -> None:
    blocks = re.findall(r"^```python skip\n(.*?)^```", DOC.read_text(), re.S | re.M)
    (script,) = [b for b in blocks if b.startswith('"""fleet.py')]
    path = tmp_path / "fleet.py"
    path.write_text(script)
    out = subprocess.run(
        [sys.executable, str(path), redis_url], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert sum("SELECT" in line for line in lines) == 1
    assert sorted(line.split(": ")[1] for line in lines if "got" in line) == ["got desk lamp"] * 2

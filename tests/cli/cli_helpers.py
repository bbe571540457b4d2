"""Run the ``sassi`` command as a subprocess (importable as ``cli_helpers``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["ROOT", "sassi_cli"]

ROOT = Path(__file__).resolve().parents[2]


def sassi_cli(
    *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m sassi ARGS`` with ``src/`` first on the path; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "sassi", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})},
    )

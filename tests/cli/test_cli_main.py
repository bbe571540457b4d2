"""``sassi --version``, ``sassi demo`` and what the CLI says when something is missing."""

from __future__ import annotations

import importlib.metadata
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_helpers import ROOT, sassi_cli

import sassi
from sassi._console import fmt_seconds


@dataclass(frozen=True)
class Tiny:
    id: int


def test_version_comes_from_the_package_metadata() -> None:
    out = sassi_cli("--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"sassi {importlib.metadata.version('sassi')}"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.0, "0 ns"),
        (4.2e-7, "420 ns"),
        (9e-9, "9 ns"),
        (1.5e-6, "1.50 µs"),
        (0.0123, "12.30 ms"),
        (2.5, "2.50 s"),
        (-3e-7, "-300 ns"),
    ],
)
def test_times_keep_their_digits(seconds: float, shown: str) -> None:
    assert fmt_seconds(seconds) == shown


def test_demo_fails_fast_and_clearly_when_redis_refuses() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    started = time.monotonic()
    out = sassi_cli("demo", "--rows", "100", "--redis", url, timeout=30)
    took = time.monotonic() - started
    assert out.returncode == 2, out.stdout + out.stderr
    line = out.stderr.strip()
    assert "\n" not in line
    assert line.startswith(f"sassi demo: --redis {url}: cannot reach Redis: ")
    assert "Connection refused" in line or "Error 111" in line
    assert "generating" not in out.stdout  # it failed before doing any work
    assert took < 30


def test_demo_fails_within_the_probe_time_when_redis_hangs() -> None:
    """A server that accepts connections and never answers (the demo used to hang on it)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        url = f"redis://127.0.0.1:{server.getsockname()[1]}/0"
        out = sassi_cli("demo", "--rows", "100", "--redis", url, timeout=30)
    assert out.returncode == 2, out.stdout + out.stderr
    line = out.stderr.strip()
    assert line.startswith(f"sassi demo: --redis {url}: ")
    assert "no answer from Redis within 5 s" in line or "Timeout" in line, line


def test_demo_refuses_a_url_that_is_not_redis() -> None:
    out = sassi_cli("demo", "--redis", "http://127.0.0.1:1", timeout=30)
    assert out.returncode == 2
    assert "cannot reach Redis" in out.stderr and "redis://" in out.stderr


@pytest.mark.parametrize("rows", ["0", "10", "-5", "many"])
def test_demo_rows_below_the_minimum_are_refused(rows: str) -> None:
    out = sassi_cli("demo", "--rows", rows, timeout=30)
    assert out.returncode == 2
    assert "argument --rows" in out.stderr
    assert "Traceback" not in out.stderr


def test_demo_output_fits_100_columns_and_labels_its_pools() -> None:
    out = sassi_cli("demo", "--rows", "300", env={"COLUMNS": "250"}, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100, max(lines, key=len)
    text = out.stdout
    for expected in (
        "generating users",  # the progress bars
        "writing to SQLite",
        "requests answered",
        "stats of the `users` pool",
        "stats of the `hot` pool",
        "events of the delta: Invalidated 15, Updated 135",
        "all checks passed",
    ):
        assert expected in text, expected
    assert not re.search(r"(?<![\d.,])0 µs", text)  # sub-microsecond times are shown in ns


def without_module(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a process where ``import module`` fails, as if it were not installed."""
    code = (
        f"import sys\nsys.modules[{module!r}] = None\n"
        "from sassi.__main__ import main\n"
        f"sys.exit(main({list(args)!r}))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )


def test_without_rich_the_cli_names_the_extra(tmp_path: Path) -> None:
    out = without_module("rich", "demo", "--rows", "100")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "sassi demo: sassi demo needs the rich package, which is not installed: "
        "pip install 'sassi[cli]'"
    )
    snapshot = tmp_path / "s.bin"
    snapshot.write_bytes(sassi.Punnu(Tiny).export_entries())
    table = without_module("rich", "inspect", str(snapshot))
    assert table.returncode == 2 and "pip install 'sassi[cli]'" in table.stderr
    plain = without_module("rich", "inspect", str(snapshot), "--json")  # needs no rich
    assert plain.returncode == 0, plain.stderr
    assert '"entries": 0' in plain.stdout


def test_without_sqlalchemy_the_demo_names_the_extra() -> None:
    out = without_module("sqlalchemy", "demo")
    assert out.returncode == 2
    assert "pip install 'sassi[sql]'" in out.stderr

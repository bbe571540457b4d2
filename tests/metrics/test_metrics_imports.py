"""``sassi.metrics`` imports its libraries only when an exporter is built, and says what to
install when one is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
        timeout=60,
    )


def test_import_sassi_and_sassi_metrics_load_neither_library() -> None:
    out = run(
        "import sys, sassi, sassi.metrics\n"
        "from sassi.metrics import OpenTelemetryMetrics, PrometheusMetrics\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('prometheus_client', 'opentelemetry', 'rich')]\n"
        "assert not heavy, heavy\n"
    )
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize(
    ("blocked", "exporter", "extra"),
    [
        ("prometheus_client", "PrometheusMetrics", "prometheus"),
        ("opentelemetry", "OpenTelemetryMetrics", "otel"),
    ],
)
def test_building_an_exporter_without_its_library_names_the_extra(
    blocked: str, exporter: str, extra: str
) -> None:
    out = run(
        f"import sys\nsys.modules[{blocked!r}] = None  # as if not installed\n"
        f"from sassi.metrics import {exporter}\n"
        f"try:\n    {exporter}()\n"
        "except ImportError as exc:\n    print(exc)\n"
        "else:\n    raise SystemExit('no ImportError')\n"
    )
    assert out.returncode == 0, out.stderr
    assert f"pip install 'sassi[{extra}]'" in out.stdout
    assert exporter in out.stdout

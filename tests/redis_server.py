"""A private redis-server a test may kill, pause (SIGSTOP) and restart."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
try:
    import dev  # how the test command starts servers: the same flags, the same readiness wait
finally:
    sys.path.remove(str(ROOT))


class OwnRedis:
    """A private redis-server this test may kill and restart."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = dev.free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = dev.spawn_redis(self.binary, self.port, self.workdir)
        if not dev.wait_port(self.port, 20):  # a process's port has no readiness event
            raise RuntimeError("redis-server did not start")

    def pause(self) -> None:
        """SIGSTOP: the server hangs (connections stay open, nothing answers)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)  # a paused server must still die
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


def own_redis_fixture(tmp_path: Path) -> Iterator[OwnRedis]:
    binary = os.environ.get("SASSI_REDIS_SERVER") or shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server binary not found (set SASSI_REDIS_SERVER)")
        pytest.skip("redis-server binary not found (set SASSI_REDIS_SERVER)")
    server = OwnRedis(binary, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()

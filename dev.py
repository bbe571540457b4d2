#!/usr/bin/env python3
"""One entry point for working on sassi; needs only Python 3.11+.

    python3 dev.py demo      # build .venv if needed, run the demo (in-memory pool over SQLite)
    python3 dev.py test      # build .venv if needed, start redis-server and PostgreSQL on
                             # loopback, run ruff, mypy, import-linter (the layers) and the
                             # whole pytest suite, stop them
    python3 dev.py bench     # run the side-by-side benchmarks, write docs/benchmarks.md
    python3 dev.py services  # start the servers and print their URLs until Ctrl-C

Extra arguments after ``test`` go to pytest (``python3 dev.py test tests/predicate -x``).
The servers are optional locally (their tests skip with a message); under ``CI=true`` they are
required and their tests fail when a server is missing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
EXTRAS = "dev,redis,sql,bench"


def log(msg: str) -> None:
    print(f"[dev] {msg}", flush=True)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv() -> Path:
    """Create ``.venv`` and install sassi with its extras; reinstall when pyproject changes."""
    stamp = VENV / ".sassi-stamp"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    py = venv_python()
    if py.exists() and stamp.exists() and stamp.read_text() == want:
        return py
    if not py.exists():
        log(f"creating {VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    log(f"installing sassi[{EXTRAS}] into {VENV}")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "-e", f"{ROOT}[{EXTRAS}]"], check=True)
    stamp.write_text(want)
    return py


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return True
        time.sleep(0.1)
    return False


def find_redis() -> str | None:
    return shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/local/bin/redis-server") if Path(p).exists()),
        None,
    )


def find_pg_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    candidates: list[Path] = []
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            return c
    return None


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[dict[str, str]]:
    binary = find_redis()
    if binary is None:
        log("redis-server not found: Redis tests will skip (they fail under CI=true)")
        yield {}
        return
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        if not wait_port(port):
            log("redis-server did not start")
            yield {}
            return
        log(f"redis-server on 127.0.0.1:{port}")
        yield {"SASSI_REDIS_URL": f"redis://127.0.0.1:{port}/0", "SASSI_REDIS_SERVER": binary}
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        if proc.poll() is None:
            proc.kill()


def _as_pg_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run as the ``postgres`` user (or ``nobody``)."""
    if os.name != "posix" or os.geteuid() != 0:
        return cmd
    for user in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            import pwd

            pwd.getpwnam(user)
            runuser = shutil.which("runuser") or shutil.which("su")
            if runuser and runuser.endswith("runuser"):
                return [runuser, "-u", user, "--", *cmd]
            return ["su", user, "-s", "/bin/sh", "-c", " ".join(cmd)]
    return cmd


@contextlib.contextmanager
def postgres_server(workdir: Path) -> Iterator[dict[str, str]]:
    bindir = find_pg_bindir()
    if bindir is None:
        log(
            "PostgreSQL (initdb/pg_ctl) not found: PostgreSQL tests will skip (they fail under CI=true)"
        )
        yield {}
        return
    data = workdir / "pgdata"
    sock = workdir / "pgsock"
    data.mkdir()
    sock.mkdir()
    if os.name == "posix" and os.geteuid() == 0:
        import pwd

        user = "postgres"
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            pw = pwd.getpwnam("nobody")
        os.chmod(workdir, 0o755)
        for d in (data, sock):
            os.chown(d, pw.pw_uid, pw.pw_gid)
    port = free_port()
    logfile = sock / "postgres.log"
    init = subprocess.run(
        _as_pg_user(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "sassi",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        ),
        capture_output=True,
        text=True,
    )
    if init.returncode != 0:
        log(f"initdb failed: {init.stderr.strip()[-500:]}")
        yield {}
        return
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    start = subprocess.run(
        _as_pg_user(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(logfile),
                "-o",
                opts,
                "-w",
                "-t",
                "60",
                "start",
            ]
        ),
        capture_output=True,
        text=True,
    )
    try:
        if start.returncode != 0 or not wait_port(port):
            log(f"PostgreSQL did not start: {start.stderr.strip()[-500:]}")
            yield {}
            return
        log(f"PostgreSQL on 127.0.0.1:{port}")
        yield {"SASSI_PG_URL": f"postgresql://sassi@127.0.0.1:{port}/postgres"}
    finally:
        subprocess.run(
            _as_pg_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )


@contextlib.contextmanager
def services() -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory(prefix="sassi-services-") as tmp:
        base = Path(tmp)
        os.chmod(base, 0o755)  # the PostgreSQL user must be able to reach its data directory
        (base / "redis").mkdir()
        (base / "pg").mkdir()
        with redis_server(base / "redis") as r, postgres_server(base / "pg") as p:
            yield {**r, **p}


def run(cmd: list[str], env: dict[str, str] | None = None) -> int:
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


def cmd_test(args: list[str]) -> int:
    signal.signal(signal.SIGTERM, _raise_interrupt)  # stop the servers when CI kills us
    py = str(ensure_venv())
    full = not args
    if full:
        if run([py, "-m", "ruff", "check", "src", "tests", "benchmarks", "dev.py"]) != 0:
            return 1
        if run([py, "-m", "mypy"]) != 0:
            return 1
        if run([str(Path(py).parent / "lint-imports"), "--no-cache"]) != 0:  # the floors
            return 1
    with services() as urls:
        env = {**os.environ, **urls}
        return run([py, "-m", "pytest", *args], env=env)


def cmd_demo(args: list[str]) -> int:
    py = str(ensure_venv())
    return run([py, "-m", "sassi", "demo", *args])


def cmd_bench(args: list[str]) -> int:
    py = str(ensure_venv())
    return run([py, "-m", "benchmarks", *args])


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def cmd_services(_: list[str]) -> int:
    signal.signal(signal.SIGTERM, _raise_interrupt)
    with services() as urls:
        for k, v in urls.items():
            print(f"export {k}={v}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


def main() -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py itself must explain, not crash
        sys.exit("sassi needs Python 3.11 or newer")
    commands = {"test": cmd_test, "demo": cmd_demo, "bench": cmd_bench, "services": cmd_services}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())

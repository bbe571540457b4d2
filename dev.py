#!/usr/bin/env python3
"""One entry point for working on sassi; needs only Python 3.11+.

Usage: python3 dev.py COMMAND [ARGS...]   (python3 dev.py --help prints this)

    python3 dev.py demo      # build .venv if needed, run the demo (in-memory pool over SQLite)
    python3 dev.py test      # build .venv if needed, start redis-server and PostgreSQL on
                             # loopback, run ruff, mypy, import-linter (the layers), build the
                             # compiled core (mypyc wheel, cached by source hash), run the whole
                             # pytest suite against it and the core suites as pure Python
                             # (SASSI_PURE_PYTHON=1), stop the servers
    python3 dev.py bench     # run the side-by-side benchmarks on the pure-Python and the
                             # compiled build, write docs/benchmarks.md with both
    python3 dev.py services  # start the servers and print their URLs until Ctrl-C

Extra arguments after ``test`` go to pytest (``python3 dev.py test tests/predicate -x``), which
then runs them once, as pure Python from ``src/`` (``--compiled`` first: against the compiled
build instead, ``python3 dev.py test --compiled tests/index``), after
``demo`` to ``sassi demo`` (``--rows 5000``), after ``bench`` to the benchmark runner
(``--quick --plot``). The first run creates ``.venv`` and installs sassi with its extras
(about a minute; each package is shown as pip collects it).
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
EXTRAS = "dev,redis,sql,bench,cli,prometheus,otel,plot"
COMPILED = VENV / "compiled"  # one mypyc build per source hash: COMPILED/<hash>/site
# The suites that exercise the compiled modules most; `dev.py test` also runs them as pure
# Python (the whole suite runs against the compiled build).
CORE_SUITES = [
    "tests/punnu",
    "tests/index",
    "tests/scope",
    "tests/fetch",
    "tests/flight",
    "tests/refresh",
    "tests/wire",
    "tests/test_compiled.py",
    "tests/test_public_api.py",
]


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
        log(f"step 1/3: creating {VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    else:
        log("step 1/3: pyproject.toml changed since .venv was built: updating it")
    pip(py, "step 2/3: upgrading pip", "--upgrade", "pip")
    pip(
        py,
        f"step 3/3: installing sassi[{EXTRAS}] and its dependencies (about a minute the first time)",
        "-e",
        f"{ROOT}[{EXTRAS}]",
    )
    stamp.write_text(want)
    log(f"{VENV} is ready")
    return py


def _source_hash() -> str:
    """A hash of everything the wheel is built from (pyproject.toml and src/)."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    for path in sorted((ROOT / "src").rglob("*")):
        if path.is_file() and path.suffix not in (".pyc", ".so", ".pyd"):
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_compiled(py: Path) -> Path:
    """Build the mypyc wheel and unpack it into ``.venv/compiled/<hash>/site`` (cached).

    The build runs on a copy of the sources (mypyc compiles in place), with the hook that
    ``pyproject.toml`` declares switched on and without build isolation (the dev extra holds
    hatchling, hatch-mypyc and mypy). Returns the directory to put first on ``PYTHONPATH``.
    """
    key = _source_hash()
    site = COMPILED / key / "site"
    if (site / "sassi").is_dir():
        return site
    shutil.rmtree(COMPILED, ignore_errors=True)  # older builds
    log("building the compiled core (mypyc; about a minute)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sassi-mypyc-") as tmp:
        tree = Path(tmp) / "tree"
        shutil.copytree(
            ROOT / "src",
            tree / "src",
            ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"),
        )
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            if (ROOT / name).exists():
                shutil.copy2(ROOT / name, tree / name)
        dist = Path(tmp) / "dist"
        env = {**os.environ, "HATCH_BUILD_HOOK_ENABLE_MYPYC": "1"}
        cmd = [
            str(py),
            "-m",
            "pip",
            "wheel",
            "--no-build-isolation",
            "--no-deps",
            "-w",
            str(dist),
            str(tree),
        ]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if out.returncode != 0:
            sys.stdout.write(out.stdout[-6000:] + out.stderr[-6000:])
            log("the mypyc build failed")
            raise SystemExit(out.returncode)
        (wheel,) = dist.glob("sassi-*.whl")
        staging = COMPILED / key / "staging"
        pip(
            py,
            f"installing {wheel.name}",
            "--no-deps",
            "--no-index",
            "--target",
            str(staging),
            str(wheel),
        )
        staging.rename(site)
    log(f"compiled core ready in {time.monotonic() - started:.0f} s: {site}")
    return site


# pip output lines worth showing while it works; everything is printed if it fails
_PIP_PROGRESS = (
    "Collecting ",
    "Processing ",
    "Building ",
    "Installing collected packages",
    "Successfully ",
)


def pip(py: Path, what: str, *args: str) -> None:
    """Run ``pip install ARGS`` in the venv, showing one line per package as it goes."""
    log(what)
    cmd = [str(py), "-m", "pip", "install", "--progress-bar", "off", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line)
        text = line.strip()
        if text.startswith(_PIP_PROGRESS):
            print(f"[dev]   {text}", flush=True)
    if proc.wait() != 0:
        sys.stdout.write("".join(lines[-80:]))
        log(f"pip failed (exit {proc.returncode}): {' '.join(cmd)}")
        raise SystemExit(proc.returncode)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn_redis(binary: str, port: int, workdir: Path, *extra: str) -> subprocess.Popen[bytes]:
    """Start a redis-server on ``127.0.0.1:port`` without persistence, working in ``workdir``
    (``extra``: more options, e.g. a cluster node's); wait for it with :func:`wait_port`."""
    return subprocess.Popen(
        [
            binary,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(workdir),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )  # fmt: skip


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
        log(
            "redis-server not found: Redis tests will skip (they fail under CI=true); "
            "install it: apt-get install redis-server"
        )
        yield {}
        return
    port = free_port()
    proc = spawn_redis(binary, port, workdir)
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


def cluster_port() -> int:
    """A free port a cluster node can use: its bus listens 10000 higher, so at most 55535."""
    while True:
        port = free_port()
        if port <= 55535 and free_port_at(port + 10000):
            return port


def free_port_at(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class LocalCluster:
    """A Redis Cluster of ``nodes`` local redis-server processes (3 masters, 3 replicas by
    default), made by ``redis-cli --cluster create``; tests kill and restart its nodes."""

    def __init__(self, binary: str, workdir: Path, nodes: int = 6, node_timeout_ms: int = 2000):
        self.binary = binary
        self.cli = shutil.which("redis-cli") or str(Path(binary).with_name("redis-cli"))
        self.workdir = workdir
        self.node_timeout_ms = node_timeout_ms
        self.ports = [cluster_port() for _ in range(nodes)]
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}"

    def start_node(self, port: int) -> None:
        node_dir = self.workdir / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        self.procs[port] = spawn_redis(
            self.binary,
            port,
            node_dir,
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(self.node_timeout_ms),
            "--logfile", str(node_dir / "log"),
        )  # fmt: skip
        if not wait_port(port, 30) or self.procs[port].poll() is not None:
            self.procs.pop(port).kill()
            log_file = node_dir / "log"
            tail = log_file.read_text()[-500:] if log_file.exists() else "(no log)"
            raise RuntimeError(f"redis-server (cluster node) did not start on {port}: {tail}")

    def kill_node(self, port: int) -> None:
        proc = self.procs.pop(port)
        proc.kill()
        proc.wait(10)

    def info(self, port: int, section: str = "cluster info") -> str:
        out = subprocess.run(
            [self.cli, "-p", str(port), *section.split()],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout

    def wait_ok(self, timeout: float = 60.0) -> None:
        """Until every live node reports ``cluster_state:ok`` and agrees on 16384 slots."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            infos = [self.info(port) for port in self.procs]
            if all("cluster_state:ok" in i and "cluster_slots_ok:16384" in i for i in infos):
                return
            time.sleep(0.2)
        raise RuntimeError("the local Redis Cluster did not become healthy")

    def start(self) -> None:
        error: Exception | None = None
        for i, port in enumerate(self.ports):
            for _ in range(3):  # a free port can be taken by another process before we bind it
                try:
                    self.start_node(port)
                    break
                except RuntimeError as exc:
                    error = exc
                    port = self.ports[i] = cluster_port()
            else:
                raise RuntimeError(f"redis-server (cluster node) did not start: {error}")
        create = subprocess.run(
            [self.cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
             "--cluster-replicas", "1", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=120,
        )  # fmt: skip
        if create.returncode != 0:
            raise RuntimeError("redis-cli --cluster create failed: " + create.stdout[-2000:])
        self.wait_ok()
        self.wait_replicas()

    def wait_replicas(self, timeout: float = 60.0) -> None:
        """Until every replica has synced with its master (a replica that never did cannot be
        promoted when its master dies)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            roles = [self.info(port, "info replication") for port in self.procs]
            replicas = [r for r in roles if "role:slave" in r]
            if len(replicas) * 2 == len(self.procs) and all(
                "master_link_status:up" in r for r in replicas
            ):
                return
            time.sleep(0.2)
        raise RuntimeError("the local Redis Cluster's replicas did not sync")

    def start_masters(self) -> None:
        """Every node a master, no replicas, slots split evenly (any count, 1 included:
        ``redis-cli --cluster create`` wants at least 3 masters)."""
        for port in self.ports:
            self.start_node(port)
        n = len(self.ports)
        for i, port in enumerate(self.ports):
            low, high = 16384 * i // n, 16384 * (i + 1) // n - 1
            self.info(port, f"cluster addslotsrange {low} {high}")
            if i:
                self.info(self.ports[0], f"cluster meet 127.0.0.1 {port}")
        self.wait_ok()

    def add_master(self, timeout: float = 60.0) -> int:
        """Start one more node and join it to the cluster as a master without slots
        (``redis-cli --cluster add-node``); returns its port once every node knows it."""
        port = cluster_port()
        self.start_node(port)
        self.ports.append(port)
        joined = subprocess.run(
            [self.cli, "--cluster", "add-node", f"127.0.0.1:{port}", f"127.0.0.1:{self.ports[0]}"],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if joined.returncode != 0:
            raise RuntimeError("redis-cli --cluster add-node failed: " + joined.stdout[-2000:])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            views = [self.info(p, "cluster nodes") for p in self.procs]
            if all(f":{port}@" in view for view in views):
                self.wait_ok(max(deadline - time.monotonic(), 1.0))
                return port
            time.sleep(0.2)
        raise RuntimeError(f"the cluster did not learn of its new node {port}")

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.kill()
        for proc in self.procs.values():
            proc.wait(10)
        self.procs.clear()


@contextlib.contextmanager
def redis_cluster(workdir: Path) -> Iterator[dict[str, str]]:
    binary = find_redis()
    if binary is None:
        yield {}
        return
    cluster = LocalCluster(binary, workdir)
    try:
        cluster.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        log(f"Redis Cluster did not start: {exc}")
        cluster.stop()
        yield {}
        return
    log(f"Redis Cluster (3 masters, 3 replicas) on 127.0.0.1:{cluster.ports[0]}..")
    try:
        yield {"SASSI_REDIS_CLUSTER_URL": cluster.url}
    finally:
        cluster.stop()


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
            "PostgreSQL (initdb/pg_ctl) not found: PostgreSQL tests will skip (they fail under "
            "CI=true); install it: apt-get install postgresql"
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
        for name in ("redis", "pg", "cluster"):
            (base / name).mkdir()
        with (
            redis_server(base / "redis") as r,
            postgres_server(base / "pg") as p,
            redis_cluster(base / "cluster") as c,
        ):
            yield {**r, **p, **c}


def run(cmd: list[str], env: dict[str, str] | None = None) -> int:
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


def compiled_env(site: Path, base: dict[str, str], *, pure: bool = False) -> dict[str, str]:
    """The environment that imports sassi from the compiled build at ``site``.

    ``SASSI_EXPECT_BUILD`` makes ``tests/conftest.py`` fail the run if another sassi (the
    editable ``src/``) or the other mode is what actually got imported.
    """
    env = {k: v for k, v in base.items() if k != "SASSI_PURE_PYTHON"}
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [base.get("PYTHONPATH")])])
    env["SASSI_EXPECT_BUILD"] = "pure" if pure else "compiled"
    if pure:
        env["SASSI_PURE_PYTHON"] = "1"
    return env


# pytest reads src/ first (pyproject's `pythonpath`); against the compiled build only "." (the
# benchmarks package) stays.
_NO_SRC = ["-o", "pythonpath=."]


def cmd_test(args: list[str]) -> int:
    signal.signal(signal.SIGTERM, _raise_interrupt)  # stop the servers when CI kills us
    py = ensure_venv()
    full = not args
    compiled_only = bool(args) and args[0] == "--compiled"
    if compiled_only:
        args = args[1:]
    if full:
        if run([str(py), "-m", "ruff", "check", "src", "tests", "benchmarks", "examples", "dev.py"]) != 0:
            return 1
        if run([str(py), "-m", "mypy"]) != 0:
            return 1
        if run([str(py.parent / "lint-imports"), "--no-cache"]) != 0:  # the floors
            return 1
    site = ensure_compiled(py) if full or compiled_only else None
    with services() as urls:
        env = {**os.environ, **urls}
        pytest = [str(py), "-m", "pytest"]
        if site is None:
            return run([*pytest, *args], env=env)
        log("the whole suite against the compiled build")
        code = run([*pytest, *_NO_SRC, *args], env=compiled_env(site, env))
        if code != 0 or compiled_only:
            return code
        log("the core suites as pure Python (SASSI_PURE_PYTHON=1, same install)")
        return run([*pytest, *_NO_SRC, *CORE_SUITES], env=compiled_env(site, env, pure=True))


def cmd_demo(args: list[str]) -> int:
    py = str(ensure_venv())
    return run([py, "-m", "sassi", "demo", *args])


def cmd_bench(args: list[str]) -> int:
    """Benchmarks on both builds: pure Python first (its results as JSON), then compiled, whose
    report shows both. ``--profile`` profiles the pure-Python code (pyinstrument sees no C)."""
    py = ensure_venv()
    site = ensure_compiled(py)
    bench = [str(py), "-m", "benchmarks"]
    if "--profile" in args:
        return run([*bench, *args], env=compiled_env(site, dict(os.environ), pure=True))
    with tempfile.TemporaryDirectory(prefix="sassi-bench-") as tmp:
        results = str(Path(tmp) / "pure.json")
        pure_args = [a for a in args if a not in ("--plot", "--no-write")]
        log("benchmarks, pure Python (SASSI_PURE_PYTHON=1)")
        code = run(
            [*bench, *pure_args, "--no-write", "--json", results],
            env=compiled_env(site, dict(os.environ), pure=True),
        )
        if code != 0:
            return code
        log("benchmarks, compiled")
        return run(
            [*bench, *args, "--pure-json", results], env=compiled_env(site, dict(os.environ))
        )


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
    args = sys.argv[1:]
    if args and args[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    if args[0] not in commands:
        print(
            f"dev.py: unknown command {args[0]!r}; commands: {', '.join(commands)} "
            "(python3 dev.py --help explains them)",
            file=sys.stderr,
        )
        return 2
    return commands[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())

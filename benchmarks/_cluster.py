"""L2 on a Redis Cluster: write-through and read-through throughput with 4 client processes,
against one Redis node, and as the cluster grows from 1 to 3 masters.

Starts its own servers with ``dev.py``'s helpers (a redis-server binary is needed; without one
the group is skipped).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._harness import Group, Settings
from ._services import dev_module

__all__ = ["CLUSTER_TITLE", "bench_cluster"]

CLUSTER_TITLE = "L2 on a Redis Cluster: throughput, 4 client processes"
ROOT = Path(__file__).resolve().parent.parent

# One client process: N write-through inserts, then N read-through loads from a fresh pool.
_CLIENT = """
import sys, time, sassi
from sassi.backends.redis import RedisBackend
from benchmarks._models import make_users, User

url, cluster, namespace, start, n = sys.argv[1], sys.argv[2] == "1", sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
users = [u for u in make_users(start + n)][start:]
def backend():
    return RedisBackend.from_url(url, cluster=cluster)
writer = sassi.Punnu(User, namespace=namespace, backend=backend(), capacity=n + 10)
print("ready", flush=True)
sys.stdin.readline()
t0 = time.monotonic()
for u in users:
    writer.insert(u)
reader = sassi.Punnu(User, namespace=namespace, backend=backend(), capacity=n + 10)
for u in users:
    assert reader.load(u.id) == u
print(time.monotonic() - t0, flush=True)
"""


def _run(url: str, cluster: bool, clients: int, n: int) -> float:
    """Operations per second (a write and a read per user) of ``clients`` processes."""
    namespace = f"bench-cluster-{time.monotonic_ns()}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _CLIENT,
                url,
                "1" if cluster else "0",
                namespace,
                str(i * n),
                str(n),
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(clients)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        start = time.monotonic()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        for p in procs:
            p.communicate(timeout=600)
        return 2 * clients * n / (time.monotonic() - start)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()


def bench_cluster(settings: Settings) -> Group | None:
    dev = dev_module()
    binary = dev.find_redis()
    if binary is None:
        print("  cluster: no redis-server: skipped")
        return None
    clients, n = 4, 300 if settings.quick else 1_500
    group = Group(
        CLUSTER_TITLE,
        f"{clients} OS processes each write {n:,} users through a pool (write-through) and read "
        "them back through a fresh pool (read-through), one round trip per operation. "
        "Throughput in operations per second (shown as time per operation, so lower is "
        "better); ratios against one plain Redis node. Cluster masters have no replicas here; "
        "all servers and clients share this machine's cores, so the curve shows the overhead "
        "and the scaling the machine allows, not a datacenter's.",
        "one Redis node",
    )
    with tempfile.TemporaryDirectory(prefix="sassi-bench-cluster-") as tmp:
        Path(tmp, "single").mkdir()
        with dev.redis_server(Path(tmp) / "single") as env:
            url = env.get("SASSI_REDIS_URL")
            if url is None:
                return None
            group.add("one Redis node", 1 / _run(url, False, clients, n))
        for masters in (1, 2, 3):
            cluster = dev.LocalCluster(binary, Path(tmp) / f"c{masters}", nodes=masters)
            try:
                cluster.start_masters()
                ops = _run(cluster.url, True, clients, n)
            finally:
                cluster.stop()
            group.add(
                f"cluster, {masters} master{'s' if masters > 1 else ''}",
                1 / ops,
                note=f"{ops:,.0f} ops/s",
            )
    return group

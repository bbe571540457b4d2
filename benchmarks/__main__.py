"""``python -m benchmarks [--quick] [--only get,scan,...] [--output PATH | --no-write] [--plot]``.

``--plot`` also draws each table as a PNG beside the report (``docs/bench-get.png``...) and
embeds the charts in it. ``--scale-1m`` adds 1,000,000 residents to the scaling table.

The report names the build that ran (``sassi.compiled``). ``python3 dev.py bench`` runs it twice:
once as pure Python (``SASSI_PURE_PYTHON=1 ... --json FILE``) and once compiled with
``--pure-json FILE``, so every table and goal shows both builds, each ratio taken within its
own run.

``python -m benchmarks --profile get|insert|scan|index`` prints a pyinstrument profile instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

try:
    import sassi
except ImportError:  # running from a checkout without an installed sassi: use src/
    sys.path.insert(0, str(ROOT / "src"))
    import sassi

from ._cluster import bench_cluster  # noqa: E402
from ._fetch import bench_fetch  # noqa: E402
from ._findings import FINDINGS  # noqa: E402
from ._harness import Goal, Group, Settings, machine  # noqa: E402
from ._kv import GET_TITLE, INSERT_TITLE, bench_get, bench_insert  # noqa: E402
from ._loader import bench_loader  # noqa: E402
from ._memory import MEMORY_TITLE, bench_memory  # noqa: E402
from ._notify import bench_notify  # noqa: E402
from ._plot import plot_groups  # noqa: E402
from ._profile import PROFILES, profile  # noqa: E402
from ._query import INDEX_TITLE, SCAN_TITLE, bench_index, bench_scan  # noqa: E402
from ._redis import bench_fleet, bench_redis  # noqa: E402
from ._report import markdown, text_table  # noqa: E402
from ._scaling import SCALING_TITLE, bench_scaling  # noqa: E402

BENCHES: dict[str, Callable[[Settings], Group | None]] = {
    "get": bench_get,
    "insert": bench_insert,
    "scan": bench_scan,
    "index": bench_index,
    "fetch": bench_fetch,
    "loader": bench_loader,
    "memory": bench_memory,
    "redis": bench_redis,
    "fleet": bench_fleet,
    "cluster": bench_cluster,
    "notify": bench_notify,
    "scaling": bench_scaling,
}

GOALS = [
    Goal(GET_TITLE, "sassi Punnu.get", "dict.get", 1.5),
    Goal(GET_TITLE, "sassi Punnu.get", "cachebox.LRUCache.get", 1.0),
    Goal(INSERT_TITLE, "sassi Punnu.insert", "cachetools.LRUCache[k] = v", 1.0),
    Goal(INSERT_TITLE, "sassi Punnu.apply_delta, one batch", "cachetools.LRUCache[k] = v", 1.0),
    Goal(SCALING_TITLE, "apply_delta @ 1M", "apply_delta @ 10k", 1.5),
    Goal(SCAN_TITLE, "sassi pool.scope(pred).collect()", "handwritten list comprehension", 1.15),
    Goal(SCAN_TITLE, "sassi compile_scan(pred)(rows)", "handwritten list comprehension", 1.15),
    Goal(
        INDEX_TITLE,
        "indexed: org == 3 & age between 40 and 55 (composite)",
        "handwritten over its candidates: org == 3 & age between 40 and 55",
        2.0,
    ),
    Goal(
        INDEX_TITLE,
        "indexed: org == 3 & age == 30 (composite)",
        "handwritten over its candidates: org == 3 & age == 30",
        2.0,
    ),
    Goal(INDEX_TITLE, "indexed: email == x", "scan: email == x", 200.0, speedup=True),
    Goal(
        INDEX_TITLE,
        "indexed: id == x (the pool's map, no index)",
        "scan: id == x",
        1000.0,
        speedup=True,
    ),
    Goal(
        INDEX_TITLE,
        "indexed: org == 3 & age == 30 (composite)",
        "scan: org == 3 & age == 30",
        200.0,
        speedup=True,
    ),
    Goal(MEMORY_TITLE, "sassi Punnu", "dict {id: obj}", 1.5),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs (~30 s)")
    parser.add_argument(
        "--only", default="", help=f"comma-separated subset of: {', '.join(BENCHES)}"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / "docs" / "benchmarks.md",
        help="where to write the markdown report (default: docs/benchmarks.md)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--plot",
        action="store_true",
        help="also draw each table as a PNG beside the report (bench-NAME.png; needs matplotlib)",
    )
    parser.add_argument(
        "--scale-1m",
        action="store_true",
        help="the scaling table also measures 1,000,000 residents (a few minutes more)",
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument(
        "--pure-json",
        type=Path,
        help="results of a pure-Python run (its --json) to show beside this run's",
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        help="print a pyinstrument profile of one sassi hot path instead of benchmarking",
    )
    args = parser.parse_args(argv)
    if args.profile:
        print(profile(args.profile))
        return 0
    chosen = [name.strip() for name in args.only.split(",") if name.strip()] or list(BENCHES)
    unknown = [name for name in chosen if name not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error("--plot needs matplotlib: pip install 'sassi[plot]'")
    settings = Settings(quick=args.quick, scale_1m=args.scale_1m)
    info = machine()
    build = "compiled (mypyc)" if sassi.compiled else "pure Python"
    info["sassi build"] = build
    print(
        f"sassi benchmarks ({'quick' if args.quick else 'full'}, {build}) on {info['CPU']}, "
        f"{info['Python']}",
        flush=True,
    )
    started = time.perf_counter()
    named: dict[str, Group] = {}
    for name in chosen:
        t0 = time.perf_counter()
        group = BENCHES[name](settings)
        if group is not None:  # None: skipped (e.g. no redis-server), said so already
            named[name] = group
        print(f"  {name}: {time.perf_counter() - t0:.1f} s", flush=True)
    elapsed = time.perf_counter() - started
    groups = list(named.values())
    if args.json:
        args.json.write_text(json.dumps({k: g.to_json() for k, g in named.items()}))
    pure: dict[str, Group] = {}
    if args.pure_json:
        loaded = json.loads(args.pure_json.read_text())
        pure = {Group.from_json(data).title: Group.from_json(data) for data in loaded.values()}
        info["sassi build"] = f"{build}; pure-Python figures from a second run"
    print(text_table(groups, GOALS, pure))
    plots: dict[str, str] = {}
    if args.plot:
        for title, path in plot_groups(named, args.output.parent, pure).items():
            plots[title] = path.name  # the charts sit beside the report
            print(f"wrote {path}")
    if not args.no_write:
        text = markdown(
            groups,
            GOALS,
            info,
            quick=args.quick,
            elapsed=elapsed,
            findings=FINDINGS,
            plots=plots,
            pure=pure,
        )
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

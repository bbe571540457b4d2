"""The ``sassi`` command: ``sassi demo`` and ``sassi bench`` (also ``python -m sassi``)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the ``sassi`` command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="sassi", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo",
        help="an in-memory pool over a SQLite source of truth, end to end",
        description="Builds a SQLite database of generated users, keeps a pool fresh with "
        "delta_refresh, answers predicates from memory and checks them against SQL, shows "
        "single-flight under a burst, events and stats. With --redis, two pools share an L2.",
    )
    demo.add_argument("--rows", type=int, default=50_000, help="users to generate (default 50000)")
    demo.add_argument("--seed", type=int, default=7, help="dataset seed (default 7)")
    demo.add_argument("--redis", metavar="URL", help="also show two pools kept coherent via Redis")
    demo.add_argument("--quiet", action="store_true", help="only the summary")

    bench = sub.add_parser("bench", help="run the side-by-side benchmarks (source checkout)")
    bench.add_argument("args", nargs=argparse.REMAINDER, help="passed to the benchmark runner")

    ns = parser.parse_args(argv)
    if ns.command == "demo":
        from ._demo import run_demo

        return run_demo(rows=ns.rows, seed=ns.seed, redis_url=ns.redis, quiet=ns.quiet)
    try:
        from benchmarks.__main__ import main as bench_main
    except ImportError:
        print(
            "sassi bench runs the benchmarks/ package of a source checkout: run it from the "
            "repository root (python3 dev.py bench).",
            file=sys.stderr,
        )
        return 2
    return int(bench_main(ns.args) or 0)


if __name__ == "__main__":
    sys.exit(main())

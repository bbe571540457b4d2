"""The ``sassi`` command (also ``python -m sassi``): demo, inspect, bench, --version."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._console import CliError, require

__all__ = ["main"]

DEMO_MIN_ROWS = 100  # the demo deletes 50 rows, updates more, and bursts on 20 ids
DEMO_MAX_ROWS = 5_000_000


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"sassi {version('sassi')}"
    except PackageNotFoundError:  # a source tree on sys.path, not installed
        from . import __version__

        return f"sassi {__version__} (source tree, not installed)"


def _bounded_int(low: int, high: int | None = None) -> type[int]:
    """An argparse ``type=`` that accepts integers in ``[low, high]`` with a clear message."""

    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low or (high is not None and value > high):
            bound = f"from {low:,} to {high:,}" if high is not None else f"at least {low:,}"
            raise argparse.ArgumentTypeError(f"{value:,} is out of range: use {bound}")
        return value

    parse.__name__ = "integer"
    return parse  # type: ignore[return-value]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sassi", description=__doc__)
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="an in-memory pool over a SQLite source of truth, end to end",
        description="Builds a SQLite database of generated users, keeps a pool fresh with "
        "delta_refresh, answers predicates from memory and checks them against SQL, shows "
        "single-flight under a burst, events and stats. With --redis, two pools share an L2. "
        "Needs sassi[cli,sql].",
    )
    demo.add_argument(
        "--rows",
        type=_bounded_int(DEMO_MIN_ROWS, DEMO_MAX_ROWS),
        default=50_000,
        help=f"users to generate, {DEMO_MIN_ROWS:,} to {DEMO_MAX_ROWS:,} (default 50,000)",
    )
    demo.add_argument("--seed", type=int, default=7, help="dataset seed (default 7)")
    demo.add_argument(
        "--redis", metavar="URL", help="also show two pools kept coherent through Redis"
    )
    demo.add_argument("--quiet", action="store_true", help="only the summary")

    inspect = sub.add_parser(
        "inspect",
        help="show what a snapshot file holds (header, type, entries, TTLs, first rows)",
        description="Reads a file written by pool.snapshot(), pool.export_entries(), "
        "sassi.wire.dumps() or the file backend, validates its header and prints it with "
        "the entry count, the TTL spread (WITH_INTERNAL_STATE snapshots) and the first rows, "
        "decoded generically (no model class needed, never pickle). Exit status 2 for a file "
        "that is not a valid sassi file.",
    )
    inspect.add_argument("snapshot", type=Path, metavar="SNAPSHOT", help="the file to read")
    inspect.add_argument(
        "--rows", type=_bounded_int(0), default=10, help="rows to show (default 10; 0: none)"
    )
    inspect.add_argument("--json", action="store_true", help="print one JSON document instead")
    inspect.add_argument(
        "--max-bytes",
        type=_bounded_int(1),
        default=None,
        help="refuse larger files (default 512 MiB)",
    )

    bench = sub.add_parser("bench", help="run the side-by-side benchmarks (source checkout)")
    bench.add_argument("args", nargs=argparse.REMAINDER, help="passed to the benchmark runner")
    return parser


def _inspect(ns: argparse.Namespace) -> int:
    from . import _inspect

    if not ns.json:
        require("rich", "cli", "sassi inspect (without --json)")
    limit = ns.max_bytes if ns.max_bytes is not None else _inspect.DEFAULT_MAX_BYTES
    report = _inspect.read_report(ns.snapshot, rows=ns.rows, max_bytes=limit)
    if ns.json:
        import json

        print(json.dumps(_inspect.to_json(report), indent=2, ensure_ascii=False))
    else:
        from ._console import console

        _inspect.render(report, console())
    return 0


def _bench(ns: argparse.Namespace) -> int:
    try:
        from benchmarks.__main__ import main as bench_main
    except ImportError:
        raise CliError(
            "runs the benchmarks/ package of a source checkout: run it from the repository "
            "root (python3 dev.py bench)"
        ) from None
    return int(bench_main(ns.args) or 0)


def main(argv: list[str] | None = None) -> int:
    """Run the ``sassi`` command line; returns the exit status."""
    ns = _parser().parse_args(argv)
    try:
        if ns.command == "demo":
            require("rich", "cli", "sassi demo")
            require("sqlalchemy", "sql", "sassi demo")
            from ._demo import run_demo

            return run_demo(rows=ns.rows, seed=ns.seed, redis_url=ns.redis, quiet=ns.quiet)
        if ns.command == "inspect":
            return _inspect(ns)
        return _bench(ns)
    except CliError as exc:
        print(f"sassi {ns.command}: {exc.message}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print(f"sassi {ns.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

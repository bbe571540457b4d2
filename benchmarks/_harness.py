"""Timing, results and goals shared by every benchmark.

Timing is timeit-style: a callable is run ``repeat`` times (after one warm-up call) and the
fastest run counts, because noise on a shared machine only ever adds time. Every contender of a
group runs in the same process, back to back, on the same data, so ratios are meaningful even
when absolute numbers drift between machines.
"""

from __future__ import annotations

import gc
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Goal", "Group", "Result", "Settings", "best_of", "machine", "race"]


@dataclass(frozen=True, slots=True)
class Settings:
    """Sizes and repetitions for one run.

    :param quick: the ``--quick`` preset (smaller data, fewer repeats).
    """

    quick: bool = False
    scale_1m: bool = False  # the scaling table also measures 1,000,000 residents

    @property
    def repeat(self) -> int:
        return 3 if self.quick else 7

    @property
    def heavy_repeat(self) -> int:
        """Rounds for workloads of a second or more (building whole pools)."""
        return 2 if self.quick else 3

    @property
    def get_entries(self) -> int:
        return 100_000

    @property
    def get_reads(self) -> int:
        return 25_000 if self.quick else 100_000

    @property
    def insert_entries(self) -> int:
        return 20_000 if self.quick else 50_000

    @property
    def scan_entries(self) -> int:
        return 100_000

    @property
    def tinydb_entries(self) -> int:
        return 5_000 if self.quick else 20_000

    @property
    def index_entries(self) -> int:
        return 200_000

    @property
    def waiters(self) -> int:
        return 10_000

    @property
    def memory_entries(self) -> int:
        return 10_000 if self.quick else 30_000


def best_of(fn: Callable[[], object], repeat: int, *, warmup: bool = True) -> float:
    """The fastest of ``repeat`` timed calls of ``fn``, in seconds.

    The garbage collector runs once first and is paused while timing (as ``timeit`` does).

    :param fn: the workload.
    :param repeat: how many timed calls.
    :param warmup: make one untimed call first.
    :returns: seconds of the fastest call.
    """
    if warmup:
        fn()
    best = float("inf")
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
    finally:
        if enabled:
            gc.enable()
    return best


def race(
    contenders: list[tuple[str, Callable[[], object]]], repeat: int, *, warmup: bool = True
) -> dict[str, float]:
    """Best-of-``repeat`` seconds per contender, timed round-robin.

    Each round runs every contender once, so a burst of load from elsewhere on the machine
    slows all of them alike instead of spoiling one contender's whole series. The garbage
    collector runs once before the first round and stays paused until the last.

    :param contenders: ``(name, workload)`` pairs.
    :param repeat: rounds.
    :param warmup: run each workload once, untimed, before the first round.
    :returns: name -> seconds of its fastest run.
    """
    if warmup:
        for _, fn in contenders:
            fn()
    best = {name: float("inf") for name, _ in contenders}
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            for name, fn in contenders:
                start = time.perf_counter()
                fn()
                best[name] = min(best[name], time.perf_counter() - start)
    finally:
        if enabled:
            gc.enable()
    return best


@dataclass(frozen=True, slots=True)
class Result:
    """One measured contender.

    :param name: what was measured.
    :param value: seconds per operation (or bytes per entry when ``unit == "B"``).
    :param unit: ``"s"`` for time per op, ``"B"`` for bytes.
    :param note: a short remark printed beside the number.
    :param vs: the contender this one's ratio is taken against (default: the group baseline).
    """

    name: str
    value: float
    unit: str = "s"
    note: str = ""
    vs: str | None = None


@dataclass(slots=True)
class Group:
    """Contenders measured side by side; ratios are taken against ``baseline``.

    :param title: the heading.
    :param description: one paragraph: workload, sizes, what a ratio means.
    :param baseline: the name of the reference contender.
    """

    title: str
    description: str
    baseline: str
    results: list[Result] = field(default_factory=list)

    def add(
        self, name: str, value: float, unit: str = "s", note: str = "", vs: str | None = None
    ) -> Result:
        """Record one contender (``vs``: compare it with that one instead of the baseline)."""
        result = Result(name, value, unit, note, vs)
        self.results.append(result)
        return result

    def to_json(self) -> dict[str, object]:
        """A JSON-able copy (``--json``: the pure-Python run hands its results over)."""
        return {
            "title": self.title,
            "description": self.description,
            "baseline": self.baseline,
            "results": [[r.name, r.value, r.unit, r.note, r.vs] for r in self.results],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Group:
        group = cls(data["title"], data["description"], data["baseline"])
        for name, value, unit, note, vs in data["results"]:
            group.add(name, value, unit, note, vs)
        return group

    def get(self, name: str) -> Result | None:
        return next((r for r in self.results if r.name == name), None)

    def reference_of(self, name: str) -> str:
        """The contender ``name`` is compared with in the ratio column."""
        subject = self.get(name)
        return (subject.vs if subject is not None and subject.vs else None) or self.baseline

    def ratio(self, name: str, reference: str | None = None) -> float | None:
        """``value(name) / value(reference)``, or ``None`` if either is missing.

        ``reference`` defaults to the contender's own ``vs``, else the group baseline.
        """
        subject = self.get(name)
        ref = self.get(reference or self.reference_of(name))
        if subject is None or ref is None or ref.value == 0:
            return None
        return subject.value / ref.value


@dataclass(frozen=True, slots=True)
class Goal:
    """A target from the performance issue: ``subject / reference`` compared to ``limit``.

    :param group: the group's title.
    :param subject: the contender judged.
    :param reference: the contender it is compared with.
    :param limit: the bound on ``subject / reference`` (or on its inverse, see ``speedup``).
    :param speedup: the goal is "``reference / subject >= limit``" (x times faster).
    """

    group: str
    subject: str
    reference: str
    limit: float
    speedup: bool = False

    def describe(self) -> str:
        if self.speedup:
            return f"{self.subject} >= {self.limit:g}x faster than {self.reference}"
        return f"{self.subject} <= {self.limit:g}x {self.reference}"

    def evaluate(self, groups: dict[str, Group]) -> tuple[float | None, bool | None]:
        """(measured figure, met?) — the figure is a speed-up or a ratio as the goal states."""
        group = groups.get(self.group)
        ratio = None if group is None else group.ratio(self.subject, self.reference)
        if ratio is None:
            return None, None
        if self.speedup:
            figure = 1.0 / ratio
            return figure, figure >= self.limit
        return ratio, ratio <= self.limit


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return "not installed"


def machine() -> dict[str, str]:
    """CPU model, core count, Python, OS and the compared libraries' versions."""
    libs = ["cachebox", "cachetools", "theine", "tinydb", "async-lru", "aiodataloader", "anyio"]
    return {
        "date (UTC)": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "CPU": _cpu_model(),
        "cores visible": str(os.cpu_count()),
        "Python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "OS": f"{platform.system()} {platform.release()}",
        "libraries": ", ".join(f"{name} {_version(name)}" for name in libs),
    }

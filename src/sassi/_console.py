"""What the ``sassi`` command's subcommands share: errors, the rich check, number formatting."""

from __future__ import annotations

import importlib
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["MAX_WIDTH", "CliError", "DemoOutput", "console", "fmt_seconds", "require"]

MAX_WIDTH = 100  # columns: the CLI's output fits a 100-column terminal


class CliError(Exception):
    """A failure the CLI reports as one line on stderr, with an exit status.

    :param message: what went wrong and, where it helps, what to do.
    :param status: the process exit status (2: bad input or a missing requirement).
    """

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def require(module: str, extra: str, what: str) -> None:
    """Check that ``module`` can be imported.

    :param module: the import name (``"rich"``).
    :param extra: the sassi extra that installs it (``"cli"``).
    :param what: the feature that needs it, for the message (``"sassi demo"``).
    :raises CliError: when it cannot be imported, naming the ``pip install`` to run.
    """
    try:
        importlib.import_module(module)
    except ImportError:
        raise CliError(
            f"{what} needs the {module} package, which is not installed: "
            f"pip install 'sassi[{extra}]'"
        ) from None


def console(*, stderr: bool = False) -> Console:
    """A rich console at most :data:`MAX_WIDTH` columns wide (narrower on a narrow terminal).

    :raises CliError: when rich is not installed.
    """
    require("rich", "cli", "this command")
    from rich.console import Console

    probe = Console(stderr=stderr)
    return Console(stderr=stderr, width=min(probe.width, MAX_WIDTH), highlight=False)


def fmt_seconds(seconds: float) -> str:
    """A duration with a unit that keeps its digits: ``1.23 s``, ``4.56 ms``, ``7.89 µs``,
    ``412 ns`` (never ``0 µs`` for a sub-microsecond time)."""
    if not math.isfinite(seconds):
        return str(seconds)
    sign = "-" if seconds < 0 else ""
    value = abs(seconds)
    if value >= 1.0:
        return f"{sign}{value:,.2f} s"
    if value >= 1e-3:
        return f"{sign}{value * 1e3:,.2f} ms"
    if value >= 1e-6:
        return f"{sign}{value * 1e6:,.2f} µs"
    return f"{sign}{value * 1e9:,.0f} ns"


class DemoOutput:
    """The demo's console: steps, lines, progress bars, checks and the summary table."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.console = console()
        self.summary: list[tuple[str, str]] = []
        self.failures: list[str] = []

    def step(self, text: str) -> None:
        if not self.quiet:
            self.console.print(f"\n== {text}", style="bold", markup=False)

    def line(self, text: str) -> None:
        if not self.quiet:
            self.console.print(f"   {text}", markup=False)

    def show(self, renderable: Any) -> None:
        if not self.quiet:
            self.console.print(renderable)

    def progress(self) -> Any:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        return Progress(
            TextColumn("   {task.description:<28}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            disable=self.quiet,
        )

    def record(self, what: str, value: str) -> None:
        self.summary.append((what, value))

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)
            self.console.print(f"   CHECK FAILED: {what}", style="red", markup=False)

    def table(self) -> None:
        from rich.table import Table

        table = Table(title="sassi demo summary", title_justify="left")
        table.add_column("what")
        table.add_column("result", overflow="fold")
        for what, value in self.summary:
            table.add_row(what, value)
        self.console.print(table)

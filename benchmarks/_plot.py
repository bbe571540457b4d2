"""``--plot``: one PNG bar chart per comparison table (matplotlib, ``pip install 'sassi[plot]'``).

Each chart shows a table's contenders as horizontal bars of time per operation (or bytes per
entry), in table order, labelled with the figure and its ratio: references (the table's
baseline and every row another row is compared with) in blue, sassi's rows in orange, other
libraries in grey, with a legend. A table whose figures span more than 30x uses a
logarithmic axis (said in the axis label). Charts are drawn on a bare ``Figure`` (Agg canvas):
no pyplot state, no display needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ._harness import Group
from ._report import format_value, ratio_text

__all__ = ["PlotUnavailable", "plot_groups"]

SASSI = "#d9480f"
BASELINE = "#1c7ed6"
OTHER = "#adb5bd"
# rows that measure sassi: "indexed: ..." rows are pools with indexes (the index table)
_SASSI_ROWS = ("sassi", "indexed:")


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed."""


def _scale(values: list[float], unit: str) -> tuple[float, str]:
    """A divisor and unit label that keep the largest figure readable."""
    if unit == "B":
        return 1.0, "bytes per entry"
    top = max(values)
    for scale, label in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if top >= scale:
            return scale, f"time per op ({label})"
    return 1e-9, "time per op (ns)"


def plot_group(group: Group, path: Path) -> Path:
    """Draw ``group`` as a bar chart PNG at ``path``.

    :raises PlotUnavailable: when matplotlib is missing.
    :raises ValueError: when the group has no results.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise PlotUnavailable("--plot needs matplotlib: pip install 'sassi[plot]'") from exc
    results = [r for r in group.results if r.value > 0]
    if not results:
        raise ValueError(f"nothing to plot in {group.title!r}")
    unit = results[0].unit
    values = [r.value for r in results]
    scale, axis_label = _scale(values, unit)
    log = max(values) / min(values) > 30
    height = 1.2 + 0.42 * len(results)
    fig = Figure(figsize=(9, height), dpi=110, layout="constrained")
    ax = fig.subplots()
    names = [r.name for r in results]
    references = {group.baseline} | {r.vs for r in results if r.vs}
    colors = [
        BASELINE
        if r.name in references
        else SASSI
        if r.name.lower().startswith(_SASSI_ROWS)
        else OTHER
        for r in results
    ]
    scaled = [v / scale for v in values]
    bars = ax.barh(range(len(results)), scaled, color=colors)
    ax.set_yticks(range(len(results)), labels=names, fontsize=9)
    ax.invert_yaxis()  # table order, top to bottom
    if log:
        ax.set_xscale("log")
        axis_label += ", log scale"
    ax.set_xlabel(axis_label, fontsize=9)
    ax.set_title(group.title, fontsize=11, loc="left")
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    for bar, result in zip(bars, results, strict=True):
        label = f" {format_value(result.value, result.unit)}  {ratio_text(group, result.name)}"
        ax.text(
            bar.get_width(),
            bar.get_y() + bar.get_height() / 2,
            label,
            va="center",
            fontsize=8,
        )
    # leave room on the right for the labels
    low, high = ax.get_xlim()
    ax.set_xlim(low, high * (4.0 if log else 1.35))
    if log and low <= 0:
        ax.set_xlim(min(scaled) / 2, max(scaled) * 4.0)
    from matplotlib.patches import Patch

    legend = [
        (BASELINE, "reference"),
        (SASSI, "sassi"),
        (OTHER, "other libraries"),
    ]
    shown = [Patch(color=c, label=label) for c, label in legend if c in colors]
    fig.legend(
        handles=shown, loc="outside lower center", ncols=len(shown), frameon=False, fontsize=8
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def plot_scaling(group: Group, pure: Group | None, path: Path) -> Path:
    """The scaling table as line charts: one panel per metric, residents on a log axis, time
    (ns) or bytes per operation upwards; the compiled run in orange, pure Python in grey.

    :raises PlotUnavailable: when matplotlib is missing.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise PlotUnavailable("--plot needs matplotlib: pip install 'sassi[plot]'") from exc
    from ._scaling import REFERENCES

    series: dict[str, dict[str, list[tuple[int, float]]]] = {}
    this_run = "this run" if pure is None else "compiled"
    for build, source in ((this_run, group), ("pure Python", pure)):
        if source is None:
            continue
        for r in source.results:
            metric, _, size = r.name.partition(" @ ")
            n = int(float(size[:-1]) * (1_000_000 if size.endswith("M") else 1000))
            value = r.value if r.unit == "B" else r.value * 1e9
            line = build
            if metric in REFERENCES:  # drawn in its sassi metric's panel
                line, metric = f"{metric} ({build})", REFERENCES[metric]
            series.setdefault(metric, {}).setdefault(line, []).append((n, value))
    metrics = list(series)
    cols = 4
    rows = -(-len(metrics) // cols)
    fig = Figure(figsize=(12, 2.8 * rows), dpi=110, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, metric in enumerate(metrics):
        ax = axes[i // cols][i % cols]
        for build, points in series[metric].items():
            points.sort()
            reference = build not in (this_run, "pure Python")
            color = BASELINE if reference else OTHER if build == "pure Python" else SASSI
            style = "s--" if reference else "o-"
            if reference and "pure Python" in build:
                color, style = "#74c0fc", "s:"
            ax.plot([p[0] for p in points], [p[1] for p in points], style, color=color, label=build)
        if len(series[metric]) > 2:
            ax.legend(fontsize=6, frameon=False)
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.set_title(metric, fontsize=9, loc="left")
        ax.set_ylabel("bytes" if metric == "memory" else "ns per op", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for j in range(len(metrics), rows * cols):
        axes[j // cols][j % cols].set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(
        handles[:2], labels[:2], loc="outside lower center", ncols=2, frameon=False, fontsize=8
    )
    fig.suptitle(group.title, fontsize=11)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def plot_groups(
    groups: Mapping[str, Group], out_dir: Path, pure: Mapping[str, Group] | None = None
) -> dict[str, Path]:
    """Draw every group that has results as ``out_dir / f"bench-{name}.png"``.

    :param groups: benchmark name (``"get"``, ``"scan"``...) -> its group.
    :param out_dir: where the PNGs go (the report's folder).
    :param pure: the pure-Python run's groups by title (the scaling chart shows both).
    :returns: group title -> the PNG written.
    :raises PlotUnavailable: when matplotlib is missing.
    """
    written: dict[str, Path] = {}
    for name, group in groups.items():
        if not any(r.value > 0 for r in group.results):
            continue
        slug = "".join(c if c.isalnum() or c == "-" else "-" for c in name.lower())
        target = out_dir / f"bench-{slug}.png"
        if name == "scaling":
            other = (pure or {}).get(group.title)
            written[group.title] = plot_scaling(group, other, target)
        else:
            written[group.title] = plot_group(group, target)
    return written

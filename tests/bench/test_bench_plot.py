"""``python -m benchmarks --plot``: PNG charts of the tables, embedded in the report.

Drawn from a tiny hand-made result table: no benchmark runs here, and nothing asserts a time.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks._harness import Group
from benchmarks._plot import plot_groups
from benchmarks._report import markdown
from PIL import Image


def tables() -> dict[str, Group]:
    get = Group("get hit, tiny", "A made-up table.", baseline="dict.get")
    get.add("dict.get", 30e-9)
    get.add("sassi Punnu.get", 55e-9, note="no TTL")
    get.add("cachetools.LRUCache.get", 920e-9)
    fetch = Group("fetch, tiny", "Figures 5 orders of magnitude apart.", baseline="async-lru")
    fetch.add("async-lru", 2e-3)
    fetch.add("sassi aget_or_fetch", 40e-9, vs="async-lru")
    memory = Group("memory per entry, tiny", "Bytes.", baseline="dict {id: obj}")
    memory.add("dict {id: obj}", 200.0, unit="B")
    memory.add("sassi Punnu", 290.0, unit="B")
    skipped = Group("redis, skipped", "No server.", baseline="x")  # no results: no chart
    return {"get": get, "fetch": fetch, "memory": memory, "redis": skipped}


def test_plot_writes_one_valid_png_per_table(tmp_path: Path) -> None:
    written = plot_groups(tables(), tmp_path)
    assert sorted(p.name for p in written.values()) == [
        "bench-fetch.png",
        "bench-get.png",
        "bench-memory.png",
    ]
    assert set(written) == {"get hit, tiny", "fetch, tiny", "memory per entry, tiny"}
    for path in written.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as image:
            image.verify()  # a complete, uncorrupted PNG
        with Image.open(path) as image:
            width, height = image.size
            assert image.format == "PNG"
            assert width >= 600 and height >= 150
            # not a blank canvas: the bars are drawn in more than the background colour
            colors = image.convert("RGB").getcolors(maxcolors=1 << 20)
            assert colors is not None and len(colors) > 10
    assert not (tmp_path / "bench-redis.png").exists()


def test_more_rows_make_a_taller_chart(tmp_path: Path) -> None:
    small = Group("two rows", "", baseline="a")
    small.add("a", 1e-6)
    small.add("b", 2e-6)
    big = Group("eight rows", "", baseline="a")
    for i in range(8):
        big.add("a" if i == 0 else f"row {i}", (i + 1) * 1e-6)
    written = plot_groups({"small": small, "big": big}, tmp_path)
    with Image.open(written["two rows"]) as a, Image.open(written["eight rows"]) as b:
        assert b.size[1] > a.size[1]


def test_report_embeds_the_charts_it_was_given(tmp_path: Path) -> None:
    groups = tables()
    written = plot_groups(groups, tmp_path)
    plots = {title: path.name for title, path in written.items()}
    text = markdown(
        list(groups.values()),
        [],
        {"CPU": "test"},
        quick=True,
        elapsed=1.0,
        findings="",
        plots=plots,
    )
    assert "![get hit, tiny](bench-get.png)" in text
    assert "![fetch, tiny](bench-fetch.png)" in text
    # the chart sits between the table's heading and its rows
    get_section = text.split("## get hit, tiny", 1)[1].split("## ", 1)[0]
    assert get_section.index("![get hit, tiny]") < get_section.index("| contender |")
    assert "bench-redis" not in text
    without = markdown(list(groups.values()), [], {}, quick=True, elapsed=1.0, findings="")
    assert "![" not in without


def test_plot_without_matplotlib_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from benchmarks._plot import PlotUnavailable, plot_group

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(PlotUnavailable, match=r"pip install 'sassi\[plot\]'"):
        plot_group(tables()["get"], Path("unused.png"))

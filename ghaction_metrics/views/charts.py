"""Charts as PNG images, with a text alternative for each (matplotlib, Agg backend).

Output is deterministic: the same data gives the same bytes, so a re-run that changes nothing
commits nothing new. That takes matplotlib's default style (never the user's matplotlibrc),
fixed sizes, fonts and resolution, and PNG metadata without the "Software" version stamp
(Agg writes no date into a PNG).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before any other matplotlib import: no display in a container

import pandas as pd
from matplotlib import dates as mdates
from matplotlib import style
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from PIL import Image

from ghaction_metrics.metrics.headline import BY_KEY
from ghaction_metrics.metrics.headline import Figure as HeadlineFigure
from ghaction_metrics.metrics.report import Report
from ghaction_metrics.wording import counted

DPI = 100
# Colour-blind safe (Okabe-Ito).
BLUE, ORANGE, GREEN, RED, GREY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#777777"
_RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "timezone": "UTC",
    "svg.hashsalt": "ghaction-metrics",
}


@dataclass(frozen=True)
class Chart:
    name: str  # file name, e.g. "trends.png"
    title: str
    alt: str  # the text alternative: what the picture says, in words
    png: bytes


@contextmanager
def _figure(width: float, height: float) -> Iterator[Figure]:
    with style.context("default"), matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        yield figure


# Colours of the palette PNG. The charts' flat fills take a few; the rest shade the
# anti-aliased edges of lines and text. A colour scale (the review heatmap) needs 128 to read
# true (on the demo's charts fewer than 1 pixel in 1,000 moves by more than 8 of 255 levels);
# bars and panels of flat colours look the same with 64, and the trend lines, one hue on
# white, with 32: each halving saves about a tenth of a chart, committed by every run.
PALETTE_COLOURS = 128
FLAT_COLOURS = 64
LINE_COLOURS = 32


def _png(figure: Figure, colours: int = PALETTE_COLOURS) -> bytes:
    """The figure as a palette PNG: a third of the size of the full-colour one, with no
    visible difference on flat-coloured charts, and every run commits its charts to the
    history branch that everyone clones (SPEC §6)."""
    rendered = io.BytesIO()
    figure.savefig(rendered, format="png", dpi=DPI, metadata={"Software": None})
    image = Image.open(rendered).convert("RGB")
    # Two k-means passes move the palette's colours closer to the pixels they stand for:
    # fewer visibly changed pixels, at no cost in bytes.
    palette = image.quantize(
        colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE, kmeans=2
    )
    buffer = io.BytesIO()
    palette.save(buffer, format="png", optimize=True)
    return buffer.getvalue()


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    if unit == "%":
        return f"{value * 100:.1f}%"
    if unit == "/week":
        return f"{value * 7:.2f} per week"
    return f"{value:.1f} {unit}"


@dataclass(frozen=True)
class _Series:
    title: str
    unit: str
    figure: HeadlineFigure
    scale: float  # plotted value = value × scale

    def values(self, table: pd.DataFrame) -> list[tuple[datetime, float, bool]]:
        """(window end, plotted value, backfilled) of each window with a figure."""
        column = table[self.figure.name]
        return [
            (until.to_pydatetime(), float(value) * self.scale, bool(backfill))
            for until, value, backfill in zip(
                table["until"], column, table["backfill"], strict=True
            )
            if not pd.isna(value)
        ]


TREND_SERIES = (
    _Series("Deployment frequency (per week)", "/week", BY_KEY["deployment_frequency"], 7),
    _Series("Lead time for changes (median, h)", "h", BY_KEY["lead_time_hours"], 1),
    _Series("Change failure rate (%)", "%", BY_KEY["change_failure_rate"], 100),
    _Series("Recovery time (median, h)", "h", BY_KEY["recovery_time_hours"], 1),
    _Series("Rework rate (%)", "%", BY_KEY["rework_rate"], 100),
    _Series("PR cycle time (median, h)", "h", BY_KEY["cycle_time_hours"], 1),
)


def _dates(axes: Axes) -> None:
    # matplotlib.dates has no annotations; the calls below are its documented API.
    locator = mdates.AutoDateLocator(minticks=3, maxticks=6, tz=UTC)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    formatter = mdates.ConciseDateFormatter(locator, tz=UTC)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_formatter(formatter)


def trend_chart(table: pd.DataFrame) -> Chart:
    """Each DORA metric (and cycle time) across the windows of the trends'
    ``headline_table`` (metrics/trends.py), one small panel each."""
    with _figure(9, 5) as figure:
        grid = figure.subplots(2, 3)
        for axes, spec in zip(grid.flat, TREND_SERIES, strict=True):
            axes.set_title(spec.title, loc="left")
            _dates(axes)
            line = spec.values(table)
            for backfill, marker_face in ((True, "white"), (False, BLUE)):
                xs = [x for x, _, b in line if b == backfill]
                ys = [y for _, y, b in line if b == backfill]
                if xs:
                    axes.plot(
                        xs, ys, marker="o", markersize=3.5, linewidth=0, color=BLUE,
                        markerfacecolor=marker_face,
                    )  # fmt: skip
            if len(line) > 1:
                axes.plot(
                    [x for x, _, _ in line], [y for _, y, _ in line], color=BLUE, linewidth=1.2
                )
            if not line:
                axes.text(0.5, 0.5, "no data", transform=axes.transAxes, ha="center", color=GREY)
            axes.set_ylim(bottom=0)
            if not table.empty:
                # A lone point (or a few days of them) would get a scale of years otherwise.
                first = table["until"].iloc[0].to_pydatetime()
                last = table["until"].iloc[-1].to_pydatetime()
                pad = max(timedelta(days=3), (last - first) * 0.05)
                axes.set_xlim(first - pad, last + pad)
        if table["backfill"].any():
            figure.suptitle(
                "Hollow points: weeks computed by backfill on the first run",
                fontsize=8, color=GREY, x=0.99, ha="right",
            )  # fmt: skip
        png = _png(figure, LINE_COLOURS)
    return Chart("trends.png", "Trends", _trend_alt(table), png)


def _trend_alt(table: pd.DataFrame) -> str:
    if table.empty:
        return "Trends: no snapshots yet."
    parts = []
    for spec in TREND_SERIES:
        values = spec.values(table)
        if not values:
            parts.append(f"{spec.title}: no data")
            continue
        start, end = values[0][1] / spec.scale, values[-1][1] / spec.scale
        parts.append(f"{spec.title}: {_fmt(start, spec.unit)} to {_fmt(end, spec.unit)}")
    first, last = table["until"].iloc[0], table["until"].iloc[-1]
    span = f"{first:%Y-%m-%d} to {last:%Y-%m-%d}"
    return f"Trends over {len(table)} snapshots, {span}. " + "; ".join(parts) + "."


def throughput_chart(report: Report) -> Chart:
    """Merged pull requests and successful deployments per week (the team's velocity, weeks in
    ``timezone``); partial weeks at the window's edges are marked."""
    weeks = report.current.team.weeks
    labels = [w.start.isoformat() for w in weeks]
    merged = [w.merged_prs for w in weeks]
    deployed = [w.deployments for w in weeks]
    partial = [w.partial for w in weeks]
    with _figure(7, 2.8) as figure:
        axes = figure.subplots()
        axes.set_title("Throughput per week", loc="left")
        positions = list(range(len(labels)))
        axes.bar([x - 0.2 for x in positions], merged, width=0.4, color=BLUE, label="merged PRs")
        axes.bar(
            [x + 0.2 for x in positions], deployed, width=0.4, color=GREEN, label="deployments"
        )
        axes.set_xticks(
            positions,
            [f"{lab[5:]}{'*' if p else ''}" for lab, p in zip(labels, partial, strict=True)],
        )
        axes.grid(axis="x", visible=False)
        axes.legend(loc="upper left", fontsize=7, frameon=False)
        if any(partial):
            axes.set_xlabel("week starting (* partial week)", fontsize=7, color=GREY)
        png = _png(figure, FLAT_COLOURS)
    listing = ", ".join(
        f"week of {lab}: {m} merged, {d} deployments{' (partial)' if p else ''}"
        for lab, m, d, p in zip(labels, merged, deployed, partial, strict=True)
    )
    alt = (
        f"Merged pull requests and successful deployments per week, {len(labels)} weeks: {listing}."
    )
    return Chart("throughput.png", "Throughput per week", alt, png)


@dataclass(frozen=True)
class Panel:
    """One topic's plot in a figure of several: drawn into a subfigure of its own, so it keeps
    its title, legend and proportions, with the words that say what it shows."""

    height: float  # inches, at the figure's width
    draw: Callable[[SubFigure], None]
    alt: str


def panel_chart(name: str, title: str, panels: Sequence[Panel], width: float = 7) -> Chart:
    """Panels stacked in one PNG: one file (one blob on the history branch) per topic.

    The alt text is every panel's, in order, so a screen reader hears what each one says."""
    with _figure(width, sum(p.height for p in panels)) as figure:
        rows = figure.subfigures(
            len(panels), 1, squeeze=False, height_ratios=[p.height for p in panels]
        )
        for subfigure, panel in zip(rows[:, 0], panels, strict=True):
            panel.draw(subfigure)
        png = _png(figure, FLAT_COLOURS)
    alt = f"{title}, {counted(len(panels), 'panel')}. " + " ".join(p.alt for p in panels)
    return Chart(name, title, alt, png)


def size_panel(report: Report) -> Panel | None:
    """Cycle time by pull-request size bucket: median bar, p75 and p90 marks, n below."""
    sizes = report.current.pulls.sizes
    if not any(b.merged for b in sizes):
        return None

    def draw(figure: SubFigure) -> None:
        axes = figure.subplots()
        axes.set_title("Cycle time by size (lines changed), hours", loc="left")
        xs = list(range(len(sizes)))
        medians = [b.cycle_time.median or 0.0 for b in sizes]
        axes.bar(xs, medians, width=0.6, color=BLUE, label="median")
        for x, b in zip(xs, sizes, strict=True):
            for value, marker, colour in (
                (b.cycle_time.p75, "_", ORANGE),
                (b.cycle_time.p90, "_", RED),
            ):
                if value is not None:
                    axes.plot([x], [value], marker=marker, markersize=18, color=colour, linewidth=0)
            axes.annotate(f"n={b.merged}", (x, 0), textcoords="offset points", xytext=(0, -22),
                          ha="center", fontsize=7, color=GREY, annotation_clip=False)  # fmt: skip
        axes.set_xticks(xs, [b.name for b in sizes])
        axes.grid(axis="x", visible=False)
        axes.plot([], [], marker="_", markersize=12, color=ORANGE, linewidth=0, label="p75")
        axes.plot([], [], marker="_", markersize=12, color=RED, linewidth=0, label="p90")
        axes.legend(loc="upper left", fontsize=7, frameon=False)

    parts = [
        f"{b.name}: median {_fmt(b.cycle_time.median, 'h')}, "
        f"p90 {_fmt(b.cycle_time.p90, 'h')}, n={b.merged}"
        for b in sizes
    ]
    alt = (
        "Cycle time by size bucket (XS < 10, S < 50, M < 250, L < 1000, XL ≥ 1000 lines): "
        + "; ".join(parts)
        + "."
    )
    return Panel(2.8, draw, alt)


def stages_panel(report: Report) -> Panel | None:
    """Where the time of a pull request goes: median coding, pickup, review and merge time."""
    pulls = report.current.pulls
    stages = [
        ("coding", pulls.coding_time, BLUE),
        ("pickup", pulls.pickup_time, ORANGE),
        ("review", pulls.review_time, GREEN),
        ("merge", pulls.merge_time, RED),
    ]
    if not any(stat.n for _, stat, _ in stages):
        return None

    def draw(figure: SubFigure) -> None:
        axes = figure.subplots()
        axes.set_title("Pull request stages (median hours)", loc="left")
        left = 0.0
        for name, stat, colour in stages:
            width = stat.median or 0.0
            axes.barh(
                [0], [width], left=left, color=colour, label=f"{name} {_fmt(stat.median, 'h')}"
            )
            left += width
        axes.set_yticks([])
        axes.grid(axis="y", visible=False)
        axes.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=4, fontsize=7, frameon=False
        )

    parts = [f"{name} {_fmt(stat.median, 'h')} (n={stat.n})" for name, stat, _ in stages]
    return Panel(1.8, draw, "Median time per pull-request stage: " + ", ".join(parts) + ".")


def pull_request_chart(report: Report) -> Chart | None:
    """Where pull requests' time goes: cycle time by size, and the median time per stage."""
    panels = [p for p in (size_panel(report), stages_panel(report)) if p is not None]
    return panel_chart("pull-requests.png", "Pull requests", panels) if panels else None


NETWORK_PEOPLE = 20


def review_network_chart(report: Report) -> Chart | None:
    """Who reviews whom, as a heatmap of review counts (the busiest people only)."""
    team = report.current.team
    if not team.network.edges:
        return None
    edges = team.network.edges
    activity: dict[str, int] = {}
    for edge in edges:
        activity[edge.reviewer] = activity.get(edge.reviewer, 0) + edge.reviews
        activity[edge.author] = activity.get(edge.author, 0) + edge.reviews
    people = sorted(sorted(activity), key=lambda name: -activity[name])[:NETWORK_PEOPLE]
    people.sort()
    index = {name: i for i, name in enumerate(people)}
    grid = [[0] * len(people) for _ in people]
    for edge in edges:
        if edge.reviewer in index and edge.author in index:
            grid[index[edge.reviewer]][index[edge.author]] += edge.reviews
    size = 2.5 + 0.28 * len(people)
    with _figure(size + 1.2, size) as figure:
        axes = figure.subplots()
        axes.set_title("Reviews: reviewer (row) × author (column)", loc="left")
        image = axes.imshow(grid, cmap="Blues", aspect="equal")
        axes.set_xticks(range(len(people)), people, rotation=90, fontsize=7)
        axes.set_yticks(range(len(people)), people, fontsize=7)
        axes.grid(visible=False)
        figure.colorbar(image, ax=axes, shrink=0.6)
        png = _png(figure)
    top = sorted(edges, key=lambda e: (-e.reviews, e.reviewer, e.author))[:5]
    shown = (
        f"the {len(people)} most active of {len(activity)} people"
        if len(activity) > len(people)
        else f"{len(people)} people"
    )
    alt = (
        f"Review network heatmap of {shown}: {team.network.reviews} reviews; most frequent pairs: "
        + ", ".join(f"{e.reviewer} reviewed {e.author} {e.reviews} times" for e in top)
        + "."
    )
    return Chart("review-network.png", "Review network", alt, png)


BEFORE_AFTER = (
    (BY_KEY["lead_time_hours"], "Lead time (h)"),
    (BY_KEY["cycle_time_hours"], "Cycle time (h)"),
    (BY_KEY["time_to_first_review_hours"], "Time to first review (h)"),
    (BY_KEY["deployment_frequency"], "Deployments per day"),
)


def _plain(value: float | None) -> str:
    return "no data" if value is None else f"{value:.2f}"


def before_after_chart(report: Report) -> Chart | None:
    """Before vs after a date (``compare-to: YYYY-MM-DD``), with each test's p-value."""
    comparison = report.comparison
    if comparison is None or comparison.mode != "date" or comparison.event is None:
        return None
    deltas = {d.metric: d for d in comparison.deltas}
    tests = {s.metric: s for s in comparison.significance}
    shown = [(f.key, label) for f, label in BEFORE_AFTER if f.key in deltas]
    with _figure(2.3 * len(shown) + 0.5, 2.8) as figure:
        grid = figure.subplots(1, len(shown), squeeze=False)[0]
        parts = []
        for axes, (metric, label) in zip(grid, shown, strict=True):
            delta = deltas[metric]
            values = [delta.previous or 0.0, delta.current or 0.0]
            axes.bar([0, 1], values, color=[GREY, BLUE], width=0.6)
            axes.set_xticks([0, 1], ["before", "after"])
            test = tests.get(metric)
            p = f"p={test.p_value:.3f}" if test and test.p_value is not None else "no test"
            axes.set_title(f"{label}\n{p}", fontsize=8, loc="left")
            axes.grid(axis="x", visible=False)
            before, after = _plain(delta.previous), _plain(delta.current)
            parts.append(f"{label}: {before} before, {after} after ({p})")
        png = _png(figure, FLAT_COLOURS)
    alt = f"Before and after {comparison.event:%Y-%m-%d}: " + "; ".join(parts) + "."
    return Chart("before-after.png", "Before and after", alt, png)


def all_charts(report: Report, trends: pd.DataFrame) -> tuple[Chart, ...]:
    """Every chart the report has data for, in the order the views show them; ``trends`` is
    the trends' ``headline_table``."""
    optional = (
        before_after_chart(report),
        pull_request_chart(report),
        review_network_chart(report),
    )
    return (
        trend_chart(trends),
        throughput_chart(report),
        *(chart for chart in optional if chart is not None),
    )

"""The "AI-assisted work" figure: the cohorts' cycle-time distributions side by side, the weekly
adoption (share of merges that are agent-authored or agent-assisted), and, with the input
copilot-metrics, the organisation's Copilot usage per day. One PNG for the topic, with a panel
for each part the report has data for."""

from __future__ import annotations

from datetime import UTC, datetime

from matplotlib.figure import SubFigure

from ghaction_metrics.metrics.agents import COHORTS
from ghaction_metrics.metrics.report import Report
from ghaction_metrics.views.charts import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    Chart,
    Panel,
    _dates,
    _fmt,
    panel_chart,
)

_LABELS = {"agent-authored": "agent-authored", "agent-assisted": "agent-assisted", "human": "human"}
_FLOOR_HOURS = 1 / 60
_COLOURS = {"agent-authored": ORANGE, "agent-assisted": GREEN, "human": BLUE}


def cohort_cycle_panel(report: Report) -> Panel | None:
    """Each cohort's cycle times as a box (quartiles, median line, whiskers to p10/p90)."""
    cohorts = report.current.cohorts.cohorts
    shown = [c for c in cohorts if c.cycle_times]
    if not shown:
        return None

    def draw(figure: SubFigure) -> None:
        axes = figure.subplots()
        axes.set_title("Cycle time by cohort, hours (box: quartiles; whiskers: p10 to p90)",
                       loc="left")  # fmt: skip
        # A log scale: cycle times span minutes to weeks. A zero (merged at once) is drawn at
        # one minute, the scale's floor.
        boxes = axes.boxplot(
            [[max(v, _FLOOR_HOURS) for v in c.cycle_times] for c in shown],
            orientation="horizontal",
            whis=(10, 90),
            showfliers=False,
            patch_artist=True,
            widths=0.5,
        )
        for patch, cohort in zip(boxes["boxes"], shown, strict=True):
            patch.set_facecolor(_COLOURS[cohort.name])
            patch.set_alpha(0.6)
        axes.set_yticks(
            range(1, len(shown) + 1),
            [f"{_LABELS[c.name]}\nn={len(c.cycle_times)}" for c in shown],
        )
        axes.set_xscale("log")
        axes.set_xlabel("hours (log scale)", fontsize=7, color=GREY)
        axes.grid(axis="y", visible=False)

    parts = [
        f"{_LABELS[c.name]}: median {_fmt(c.cycle_time.median, 'h')}, "
        f"p75 {_fmt(c.cycle_time.p75, 'h')}, p90 {_fmt(c.cycle_time.p90, 'h')}, "
        f"n={c.cycle_time.n}"
        for c in cohorts
    ]
    return Panel(2.6, draw, "Cycle time by cohort: " + "; ".join(parts) + ".")


def adoption_panel(report: Report) -> Panel | None:
    """The weekly share of merges that agents wrote or helped with (weeks in ``timezone``)."""
    weeks = report.current.cohorts.weeks
    if not weeks:
        return None
    labels = [w.start.isoformat() for w in weeks]
    authored = [w.agent_authored / w.merged * 100 for w in weeks]
    assisted = [w.agent_assisted / w.merged * 100 for w in weeks]

    def draw(figure: SubFigure) -> None:
        axes = figure.subplots()
        axes.set_title("AI-assisted share of merged pull requests per week (%)", loc="left")
        xs = list(range(len(weeks)))
        axes.stackplot(
            xs,
            authored,
            assisted,
            colors=[_COLOURS[COHORTS[0]], _COLOURS[COHORTS[1]]],
            labels=["agent-authored", "agent-assisted"],
            alpha=0.7,
        )
        axes.set_xticks(xs, [label[5:] for label in labels])
        axes.set_ylim(0, 100)
        axes.legend(loc="upper left", fontsize=7, frameon=False)
        axes.set_xlabel("week starting", fontsize=7, color=GREY)

    listing = ", ".join(
        f"week of {w.start.isoformat()}: {w.agent_authored} agent-authored and "
        f"{w.agent_assisted} agent-assisted of {w.merged} merged"
        for w in weeks
    )
    alt = f"AI-assisted share of merged pull requests per week, {len(weeks)} weeks: {listing}."
    return Panel(2.4, draw, alt)


def usage_panel(report: Report) -> Panel | None:
    """Copilot usage per day (input copilot-metrics): daily and weekly active users, and the
    share of suggestions accepted, over the days the report read (previous window included)."""
    periods = [report.previous, report.current]
    days = {d.day: d for period in periods if period and period.usage for d in period.usage.series}
    if not days:
        return None
    series = [days[day] for day in sorted(days)]
    xs = [datetime(d.day.year, d.day.month, d.day.day, tzinfo=UTC) for d in series]
    rates = [(x, d.acceptance_rate) for x, d in zip(xs, series, strict=True)]

    def draw(figure: SubFigure) -> None:
        active, accepted = figure.subplots(2, 1, sharex=True)
        active.set_title("Copilot active users per day", loc="left")
        active.plot(xs, [d.daily_active_users for d in series], color=BLUE, label="daily active")
        weekly = [(x, d.weekly_active_users) for x, d in zip(xs, series, strict=True)]
        weekly_points = [(x, w) for x, w in weekly if w is not None]
        if weekly_points:
            active.plot(
                [x for x, _ in weekly_points], [w for _, w in weekly_points],
                color=GREEN, linewidth=1, label="weekly active",
            )  # fmt: skip
        active.set_ylim(bottom=0)
        active.legend(loc="upper left", fontsize=7, frameon=False)
        accepted.set_title("Suggestions accepted per day (%)", loc="left")
        shown = [(x, r * 100) for x, r in rates if r is not None]
        accepted.plot([x for x, _ in shown], [y for _, y in shown], color=ORANGE)
        accepted.set_ylim(bottom=0)
        _dates(accepted)

    first, last = series[0], series[-1]
    low = min(d.daily_active_users for d in series)
    high = max(d.daily_active_users for d in series)
    known = [r for _, r in rates if r is not None]
    alt = (
        f"Copilot usage over {len(series)} days, {first.day} to {last.day}: daily active users "
        f"from {low} to {high} ({first.daily_active_users} on the first day, "
        f"{last.daily_active_users} on the last)"
    )
    if known:
        alt += f"; suggestions accepted from {min(known):.1%} to {max(known):.1%} a day"
    return Panel(4, draw, alt + ".")


def ai_chart(report: Report) -> Chart | None:
    """The AI-assisted work figure, with the panels the report has data for; None without
    cohort data or usage."""
    parts = (cohort_cycle_panel(report), adoption_panel(report), usage_panel(report))
    panels = [p for p in parts if p is not None]
    return panel_chart("ai-assisted-work.png", "AI-assisted work", panels) if panels else None

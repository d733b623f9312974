"""Charts of the AI-assisted cohorts: their cycle-time distributions side by side, and the
weekly adoption line (share of merges that are agent-authored or agent-assisted)."""

from __future__ import annotations

from ghaction_metrics.metrics.agents import COHORTS
from ghaction_metrics.metrics.report import Report
from ghaction_metrics.views.charts import BLUE, GREEN, GREY, ORANGE, Chart, _figure, _fmt, _png

_LABELS = {"agent-authored": "agent-authored", "agent-assisted": "agent-assisted", "human": "human"}
_FLOOR_HOURS = 1 / 60
_COLOURS = {"agent-authored": ORANGE, "agent-assisted": GREEN, "human": BLUE}


def cohort_cycle_chart(report: Report) -> Chart | None:
    """Each cohort's cycle times as a box (quartiles, median line, whiskers to p10/p90)."""
    cohorts = report.current.cohorts.cohorts
    if not any(c.cycle_times for c in cohorts):
        return None
    with _figure(6, 2.6) as figure:
        axes = figure.subplots()
        axes.set_title("Cycle time by cohort, hours (box: quartiles; whiskers: p10 to p90)",
                       loc="left")  # fmt: skip
        shown = [c for c in cohorts if c.cycle_times]
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
        png = _png(figure)
    parts = [
        f"{_LABELS[c.name]}: median {_fmt(c.cycle_time.median, 'h')}, "
        f"p75 {_fmt(c.cycle_time.p75, 'h')}, p90 {_fmt(c.cycle_time.p90, 'h')}, "
        f"n={c.cycle_time.n}"
        for c in cohorts
    ]
    alt = "Cycle time by cohort: " + "; ".join(parts) + "."
    return Chart("cycle-time-by-cohort.png", "Cycle time by cohort", alt, png)


def adoption_chart(report: Report) -> Chart | None:
    """The weekly share of merges that agents wrote or helped with (weeks in ``timezone``)."""
    weeks = report.current.cohorts.weeks
    if not weeks:
        return None
    labels = [w.start.isoformat() for w in weeks]
    authored = [w.agent_authored / w.merged * 100 for w in weeks]
    assisted = [w.agent_assisted / w.merged * 100 for w in weeks]
    with _figure(6, 2.4) as figure:
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
        png = _png(figure)
    listing = ", ".join(
        f"week of {w.start.isoformat()}: {w.agent_authored} agent-authored and "
        f"{w.agent_assisted} agent-assisted of {w.merged} merged"
        for w in weeks
    )
    alt = f"AI-assisted share of merged pull requests per week, {len(weeks)} weeks: {listing}."
    return Chart("ai-adoption.png", "AI-assisted share per week", alt, png)


def cohort_charts(report: Report) -> tuple[Chart, ...]:
    """The cohort charts the report has data for, in the order the views show them."""
    return tuple(c for c in (cohort_cycle_chart(report), adoption_chart(report)) if c is not None)

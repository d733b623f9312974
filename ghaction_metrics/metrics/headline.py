"""The headline figures of a report (SPEC §4), declared once.

Each field of ``Headline`` carries its ``Figure``: the name of the action output and of the
alert metric, the kind of value, whether higher is better and where a snapshot holds it. The
outputs, the exports and trends (their tidy rows), the comparison, the alert metrics and the
arrows of the views all derive from this declaration, so a figure is added (or made an
output) here alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from typing import Any

from ghaction_metrics.metrics.dora import DoraSummary
from ghaction_metrics.metrics.pulls import PullRequestMetrics
from ghaction_metrics.metrics.stats import ratio

Value = float | int | str | None


class Kind(Enum):
    MEDIAN_HOURS = "median hours"
    RATIO = "ratio"  # 0 to 1
    PER_DAY = "per-day rate"
    COUNT = "count"
    PER_100 = "per 100 merged pull requests"
    LEVEL = "level"  # a DORA level name, never compared or alerted on


@dataclass(frozen=True)
class Reading:
    value: Value
    n: int  # the size of the sample behind the value


@dataclass(frozen=True)
class Figure:
    key: str  # the Headline field; the name in snapshots and comparisons
    name: str  # the action output and the alert metric
    label: str
    kind: Kind
    higher_is_better: bool | None  # None: not compared
    output: bool  # published as the action output ``name``
    snapshot: tuple[str, ...]  # where a snapshot's period holds the value
    read: Callable[[DoraSummary, PullRequestMetrics], Reading]

    @property
    def compared(self) -> bool:
        return self.higher_is_better is not None

    @property
    def needs_sample(self) -> bool:
        # Medians and ratios over a sample need n ≥ MIN_N, like levels (SPEC §5). Counts and
        # per-day rates are real zeros when nothing happened.
        return self.kind in (Kind.MEDIAN_HOURS, Kind.RATIO, Kind.PER_100)


_FIGURE = "figure"


def _figure(
    name: str,
    label: str,
    kind: Kind,
    *,
    higher_is_better: bool | None,
    snapshot: tuple[str, ...],
    read: Callable[[DoraSummary, PullRequestMetrics], Reading],
    output: bool = True,
) -> dict[str, Figure]:
    """A Headline field's metadata: its figure (the key is the field's name)."""
    return {_FIGURE: Figure("", name, label, kind, higher_is_better, output, snapshot, read)}


@dataclass(frozen=True)
class Headline:
    """The headline figures of one period; None is "no data". Field order is output order."""

    deployment_frequency: float = field(metadata=_figure(
        "deployment-frequency", "Deployment frequency", Kind.PER_DAY,
        higher_is_better=True, snapshot=("dora", "deployment_frequency"),
        read=lambda d, p: Reading(d.deployment_frequency, d.deployments),
    ))  # fmt: skip
    lead_time_hours: float | None = field(metadata=_figure(
        "lead-time-hours", "Lead time for changes", Kind.MEDIAN_HOURS,
        higher_is_better=False, snapshot=("dora", "lead_time_hours", "median"),
        read=lambda d, p: Reading(d.lead_time.median, d.lead_time.n),
    ))  # fmt: skip
    change_failure_rate: float | None = field(metadata=_figure(
        "change-failure-rate", "Change failure rate", Kind.RATIO,
        higher_is_better=False, snapshot=("dora", "change_failure_rate"),
        read=lambda d, p: Reading(d.change_failure_rate, d.deployments),
    ))  # fmt: skip
    recovery_time_hours: float | None = field(metadata=_figure(
        "recovery-time-hours", "Failed deployment recovery time", Kind.MEDIAN_HOURS,
        higher_is_better=False, snapshot=("dora", "recovery_time_hours", "median"),
        read=lambda d, p: Reading(d.recovery.median, d.recovery.n),
    ))  # fmt: skip
    rework_rate: float | None = field(metadata=_figure(
        "rework-rate", "Rework rate", Kind.RATIO,
        higher_is_better=False, snapshot=("dora", "rework_rate"),
        read=lambda d, p: Reading(d.rework_rate, d.deployments),
    ))  # fmt: skip
    level: str | None = field(metadata=_figure(
        "dora-level", "DORA level", Kind.LEVEL,
        higher_is_better=None, snapshot=("dora", "levels", "overall"),
        read=lambda d, p: Reading(d.levels.overall, d.deployments),
    ))  # fmt: skip
    cycle_time_hours: float | None = field(metadata=_figure(
        "cycle-time-hours", "Pull request cycle time", Kind.MEDIAN_HOURS,
        higher_is_better=False, snapshot=("pull_requests", "cycle_time_hours", "median"),
        read=lambda d, p: Reading(p.cycle_time.median, p.cycle_time.n),
    ))  # fmt: skip
    time_to_first_review_hours: float | None = field(metadata=_figure(
        "time-to-first-review-hours", "Time to first review", Kind.MEDIAN_HOURS,
        higher_is_better=False, snapshot=("pull_requests", "time_to_first_review_hours", "median"),
        read=lambda d, p: Reading(p.time_to_first_review.median, p.time_to_first_review.n),
        output=False,
    ))  # fmt: skip
    time_to_first_response_hours: float | None = field(metadata=_figure(
        "time-to-first-response-hours", "Time to first response", Kind.MEDIAN_HOURS,
        higher_is_better=False,
        snapshot=("pull_requests", "time_to_first_response_hours", "median"),
        read=lambda d, p: Reading(p.time_to_first_response.median, p.time_to_first_response.n),
    ))  # fmt: skip
    ai_assisted_share: float | None = field(metadata=_figure(
        "ai-assisted-share", "AI-assisted share of merged pull requests", Kind.RATIO,
        higher_is_better=True, snapshot=("pull_requests", "ai_assisted_share"),
        read=lambda d, p: Reading(ratio(p.ai_assisted, p.merged), p.merged),
    ))  # fmt: skip
    merged_prs: int = field(metadata=_figure(
        "merged-prs", "Merged pull requests", Kind.COUNT,
        higher_is_better=True, snapshot=("pull_requests", "merged"),
        read=lambda d, p: Reading(p.merged, p.merged),
    ))  # fmt: skip
    bug_rate: float | None = field(metadata=_figure(
        "bug-rate", "Bug rate (per 100 merged pull requests)", Kind.PER_100,
        higher_is_better=False, snapshot=("bugs", "rate_per_100"),
        read=lambda d, p: Reading(p.bugs.rate_per_100, p.bugs.merged_prs),
    ))  # fmt: skip

    def value(self, figure: Figure) -> Value:
        result: Value = getattr(self, figure.key)
        return result

    def number(self, figure: Figure) -> float | None:
        """A compared figure's value as a number (None is "no data"); counts stay ints."""
        value = self.value(figure)
        if isinstance(value, str):
            raise TypeError(f"{figure.key} is not a number")
        return value


FIGURES: tuple[Figure, ...] = tuple(
    replace(item.metadata[_FIGURE], key=item.name)
    for item in fields(Headline)
    if _FIGURE in item.metadata
)
BY_KEY: Mapping[str, Figure] = {figure.key: figure for figure in FIGURES}
COMPARED: tuple[Figure, ...] = tuple(figure for figure in FIGURES if figure.compared)
OUTPUTS: tuple[Figure, ...] = tuple(figure for figure in FIGURES if figure.output)


def headline_of(dora: DoraSummary, pulls: PullRequestMetrics) -> Headline:
    values: dict[str, Any] = {figure.key: figure.read(dora, pulls).value for figure in FIGURES}
    return Headline(**values)

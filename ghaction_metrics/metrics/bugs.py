"""Bug rate (SPEC §5): issues with a ``bug-labels`` label opened per 100 merged pull requests.

The population under the rate is the one ``merged-prs`` counts (pull requests merged into a
counted base branch in the period, minus left-out authors and bots), so the two figures
always agree. Per 100 merged pull requests rather than per day: a team that merges more
finds and files more bugs, and the figure is meant to say whether quality kept up with the
pace. It is an association, not a cause: a bug is not linked to the change that made it.
With no merged pull request there is nothing to divide by: no data, never 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.records import PullRequest, RepositoryData

PER = 100


@dataclass(frozen=True)
class BugWeek:
    start: date  # the Monday, in ``timezone``
    opened: int  # bug reports opened in the week (within the period)
    merged_prs: int
    rate_per_100: float | None  # None: no merged pull request that week
    partial: bool  # the week is cut by the period's start or end


@dataclass(frozen=True)
class BugRate:
    opened: int  # bug reports opened in the period, in every measured repository
    merged_prs: int  # the denominator: the ``merged-prs`` population
    rate_per_100: float | None  # None: no merged pull request, no data
    weeks: tuple[BugWeek, ...] = ()


NO_BUGS = BugRate(0, 0, None)


def per_100(opened: int, merged: int) -> float | None:
    return opened * PER / merged if merged else None


def bug_rate(
    repositories: Sequence[RepositoryData],
    population: Sequence[PullRequest],
    window: Window,
    zone: tzinfo,
) -> BugRate:
    """The period's bug rate and its weekly series; ``population`` is the merged pull
    requests the period counts (pulls.merged_population)."""

    def monday(moment: datetime) -> date:
        day = moment.astimezone(zone).date()
        return day - timedelta(days=day.weekday())

    opened = [bug.created_at for repo in repositories for bug in repo.bugs]
    opened = [moment for moment in opened if moment in window]
    bugs = Counter(monday(moment) for moment in opened)
    merged = Counter(monday(pull.merged_at) for pull in population if pull.merged_at)
    first, last = monday(window.since), monday(window.until - timedelta(microseconds=1))
    weeks = []
    start = first
    while start <= last:
        begins = datetime.combine(start, time(0, 0), tzinfo=zone)
        ends = datetime.combine(start + timedelta(days=7), time(0, 0), tzinfo=zone)
        weeks.append(
            BugWeek(
                start=start,
                opened=bugs[start],
                merged_prs=merged[start],
                rate_per_100=per_100(bugs[start], merged[start]),
                partial=begins < window.since or ends > window.until,
            )
        )
        start += timedelta(days=7)
    return BugRate(
        opened=len(opened),
        merged_prs=len(population),
        rate_per_100=per_100(len(opened), len(population)),
        weeks=tuple(weeks),
    )

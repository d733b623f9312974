"""The weekly bug rate of the ground truth, counted from the ledger alone.

Weeks are ISO weeks in the report's timezone, cut to the window; each is found here by
stepping through the window's local calendar days one by one, rather than by the action's
arithmetic on Mondays, so the two computations stay independent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ghaction_metrics_dev.dataset.truth import GroundTruth


@dataclass(frozen=True)
class BugWeekTruth:
    year: int  # the ISO year and week of the local calendar
    week: int
    opened: int
    merged_prs: int

    @property
    def rate_per_100(self) -> float | None:
        return 100 * self.opened / self.merged_prs if self.merged_prs else None


def weekly_bug_rates(
    truth: GroundTruth,
    repositories: Sequence[str],
    since: datetime,
    until: datetime,
    zone: ZoneInfo,
) -> list[BugWeekTruth]:
    def week_of(moment: datetime) -> tuple[int, int]:
        year, week, _ = moment.astimezone(zone).isocalendar()
        return year, week

    weeks: dict[tuple[int, int], list[int]] = {}
    day: date = since.astimezone(zone).date()
    last = (until - timedelta(microseconds=1)).astimezone(zone).date()
    while day <= last:
        year, week, _ = day.isocalendar()
        weeks.setdefault((year, week), [0, 0])
        day += timedelta(days=1)
    for name in repositories:
        ledger = truth.ledger(name)
        for bug in ledger.bugs:
            if since <= bug.opened_at < until:
                weeks[week_of(bug.opened_at)][0] += 1
        for pull in ledger.pulls:
            merged = pull.merged_at
            if merged is None or not pull.into_default_branch or pull.bot:
                continue
            if since <= merged < until:
                weeks[week_of(merged)][1] += 1
    return [BugWeekTruth(y, w, opened, merged) for (y, w), (opened, merged) in weeks.items()]

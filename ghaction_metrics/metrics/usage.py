"""Copilot usage over a period: the organisation's usage report days that fall in it.

Report days are calendar days; a day belongs to a period when it starts inside it in the
run's ``timezone``. Acceptance is pooled over the period (accepted ÷ shown), not a mean of
daily rates, so a quiet day weighs as little as it counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ghaction_metrics.inputs.windows import Window, midnight
from ghaction_metrics.records import CopilotDay, CopilotUsage


@dataclass(frozen=True)
class UsageSummary:
    organization: str
    days: int  # report days in the period
    period_days: int  # calendar days the period starts in
    mean_daily_active_users: float | None
    mean_weekly_active_users: float | None
    interactions: int  # user_initiated_interaction_count summed
    shown: int  # code_generation_activity_count summed
    accepted: int  # code_acceptance_activity_count summed
    series: tuple[CopilotDay, ...]  # the days, oldest first

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.shown if self.shown else None


def period_days(window: Window) -> list[date]:
    """The calendar days (in the window's zone) whose start lies in ``[since, until)``."""
    day = window.since.astimezone(window.zone).date()
    days: list[date] = []
    while midnight(day, window.zone) < window.until:
        if midnight(day, window.zone) >= window.since:
            days.append(day)
        day += timedelta(days=1)
    return days


def _mean(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize_usage(usage: CopilotUsage, window: Window) -> UsageSummary:
    wanted = set(period_days(window))
    days = tuple(d for d in usage.days if d.day in wanted)
    weekly = [d.weekly_active_users for d in days if d.weekly_active_users is not None]
    return UsageSummary(
        organization=usage.organization,
        days=len(days),
        period_days=len(wanted),
        mean_daily_active_users=_mean([d.daily_active_users for d in days]),
        mean_weekly_active_users=_mean(weekly),
        interactions=sum(d.user_initiated_interaction_count for d in days),
        shown=sum(d.code_generation_activity_count for d in days),
        accepted=sum(d.code_acceptance_activity_count for d in days),
        series=days,
    )

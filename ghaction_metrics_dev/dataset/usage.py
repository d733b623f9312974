"""The demo organisation's Copilot usage reports, and their true figures.

Draws come from a ``random.Random`` of their own (the dataset seed plus a constant), so
adding the reports moves no other draw of the generator. The day records use the report
files' documented field names; the truth keeps the drawn numbers and computes the window
figures from them alone, without the action's code.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ghaction_metrics_dev.emulator.world import World

DAYS = 120  # how far back the organisation's reports go
SEATS = 40  # Copilot seats in the demo organisation


@dataclass(frozen=True)
class TrueDay:
    day: date
    daily_active_users: int
    weekly_active_users: int
    interactions: int
    shown: int
    accepted: int


@dataclass(frozen=True)
class UsageTruth:
    organization: str
    days: tuple[TrueDay, ...]

    def window(self, days: Iterable[date]) -> dict[str, float | int | None]:
        """The figures a report over ``days`` shows: days with a report, mean daily and
        weekly active users, suggestions shown and accepted, acceptance (pooled)."""
        wanted = set(days)
        chosen = [d for d in self.days if d.day in wanted]
        shown = sum(d.shown for d in chosen)
        accepted = sum(d.accepted for d in chosen)
        count = len(chosen)
        return {
            "days": count,
            "mean_daily_active_users": (
                sum(d.daily_active_users for d in chosen) / count if count else None
            ),
            "mean_weekly_active_users": (
                sum(d.weekly_active_users for d in chosen) / count if count else None
            ),
            "shown": shown,
            "accepted": accepted,
            "acceptance_rate": accepted / shown if shown else None,
        }


def add_copilot_usage(world: World, organization: str, seed: int, now: datetime) -> UsageTruth:
    """Usage reports for ``organization`` up to yesterday (``now``'s UTC day minus one)."""
    rng = random.Random(f"{seed}:copilot-usage")
    last = now.date() - timedelta(days=1)
    days: list[TrueDay] = []
    for back in range(DAYS - 1, -1, -1):
        day = last - timedelta(days=back)
        # Adoption grows over the span; weekends are quiet.
        share = 0.35 + 0.4 * (DAYS - back) / DAYS
        if day.weekday() >= 5:
            share *= 0.2
        active = max(0, min(SEATS, round(rng.gauss(SEATS * share, 2))))
        weekly = min(SEATS, active + rng.randint(2, 8))
        shown = sum(rng.randint(15, 60) for _ in range(active))
        accepted = round(shown * rng.uniform(0.22, 0.38))
        interactions = sum(rng.randint(0, 12) for _ in range(active))
        days.append(TrueDay(day, active, weekly, interactions, shown, accepted))
    world.copilot_usage[organization] = [_record(d) for d in days]
    return UsageTruth(organization, tuple(days))


def _record(day: TrueDay) -> dict[str, object]:
    """A ``day_totals`` entry as the report files document it."""
    return {
        "day": day.day.isoformat(),
        "daily_active_users": day.daily_active_users,
        "weekly_active_users": day.weekly_active_users,
        "monthly_active_users": SEATS,
        "user_initiated_interaction_count": day.interactions,
        "code_generation_activity_count": day.shown,
        "code_acceptance_activity_count": day.accepted,
        "loc_suggested_to_add_sum": day.shown * 3,
        "loc_suggested_to_delete_sum": 0,
        "loc_added_sum": day.accepted * 3,
        "loc_deleted_sum": 0,
        "totals_by_ide": [],
        "totals_by_feature": [],
        "totals_by_language_feature": [],
        "totals_by_language_model": [],
        "totals_by_model_feature": [],
    }

"""Performance levels, derived from the clusters of the 2023 State of DevOps report.

A figure needs at least three data points for a level; the overall level is the lowest of the
four metrics that have one.
"""

from __future__ import annotations

from dataclasses import dataclass

from ghaction_metrics.metrics.stats import Stat

MIN_N = 3
ORDER = ("low", "medium", "high", "elite")


@dataclass(frozen=True)
class Levels:
    deployment_frequency: str | None
    lead_time: str | None
    change_failure_rate: str | None
    recovery_time: str | None

    @property
    def overall(self) -> str | None:
        known = [
            level
            for level in (
                self.deployment_frequency,
                self.lead_time,
                self.change_failure_rate,
                self.recovery_time,
            )
            if level is not None
        ]
        return min(known, key=ORDER.index) if known else None


def frequency_level(per_day: float) -> str:
    if per_day >= 1:
        return "elite"
    if per_day >= 1 / 7:
        return "high"
    if per_day >= 1 / 30:
        return "medium"
    return "low"


def lead_time_level(hours: float) -> str:
    if hours < 24:
        return "elite"
    if hours < 24 * 7:
        return "high"
    if hours < 24 * 30:
        return "medium"
    return "low"


def failure_rate_level(rate: float) -> str:
    if rate <= 0.05:
        return "elite"
    if rate <= 0.10:
        return "high"
    if rate <= 0.15:
        return "medium"
    return "low"


def recovery_level(hours: float) -> str:
    if hours < 1:
        return "elite"
    if hours < 24:
        return "high"
    if hours < 24 * 7:
        return "medium"
    return "low"


def levels_for(
    deployments: int, frequency: float, lead: Stat, cfr: float | None, recovery: Stat
) -> Levels:
    return Levels(
        deployment_frequency=frequency_level(frequency) if deployments >= MIN_N else None,
        lead_time=lead_time_level(lead.median)
        if lead.n >= MIN_N and lead.median is not None
        else None,
        change_failure_rate=failure_rate_level(cfr)
        if deployments >= MIN_N and cfr is not None
        else None,
        recovery_time=recovery_level(recovery.median)
        if recovery.n >= MIN_N and recovery.median is not None
        else None,
    )
